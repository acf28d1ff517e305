//! The caller talking over the agent silences it within 200 ms and clears the far end's buffer;
//! once their words are known, anything more than a continuer drops what was queued, stops a
//! synthesis still running, and the transcript shows the reply cut short, while "uh-huh",
//! "okay" or a sound that is no turn let the agent go on from where it fell silent. A cough does
//! not silence it, nor does anything its last words before it hangs up.

mod common;

use common::Sim;
use parley_agent::spec::AgentSpec;
use parley_call::Output;

#[test]
fn speaking_over_the_agent_stops_it_within_200_ms() {
    let mut sim = Sim::new(AgentSpec::demo());
    sim.run(1000, false);
    assert!(sim.frames_out.iter().rev().take(10).all(|f| f.0), "the greeting is playing");
    let before = sim.frames_out.len();
    sim.run(300, true);
    let after: Vec<bool> = sim.frames_out[before..].iter().map(|f| f.0).collect();
    let stopped = after.iter().position(|voiced| !voiced).expect("the agent stopped");
    assert!(stopped <= 10, "stopped after {stopped} frames: {after:?}");
    assert!(after[stopped..].iter().all(|v| !v), "and stays quiet");
    assert!(sim.asked(|o| matches!(o, Output::ClearAudio)), "the far end's buffer is cleared (Twilio clear)");
    sim.run(1000, false);
    assert!(sim.frames_out[before + stopped..].iter().all(|f| !f.0), "quiet while the caller's words are recognized");
    let replies = sim.said().len();
    assert!(sim.recognized("Sorry, can I ask something else?"), "the caller's words are a turn");
    sim.run(100, false);
    assert_eq!(sim.said().len(), replies + 1, "the agent answers them");
    let finished = sim.p.finish(sim.now);
    let turns = common::turns(&finished.transcript);
    let greeting = turns.iter().find(|t| t.0 == "agent").expect("the greeting is in the transcript");
    assert!(greeting.3 <= 1200, "the greeting ends where it was cut: {greeting:?}");
    assert!(common::agent_interrupted(&finished.transcript)[0], "and is marked as cut off");
}

#[test]
fn a_synthesis_still_running_is_stopped() {
    let mut sim = Sim::new(AgentSpec::demo());
    sim.synthesize_at_once = false;
    sim.run(40, false);
    let (id, _) = sim.waiting[0].clone();
    sim.p.handle_synthesized(id, common::speech().repeat(20).into());
    sim.run(200, false);
    sim.run(300, true);
    sim.run(800, false);
    assert!(!sim.asked(|o| matches!(o, Output::CancelSynthesis(_))), "held, not dropped, until the words are known");
    sim.recognized("Hold on, my order is late.");
    assert!(sim.asked(|o| matches!(o, Output::CancelSynthesis(i) if *i == id)));
    let before = sim.frames_out.len();
    sim.p.handle_synthesized(id, common::speech().repeat(20).into());
    sim.run(200, false);
    assert!(sim.frames_out[before..].iter().all(|f| !f.0), "late audio of the dropped text is not played");
}

/// The greeting is interrupted after a second by 300 ms of the caller, who then says `words`
/// (as the recognizer hears them); whether the greeting went on, and the transcript's marks.
fn talked_over_with(words: &str) -> (bool, Vec<bool>, usize) {
    let mut sim = Sim::new(AgentSpec::demo());
    sim.run(1000, false);
    sim.run(300, true);
    sim.run(800, false);
    let quiet = sim.frames_out.len();
    assert!(sim.frames_out.iter().rev().take(20).all(|f| !f.0), "held while the words are recognized");
    let took_turn = sim.recognized(words);
    assert!(!took_turn, "{words:?} is no turn for the agent");
    sim.run(200, false);
    let went_on = sim.frames_out[quiet..].iter().any(|f| f.0);
    sim.until_quiet(30_000);
    let finished = sim.p.finish(sim.now);
    let caller_lines = common::turns(&finished.transcript).iter().filter(|t| t.0 == "caller").count();
    (went_on, common::agent_interrupted(&finished.transcript), caller_lines)
}

#[test]
fn a_continuer_lets_the_agent_go_on() {
    for words in ["Uh-huh.", "Okay.", "Mm-hmm", ""] {
        let (went_on, interrupted, caller_lines) = talked_over_with(words);
        assert!(went_on, "{words:?}: the greeting goes on");
        assert_eq!(interrupted, [false], "{words:?}: and is said in full");
        assert_eq!(caller_lines, 0, "{words:?}: the continuer is not a turn");
    }
}

#[test]
fn a_sound_too_short_for_a_turn_lets_the_agent_go_on() {
    let mut sim = Sim::new(AgentSpec::demo());
    sim.run(1000, false);
    let before = sim.frames_out.len();
    sim.run(180, true);
    assert!(sim.frames_out[before..].iter().any(|f| !f.0), "long enough to silence the agent");
    sim.run(800, false);
    assert!(sim.recognize_requests().is_empty(), "too short for a turn");
    assert!(sim.frames_out.iter().rev().take(10).all(|f| f.0), "so the agent goes on");
}

#[test]
fn the_goodbye_before_hanging_up_is_not_interrupted() {
    let mut sim = Sim::new(AgentSpec::demo());
    assert!(sim.caller_says("No, that's all, thanks. Goodbye."));
    sim.run(200, false);
    let before = sim.frames_out.len();
    sim.run(300, true);
    assert!(sim.frames_out[before..].iter().all(|f| f.0), "the agent finishes its goodbye");
    assert!(!sim.asked(|o| matches!(o, Output::ClearAudio)));
}

#[test]
fn a_cough_does_not_stop_the_agent() {
    let mut sim = Sim::new(AgentSpec::demo());
    sim.run(1000, false);
    let before = sim.frames_out.len();
    sim.run(120, true);
    sim.run(200, false);
    assert!(sim.frames_out[before..].iter().all(|f| f.0), "the greeting goes on");
    sim.run(1000, false);
    assert!(!sim.asked(|o| matches!(o, Output::ClearAudio)));
    assert!(sim.recognize_requests().is_empty(), "and the cough is no turn");
    sim.until_quiet(30_000);
    let finished = sim.p.finish(sim.now);
    assert_eq!(common::agent_interrupted(&finished.transcript), [false], "the greeting was said in full");
}
