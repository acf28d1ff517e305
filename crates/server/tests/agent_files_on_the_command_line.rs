//! `parley agent check` names each problem of a broken agent file by file, line and node, and
//! passes a good one; `parley chat FILE` runs any agent as text and shows its nodes and tools.

use std::io::Write;
use std::process::{Command, Stdio};

const BROKEN: &str = "name: broken
business: Acme
greeting: Hello.
tools:
  find: { use: sample_orders.find_order }
flow:
  - id: menu
    type: gather
    routes: { order_status: lookup, hours: opening }
  - id: lookup
    type: tool
    tool: find
    args: { number: \"{order_number\", colour: red }
    on: { booked: menu }
  - id: again
    type: say
    text: Once more.
    next: again
";

fn parley(args: &[&str], stdin: &str) -> (bool, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_parley")).args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn check_names_file_line_and_node() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.yaml");
    std::fs::write(&broken, BROKEN).unwrap();
    let demo = dir.path().join("demo.yaml");
    std::fs::write(&demo, parley_agent::spec::AgentSpec::demo().to_yaml().unwrap()).unwrap();
    let (ok, out) = parley(&["agent", "check", demo.to_str().unwrap(), broken.to_str().unwrap()], "");
    assert!(!ok, "a broken file fails the check");
    let b = broken.display();
    for want in [
        format!("{}: ok (agent \"demo\"", demo.display()),
        format!("{b}:7: node `menu`: `order_status` is not an intent of this agent"),
        format!("{b}:7: node `menu`: goes to `opening`, which is no node of this flow"),
        format!("{b}:10: node `lookup`: args.number: a `{{` is not closed"),
        format!("{b}:10: node `lookup`: sample_orders.find_order takes no argument `colour`"),
        format!("{b}:10: node `lookup`: sample_orders.find_order has no outcome `booked`"),
        format!("{b}:15: node `again`: it is in a loop that never waits for the caller"),
    ] {
        assert!(out.contains(&want), "missing {want:?} in:\n{out}");
    }
    let (ok, out) = parley(&["agent", "check", demo.to_str().unwrap()], "");
    assert!(ok, "{out}");
    std::fs::write(&broken, "name: x\ngreeting: [unclosed\n").unwrap();
    let (ok, out) = parley(&["agent", "check", broken.to_str().unwrap()], "");
    assert!(!ok && out.contains(&format!("{b}:2:")), "YAML errors carry their line: {out}");
}

#[test]
fn chat_runs_an_agent_file_and_shows_nodes_and_tools() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("demo.yaml");
    std::fs::write(&file, parley_agent::spec::AgentSpec::demo().to_yaml().unwrap()).unwrap();
    let (ok, out) = parley(&["chat", file.to_str().unwrap()], "I want to check my order\n#1007\nbye\n");
    assert!(ok, "{out}");
    assert!(out.contains("[at node menu]"), "{out}");
    assert!(out.contains("[at node ask_order_number]"), "{out}");
    assert!(out.contains("[tool find_order (sample_orders.find_order) number=\"1007\": found]"), "{out}");
    assert!(out.contains("agent> Order 1 0 0 7, for George Lee, is out for delivery."), "{out}");
    assert!(out.trim_end().ends_with("[agent hung up]"), "{out}");
    let (ok, out) = parley(&["chat", dir.path().join("missing.yaml").to_str().unwrap()], "");
    assert!(!ok && out.contains("no agent named"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_runs_an_llm_node_against_a_model() {
    use parley_fakes::openai_chat::{FakeChat, Reply};
    let model = FakeChat::start(vec![
        Reply::ToolCalls(vec![("find_order".into(), r#"{"number": "1007"}"#.into())]),
        Reply::Text("Order 1007 with the cast iron pan is out for delivery today. Anything else?".into()),
        Reply::ToolCalls(vec![("done".into(), "{}".into())]),
    ])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("llm.yaml");
    std::fs::write(&file, "name: llm\nbusiness: Acme\ngreeting: Hello.\ninstructions: Help with orders.\ntools:\n  find_order: { use: sample_orders.find_order }\nflow:\n  - { id: chat, type: llm, goal: Find orders., tools: [find_order], exits: { done: { when: the caller is done, goto: bye } } }\n  - { id: bye, type: end }\n").unwrap();
    let (url, path) = (model.url.clone(), file.to_str().unwrap().to_string());
    let out = tokio::task::spawn_blocking(move || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_parley")).args(["chat", &path, "--llm-base", &url]).env("OPENAI_API_KEY", parley_fakes::KEY).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        child.stdin.take().unwrap().write_all(b"where is order 1007?\nthat's all\n").unwrap();
        let out = child.wait_with_output().unwrap();
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    })
    .await
    .unwrap();
    assert!(out.contains("[llm calls find_order {\"number\": \"1007\"}]"), "{out}");
    assert!(out.contains("[tool find_order (sample_orders.find_order) number=\"1007\": found]"), "{out}");
    assert!(out.contains("agent> Order 1007 with the cast iron pan is out for delivery today.\nagent> Anything else?"), "sentence by sentence: {out}");
    assert!(out.trim_end().ends_with("[agent hung up]"), "{out}");
    assert_eq!(model.seen().len(), 3);
}

fn parley_with_input(args: &[&str], input: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_parley")).args(args).env_remove("PARLEY_LLM_BASE").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Without `--llm-base`, `parley chat` runs an agent's llm node on the embedded model
/// (`scripts/setup.sh` installs it), and `parley agent eval` measures its choices.
#[test]
fn chat_and_eval_use_the_embedded_model() {
    let agent = concat!(env!("CARGO_MANIFEST_DIR"), "/../agent/agents/shop_assistant.yaml");
    let out = parley_with_input(&["chat", agent], "where is my order 1007?\n");
    assert!(out.contains("[llm: the embedded model (qwen2.5-coder-0.5b-instruct-q4_k_m.gguf), on this machine]"), "{out}");
    assert!(out.contains("[llm calls find_order {"), "the model looked the order up: {out}");
    assert!(out.contains("[tool find_order (sample_orders.find_order) number=\"1007\"") && out.contains(": found]"), "with the number the caller said: {out}");
    let after_tool = out.split(": found]").nth(1).unwrap_or_default();
    assert!(after_tool.contains("agent> "), "and then answered: {out}");

    let dir = tempfile::tempdir().unwrap();
    let cases = dir.path().join("cases.tsv");
    std::fs::write(&cases, "# three cases\nwhere is order 1003\tfind_order number=1003\nlet me talk to a person\tperson\nhello\t-\n").unwrap();
    let out = parley_with_input(&["agent", "eval", agent, cases.to_str().unwrap()], "");
    assert_eq!(out.lines().filter(|l| l.starts_with("ok ") || l.starts_with("MISS ")).count(), 3, "one line per case: {out}");
    assert!(out.contains("\"where is order 1003\": wanted find_order number=1003, got find_order"), "{out}");
    assert!(out.lines().last().unwrap_or_default().starts_with("right: "), "{out}");
}

/// `parley agent intents`: the demo menu on held-out phrasings, the words alone and with the
/// sentence model behind them (installed by `scripts/setup.sh`), and `parley chat` hearing a
/// request that shares no word with the menu's examples.
#[test]
fn intents_are_measured_and_heard_by_their_meaning() {
    let cases = concat!(env!("CARGO_MANIFEST_DIR"), "/../agent/tests/data/demo_held_out_2.tsv");
    let (ok, words) = parley(&["agent", "intents", "demo", cases, "--words-only"], "");
    assert!(ok, "{words}");
    assert!(words.contains("MISS order_status  heard nothing       I want an update on what I purchased.\n     words: nothing\n"), "{words}");
    let (ok, both) = parley(&["agent", "intents", "demo", cases, "--min-percent", "98"], "");
    assert!(ok, "the meaning catches what the words miss: {both}");
    assert!(!both.contains("I want an update on what I purchased"), "{both}");
    let (ok, out) = parley(&["agent", "intents", "demo", cases, "--words-only", "--min-percent", "98"], "");
    assert!(!ok && out.contains("right: 40/42"), "below --min-percent fails: {out}");

    // Each miss says what each listener made of it.
    let set_5 = concat!(env!("CARGO_MANIFEST_DIR"), "/../agent/tests/data/demo_held_out_5.tsv");
    let (_, out) = parley(&["agent", "intents", "demo", set_5], "");
    assert!(out.contains("do you ship to canada\n     words: order_status; meaning: order_status 0."), "{out}");

    let out = parley_with_input(&["chat", "demo"], "I want an update on what I purchased.\n");
    assert!(out.contains("What is your order number?") && !out.contains("Sorry"), "an order question (no order on an anonymous number): {out}");
}
