//! An INVITE over UDP is answered 100, 180, 200 with SDP; the 200 is retransmitted with T1
//! doubling until the ACK; a retransmitted INVITE gets the last response again, never a second
//! call; the caller's BYE ends the call.

mod common;
use common::*;
use parley_sip::endpoint::{EndReason, Event};
use std::time::Instant;

#[test]
fn answered_call_retransmits_200_until_ack_then_caller_hangs_up() {
    let mut ep = endpoint();
    let mut now = Instant::now();
    udp(&mut ep, now, &invite("z9hG4bKinv1", "call-1"));
    let (tx, ev) = drain(&mut ep);
    assert_eq!(codes(&tx), vec![100]);
    let [Event::IncomingCall(inc)] = &ev[..] else { panic!("{ev:?}") };
    assert_eq!(inc.user.as_deref(), Some("demo"));
    assert_eq!(inc.from_user.as_deref(), Some("+15550100004"));
    assert!(inc.offer.as_ref().unwrap().starts_with(b"v=0"));
    let call = inc.call;

    ep.ring(now, call);
    ep.answer(now, call, b"v=0\r\n".to_vec());
    let (tx, _) = drain(&mut ep);
    assert_eq!(codes(&tx), vec![180, 200]);
    let ok = &tx[1];
    assert_eq!(header(ok, "Content-Type"), Some("application/sdp"));
    assert!(header(ok, "Contact").unwrap().contains("sip:parley@127.0.0.1:5060"));
    assert!(header(ok, "Via").unwrap().contains("rport=5070;received=127.0.0.1"));
    let tag = to_tag(ok);
    assert_eq!(to_tag(&tx[0]), tag, "same To tag on 180 and 200");

    // A retransmitted INVITE: the 200 again, no new call.
    udp(&mut ep, now, &invite("z9hG4bKinv1", "call-1"));
    let (tx, ev) = drain(&mut ep);
    assert_eq!(codes(&tx), vec![200]);
    assert!(ev.is_empty());

    // No ACK yet: 200 again at 500 ms, 1.5 s, 3.5 s.
    let start = now;
    let (tx, _) = run_until(&mut ep, &mut now, start + 3600 * MS);
    assert_eq!(codes(&tx), vec![200, 200, 200]);

    let ack = request("ACK", "z9hG4bKack1", "call-1", Some(&tag), 1);
    udp(&mut ep, now, &ack);
    let (_, ev) = drain(&mut ep);
    assert!(matches!(ev[..], [Event::Established(c)] if c == call));
    let (tx, _) = run_until(&mut ep, &mut now, start + 20_000 * MS);
    assert!(codes(&tx).is_empty(), "no retransmission after ACK");

    udp(&mut ep, now, &request("BYE", "z9hG4bKbye1", "call-1", Some(&tag), 2));
    let (tx, ev) = drain(&mut ep);
    assert_eq!(codes(&tx), vec![200]);
    assert!(matches!(ev[..], [Event::Ended(c, EndReason::RemoteBye)] if c == call));
    assert_eq!(ep.active_calls(), 0);

    // The BYE retransmitted: the same 200 from the transaction, no event.
    udp(&mut ep, now, &request("BYE", "z9hG4bKbye1", "call-1", Some(&tag), 2));
    let (tx, ev) = drain(&mut ep);
    assert_eq!(codes(&tx), vec![200]);
    assert!(ev.is_empty());
}

#[test]
fn unanswered_200_without_ack_ends_the_call_with_bye_after_64_t1() {
    let mut ep = endpoint();
    let mut now = Instant::now();
    let call = incoming_call(&mut ep, now, "z9hG4bKinv2", "call-2");
    ep.answer(now, call, b"v=0\r\n".to_vec());
    drain(&mut ep);
    let start = now;
    let (tx, ev) = run_until(&mut ep, &mut now, start + 33_000 * MS);
    assert!(tx.iter().any(|t| t.data.starts_with(b"BYE ")), "BYE sent when no ACK came");
    assert!(ev.iter().any(|e| matches!(e, Event::Ended(_, EndReason::NoAck))));
}

#[test]
fn agent_hangup_sends_bye_retransmitted_until_answered() {
    let mut ep = endpoint();
    let mut now = Instant::now();
    let (call, tag) = established_call(&mut ep, now, "z9hG4bKinv3", "call-3");

    ep.hangup(now, call);
    let (tx, _) = drain(&mut ep);
    let bye = &tx[0];
    assert!(bye.data.starts_with(b"BYE sip:caller@127.0.0.1:5070 SIP/2.0"));
    assert_eq!(bye.dest, caller());
    assert!(header(bye, "From").unwrap().contains(&format!("tag={tag}")));
    assert!(header(bye, "To").unwrap().contains("tag=caller1"));
    let start = now;
    let (tx, _) = run_until(&mut ep, &mut now, start + 600 * MS);
    assert_eq!(tx.len(), 1, "BYE retransmitted after T1");

    let via = header(bye, "Via").unwrap().to_string();
    let cseq = header(bye, "CSeq").unwrap().to_string();
    let ok = format!(
        "SIP/2.0 200 OK\r\nVia: {via}\r\nFrom: {}\r\nTo: {}\r\nCall-ID: call-3\r\nCSeq: {cseq}\r\nContent-Length: 0\r\n\r\n",
        header(bye, "From").unwrap(),
        header(bye, "To").unwrap()
    );
    udp(&mut ep, now, ok.as_bytes());
    let (_, ev) = drain(&mut ep);
    assert!(matches!(ev[..], [Event::Ended(c, EndReason::Local)] if c == call));
}
