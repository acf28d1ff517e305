//! Registering with a provider: challenge answered, binding refreshed before it expires,
//! `423 Interval Too Brief` followed, refusals retried after a pause, binding removed.

mod common;
use common::*;
use parley_sip::endpoint::{Credentials, Endpoint, Event, Registration, Transmit, Transport};
use parley_sip::parse::parse_datagram;
use parley_sip::response::{self, Identity};
use parley_sip::transaction::Peer;
use std::time::Instant;

const REGISTRAR: &str = "127.0.0.1:5080";

fn spec(expires: u32) -> Registration {
    Registration {
        aor: "sip:4930123456@provider.example".into(),
        registrar: "sip:provider.example".into(),
        next_hop: Peer { transport: Transport::Udp, addr: REGISTRAR.parse().unwrap() },
        contact_user: "4930123456".into(),
        expires,
        credentials: Some(Credentials { username: "4930123456".into(), password: "pw".into() }),
    }
}

fn reply(req: &Transmit, code: u16, extra: &[(&str, &str)]) -> Vec<u8> {
    let mut resp = response::build(&parse_datagram(&req.data).unwrap(), code, Some("reg"), None, &Identity { server: "registrar", allow: "REGISTER" });
    for (n, v) in extra {
        resp.headers.push(n, v.to_string());
    }
    resp.to_bytes()
}

fn from_registrar(ep: &mut Endpoint, now: Instant, data: &[u8]) {
    ep.handle_datagram(now, Transport::Udp, REGISTRAR.parse().unwrap(), data);
}

fn text(t: &Transmit) -> String {
    String::from_utf8_lossy(&t.data).into_owned()
}

fn cseq(t: &Transmit) -> u32 {
    header(t, "CSeq").unwrap().split(' ').next().unwrap().parse().unwrap()
}

#[test]
fn registers_answers_the_challenge_and_refreshes() {
    let mut ep = endpoint();
    let mut now = Instant::now();
    let start = now;
    let reg = ep.register(now, spec(3600));
    let (tx, _) = drain(&mut ep);
    let first = text(&tx[0]);
    assert!(first.starts_with("REGISTER sip:provider.example SIP/2.0\r\n"), "{first}");
    assert!(first.contains("Contact: <sip:4930123456@127.0.0.1:5060>") && first.contains("Expires: 3600"), "{first}");
    assert_eq!(tx[0].dest, REGISTRAR.parse().unwrap());

    let challenge = "Digest realm=\"provider.example\", nonce=\"abc\", qop=\"auth\", algorithm=SHA-256";
    from_registrar(&mut ep, now, &reply(&tx[0], 401, &[("WWW-Authenticate", challenge)]));
    let (tx2, ev) = drain(&mut ep);
    assert!(ev.is_empty());
    let auth = header(&tx2[0], "Authorization").unwrap().to_string();
    let p = parley_sip::digest::parse_params(&auth).unwrap();
    assert_eq!((p["uri"].as_str(), p["algorithm"].as_str()), ("sip:provider.example", "SHA-256"));
    let expected = parley_sip::digest::response(parley_sip::digest::Algorithm::Sha256, "4930123456", "provider.example", "pw", "REGISTER", "sip:provider.example", "abc", "00000001", &p["cnonce"]);
    assert_eq!(p["response"], expected);
    assert_eq!(cseq(&tx2[0]), cseq(&tx[0]) + 1);
    assert_eq!(header(&tx2[0], "Call-ID"), header(&tx[0], "Call-ID"), "one Call-ID for the registration's life");

    // The registrar grants less than asked, on our Contact.
    from_registrar(&mut ep, now, &reply(&tx2[0], 200, &[("Contact", "<sip:other@10.0.0.1>;expires=3000, <sip:4930123456@127.0.0.1:5060>;expires=120")]));
    let (_, ev) = drain(&mut ep);
    assert!(matches!(ev[..], [Event::Registered { reg: r, expires: 120 }] if r == reg), "{ev:?}");
    let (tx3, _) = run_until(&mut ep, &mut now, start + 89_000 * MS);
    assert!(tx3.is_empty());
    let (tx3, _) = run_until(&mut ep, &mut now, start + 90_200 * MS);
    assert_eq!(tx3.len(), 1, "refreshed 30 s before the 120 s run out");
    assert!(text(&tx3[0]).starts_with("REGISTER "));
    assert_eq!(cseq(&tx3[0]), cseq(&tx2[0]) + 1);

    // Removal.
    from_registrar(&mut ep, now, &reply(&tx3[0], 200, &[("Expires", "120")]));
    drain(&mut ep);
    ep.unregister(now, reg);
    let (tx4, _) = drain(&mut ep);
    assert!(text(&tx4[0]).contains("Expires: 0"));
    from_registrar(&mut ep, now, &reply(&tx4[0], 200, &[]));
    let (_, ev) = drain(&mut ep);
    assert!(matches!(ev[..], [Event::Unregistered(r)] if r == reg));
    let (later, _) = run_until(&mut ep, &mut now, start + 1_000_000 * MS);
    assert!(later.iter().all(|t| !text(t).starts_with("REGISTER")), "nothing more after removal");
}

#[test]
fn interval_too_brief_refusals_and_timeouts() {
    let mut ep = endpoint();
    let mut now = Instant::now();
    let start = now;
    let reg = ep.register(now, spec(30));
    let (tx, _) = drain(&mut ep);
    from_registrar(&mut ep, now, &reply(&tx[0], 423, &[("Min-Expires", "600")]));
    let (tx2, _) = drain(&mut ep);
    assert!(text(&tx2[0]).contains("Expires: 600"), "{}", text(&tx2[0]));
    from_registrar(&mut ep, now, &reply(&tx2[0], 403, &[]));
    let (_, ev) = drain(&mut ep);
    assert!(matches!(ev[..], [Event::RegistrationFailed { reg: r, code: 403 }] if r == reg));
    // Tried again after the pause; this time nobody answers: 408 after 64*T1.
    let (tx3, _) = run_until(&mut ep, &mut now, start + 60_200 * MS);
    assert_eq!(tx3.len(), 1);
    let (_, ev) = run_until(&mut ep, &mut now, start + 93_000 * MS);
    assert!(ev.iter().any(|e| matches!(e, Event::RegistrationFailed { code: 408, .. })), "{ev:?}");
    // A challenge we cannot answer twice in a row is a failure, not a loop.
    let (tx4, _) = run_until(&mut ep, &mut now, start + 153_100 * MS);
    let last = tx4.last().unwrap();
    let challenge = "Digest realm=\"p\", nonce=\"n\", qop=\"auth\"";
    from_registrar(&mut ep, now, &reply(last, 401, &[("WWW-Authenticate", challenge)]));
    let (tx5, _) = drain(&mut ep);
    from_registrar(&mut ep, now, &reply(&tx5[0], 401, &[("WWW-Authenticate", challenge)]));
    let (tx6, ev) = drain(&mut ep);
    assert!(tx6.is_empty());
    assert!(matches!(ev[..], [Event::RegistrationFailed { code: 401, .. }]), "{ev:?}");
}

#[test]
fn mangled_registrar_answers_never_panic() {
    let mut ep = endpoint();
    let now = Instant::now();
    ep.register(now, spec(600));
    let (tx, _) = drain(&mut ep);
    let samples = [
        reply(&tx[0], 401, &[("WWW-Authenticate", "Digest realm=\"p\", nonce=\"n\", qop=\"auth\", algorithm=SHA-256")]),
        reply(&tx[0], 200, &[("Contact", "<sip:4930123456@127.0.0.1:5060>;expires=300")]),
        reply(&tx[0], 423, &[("Min-Expires", "900")]),
    ];
    for sample in samples {
        for end in 0..sample.len() {
            from_registrar(&mut ep, now, &sample[..end]);
            drain(&mut ep);
        }
        for i in 0..sample.len() * 8 {
            let mut m = sample.clone();
            m[i / 8] ^= 1 << (i % 8);
            from_registrar(&mut ep, now, &m);
            drain(&mut ep);
        }
    }
}
