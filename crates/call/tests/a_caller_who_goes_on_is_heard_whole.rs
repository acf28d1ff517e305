//! The agent took a turn while the caller was only pausing mid-sentence, and the caller went on
//! at once: the agent stops, the turn is taken back, and the whole sentence is answered as one
//! turn (the model gets one message, a flow one turn). Speech that starts after the reply has
//! been heard a while, or after the turn's answer did something (a tool call), is a turn of
//! its own.

mod common;

use common::Sim;
use parley_agent::spec::AgentSpec;
use parley_call::Output;

fn taken(sim: &Sim) -> usize {
    sim.outputs.iter().filter(|o| matches!(o, Output::TurnTaken)).count()
}

/// The caller says `text` and pauses until the agent takes the turn (a closed sentence: 600 ms).
fn said_and_taken(sim: &mut Sim, text: &str) {
    let before = taken(sim);
    sim.pause_with(1000, text);
    while taken(sim) == before {
        sim.tick(false);
    }
}

/// The caller's next `speech_ms` of speech starts after `gap_ms` and is heard as `text`.
fn goes_on(sim: &mut Sim, gap_ms: u64, speech_ms: u64, text: &str) {
    sim.run(gap_ms, false);
    sim.run(speech_ms, true);
    sim.run(800, false);
    sim.recognized(text);
}

/// The user messages of the last completion asked for.
fn last_user_messages(sim: &Sim) -> Vec<String> {
    let last = sim.outputs.iter().rev().find_map(|o| if let Output::Complete(r) = o { Some(r.clone()) } else { None }).expect("a completion");
    last.messages.iter().filter(|m| m["role"] == "user").map(|m| m["content"].as_str().unwrap_or_default().to_string()).collect()
}

#[test]
fn the_model_is_asked_once_about_the_whole_sentence() {
    let mut sim = Sim::new(common::llm_agent());
    said_and_taken(&mut sim, "I'd like to check my order.");
    assert_eq!(last_user_messages(&sim), ["I'd like to check my order."]);
    goes_on(&mut sim, 40, 700, "The one from Tuesday.");
    assert!(sim.asked(|o| matches!(o, Output::CancelCompletion(1))), "the answer to half the sentence is stopped");
    assert_eq!(last_user_messages(&sim), ["I'd like to check my order. The one from Tuesday."], "one message, not two");
    let ids: Vec<u64> = sim.outputs.iter().filter_map(|o| if let Output::Complete(r) = o { Some(r.id) } else { None }).filter(|id| *id != parley_agent::conversation::WARM_UP).collect();
    assert_eq!(ids, [1, 2], "the new completion has an id of its own");
    let said_before = sim.said().len();
    sim.p.handle_completion(sim.now, 1, common::model_text("Sure, which order? "));
    sim.drain();
    assert_eq!(sim.said().len(), said_before, "a late part of the stopped answer is not spoken");
}

#[test]
fn a_flow_hears_one_turn_and_the_cut_reply_stops() {
    let mut sim = Sim::with(AgentSpec::demo(), false);
    said_and_taken(&mut sim, "I have a question.");
    // Its first syllables are out when the caller goes on.
    sim.run(100, false);
    assert!(sim.frames_out.iter().rev().take(3).all(|f| f.0), "the reply is playing");
    let first_reply = sim.said().last().cloned().expect("the agent answered the half sentence");
    goes_on(&mut sim, 0, 700, "What are your opening hours?");
    assert!(sim.asked(|o| matches!(o, Output::TurnTakenBack)));
    assert!(sim.asked(|o| matches!(o, Output::ClearAudio)), "what the far end holds of the cut reply is dropped");
    sim.until_quiet(20_000);
    let said = sim.said();
    assert!(said.last().is_some_and(|s| s.contains("open")), "the hours are answered: {said:?}");
    let finished = sim.p.finish(sim.now);
    assert_eq!(finished.conversation.turns, 1, "one turn, not a misunderstood one and another");
    assert_eq!(finished.conversation.total_retries, 0);
    let lines = common::turns(&finished.transcript);
    let callers: Vec<&str> = lines.iter().filter(|l| l.0 == "caller").map(|l| l.1.as_str()).collect();
    assert_eq!(callers, ["I have a question.", "What are your opening hours?"], "the transcript keeps what was said as it was said");
    let agent: Vec<(&str, bool)> = lines.iter().filter(|l| l.0 == "agent").map(|l| l.1.as_str()).zip(common::agent_interrupted(&finished.transcript)).collect();
    assert!(agent.iter().any(|(line, cut)| *cut && line.contains(first_reply.as_str())), "the cut reply is marked cut off: {agent:?}");
}

#[test]
fn speech_after_the_reply_was_heard_a_while_is_a_turn_of_its_own() {
    let mut sim = Sim::with(AgentSpec::demo(), false);
    said_and_taken(&mut sim, "I have a question.");
    goes_on(&mut sim, 800, 700, "What are your opening hours?");
    sim.until_quiet(20_000);
    let finished = sim.p.finish(sim.now);
    assert_eq!(finished.conversation.turns, 2);
}

#[test]
fn a_turn_whose_answer_ran_a_tool_is_not_taken_back() {
    let mut sim = Sim::with(AgentSpec::demo(), false);
    sim.hold_tools = true;
    said_and_taken(&mut sim, "Where is my order 1004?");
    assert!(sim.asked(|o| matches!(o, Output::RunTool(_))), "the lookup is under way");
    goes_on(&mut sim, 40, 700, "What are your opening hours?");
    sim.run_tools();
    sim.until_quiet(20_000);
    let finished = sim.p.finish(sim.now);
    assert_eq!(finished.conversation.turns, 2, "the lookup's turn stands");
}

#[test]
fn speech_long_after_the_turn_is_a_turn_of_its_own_even_before_the_answer() {
    let mut sim = Sim::new(common::llm_agent());
    said_and_taken(&mut sim, "I'd like to check my order.");
    // The model has not answered 2 s later, when the caller speaks again.
    goes_on(&mut sim, 2000, 700, "Hello?");
    assert_eq!(last_user_messages(&sim), ["I'd like to check my order.", "Hello?"]);
}

#[test]
fn an_agent_that_finishes_every_line_is_not_stopped() {
    let mut agent = AgentSpec::demo();
    agent.turn_taking = parley_agent::spec::TurnTaking { barge_in: false, ..Default::default() };
    let mut sim = Sim::with(agent, false);
    said_and_taken(&mut sim, "I have a question.");
    goes_on(&mut sim, 40, 700, "What are your opening hours?");
    assert!(!sim.asked(|o| matches!(o, Output::TurnTakenBack | Output::ClearAudio)));
    sim.until_quiet(20_000);
    assert_eq!(sim.p.finish(sim.now).conversation.turns, 2);
}

#[test]
fn the_answer_to_the_whole_turn_is_prepared_during_the_pause() {
    let mut sim = Sim::preparing(common::llm_agent());
    said_and_taken(&mut sim, "I'd like to check my order.");
    let sent_before = sim.outputs.iter().filter(|o| matches!(o, Output::Complete(r) if r.max_tokens > 0)).count();
    // The caller goes on at once, and pauses: the early text is known during the pause.
    sim.run(40, false);
    sim.run(700, true);
    sim.run(300, false);
    assert!(!sim.recognized("The one from Tuesday."), "early text waits for the end of the turn");
    let asked: Vec<_> = sim.outputs.iter().filter_map(|o| if let Output::Complete(r) = o { Some(r.clone()) } else { None }).filter(|r| r.max_tokens > 0).collect();
    assert_eq!(asked.len(), sent_before + 1, "the model is asked during the pause");
    let ahead = asked.last().unwrap();
    assert!(ahead.id & parley_call::ahead::AHEAD != 0);
    let users: Vec<&str> = ahead.messages.iter().filter(|m| m["role"] == "user").filter_map(|m| m["content"].as_str()).collect();
    assert_eq!(users, ["I'd like to check my order. The one from Tuesday."], "about the whole turn");
    sim.run(400, false);
    assert!(sim.asked(|o| matches!(o, Output::TurnTakenBack)));
    let sent_after = sim.outputs.iter().filter(|o| matches!(o, Output::Complete(r) if r.max_tokens > 0)).count();
    assert_eq!(sent_after, sent_before + 1, "the answer asked during the pause is adopted, not asked again");
}
