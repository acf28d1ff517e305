//! Parley registers with a provider and calls out through it: a real Kamailio (Debian package)
//! plays the provider (tests/kamailio/provider.cfg). A gateway that registers answers the
//! registrar's SHA-256 digest challenge, and calls for its number reach the tenant's agent via
//! the registrar's location lookup; an outbound call through the gateway answers the proxy's
//! 407 and is answered by sipp behind it; deleting the gateway removes the binding (404).
//!
//! Needs `scripts/setup.sh --test-peers` (kamailio, sipp).

use crate::common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{free_port, invite, Api, Server};
use reqwest::{Client, Method, StatusCode};
use serde_json::json;

const NUMBER: &str = "+4930000000";
const PASSWORD: &str = "provider-secret-1";

async fn metric(api: &Api, name: &str) -> u64 {
    let text = api.http.get(format!("{}/metrics", api.base)).send().await.unwrap().text().await.unwrap();
    text.lines().find_map(|l| l.strip_prefix(&format!("{name} "))).unwrap().trim().parse().unwrap()
}

async fn wait_metric(api: &Api, name: &str, want: u64) -> bool {
    for _ in 0..100 {
        if metric(api, name).await == want {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

fn sipp(args: &[&str], dir: &std::path::Path) -> Command {
    let mut c = Command::new("sipp");
    c.args(args).args(["-i", "127.0.0.1", "-p", &free_port().to_string(), "-mp", &free_port().to_string(), "-m", "1", "-timeout", "30", "-nostdin"]).current_dir(dir);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registers_with_a_provider_and_calls_through_it() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path(), &[]);
    let api = Api { http: Client::new(), base: format!("http://127.0.0.1:{}", server.http_port) };
    let op = common::create_key(&server.data_dir, &["--role", "platform-admin"]);

    // The provider, and sipp as the callee behind it.
    let callee_port = free_port();
    let callee_dir = tmp.path().join("callee");
    std::fs::create_dir_all(&callee_dir).unwrap();
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sipp/uas_answer_then_bye.xml");
    let mut callee = sipp(&["-sf", scenario, "-rtp_echo"], &callee_dir);
    // sipp picks -p from the helper; the provider needs to know it, so set it last (sipp keeps the last -p).
    callee.args(["-p", &callee_port.to_string()]).stdout(Stdio::null()).stderr(Stdio::null());
    let mut callee = common::Peer(callee.spawn().expect("sipp installed (scripts/setup.sh --test-peers)"));
    let proxy = free_port();
    let run_dir = tmp.path().join("kamailio");
    std::fs::create_dir_all(&run_dir).unwrap();
    let cfg = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/kamailio/provider.cfg");
    let _kamailio = common::Peer(
        Command::new("kamailio")
            .args(["-f", cfg, "-D", "-E", "-Y"])
            .arg(&run_dir)
            .args(["-A", &format!("LISTEN=udp:127.0.0.1:{proxy}"), "-A", &format!("PASSWORD=\"{PASSWORD}\""), "-A", &format!("GATEWAY_USER=\"{NUMBER}\"")])
            .args(["-A", &format!("CALLEE=\"sip:127.0.0.1:{callee_port}\"")])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(tmp.path().join("kamailio.log")).unwrap())
            .spawn()
            .expect("kamailio installed (scripts/setup.sh --test-peers)"),
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let kamailio_log = || std::fs::read_to_string(tmp.path().join("kamailio.log")).unwrap_or_default();

    assert_eq!(api.call(Method::POST, "/v1/tenants", Some(&op), Some(json!({"id": "t-r", "name": "Registered"}))).await.0, StatusCode::CREATED);
    let agent = json!({"business": "Acme", "greeting": "Hello, this is Acme.", "hours": "always"});
    assert_eq!(api.call(Method::PUT, "/v1/tenants/t-r/agents/front", Some(&op), Some(agent)).await.0, StatusCode::OK);
    assert_eq!(api.call(Method::POST, "/v1/tenants/t-r/numbers", Some(&op), Some(json!({"number": NUMBER, "agent": "front"}))).await.0, StatusCode::CREATED);
    let gw = json!({"name": "provider", "proxy": format!("127.0.0.1:{proxy}"), "caller_id": NUMBER, "register": true, "register_expires": 60,
        "credentials": {"username": NUMBER, "password": PASSWORD}});
    let (s, gw) = api.call(Method::POST, "/v1/tenants/t-r/gateways", Some(&op), Some(gw)).await;
    assert_eq!(s, StatusCode::CREATED, "{gw}");
    assert!(!gw.to_string().contains(PASSWORD));
    assert!(wait_metric(&api, "parley_sip_registrations_active", 1).await, "not registered:\n{}\n{}", kamailio_log(), server.log_text());
    assert!(kamailio_log().contains("challenged"), "the registrar challenged first:\n{}", kamailio_log());

    // A call for the number, sent to the provider, reaches the agent through the binding.
    let through = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sipp/uac_via_proxy.xml");
    let out = sipp(&["-sf", through, &format!("127.0.0.1:{proxy}"), "-s", NUMBER, "-d", "500"], tmp.path()).output().unwrap();
    assert!(out.status.success(), "the call via the registrar failed:\n{}\n{}", String::from_utf8_lossy(&out.stdout), kamailio_log());
    assert!(wait_metric(&api, "parley_calls_total", 1).await);

    // Calling out through the provider: its 407 is answered, sipp behind it answers.
    let policy = json!({"enabled": true, "calls_per_second": 1, "max_concurrent": 1, "allowed_prefixes": ["+49"]});
    assert_eq!(api.call(Method::PUT, "/v1/tenants/t-r/outbound-policy", Some(&op), Some(policy)).await.0, StatusCode::OK);
    let (s, placed) = api.call(Method::POST, "/v1/tenants/t-r/calls", Some(&op), Some(json!({"to": "+4930123456", "agent": "front", "gateway": gw["id"]}))).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{placed}");
    let status = tokio::task::spawn_blocking(move || {
        for _ in 0..200 {
            if let Some(s) = callee.0.try_wait().unwrap() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    })
    .await
    .unwrap();
    assert!(status.is_some_and(|s| s.success()), "the callee behind the provider did not complete its call:\n{}\n{}", kamailio_log(), server.log_text());
    assert!(kamailio_log().contains("INVITE from the gateway user challenged"));
    let id = placed["call_id"].as_str().unwrap();
    let mut reason = String::new();
    for _ in 0..50 {
        let (s, rec) = api.call(Method::GET, &format!("/v1/tenants/t-r/calls/{id}"), Some(&op), None).await;
        // A call has a record from its answer on (in_progress): wait for the finished one.
        if s == StatusCode::OK && rec["outcome"] != "in_progress" {
            reason = rec["end_reason"].as_str().unwrap().to_string();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(reason, "remote_bye");

    // The gateway goes: its binding is removed, so calls for the number find nobody.
    let path = format!("/v1/tenants/t-r/gateways/{}", gw["id"].as_str().unwrap());
    assert_eq!(api.call(Method::DELETE, &path, Some(&op), None).await.0, StatusCode::NO_CONTENT);
    assert!(wait_metric(&api, "parley_sip_registrations_active", 0).await);
    let proxy_addr = format!("127.0.0.1:{proxy}");
    let mut code = 0;
    for _ in 0..20 {
        let addr = proxy_addr.clone();
        code = tokio::task::spawn_blocking(move || invite(&addr, "after-removal", "+15550100077", NUMBER, NUMBER, "").0).await.unwrap();
        if code == 404 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(code, 404, "the binding is gone:\n{}", kamailio_log());
}
