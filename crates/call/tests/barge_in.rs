//! The caller talking over the agent stops it within 200 ms, drops what was queued, stops a
//! synthesis still running, clears the far end's buffer, and the transcript shows the reply cut
//! short; a cough does not stop it, nor does anything its last words before it hangs up.

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
    assert!(sim.frames_out[before + stopped..].iter().all(|f| !f.0), "what was queued is dropped");
    let finished = sim.p.finish(sim.now);
    let turns = common::turns(&finished.transcript);
    let greeting = turns.iter().find(|t| t.0 == "agent").expect("the greeting is in the transcript");
    assert!(greeting.3 <= 1200, "the greeting ends where it was cut: {greeting:?}");
    assert_eq!(common::agent_interrupted(&finished.transcript), [true], "and is marked as cut off");
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
    assert!(sim.asked(|o| matches!(o, Output::CancelSynthesis(i) if *i == id)));
    let before = sim.frames_out.len();
    sim.p.handle_synthesized(id, common::speech().repeat(20).into());
    sim.run(200, false);
    assert!(sim.frames_out[before..].iter().all(|f| !f.0), "late audio of the dropped text is not played");
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
