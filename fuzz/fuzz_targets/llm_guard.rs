//! Any text as what a model writes, what a tool returns and what a caller says: the guard that
//! checks the model's sentences never panics, and a sentence made only of what a tool returned
//! is never refused for a figure.
#![no_main]
use libfuzzer_sys::fuzz_target;
use parley_agent::llm::guard::{Grounding, Ungrounded};
use parley_agent::llm::sentences::Sentences;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut g = Grounding::new();
    g.caller_said(text);
    g.instructions(text);
    let mut cut = Sentences::new();
    for s in cut.push(text).into_iter().chain(cut.finish()) {
        let _ = g.check(&s);
    }
    g.tool_result(&serde_json::json!({"detail": text}));
    assert!(!matches!(g.check(text), Err(Ungrounded::Figure(_))), "a tool's own text is grounded: {text:?}");
});
