//! Any text as a constrained JSON reply, streamed in pieces cut anywhere: the decoder never
//! panics, and the text it streams for `say` is exactly the JSON string's value.
#![no_main]
use libfuzzer_sys::fuzz_target;
use parley_agent::llm::json_reply::ReplyDecoder;
use parley_agent::llm::stream::{FinishReason, StreamEvent};

fuzz_target!(|data: &[u8]| {
    let Some((&cut, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let mut d = ReplyDecoder::new();
    let mut streamed = String::new();
    let mut at = 0;
    let step = usize::from(cut % 16) + 1;
    while at < text.len() {
        let mut end = (at + step).min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        for e in d.push(&text[at..end]) {
            if let StreamEvent::Text(t) = e {
                streamed.push_str(&t);
            }
        }
        at = end;
    }
    if let Ok(events) = d.finish(FinishReason::Stop) {
        let reply: Option<serde_json::Value> = serde_json::from_str(text.trim()).ok();
        if let Some(said) = reply.as_ref().filter(|r| r["name"] == "say" && r.as_object().is_some_and(|o| o.len() == 2)).and_then(|r| r["arguments"]["text"].as_str()) {
            if r#"{"name":"#.len() <= text.len() && text.trim_start().starts_with(r#"{"name""#) && text.matches("\"text\"").count() == 1 && text.matches("\"name\"").count() == 1 {
                assert_eq!(streamed, said, "{text:?}");
            }
        }
        assert!(events.iter().all(|e| !matches!(e, StreamEvent::Text(_))));
    }
});
