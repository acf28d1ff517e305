//! An agent whose flow is an `llm` node takes a real SIP call (baresip speaks the caller's side)
//! against the in-repo fake of OpenAI's streaming chat completions (`parley-fakes`): the caller
//! asks about their order, the model calls the order tool, the tool's result goes back to the
//! model, its answer is spoken, and the model's exit ends the call. What the provider receives
//! is checked (the tenant's model, `store: false`, the caller's words only as a user message,
//! the caller's own phone number fixed by the flow). Usage counts the model's tokens and the
//! tool call. The model writes the post-call summary, kept because the call supports every
//! sentence of it. With `openai` not in the tenant's data policy the model is never reached and
//! (on a server without the embedded model) the node's fallback answers.
//!
//! Needs `scripts/setup.sh --test-peers` (baresip, sox, espeak-ng, the speech engines).

use crate::common;

use std::path::Path;

use common::{baresip_call, baresip_dir, caller_wav, free_port, Api, Part, WebhookReceiver};
use parley_fakes::openai_chat::{FakeChat, Reply};
use parley_fakes::KEY;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const NUMBER: &str = "+15550188001";
const CALLER: &str = "+15550100004";

fn agent() -> Value {
    json!({
        "business": "Acme Outdoor",
        "greeting": "Hello, this is Acme Outdoor.",
        "hours": "nine to five, Monday to Friday",
        "instructions": "You are Sam, the assistant of Acme Outdoor. Help callers with their orders.",
        "tools": {"find_order": {"use": "sample_orders.find_order"}},
        "flow": [
            {"type": "llm", "id": "chat", "goal": "Tell the caller where their order is.", "tools": ["find_order"],
             "fixed": {"find_order": {"phone": "{caller}"}},
             "exits": {"done": {"when": "the caller has no more questions", "goto": "bye"}},
             "fallback": "sorry"},
            {"type": "end", "id": "bye", "say": "Thank you for calling Acme Outdoor. Goodbye!"},
            {"type": "end", "id": "sorry", "say": "I am sorry, I cannot look that up right now. Please call again later. Goodbye!"}
        ]
    })
}

async fn tenant(api: &Api, op: &str, model: Option<&str>, providers: &[&str]) {
    assert_eq!(api.call(Method::POST, "/v1/tenants", Some(op), Some(json!({"id": "t-llm", "name": "Acme"}))).await.0, StatusCode::CREATED);
    let (s, v) = api.call(Method::PUT, "/v1/tenants/t-llm/agents/front", Some(op), Some(agent())).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["definition"]["flow"][0]["type"], "llm");
    assert_eq!(api.call(Method::POST, "/v1/tenants/t-llm/numbers", Some(op), Some(json!({"number": NUMBER, "agent": "front"}))).await.0, StatusCode::CREATED);
    if let Some(model) = model {
        let openai = json!({"kind": "openai", "name": "model", "config": {"api_base": model, "chat_model": "gpt-test-mini"}, "secret": KEY});
        let (s, v) = api.call(Method::POST, "/v1/tenants/t-llm/integrations", Some(op), Some(openai)).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    policy(api, op, providers).await;
    // A broken llm node is refused with its name.
    let mut bad = agent();
    bad["flow"][0]["tools"] = json!(["find_order", "refund"]);
    let (s, v) = api.call(Method::PUT, "/v1/tenants/t-llm/agents/broken", Some(op), Some(bad)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(v.to_string().contains("node `chat`: tool `refund` is not declared"), "{v}");
}

async fn policy(api: &Api, op: &str, providers: &[&str]) {
    let policy = json!({"recording_days": 0, "transcript_days": 0, "call_metadata_days": 365, "operational_log_days": 30, "redact_pii": false, "allowed_providers": providers});
    assert_eq!(api.call(Method::PUT, "/v1/tenants/t-llm/data-policy", Some(op), Some(policy)).await.0, StatusCode::OK);
}

async fn webhook(api: &Api, op: &str, hook: &WebhookReceiver) {
    let (_, list) = api.call(Method::GET, "/v1/tenants/t-llm/integrations", Some(op), None).await;
    for old in list["integrations"].as_array().unwrap().iter().filter(|i| i["kind"] == "webhook") {
        let path = format!("/v1/tenants/t-llm/integrations/{}", old["id"].as_str().unwrap());
        assert_eq!(api.call(Method::DELETE, &path, Some(op), None).await.0, StatusCode::NO_CONTENT);
    }
    let hook_json = json!({"kind": "webhook", "name": "documents", "config": {"url": hook.url}, "secret": "hook-secret"});
    assert_eq!(api.call(Method::POST, "/v1/tenants/t-llm/integrations", Some(op), Some(hook_json)).await.0, StatusCode::CREATED);
}

/// One call: the caller asks about their order, then says that is all. The post-call document.
async fn call(dir: &Path, name: &str, sip_port: u16, hook: WebhookReceiver) -> Value {
    let dir = dir.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let wav = caller_wav(&dir, &[Part::Silence(4), Part::Say("Hi, can you tell me where my order is?"), Part::Silence(12), Part::Say("No, that is all, thank you."), Part::Silence(8)]);
    let bs = baresip_dir(&dir, "baresip", free_port(), &wav, CALLER, None);
    let log = baresip_call(bs, format!("sip:{NUMBER}@127.0.0.1:{sip_port}"), 30, dir.join("baresip.log")).await;
    assert!(log.contains("Call established"), "answered:\n{log}");
    let (_, body) = hook.document().await;
    serde_json::from_slice(&body).unwrap()
}

fn said(doc: &Value, who: &str) -> String {
    doc["transcript"].as_array().unwrap().iter().filter(|t| t["speaker"] == who).filter_map(|t| t["text"].as_str()).collect::<Vec<_>>().join(" | ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_llm_node_talks_with_the_caller_and_calls_a_tool() {
    let model = FakeChat::start(vec![
        Reply::ToolCalls(vec![("find_order".into(), r#"{"phone": "+15550100009"}"#.into())]),
        Reply::Text("Your order 1004 with the desk lamp shipped on November 18 and should arrive by November 21. Is there anything else I can help with?".into()),
        Reply::ToolCalls(vec![("done".into(), "{}".into())]),
        Reply::Text("The caller asked where their order was. Order 1004 with the desk lamp has shipped and should arrive by November 21.".into()),
    ])
    .await;
    let tmp = tempfile::tempdir().unwrap();
    // No embedded model on this server (an empty model directory): without the tenant's
    // provider the node's fallback answers. (The embedded model has its own test.)
    let no_model = tmp.path().join("no-model");
    let (server, api, op) = common::operated(tmp.path(), &["--llm-dir", no_model.to_str().unwrap()]);
    tenant(&api, &op, Some(&model.url), &["embedded", "openai"]).await;
    let hook = WebhookReceiver::start().await;
    webhook(&api, &op, &hook).await;

    let doc = call(tmp.path(), "allowed", server.sip_port, hook).await;
    let agent = said(&doc, "agent");
    assert!(agent.contains("shipped on November 18 and should arrive by November 21"), "the model's answer was spoken: {agent} {}", server.log_text());
    assert!(agent.contains("Thank you for calling Acme Outdoor. Goodbye!"), "the model's exit ended the call: {agent}");
    assert_eq!(doc["outcome"], "resolved", "{doc}");
    assert_eq!(doc["tool_calls"][0]["name"], "find_order", "{doc}");
    assert_eq!(doc["tool_calls"][0]["result"], "found", "{doc}");

    let seen = model.seen();
    assert_eq!(seen.len(), 4, "a completion for the question, one after the tool, one for the goodbye, one for the summary: {seen:#?}");
    assert_eq!(doc["summary"], "The caller asked where their order was. Order 1004 with the desk lamp has shipped and should arrive by November 21.", "the model's summary, supported by the call");
    let asked = seen[3]["messages"][1]["content"].as_str().unwrap();
    assert!(asked.starts_with("Call transcript:\nAgent: Hello, this is Acme Outdoor.") && asked.contains("\nCaller: "), "{asked}");
    assert!(seen[3].get("tools").is_none(), "the summary offers no tools");
    let first = &seen[0];
    assert_eq!(first["model"], "gpt-test-mini");
    assert_eq!(first["stream"], true);
    assert_eq!(first["store"], false, "the provider is asked not to keep the exchange");
    assert_eq!(first["messages"][0]["role"], "system");
    assert!(first["messages"][0]["content"].as_str().unwrap().contains("You are Sam"));
    let question = first["messages"][1]["content"].as_str().unwrap().to_lowercase();
    assert_eq!(first["messages"][1]["role"], "user");
    assert!(question.contains("where") && question.contains("order"), "the caller's words, as heard: {question}");
    let tools: Vec<&str> = first["tools"].as_array().unwrap().iter().map(|t| t["function"]["name"].as_str().unwrap()).collect();
    assert_eq!(tools, ["find_order", "done"]);
    let tool_message = seen[1]["messages"].as_array().unwrap().iter().find(|m| m["role"] == "tool").expect("the tool's result went back to the model");
    let content = tool_message["content"].as_str().unwrap();
    assert!(content.contains("\"found\"") && content.contains("Dana Smith") && content.contains("desk lamp"), "the caller's own order (their number, not the one the model asked for): {content}");

    let (_, usage) = api.call(Method::GET, "/v1/tenants/t-llm/usage", Some(&op), None).await;
    let text = usage.to_string();
    assert!(text.contains("llm_tokens") && text.contains("openai"), "{text}");
    assert!(text.contains("tool_calls") && text.contains("sample_orders"), "{text}");

    // Without `openai` in the policy the model is not asked: the fallback answers.
    policy(&api, &op, &["embedded"]).await;
    let hook = WebhookReceiver::start().await;
    webhook(&api, &op, &hook).await;
    let doc = call(tmp.path(), "not-allowed", server.sip_port, hook).await;
    assert_eq!(model.seen().len(), 4, "nothing reached the provider");
    assert!(said(&doc, "agent").contains("I cannot look that up right now"), "{}", said(&doc, "agent"));
    drop(server);
}

/// A tenant with no model of its own: the embedded model (llama.cpp's server with the 0.5B
/// model `scripts/setup.sh` installs, started by `parley serve` when the call needs it) talks
/// with the caller and calls the tool. Greedy decoding makes its choices the same each run on
/// one build; what is checked is what any sensible model does here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_model_answers_when_the_tenant_has_none() {
    let tmp = tempfile::tempdir().unwrap();
    let (server, api, op) = common::operated(tmp.path(), &[]);
    tenant(&api, &op, None, &["embedded"]).await;
    let hook = WebhookReceiver::start().await;
    webhook(&api, &op, &hook).await;
    let doc = call(tmp.path(), "embedded", server.sip_port, hook).await;
    let agent = said(&doc, "agent");
    assert_eq!(doc["tool_calls"][0]["name"], "find_order", "the model looked the order up: {doc}\n{}", server.log_text());
    assert_eq!(doc["tool_calls"][0]["result"], "found", "the caller's own order: {doc}");
    assert!(!agent.contains("I cannot look that up right now"), "not the fallback: {agent}\n{doc}");
    assert!(agent.split(" | ").count() >= 2, "the model answered after the greeting: {agent}");
    let (_, usage) = api.call(Method::GET, "/v1/tenants/t-llm/usage", Some(&op), None).await;
    let tokens = usage["items"].as_array().unwrap().iter().find(|i| i["metric"] == "llm_tokens").cloned();
    assert!(tokens.as_ref().is_some_and(|t| t["provider"] == "embedded" && t["quantity"].as_i64() > Some(100)), "the embedded model's tokens are counted: {usage}");
    drop(server);
}
