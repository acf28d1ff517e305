//! Calls we place (UAC): against a second endpoint acting as callee, and against scripted
//! responses for failures, digest challenges, CANCEL, timeouts, repeated and forked 2xx.

mod common;
use common::*;
use parley_sip::endpoint::{Config, Credentials, Dial, EndReason, Endpoint, Event, Transmit, Transport};
use parley_sip::message::Message;
use parley_sip::parse::parse_datagram;
use parley_sip::response::{self, Identity};
use parley_sip::transaction::Peer;
use std::time::Instant;

const CALLEE: &str = "127.0.0.1:5070";

fn dial(ep: &mut Endpoint, now: Instant, credentials: Option<Credentials>) -> parley_sip::endpoint::CallId {
    ep.dial(now, Dial {
        target: format!("sip:+15550100004@{CALLEE}").parse().unwrap(),
        from: "sip:+15550009999@127.0.0.1".parse().unwrap(),
        next_hop: Peer { transport: Transport::Udp, addr: CALLEE.parse().unwrap() },
        offer: SDP.as_bytes().to_vec(),
        credentials,
    })
}

fn parsed(t: &Transmit) -> Message {
    parse_datagram(&t.data).unwrap()
}

fn method(t: &Transmit) -> String {
    String::from_utf8_lossy(&t.data).split(' ').next().unwrap().to_string()
}

const ID: Identity<'static> = Identity { server: "callee", allow: "INVITE" };

/// A response of the callee to `req`, with To tag `tag` and extra headers.
fn reply(req: &Transmit, code: u16, tag: &str, extra: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut resp = response::build(&parsed(req), code, Some(tag), None, &ID);
    for (n, v) in extra {
        resp.headers.push(n, v.to_string());
    }
    resp.body = body.as_bytes().to_vec();
    resp.to_bytes()
}

fn from_callee(ep: &mut Endpoint, now: Instant, data: &[u8]) {
    ep.handle_datagram(now, Transport::Udp, CALLEE.parse().unwrap(), data);
}

#[test]
fn a_call_placed_with_our_own_endpoint_as_callee() {
    let mut caller = endpoint();
    let mut callee = Endpoint::new(Config::new(CALLEE.parse().unwrap()), 7);
    let now = Instant::now();
    let call = dial(&mut caller, now, None);
    let (tx, _) = drain(&mut caller);
    assert_eq!(tx.len(), 1);
    let invite = String::from_utf8_lossy(&tx[0].data).into_owned();
    assert!(invite.starts_with("INVITE sip:+15550100004@127.0.0.1:5070 SIP/2.0\r\n"), "{invite}");
    assert!(invite.contains("Content-Type: application/sdp"));
    assert!(invite.contains(";rport"));
    callee.handle_datagram(now, Transport::Udp, "127.0.0.1:5060".parse().unwrap(), &tx[0].data);
    let (trying, ev) = drain(&mut callee);
    assert_eq!(codes(&trying), vec![100]);
    let Event::IncomingCall(inc) = &ev[0] else { panic!("{ev:?}") };
    assert_eq!(inc.from_user.as_deref(), Some("+15550009999"));
    let theirs = inc.call;
    callee.ring(now, theirs);
    callee.answer(now, theirs, b"v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 6000 RTP/AVP 0\r\n".to_vec());
    let (back, _) = drain(&mut callee);
    assert_eq!(codes(&back), vec![180, 200]);
    for t in trying.iter().chain(back.iter()) {
        from_callee(&mut caller, now, &t.data);
    }
    // 100 (the first) is silent; 180 is progress; 200 is the answer, ACKed.
    let (acks, ev) = drain(&mut caller);
    assert!(matches!(ev[0], Event::Progress(c, 180) if c == call), "{ev:?}");
    let Event::Answered { call: answered, sdp } = &ev[1] else { panic!("{ev:?}") };
    assert_eq!((*answered, sdp.starts_with(b"v=0")), (call, true));
    assert_eq!(acks.iter().map(method).collect::<Vec<_>>(), vec!["ACK"]);
    assert_eq!(acks[0].dest, CALLEE.parse().unwrap(), "to the callee's Contact");
    callee.handle_datagram(now, Transport::Udp, "127.0.0.1:5060".parse().unwrap(), &acks[0].data);
    let (_, ev) = drain(&mut callee);
    assert!(matches!(ev[..], [Event::Established(c)] if c == theirs), "the callee matched our ACK to its dialog: {ev:?}");

    // The callee hangs up: its BYE reaches our dialog.
    callee.hangup(now, theirs);
    let (bye, _) = drain(&mut callee);
    from_callee(&mut caller, now, &bye[0].data);
    let (ok, ev) = drain(&mut caller);
    assert_eq!(codes(&ok), vec![200]);
    assert!(matches!(ev[..], [Event::Ended(c, EndReason::RemoteBye)] if c == call));
}

#[test]
fn we_hang_up_an_answered_call_with_bye_in_its_dialog() {
    let mut ep = endpoint();
    let now = Instant::now();
    let call = dial(&mut ep, now, None);
    let (tx, _) = drain(&mut ep);
    let rr = "<sip:10.9.9.9:5060;lr>";
    from_callee(&mut ep, now, &reply(&tx[0], 200, "cal1", &[("Contact", "<sip:callee@127.0.0.1:5071>"), ("Record-Route", rr)], "v=0\r\n"));
    let (ack, _) = drain(&mut ep);
    assert_eq!(ack[0].dest, "10.9.9.9:5060".parse().unwrap(), "ACK follows the route set");
    assert!(String::from_utf8_lossy(&ack[0].data).starts_with("ACK sip:callee@127.0.0.1:5071 SIP/2.0"));
    // The same 2xx again (our ACK was lost): the same ACK again.
    from_callee(&mut ep, now, &reply(&tx[0], 200, "cal1", &[("Contact", "<sip:callee@127.0.0.1:5071>"), ("Record-Route", rr)], "v=0\r\n"));
    let (again, ev) = drain(&mut ep);
    assert_eq!((again.len(), ev.len()), (1, 0));
    assert_eq!(again[0].data, ack[0].data);
    ep.hangup(now, call);
    let (bye, _) = drain(&mut ep);
    let text = String::from_utf8_lossy(&bye[0].data).into_owned();
    assert!(text.starts_with("BYE sip:callee@127.0.0.1:5071 SIP/2.0"), "{text}");
    assert!(text.contains("Route: <sip:10.9.9.9:5060;lr>") && text.contains(";tag=cal1"), "{text}");
    from_callee(&mut ep, now, &reply(&bye[0], 200, "cal1", &[], ""));
    assert!(matches!(drain(&mut ep).1[..], [Event::Ended(c, EndReason::Local)] if c == call));
}

#[test]
fn a_busy_callee_fails_the_call_and_gets_its_ack() {
    let mut ep = endpoint();
    let now = Instant::now();
    let call = dial(&mut ep, now, None);
    let (tx, _) = drain(&mut ep);
    let busy = reply(&tx[0], 486, "busy1", &[], "");
    from_callee(&mut ep, now, &busy);
    let (ack, ev) = drain(&mut ep);
    assert!(matches!(ev[..], [Event::Ended(c, EndReason::Failed(486))] if c == call), "{ev:?}");
    let ack_text = String::from_utf8_lossy(&ack[0].data).into_owned();
    let branch = |t: &str| t.split("branch=").nth(1).unwrap().split([';', '\r']).next().unwrap().to_string();
    assert!(ack_text.starts_with("ACK sip:+15550100004@127.0.0.1:5070"));
    assert_eq!(branch(&ack_text), branch(&String::from_utf8_lossy(&tx[0].data)), "hop-by-hop ACK: the INVITE's branch");
    assert!(ack_text.contains("tag=busy1"));
    // The 486 repeated: the ACK repeated, no second event.
    from_callee(&mut ep, now, &busy);
    let (again, ev) = drain(&mut ep);
    assert_eq!((again.len(), ev.len()), (1, 0));
}

#[test]
fn invite_is_retransmitted_then_times_out_with_408() {
    let mut ep = endpoint();
    let mut now = Instant::now();
    let start = now;
    let call = dial(&mut ep, now, None);
    drain(&mut ep);
    let (tx, ev) = run_until(&mut ep, &mut now, start + 31_600 * MS);
    // Timer A: intervals 0.5, 1, 2, 4, 8, 16 s (no T2 cap for INVITE): sends at 0.5, 1.5, 3.5,
    // 7.5, 15.5 and 31.5 s.
    assert_eq!(tx.len(), 6);
    assert!(ev.is_empty());
    let (_, ev) = run_until(&mut ep, &mut now, start + 33_000 * MS);
    assert!(matches!(ev[..], [Event::Ended(c, EndReason::Failed(408))] if c == call), "timer B at 64*T1: {ev:?}");
}

#[test]
fn a_provisional_stops_retransmission_and_hangup_cancels() {
    let mut ep = endpoint();
    let mut now = Instant::now();
    let start = now;
    let call = dial(&mut ep, now, None);
    let (tx, _) = drain(&mut ep);
    // Hang up before anything came back: the CANCEL waits for a provisional (RFC 3261 §9.1).
    ep.hangup(now, call);
    assert!(drain(&mut ep).0.is_empty());
    from_callee(&mut ep, now, &reply(&tx[0], 180, "r1", &[], ""));
    let (cancel, ev) = drain(&mut ep);
    assert!(matches!(ev[..], [Event::Progress(_, 180)]));
    let text = String::from_utf8_lossy(&cancel[0].data).into_owned();
    assert!(text.starts_with("CANCEL sip:+15550100004@127.0.0.1:5070 SIP/2.0"), "{text}");
    assert!(text.contains(" CANCEL\r\n") && !text.contains("tag=r1"), "{text}");
    let (retrans, _) = run_until(&mut ep, &mut now, start + 400 * MS);
    assert!(retrans.is_empty());
    from_callee(&mut ep, now, &reply(&cancel[0], 200, "r1", &[], ""));
    from_callee(&mut ep, now, &reply(&tx[0], 487, "r1", &[], ""));
    let (ack, ev) = drain(&mut ep);
    assert_eq!(ack.iter().map(method).collect::<Vec<_>>(), vec!["ACK"]);
    assert!(matches!(ev[..], [Event::Ended(c, EndReason::Local)] if c == call), "{ev:?}");
}

#[test]
fn a_2xx_crossing_our_cancel_is_acked_and_ended() {
    let mut ep = endpoint();
    let now = Instant::now();
    let call = dial(&mut ep, now, None);
    let (tx, _) = drain(&mut ep);
    from_callee(&mut ep, now, &reply(&tx[0], 180, "x1", &[], ""));
    ep.hangup(now, call);
    drain(&mut ep);
    from_callee(&mut ep, now, &reply(&tx[0], 200, "x1", &[("Contact", "<sip:callee@127.0.0.1:5070>")], "v=0\r\n"));
    let (out, ev) = drain(&mut ep);
    assert_eq!(out.iter().map(method).collect::<Vec<_>>(), vec!["ACK", "BYE"]);
    assert!(ev.iter().all(|e| !matches!(e, Event::Answered { .. })));
}

#[test]
fn a_second_fork_answering_is_acked_and_sent_bye() {
    let mut ep = endpoint();
    let now = Instant::now();
    let call = dial(&mut ep, now, None);
    let (tx, _) = drain(&mut ep);
    from_callee(&mut ep, now, &reply(&tx[0], 200, "forkA", &[("Contact", "<sip:a@127.0.0.1:5070>")], "v=0\r\n"));
    drain(&mut ep);
    from_callee(&mut ep, now, &reply(&tx[0], 200, "forkB", &[("Contact", "<sip:b@127.0.0.1:5070>")], "v=0\r\n"));
    let (out, ev) = drain(&mut ep);
    assert_eq!(out.iter().map(method).collect::<Vec<_>>(), vec!["ACK", "BYE"]);
    assert!(out.iter().all(|t| String::from_utf8_lossy(&t.data).contains("tag=forkB")));
    assert!(ev.is_empty(), "the call with fork A goes on: {ev:?}");
    ep.hangup(now, call);
    let (bye, _) = drain(&mut ep);
    assert!(String::from_utf8_lossy(&bye[0].data).contains("tag=forkA"));
}

#[test]
fn a_proxy_challenge_is_answered_once() {
    let mut ep = endpoint();
    let now = Instant::now();
    let creds = Credentials { username: "parley".into(), password: "s3cret".into() };
    let call = dial(&mut ep, now, Some(creds));
    let (tx, _) = drain(&mut ep);
    let challenge = "Digest realm=\"carrier\", nonce=\"n1\", qop=\"auth\", algorithm=MD5";
    from_callee(&mut ep, now, &reply(&tx[0], 407, "p1", &[("Proxy-Authenticate", challenge)], ""));
    let (out, ev) = drain(&mut ep);
    assert!(ev.is_empty(), "{ev:?}");
    assert_eq!(out.iter().map(method).collect::<Vec<_>>(), vec!["ACK", "INVITE"]);
    let second = parsed(&out[1]);
    let auth = String::from_utf8_lossy(second.headers.get("Proxy-Authorization").unwrap()).into_owned();
    let p = parley_sip::digest::parse_params(&auth).unwrap();
    let expected = parley_sip::digest::response(parley_sip::digest::Algorithm::Md5, "parley", "carrier", "s3cret", "INVITE", &p["uri"], "n1", "00000001", &p["cnonce"]);
    assert_eq!(p["response"], expected);
    let cseq = |m: &Message| String::from_utf8_lossy(m.headers.get("CSeq").unwrap()).into_owned();
    let first_n: u32 = cseq(&parsed(&tx[0])).split(' ').next().unwrap().parse().unwrap();
    assert_eq!(cseq(&second), format!("{} INVITE", first_n + 1));
    // A second refusal of the same kind is final.
    from_callee(&mut ep, now, &reply(&out[1], 407, "p2", &[("Proxy-Authenticate", challenge)], ""));
    let (_, ev) = drain(&mut ep);
    assert!(matches!(ev[..], [Event::Ended(c, EndReason::Failed(407))] if c == call), "{ev:?}");
}

#[test]
fn mangled_responses_to_our_requests_never_panic() {
    // Every truncation and single-bit flip of real answers (a challenge, a 2xx with Record-Route)
    // into a dialing endpoint; the stable replay of what the fuzz target explores.
    let mut ep = endpoint();
    let now = Instant::now();
    dial(&mut ep, now, Some(Credentials { username: "u".into(), password: "p".into() }));
    let (tx, _) = drain(&mut ep);
    let challenge = reply(&tx[0], 407, "m1", &[("Proxy-Authenticate", "Digest realm=\"r\", nonce=\"n\", qop=\"auth\"")], "");
    let ok = reply(&tx[0], 200, "m2", &[("Contact", "<sip:c@127.0.0.1:5070>"), ("Record-Route", "<sip:10.0.0.1;lr>, <sip:10.0.0.2;lr>")], "v=0\r\n");
    for sample in [challenge, ok] {
        for end in 0..sample.len() {
            from_callee(&mut ep, now, &sample[..end]);
            drain(&mut ep);
        }
        for i in 0..sample.len() * 8 {
            let mut m = sample.clone();
            m[i / 8] ^= 1 << (i % 8);
            from_callee(&mut ep, now, &m);
            drain(&mut ep);
        }
    }
}
