//! Transfers in phases: a blind transfer is asked for once the agent has said so, and the
//! agent leaves when it completes; a warm transfer briefs and bridges once the person answers
//! (the agent is out: the caller's audio goes to the person, not to the recognizer), and takes
//! a message when no one answers.

mod common;

use common::Sim;
use parley_agent::spec::{AgentSpec, TransferMode};
use parley_call::{Event, Output};

fn agent(mode: TransferMode) -> AgentSpec {
    let mut spec = AgentSpec::demo();
    spec.transfer_to = "sip:desk@shop.example".into();
    spec.transfer_mode = mode;
    spec
}

fn ask_for_a_person(sim: &mut Sim) {
    assert!(sim.caller_says("I would like to speak to a person."));
}

#[test]
fn a_blind_transfer_follows_the_agents_words_and_the_agent_leaves_when_it_is_done() {
    let mut sim = Sim::new(agent(TransferMode::Blind));
    ask_for_a_person(&mut sim);
    sim.tick(false);
    assert!(!sim.asked(|o| matches!(o, Output::Transfer(_))), "not while the agent is still talking");
    sim.until_quiet(30_000);
    assert!(sim.asked(|o| matches!(o, Output::Transfer(t) if t == "sip:desk@shop.example")));
    let now = sim.now;
    sim.p.handle_event(now, Event::TransferProgress(202));
    sim.drain();
    assert!(!sim.asked(|o| matches!(o, Output::Hangup)), "202 Accepted: still in progress");
    sim.p.handle_event(now, Event::TransferProgress(200));
    sim.p.handle_event(now, Event::TransferProgress(200));
    sim.drain();
    assert_eq!(sim.outputs.iter().filter(|o| matches!(o, Output::Hangup)).count(), 1);
}

#[test]
fn a_warm_transfer_bridges_the_caller_once_the_person_answers() {
    let mut sim = Sim::new(agent(TransferMode::Warm));
    ask_for_a_person(&mut sim);
    sim.until_quiet(30_000);
    let briefing = sim.outputs.iter().find_map(|o| if let Output::WarmTransfer { target, briefing } = o { Some((target.clone(), briefing.clone())) } else { None });
    let (target, briefing) = briefing.expect("a warm transfer");
    assert_eq!(target, "sip:desk@shop.example");
    assert!(!briefing.is_empty());
    let now = sim.now;
    sim.p.handle_event(now, Event::ConsultAnswered);
    let turns = sim.recognize_requests().len();
    let frames = sim.frames_out.len();
    sim.run(1000, true);
    sim.run(1000, false);
    let bridged = sim.outputs.iter().filter(|o| matches!(o, Output::Bridge { from_caller: Some(_), .. })).count();
    assert!(bridged >= 90, "the caller's frames go to the person ({bridged})");
    assert_eq!(sim.frames_out.len(), frames, "the agent sends nothing");
    assert_eq!(sim.recognize_requests().len(), turns, "nothing goes to the recognizer");
    sim.p.handle_event(sim.now, Event::ConsultEnded);
    sim.drain();
    assert!(sim.asked(|o| matches!(o, Output::Hangup)), "the person hung up: the call is over");
}

#[test]
fn no_answer_means_the_agent_takes_a_message() {
    let mut sim = Sim::new(agent(TransferMode::Warm));
    ask_for_a_person(&mut sim);
    sim.until_quiet(30_000);
    assert!(sim.asked(|o| matches!(o, Output::WarmTransfer { .. })));
    let said = sim.said().len();
    sim.p.handle_event(sim.now, Event::ConsultEnded);
    sim.drain();
    sim.until_quiet(30_000);
    assert!(sim.said().len() > said, "the agent speaks again");
    assert!(!sim.asked(|o| matches!(o, Output::Hangup)));
}
