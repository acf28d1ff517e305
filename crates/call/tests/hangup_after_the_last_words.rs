//! The agent hangs up only after its last words have been sent, once.

mod common;

use common::Sim;
use parley_agent::spec::AgentSpec;
use parley_call::Output;

#[test]
fn the_hangup_follows_the_last_frame_of_the_goodbye() {
    let mut sim = Sim::new(AgentSpec::demo());
    assert!(sim.caller_says("Goodbye."));
    let mut hangup_at = None;
    for _ in 0..1000 {
        sim.tick(false);
        if hangup_at.is_none() && sim.asked(|o| matches!(o, Output::Hangup)) {
            hangup_at = Some(sim.frames_out.len());
        }
    }
    let at = hangup_at.expect("the agent hangs up");
    let last_voiced = sim.frames_out.iter().rposition(|f| f.0).unwrap();
    assert!(last_voiced < at, "hung up at frame {at}, but frame {last_voiced} still had speech");
    assert!(at - last_voiced <= 2, "and right after it ({last_voiced} -> {at})");
    assert_eq!(sim.outputs.iter().filter(|o| matches!(o, Output::Hangup)).count(), 1, "once");
    assert!(sim.p.conversation_done());
}
