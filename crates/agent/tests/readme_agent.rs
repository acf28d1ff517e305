//! The agent the README shows how to write is a valid agent, and does what it says.

use std::time::Instant;

use parley_agent::conversation::{Action, CallContext, Conversation, Input};
use parley_agent::spec::AgentSpec;

fn readme_agent() -> String {
    let readme = include_str!("../../../README.md");
    let section = readme.split("## Writing an agent").nth(1).expect("the README has the section");
    let block = section.split("```yaml\n").nth(1).expect("a YAML example");
    block.split("```").next().unwrap().to_string()
}

#[test]
fn the_readme_agent_checks_and_runs() {
    let spec = AgentSpec::from_yaml(&readme_agent()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(spec.name, "front-desk");
    let now = Instant::now();
    let mut c = Conversation::new(spec, CallContext::now("+15550100004"));
    c.start(now);
    let a = c.handle(now, Input::Said("has my order 1004 shipped?".into()));
    assert!(matches!(a.as_slice(), [Action::CallTool(call)] if call.operation == "sample_orders.find_order"), "{a:?}");
    let a = c.handle(now, Input::Said("can I speak to someone".into()));
    assert!(a.is_empty(), "heard once the tool is back");
    let bye = c.handle(now, Input::Said("bye".into()));
    assert!(bye.is_empty());
}
