//! Replies as one JSON object, for small models: every answer is a function call,
//! `{"name": "say", "arguments": {"text": "..."}}` to speak or `{"name": "find_order",
//! "arguments": {...}}` to call a tool or take an exit, and the server constrains the output to
//! exactly that shape with a JSON Schema (`response_format: json_schema`, which llama.cpp's
//! server, vLLM and OpenAI turn into a grammar or structured output).
//!
//! Measured on Qwen2.5-Coder-0.5B (SPEECH.md, BENCHMARKS.md): asked with `tools`, it writes the
//! call as plain text without the chat template's `<tool_call>` tags, misspells function names
//! and runs on for its whole token budget; constrained this way, every reply is a valid call of
//! an offered function with arguments that fit its schema, and the answer ends with the object.
//!
//! [`constrain`] rewrites a completion request (the functions go into the system message and
//! the schema; right after a tool result the schema holds only `say`, so the model tells the
//! caller what came back instead of calling the same tool again). The system message is the
//! same on every request of a call, so the server's cache of the call's prompt holds: were the
//! functions left out of it after a tool result, the whole prompt would be read again (seconds on
//! two cores) just when the caller waits for the answer. [`ReplyDecoder`] reads the streamed
//! object back into the events a native tool-calling model would have produced: the text of
//! `say` as it is written (so the first sentence is spoken early), any other call whole at the
//! end.

use serde_json::Value;

use super::stream::{FinishReason, StreamError, StreamEvent};

/// The function that speaks.
pub const SAY: &str = "say";

/// How the reply format is explained to the model, after the functions.
const FORMAT: &str = "Each reply is one JSON object {\"name\": <function name>, \"arguments\": <arguments object>} that calls one of the functions above. To talk to the caller (to answer, ask or confirm), call say with what to say. Call another function only when the caller's words ask for what it does. After a function result, call say to tell the caller what it means for them.";

/// `messages` and `tools` (as the chat-completions API takes them) rewritten for a reply in
/// one JSON object: the messages with the functions described in the system message, and the
/// JSON Schema (as text, its keys in the order the reply must have them) of the reply.
pub fn constrain(messages: &[Value], tools: &[Value]) -> (Vec<Value>, String) {
    let after_tool = messages.last().and_then(|m| m.get("role")).and_then(Value::as_str) == Some("tool");
    let say = serde_json::json!({"name": SAY, "description": "Say something to the caller.", "parameters": {"type": "object", "properties": {"text": {"type": "string", "description": "What to say: one to three short spoken sentences"}}, "required": ["text"], "additionalProperties": false}});
    let mut functions = vec![say];
    functions.extend(tools.iter().filter_map(|t| t.get("function")).cloned());
    let listed: Vec<String> = functions.iter().map(|f| f.to_string()).collect();
    if after_tool {
        functions.truncate(1);
    }
    let mut messages: Vec<Value> = messages.iter().map(as_written).collect();
    let described = format!("\n\n# Functions\n{}\n\n{FORMAT}", listed.join("\n"));
    match messages.first_mut().filter(|m| m.get("role").and_then(Value::as_str) == Some("system")) {
        Some(system) => {
            let text = system.get("content").and_then(Value::as_str).unwrap_or_default().to_string();
            system["content"] = Value::String(text + &described);
        }
        None => messages.insert(0, serde_json::json!({"role": "system", "content": described.trim_start()})),
    }
    let alternatives: Vec<String> = functions
        .iter()
        .map(|f| {
            let name = f.get("name").cloned().unwrap_or(Value::Null);
            let parameters = f.get("parameters").cloned().unwrap_or_else(|| serde_json::json!({"type": "object"}));
            format!(r#"{{"type":"object","properties":{{"name":{{"const":{name}}},"arguments":{parameters}}},"required":["name","arguments"],"additionalProperties":false}}"#)
        })
        .collect();
    (messages, format!(r#"{{"oneOf":[{}]}}"#, alternatives.join(",")))
}

/// An assistant message of the conversation as the model wrote it: its words as a call of
/// `say` and its tool calls as calls, each one compact JSON object, so the history shows the
/// model the format it must keep to, and the model server finds its own reply in its cache
/// (rendered by the chat template as a tool call, the reply and all after it would be read
/// again). Other messages are left as they are.
fn as_written(message: &Value) -> Value {
    if message.get("role").and_then(Value::as_str) != Some("assistant") {
        return message.clone();
    }
    let mut replies = Vec::new();
    if let Some(text) = message.get("content").and_then(Value::as_str).filter(|t| !t.trim().is_empty()) {
        replies.push(format!(r#"{{"name":"{SAY}","arguments":{{"text":{}}}}}"#, Value::String(text.to_string())));
    }
    for call in message.get("tool_calls").and_then(Value::as_array).into_iter().flatten() {
        let name = call.pointer("/function/name").and_then(Value::as_str).unwrap_or_default();
        let arguments = call.pointer("/function/arguments").and_then(Value::as_str).and_then(|a| serde_json::from_str::<Value>(a).ok()).unwrap_or_else(|| serde_json::json!({}));
        replies.push(format!(r#"{{"name":{},"arguments":{arguments}}}"#, Value::String(name.to_string())));
    }
    serde_json::json!({"role": "assistant", "content": replies.join("\n")})
}

/// Where the decoder is in the reply.
#[derive(Debug, Default, Clone, PartialEq)]
enum Place {
    /// Before the function's name is known.
    #[default]
    Head,
    /// In `say`, before the text's opening quote.
    BeforeText,
    /// Inside the text (an escape cut at the chunk's end kept for the next).
    Text { escape: String },
    /// After the text, or in another function's call: kept whole for the end.
    Rest,
    /// Not JSON: the model wrote plain words (a server that ignored the schema).
    Plain,
}

/// See the module docs.
#[derive(Debug, Default, Clone)]
pub struct ReplyDecoder {
    raw: String,
    place: Place,
    /// Where in `raw` reading goes on.
    at: usize,
    name: Option<String>,
}

impl ReplyDecoder {
    /// A decoder for one reply.
    pub fn new() -> ReplyDecoder {
        ReplyDecoder::default()
    }

    /// More of the reply's text: the events it completed (the text of `say` as it comes).
    pub fn push(&mut self, text: &str) -> Vec<StreamEvent> {
        self.raw.push_str(text);
        let mut out = Vec::new();
        loop {
            let before = (self.at, self.place.clone());
            match &mut self.place {
                Place::Head => {
                    let rest = self.raw[self.at..].trim_start();
                    if !rest.is_empty() && !rest.starts_with('{') {
                        self.place = Place::Plain;
                        self.at = self.raw.len() - rest.len();
                    } else if let Some((name, end)) = string_after_key(&self.raw, "name") {
                        self.at = end;
                        self.place = if name == SAY { Place::BeforeText } else { Place::Rest };
                        self.name = Some(name);
                    }
                }
                Place::BeforeText => {
                    if let Some(start) = key_value_start(&self.raw[self.at..], "text") {
                        self.at += start;
                        self.place = Place::Text { escape: String::new() };
                    }
                }
                Place::Text { escape } => {
                    let mut said = String::new();
                    let mut pending = std::mem::take(escape);
                    let mut closed = false;
                    let mut chars = self.raw[self.at..].char_indices();
                    let mut used = self.raw.len() - self.at;
                    for (i, c) in chars.by_ref() {
                        if !pending.is_empty() {
                            pending.push(c);
                            match unescape(&pending) {
                                Escape::Done(text) => {
                                    said.push_str(&text);
                                    pending.clear();
                                }
                                Escape::More => {}
                                Escape::Bad => pending.clear(),
                            }
                        } else if c == '\\' {
                            pending.push(c);
                        } else if c == '"' {
                            closed = true;
                            used = i + 1;
                            break;
                        } else {
                            said.push(c);
                        }
                    }
                    self.at += used;
                    if !said.is_empty() {
                        out.push(StreamEvent::Text(said));
                    }
                    self.place = if closed { Place::Rest } else { Place::Text { escape: pending } };
                }
                Place::Plain => {
                    if self.at < self.raw.len() {
                        out.push(StreamEvent::Text(self.raw[self.at..].to_string()));
                    }
                    self.at = self.raw.len();
                }
                Place::Rest => {
                    self.at = self.raw.len();
                }
            }
            if (self.at, &self.place) == (before.0, &before.1) {
                break;
            }
        }
        out
    }

    /// The reply is complete: the call it made (other than `say`), and why it ended.
    pub fn finish(&mut self, reason: FinishReason) -> Result<Vec<StreamEvent>, StreamError> {
        // Plain words, or `say` cut off by the token limit: what was said is said.
        if self.place == Place::Plain || (matches!(self.place, Place::Text { .. }) && self.name.as_deref() == Some(SAY)) {
            return Ok(vec![StreamEvent::Finished(reason)]);
        }
        let reply: Value = serde_json::from_str(self.raw.trim()).map_err(|_| StreamError::Malformed)?;
        let name = reply.get("name").and_then(Value::as_str).ok_or(StreamError::Malformed)?;
        let arguments = reply.get("arguments").cloned().unwrap_or_else(|| serde_json::json!({}));
        if name == SAY {
            return Ok(vec![StreamEvent::Finished(reason)]);
        }
        Ok(vec![StreamEvent::ToolCall { id: "call_0".into(), name: name.to_string(), arguments: arguments.to_string() }, StreamEvent::Finished(FinishReason::ToolCalls)])
    }
}

/// The string value of `key` (its first occurrence) and where it ends, once it is complete.
fn string_after_key(raw: &str, key: &str) -> Option<(String, usize)> {
    let start = key_value_start(raw, key)?;
    let mut value = String::from("\"");
    let mut escaped = false;
    for (i, c) in raw[start..].char_indices() {
        value.push(c);
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '"' {
            return serde_json::from_str(&value).ok().map(|v| (v, start + i + 1));
        }
    }
    None
}

/// Where the string value of `"key":` starts (just after its opening quote).
fn key_value_start(raw: &str, key: &str) -> Option<usize> {
    let quoted = format!("\"{key}\"");
    let after_key = raw.find(&quoted)? + quoted.len();
    let rest = &raw[after_key..];
    let colon = rest.find(|c: char| !c.is_whitespace())?;
    if !rest[colon..].starts_with(':') {
        return None;
    }
    let after_colon = &rest[colon + 1..];
    let quote = after_colon.find(|c: char| !c.is_whitespace())?;
    after_colon[quote..].starts_with('"').then_some(after_key + colon + 1 + quote + 1)
}

enum Escape {
    Done(String),
    More,
    Bad,
}

/// A JSON string escape (`\n`, `\"`, `\u00e9`, a surrogate pair): complete, incomplete or bad.
fn unescape(escape: &str) -> Escape {
    let needed = match escape.as_bytes().get(1) {
        None => return Escape::More,
        Some(b'u') => {
            // A high surrogate needs its low half.
            let high = escape.get(2..6).and_then(|h| u16::from_str_radix(h, 16).ok());
            if high.is_some_and(|h| (0xD800..0xDC00).contains(&h)) { 12 } else { 6 }
        }
        Some(_) => 2,
    };
    if escape.len() < needed {
        return Escape::More;
    }
    match serde_json::from_str::<String>(&format!("\"{escape}\"")) {
        Ok(s) => Escape::Done(s),
        Err(_) => Escape::Bad,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tools() -> Vec<Value> {
        vec![
            json!({"type": "function", "function": {"name": "find_order", "description": "Finds an order.", "parameters": {"type": "object", "properties": {"number": {"type": "string"}}, "additionalProperties": false}}}),
            json!({"type": "function", "function": {"name": "done", "description": "Call when the caller is done.", "parameters": {"type": "object", "properties": {}, "additionalProperties": false}}}),
        ]
    }

    #[test]
    fn the_request_offers_say_and_the_functions_in_order() {
        let messages = vec![json!({"role": "system", "content": "You are Sam."}), json!({"role": "user", "content": "where is order 1004"})];
        let (out, schema) = constrain(&messages, &tools());
        let system = out[0]["content"].as_str().unwrap();
        assert!(system.starts_with("You are Sam.\n\n# Functions\n{\"description\":\"Say something to the caller.\""), "{system}");
        assert!(system.contains("\"name\":\"find_order\"") && system.contains("\"name\":\"done\""));
        assert_eq!(out[1], messages[1]);
        assert!(schema.starts_with(r#"{"oneOf":[{"type":"object","properties":{"name":{"const":"say"},"arguments":"#), "the name comes before the arguments: {schema}");
        let parsed: Value = serde_json::from_str(&schema).unwrap();
        assert_eq!(parsed["oneOf"].as_array().unwrap().len(), 3);
        assert_eq!(parsed["oneOf"][1]["properties"]["name"]["const"], "find_order");

        // Right after a tool result only `say` is allowed; the system message stays the same
        // (the model server's cache of the prompt holds).
        let mut after = messages.clone();
        after.push(json!({"role": "assistant", "content": null, "tool_calls": [{"id": "c", "type": "function", "function": {"name": "find_order", "arguments": "{}"}}]}));
        after.push(json!({"role": "tool", "tool_call_id": "c", "content": "{}"}));
        let (after_out, schema) = constrain(&after, &tools());
        let parsed: Value = serde_json::from_str(&schema).unwrap();
        assert_eq!(parsed["oneOf"].as_array().unwrap().len(), 1);
        assert_eq!(parsed["oneOf"][0]["properties"]["name"]["const"], "say");
        assert_eq!(after_out[0], out[0], "the same system message");
        // The model's earlier replies as it wrote them.
        assert_eq!(after_out[2], json!({"role": "assistant", "content": r#"{"name":"find_order","arguments":{}}"#}));
        assert_eq!(after_out[3], after[3], "a tool result as it is");
        let said = constrain(&[json!({"role": "assistant", "content": "Order \"1004\" shipped."}), json!({"role": "user", "content": "thanks"})], &tools()).0;
        assert_eq!(said[1]["content"], r#"{"name":"say","arguments":{"text":"Order \"1004\" shipped."}}"#);
        assert_eq!(said[2], json!({"role": "user", "content": "thanks"}));
    }

    /// `reply` streamed in pieces of `n` bytes (at char boundaries): the events.
    fn decode(reply: &str, n: usize) -> Vec<StreamEvent> {
        let mut d = ReplyDecoder::new();
        let mut out = Vec::new();
        let chars: Vec<char> = reply.chars().collect();
        for piece in chars.chunks(n) {
            out.extend(d.push(&piece.iter().collect::<String>()));
        }
        out.extend(d.finish(FinishReason::Stop).unwrap());
        out
    }

    fn text(events: &[StreamEvent]) -> String {
        events.iter().filter_map(|e| if let StreamEvent::Text(t) = e { Some(t.as_str()) } else { None }).collect()
    }

    #[test]
    fn say_streams_its_text_in_any_pieces() {
        let reply = r#"{"name": "say", "arguments": {"text": "Order 1004 is \"on its way\".\nIt arrives Monday \u00e9t\u00e9 \ud83d\ude00. Anything else?"}}"#;
        for n in 1..12 {
            let events = decode(reply, n);
            assert_eq!(text(&events), "Order 1004 is \"on its way\".\nIt arrives Monday été 😀. Anything else?", "pieces of {n}");
            assert_eq!(events.last(), Some(&StreamEvent::Finished(FinishReason::Stop)));
            assert!(!events.iter().any(|e| matches!(e, StreamEvent::ToolCall { .. })));
        }
        // The text comes before the reply ends.
        let mut d = ReplyDecoder::new();
        assert_eq!(d.push(r#"{"name":"say","arguments":{"text":"Hello. How"#), vec![StreamEvent::Text("Hello. How".into())]);
    }

    #[test]
    fn other_functions_are_tool_calls_at_the_end() {
        for n in [1, 3, 50] {
            let events = decode(r#"{"name": "find_order", "arguments": {"number": "1007"}}"#, n);
            assert_eq!(events, vec![StreamEvent::ToolCall { id: "call_0".into(), name: "find_order".into(), arguments: r#"{"number":"1007"}"#.into() }, StreamEvent::Finished(FinishReason::ToolCalls)]);
        }
        // A text argument named like say's is not spoken.
        let events = decode(r#"{"name": "note", "arguments": {"text": "call back"}}"#, 4);
        assert_eq!(text(&events), "");
    }

    #[test]
    fn plain_words_and_broken_replies() {
        assert_eq!(decode("Hello there.", 3), vec![StreamEvent::Text("Hel".into()), StreamEvent::Text("lo ".into()), StreamEvent::Text("the".into()), StreamEvent::Text("re.".into()), StreamEvent::Finished(FinishReason::Stop)]);
        let mut d = ReplyDecoder::new();
        d.push(r#"{"name": "find_order", "argum"#);
        assert_eq!(d.finish(FinishReason::Length), Err(StreamError::Malformed), "cut off");
        let mut d = ReplyDecoder::new();
        assert_eq!(d.push(r#"{"name": "say", "arguments": {"text": "It is on its way and"#), vec![StreamEvent::Text("It is on its way and".into())]);
        assert_eq!(d.finish(FinishReason::Length), Ok(vec![StreamEvent::Finished(FinishReason::Length)]), "words cut off by the limit were still said");
        let mut d = ReplyDecoder::new();
        d.push(r#"{"arguments": {}}"#);
        assert_eq!(d.finish(FinishReason::Stop), Err(StreamError::Malformed), "no name");
    }
}
