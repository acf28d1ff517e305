//! Where the words do not decide the end of a turn (a sentence closed with a full stop, or
//! unpunctuated), the driver's end-of-turn model may: a sentence that sounds finished ends
//! after a short pause (360 ms, a little longer than a finished answer's 300) instead of 600; one that does not
//! waits the usual pause. Sentences the words decide are not asked about (and a judgement
//! would not overrule them: a sentence cut off still waits long), nothing is asked for an agent
//! that turned the model off
//! (`turn_taking.end_of_turn_model: false`), and a judgement
//! that comes after the caller went on changes nothing.

mod common;

use common::Sim;
use parley_agent::spec::{AgentSpec, TurnTaking};
use parley_call::Output;

fn taken(sim: &Sim) -> usize {
    sim.outputs.iter().filter(|o| matches!(o, Output::TurnTaken)).count()
}

fn eot_ms(sim: &Sim) -> Option<u64> {
    sim.outputs.iter().find_map(|o| if let Output::Turn(t) = o { Some(t.eot_ms) } else { None })
}

/// The turns the pipeline asked to judge, with the length of the audio it sent.
fn judged(sim: &Sim) -> Vec<(u64, usize)> {
    sim.outputs.iter().filter_map(|o| if let Output::JudgeTurn { turn, audio } = o { Some((*turn, audio.len())) } else { None }).collect()
}

fn judge(sim: &mut Sim, turn: u64, probability: f32) {
    let now = sim.now;
    sim.p.handle_turn_judged(now, turn, probability);
    sim.drain();
}

#[test]
fn a_closed_sentence_that_sounds_finished_ends_after_the_short_pause() {
    let mut sim = Sim::judging(AgentSpec::demo());
    let turn = sim.pause_with(1000, "I'd like to check my order.");
    let asked = judged(&sim);
    assert_eq!(asked.len(), 1, "once, when its words came: {asked:?}");
    assert_eq!(asked[0].0, turn);
    assert!(asked[0].1 >= 1000 * 8, "the utterance so far goes with the question: {} samples", asked[0].1);
    sim.run(40, false);
    judge(&mut sim, turn, 0.93);
    sim.run(100, false);
    assert_eq!(taken(&sim), 1);
    sim.run(100, false);
    assert!(eot_ms(&sim).is_some_and(|ms| (360..=400).contains(&ms)), "{:?}", eot_ms(&sim));
}

#[test]
fn a_closed_sentence_that_does_not_sound_finished_waits_the_usual_pause() {
    let mut sim = Sim::judging(AgentSpec::demo());
    let turn = sim.pause_with(1000, "The person at extension.");
    sim.run(40, false);
    judge(&mut sim, turn, 0.2);
    sim.run(260, false);
    assert_eq!(taken(&sim), 0, "not at the short pause");
    sim.run(100, false);
    assert_eq!(taken(&sim), 1);
    sim.run(100, false);
    assert!(eot_ms(&sim).is_some_and(|ms| (600..=640).contains(&ms)), "{:?}", eot_ms(&sim));
}

#[test]
fn an_unpunctuated_sentence_may_end_early_by_its_sound() {
    let mut sim = Sim::judging(AgentSpec::demo());
    let turn = sim.pause_with(1000, "I'd like to check my order");
    assert_eq!(judged(&sim).len(), 1);
    judge(&mut sim, turn, 0.8);
    sim.run(200, false);
    assert_eq!(taken(&sim), 1);
}

#[test]
fn sentences_the_words_decide_are_not_judged() {
    for text in ["Yes.", "What are your opening hours?", "My order number is", "I want to pay for", "It's order one zero zero four."] {
        let mut sim = Sim::judging(AgentSpec::demo());
        sim.pause_with(800, text);
        assert!(judged(&sim).is_empty(), "{text}");
    }
}

#[test]
fn words_that_decide_are_not_overruled_by_the_sound() {
    for text in ["My order number is", "I want to pay for"] {
        let mut sim = Sim::judging(AgentSpec::demo());
        let turn = sim.pause_with(800, text);
        judge(&mut sim, turn, 0.99);
        sim.run(700, false);
        assert_eq!(taken(&sim), 0, "{text}: still the long pause of a sentence cut off");
    }
}

#[test]
fn a_judgement_after_the_caller_went_on_changes_nothing() {
    let mut sim = Sim::judging(AgentSpec::demo());
    let turn = sim.pause_with(1000, "You entered.");
    assert_eq!(judged(&sim).len(), 1);
    sim.run(100, true);
    assert!(sim.outputs.iter().any(|o| matches!(o, Output::CancelRecognition(t) if *t == turn)), "the question is withdrawn with the recognition");
    judge(&mut sim, turn, 0.99);
    // The caller's next pause: its own recognition and question; the old answer, late again,
    // is not about it.
    let next = sim.next_recognize_request();
    assert_ne!(next, turn);
    let now = sim.now;
    sim.p.handle_recognized(now, next, "You entered 551.");
    judge(&mut sim, turn, 0.99);
    assert_eq!(judged(&sim).last().map(|j| j.0), Some(next));
    sim.run(300, false);
    assert_eq!(taken(&sim), 0, "the stale judgement did not shorten the pause");
    sim.run(120, false);
    assert_eq!(taken(&sim), 1, "the closed sentence's usual pause");
}

#[test]
fn an_agent_may_leave_the_end_of_turn_to_the_pause() {
    let mut agent = AgentSpec::demo();
    agent.turn_taking = TurnTaking { end_of_turn_model: false, ..TurnTaking::default() };
    let mut sim = Sim::judging(agent);
    sim.pause_with(1000, "I'd like to check my order.");
    assert!(judged(&sim).is_empty());
}

#[test]
fn without_a_model_nothing_is_judged() {
    let mut sim = Sim::new(AgentSpec::demo());
    sim.pause_with(1000, "I'd like to check my order.");
    assert!(judged(&sim).is_empty());
    sim.run(300, false);
    assert_eq!(taken(&sim), 0, "the closed sentence's usual pause");
}

#[test]
fn a_sentence_judged_by_its_sound_never_ends_sooner_than_one_its_words_decide() {
    // An agent that waits longer after a finished answer waits as long after a judged sentence.
    let mut agent = AgentSpec::demo();
    agent.turn_taking = TurnTaking { finished_ms: Some(500), ..TurnTaking::default() };
    let mut sim = Sim::judging(agent);
    let turn = sim.pause_with(1000, "I'd like to check my order.");
    judge(&mut sim, turn, 0.95);
    // The early recognition started at a 240 ms pause: now 440 ms into it.
    sim.run(200, false);
    assert_eq!(taken(&sim), 0, "not at the server's 360 ms");
    sim.run(200, false);
    assert!(eot_ms(&sim).is_some_and(|ms| (500..=540).contains(&ms)), "{:?}", eot_ms(&sim));
}
