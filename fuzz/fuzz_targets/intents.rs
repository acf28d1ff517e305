//! Any text as what a caller said: the demo agent's intents and number reading never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use parley_agent::intent::{extract_number, IntentSet};
use parley_agent::spec::AgentSpec;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let spec = AgentSpec::demo();
    let intents = IntentSet::new(&spec.intents);
    let all: Vec<&str> = intents.names().collect();
    let _ = intents.classify(text, &all);
    let _ = extract_number(text);
    let _ = parley_agent::turn::shape(text, true, |n| n == 1004);
});
