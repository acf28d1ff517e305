//! Any text as a flow template and as a `route` condition: no panic, and what parses renders.
#![no_main]
use libfuzzer_sys::fuzz_target;
use parley_agent::vars::{condition_name, template_names, Vars};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut v = Vars::new("usd");
    v.set("order", serde_json::json!({"number": 1004, "status": "shipped", "items": ["a", "b"], "balance_cents": 4990}));
    v.set("said", serde_json::json!(text));
    let _ = template_names(text);
    let _ = v.render(text);
    let _ = v.value_of(text);
    let _ = condition_name(text);
    let _ = v.holds(text);
});
