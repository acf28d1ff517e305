//! A tenant that replaces its webhook (delete, then add another) gets the documents still
//! waiting at the new one, signed with the new secret; a second webhook integration is refused
//! (409) instead of one of the two being picked without a word.

use crate::common;

use std::time::Duration;

use common::{free_tcp_port, WebhookReceiver};
use reqwest::{Method, StatusCode};
use serde_json::json;

const NUMBER: &str = "+15550007000";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_documents_follow_the_new_webhook() {
    let tmp = tempfile::tempdir().unwrap();
    let (server, api, op) = common::operated(tmp.path(), &[]);
    api.tenant_answering(&op, "t", NUMBER).await;
    // The first webhook points at a receiver that is down.
    let down = format!("http://127.0.0.1:{}/hook", free_tcp_port());
    let old = json!({"kind": "webhook", "name": "old", "config": {"url": down}, "secret": "old-secret"});
    let (s, old) = api.call(Method::POST, "/v1/tenants/t/integrations", Some(&op), Some(old)).await;
    assert_eq!(s, StatusCode::CREATED, "{old}");
    let second = json!({"kind": "webhook", "name": "second", "config": {"url": down}, "secret": "x"});
    let (s, v) = api.call(Method::POST, "/v1/tenants/t/integrations", Some(&op), Some(second)).await;
    assert_eq!(s, StatusCode::CONFLICT, "one webhook per tenant: {v}");

    common::second_long_call(&server, "replace-1", NUMBER).await;
    // Wait for the first failed attempt, then replace the webhook.
    for _ in 0..100 {
        let (_, v) = api.call(Method::GET, "/v1/tenants/t/operational-events", Some(&op), None).await;
        if v.to_string().contains("webhook.failed") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let path = format!("/v1/tenants/t/integrations/{}", old["id"].as_str().unwrap());
    assert_eq!(api.call(Method::DELETE, &path, Some(&op), None).await.0, StatusCode::NO_CONTENT);
    let hook = WebhookReceiver::start().await;
    let new = json!({"kind": "webhook", "name": "new", "config": {"url": hook.url}, "secret": "new-secret"});
    assert_eq!(api.call(Method::POST, "/v1/tenants/t/integrations", Some(&op), Some(new)).await.0, StatusCode::CREATED);

    let (headers, body) = hook.document().await;
    let sig = headers.get("parley-signature").unwrap().to_str().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    assert!(parley_connect::webhook::verify(b"new-secret", sig, &body, now, 300), "signed with the new webhook's secret");
    assert!(headers.get("parley-delivery-id").is_some());
}
