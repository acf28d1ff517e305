//! Reliable provisional responses (RFC 3262): an INVITE that supports 100rel gets a 180 with
//! `Require: 100rel` and an `RSeq`, retransmitted over UDP until the PRACK whose `RAck` names
//! it, which gets 200 (a PRACK for anything else gets 481); `Require: 100rel` is supported.

mod common;
use common::*;
use parley_sip::endpoint::Event;
use std::time::{Duration, Instant};

fn invite_with(branch: &str, call_id: &str, headers: &str) -> Vec<u8> {
    String::from_utf8(invite(branch, call_id)).unwrap().replacen("CSeq: 1 INVITE\r\n", &format!("CSeq: 1 INVITE\r\n{headers}"), 1).into_bytes()
}

fn prack(call_id: &str, tag: &str, rack: &str, cseq: u32, branch: &str) -> Vec<u8> {
    String::from_utf8(request("PRACK", branch, call_id, Some(tag), cseq)).unwrap().replace("Content-Length: 0\r\n", &format!("RAck: {rack}\r\nContent-Length: 0\r\n")).into_bytes()
}

#[test]
fn a_reliable_180_is_retransmitted_until_its_prack() {
    let mut ep = endpoint();
    let mut now = Instant::now();
    udp(&mut ep, now, &invite_with("z9hG4bKr1", "rel-1", "Supported: 100rel, timer\r\n"));
    let (_, ev) = drain(&mut ep);
    let [Event::IncomingCall(inc)] = &ev[..] else { panic!("{ev:?}") };
    let call = inc.call;
    ep.ring(now, call);
    let (tx, _) = drain(&mut ep);
    assert_eq!(codes(&tx), vec![180]);
    assert_eq!(header(&tx[0], "Require"), Some("100rel"));
    let rseq: u32 = header(&tx[0], "RSeq").unwrap().parse().unwrap();
    let tag = to_tag(&tx[0]);

    // No PRACK yet: the 180 again at 500 ms and 1.5 s.
    let start = now;
    let (tx, _) = run_until(&mut ep, &mut now, start + Duration::from_millis(1600));
    assert_eq!(codes(&tx), vec![180, 180]);

    // A PRACK naming another response is not ours; the right one stops the retransmissions.
    udp(&mut ep, now, &prack("rel-1", &tag, &format!("{} 1 INVITE", rseq.wrapping_add(1)), 2, "z9hG4bKr2"));
    assert_eq!(codes(&drain(&mut ep).0), vec![481]);
    udp(&mut ep, now, &prack("rel-1", &tag, &format!("{rseq} 1 INVITE"), 3, "z9hG4bKr3"));
    assert_eq!(codes(&drain(&mut ep).0), vec![200]);
    let (tx, _) = run_until(&mut ep, &mut now, start + Duration::from_secs(10));
    assert!(!codes(&tx).contains(&180), "acknowledged: no more 180s");

    ep.answer(now, call, b"v=0\r\n".to_vec());
    assert_eq!(codes(&drain(&mut ep).0), vec![200]);
}

#[test]
fn require_100rel_is_accepted_and_plain_invites_get_a_plain_180() {
    let mut ep = endpoint();
    let now = Instant::now();
    udp(&mut ep, now, &invite_with("z9hG4bKr4", "rel-2", "Require: 100rel\r\n"));
    let (tx, ev) = drain(&mut ep);
    assert_eq!(codes(&tx), vec![100], "not 420");
    assert_eq!(ev.len(), 1);
    let call = incoming_call(&mut ep, now, "z9hG4bKr5", "rel-3");
    ep.ring(now, call);
    let (tx, _) = drain(&mut ep);
    assert_eq!(codes(&tx), vec![180]);
    assert_eq!(header(&tx[0], "RSeq"), None);
}
