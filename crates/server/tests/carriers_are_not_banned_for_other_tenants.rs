//! A carrier's signalling address is shared by many tenants, and UDP sources can be spoofed,
//! so what one tenant refuses must not shut the address out for the others:
//! - refusals by source network (a tenant's trunk admits other addresses) never count towards a
//!   ban: after many of them the same address still reaches another tenant's agent;
//! - digest answers that carry a nonce issued to another address (what a spoofer has) are
//!   challenged again and never count;
//! - a source a trunk admits gets the trunk budget, not the per-source default: a burst of 150
//!   requests is answered in full, while another source is cut at the default, and a trunk with
//!   a budget of its own (`requests_per_second`) is cut at that;
//! - requests with a made-up To tag are new requests, rate-limited like any other, and a
//!   re-INVITE for no dialog is answered once (statelessly), not retransmitted.
//!
//! Sources are distinct loopback addresses (127.0.0.x), real UDP sockets against `parley serve`.

use crate::common;

use std::net::UdpSocket;
use std::time::Duration;


use reqwest::{Method, StatusCode};
use serde_json::json;

const OPEN: &str = "+15550005001";
const STRICT: &str = "+15550005002";
const AUTH: &str = "+15550005003";

/// A SIP client on `ip`.
struct Peer {
    sock: UdpSocket,
    server: String,
}

impl Peer {
    fn on(ip: &str, server: &str) -> Peer {
        let sock = UdpSocket::bind(format!("{ip}:0")).unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
        Peer { sock, server: server.to_string() }
    }

    fn send(&self, msg: &str) {
        self.sock.send_to(msg.as_bytes(), &self.server).unwrap();
    }

    /// An INVITE to `number` (with an `Authorization` line, maybe); the final response.
    fn invite(&self, id: &str, number: &str, auth: &str) -> String {
        let (srv, local) = (&self.server, self.sock.local_addr().unwrap());
        let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
        self.send(&format!(
            "INVITE sip:{number}@{srv} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK{id}\r\nMax-Forwards: 70\r\n\
             From: <sip:+15550100099@127.0.0.1>;tag=f{id}\r\nTo: <sip:{number}@{srv}>\r\nCall-ID: {id}\r\nCSeq: 1 INVITE\r\n\
             Contact: <sip:c@{local}>\r\n{auth}Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
            sdp.len()
        ));
        let resp = common::wait_final(&self.sock, "INVITE");
        let to = resp.lines().find(|l| l.starts_with("To:")).unwrap_or_default();
        if let Some(tag) = to.split("tag=").nth(1) {
            // Every final response is ACKed (a 200 is hung up at once).
            let ack = format!(
                "ACK sip:{number}@{srv} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK{id}\r\nMax-Forwards: 70\r\n\
                 From: <sip:+15550100099@127.0.0.1>;tag=f{id}\r\nTo: <sip:{number}@{srv}>;tag={tag}\r\nCall-ID: {id}\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
                tag = tag.trim()
            );
            self.send(&ack);
            if resp.starts_with("SIP/2.0 200") {
                self.send(&ack.replacen("ACK ", "BYE ", 1).replace("CSeq: 1 ACK", "CSeq: 2 BYE").replace(&format!("branch=z9hG4bK{id}"), &format!("branch=z9hG4bK{id}b")));
            }
        }
        resp
    }

    /// `n` OPTIONS (each a new transaction), `to_tag` added to To when given.
    fn options(&self, first: u32, n: u32, to_tag: &str) {
        let (srv, local) = (&self.server, self.sock.local_addr().unwrap());
        for i in first..first + n {
            self.send(&format!(
                "OPTIONS sip:{srv} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKo{i}\r\nMax-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=o{i}\r\n\
                 To: <sip:{srv}>{to_tag}\r\nCall-ID: opt-{i}@{local}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
            ));
        }
    }

    /// 150 OPTIONS in three bursts of 50 (so no socket buffer overflows); the answers.
    fn burst(&self, first: u32, to_tag: &str) -> usize {
        (0..3).map(|k| {
            self.options(first + k * 50, 50, to_tag);
            self.answers(Duration::from_millis(300))
        }).sum()
    }

    /// Responses arriving until `quiet` passes without one.
    fn answers(&self, quiet: Duration) -> usize {
        self.sock.set_read_timeout(Some(quiet)).unwrap();
        let mut buf = [0u8; 4096];
        let mut n = 0;
        while let Ok((len, _)) = self.sock.recv_from(&mut buf) {
            n += usize::from(buf[..len].starts_with(b"SIP/2.0 "));
        }
        self.sock.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
        n
    }
}

/// `Authorization` answering `challenge` (a 401) with `password`.
fn answer(challenge: &str, srv: &str, number: &str, password: &str) -> String {
    use parley_sip::digest::{parse_params, response, Algorithm};
    let line = challenge.lines().find(|l| l.starts_with("WWW-Authenticate:")).expect("a challenge");
    let p = parse_params(line.trim_start_matches("WWW-Authenticate:").trim()).unwrap();
    let uri = format!("sip:{number}@{srv}");
    let resp = response(Algorithm::Sha256, "pbx", &p["realm"], password, "INVITE", &uri, &p["nonce"], "00000001", "c9");
    format!(
        "Authorization: Digest username=\"pbx\", realm=\"{}\", nonce=\"{}\", uri=\"{uri}\", response=\"{resp}\", algorithm=SHA-256, qop=auth, nc=00000001, cnonce=\"c9\"\r\n",
        p["realm"], p["nonce"]
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_tenants_refusals_never_shut_a_carrier_out_of_the_others() {
    let tmp = tempfile::tempdir().unwrap();
    let (server, api, op) = common::operated(tmp.path(), &["--sip-rate-limit", "20"]);
    let srv = format!("127.0.0.1:{}", server.sip_port);
    for (tenant, number) in [("d", OPEN), ("e", STRICT), ("f", AUTH)] {
        api.tenant_answering(&op, tenant, number).await;
    }
    // e takes calls only from a carrier elsewhere; f wants credentials; d's trunk is the
    // carrier at 127.0.0.4.
    let trunk = |body| api.call(Method::POST, "/v1/tenants/e/trunks", Some(&op), Some(body));
    assert_eq!(trunk(json!({"name": "carrier", "allowed_ips": ["192.0.2.0/24"]})).await.0, StatusCode::CREATED);
    let f = json!({"name": "pbx", "credentials": {"username": "pbx", "password": "pbx-password-1"}});
    assert_eq!(api.call(Method::POST, "/v1/tenants/f/trunks", Some(&op), Some(f)).await.0, StatusCode::CREATED);
    let d = json!({"name": "carrier", "allowed_ips": ["127.0.0.4/32"]});
    assert_eq!(api.call(Method::POST, "/v1/tenants/d/trunks", Some(&op), Some(d)).await.0, StatusCode::CREATED);
    // A trunk with a budget of its own: 10 requests a second (burst 20).
    let small = json!({"name": "small-pbx", "allowed_ips": ["127.0.0.5/32"], "requests_per_second": 10});
    let (s, v) = api.call(Method::POST, "/v1/tenants/d/trunks", Some(&op), Some(small)).await;
    assert_eq!((s, v["requests_per_second"].as_u64()), (StatusCode::CREATED, Some(10)), "{v}");
    // The SIP task picks up the trunks' networks within a second.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let s = srv.clone();
    tokio::task::spawn_blocking(move || {
        // Eight refusals by source network, then the same address calls another tenant.
        let carrier = Peer::on("127.0.0.1", &s);
        for i in 0..8 {
            let r = carrier.invite(&format!("strict-{i}"), STRICT, "");
            assert!(r.starts_with("SIP/2.0 403"), "{r}");
        }
        let r = carrier.invite("open-after", AUTH, "");
        assert!(r.starts_with("SIP/2.0 401"), "another tenant still challenges this address\n{r}");

        // A spoofer holds a nonce issued to its own address (127.0.0.2) and sends wrong
        // answers from the carrier's: challenged again, never counted.
        let spoofer = Peer::on("127.0.0.2", &s);
        let theirs = spoofer.invite("spoof-ask", AUTH, "");
        for i in 0..8 {
            let r = carrier.invite(&format!("spoofed-{i}"), AUTH, &answer(&theirs, &s, AUTH, "a-guess"));
            assert!(r.starts_with("SIP/2.0 401"), "a nonce issued elsewhere is challenged again\n{r}");
        }
        let ours = carrier.invite("real-ask", AUTH, "");
        let r = carrier.invite("real-answer", AUTH, &answer(&ours, &s, AUTH, "pbx-password-1"));
        assert!(r.starts_with("SIP/2.0 200"), "the carrier's own right answer still gets through\n{r}");
    })
    .await
    .unwrap();

    let s = srv.clone();
    tokio::task::spawn_blocking(move || {
        // The trunk's address: a burst of 150 new requests is answered in full (default budget
        // here is 20 a second, burst 40). Sent in bursts of 50 so no socket buffer overflows.
        let trunk = Peer::on("127.0.0.4", &s);
        let answered = trunk.burst(0, "");
        assert_eq!(answered, 150, "a trunk's address gets the trunk budget");
        let r = trunk.invite("trunk-call", OPEN, "");
        assert!(r.starts_with("SIP/2.0 200"), "{r}");
        let small = Peer::on("127.0.0.5", &s);
        let answered = small.burst(500, "");
        assert!((20..=45).contains(&answered), "a trunk's own budget (10/s, burst 20): {answered} of 150");

        // Another address is cut at the default, made-up To tags or not.
        let stranger = Peer::on("127.0.0.3", &s);
        let answered = stranger.burst(1000, ";tag=made-up");
        assert!((30..=80).contains(&answered), "{answered} of 150 OPTIONS with a made-up To tag answered");
        std::thread::sleep(Duration::from_secs(3));
        // A re-INVITE for no dialog: one 481 each, not retransmitted until an ACK.
        let (srv, local) = (&stranger.server, stranger.sock.local_addr().unwrap());
        for i in 0..10 {
            stranger.send(&format!(
                "INVITE sip:{OPEN}@{srv} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKre{i}\r\nMax-Forwards: 70\r\n\
                 From: <sip:a@127.0.0.1>;tag=r{i}\r\nTo: <sip:{OPEN}@{srv}>;tag=made-up\r\nCall-ID: re-{i}\r\nCSeq: 2 INVITE\r\nContent-Length: 0\r\n\r\n"
            ));
        }
        let answered = stranger.answers(Duration::from_millis(2500));
        assert_eq!(answered, 10, "one 481 per re-INVITE for no dialog, no retransmissions");
    })
    .await
    .unwrap();
}
