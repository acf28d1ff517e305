//! Tenants set up through the API take real SIP calls: the dialled number (Request-URI, To or
//! Diversion) picks the tenant and agent, unknown numbers get 404; each tenant's post-call
//! document goes to its own webhook integration, signed with its own secret, PII redacted when
//! its policy says so; per-tenant limits answer 486 and 403, a policy that allows none of the
//! node's engines 503, each leaving an operational event; usage is metered; a tenant that keeps
//! transcripts and recordings gets them back, the recording sealed to its own key.

use crate::common;

use std::time::Duration;

use common::{call, invite, Api, Server, WebhookReceiver};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numbers_pick_the_tenant_and_each_tenant_gets_its_own() {
    let tmp = tempfile::tempdir().unwrap();
    let mut server = Server::start(tmp.path(), &[]);
    let base = format!("http://127.0.0.1:{}", server.http_port);
    let sip = format!("127.0.0.1:{}", server.sip_port);
    let api = Api { http: Client::new(), base: base.clone() };
    let http = &api.http;
    let op = common::create_key(&server.data_dir, &["--role", "platform-admin"]);
    let hook_a = WebhookReceiver::start().await;
    let hook_b = WebhookReceiver::start().await;
    let (recording_secret, recording_public) = parley_store::recipient::generate_key_pair();

    for (t, agent, number, hook, secret) in [("t-a", "front", "+15550001000", &hook_a.url, "a-secret"), ("t-b", "desk", "+15550002000", &hook_b.url, "b-secret")] {
        assert_eq!(api.call(Method::POST, "/v1/tenants", Some(&op), Some(json!({"id": t, "name": t}))).await.0, StatusCode::CREATED);
        let greeting = format!("Hello from {t}. Call us back on 555 010 2000.");
        let (s, v) = api.call(Method::PUT, &format!("/v1/tenants/{t}/agents/{agent}"), Some(&op), Some(json!({"business": t, "greeting": greeting, "hours": "always"}))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (s, v) = api.call(Method::POST, &format!("/v1/tenants/{t}/numbers"), Some(&op), Some(json!({"number": number, "agent": agent}))).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let hook = json!({"kind": "webhook", "name": "documents", "config": {"url": hook}, "secret": secret});
        assert_eq!(api.call(Method::POST, &format!("/v1/tenants/{t}/integrations"), Some(&op), Some(hook)).await.0, StatusCode::CREATED);
    }
    // t-a keeps transcripts and recordings (sealed to its own key) and redacts PII (the
    // default); t-b keeps nothing and turns redaction off.
    let policy_a = json!({"recording_days": 7, "transcript_days": 7, "call_metadata_days": 365, "operational_log_days": 30, "redact_pii": true,
        "allowed_providers": ["embedded"], "recording_public_key": hex::encode(recording_public)});
    assert_eq!(api.call(Method::PUT, "/v1/tenants/t-a/data-policy", Some(&op), Some(policy_a)).await.0, StatusCode::OK);
    let policy_b = json!({"recording_days": 0, "transcript_days": 0, "call_metadata_days": 365, "operational_log_days": 30, "redact_pii": false, "allowed_providers": ["embedded"]});
    assert_eq!(api.call(Method::PUT, "/v1/tenants/t-b/data-policy", Some(&op), Some(policy_b)).await.0, StatusCode::OK);

    // Request-URI, To (a proxy rewrote the Request-URI), Diversion (a forwarded call), unknown.
    let s2 = sip.clone();
    let codes = tokio::task::spawn_blocking(move || {
        [
            call(&s2, "ruri", "+15550001000", "+15550001000", "", 2),
            call(&s2, "to", "trunk-in", "+1-555-000-2000", "", 2),
            call(&s2, "div", "trunk-in", "reception", "Diversion: <sip:+15550001000@carrier.example>;reason=unconditional\r\n", 1),
            call(&s2, "nobody", "+15559999999", "+15559999999", "", 0),
        ]
    })
    .await
    .unwrap();
    assert_eq!(codes, [200, 200, 200, 404]);

    // Each tenant's document reached its own webhook, signed with its own secret.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let mut call_a = String::new();
    for (hook, tenant, secret, redacted) in [(hook_a, "t-a", "a-secret", true), (hook_b, "t-b", "b-secret", false)] {
        let (headers, body) = hook.document().await;
        let sig = headers.get("parley-signature").unwrap().to_str().unwrap();
        assert!(parley_connect::webhook::verify(secret.as_bytes(), sig, &body, now, 300), "{tenant}'s document is signed with its secret");
        let doc: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(doc["tenant"], tenant);
        let text = doc["transcript"].to_string();
        assert!(text.contains(&format!("Hello from {tenant}")), "{text}");
        assert_eq!(text.contains("[phone]"), redacted, "{tenant}: {text}");
        assert_eq!(text.contains("555 010 2000"), !redacted, "{tenant}: {text}");
        if tenant == "t-a" {
            call_a = doc["call_id"].as_str().unwrap().to_string();
        }
    }
    // The last call's record is stored once its post-call work is done.
    let mut calls = Value::Null;
    for _ in 0..50 {
        calls = api.call(Method::GET, "/v1/tenants/t-a/calls", Some(&op), None).await.1;
        if calls["calls"].as_array().unwrap().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(calls["calls"].as_array().unwrap().len(), 2, "Request-URI and Diversion calls: {calls}");
    let (_, calls) = api.call(Method::GET, "/v1/tenants/t-b/calls", Some(&op), None).await;
    assert_eq!(calls["calls"].as_array().unwrap().len(), 1, "{calls}");
    let (_, demo) = api.call(Method::GET, "/v1/tenants/demo/calls", Some(&op), None).await;
    assert_eq!(demo["calls"], json!([]), "nothing landed on the demo tenant");

    // What t-a keeps: the transcript (redacted) and the recording only t-a's key opens.
    let (s, kept) = api.call(Method::GET, &format!("/v1/tenants/t-a/calls/{call_a}/transcript"), Some(&op), None).await;
    assert_eq!(s, StatusCode::OK, "{kept}");
    assert!(kept["transcript"].to_string().contains("[phone]"));
    let resp = http.get(format!("{base}/v1/tenants/t-a/calls/{call_a}/recording")).bearer_auth(&op).send().await.unwrap();
    assert_eq!(resp.headers()["content-type"], "application/octet-stream");
    let blob = resp.bytes().await.unwrap();
    let wav = parley_store::recipient::open_sealed_to(&recording_secret, &format!("parley/kept/v1|t-a|{call_a}/recording"), &blob).unwrap();
    assert_eq!(&wav[..4], b"RIFF");
    assert!(wav.len() > 44 + 8000 * 4, "over a second of stereo audio: {} bytes", wav.len());
    let (_, b_calls) = api.call(Method::GET, "/v1/tenants/t-b/calls", Some(&op), None).await;
    let call_b = b_calls["calls"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(api.call(Method::GET, &format!("/v1/tenants/t-b/calls/{call_b}/transcript"), Some(&op), None).await.0, StatusCode::NOT_FOUND);

    // Usage was metered per tenant.
    let (_, usage) = api.call(Method::GET, "/v1/tenants/t-a/usage", Some(&op), None).await;
    let seconds = usage["items"].as_array().unwrap().iter().find(|i| i["metric"] == "call_seconds").unwrap()["quantity"].as_i64().unwrap();
    assert!(seconds >= 3, "{usage}");
    assert!(usage["items"].as_array().unwrap().iter().any(|i| i["metric"] == "tts_characters" && i["provider"] == "embedded"), "{usage}");

    // Limits: one call at a time for t-b, then its minutes used up, then a policy that allows
    // none of this node's engines.
    let limits = json!({"max_concurrent_calls": 1, "max_minutes_per_month": 0});
    assert_eq!(api.call(Method::PUT, "/v1/tenants/t-b/limits", Some(&op), Some(limits)).await.0, StatusCode::OK);
    let s2 = sip.clone();
    let (first, second) = tokio::task::spawn_blocking(move || {
        let (first, leg) = invite(&s2, "busy-1", "+15550100043", "+15550002000", "+15550002000", "");
        let (second, _) = invite(&s2, "busy-2", "+15550100044", "+15550002000", "+15550002000", "");
        leg.unwrap().bye("+15550002000");
        (first, second)
    })
    .await
    .unwrap();
    assert_eq!((first, second), (200, 486));
    let store = parley_store::Store::open(&parley_store::Target::SqliteDir(server.data_dir.clone())).await.unwrap();
    store.tenant("t-b").unwrap().meter(parley_server_now(), &[("call_seconds", "sip", 120)]).await.unwrap();
    let limits = json!({"max_concurrent_calls": 0, "max_minutes_per_month": 2});
    assert_eq!(api.call(Method::PUT, "/v1/tenants/t-b/limits", Some(&op), Some(limits)).await.0, StatusCode::OK);
    let s2 = sip.clone();
    assert_eq!(tokio::task::spawn_blocking(move || call(&s2, "minutes", "+15550002000", "+15550002000", "", 0)).await.unwrap(), 403);
    assert_eq!(api.call(Method::PUT, "/v1/tenants/t-b/limits", Some(&op), Some(json!({"max_concurrent_calls": 0, "max_minutes_per_month": 0}))).await.0, StatusCode::OK);
    let policy_b = json!({"recording_days": 0, "transcript_days": 0, "call_metadata_days": 365, "operational_log_days": 30, "redact_pii": true, "allowed_providers": ["openai"]});
    assert_eq!(api.call(Method::PUT, "/v1/tenants/t-b/data-policy", Some(&op), Some(policy_b)).await.0, StatusCode::OK);
    let s2 = sip.clone();
    assert_eq!(tokio::task::spawn_blocking(move || call(&s2, "provider", "+15550002000", "+15550002000", "", 0)).await.unwrap(), 503);

    // Each refusal left an operational event (written after the response, so wait for the last).
    let expected = [(486, "concurrent_calls"), (403, "monthly_minutes"), (503, "provider_not_allowed")];
    let mut seen: Vec<(i64, String)> = Vec::new();
    for _ in 0..50 {
        let (_, events) = api.call(Method::GET, "/v1/tenants/t-b/operational-events", Some(&op), None).await;
        seen = events["events"].as_array().unwrap().iter().map(|e| (e["code"].as_i64().unwrap(), e["detail"].as_str().unwrap().to_string())).collect();
        if expected.iter().all(|x| seen.iter().any(|(c, d)| *c == x.0 && d == x.1)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for x in expected {
        let log = std::fs::read_to_string(&server.log).unwrap_or_default();
        let failures: Vec<&str> = log.lines().filter(|l| l.contains("operational event failed") || l.contains("call rejected")).collect();
        assert!(seen.iter().any(|(c, d)| *c == x.0 && d == x.1), "{x:?} in {seen:?}; server: {failures:#?}");
    }
    let (_, a_events) = api.call(Method::GET, "/v1/tenants/t-a/operational-events", Some(&op), None).await;
    assert_eq!(a_events["events"], json!([]), "t-b's refusals are not in t-a's log");
    store.close().await;
    server.stop();
}

fn parley_server_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}
