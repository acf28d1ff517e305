//! CANCEL before the answer: 200 for the CANCEL, 487 for the INVITE (retransmitted until the ACK),
//! and the call ends as cancelled. A CANCEL for nothing gets 481.

mod common;
use common::*;
use parley_sip::endpoint::{EndReason, Event};
use std::time::Instant;

#[test]
fn cancel_ends_a_ringing_call_with_487() {
    let mut ep = endpoint();
    let mut now = Instant::now();
    let call = incoming_call(&mut ep, now, "z9hG4bKc1", "cancel-1");
    ep.ring(now, call);
    drain(&mut ep);

    udp(&mut ep, now, &request("CANCEL", "z9hG4bKc1", "cancel-1", None, 1));
    let (tx, ev) = drain(&mut ep);
    assert_eq!(codes(&tx), vec![200, 487]);
    assert!(header(&tx[0], "CSeq").unwrap().ends_with("CANCEL"));
    assert!(header(&tx[1], "CSeq").unwrap().ends_with("INVITE"));
    assert!(matches!(ev[..], [Event::Ended(c, EndReason::Cancelled)] if c == call));

    // 487 retransmitted (timer G) until the ACK, then quiet.
    let start = now;
    let (tx, _) = run_until(&mut ep, &mut now, start + 1600 * MS);
    assert_eq!(codes(&tx), vec![487, 487]);
    let tag = to_tag(&tx[0]);
    let ack = request("ACK", "z9hG4bKc1", "cancel-1", Some(&tag), 1);
    udp(&mut ep, now, &ack);
    drain(&mut ep);
    let (tx, _) = run_until(&mut ep, &mut now, start + 30_000 * MS);
    assert!(tx.is_empty());

    // Answering a cancelled call does nothing.
    ep.answer(now, call, b"v=0\r\n".to_vec());
    assert!(drain(&mut ep).0.is_empty());
}

#[test]
fn cancel_for_unknown_transaction_gets_481() {
    let mut ep = endpoint();
    udp(&mut ep, Instant::now(), &request("CANCEL", "z9hG4bKnothing", "none", None, 1));
    assert_eq!(codes(&drain(&mut ep).0), vec![481]);
}

#[test]
fn options_unknown_dialog_and_unknown_method() {
    let mut ep = endpoint();
    let now = Instant::now();
    udp(&mut ep, now, &request("OPTIONS", "z9hG4bKo1", "o-1", None, 1));
    let (tx, _) = drain(&mut ep);
    assert_eq!(codes(&tx), vec![200]);
    assert!(header(&tx[0], "Allow").unwrap().contains("INVITE"));
    udp(&mut ep, now, &request("BYE", "z9hG4bKb9", "gone", Some("nope"), 2));
    assert_eq!(codes(&drain(&mut ep).0), vec![481]);
    udp(&mut ep, now, &request("FROBNICATE", "z9hG4bKf1", "f-1", None, 1));
    assert_eq!(codes(&drain(&mut ep).0), vec![501]);
    udp(&mut ep, now, b"\x00\x01garbage that is not SIP\r\n\r\n");
    assert!(drain(&mut ep).0.is_empty(), "unparsable bytes without headers get no answer");
}

#[test]
fn rejecting_a_call_answers_the_code_and_ends_it() {
    let mut ep = endpoint();
    let now = Instant::now();
    let call = incoming_call(&mut ep, now, "z9hG4bKr1", "rej-1");
    ep.reject(now, call, 404);
    let (tx, ev) = drain(&mut ep);
    assert_eq!(codes(&tx), vec![404]);
    assert!(matches!(ev[..], [Event::Ended(_, EndReason::Local)]));
}
