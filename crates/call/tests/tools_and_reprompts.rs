//! A tool runs while the call goes on: the agent's audio keeps its pace, a slow tool gets a
//! filler, and the answer follows the result. A question nobody answers is asked again once
//! it has been heard and the wait is over, not while the caller is talking.

mod common;

use common::Sim;
use parley_agent::spec::AgentSpec;
use parley_call::Output;

#[test]
fn a_slow_tool_gets_a_filler_and_the_audio_keeps_its_pace() {
    let mut sim = Sim::new(AgentSpec::demo());
    sim.hold_tools = true;
    assert!(sim.caller_says("Where is order 1004?"));
    assert!(sim.asked(|o| matches!(o, Output::RunTool(c) if c.operation == "sample_orders.find_order")));
    let frames = sim.frames_out.len();
    sim.run(600, false);
    assert_eq!(sim.frames_out.len() - frames, 30, "a frame every 20 ms while the tool runs");
    assert!(!sim.said().iter().any(|s| s.contains("One moment")), "no filler for a quick tool");
    sim.run(200, false);
    assert!(sim.said().iter().any(|s| s == "One moment, let me check."), "{:?}", sim.said());
    sim.run_tools();
    sim.until_quiet(20_000);
    assert!(sim.said().last().is_some_and(|s| s.contains("for Dana Smith")), "{:?}", sim.said());

    // The call's timeline: the turn, then the tool with its time and outcome word (no data).
    let tool = sim.outputs.iter().find_map(|o| match o { Output::RunTool(c) => Some(c.tool.clone()), _ => None }).unwrap();
    let finished = sim.p.finish(sim.now);
    let [turn] = finished.latencies[..] else { panic!("{:?}", finished.latencies) };
    let [ref timing] = finished.tools[..] else { panic!("{:?}", finished.tools) };
    assert_eq!((timing.tool.as_str(), timing.outcome.as_str()), (tool.as_str(), "found"));
    assert_eq!(timing.ms, 800, "held for 600 + 200 ms of simulated time");
    assert!(turn.at_ms > 0 && turn.at_ms <= timing.at_ms, "the caller stopped speaking, then the tool ran: {turn:?} {timing:?}");
    // The first audio was the filler, said 700 ms into the tool; the answer came after the
    // tool's result (100 ms later) and the filler's 250 ms of audio.
    assert_eq!(turn.agent_ms, 700, "{turn:?}");
    let answer = turn.answer_ms.expect("the answer was played");
    assert!(answer >= turn.total_ms + 240, "the answer's own first audio, after the filler's: {turn:?}");
}

#[test]
fn a_quick_answer_is_the_first_audio_and_an_unplayed_one_has_no_answer_time() {
    let mut sim = Sim::new(AgentSpec::demo());
    assert!(sim.caller_says("Where is order 1004?"));
    sim.until_quiet(20_000);
    let finished = sim.p.finish(sim.now);
    let [turn] = finished.latencies[..] else { panic!("{:?}", finished.latencies) };
    assert_eq!(turn.answer_ms, Some(turn.total_ms), "no filler: the first audio is the answer");

    // The caller hangs up during the filler: the first audio's timings, no answer time.
    let mut sim = Sim::new(AgentSpec::demo());
    sim.hold_tools = true;
    assert!(sim.caller_says("Where is order 1004?"));
    sim.run(800, false);
    assert!(sim.said().iter().any(|s| s == "One moment, let me check."), "{:?}", sim.said());
    let finished = sim.p.finish(sim.now);
    let [turn] = finished.latencies[..] else { panic!("{:?}", finished.latencies) };
    assert_eq!((turn.agent_ms, turn.answer_ms), (700, None), "{turn:?}");
}

#[test]
fn an_unanswered_question_is_asked_again_after_it_was_heard() {
    let mut sim = Sim::new(AgentSpec::demo());
    assert!(sim.caller_says("I'd like to check on my order"));
    sim.until_quiet(20_000);
    assert!(sim.said().last().is_some_and(|s| s.contains("what is the last name on the order?")), "the order on the caller's number: {:?}", sim.said());
    let asked = sim.said().len();
    sim.run(6_000, false);
    assert_eq!(sim.said().len(), asked, "the wait starts when the question has been played");
    // The caller talks at the moment the wait would end: no reprompt over them.
    sim.run(1_000, true);
    assert_eq!(sim.said().len(), asked);
    sim.run(800, false);
    sim.recognized("");
    sim.run(400, false);
    let again = sim.said();
    assert!(again.len() == asked + 1 && again[asked].starts_with("Are you still there?"), "{again:?}");
}
