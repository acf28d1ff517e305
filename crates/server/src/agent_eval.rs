//! `parley agent eval AGENT CASES`: how often an agent's first `llm` node does what a caller's
//! words call for. Each case is one caller turn and what should follow: a function (a tool or
//! an exit, with arguments it must carry) or an answer in words. Each runs on a fresh call, so
//! cases do not lean on each other; the model is asked exactly as on a call.
//!
//! The cases file is tab-separated, one case per line, `#` starting a comment:
//! `where is order 1004<TAB>find_order number=1004`, `hi there<TAB>-` (words, no function).

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use parley_agent::conversation::{Action, CallContext, Conversation, Input};
use parley_agent::intent::IntentSet;
use parley_agent::llm::stream::StreamEvent;
use parley_connect::llm::ChatClient;

use crate::agent_cli::{load_agent, open_model, ChatModel};

/// What should follow a caller's turn.
#[derive(Debug, Clone, PartialEq)]
struct Expected {
    /// The function, or `None` for an answer in words.
    function: Option<String>,
    /// Arguments it must carry (compared as text, case and spaces aside).
    args: Vec<(String, String)>,
}

/// What the model did.
#[derive(Debug)]
enum Choice {
    Words(String),
    Function(String, serde_json::Value),
    Failed(String),
}

fn parse_cases(text: &str) -> anyhow::Result<Vec<(String, Expected)>> {
    let mut cases = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let (said, expected) = line.split_once('\t').with_context(|| format!("line {}: a case is `what the caller says<TAB>function or -`", n + 1))?;
        let mut words = expected.split_whitespace();
        let function = match words.next() {
            None => anyhow::bail!("line {}: no expected function (`-` for an answer in words)", n + 1),
            Some("-") => None,
            Some(f) => Some(f.to_string()),
        };
        let args = words.map(|w| w.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())).with_context(|| format!("line {}: arguments are name=value", n + 1))).collect::<anyhow::Result<_>>()?;
        cases.push((said.trim().to_string(), Expected { function, args }));
    }
    Ok(cases)
}

fn matches(expected: &Expected, choice: &Choice) -> bool {
    let norm = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    match (choice, &expected.function) {
        (Choice::Words(_), None) => true,
        (Choice::Function(name, args), Some(want)) if name == want => expected.args.iter().all(|(k, v)| {
            let got = match args.get(k) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => return false,
            };
            norm(&got) == norm(v)
        }),
        _ => false,
    }
}

/// `choice`, where it is an exit of `node` to a `say` node that comes back to it: words (the
/// flow answers and the conversation goes on, as `- ` cases want).
fn said_by_the_flow(agent: &parley_agent::spec::AgentSpec, node: &parley_agent::flow::LlmNode, choice: Choice) -> Choice {
    use parley_agent::flow::Node;
    let Choice::Function(name, _) = &choice else { return choice };
    let Some(exit) = node.exits.get(name) else { return choice };
    let back = agent.flow.iter().any(|n| matches!(n, Node::Say { id, next: Some(next), .. } if *id == exit.goto && *next == node.id));
    if back { Choice::Words(format!("(the flow: {}, then back)", exit.goto)) } else { choice }
}

/// What the agent does first after `said` on a fresh call.
fn first_choice(rt: &tokio::runtime::Runtime, model: &ChatClient, agent: &parley_agent::spec::AgentSpec, said: &str) -> (Choice, u128) {
    let Some(node) = agent.flow.iter().find_map(|n| match n {
        parley_agent::flow::Node::Llm(n) => Some(n),
        _ => None,
    }) else {
        return (Choice::Failed("the agent has no llm node".into()), 0);
    };
    let (choice, ms) = model_choice(rt, model, agent, node, said);
    (said_by_the_flow(agent, node, choice), ms)
}

/// The intent engine's or the model's first step.
fn model_choice(rt: &tokio::runtime::Runtime, model: &ChatClient, agent: &parley_agent::spec::AgentSpec, node: &parley_agent::flow::LlmNode, said: &str) -> (Choice, u128) {
    // The intent engine answers first where an exit names an intent, as on a call.
    if let Some((exit, _)) = node.exit_heard(&IntentSet::new(&agent.intents), said) {
        return (Choice::Function(exit.to_string(), serde_json::json!({"by": "the intent engine"})), 0);
    }
    let now = Instant::now();
    let mut convo = Conversation::new(agent.clone(), CallContext::now("+15550100004"));
    let _ = convo.start(now);
    let Some(request) = convo.handle(now, Input::Said(said.to_string())).into_iter().find_map(|a| match a {
        Action::Complete(r) => Some(r),
        _ => None,
    }) else {
        return (Choice::Failed("the caller's turn did not reach an llm node".into()), 0);
    };
    let started = Instant::now();
    rt.block_on(async {
        let mut stream = match model.stream(&request.messages, &request.tools, request.max_tokens).await {
            Ok(s) => s,
            Err(e) => return (Choice::Failed(e.to_string()), 0),
        };
        let mut text = String::new();
        while let Some(events) = stream.next().await {
            match events {
                Err(e) => return (Choice::Failed(e.to_string()), 0),
                Ok(events) => {
                    for e in events {
                        match e {
                            StreamEvent::ToolCall { name, arguments, .. } => {
                                let args = serde_json::from_str(&arguments).unwrap_or(serde_json::Value::Null);
                                return (Choice::Function(name, args), started.elapsed().as_millis());
                            }
                            StreamEvent::Text(t) => text.push_str(&t),
                            _ => {}
                        }
                    }
                }
            }
        }
        (Choice::Words(text.trim().to_string()), started.elapsed().as_millis())
    })
}

/// Runs the cases; whether at least `min_percent` of them came out right.
pub fn eval(agent: &str, cases: &Path, model: ChatModel, min_percent: f64) -> anyhow::Result<bool> {
    let spec = load_agent(agent)?;
    let cases = parse_cases(&std::fs::read_to_string(cases).with_context(|| format!("reading {}", cases.display()))?)?;
    anyhow::ensure!(!cases.is_empty(), "no cases in the file");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut out = std::io::stdout();
    let (model, _embedded) = open_model(&rt, model, true, &mut out)?;
    let model = model.context("no language model to evaluate")?;
    let (mut right, mut times) = (0usize, Vec::new());
    for (said, expected) in &cases {
        let (choice, ms) = first_choice(&rt, &model, &spec, said);
        let ok = matches(expected, &choice);
        right += usize::from(ok);
        if ms > 0 {
            times.push(ms);
        }
        let got = match &choice {
            Choice::Words(t) => format!("- ({t})"),
            Choice::Function(name, args) => format!("{name} {args}"),
            Choice::Failed(why) => format!("failed: {why}"),
        };
        let want = expected.function.clone().unwrap_or_else(|| "-".into()) + &expected.args.iter().map(|(k, v)| format!(" {k}={v}")).collect::<String>();
        writeln!(out, "{} {said:?}: wanted {want}, got {got} ({ms} ms)", if ok { "ok  " } else { "MISS" })?;
    }
    times.sort_unstable();
    let percent = 100.0 * right as f64 / cases.len() as f64;
    let median = times.get(times.len() / 2).copied().unwrap_or(0);
    writeln!(out, "right: {right}/{} ({percent:.1}%); median time to the choice {median} ms", cases.len())?;
    Ok(percent >= min_percent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_and_matching() {
        let cases = parse_cases("# comment\nwhere is order 1004\tfind_order number=1004\nhi\t-\n\n").unwrap();
        assert_eq!(cases.len(), 2);
        let order = &cases[0].1;
        assert!(matches(order, &Choice::Function("find_order".into(), serde_json::json!({"number": "1004"}))));
        assert!(matches(order, &Choice::Function("find_order".into(), serde_json::json!({"number": 1004}))), "a number for a string");
        assert!(!matches(order, &Choice::Function("find_order".into(), serde_json::json!({"number": "1005"}))));
        assert!(!matches(order, &Choice::Function("find_order".into(), serde_json::json!({}))));
        assert!(!matches(order, &Choice::Words("It is on its way.".into())));
        assert!(matches(&cases[1].1, &Choice::Words("Hello!".into())));
        assert!(!matches(&cases[1].1, &Choice::Function("done".into(), serde_json::json!({}))));
        assert!(!matches(&cases[1].1, &Choice::Failed("timed out".into())));
        assert!(parse_cases("no tab here").is_err());
        assert!(parse_cases("hi\tfind_order number").is_err());
    }
}
