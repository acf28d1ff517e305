//! The streamed answer of an OpenAI-compatible chat-completions endpoint (`stream: true`), as
//! documented at <https://platform.openai.com/docs/api-reference/chat-streaming>: server-sent
//! events, each `data:` a `chat.completion.chunk` JSON object, the stream ended by
//! `data: [DONE]`. A chunk's `choices[0].delta` carries `content` (text) or `tool_calls`
//! fragments: the first fragment of a call has its `index`, `id` and `function.name`, the
//! following ones more of `function.arguments`, joined by `index`
//! (<https://platform.openai.com/docs/guides/function-calling#streaming>). `finish_reason` ends
//! the choice (`stop`, `length`, `tool_calls`, `content_filter`); with
//! `stream_options: {"include_usage": true}` a last chunk has `usage` and no choices (vLLM sends
//! `"choices": null`). An error mid-stream comes as `data: {"error": {...}}`.
//!
//! [`StreamDecoder::push`] takes bytes as they arrive (split anywhere, even inside a UTF-8
//! character) and returns what they completed; [`StreamDecoder::end`] says whether the stream
//! ended as it should or was cut off.

use std::collections::BTreeMap;

use serde_json::Value;

/// Something the model said or did.
#[derive(Clone, Debug, PartialEq)]
pub enum StreamEvent {
    /// More of the answer's text.
    Text(String),
    /// A whole tool call: its id, the function's name and its arguments (a JSON text, as the
    /// model wrote it: check it before use).
    ToolCall {
        /// The call's id (for the tool result message).
        id: String,
        /// The function.
        name: String,
        /// Its arguments, JSON text.
        arguments: String,
    },
    /// The answer is complete, and why it stopped.
    Finished(FinishReason),
    /// Tokens used.
    Usage {
        /// Prompt tokens.
        prompt: u64,
        /// Completion tokens.
        completion: u64,
    },
}

/// Why the model stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FinishReason {
    /// A natural end.
    Stop,
    /// It wants the tool calls it made run.
    ToolCalls,
    /// It hit the token limit.
    Length,
    /// The provider's filter stopped it.
    ContentFilter,
    /// Something else the provider named.
    Other(String),
}

/// Why a stream failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    /// The provider reported an error in the stream (its `type` or `code`, never its message,
    /// which may echo the prompt).
    #[error("the model reported an error ({0})")]
    Provider(String),
    /// A `data:` line that is not a chunk.
    #[error("a stream event is not a chat completion chunk")]
    Malformed,
    /// The stream ended without `[DONE]`.
    #[error("the stream was cut off")]
    Cut,
    /// More than [`MAX_EVENT_BYTES`] without an event's end.
    #[error("a stream event is too long")]
    TooLong,
}

/// The longest event the decoder buffers.
pub const MAX_EVENT_BYTES: usize = 1 << 20;

#[derive(Default, Debug)]
struct PartialCall {
    id: String,
    name: String,
    arguments: String,
}

/// See the module docs.
#[derive(Default, Debug)]
pub struct StreamDecoder {
    /// Bytes of the line not yet ended.
    line: Vec<u8>,
    /// `data:` lines of the event not yet ended.
    data: Vec<String>,
    calls: BTreeMap<u64, PartialCall>,
    done: bool,
    failed: bool,
}

impl StreamDecoder {
    /// A decoder for one response.
    pub fn new() -> StreamDecoder {
        StreamDecoder::default()
    }

    /// Whether `[DONE]` has come.
    pub fn done(&self) -> bool {
        self.done
    }

    /// Bytes of the response body: the events they completed.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<StreamEvent>, StreamError> {
        let mut out = Vec::new();
        if self.failed || self.done {
            return Ok(out);
        }
        for &b in bytes {
            if b != b'\n' {
                self.line.push(b);
                if self.line.len() > MAX_EVENT_BYTES {
                    self.failed = true;
                    return Err(StreamError::TooLong);
                }
                continue;
            }
            let mut line = std::mem::take(&mut self.line);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            let line = String::from_utf8(line).map_err(|_| self.fail(StreamError::Malformed))?;
            if line.is_empty() {
                let data = std::mem::take(&mut self.data);
                if !data.is_empty() {
                    self.event(&data.join("\n"), &mut out)?;
                }
                if self.done {
                    break;
                }
            } else if let Some(d) = line.strip_prefix("data:") {
                self.data.push(d.strip_prefix(' ').unwrap_or(d).to_string());
                if self.data.iter().map(String::len).sum::<usize>() > MAX_EVENT_BYTES {
                    return Err(self.fail(StreamError::TooLong));
                }
            }
            // Comments (`:`), `event:`, `id:` and `retry:` lines carry nothing here.
        }
        Ok(out)
    }

    /// The body has ended: `Err(Cut)` unless `[DONE]` came (an event without its closing blank
    /// line is dropped, as the server-sent events format says).
    pub fn end(&mut self) -> Result<Vec<StreamEvent>, StreamError> {
        self.line.clear();
        self.data.clear();
        if !self.done {
            return Err(StreamError::Cut);
        }
        Ok(Vec::new())
    }

    fn fail(&mut self, e: StreamError) -> StreamError {
        self.failed = true;
        e
    }

    fn event(&mut self, data: &str, out: &mut Vec<StreamEvent>) -> Result<(), StreamError> {
        if data.trim() == "[DONE]" {
            self.done = true;
            return Ok(());
        }
        let chunk: Value = serde_json::from_str(data).map_err(|_| self.fail(StreamError::Malformed))?;
        if let Some(e) = chunk.get("error") {
            let kind = e.get("code").and_then(Value::as_str).or_else(|| e.get("type").and_then(Value::as_str)).unwrap_or("error");
            return Err(self.fail(StreamError::Provider(kind.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(64).collect())));
        }
        if !chunk.is_object() {
            return Err(self.fail(StreamError::Malformed));
        }
        if let Some(choice) = chunk.get("choices").and_then(Value::as_array).and_then(|c| c.first()) {
            let delta = choice.get("delta");
            if let Some(text) = delta.and_then(|d| d.get("content")).and_then(Value::as_str).filter(|t| !t.is_empty()) {
                out.push(StreamEvent::Text(text.to_string()));
            }
            for call in delta.and_then(|d| d.get("tool_calls")).and_then(Value::as_array).into_iter().flatten() {
                let index = call.get("index").and_then(Value::as_u64).unwrap_or(0);
                let partial = self.calls.entry(index).or_default();
                if let Some(id) = call.get("id").and_then(Value::as_str) {
                    partial.id = id.to_string();
                }
                let function = call.get("function");
                if let Some(name) = function.and_then(|f| f.get("name")).and_then(Value::as_str) {
                    partial.name.push_str(name);
                }
                if let Some(args) = function.and_then(|f| f.get("arguments")).and_then(Value::as_str) {
                    partial.arguments.push_str(args);
                }
            }
            if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
                for (_, c) in std::mem::take(&mut self.calls) {
                    out.push(StreamEvent::ToolCall { id: c.id, name: c.name, arguments: c.arguments });
                }
                out.push(StreamEvent::Finished(match reason {
                    "stop" => FinishReason::Stop,
                    "tool_calls" | "function_call" => FinishReason::ToolCalls,
                    "length" => FinishReason::Length,
                    "content_filter" => FinishReason::ContentFilter,
                    other => FinishReason::Other(other.to_string()),
                }));
            }
        }
        if let Some(usage) = chunk.get("usage").filter(|u| u.is_object()) {
            let n = |k: &str| usage.get(k).and_then(Value::as_u64).unwrap_or(0);
            out.push(StreamEvent::Usage { prompt: n("prompt_tokens"), completion: n("completion_tokens") });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A streamed answer with text, two parallel tool calls and usage, as OpenAI sends it.
    const STREAM: &str = concat!(
        ": keep-alive\n\n",
        "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n",
        "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Let me check. \"},\"finish_reason\":null}]}\n\n",
        "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":\"find_order\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}\n\n",
        "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"number\\\":\"}}]},\"finish_reason\":null}]}\n\n",
        "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_b\",\"type\":\"function\",\"function\":{\"name\":\"hours\",\"arguments\":\"{}\"}}]},\"finish_reason\":null}]}\n\n",
        "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\"1004\\\"}\"}}]},\"finish_reason\":null}]}\n\n",
        "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n",
        "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":null,\"usage\":{\"prompt_tokens\":120,\"completion_tokens\":31,\"total_tokens\":151}}\n\n",
        "data: [DONE]\n\n",
    );

    fn expected() -> Vec<StreamEvent> {
        vec![
            StreamEvent::Text("Let me check. ".into()),
            StreamEvent::ToolCall { id: "call_a".into(), name: "find_order".into(), arguments: "{\"number\":\"1004\"}".into() },
            StreamEvent::ToolCall { id: "call_b".into(), name: "hours".into(), arguments: "{}".into() },
            StreamEvent::Finished(FinishReason::ToolCalls),
            StreamEvent::Usage { prompt: 120, completion: 31 },
        ]
    }

    #[test]
    fn text_tool_calls_and_usage_whatever_the_bytes_split() {
        let bytes = STREAM.as_bytes();
        for step in [bytes.len(), 1, 7, 64] {
            let mut d = StreamDecoder::new();
            let mut got = Vec::new();
            for piece in bytes.chunks(step) {
                got.extend(d.push(piece).unwrap());
            }
            got.extend(d.end().unwrap());
            assert_eq!(got, expected(), "pieces of {step} bytes");
        }
        // CRLF line ends, and a multi-byte character split between reads.
        let mut d = StreamDecoder::new();
        let text = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"caf\u{e9}\"},\"finish_reason\":\"stop\"}]}\r\n\r\ndata: [DONE]\r\n\r\n";
        let (a, b) = text.as_bytes().split_at(text.find('\u{e9}').unwrap() + 1);
        let mut got = d.push(a).unwrap();
        got.extend(d.push(b).unwrap());
        assert_eq!(got, [StreamEvent::Text("caf\u{e9}".into()), StreamEvent::Finished(FinishReason::Stop)]);
        assert!(d.end().unwrap().is_empty());
    }

    #[test]
    fn errors_cut_streams_and_garbage_are_named() {
        let mut d = StreamDecoder::new();
        let cut = &STREAM[..STREAM.find("\"finish_reason\":\"tool_calls\"").unwrap()];
        d.push(cut.as_bytes()).unwrap();
        assert_eq!(d.end(), Err(StreamError::Cut), "no [DONE]: cut off");
        let mut d = StreamDecoder::new();
        let e = d.push(b"data: {\"error\":{\"message\":\"Rate limit reached for gpt-4o: your prompt was ...\",\"type\":\"requests\",\"code\":\"rate_limit_exceeded\"}}\n\n");
        assert_eq!(e, Err(StreamError::Provider("rate_limit_exceeded".into())), "the code, never the message");
        assert!(d.push(b"data: [DONE]\n\n").unwrap().is_empty(), "nothing after a failure");
        let mut d = StreamDecoder::new();
        assert_eq!(d.push(b"data: not json\n\n"), Err(StreamError::Malformed));
        let mut d = StreamDecoder::new();
        assert_eq!(d.push(&vec![b'x'; MAX_EVENT_BYTES + 1]), Err(StreamError::TooLong));
    }
}
