//! A fake of ElevenLabs' streaming text-to-speech WebSocket, as documented
//! (<https://elevenlabs.io/docs/api-reference/text-to-speech/v-1-text-to-speech-voice-id-stream-input>):
//! - `GET /v1/text-to-speech/{voice_id}/stream-input?model_id=..&output_format=..` upgraded to a
//!   WebSocket; the key in the `xi-api-key` header (or `xi_api_key` in the first message). The
//!   documentation gives no close code for a wrong key: this fake answers the first message
//!   with a close 1008 (policy violation), and the client treats any close before `isFinal` as
//!   a failure, whatever its code.
//! - `output_format`: `ulaw_8000` (8 kHz mu-law) or `pcm_16000`/`pcm_24000` (16-bit
//!   little-endian); default `mp3_44100_128`, which this fake does not speak (close 1003).
//! - Messages in: first `{"text": " ", "voice_settings"?, "generation_config"?}` (the text must
//!   be a single space, or the session is closed 1008); then `{"text": "... ", "flush"?,
//!   "try_trigger_generation"?}`; `{"text": ""}` ends the input. Text is spoken at a flush or
//!   at the end.
//! - Messages out: `{"audio": "<base64>", "isFinal": null, "normalizedAlignment": {..},
//!   "alignment": {..}}` per chunk, then `{"isFinal": true}` after the end of input, then a
//!   close 1000.
//! - It speaks a 700 Hz tone, 60 ms a character.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use base64::Engine as _;
use serde_json::json;

use crate::{tone, Behaviour, Shared, KEY};

/// The pitch of the fake's voice.
pub const VOICE_HZ: f32 = 700.0;

/// One session the fake served.
#[derive(Clone, Debug, Default)]
pub struct Spoken {
    /// The voice id in the path.
    pub voice_id: String,
    /// Query parameters.
    pub query: HashMap<String, String>,
    /// The text it was given, joined.
    pub text: String,
}

/// The fake; see the module docs.
pub struct FakeElevenLabs {
    /// `http://127.0.0.1:PORT` (the API base).
    pub url: String,
    shared: Arc<Shared<Spoken>>,
}

impl FakeElevenLabs {
    /// Starts the fake.
    pub async fn start() -> FakeElevenLabs {
        let shared = Shared::new();
        let app = axum::Router::new().route("/v1/text-to-speech/{voice_id}/stream-input", axum::routing::get(upgrade)).with_state(shared.clone());
        FakeElevenLabs { url: crate::serve(app).await, shared }
    }

    /// How the next sessions are answered.
    pub fn behave(&self, b: Behaviour) {
        *self.shared.behaviour.lock().unwrap() = b;
    }

    /// The sessions so far.
    pub fn spoken(&self) -> Vec<Spoken> {
        self.shared.seen.lock().unwrap().clone()
    }
}

async fn upgrade(State(shared): State<Arc<Shared<Spoken>>>, Path(voice_id): Path<String>, Query(query): Query<HashMap<String, String>>, headers: HeaderMap, ws: WebSocketUpgrade) -> Response {
    let header_key = headers.get("xi-api-key").and_then(|v| v.to_str().ok()).map(str::to_string);
    ws.on_upgrade(move |socket| session(socket, shared, Spoken { voice_id, query, text: String::new() }, header_key))
}

async fn close(mut socket: WebSocket, code: u16, reason: &str) {
    let _ = socket.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
}

async fn session(mut socket: WebSocket, shared: Arc<Shared<Spoken>>, spoken: Spoken, header_key: Option<String>) {
    let format = spoken.query.get("output_format").cloned().unwrap_or_else(|| "mp3_44100_128".into());
    let rate = match format.as_str() {
        "ulaw_8000" => 8000,
        "pcm_16000" => 16000,
        "pcm_24000" => 24000,
        _ => return close(socket, 1003, "unsupported output_format").await,
    };
    let mut first = true;
    let mut pending = String::new();
    let entry = {
        let mut seen = shared.seen.lock().unwrap();
        seen.push(spoken.clone());
        seen.len() - 1
    };
    while let Some(Ok(message)) = socket.recv().await {
        let Message::Text(body) = message else { continue };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(body.as_str()) else { return close(socket, 1008, "invalid JSON").await };
        let Some(text) = v.get("text").and_then(|t| t.as_str()) else { return close(socket, 1008, "text is required").await };
        if first {
            first = false;
            let key = header_key.clone().or_else(|| v.get("xi_api_key").and_then(|k| k.as_str()).map(str::to_string));
            if key.as_deref() != Some(KEY) {
                return close(socket, 1008, "Invalid API key").await;
            }
            if text != " " {
                return close(socket, 1008, "the first message must be a single space").await;
            }
            continue;
        }
        let end = text.is_empty();
        pending.push_str(text);
        shared.seen.lock().unwrap()[entry].text.push_str(text);
        let flush = v.get("flush").and_then(|f| f.as_bool()) == Some(true);
        if end || flush {
            let say = std::mem::take(&mut pending);
            if !say.trim().is_empty() {
                match shared.behaviour() {
                    Behaviour::Work | Behaviour::Cut => {}
                    Behaviour::Fail(code) => return close(socket, code, "internal error").await,
                    Behaviour::Hang => {
                        tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
                        return;
                    }
                }
                for chunk in audio(&say, rate).chunks(2000) {
                    let message = json!({"audio": base64::engine::general_purpose::STANDARD.encode(chunk), "isFinal": null, "normalizedAlignment": null, "alignment": null});
                    if socket.send(Message::Text(message.to_string().into())).await.is_err() {
                        return;
                    }
                    if shared.behaviour() == Behaviour::Cut {
                        return; // the connection drops without a close
                    }
                }
            }
        }
        if end {
            let _ = socket.send(Message::Text(json!({"isFinal": true}).to_string().into())).await;
            return close(socket, 1000, "").await;
        }
    }
}

/// The tone for `text` in the session's format.
fn audio(text: &str, rate: u32) -> Vec<u8> {
    let pcm = tone(text, VOICE_HZ, rate);
    if rate == 8000 {
        pcm.iter().map(|&s| parley_media::g711::linear_to_ulaw(s)).collect()
    } else {
        pcm.iter().flat_map(|s| s.to_le_bytes()).collect()
    }
}
