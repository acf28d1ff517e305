//! With early text at the caller's first pause, the agent's answer is synthesized while the
//! pause may still be the end of the turn: when it is, the answer starts the moment the turn is
//! taken, without a second synthesis; when the caller goes on, the prepared answer is stopped
//! and never heard. In simulated time, with a voice that takes 100 ms to answer.

mod common;

use common::Sim;
use parley_agent::spec::AgentSpec;
use parley_call::Output;

// No question mark: the pause, not the words, ends this turn (600 ms).
const HOURS: &str = "I would like to know your opening hours";

/// Runs `ms` of silence, answering syntheses 100 ms after they are asked for.
fn run_with_slow_voice(sim: &mut Sim, ms: u64) {
    let mut asked: Vec<(u64, u64)> = Vec::new();
    for step in 0..ms / 20 {
        sim.tick(false);
        for (id, _) in std::mem::take(&mut sim.waiting) {
            asked.push((id, step));
        }
        let due: Vec<u64> = asked.iter().filter(|(_, at)| step >= at + 5).map(|(id, _)| *id).collect();
        asked.retain(|(_, at)| step < at + 5);
        for id in due {
            sim.p.handle_synthesized(id, common::speech().repeat(40).into());
            sim.p.handle_synthesis_done(id);
        }
    }
}

fn first_reply_latency(sim: &Sim) -> parley_call::TurnLatency {
    sim.outputs.iter().find_map(|o| if let Output::Turn(t) = o { Some(*t) } else { None }).expect("a reply was timed")
}

/// The caller asks, pauses; the early text comes 140 ms into the pause.
fn ask(sim: &mut Sim) {
    sim.synthesize_at_once = true;
    sim.until_quiet(30_000);
    sim.synthesize_at_once = false;
    sim.run(1000, true);
    sim.run(300, false);
    assert!(!sim.recognized(HOURS), "early text waits for the end of the turn");
}

#[test]
fn the_answer_starts_when_the_turn_is_taken() {
    let mut sim = Sim::preparing(AgentSpec::demo());
    ask(&mut sim);
    let prepared = sim.waiting.clone();
    assert_eq!(prepared.len(), 1, "the answer is synthesized during the pause");
    assert!(prepared[0].1.contains("Monday to Friday"), "{prepared:?}");
    assert!(!sim.asked(|o| matches!(o, Output::TurnTaken)), "before the turn is taken");
    run_with_slow_voice(&mut sim, 1000);
    assert!(sim.asked(|o| matches!(o, Output::TurnTaken)));
    let t = first_reply_latency(&sim);
    assert!(t.tts_ms <= 20, "the prepared audio plays at once: {t:?}");
    assert_eq!(sim.said().iter().filter(|s| s.contains("Monday to Friday")).count(), 1, "synthesized once");
    assert!(!sim.asked(|o| matches!(o, Output::CancelSynthesis(_))));
}

#[test]
fn without_preparing_the_voice_time_is_added() {
    let mut sim = Sim::new(AgentSpec::demo());
    ask(&mut sim);
    assert!(sim.waiting.is_empty(), "nothing is synthesized before the turn is taken");
    run_with_slow_voice(&mut sim, 1000);
    let t = first_reply_latency(&sim);
    assert!(t.tts_ms >= 100, "the answer waits for its synthesis: {t:?}");
}

#[test]
fn a_prepared_answer_is_dropped_when_the_caller_goes_on() {
    let mut sim = Sim::preparing(AgentSpec::demo());
    ask(&mut sim);
    let (id, _) = sim.waiting[0].clone();
    sim.run(600, true);
    assert!(sim.asked(|o| matches!(o, Output::CancelSynthesis(i) if *i == id)), "the prepared synthesis is stopped");
    let before = sim.frames_out.len();
    sim.p.handle_synthesized(id, common::speech().repeat(40).into());
    sim.p.handle_synthesis_done(id);
    sim.run(800, false);
    assert!(sim.frames_out[before..].iter().all(|f| !f.0), "and never heard");
    assert!(sim.recognized("What are your opening hours on Saturday, and do you take cards?"));
    sim.synthesize_at_once = true;
    sim.run(200, false);
    assert!(sim.frames_out.iter().rev().take(5).any(|f| f.0), "the answer to the whole turn plays");
}

#[test]
fn an_answer_that_needs_a_lookup_in_the_sample_data_is_prepared_too() {
    let mut sim = Sim::preparing(AgentSpec::demo());
    sim.until_quiet(60_000);
    sim.run(800, true);
    sim.run(300, false);
    sim.recognized("Where is order 1004?");
    assert!(sim.said().iter().any(|s| s.contains("for Dana Smith")), "prepared before the turn is taken: {:?}", sim.said());
    let prepared = sim.said().len();
    sim.run(1000, false);
    sim.until_quiet(20_000);
    assert_eq!(sim.said().len(), prepared, "the prepared answer is the one played");
}
