//! Tools as an agent declares them: the catalogue's operations, and `http.request` tools with
//! their own JSON Schema, integration and outcomes; wrong declarations and wrong uses are
//! named, and a model is offered the schema (less what the flow fixes).

use parley_agent::spec::AgentSpec;

const AGENT: &str = r#"
name: crm
business: Acme
greeting: Hello.
tools:
  account:
    use: http.request
    integration: accounts-api
    args:
      type: object
      properties:
        account: { type: string, pattern: "^A-[0-9]{4}$", description: The account number }
        phone: { type: string }
      required: [account]
      additionalProperties: false
    outcomes: [found, nobody]
  ticket: { use: zendesk.create_ticket }
  note: { use: hubspot.add_note }
flow:
  - id: lookup
    type: tool
    tool: account
    args: { account: "A-1001", phone: "{caller}" }
    on: { found: chat, nobody: chat, done: chat }
  - id: chat
    type: llm
    goal: Help with the account.
    tools: [account, ticket, note]
    fixed: { account: { phone: "{caller}" }, note: { phone: "{caller}" } }
    exits: { done: { when: the caller is done, goto: bye } }
  - { id: bye, type: end }
"#;

#[test]
fn http_tools_declare_their_schema_integration_and_outcomes() {
    let spec = AgentSpec::from_yaml(AGENT).unwrap_or_else(|e| panic!("{e}"));
    let Some(parley_agent::flow::Node::Llm(node)) = spec.flow.get(1) else { panic!() };
    let functions = parley_agent::llm::prompt::functions(node, &spec.tools);
    let account = &functions[0]["function"];
    assert_eq!(account["name"], "account");
    assert_eq!(account["parameters"]["properties"]["account"]["pattern"], "^A-[0-9]{4}$", "the agent's schema as the model's parameters");
    assert!(account["parameters"]["properties"].get("phone").is_none(), "the fixed phone is not the model's");
    assert_eq!(functions[1]["function"]["name"], "ticket");

    let check = |from: &str, to: &str| AgentSpec::from_yaml(&AGENT.replace(from, to)).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(check("    integration: accounts-api\n", "").contains("names its http integration"));
    assert!(check("type: object\n      properties", "type: array\n      properties").contains("a JSON Schema of type object"));
    assert!(check("required: [account]", "required: 5").contains("not a valid JSON Schema"));
    assert!(check("on: { found: chat, nobody: chat, done: chat }", "on: { found: chat, maybe: chat }").contains("has no outcome `maybe`"));
    assert!(check("args: { account: \"A-1001\", phone: \"{caller}\" }", "args: { account: \"A-1001\", colour: red }").contains("takes no argument `colour`"));
    assert!(check("ticket: { use: zendesk.create_ticket }", "ticket: { use: zendesk.create_ticket, integration: x }").contains("are for http.request tools"));
}
