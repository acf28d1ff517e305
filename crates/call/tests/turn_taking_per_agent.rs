//! An agent's own turn-taking settings (`turn_taking` in its definition) replace the server's:
//! a longer end-of-turn pause, no barge-in (the agent finishes every line), continuers that
//! stop the agent too. In simulated time.

mod common;

use common::Sim;
use parley_agent::spec::{AgentSpec, TurnTaking};
use parley_call::Output;

fn agent(t: TurnTaking) -> AgentSpec {
    AgentSpec { turn_taking: t, ..AgentSpec::demo() }
}

fn taken(sim: &Sim) -> usize {
    sim.outputs.iter().filter(|o| matches!(o, Output::TurnTaken)).count()
}

#[test]
fn an_agent_may_wait_longer_for_the_end_of_a_turn() {
    let mut sim = Sim::new(agent(TurnTaking { end_of_turn_ms: Some(1000), ..TurnTaking::default() }));
    sim.until_quiet(30_000);
    sim.run(1000, true);
    sim.run(300, false);
    // Words that neither finish nor cut off the turn leave the pause to decide.
    assert!(!sim.recognized("I was wondering about the order I placed"));
    sim.run(500, false);
    assert_eq!(taken(&sim), 0, "the server's 600 ms are not this agent's pause");
    sim.run(300, false);
    assert_eq!(taken(&sim), 1, "its 1000 ms are");
}

#[test]
fn an_agent_that_may_not_be_talked_over_finishes_its_line() {
    let mut sim = Sim::new(agent(TurnTaking { barge_in: false, ..TurnTaking::default() }));
    sim.run(1000, false);
    let before = sim.frames_out.len();
    sim.run(400, true);
    assert!(sim.frames_out[before..].iter().all(|f| f.0), "the greeting goes on while the caller talks");
    assert!(!sim.asked(|o| matches!(o, Output::ClearAudio)));
    sim.until_quiet(30_000);
    let finished = sim.p.finish(sim.now);
    assert_eq!(common::agent_interrupted(&finished.transcript), [false], "said in full");
}

#[test]
fn an_agent_may_stop_for_continuers_too() {
    let mut sim = Sim::new(agent(TurnTaking { continuers_interrupt: true, ..TurnTaking::default() }));
    sim.run(1000, false);
    sim.run(300, true);
    sim.run(800, false);
    sim.recognized("Uh-huh.");
    sim.run(500, false);
    let finished = sim.p.finish(sim.now);
    assert!(common::agent_interrupted(&finished.transcript)[0], "the greeting stopped at the continuer");
}
