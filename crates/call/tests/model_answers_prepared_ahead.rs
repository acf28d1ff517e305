//! An `llm` node on a call whose model costs nothing to ask (the embedded one): the model is
//! asked for its answer at the caller's first pause, and the answer's first sentence is
//! synthesized while the pause may still be the end of the turn. When it is, the completion is
//! adopted, not asked again, and the answer starts as the turn is taken; when the caller goes
//! on, it is stopped and never heard. In simulated time.

mod common;

use common::{model_text as text, Sim};
use parley_agent::conversation::{CompletionPart, CompletionRequest, WARM_UP};
use parley_call::ahead::AHEAD;
use parley_call::Output;

// No question mark: the pause, not the words, ends this turn (600 ms).
const TENTS: &str = "Tell me about your tents";

/// Every answer the model was asked for (not the warm-up), in order.
fn completions(sim: &Sim) -> Vec<CompletionRequest> {
    sim.outputs.iter().filter_map(|o| if let Output::Complete(r) = o { Some(r.clone()) } else { None }).filter(|r| r.id != WARM_UP).collect()
}

fn last_user_words(r: &CompletionRequest) -> String {
    r.messages.iter().rev().find(|m| m["role"] == "user").and_then(|m| m["content"].as_str()).unwrap_or_default().to_string()
}

fn taken(sim: &Sim) -> bool {
    sim.asked(|o| matches!(o, Output::TurnTaken))
}

/// Once the agent is quiet, the caller speaks for a second and pauses; the early text `words`
/// comes 300 ms into the pause, while the pause may still end the turn.
fn speak_and_pause(sim: &mut Sim, words: &str) {
    sim.until_quiet(30_000);
    sim.run(1000, true);
    sim.run(300, false);
    assert!(!sim.recognized(words), "early text waits for the end of the turn");
}

/// [`speak_and_pause`]; returns the completion asked during the pause.
fn ask(sim: &mut Sim, words: &str) -> CompletionRequest {
    let before = completions(sim).len();
    speak_and_pause(sim, words);
    let asked = completions(sim);
    assert_eq!(asked.len(), before + 1, "the model is asked during the pause");
    asked[before].clone()
}

#[test]
fn the_answer_asked_during_the_pause_is_taken_with_the_turn() {
    let mut sim = Sim::preparing(common::llm_agent());
    let ahead = ask(&mut sim, TENTS);
    assert_eq!(last_user_words(&ahead), TENTS);
    assert_ne!(ahead.id & AHEAD, 0, "under an id of its own");
    sim.p.handle_completion(sim.now, ahead.id, text("We sell tents for every season. The "));
    sim.drain();
    assert_eq!(sim.said().last().map(String::as_str), Some("We sell tents for every season."), "its first sentence is synthesized during the pause");
    assert!(!taken(&sim));
    sim.run(600, false);
    assert!(taken(&sim), "the pause ended the turn");
    assert_eq!(completions(&sim), std::slice::from_ref(&ahead), "the answer asked ahead is the turn's: it is not asked again");
    sim.p.handle_completion(sim.now, ahead.id, text("lightest is the Ridge."));
    sim.p.handle_completion(sim.now, ahead.id, CompletionPart::End);
    sim.until_quiet(10_000);
    let said = sim.said();
    assert_eq!(said.iter().filter(|s| s.as_str() == "We sell tents for every season.").count(), 1, "synthesized once: {said:?}");
    assert_eq!(said.last().map(String::as_str), Some("The lightest is the Ridge."), "the parts after the turn go on the same answer");
    assert!(!sim.asked(|o| matches!(o, Output::CancelCompletion(_))));
    let turn = sim.outputs.iter().find_map(|o| if let Output::Turn(t) = o { Some(*t) } else { None }).expect("the turn's latency");
    assert!(turn.agent_ms <= 20 && turn.tts_ms <= 20, "the answer was ready when the turn was taken: {turn:?}");
}

#[test]
fn the_answer_asked_during_the_pause_is_stopped_when_the_caller_goes_on() {
    let mut sim = Sim::preparing(common::llm_agent());
    let first = ask(&mut sim, TENTS);
    sim.p.handle_completion(sim.now, first.id, text("We sell tents for every season. "));
    sim.drain();
    // The caller goes on after the pause.
    sim.run(600, true);
    assert!(sim.asked(|o| matches!(o, Output::CancelCompletion(id) if *id == first.id)), "the completion is stopped");
    sim.run(300, false);
    assert!(!sim.recognized("Tell me about your tents and your boots"));
    let asked = completions(&sim);
    assert_eq!(asked.len(), 2, "the model is asked again about the whole turn");
    let second = asked[1].clone();
    assert_ne!(second.id, first.id);
    assert_eq!(last_user_words(&second), "Tell me about your tents and your boots");
    assert!(!second.messages.iter().any(|m| m["content"] == TENTS), "the early words are not in the conversation");
    // A part of the stopped one that was already on its way.
    sim.p.handle_completion(sim.now, first.id, text("The lightest is the Ridge. "));
    sim.run(600, false);
    assert!(taken(&sim));
    sim.p.handle_completion(sim.now, second.id, text("We sell both."));
    sim.p.handle_completion(sim.now, second.id, CompletionPart::End);
    sim.until_quiet(10_000);
    assert!(!sim.said().iter().any(|s| s.contains("the Ridge")));
    let finished = sim.p.finish(sim.now);
    let agent: Vec<String> = common::turns(&finished.transcript).into_iter().filter(|t| t.0 == "agent").map(|t| t.1).collect();
    assert_eq!(agent, ["Hello.", "We sell both."], "nothing of the stopped answer is heard");
}

#[test]
fn talking_over_an_answer_asked_ahead_stops_it() {
    let mut sim = Sim::preparing(common::llm_agent());
    let ahead = ask(&mut sim, TENTS);
    sim.p.handle_completion(sim.now, ahead.id, text("We sell tents for every season, from the light Ridge for hikers to the roomy Lodge for families. "));
    sim.run(600, false);
    assert!(taken(&sim));
    sim.p.handle_completion(sim.now, ahead.id, text("The Ridge packs "));
    sim.run(400, false);
    // The caller talks over the answer while the model is still writing.
    sim.run(600, true);
    sim.run(800, false);
    assert!(sim.recognized("Sorry, what about boots?"));
    assert!(sim.asked(|o| matches!(o, Output::CancelCompletion(id) if *id == ahead.id)), "stopped under the id the driver knows");
    let last = completions(&sim).pop().unwrap();
    assert_eq!(last_user_words(&last), "Sorry, what about boots?");
}

#[test]
fn without_asking_ahead_the_model_waits_for_the_turn() {
    let mut sim = Sim::new(common::llm_agent());
    speak_and_pause(&mut sim, TENTS);
    assert!(completions(&sim).is_empty(), "nothing is asked during the pause");
    sim.run(600, false);
    assert!(taken(&sim));
    assert_eq!(completions(&sim).len(), 1);
}
