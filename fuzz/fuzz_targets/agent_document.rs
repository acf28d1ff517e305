//! Any text as an agent document (what `parley agent check` and the API read): no panic; a
//! document that checks runs a conversation over the rest of the input without panicking or
//! looping (every input returns).
#![no_main]
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use parley_agent::conversation::{CallContext, Conversation, Input};
use parley_agent::spec::AgentSpec;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (doc, said) = text.split_once("\n---\n").unwrap_or((text, "yes\n1004\nbye"));
    let Ok(spec) = AgentSpec::from_yaml(doc) else { return };
    let now = Instant::now();
    let mut c = Conversation::new(spec, CallContext { caller: "+15550100004".into(), answered: now, answered_unix_ms: 1_796_000_000_000 });
    c.start(now);
    for (i, line) in said.lines().take(50).enumerate() {
        let at = now + Duration::from_secs(i as u64);
        let input = match line.strip_prefix('#') {
            Some(keys) => keys.chars().next().map(Input::Key).unwrap_or(Input::PromptPlayed),
            None => Input::Said(line.to_string()),
        };
        c.handle(at, input);
        c.handle_timeout(at + Duration::from_secs(10));
    }
    let _ = c.summary();
});
