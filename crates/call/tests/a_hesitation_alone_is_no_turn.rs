//! A caller who only hesitates ("Um.") and falls silent has said nothing yet: the agent neither
//! answers that it did not understand nor counts a retry; it waits as for silence, and asks
//! whether they are still there when the wait is over.

mod common;

use common::Sim;
use parley_agent::spec::AgentSpec;

#[test]
fn um_alone_gets_the_silence_reprompt_not_a_no_match() {
    let mut sim = Sim::new(AgentSpec::demo());
    sim.until_quiet(20_000);
    let greeted = sim.said().len();
    assert!(!sim.caller_says("Um."), "no turn is taken");
    sim.run(2_000, false);
    assert_eq!(sim.said().len(), greeted, "nothing said back: {:?}", sim.said());
    sim.run(6_000, false);
    let said = sim.said();
    assert!(said.len() == greeted + 1 && said[greeted].starts_with("Are you still there?"), "{said:?}");
    // What the caller then says is heard as usual.
    assert!(sim.caller_says("Where is order 1004?"));
    let finished = sim.p.finish(sim.now);
    let caller: Vec<String> = common::turns(&finished.transcript).into_iter().filter(|t| t.0 == "caller").map(|t| t.1).collect();
    assert_eq!(caller, ["Where is order 1004?"], "the hesitation is not in the transcript");
}
