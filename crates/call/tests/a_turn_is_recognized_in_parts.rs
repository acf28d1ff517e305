//! A turn recognized in parts: when the caller goes on after a long enough pause, the early
//! text up to it is kept, and only the audio after it goes to the recognizer next, with the
//! words before as its prompt; the agent gets the parts' words as one turn. A shorter pause, or
//! a part whose text has not come by the next pause, means the whole utterance is recognized.

mod common;

use common::Sim;
use parley_agent::spec::AgentSpec;
use parley_call::Output;

/// Each recognition asked for: its turn, audio length (samples) and prompt.
fn requests(sim: &Sim) -> Vec<(u64, usize, Option<String>)> {
    sim.outputs.iter().filter_map(|o| if let Output::Recognize { turn, audio, hint, .. } = o { Some((*turn, audio.len(), hint.clone())) } else { None }).collect()
}

fn cancelled(sim: &Sim, turn: u64) -> bool {
    sim.asked(|o| matches!(o, Output::CancelRecognition(t) if *t == turn))
}

/// After the greeting the caller speaks for `speech_ms` and pauses `pause_ms` (early
/// recognition starts 240 ms into it). Returns the early turn.
fn speaks_and_pauses(sim: &mut Sim, speech_ms: u64, pause_ms: u64) -> u64 {
    sim.until_quiet(30_000);
    sim.run(speech_ms, true);
    sim.run(pause_ms, false);
    requests(sim).last().expect("an early recognition").0
}

#[test]
fn after_a_long_pause_only_what_follows_is_recognized_and_the_agent_hears_both_parts() {
    let mut sim = Sim::in_parts(AgentSpec::demo(), 300);
    let first = speaks_and_pauses(&mut sim, 1000, 400);
    let now = sim.now;
    assert!(!sim.p.handle_recognized(now, first, "I want to check my order."), "the turn may go on");
    sim.run(700, true);
    assert!(!cancelled(&sim, first), "the first part's text is kept");
    sim.run(800, false);
    let asked = requests(&sim);
    assert_eq!(asked.len(), 2, "{asked:?}");
    let (whole_first, (second, tail, prompt)) = (asked[0].1, asked[1].clone());
    // The second part: the rest of the first pause, 700 ms of speech, the pause up to early recognition.
    assert!(tail < whole_first && tail >= 700 * 8 && tail <= (160 + 700 + 240 + 20) * 8, "only the audio after the first part: {tail} samples after {whole_first}");
    assert_eq!(prompt.as_deref(), Some("I want to check my order."), "the words before are the recognizer's prompt");
    let now = sim.now;
    sim.p.handle_recognized(now, second, "It's 1004.");
    sim.drain();
    sim.run(200, false);
    assert!(sim.said().iter().any(|s| s.contains("desk lamp")), "the agent read the order number: {:?}", sim.said());
    assert_eq!(common::caller_lines(sim), ["I want to check my order. It's 1004."], "one turn, both parts");
}

#[test]
fn a_part_whose_text_comes_after_the_caller_went_on_is_kept_too() {
    let mut sim = Sim::in_parts(AgentSpec::demo(), 300);
    let first = speaks_and_pauses(&mut sim, 1000, 400);
    sim.run(300, true);
    let now = sim.now;
    assert!(!sim.p.handle_recognized(now, first, "I want to check my order."));
    sim.run(400, true);
    sim.run(800, false);
    let asked = requests(&sim);
    assert_eq!(asked[1].2.as_deref(), Some("I want to check my order."));
    let now = sim.now;
    sim.p.handle_recognized(now, asked[1].0, "1004");
    sim.drain();
    assert_eq!(common::caller_lines(sim), ["I want to check my order. 1004"]);
}

#[test]
fn parts_chain_and_the_prompt_carries_the_agents_hint_first() {
    let mut sim = Sim::in_parts(AgentSpec::demo(), 300);
    // The demo asks for the order number when the caller wants an order checked.
    assert!(sim.caller_says("I want to check my order."));
    let first = speaks_and_pauses(&mut sim, 600, 400);
    // What the agent listens for now (the first part has the whole audio: the hint alone).
    let hint = requests(&sim).last().and_then(|r| r.2.clone());
    let now = sim.now;
    sim.p.handle_recognized(now, first, "It is");
    sim.run(500, true);
    sim.run(400, false);
    let second = requests(&sim).last().unwrap().clone();
    let now = sim.now;
    sim.p.handle_recognized(now, second.0, "one zero");
    sim.run(500, true);
    sim.run(800, false);
    let third = requests(&sim).last().unwrap().clone();
    let expected = |before: &str| match &hint {
        Some(h) => format!("{h} {before}"),
        None => before.to_string(),
    };
    assert_eq!(second.2, Some(expected("It is")));
    assert_eq!(third.2, Some(expected("It is one zero")));
    let now = sim.now;
    sim.p.handle_recognized(now, third.0, "zero four.");
    sim.run(100, false);
    assert_eq!(common::caller_lines(sim).last().map(String::as_str), Some("It is one zero zero four."));
}

#[test]
fn a_shorter_pause_keeps_nothing_and_the_whole_utterance_is_recognized() {
    let mut sim = Sim::in_parts(AgentSpec::demo(), 400);
    let first = speaks_and_pauses(&mut sim, 1000, 300);
    let now = sim.now;
    sim.p.handle_recognized(now, first, "I want to");
    sim.run(700, true);
    assert!(cancelled(&sim, first), "a pause under 400 ms may be inside a word");
    sim.run(800, false);
    let asked = requests(&sim);
    assert!(asked[1].1 > asked[0].1, "the whole utterance again: {asked:?}");
    assert_eq!(asked[1].2, None);
    let now = sim.now;
    sim.p.handle_recognized(now, asked[1].0, "I want to check my order 1004");
    sim.run(100, false);
    assert_eq!(common::caller_lines(sim), ["I want to check my order 1004"]);
}

#[test]
fn a_part_still_being_recognized_at_the_next_pause_gives_way_to_the_whole() {
    let mut sim = Sim::in_parts(AgentSpec::demo(), 300);
    let first = speaks_and_pauses(&mut sim, 1000, 400);
    sim.run(700, true);
    sim.run(300, false);
    assert!(cancelled(&sim, first), "its decode is no longer wanted");
    let asked = requests(&sim);
    assert!(asked[1].1 > asked[0].1 && asked[1].2.is_none(), "the whole utterance, no prompt: {asked:?}");
    // Its late text changes nothing.
    let now = sim.now;
    sim.p.handle_recognized(now, first, "I want to check my order.");
    sim.run(500, false);
    let now = sim.now;
    sim.p.handle_recognized(now, asked[1].0, "I want to check my order 1004");
    sim.drain();
    assert_eq!(common::caller_lines(sim), ["I want to check my order 1004"]);
}

#[test]
fn when_the_last_part_cannot_be_recognized_the_agent_gets_the_words_before_it() {
    let mut sim = Sim::in_parts(AgentSpec::demo(), 300);
    let first = speaks_and_pauses(&mut sim, 1000, 400);
    let now = sim.now;
    sim.p.handle_recognized(now, first, "What are your opening hours?");
    sim.run(300, true);
    sim.run(1000, false);
    let last = requests(&sim).last().unwrap().0;
    let now = sim.now;
    sim.p.handle_recognition_failed(now, last);
    sim.drain();
    sim.run(200, false);
    assert!(sim.said().iter().any(|s| s.contains("Monday to Friday")), "{:?}", sim.said());
}
