//! A fake of OpenAI's audio endpoints, as documented:
//! - `POST /v1/audio/transcriptions`
//!   (<https://platform.openai.com/docs/api-reference/audio/createTranscription>):
//!   `multipart/form-data` with `file` (a WAV here: it must start with `RIFF`), `model`
//!   (required), optional `language`, `prompt`, `response_format` (`json` answers `{"text"}`,
//!   `text` the bare text).
//! - `POST /v1/audio/speech` (<https://platform.openai.com/docs/api-reference/audio/createSpeech>):
//!   JSON `{model, input, voice, response_format}`; `pcm` streams raw 24 kHz 16-bit
//!   little-endian mono samples (chunked, in pieces of odd sizes, as a network delivers them);
//!   `input` of more than 4096 characters is 400.
//! - `Authorization: Bearer <key>`; errors are `{"error": {"message", "type", "param", "code"}}`
//!   with 401 (`invalid_api_key`), 400 (`invalid_request_error`), 429 (`rate_limit_exceeded`),
//!   500 (<https://platform.openai.com/docs/guides/error-codes>).

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::{tone, Behaviour, Shared, KEY};

/// The pitch of the fake's voice.
pub const VOICE_HZ: f32 = 900.0;

/// A request the fake served (past its key check).
#[derive(Clone, Debug)]
pub enum Seen {
    /// A transcription: the form's text fields and the file's size in bytes.
    Transcription { fields: Vec<(String, String)>, file_bytes: usize },
    /// A speech request's JSON.
    Speech(Value),
}

struct State_ {
    shared: Arc<Shared<Seen>>,
    transcript: std::sync::Mutex<String>,
}

/// The fake; see the module docs.
pub struct FakeOpenAi {
    /// `http://127.0.0.1:PORT/v1` (the API base).
    pub url: String,
    state: Arc<State_>,
}

impl FakeOpenAi {
    /// Starts the fake; it transcribes every file as `transcript`.
    pub async fn start(transcript: &str) -> FakeOpenAi {
        let state = Arc::new(State_ { shared: Shared::new(), transcript: std::sync::Mutex::new(transcript.to_string()) });
        let app = axum::Router::new()
            .route("/v1/audio/transcriptions", axum::routing::post(transcriptions))
            .route("/v1/audio/speech", axum::routing::post(speech))
            .with_state(state.clone());
        FakeOpenAi { url: format!("{}/v1", crate::serve(app).await), state }
    }

    /// How the next requests are answered.
    pub fn behave(&self, b: Behaviour) {
        *self.state.shared.behaviour.lock().unwrap() = b;
    }

    /// What it served so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.shared.seen.lock().unwrap().clone()
    }
}

pub(crate) fn error(status: u16, kind: &str, code: &str, message: &str) -> Response {
    let body = json!({"error": {"message": message, "type": kind, "param": null, "code": code}});
    (StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), axum::Json(body)).into_response()
}

fn authorized(headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {KEY}"))
}

/// The answer a behaviour other than `Work` gives, if it ends the request here.
async fn failure(b: &Behaviour) -> Option<Response> {
    match b {
        Behaviour::Fail(429) => Some(error(429, "requests", "rate_limit_exceeded", "Rate limit reached for requests.")),
        Behaviour::Fail(s) => Some(error(*s, "server_error", "server_error", "The server had an error while processing your request.")),
        Behaviour::Hang => {
            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
            Some(StatusCode::GATEWAY_TIMEOUT.into_response())
        }
        Behaviour::Work | Behaviour::Cut => None,
    }
}

async fn transcriptions(State(state): State<Arc<State_>>, headers: HeaderMap, mut form: Multipart) -> Response {
    if !authorized(&headers) {
        return error(401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided.");
    }
    let (mut fields, mut file) = (Vec::new(), None);
    loop {
        match form.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_string();
                let Ok(data) = field.bytes().await else { return error(400, "invalid_request_error", "", "Could not parse multipart form") };
                if name == "file" {
                    file = Some(data);
                } else {
                    fields.push((name, String::from_utf8_lossy(&data).into_owned()));
                }
            }
            Ok(None) => break,
            Err(_) => return error(400, "invalid_request_error", "", "Could not parse multipart form"),
        }
    }
    let field = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let Some(file) = file else { return error(400, "invalid_request_error", "", "you must provide a file") };
    if field("model").is_none() {
        return error(400, "invalid_request_error", "", "you must provide a model parameter");
    }
    if !file.starts_with(b"RIFF") || file.len() < 44 {
        return error(400, "invalid_request_error", "", "Invalid file format.");
    }
    state.shared.seen.lock().unwrap().push(Seen::Transcription { fields: fields.clone(), file_bytes: file.len() });
    if let Some(r) = failure(&state.shared.behaviour()).await {
        return r;
    }
    let text = state.transcript.lock().unwrap().clone();
    match field("response_format").as_deref() {
        None | Some("json") => axum::Json(json!({"text": text, "usage": {"type": "duration", "seconds": (file.len() / 16000).max(1)}})).into_response(),
        Some("text") => text.into_response(),
        Some(_) => error(400, "invalid_request_error", "", "response_format must be json or text for this model"),
    }
}

async fn speech(State(state): State<Arc<State_>>, headers: HeaderMap, body: Bytes) -> Response {
    if !authorized(&headers) {
        return error(401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided.");
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else { return error(400, "invalid_request_error", "", "We could not parse the JSON body of your request.") };
    let input = request.get("input").and_then(|i| i.as_str()).unwrap_or_default().to_string();
    if request.get("model").and_then(|m| m.as_str()).is_none() || request.get("voice").is_none() || input.is_empty() || input.chars().count() > 4096 {
        return error(400, "invalid_request_error", "", "model, voice and input (at most 4096 characters) are required");
    }
    if request.get("response_format").and_then(|f| f.as_str()) != Some("pcm") {
        return error(400, "invalid_request_error", "", "this fake speaks pcm only");
    }
    state.shared.seen.lock().unwrap().push(Seen::Speech(request));
    let behaviour = state.shared.behaviour();
    if let Some(r) = failure(&behaviour).await {
        return r;
    }
    let bytes: Vec<u8> = tone(&input, VOICE_HZ, 24_000).iter().flat_map(|s| s.to_le_bytes()).collect();
    // Pieces of 4801 bytes, a little apart: samples split across pieces, as on a real
    // connection. Cut: the connection drops after the first piece has gone out.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::spawn(async move {
        for (i, piece) in bytes.chunks(4801).enumerate() {
            if behaviour == Behaviour::Cut && i == 1 {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                let _ = tx.send(Err(std::io::Error::other("cut"))).await;
                return;
            }
            if tx.send(Ok(Bytes::copy_from_slice(piece))).await.is_err() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|piece| (piece, rx)) });
    ([("content-type", "audio/pcm")], Body::from_stream(stream)).into_response()
}
