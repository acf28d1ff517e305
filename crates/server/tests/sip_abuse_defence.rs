//! The SIP edge defends itself: a scanner's user agent gets no answer at all, a source over its
//! rate of new requests is answered only up to the limit, and a source that answers a tenant's
//! digest challenge wrongly five times is banned from that tenant's numbers (403 without a
//! challenge) while its other traffic is still answered; /metrics and the tenant's operational
//! events say so.

use crate::common;

use std::net::UdpSocket;
use std::time::Duration;

use common::{invite_response, Api, Server};
use parley_sip::digest::{parse_params, response, Algorithm};
use reqwest::{Client, Method, StatusCode};
use serde_json::json;

fn options(sock: &UdpSocket, server: &str, n: u32, user_agent: &str) {
    let local = sock.local_addr().unwrap();
    let msg = format!(
        "OPTIONS sip:{server} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKab{n}\r\nMax-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=a{n}\r\n\
         To: <sip:{server}>\r\nCall-ID: abuse-{n}\r\nCSeq: 1 OPTIONS\r\nUser-Agent: {user_agent}\r\nContent-Length: 0\r\n\r\n"
    );
    sock.send_to(msg.as_bytes(), server).unwrap();
}

/// An `Authorization` line answering the 401 `challenge` with a wrong password.
fn wrong_answer(challenge: &str, srv: &str, number: &str) -> String {
    let line = challenge.lines().find(|l| l.starts_with("WWW-Authenticate:")).unwrap();
    let p = parse_params(line.trim_start_matches("WWW-Authenticate:").trim()).unwrap();
    let uri = format!("sip:{number}@{srv}");
    let resp = response(Algorithm::Sha256, "pbx-t", &p["realm"], "a-guess", "INVITE", &uri, &p["nonce"], "00000001", "c1");
    format!(
        "Authorization: Digest username=\"pbx-t\", realm=\"{}\", nonce=\"{}\", uri=\"{uri}\", response=\"{resp}\", algorithm=SHA-256, qop=auth, nc=00000001, cnonce=\"c1\"\r\n",
        p["realm"], p["nonce"]
    )
}

/// Responses arriving until `quiet` passes without one.
fn answers(sock: &UdpSocket, quiet: Duration) -> usize {
    sock.set_read_timeout(Some(quiet)).unwrap();
    let mut buf = [0u8; 4096];
    let mut n = 0;
    while let Ok((len, _)) = sock.recv_from(&mut buf) {
        if buf[..len].starts_with(b"SIP/2.0 ") {
            n += 1;
        }
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scanners_floods_and_password_guessers_are_shut_out() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path(), &["--sip-rate-limit", "20"]);
    let srv = format!("127.0.0.1:{}", server.sip_port);
    let api = Api { http: Client::new(), base: format!("http://127.0.0.1:{}", server.http_port) };
    let op = common::create_key(&server.data_dir, &["--role", "platform-admin"]);
    assert_eq!(api.call(Method::POST, "/v1/tenants", Some(&op), Some(json!({"id": "t", "name": "T"}))).await.0, StatusCode::CREATED);
    assert_eq!(api.call(Method::PUT, "/v1/tenants/t/agents/front", Some(&op), Some(json!({"business": "T", "greeting": "Hi.", "hours": "always"}))).await.0, StatusCode::OK);
    assert_eq!(api.call(Method::POST, "/v1/tenants/t/numbers", Some(&op), Some(json!({"number": "+15550004000", "agent": "front"}))).await.0, StatusCode::CREATED);
    let pbx = json!({"name": "pbx", "credentials": {"username": "pbx-t", "password": "pbx-password-1"}});
    assert_eq!(api.call(Method::POST, "/v1/tenants/t/trunks", Some(&op), Some(pbx)).await.0, StatusCode::CREATED);

    let s = srv.clone();
    tokio::task::spawn_blocking(move || {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        // A scanner learns nothing; a softphone is answered.
        options(&sock, &s, 1, "friendly-scanner");
        assert_eq!(answers(&sock, Duration::from_millis(700)), 0, "no answer to a scanner");
        options(&sock, &s, 2, "Linphone/5.2.0");
        assert_eq!(answers(&sock, Duration::from_millis(700)), 1);

        // A flood: 200 new requests at once, 20 a second allowed (burst 40).
        for n in 100..300 {
            options(&sock, &s, n, "Linphone/5.2.0");
        }
        let answered = answers(&sock, Duration::from_millis(700));
        assert!((40..150).contains(&answered), "{answered} of 200 answered");
        std::thread::sleep(Duration::from_secs(3));
        options(&sock, &s, 400, "Linphone/5.2.0");
        assert_eq!(answers(&sock, Duration::from_millis(700)), 1, "the rate refills");
    })
    .await
    .unwrap();

    // Five wrong answers to nonces issued to this source ban it from this tenant.
    let s = srv.clone();
    tokio::task::spawn_blocking(move || {
        for i in 0..5 {
            let challenge = invite_response(&s, &format!("ask-{i}"), "+15550004000", "");
            assert!(challenge.starts_with("SIP/2.0 401"), "{challenge}");
            let wrong = wrong_answer(&challenge, &s, "+15550004000");
            let r = invite_response(&s, &format!("guess-{i}"), "+15550004000", &wrong);
            assert!(r.starts_with("SIP/2.0 403"), "{r}");
        }
        let r = invite_response(&s, "after-ban", "+15550004000", "");
        assert!(r.starts_with("SIP/2.0 403"), "banned from the tenant: no challenge any more\n{r}");
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        options(&sock, &s, 500, "Linphone/5.2.0");
        assert_eq!(answers(&sock, Duration::from_millis(1000)), 1, "the ban is the tenant's, not global");
    })
    .await
    .unwrap();

    let metrics = api.http.get(format!("{}/metrics", api.base)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("parley_sip_bans_active 1"), "{metrics}");
    assert!(!metrics.contains("parley_sip_dropped_total{reason=\"banned\"} 0"), "the banned INVITE is counted\n{metrics}");
    assert!(metrics.contains("parley_sip_dropped_total{reason=\"scanner\"} 1"), "{metrics}");
    assert!(!metrics.contains("parley_sip_dropped_total{reason=\"rate\"} 0"), "{metrics}");
    drop(server);
    let store = parley_store::Store::open(&parley_store::Target::SqliteDir(tmp.path().join("data"))).await.unwrap();
    let tenant_events = store.tenant("t").unwrap().op_events(0, 50).await.unwrap();
    assert!(tenant_events.iter().any(|e| e.kind == "sip.banned"), "{tenant_events:?}");
    assert_eq!(tenant_events.iter().filter(|e| e.kind == "auth.failed").count(), 5);
    store.close().await;
}
