//! A fake of Deepgram's live transcription WebSocket, as documented
//! (<https://developers.deepgram.com/reference/speech-to-text-api/listen-streaming>):
//! - `GET /v1/listen` upgraded to a WebSocket, `Authorization: Token <key>`; a wrong key is
//!   refused before the upgrade with 401 and `{"err_code": "INVALID_AUTH", "err_msg", "request_id"}`.
//! - Query: `encoding` (`linear16` or `mulaw`) needs `sample_rate`; an unknown encoding is 400
//!   (`UNSUPPORTED_ENCODING`). `model` defaults to `base`.
//! - Audio as binary messages; `{"type": "KeepAlive"}` is accepted; `{"type": "CloseStream"}`
//!   (<https://developers.deepgram.com/docs/close-stream>) makes the server send its final
//!   results, then `{"type": "Metadata", "request_id", "duration", "channels"}`, then close 1000.
//! - Results: `{"type": "Results", "channel_index": [0, 1], "duration", "start", "is_final",
//!   "speech_final", "from_finalize", "channel": {"alternatives": [{"transcript", "confidence",
//!   "words"}]}}`; the fake sends the transcript it is given as two final results, as Deepgram
//!   does when its endpointing splits an utterance.
//! - Failures: a close with 1011 and `NET-0000` (its own error), 1008 `DATA-0000` for audio it
//!   cannot decode (an odd number of linear16 bytes), 1011 `NET-0001` for a stream that got
//!   neither audio nor `KeepAlive` for 10 s (<https://developers.deepgram.com/docs/audio-keep-alive>).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::{Behaviour, Shared, KEY};

/// One stream the fake served.
#[derive(Clone, Debug)]
pub struct Listened {
    /// Its query parameters.
    pub query: HashMap<String, String>,
    /// Audio received, in samples.
    pub samples: usize,
    /// Its loudness (RMS of the samples).
    pub rms: f64,
}

struct State_ {
    shared: Arc<Shared<Listened>>,
    transcript: std::sync::Mutex<String>,
    /// WebSocket upgrades so far.
    opened: std::sync::atomic::AtomicUsize,
    /// A stream that gets neither audio nor KeepAlive this long is closed (1011 `NET-0001`).
    idle: std::sync::Mutex<std::time::Duration>,
}

/// The fake; see the module docs.
pub struct FakeDeepgram {
    /// `http://127.0.0.1:PORT` (the API base).
    pub url: String,
    state: Arc<State_>,
}

impl FakeDeepgram {
    /// Starts the fake; it transcribes every stream as `transcript`.
    pub async fn start(transcript: &str) -> FakeDeepgram {
        let state = Arc::new(State_ {
            shared: Shared::new(),
            transcript: std::sync::Mutex::new(transcript.to_string()),
            opened: Default::default(),
            idle: std::sync::Mutex::new(std::time::Duration::from_secs(10)),
        });
        let app = axum::Router::new().route("/v1/listen", axum::routing::get(listen)).with_state(state.clone());
        FakeDeepgram { url: crate::serve(app).await, state }
    }

    /// How the next streams are answered.
    pub fn behave(&self, b: Behaviour) {
        *self.state.shared.behaviour.lock().unwrap() = b;
    }

    /// Streams opened so far (handshakes), used or not.
    pub fn opened(&self) -> usize {
        self.state.opened.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Closes streams idle this long (Deepgram: 10 s).
    pub fn idle_timeout(&self, idle: std::time::Duration) {
        *self.state.idle.lock().unwrap() = idle;
    }

    /// The streams served so far (those that got past the handshake).
    pub fn listened(&self) -> Vec<Listened> {
        self.state.shared.seen.lock().unwrap().clone()
    }
}

async fn listen(State(state): State<Arc<State_>>, Query(query): Query<HashMap<String, String>>, headers: HeaderMap, ws: WebSocketUpgrade) -> Response {
    let request_id = format!("{:032x}", rand_id());
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("Token {KEY}")) {
        let body = json!({"err_code": "INVALID_AUTH", "err_msg": "Invalid credentials.", "request_id": request_id});
        return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    }
    let encoding = query.get("encoding").map(String::as_str);
    if !matches!(encoding, None | Some("linear16") | Some("mulaw")) || (encoding.is_some() && !query.contains_key("sample_rate")) {
        let body = json!({"err_code": "UNSUPPORTED_ENCODING", "err_msg": "Bad Request: encoding and sample_rate must go together.", "request_id": request_id});
        return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
    }
    state.opened.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    ws.on_upgrade(move |socket| stream(socket, state, query, request_id))
}

async fn stream(mut socket: WebSocket, state: Arc<State_>, query: HashMap<String, String>, request_id: String) {
    let mut bytes: Vec<u8> = Vec::new();
    let rate: f64 = query.get("sample_rate").and_then(|r| r.parse().ok()).unwrap_or(8000.0);
    let linear = query.get("encoding").map(String::as_str) != Some("mulaw");
    let idle = *state.idle.lock().unwrap();
    loop {
        let Ok(next) = tokio::time::timeout(idle, socket.recv()).await else { return close(socket, 1011, "NET-0001").await };
        let Some(Ok(message)) = next else { return };
        match message {
            Message::Binary(b) => bytes.extend_from_slice(&b),
            Message::Text(t) => {
                let v: serde_json::Value = serde_json::from_str(t.as_str()).unwrap_or_default();
                match v.get("type").and_then(|t| t.as_str()) {
                    Some("CloseStream") => break,
                    Some("KeepAlive") => {}
                    _ => return close(socket, 1008, "DATA-0000").await,
                }
            }
            Message::Close(_) => return,
            _ => {}
        }
    }
    if linear && bytes.len() % 2 == 1 {
        return close(socket, 1008, "DATA-0000").await;
    }
    let samples: Vec<i16> = if linear {
        bytes.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect()
    } else {
        bytes.iter().map(|&b| parley_media::g711::ulaw_to_linear(b)).collect()
    };
    let rms = (samples.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / samples.len().max(1) as f64).sqrt();
    state.shared.seen.lock().unwrap().push(Listened { query, samples: samples.len(), rms });
    let duration = samples.len() as f64 / rate;
    match state.shared.behaviour() {
        Behaviour::Work => {}
        Behaviour::Fail(code) => return close(socket, code, "NET-0000").await,
        Behaviour::Cut => return,
        Behaviour::Hang => {
            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
            return;
        }
    }
    let transcript = state.transcript.lock().unwrap().clone();
    let words: Vec<&str> = transcript.split_whitespace().collect();
    let half = words.len().div_ceil(2);
    for (i, part) in [&words[..half], &words[half..]].into_iter().enumerate() {
        if part.is_empty() && i == 1 {
            continue;
        }
        let start = duration * i as f64 / 2.0;
        let result = json!({
            "type": "Results", "channel_index": [0, 1], "duration": duration / 2.0, "start": start,
            "is_final": true, "speech_final": i == 1, "from_finalize": false,
            "channel": {"alternatives": [{"transcript": part.join(" "), "confidence": 0.99, "words": []}]},
            "metadata": {"request_id": request_id, "model_info": {"name": "general-nova-3", "version": "fake", "arch": "nova-3"}},
        });
        if socket.send(Message::Text(result.to_string().into())).await.is_err() {
            return;
        }
    }
    let metadata = json!({"type": "Metadata", "transaction_key": "deprecated", "request_id": request_id, "sha256": "", "created": "2026-12-01T00:00:00.000Z", "duration": duration, "channels": 1});
    let _ = socket.send(Message::Text(metadata.to_string().into())).await;
    close(socket, 1000, "").await;
}

async fn close(mut socket: WebSocket, code: u16, reason: &str) {
    let _ = socket.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
}

fn rand_id() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}
