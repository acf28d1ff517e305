//! An OpenAI-compatible chat-completions client (OpenAI, Azure OpenAI, vLLM, llama.cpp's server,
//! Ollama): one streamed completion per request, read with
//! [`parley_agent::llm::stream::StreamDecoder`]. It asks providers not to keep the exchange
//! (`store: false`, <https://platform.openai.com/docs/api-reference/chat/create#chat-create-store>),
//! and connects only through the client it is given (the operator's egress policy).
//! Errors are coarse (a status, `rate limited` with the wait the provider asked for, `timed
//! out`, `cut off`), never the provider's text, which may echo the prompt.

use std::time::Duration;

use parley_agent::llm::json_reply::{self, ReplyDecoder};
use parley_agent::llm::stream::{StreamDecoder, StreamError, StreamEvent};
use secrecy::ExposeSecret;
use serde_json::{json, Value};

/// Why a completion failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LlmError {
    /// The key was refused (401/403).
    #[error("the model's provider refused the key ({0})")]
    Unauthorized(u16),
    /// 429: try again after this long (the provider's `retry-after`, else 1 s).
    #[error("the model's provider is rate limiting")]
    RateLimited(Duration),
    /// Another error status.
    #[error("the model's provider answered {0}")]
    Status(u16),
    /// No answer, or no more of it, in time.
    #[error("the model timed out")]
    TimedOut,
    /// The provider could not be reached.
    #[error("the model's provider could not be reached")]
    Unreachable,
    /// The stream broke off, was malformed, or the provider reported an error in it.
    #[error("the model's answer failed: {0}")]
    Stream(#[from] StreamError),
}

/// A provider account and model.
#[derive(Clone)]
pub struct ChatClient {
    http: reqwest::Client,
    base: String,
    key: secrecy::SecretString,
    model: String,
    /// Fields added to every request (sampling settings a server takes).
    options: serde_json::Map<String, Value>,
    /// Whether replies come as one schema-constrained JSON object
    /// ([`parley_agent::llm::json_reply`]).
    json_replies: bool,
    /// Longest wait for the answer to start, and between its pieces.
    pub idle_timeout: Duration,
}

/// An answer being streamed.
pub struct ChatStream {
    response: reqwest::Response,
    decoder: StreamDecoder,
    /// The JSON reply being read back, when replies are constrained.
    reply: Option<ReplyDecoder>,
    idle_timeout: Duration,
    ended: bool,
}

impl ChatClient {
    /// A client for `model` at `base` (`https://api.openai.com/v1`), through `http`.
    pub fn new(http: reqwest::Client, base: &str, key: secrecy::SecretString, model: &str) -> ChatClient {
        ChatClient { http, base: base.trim_end_matches('/').to_string(), key, model: model.to_string(), options: serde_json::Map::new(), json_replies: false, idle_timeout: Duration::from_secs(10) }
    }

    /// The same client adding `options` (an object: `{"temperature": 0}`) to every request.
    pub fn with_options(mut self, options: Value) -> ChatClient {
        if let Value::Object(map) = options {
            self.options = map;
        }
        self
    }

    /// The same client asking for every reply as one JSON object constrained by a schema
    /// (`response_format: json_schema`), read back into text and tool calls: for small models
    /// that cannot be trusted with free-form tool calls ([`parley_agent::llm::json_reply`]).
    pub fn with_json_replies(mut self) -> ChatClient {
        self.json_replies = true;
        self
    }

    /// Whether the server answers `GET {base}/health` with a success (llama.cpp's server does
    /// once its model is loaded).
    pub async fn healthy(&self) -> bool {
        let request = self.http.get(format!("{}/health", self.base)).send();
        matches!(tokio::time::timeout(Duration::from_secs(2), request).await, Ok(Ok(r)) if r.status().is_success())
    }

    /// A client that connects directly (no egress policy): for `parley chat` on the operator's
    /// own terminal, never for a tenant's call.
    pub fn direct(base: &str, key: secrecy::SecretString, model: &str) -> ChatClient {
        let http = reqwest::Client::builder().connect_timeout(Duration::from_secs(5)).build().unwrap_or_default();
        ChatClient::new(http, base, key, model)
    }

    /// Starts a completion of `messages` (chat messages as the API takes them) with `tools`
    /// (function tools as the API takes them; may be empty), at most `max_tokens`.
    pub async fn stream(&self, messages: &[Value], tools: &[Value], max_tokens: u32) -> Result<ChatStream, LlmError> {
        let mut body = json!({
            "model": self.model,
            "messages": messages,
            "stream": true,
            "stream_options": {"include_usage": true},
            "max_tokens": max_tokens,
            "store": false,
        });
        let mut schema = None;
        if self.json_replies {
            let (constrained, reply_schema) = json_reply::constrain(messages, tools);
            body["messages"] = json!(constrained);
            // A warm-up (`max_tokens: 0`) only reads the prompt: a grammar there would have to
            // fit the node's own opening words when they end the prompt, which llama.cpp's
            // server refuses (400, "Failed to initialize samplers").
            schema = (max_tokens > 0).then_some(reply_schema);
        } else if !tools.is_empty() {
            body["tools"] = json!(tools);
        }
        for (k, v) in &self.options {
            body[k] = v.clone();
        }
        let mut text = body.to_string();
        if let Some(schema) = schema {
            // The schema as written: its keys in the order the reply must have them (a
            // `Value` would sort them).
            text.pop();
            text.push_str(&format!(r#","response_format":{{"type":"json_schema","json_schema":{{"name":"reply","strict":true,"schema":{schema}}}}}}}"#));
        }
        let request = self.http.post(format!("{}/chat/completions", self.base)).bearer_auth(self.key.expose_secret()).header("accept", "text/event-stream").header("content-type", "application/json").body(text).send();
        let response = match tokio::time::timeout(self.idle_timeout, request).await {
            Err(_) => return Err(LlmError::TimedOut),
            Ok(Err(e)) if e.is_timeout() => return Err(LlmError::TimedOut),
            Ok(Err(_)) => return Err(LlmError::Unreachable),
            Ok(Ok(r)) => r,
        };
        let status = response.status().as_u16();
        match status {
            200..=299 => Ok(ChatStream { response, decoder: StreamDecoder::new(), reply: self.json_replies.then(ReplyDecoder::new), idle_timeout: self.idle_timeout, ended: false }),
            401 | 403 => Err(LlmError::Unauthorized(status)),
            429 => {
                let wait = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<f64>().ok()).filter(|s| s.is_finite() && *s >= 0.0).map_or(Duration::from_secs(1), |s| Duration::from_secs_f64(s.min(300.0)));
                Err(LlmError::RateLimited(wait))
            }
            s => Err(LlmError::Status(s)),
        }
    }
}

impl ChatStream {
    /// The next events (`None` once the answer is complete).
    pub async fn next(&mut self) -> Option<Result<Vec<StreamEvent>, LlmError>> {
        let events = self.next_raw().await?;
        let Some(reply) = self.reply.as_mut() else { return Some(events) };
        let events = match events {
            Ok(events) => events,
            Err(e) => return Some(Err(e)),
        };
        let mut out = Vec::new();
        for e in events {
            match e {
                StreamEvent::Text(t) => out.extend(reply.push(&t)),
                StreamEvent::Finished(reason) => match reply.finish(reason) {
                    Ok(events) => out.extend(events),
                    Err(e) => {
                        self.ended = true;
                        return Some(Err(e.into()));
                    }
                },
                other => out.push(other),
            }
        }
        Some(Ok(out))
    }

    async fn next_raw(&mut self) -> Option<Result<Vec<StreamEvent>, LlmError>> {
        if self.ended {
            return None;
        }
        loop {
            let piece = match tokio::time::timeout(self.idle_timeout, self.response.chunk()).await {
                Err(_) => {
                    self.ended = true;
                    return Some(Err(LlmError::TimedOut));
                }
                Ok(Err(_)) => {
                    self.ended = true;
                    return Some(Err(LlmError::Stream(StreamError::Cut)));
                }
                Ok(Ok(p)) => p,
            };
            let Some(bytes) = piece else {
                self.ended = true;
                return match self.decoder.end() {
                    Ok(events) if events.is_empty() => None,
                    Ok(events) => Some(Ok(events)),
                    Err(e) => Some(Err(e.into())),
                };
            };
            match self.decoder.push(&bytes) {
                Err(e) => {
                    self.ended = true;
                    return Some(Err(e.into()));
                }
                Ok(events) if events.is_empty() && !self.decoder.done() => continue,
                Ok(events) => {
                    if self.decoder.done() {
                        self.ended = true;
                    }
                    return Some(Ok(events));
                }
            }
        }
    }
}
