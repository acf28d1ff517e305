//! Trunks decide where a tenant's calls may come from. Without a trunk the number is open;
//! with one, calls from outside its networks are refused (403), or challenged (401 with a
//! SHA-256 and an MD5 digest challenge) when a trunk has credentials. sipp (a peer this project
//! did not write) answers the challenge with MD5 and its call goes through; a raw client
//! answers with SHA-256; a wrong password gets 403 and an operational event; a trunk whose
//! network holds the caller admits it without credentials.

use crate::common;

use std::process::Command;

use common::{free_port, invite, invite_response, Api, Server};
use parley_sip::digest::{parse_params, response, Algorithm};
use reqwest::{Client, Method, StatusCode};
use serde_json::json;

const NUMBER: &str = "+15550003000";

fn sipp_with_digest(server: &Server) -> (bool, String) {
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sipp/uac_digest.xml");
    let out = Command::new("sipp")
        .args(["-sf", scenario, &format!("127.0.0.1:{}", server.sip_port), "-s", NUMBER, "-i", "127.0.0.1"])
        .args(["-p", &free_port().to_string(), "-mp", &free_port().to_string(), "-m", "1", "-timeout", "30", "-nostdin"])
        .current_dir(server.data_dir.parent().unwrap())
        .output()
        .expect("sipp installed (scripts/setup.sh --test-peers)");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

/// An `Authorization` line answering `challenge` for `sip:{NUMBER}@{srv}`.
fn answer(challenge: &str, srv: &str, password: &str, alg: Algorithm) -> String {
    let p = parse_params(challenge.trim_start_matches("WWW-Authenticate:").trim()).unwrap();
    let uri = format!("sip:{NUMBER}@{srv}");
    let resp = response(alg, "pbx-t", &p["realm"], password, "INVITE", &uri, &p["nonce"], "00000001", "abc123");
    format!(
        "Authorization: Digest username=\"pbx-t\", realm=\"{}\", nonce=\"{}\", uri=\"{uri}\", response=\"{resp}\", algorithm={}, qop=auth, nc=00000001, cnonce=\"abc123\"\r\n",
        p["realm"],
        p["nonce"],
        alg.name()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trunks_admit_networks_and_digest_credentials() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path(), &[]);
    let api = Api { http: Client::new(), base: format!("http://127.0.0.1:{}", server.http_port) };
    let op = common::create_key(&server.data_dir, &["--role", "platform-admin"]);
    let srv = format!("127.0.0.1:{}", server.sip_port);
    assert_eq!(api.call(Method::POST, "/v1/tenants", Some(&op), Some(json!({"id": "t", "name": "T"}))).await.0, StatusCode::CREATED);
    let agent = json!({"business": "T", "greeting": "Hello from T.", "hours": "always"});
    assert_eq!(api.call(Method::PUT, "/v1/tenants/t/agents/front", Some(&op), Some(agent)).await.0, StatusCode::OK);
    assert_eq!(api.call(Method::POST, "/v1/tenants/t/numbers", Some(&op), Some(json!({"number": NUMBER, "agent": "front"}))).await.0, StatusCode::CREATED);
    let blocking = |f: Box<dyn FnOnce() -> String + Send>| tokio::task::spawn_blocking(f);

    // No trunk: the number is open.
    let s = srv.clone();
    assert!(blocking(Box::new(move || invite_response(&s, "open-1", NUMBER, ""))).await.unwrap().starts_with("SIP/2.0 200"));

    // A carrier trunk elsewhere: calls from here are refused.
    let carrier = json!({"name": "carrier", "allowed_ips": ["192.0.2.0/24"]});
    assert_eq!(api.call(Method::POST, "/v1/tenants/t/trunks", Some(&op), Some(carrier)).await.0, StatusCode::CREATED);
    let s = srv.clone();
    assert!(blocking(Box::new(move || invite_response(&s, "refused-1", NUMBER, ""))).await.unwrap().starts_with("SIP/2.0 403"));

    // A PBX trunk with credentials: challenged, SHA-256 first.
    let pbx = json!({"name": "pbx", "credentials": {"username": "pbx-t", "password": "pbx-password-1"}});
    let (st, view) = api.call(Method::POST, "/v1/tenants/t/trunks", Some(&op), Some(pbx)).await;
    assert_eq!(st, StatusCode::CREATED, "{view}");
    assert!(view.get("password").is_none(), "the password never comes back: {view}");
    let s = srv.clone();
    let challenge = blocking(Box::new(move || invite_response(&s, "challenge-1", NUMBER, ""))).await.unwrap();
    assert!(challenge.starts_with("SIP/2.0 401"), "{challenge}");
    let challenges: Vec<&str> = challenge.lines().filter(|l| l.starts_with("WWW-Authenticate:")).collect();
    assert_eq!(challenges.len(), 2, "{challenge}");
    assert!(challenges[0].contains("algorithm=SHA-256") && challenges[1].contains("algorithm=MD5"), "{challenges:?}");
    assert!(challenges[0].contains("qop=\"auth\""));

    // SHA-256 from a raw client.
    let (s, line) = (srv.clone(), answer(challenges[0], &srv, "pbx-password-1", Algorithm::Sha256));
    let (code, leg) = tokio::task::spawn_blocking(move || invite(&s, "sha-1", "+15550100098", NUMBER, NUMBER, &line)).await.unwrap();
    assert_eq!(code, 200, "SHA-256 credentials admit the call");
    tokio::task::spawn_blocking(move || leg.unwrap().bye(NUMBER)).await.unwrap();
    // The same answer again is a replay; a wrong password is refused.
    let (s, line) = (srv.clone(), answer(challenges[0], &srv, "pbx-password-1", Algorithm::Sha256));
    assert!(blocking(Box::new(move || invite_response(&s, "replay-1", NUMBER, &line))).await.unwrap().starts_with("SIP/2.0 403"), "nonce count replayed");
    let (s, line) = (srv.clone(), answer(challenges[1], &srv, "a-wrong-guess", Algorithm::Md5));
    assert!(blocking(Box::new(move || invite_response(&s, "wrong-1", NUMBER, &line))).await.unwrap().starts_with("SIP/2.0 403"));

    // sipp 3.6 reads only the first challenge and knows only MD5: its trunk says so, and sipp
    // answers the challenge itself and completes a call.
    let old_pbx = json!({"name": "old-pbx", "credentials": {"username": "pbx-t", "password": "pbx-password-1"}, "digest_algorithms": ["MD5"]});
    assert_eq!(api.call(Method::DELETE, &format!("/v1/tenants/t/trunks/{}", view["id"].as_str().unwrap()), Some(&op), None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(api.call(Method::POST, "/v1/tenants/t/trunks", Some(&op), Some(old_pbx)).await.0, StatusCode::CREATED);
    let (ok, out) = sipp_with_digest(&server);
    let log = std::fs::read_to_string(&server.log).unwrap_or_default();
    assert!(ok, "sipp's authenticated call failed:\n{out}\n{}", log.lines().filter(|l| l.contains("digest")).collect::<Vec<_>>().join("\n"));

    // A trunk whose network holds this host admits calls without credentials.
    let local = json!({"name": "local", "allowed_ips": ["127.0.0.0/8"]});
    assert_eq!(api.call(Method::POST, "/v1/tenants/t/trunks", Some(&op), Some(local)).await.0, StatusCode::CREATED);
    let s = srv.clone();
    assert!(blocking(Box::new(move || invite_response(&s, "trusted-1", NUMBER, ""))).await.unwrap().starts_with("SIP/2.0 200"));

    let (_, events) = api.call(Method::GET, "/v1/tenants/t/operational-events", Some(&op), None).await;
    let failed: Vec<&str> = events["events"].as_array().unwrap().iter().filter(|e| e["kind"] == "auth.failed").filter_map(|e| e["detail"].as_str()).collect();
    assert_eq!(failed.len(), 3, "refused source, replay, wrong password: {events}");
    let (_, trunks) = api.call(Method::GET, "/v1/tenants/t/trunks", Some(&op), None).await;
    assert_eq!(trunks["trunks"].as_array().unwrap().len(), 3);
    assert!(!trunks.to_string().contains("pbx-password-1"));
}
