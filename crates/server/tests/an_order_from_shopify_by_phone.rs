//! The demo store's flow on a tenant's own Shopify store: a caller (baresip) asks about "my
//! order" without a number; the agent finds the latest order of the customer with the caller's
//! phone number in the store (the in-repo fake of Shopify's GraphQL Admin API), asks for the
//! last name on it, and reads the order only once the caller has said it. Without `shopify` in
//! the tenant's data policy the store is never asked.
//!
//! Needs `scripts/setup.sh --test-peers` (baresip, sox, espeak-ng, the speech engines).

use crate::common;

use std::path::Path;

use common::{baresip_call, baresip_dir, caller_wav, free_port, Api, Part, WebhookReceiver};
use parley_fakes::shopify::FakeShopify;
use parley_fakes::KEY;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const NUMBER: &str = "+15550199001";
const CALLER: &str = "+15550100004";

async fn tenant(api: &Api, op: &str, shop: &str, hook: &str) {
    assert_eq!(api.call(Method::POST, "/v1/tenants", Some(op), Some(json!({"id": "t-shop", "name": "Shop"}))).await.0, StatusCode::CREATED);
    // The demo store's flow, on the tenant's Shopify store instead of the sample data.
    let mut agent = serde_json::to_value(parley_agent::spec::AgentSpec::demo()).unwrap();
    agent.as_object_mut().unwrap().remove("name");
    agent["tools"]["find_order"]["use"] = json!("shopify.find_order");
    // Names are harder to hear than numbers: the larger model.
    agent["recognizer"] = json!("base");
    let (s, v) = api.call(Method::PUT, "/v1/tenants/t-shop/agents/store", Some(op), Some(agent)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(api.call(Method::POST, "/v1/tenants/t-shop/numbers", Some(op), Some(json!({"number": NUMBER, "agent": "store"}))).await.0, StatusCode::CREATED);
    for integration in [
        json!({"kind": "shopify", "name": "store", "config": {"api_base": shop, "api_version": "2025-01"}, "secret": KEY}),
        json!({"kind": "webhook", "name": "documents", "config": {"url": hook}, "secret": "hook-secret"}),
    ] {
        let (s, v) = api.call(Method::POST, "/v1/tenants/t-shop/integrations", Some(op), Some(integration)).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
}

async fn policy(api: &Api, op: &str, providers: &[&str]) {
    let policy = json!({"recording_days": 0, "transcript_days": 0, "call_metadata_days": 365, "operational_log_days": 30, "redact_pii": false, "allowed_providers": providers});
    let (s, v) = api.call(Method::PUT, "/v1/tenants/t-shop/data-policy", Some(op), Some(policy)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

async fn call(dir: &Path, name: &str, sip_port: u16, hook: WebhookReceiver, parts: &[Part<'_>]) -> Value {
    let dir = dir.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let wav = caller_wav(&dir, parts);
    let bs = baresip_dir(&dir, "baresip", free_port(), &wav, CALLER, None);
    let secs = parts.iter().map(|p| if let Part::Silence(s) = *p { s } else { 2 }).sum::<u32>() + 2;
    let log = baresip_call(bs, format!("sip:{NUMBER}@127.0.0.1:{sip_port}"), secs, dir.join("baresip.log")).await;
    assert!(log.contains("Call established"), "answered:\n{log}");
    let (_, body) = hook.document().await;
    serde_json::from_slice(&body).unwrap()
}

fn agent_lines(doc: &Value) -> Vec<String> {
    doc["transcript"].as_array().unwrap().iter().filter(|t| t["speaker"] == "agent").filter_map(|t| t["text"].as_str().map(String::from)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_is_found_by_the_callers_number_after_an_identity_check() {
    let shop = FakeShopify::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let (server, api, op) = common::operated(tmp.path(), &[]);
    let hook = WebhookReceiver::start().await;
    tenant(&api, &op, &shop.url, &hook.url).await;
    policy(&api, &op, &["embedded", "shopify"]).await;

    let parts = [Part::Silence(11), Part::Say("I want to check on my order."), Part::Silence(9), Part::Say("My last name is Smith."), Part::Silence(14), Part::Say("No, thank you. Goodbye."), Part::Silence(5)];
    let doc = call(tmp.path(), "allowed", server.sip_port, hook, &parts).await;
    let lines = agent_lines(&doc);
    let asked = lines.iter().position(|l| l.contains("what is the last name on the order?")).unwrap_or_else(|| panic!("the identity question: {:#}\n{}", doc["transcript"], server.log_text()));
    let read = lines.iter().position(|l| l.contains("for Dana Smith, is in transit")).unwrap_or_else(|| panic!("the order read out: {lines:#?} {}", doc["transcript"]));
    assert!(asked < read, "the order is read only after the caller named the last name on it: {lines:#?}");
    assert!(lines[read].contains("Desk lamp") && lines[read].contains("expected by November 21"), "{}", lines[read]);
    assert!(!lines[..read].iter().any(|l| l.contains("Dana") || l.contains("Desk lamp")), "nothing of the order before the check: {lines:#?}");
    assert_eq!(doc["tool_calls"][0]["name"], "find_order", "{doc}");
    assert_eq!(doc["tool_calls"][0]["result"], "found", "{doc}");
    let seen = shop.seen();
    assert_eq!(seen.len(), 1, "one lookup: {seen:?}");
    assert_eq!(seen[0].variables, json!({"q": format!("phone:{CALLER}")}), "by the caller's own number");

    let (_, usage) = api.call(Method::GET, "/v1/tenants/t-shop/usage", Some(&op), None).await;
    assert!(usage.to_string().contains("shopify"), "the store's requests are in usage: {usage}");

    // Not in the policy: the store is not asked, and the agent says it could not check.
    policy(&api, &op, &["embedded"]).await;
    let hook2 = WebhookReceiver::start().await;
    let (_, list) = api.call(Method::GET, "/v1/tenants/t-shop/integrations", Some(&op), None).await;
    let old = list["integrations"].as_array().unwrap().iter().find(|i| i["kind"] == "webhook").unwrap()["id"].as_str().unwrap().to_string();
    assert_eq!(api.call(Method::DELETE, &format!("/v1/tenants/t-shop/integrations/{old}"), Some(&op), None).await.0, StatusCode::NO_CONTENT);
    let hook_json = json!({"kind": "webhook", "name": "documents-2", "config": {"url": hook2.url}, "secret": "hook-secret"});
    assert_eq!(api.call(Method::POST, "/v1/tenants/t-shop/integrations", Some(&op), Some(hook_json)).await.0, StatusCode::CREATED);
    let parts = [Part::Silence(11), Part::Say("I want to check on my order."), Part::Silence(8)];
    let doc = call(tmp.path(), "not-allowed", server.sip_port, hook2, &parts).await;
    assert_eq!(shop.seen().len(), 1, "nothing reached the store");
    let lines = agent_lines(&doc).join(" | ");
    assert!(lines.contains("What is your order number?") && !lines.contains("Dana"), "{lines}");
    drop(server);
}
