//! The caller's turn ends after a pause. Recognition starts at the first short pause, and its
//! text reaches the agent only once the pause turns out to be the end of the turn; when the
//! caller goes on, that early text is dropped and the whole utterance is recognized. Noise
//! bursts are not turns; the reply's latency is measured from the end of the caller's speech.

mod common;

use common::Sim;
use parley_agent::spec::AgentSpec;
use parley_call::Output;

/// After the greeting the caller speaks for a second and pauses 300 ms: the early turn.
fn paused_after_speaking() -> (Sim, u64) {
    let mut sim = Sim::new(AgentSpec::demo());
    sim.until_quiet(30_000);
    sim.run(1000, true);
    sim.run(300, false);
    let early = sim.recognize_requests()[0];
    (sim, early)
}

fn taken(sim: &Sim) -> usize {
    sim.outputs.iter().filter(|o| matches!(o, Output::TurnTaken)).count()
}

#[test]
fn recognition_starts_at_the_pause_and_the_turn_is_taken_once_it_ends() {
    let mut sim = Sim::new(AgentSpec::demo());
    sim.until_quiet(30_000);
    sim.run(1000, true);
    sim.run(300, false);
    assert_eq!(sim.recognize_requests().len(), 1, "recognition starts 240 ms into the pause");
    assert!(!sim.recognized("What are your opening hours?"), "the text waits: the turn may go on");
    assert_eq!(taken(&sim), 0);
    assert!(!sim.said().iter().any(|s| s.contains("Monday")));
    sim.run(400, false);
    assert_eq!(taken(&sim), 1, "the pause was the end of the turn: the text goes to the agent");
    assert_eq!(sim.recognize_requests().len(), 1, "without recognizing it again");
    sim.run(200, false);
    assert!(sim.said().iter().any(|s| s.contains("Monday to Friday")));
    sim.run(2000, false);
    assert_eq!(sim.recognize_requests().len(), 1, "silence after the turn is no new turn");
}

#[test]
fn early_text_is_dropped_when_the_caller_goes_on() {
    let (mut sim, early) = paused_after_speaking();
    let now = sim.now;
    assert!(!sim.p.handle_recognized(now, early, "I want to check my order"));
    sim.run(600, true);
    sim.run(800, false);
    let turns = sim.recognize_requests();
    assert!(turns.len() >= 2, "the whole utterance goes to the recognizer again: {turns:?}");
    let audio: Vec<usize> = sim.outputs.iter().filter_map(|o| if let Output::Recognize { audio, .. } = o { Some(audio.len()) } else { None }).collect();
    assert!(audio.last().unwrap() > &audio[0], "with what came after the pause: {audio:?}");
    assert_eq!(taken(&sim), 0, "the early text never reached the agent");
    assert!(sim.recognized("I want to check my order 1004"));
    sim.run(200, false);
    assert!(sim.said().iter().any(|s| s.contains("desk lamp")), "{:?}", sim.said());
    assert_eq!(common::caller_lines(sim), ["I want to check my order 1004"]);
}

#[test]
fn a_short_burst_of_noise_is_not_a_turn() {
    let mut sim = Sim::new(AgentSpec::demo());
    sim.until_quiet(30_000);
    sim.run(100, true);
    sim.run(2000, false);
    assert!(sim.recognize_requests().is_empty());
}

/// Speech, then a pause; the recognizer answers `text` `asr_ms` after it was asked. The turn's
/// timings.
fn timed(asr_ms: u64, text: &str) -> parley_call::TurnLatency {
    let mut sim = Sim::new(AgentSpec::demo());
    sim.until_quiet(30_000);
    sim.run(1000, true);
    while sim.recognize_requests().is_empty() {
        sim.tick(false);
    }
    // The tick that asked already moved the clock 20 ms.
    sim.run(asr_ms - 20, false);
    let turn = sim.recognize_requests()[0];
    let now = sim.now;
    sim.p.handle_recognized(now, turn, text);
    sim.drain();
    sim.run(1000, false);
    sim.outputs.iter().find_map(|o| if let Output::Turn(t) = o { Some(*t) } else { None }).expect("the turn's timings")
}

#[test]
fn a_recognizer_faster_than_the_pause_costs_no_wait() {
    // Nothing in these words says the turn is over: the full 600 ms pause decides.
    let t = timed(200, "I'd like to check my order");
    assert!((600..=640).contains(&t.eot_ms), "{t:?}");
    assert_eq!(t.asr_ms, 0, "the text was ready when the turn ended: {t:?}");
    assert!(t.total_ms <= t.eot_ms + 40, "voice to voice is the pause and a frame: {t:?}");
}

#[test]
fn a_finished_request_ends_the_turn_when_its_text_arrives() {
    // Asked 240 ms into the pause, answered 200 ms later: a whole answer ends the turn then.
    let t = timed(200, "No thanks, that's all.");
    assert!((440..=480).contains(&t.eot_ms), "{t:?}");
    assert_eq!(t.asr_ms, 0, "{t:?}");
    // What the end of turn waited for, in the turn's own record.
    assert!((240..=260).contains(&t.asked_ms), "asked at the early pause: {t:?}");
    assert!((440..=480).contains(&t.heard_ms) && t.heard_ms <= t.eot_ms, "heard, then taken: {t:?}");
}

#[test]
fn a_slow_recognizer_is_waited_for_from_the_end_of_the_turn() {
    let t = timed(800, "Where is my order?");
    assert!((600..=640).contains(&t.eot_ms), "{t:?}");
    // Asked 240 ms into the pause, answered 800 ms later: 1040 ms after the end of speech.
    assert!((400..=460).contains(&t.asr_ms), "{t:?}");
    assert!((1040..=1100).contains(&t.heard_ms), "{t:?}");
    assert!((1040..=1100).contains(&t.total_ms), "{t:?}");
}

#[test]
fn a_turn_is_answered_once_and_unknown_turns_are_ignored() {
    let mut sim = Sim::new(AgentSpec::demo());
    sim.until_quiet(30_000);
    sim.run(1000, true);
    sim.run(800, false);
    let turn = sim.recognize_requests()[0];
    let now = sim.now;
    assert!(sim.p.handle_recognized(now, turn, "What are your opening hours?"));
    assert!(!sim.p.handle_recognized(now, turn, "What are your opening hours?"), "a turn is answered once");
    assert!(!sim.p.handle_recognized(now, 99, "hello"), "an unknown turn is ignored");
}

#[test]
fn an_early_decode_the_recognizer_declined_is_made_when_the_turn_ends() {
    let (mut sim, early) = paused_after_speaking();
    let now = sim.now;
    sim.p.handle_recognition_failed(now, early);
    sim.drain();
    sim.run(400, false);
    let turns = sim.recognize_requests();
    assert_eq!(turns.len(), 2, "the whole utterance goes to the recognizer when the turn ends: {turns:?}");
    assert!(sim.outputs.iter().any(|o| matches!(o, Output::Recognize { turn, urgency: parley_speech::Urgency::TurnEnded, .. } if *turn == turns[1])));
    assert!(sim.recognized("What are your opening hours?"));
    sim.run(200, false);
    assert!(sim.said().iter().any(|s| s.contains("Monday to Friday")), "{:?}", sim.said());
}
