//! A tenant admin cannot point Parley at the operator's own network (server-side request
//! forgery): a webhook URL on loopback (here Parley's own HTTP port) or a private address gets
//! nothing, and the tenant's events say only `url_refused`; a receiver the operator allows that
//! answers 307 is not followed, so the signed document is posted nowhere else.

use crate::common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use common::{Api, WebhookReceiver};
use reqwest::{Method, StatusCode};
use serde_json::json;

const NUMBER: &str = "+15550006000";

async fn tenant_with_webhook(api: &Api, op: &str, url: &str) {
    api.tenant_answering(op, "t", NUMBER).await;
    let hook = json!({"kind": "webhook", "name": "documents", "config": {"url": url}, "secret": "s-secret"});
    assert_eq!(api.call(Method::POST, "/v1/tenants/t/integrations", Some(op), Some(hook)).await.0, StatusCode::CREATED);
}

/// The tenant's `webhook.failed` events, waiting up to 20 s for the first.
async fn failures(api: &Api, op: &str) -> Vec<serde_json::Value> {
    for _ in 0..40 {
        let (_, v) = api.call(Method::GET, "/v1/tenants/t/operational-events", Some(op), None).await;
        let failed: Vec<_> = v["events"].as_array().cloned().unwrap_or_default().into_iter().filter(|e| e["kind"] == "webhook.failed").collect();
        if !failed.is_empty() {
            return failed;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("no webhook.failed event");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_to_loopback_are_refused_with_a_coarse_reason() {
    let tmp = tempfile::tempdir().unwrap();
    // The operator allows a network that is not loopback: loopback stays refused.
    let (server, api, op) = common::operated(tmp.path(), &["--egress-allow", "192.0.2.0/24"]);
    let receiver = WebhookReceiver::start().await;
    // Parley's own metrics, by a name that resolves to loopback.
    let url = receiver.url.replace("127.0.0.1", "localhost");
    tenant_with_webhook(&api, &op, &url).await;
    common::second_long_call(&server, "ssrf-call", NUMBER).await;
    let failed = failures(&api, &op).await;
    assert!(failed.iter().all(|e| e["detail"] == "url_refused" && e["code"] == 0), "{failed:?}");
    assert!(tokio::time::timeout(Duration::from_secs(2), receiver.document()).await.is_err(), "nothing reached the loopback receiver");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_is_not_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let (server, api, op) = common::operated(tmp.path(), &["--egress-allow", "127.0.0.2/32"]);
    // Where the redirect points: it must see no connection.
    let elsewhere = TcpListener::bind("127.0.0.2:0").unwrap();
    elsewhere.set_nonblocking(true).unwrap();
    let target = format!("http://{}/stolen", elsewhere.local_addr().unwrap());
    let receiver = TcpListener::bind("127.0.0.2:0").unwrap();
    let url = format!("http://{}/hook", receiver.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in receiver.incoming().flatten() {
            let mut stream = stream;
            stream.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            let mut buf = [0u8; 65536];
            let _ = stream.read(&mut buf);
            let _ = write!(stream, "HTTP/1.1 307 Temporary Redirect\r\nLocation: {target}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    tenant_with_webhook(&api, &op, &url).await;
    common::second_long_call(&server, "ssrf-call", NUMBER).await;
    let failed = failures(&api, &op).await;
    assert_eq!(failed[0]["code"], 307, "{failed:?}");
    assert!(elsewhere.accept().is_err(), "the redirect was not followed");
}
