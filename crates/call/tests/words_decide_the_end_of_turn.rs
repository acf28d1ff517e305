//! While the caller pauses, the words recognized so far decide how long a pause ends the turn:
//! a finished answer ("yes", a whole order number) 300 ms instead of 600, a sentence that
//! sounds cut off ("my order number is") 1200 ms, and it is still answered if the caller says
//! no more. A sentence the recognizer closed with a full stop has a pause of
//! its own (`closed_silence`).

mod common;

use common::Sim;
use parley_agent::spec::AgentSpec;
use parley_call::Output;
use parley_speech::vad::EndpointerConfig;
use std::time::Duration;

fn taken(sim: &Sim) -> usize {
    sim.outputs.iter().filter(|o| matches!(o, Output::TurnTaken)).count()
}

fn latency(sim: &Sim) -> Option<parley_call::TurnLatency> {
    sim.outputs.iter().find_map(|o| if let Output::Turn(t) = o { Some(*t) } else { None })
}

#[test]
fn a_short_answer_ends_the_turn_after_a_shorter_pause() {
    let mut sim = Sim::new(AgentSpec::demo());
    sim.pause_with(600, "Yes.");
    sim.run(200, false);
    assert_eq!(taken(&sim), 1);
    let t = latency(&sim).expect("a reply");
    assert!((300..=340).contains(&t.eot_ms), "{t:?}");
    let turns = sim.recognize_requests().len();
    sim.run(2000, false);
    assert_eq!((taken(&sim), sim.recognize_requests().len()), (1, turns), "and only once");
}

#[test]
fn a_caller_who_goes_on_after_yes_gets_the_usual_pause_again() {
    let mut sim = Sim::new(AgentSpec::demo());
    // "Yes." heard 240 ms into a pause the caller then breaks at 280 ms.
    sim.pause_with(600, "Yes.");
    sim.run(40, false);
    sim.run(1000, true);
    sim.run(500, false);
    // The words so far leave it open: the pause of 'yes' (300 ms) no longer holds.
    assert!(!sim.recognized("Yes, and I'd like to check my order"), "500 ms of silence is not the end yet");
    sim.run(200, false);
    assert_eq!(taken(&sim), 1);
    assert!(latency(&sim).is_some_and(|t| (600..=640).contains(&t.eot_ms)), "{:?}", latency(&sim));
}

#[test]
fn a_whole_order_number_ends_the_turn_after_a_shorter_pause() {
    let mut sim = Sim::new(AgentSpec::demo());
    sim.pause_with(1200, "Where is order one zero zero four?");
    sim.run(200, false);
    assert_eq!(taken(&sim), 1);
    assert!(latency(&sim).is_some_and(|t| t.eot_ms < 360), "{:?}", latency(&sim));
    sim.run(200, false);
    assert!(sim.said().iter().any(|s| s.contains("desk lamp")), "{:?}", sim.said());
}

#[test]
fn an_open_sentence_waits_for_the_usual_pause() {
    let mut sim = Sim::new(AgentSpec::demo());
    sim.pause_with(1000, "I'd like to check my order");
    sim.run(300, false);
    assert_eq!(taken(&sim), 0);
    sim.run(300, false);
    assert!(latency(&sim).is_some_and(|t| (600..=640).contains(&t.eot_ms)), "{:?}", latency(&sim));
}

#[test]
fn a_sentence_cut_off_waits_for_the_rest() {
    let mut sim = Sim::new(AgentSpec::demo());
    sim.pause_with(800, "My order number is");
    sim.run(700, false);
    assert_eq!(taken(&sim), 0, "a 940 ms pause does not end a sentence that sounds cut off");
    sim.run(600, true);
    let before = sim.recognize_requests().len();
    while sim.recognize_requests().len() == before {
        sim.tick(false);
    }
    let now = sim.now;
    let turn = *sim.recognize_requests().last().unwrap();
    sim.p.handle_recognized(now, turn, "My order number is 1004");
    sim.drain();
    sim.run(200, false);
    assert_eq!(taken(&sim), 1, "the whole sentence, after the shorter pause");
    assert!(sim.said().iter().any(|s| s.contains("desk lamp")), "{:?}", sim.said());
    assert_eq!(common::caller_lines(sim), ["My order number is 1004"]);
}

#[test]
fn a_sentence_cut_off_is_still_answered_when_the_caller_says_no_more() {
    let mut sim = Sim::new(AgentSpec::demo());
    sim.pause_with(800, "My order number is");
    sim.run(1200, false);
    assert_eq!(taken(&sim), 1, "after the longer pause the turn ends");
    sim.run(200, false);
    let t = latency(&sim).expect("a reply");
    assert!((1200..=1260).contains(&t.eot_ms), "{t:?}");
}

#[test]
fn a_sentence_the_recognizer_closed_waits_its_own_pause() {
    let tuning = EndpointerConfig { end_silence: Duration::from_millis(900), closed_silence: Duration::from_millis(450), ..Default::default() };
    let mut sim = Sim::tuned(AgentSpec::demo(), false, tuning.clone());
    // The text comes 240 ms into the pause.
    sim.pause_with(1000, "I'd like to check my order.");
    sim.run(180, false);
    assert_eq!(taken(&sim), 0, "not before the closed sentence's pause");
    sim.run(60, false);
    assert_eq!(taken(&sim), 1);
    sim.run(100, false);
    assert!(latency(&sim).is_some_and(|t| (450..=480).contains(&t.eot_ms)), "{:?}", latency(&sim));

    let mut sim = Sim::tuned(AgentSpec::demo(), false, tuning);
    sim.pause_with(1000, "I'd like to check my order");
    sim.run(600, false);
    assert_eq!(taken(&sim), 0, "without the full stop: the usual pause");
    sim.run(200, false);
    assert!(latency(&sim).is_some_and(|t| (900..=940).contains(&t.eot_ms)), "{:?}", latency(&sim));
}

/// The caller says something for 800 ms and pauses; the early recognition's text comes only
/// after the usual pause has ended the turn (a busy recognizer), and it is `text`. Whether it
/// went to the agent at once.
fn late_text(sim: &mut Sim, text: &str) -> bool {
    sim.until_quiet(60_000);
    sim.run(800, true);
    let turn = sim.next_recognize_request();
    sim.run(500, false);
    assert_eq!(taken(sim), 0, "the turn has ended, its words are not known yet");
    let now = sim.now;
    let delivered = sim.p.handle_recognized(now, turn, text);
    sim.drain();
    delivered
}

#[test]
fn a_late_text_that_sounds_cut_off_waits_for_the_rest() {
    let mut sim = Sim::new(AgentSpec::demo());
    assert!(!late_text(&mut sim, "My order number is"), "words that sound cut off do not go to the agent yet");
    sim.run(200, false);
    assert_eq!(taken(&sim), 0, "a pause of about a second does not end it");
    sim.run(600, true);
    let turn = sim.next_recognize_request();
    let now = sim.now;
    sim.p.handle_recognized(now, turn, "1004");
    sim.drain();
    sim.run(300, false);
    assert_eq!(taken(&sim), 1, "the rest ends the turn, once");
    assert!(sim.said().iter().any(|s| s.contains("desk lamp")), "{:?}", sim.said());
    assert_eq!(common::caller_lines(sim), ["My order number is 1004"], "one turn in the transcript");
}

#[test]
fn a_late_text_that_sounds_cut_off_is_answered_if_the_caller_says_no_more() {
    let mut sim = Sim::new(AgentSpec::demo());
    assert!(!late_text(&mut sim, "My order number is"), "words that sound cut off do not go to the agent yet");
    sim.run(300, false);
    assert_eq!(taken(&sim), 0);
    sim.run(200, false);
    assert_eq!(taken(&sim), 1, "after the longer pause the turn goes to the agent as it is");
    sim.run(200, false);
    let t = latency(&sim).expect("a reply");
    assert!((1200..=1260).contains(&t.eot_ms), "{t:?}");
}

#[test]
fn a_late_text_that_sounds_finished_goes_to_the_agent_at_once() {
    let mut sim = Sim::new(AgentSpec::demo());
    assert!(late_text(&mut sim, "What are your opening hours?"));
}
