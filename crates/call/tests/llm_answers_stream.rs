//! An `llm` node on a call: the model's first sentence is synthesized while it is still writing
//! the rest, the turn's latency counts the model's time as the agent's, and the caller talking
//! over the answer cancels the completion still running.

mod common;

use common::{model_text as text, Sim};
use parley_agent::conversation::CompletionPart;
use parley_call::Output;

/// The completions asked for (not the warm-up, which only reads the prompt).
fn completions(sim: &Sim) -> Vec<u64> {
    sim.outputs.iter().filter_map(|o| if let Output::Complete(r) = o { Some(r.id) } else { None }).filter(|id| *id != parley_agent::conversation::WARM_UP).collect()
}

#[test]
fn the_first_sentence_is_spoken_while_the_model_writes_the_rest() {
    let mut sim = Sim::new(common::llm_agent());
    assert!(sim.caller_says("What can you do for me?"));
    assert!(sim.outputs.iter().any(|o| matches!(o, Output::Complete(r) if r.max_tokens == 0)), "the prompt was read into the model's cache while the caller spoke");
    assert_eq!(completions(&sim), [1], "the model is asked");
    assert!(!sim.said().iter().any(|s| s.contains("I can")));
    sim.run(300, false);
    sim.p.handle_completion(sim.now, 1, text("I can check your orders. I can also "));
    sim.run(20, false);
    assert_eq!(sim.said().last().map(String::as_str), Some("I can check your orders."), "synthesized before the answer is complete");
    sim.run(200, false);
    assert!(sim.frames_out.iter().rev().take(5).all(|f| f.0), "and already playing");
    sim.p.handle_completion(sim.now, 1, text("book a visit."));
    sim.p.handle_completion(sim.now, 1, CompletionPart::End);
    sim.until_quiet(10_000);
    assert_eq!(sim.said().last().map(String::as_str), Some("I can also book a visit."));
    let turn = sim.outputs.iter().find_map(|o| if let Output::Turn(t) = o { Some(*t) } else { None }).expect("the turn's latency");
    assert!((300..=340).contains(&turn.agent_ms), "the model's 300 ms are the agent's: {turn:?}");
}

#[test]
fn talking_over_the_answer_cancels_the_completion() {
    let mut sim = Sim::new(common::llm_agent());
    assert!(sim.caller_says("Tell me about your shop."));
    sim.p.handle_completion(sim.now, 1, text("We sell tents, boots and jackets for every season. We also "));
    sim.drain();
    sim.run(700, false);
    // The caller talks over the first sentence while the model is still writing (having heard
    // enough of it not to be going on with their own turn: see `a_caller_who_goes_on_is_heard_whole.rs`).
    sim.run(600, true);
    sim.run(800, false);
    assert!(sim.recognized("Sorry, do you sell bikes?"));
    assert!(sim.asked(|o| matches!(o, Output::CancelCompletion(1))), "the running completion is stopped");
    assert_eq!(completions(&sim), [1, 2], "and the model is asked about what the caller said");
    let last = sim.outputs.iter().rev().find_map(|o| if let Output::Complete(r) = o { Some(r.clone()) } else { None }).unwrap();
    let n = last.messages.len();
    assert_eq!(last.messages[n - 1]["content"], "Sorry, do you sell bikes?");
    let said_before = sim.said().len();
    sim.p.handle_completion(sim.now, 1, text("rent kayaks. "));
    sim.drain();
    assert_eq!(sim.said().len(), said_before, "late parts of the cancelled answer are not spoken");
}
