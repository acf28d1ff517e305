//! Outbound calls from the API to a real SIP peer (sipp as the provider's callee): off by
//! default (403), the operator's prefix allow-list (403), pace and concurrency (429); an
//! answered call carries the agent's greeting as RTP and ends with the callee's BYE; a busy
//! callee (its gateway named by host) and one nobody answers (CANCEL after the ring timeout)
//! leave `not_answered` records.

use crate::common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{free_port, Api, Server};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

/// sipp as the callee behind a gateway, running `scenario` once.
struct Callee {
    child: Child,
    port: u16,
    trace: std::path::PathBuf,
}

impl Callee {
    fn start(dir: &std::path::Path, scenario: &str) -> Callee {
        let port = free_port();
        let path = format!("{}/tests/sipp/{scenario}", env!("CARGO_MANIFEST_DIR"));
        let child = Command::new("sipp")
            .args(["-sf", &path, "-i", "127.0.0.1", "-p", &port.to_string(), "-mp", &free_port().to_string(), "-m", "1", "-timeout", "40", "-nostdin"])
            .args(["-rtp_echo", "-trace_msg", "-message_file", "messages.log"])
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sipp installed (scripts/setup.sh --test-peers)");
        std::thread::sleep(Duration::from_millis(300));
        Callee { child, port, trace: dir.join("messages.log") }
    }

    /// Waits for sipp to finish; whether its scenario passed, and the messages it saw.
    fn finish(mut self, limit: Duration) -> (bool, String) {
        let start = std::time::Instant::now();
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break Some(s);
            }
            if start.elapsed() > limit {
                let _ = self.child.kill();
                break None;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        (status.is_some_and(|s| s.success()), std::fs::read_to_string(&self.trace).unwrap_or_default())
    }
}

async fn record(api: &Api, key: &str, tenant: &str, id: &str) -> Value {
    for _ in 0..100 {
        let (s, v) = api.call(Method::GET, &format!("/v1/tenants/{tenant}/calls/{id}"), Some(key), None).await;
        // A call has a record from its answer on (in_progress): wait for the finished one.
        if s == StatusCode::OK && v["outcome"] != "in_progress" {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no record {id}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_call_out_through_a_gateway_within_the_tenants_limits() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path(), &[]);
    let api = Api { http: Client::new(), base: format!("http://127.0.0.1:{}", server.http_port) };
    let op = common::create_key(&server.data_dir, &["--role", "platform-admin"]);
    assert_eq!(api.call(Method::POST, "/v1/tenants", Some(&op), Some(json!({"id": "t-o", "name": "Outbound"}))).await.0, StatusCode::CREATED);
    let agent = json!({"business": "Acme", "greeting": "Hello, this is Acme.", "hours": "always"});
    assert_eq!(api.call(Method::PUT, "/v1/tenants/t-o/agents/callback", Some(&op), Some(agent)).await.0, StatusCode::OK);
    let (s, key) = api.call(Method::POST, "/v1/tenants/t-o/api-keys", Some(&op), Some(json!({"role": "admin", "name": "crm"}))).await;
    assert_eq!(s, StatusCode::CREATED, "{key}");
    let key = key["token"].as_str().unwrap().to_string();

    let callee_dir = tmp.path().join("answer");
    std::fs::create_dir_all(&callee_dir).unwrap();
    let callee = Callee::start(&callee_dir, "uas_answer_then_bye.xml");
    let gw = json!({"name": "carrier", "proxy": format!("127.0.0.1:{}", callee.port), "caller_id": "+4930000000"});
    let (s, gw) = api.call(Method::POST, "/v1/tenants/t-o/gateways", Some(&key), Some(gw)).await;
    assert_eq!(s, StatusCode::CREATED, "{gw}");
    let gateway = gw["id"].as_str().unwrap().to_string();
    let place = |to: &str| json!({"to": to, "agent": "callback", "gateway": gateway, "greeting": "Hello, this is Acme calling you back about your order."});

    // Off by default; a tenant key cannot turn it on.
    let (s, v) = api.call(Method::POST, "/v1/tenants/t-o/calls", Some(&key), Some(place("+4930123456"))).await;
    assert_eq!((s, v["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_allowed")), "{v}");
    let policy = json!({"enabled": true, "calls_per_second": 1, "max_concurrent": 1, "allowed_prefixes": ["+49"]});
    assert_eq!(api.call(Method::PUT, "/v1/tenants/t-o/outbound-policy", Some(&key), Some(policy.clone())).await.0, StatusCode::FORBIDDEN);
    assert_eq!(api.call(Method::PUT, "/v1/tenants/t-o/outbound-policy", Some(&op), Some(policy.clone())).await.0, StatusCode::OK);
    assert_eq!(api.call(Method::GET, "/v1/tenants/t-o/outbound-policy", Some(&key), None).await.1, policy);
    // Outside the allowed prefixes, or not a number.
    let (s, v) = api.call(Method::POST, "/v1/tenants/t-o/calls", Some(&key), Some(place("+881612345678"))).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("prefix"));
    assert_eq!(api.call(Method::POST, "/v1/tenants/t-o/calls", Some(&key), Some(place("030123456"))).await.0, StatusCode::BAD_REQUEST);

    // Placed and answered; a second call at once is over the limits.
    let (s, placed) = api.call(Method::POST, "/v1/tenants/t-o/calls", Some(&key), Some(place("+4930123456"))).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{placed}");
    let call_id = placed["call_id"].as_str().unwrap().to_string();
    let (s, v) = api.call(Method::POST, "/v1/tenants/t-o/calls", Some(&key), Some(place("+4930123457"))).await;
    assert_eq!((s, v["error"]["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("too_many")), "{v}");
    let (ok, messages) = tokio::task::spawn_blocking(move || callee.finish(Duration::from_secs(20))).await.unwrap();
    assert!(ok, "the callee's scenario failed; it saw:\n{messages}\n{}", server.log_text());
    assert!(messages.contains("INVITE sip:+4930123456@127.0.0.1 SIP/2.0"), "{messages}");
    assert!(messages.contains("From: <sip:+4930000000@127.0.0.1>;tag="), "the gateway's caller ID: {messages}");
    let rec = record(&api, &key, "t-o", &call_id).await;
    assert_eq!(rec["routing"], "outbound:callback", "{rec}");
    assert_eq!(rec["end_reason"], "remote_bye", "{rec}");
    assert!(rec["answered_ms"].as_i64().unwrap() >= rec["started_ms"].as_i64().unwrap());
    assert!(!rec.to_string().contains("30123456"), "the person's number is masked: {rec}");
    let metrics = api.http.get(format!("{}/metrics", api.base)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("parley_outbound_calls_total{result=\"answered\"} 1"), "{metrics}");
    let sent: u64 = metrics.lines().find_map(|l| l.strip_prefix("parley_rtp_packets_sent_total ")).unwrap().parse().unwrap();
    assert!(sent > 100, "the agent talked for three seconds: {sent} packets");

    // Busy, then nobody answering within the ring timeout (we CANCEL).
    for (scenario, extra, reason) in [("uas_busy.xml", json!({}), "failed_486"), ("uas_ring_until_cancel.xml", json!({"ring_timeout_s": 5}), "failed_487")] {
        let dir = tmp.path().join(scenario);
        std::fs::create_dir_all(&dir).unwrap();
        let callee = Callee::start(&dir, scenario);
        // The busy provider is named by host (looked up when the call is placed).
        let proxy = if scenario == "uas_busy.xml" { format!("localhost:{}", callee.port) } else { format!("127.0.0.1:{}", callee.port) };
        let gw = json!({"name": scenario, "proxy": proxy, "caller_id": "+4930000000", "domain": "127.0.0.1"});
        let (_, gw) = api.call(Method::POST, "/v1/tenants/t-o/gateways", Some(&key), Some(gw)).await;
        // One call per second.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let mut body = json!({"to": "+4930123456", "agent": "callback", "gateway": gw["id"]});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let (s, placed) = api.call(Method::POST, "/v1/tenants/t-o/calls", Some(&key), Some(body)).await;
        assert_eq!(s, StatusCode::ACCEPTED, "{placed}");
        let (ok, messages) = tokio::task::spawn_blocking(move || callee.finish(Duration::from_secs(20))).await.unwrap();
        assert!(ok, "{scenario} failed; it saw:\n{messages}");
        let rec = record(&api, &key, "t-o", placed["call_id"].as_str().unwrap()).await;
        assert_eq!((rec["outcome"].as_str(), rec["end_reason"].as_str()), (Some("not_answered"), Some(reason)), "{rec}");
        assert!(rec["answered_ms"].is_null());
    }
}
