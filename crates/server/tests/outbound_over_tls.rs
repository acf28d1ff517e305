//! Calling out over TLS with SRTP: node A places a call through a `tls` gateway that is node
//! B's TLS listener (its certificate trusted with `--sip-tls-ca`); the INVITE offers RTP/SAVP
//! with A's key, B answers with its own, both call tasks run on SRTP and count each other's
//! packets; A's drain hangs up with BYE over the same TLS connection.

use crate::common;

use std::time::Duration;

use common::{free_tcp_port, Api, Server};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

fn log_line(server: &Server, message: &str) -> Option<Value> {
    server.log_text().lines().find(|l| l.contains(&format!("\"{message}\""))).and_then(|l| serde_json::from_str(l).ok())
}

async fn wait_line(server: &Server, message: &str) -> Value {
    for _ in 0..150 {
        if let Some(v) = log_line(server, message) {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("no {message:?} in the log:\n{}", server.log_text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_out_over_tls_with_srtp() {
    let tmp = tempfile::tempdir().unwrap();
    let (cert, key) = common::self_signed_cert(tmp.path(), false);

    // Node B: the provider's side, listening for TLS, with a number for its agent.
    let tls_port = free_tcp_port();
    let b = Server::start(&tmp.path().join("b"), &["--sip-tls-listen", &format!("127.0.0.1:{tls_port}"), "--sip-tls-cert", cert.to_str().unwrap(), "--sip-tls-key", key.to_str().unwrap()]);
    let api_b = Api { http: Client::new(), base: format!("http://127.0.0.1:{}", b.http_port) };
    let op_b = common::create_key(&b.data_dir, &["--role", "platform-admin"]);
    assert_eq!(api_b.call(Method::POST, "/v1/tenants", Some(&op_b), Some(json!({"id": "t-b", "name": "B"}))).await.0, StatusCode::CREATED);
    let agent = json!({"business": "Bee", "greeting": "Hello, this is Bee.", "hours": "always"});
    assert_eq!(api_b.call(Method::PUT, "/v1/tenants/t-b/agents/desk", Some(&op_b), Some(agent)).await.0, StatusCode::OK);
    assert_eq!(api_b.call(Method::POST, "/v1/tenants/t-b/numbers", Some(&op_b), Some(json!({"number": "+4930123456", "agent": "desk"}))).await.0, StatusCode::CREATED);

    // Node A: trusts B's certificate and calls out through it.
    let mut a = Server::start(&tmp.path().join("a"), &["--sip-tls-ca", cert.to_str().unwrap(), "--drain-seconds", "1"]);
    let api_a = Api { http: Client::new(), base: format!("http://127.0.0.1:{}", a.http_port) };
    let op_a = common::create_key(&a.data_dir, &["--role", "platform-admin"]);
    assert_eq!(api_a.call(Method::POST, "/v1/tenants", Some(&op_a), Some(json!({"id": "t-a", "name": "A"}))).await.0, StatusCode::CREATED);
    let agent = json!({"business": "Acme", "greeting": "Hello, this is Acme calling back.", "hours": "always"});
    assert_eq!(api_a.call(Method::PUT, "/v1/tenants/t-a/agents/callback", Some(&op_a), Some(agent)).await.0, StatusCode::OK);
    let policy = json!({"enabled": true, "calls_per_second": 1, "max_concurrent": 1, "allowed_prefixes": ["+49"]});
    assert_eq!(api_a.call(Method::PUT, "/v1/tenants/t-a/outbound-policy", Some(&op_a), Some(policy)).await.0, StatusCode::OK);
    let gw = json!({"name": "b-tls", "proxy": format!("127.0.0.1:{tls_port}"), "transport": "tls", "caller_id": "+4930000000"});
    let (s, gw) = api_a.call(Method::POST, "/v1/tenants/t-a/gateways", Some(&op_a), Some(gw)).await;
    assert_eq!(s, StatusCode::CREATED, "{gw}");
    let (s, placed) = api_a.call(Method::POST, "/v1/tenants/t-a/calls", Some(&op_a), Some(json!({"to": "+4930123456", "agent": "callback", "gateway": gw["id"]}))).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{placed}");

    let answered_b = wait_line(&b, "call answered").await;
    assert_eq!((answered_b["fields"]["transport"].as_str(), answered_b["fields"]["srtp"].as_bool()), (Some("tls"), Some(true)), "{answered_b}");
    let answered_a = wait_line(&a, "call answered").await;
    assert_eq!((answered_a["fields"]["transport"].as_str(), answered_a["fields"]["srtp"].as_bool()), (Some("tls"), Some(true)), "{answered_a}");
    tokio::time::sleep(Duration::from_secs(3)).await;

    // A drains: its call is hung up (BYE over TLS) and both ends count the other's packets.
    a.stop();
    let ended_b = wait_line(&b, "call ended").await;
    assert_eq!(ended_b["fields"]["reason"], "remote_bye", "{ended_b}");
    let ended_a = log_line(&a, "call ended").expect("A's call ended");
    for (side, ended) in [("A", &ended_a), ("B", &ended_b)] {
        let got = ended["fields"]["packets_received"].as_u64().unwrap_or(0);
        assert!(got > 100, "{side} authenticated and decrypted the other's SRTP: {got} packets\n{ended}");
    }
}
