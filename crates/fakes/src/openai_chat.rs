//! A fake of OpenAI's chat completions, as documented: `POST /v1/chat/completions`
//! (<https://platform.openai.com/docs/api-reference/chat/create>) with `Authorization: Bearer`,
//! JSON `{model, messages, tools?, stream?, stream_options?, ...}`; with `stream: true` the
//! answer is server-sent events of `chat.completion.chunk` objects ending in `data: [DONE]`
//! (<https://platform.openai.com/docs/api-reference/chat-streaming>), tool calls streamed as
//! fragments joined by `index` (<https://platform.openai.com/docs/guides/function-calling>),
//! and with `stream_options.include_usage` a last chunk with `usage` and empty `choices`.
//! Errors are `{"error": {"message", "type", "param", "code"}}`: 401 `invalid_api_key`, 400
//! `invalid_request_error`, 429 `rate_limit_exceeded` with `retry-after`, 500
//! (<https://platform.openai.com/docs/guides/error-codes>).
//!
//! It answers from a script: each request takes the next [`Reply`] (the last one repeats).

use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::{Behaviour, Shared, KEY};

/// What the model answers to one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// Text, streamed a few characters at a time.
    Text(String),
    /// Tool calls: function name and arguments (JSON text), streamed in fragments.
    ToolCalls(Vec<(String, String)>),
}

struct ChatState {
    shared: Arc<Shared<Value>>,
    script: Mutex<Vec<Reply>>,
    /// Before the first event, and between events (ms): how fast the "model" writes.
    pace: Mutex<(u64, u64)>,
}

/// The fake; see the module docs.
pub struct FakeChat {
    /// `http://127.0.0.1:PORT/v1` (the API base).
    pub url: String,
    state: Arc<ChatState>,
}

impl FakeChat {
    /// Starts the fake with its script.
    pub async fn start(script: Vec<Reply>) -> FakeChat {
        let state = Arc::new(ChatState { shared: Shared::new(), script: Mutex::new(script), pace: Mutex::new((0, 3)) });
        let app = axum::Router::new().route("/v1/chat/completions", axum::routing::post(completions)).with_state(state.clone());
        FakeChat { url: format!("{}/v1", crate::serve(app).await), state }
    }

    /// How the next requests are answered.
    pub fn behave(&self, b: Behaviour) {
        *self.state.shared.behaviour.lock().unwrap() = b;
    }

    /// Writes like a model of this speed: `first_ms` before the first event, `between_ms` between
    /// events (each of a few characters); by default 0 and 3.
    pub fn pace(&self, first_ms: u64, between_ms: u64) {
        *self.state.pace.lock().unwrap() = (first_ms, between_ms);
    }

    /// The requests it served (their JSON), past the key check.
    pub fn seen(&self) -> Vec<Value> {
        self.state.shared.seen.lock().unwrap().clone()
    }
}

/// OpenAI's error body ([`crate::openai`]), with the `retry-after` a 429 carries.
fn error(status: u16, kind: &str, code: &str, message: &str) -> Response {
    let mut r = crate::openai::error(status, kind, code, message);
    if status == 429 {
        r.headers_mut().insert("retry-after", axum::http::HeaderValue::from_static("2"));
    }
    r
}

fn chunk(delta: Value, finish: Option<&str>) -> Value {
    json!({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1_796_000_000, "model": "fake", "system_fingerprint": null,
           "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]})
}

/// The chunks of a reply, as the model streams them.
fn chunks(reply: &Reply, usage: bool) -> Vec<Value> {
    let mut out = vec![chunk(json!({"role": "assistant", "content": ""}), None)];
    let finish = match reply {
        Reply::Text(text) => {
            let chars: Vec<char> = text.chars().collect();
            for piece in chars.chunks(7) {
                out.push(chunk(json!({"content": piece.iter().collect::<String>()}), None));
            }
            "stop"
        }
        Reply::ToolCalls(calls) => {
            for (i, (name, args)) in calls.iter().enumerate() {
                out.push(chunk(json!({"tool_calls": [{"index": i, "id": format!("call_{i}"), "type": "function", "function": {"name": name, "arguments": ""}}]}), None));
                let chars: Vec<char> = args.chars().collect();
                for piece in chars.chunks(5) {
                    out.push(chunk(json!({"tool_calls": [{"index": i, "function": {"arguments": piece.iter().collect::<String>()}}]}), None));
                }
            }
            "tool_calls"
        }
    };
    out.push(chunk(json!({}), Some(finish)));
    if usage {
        out.push(json!({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1_796_000_000, "model": "fake", "choices": [],
                        "usage": {"prompt_tokens": 42, "completion_tokens": 17, "total_tokens": 59}}));
    }
    out
}

/// Checks the request as the API does: a model, messages with roles, tools that are functions.
fn check(request: &Value) -> Result<(), &'static str> {
    request.get("model").and_then(Value::as_str).filter(|m| !m.is_empty()).ok_or("you must provide a model parameter")?;
    let messages = request.get("messages").and_then(Value::as_array).filter(|m| !m.is_empty()).ok_or("messages must be a non-empty array")?;
    for m in messages {
        let role = m.get("role").and_then(Value::as_str).ok_or("each message needs a role")?;
        match role {
            "system" | "developer" | "user" | "assistant" => {}
            "tool" if m.get("tool_call_id").and_then(Value::as_str).is_some() => {}
            _ => return Err("invalid role, or a tool message without tool_call_id"),
        }
    }
    for t in request.get("tools").and_then(Value::as_array).into_iter().flatten() {
        if t.get("type").and_then(Value::as_str) != Some("function") || t.pointer("/function/name").and_then(Value::as_str).is_none() {
            return Err("each tool must be {type: function, function: {name, parameters}}");
        }
    }
    Ok(())
}

async fn completions(State(state): State<Arc<ChatState>>, headers: HeaderMap, body: Bytes) -> Response {
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("Bearer {KEY}")) {
        return error(401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided.");
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else { return error(400, "invalid_request_error", "", "We could not parse the JSON body of your request.") };
    if let Err(why) = check(&request) {
        return error(400, "invalid_request_error", "", why);
    }
    state.shared.seen.lock().unwrap().push(request.clone());
    let behaviour = state.shared.behaviour();
    match behaviour {
        Behaviour::Fail(429) => return error(429, "requests", "rate_limit_exceeded", "Rate limit reached for requests."),
        Behaviour::Fail(s) => return error(s, "server_error", "server_error", "The server had an error while processing your request."),
        Behaviour::Hang => {
            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
            return StatusCode::GATEWAY_TIMEOUT.into_response();
        }
        Behaviour::Work | Behaviour::Cut => {}
    }
    let reply = {
        let mut script = state.script.lock().unwrap();
        if script.len() > 1 { script.remove(0) } else { script.first().cloned().unwrap_or(Reply::Text(String::new())) }
    };
    let usage = request.pointer("/stream_options/include_usage").and_then(Value::as_bool) == Some(true);
    if request.get("stream").and_then(Value::as_bool) != Some(true) {
        let message = match &reply {
            Reply::Text(t) => json!({"role": "assistant", "content": t}),
            Reply::ToolCalls(calls) => json!({"role": "assistant", "content": null, "tool_calls": calls.iter().enumerate().map(|(i, (n, a))| json!({"id": format!("call_{i}"), "type": "function", "function": {"name": n, "arguments": a}})).collect::<Vec<_>>()}),
        };
        let finish = if matches!(reply, Reply::Text(_)) { "stop" } else { "tool_calls" };
        return axum::Json(json!({"id": "chatcmpl-fake", "object": "chat.completion", "created": 1_796_000_000, "model": "fake",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}], "usage": {"prompt_tokens": 42, "completion_tokens": 17, "total_tokens": 59}})).into_response();
    }
    let events: Vec<String> = chunks(&reply, usage).iter().map(|c| format!("data: {c}\n\n")).chain(std::iter::once("data: [DONE]\n\n".to_string())).collect();
    // Events a little apart, as a model writes them. Cut: the connection drops after two.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let (first_ms, between_ms) = *state.pace.lock().unwrap();
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(first_ms)).await;
        for (i, e) in events.into_iter().enumerate() {
            if behaviour == Behaviour::Cut && i == 2 {
                let _ = tx.send(Err(std::io::Error::other("cut"))).await;
                return;
            }
            if tx.send(Ok(Bytes::from(e))).await.is_err() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(between_ms)).await;
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|piece| (piece, rx)) });
    ([("content-type", "text/event-stream"), ("cache-control", "no-cache")], Body::from_stream(stream)).into_response()
}
