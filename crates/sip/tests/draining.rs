//! Draining: new INVITEs and OPTIONS get 503 with Retry-After while the call in progress goes
//! on (its BYE is answered); after draining stops, calls are taken again.

mod common;
use common::*;
use parley_sip::endpoint::{EndReason, Event};
use std::time::Instant;

#[test]
fn a_draining_endpoint_refuses_new_calls_and_finishes_the_ones_it_has() {
    let mut ep = endpoint();
    let now = Instant::now();
    let call = incoming_call(&mut ep, now, "z9hG4bKd1", "drain-1");
    ep.answer(now, call, b"v=0\r\n".to_vec());
    let (tx, _) = drain(&mut ep);
    let tag = to_tag(&tx[0]);
    udp(&mut ep, now, &request("ACK", "z9hG4bKd1a", "drain-1", Some(&tag), 1));
    drain(&mut ep);

    ep.set_draining(Some(30));
    udp(&mut ep, now, &invite("z9hG4bKd2", "drain-2"));
    let (tx, ev) = drain(&mut ep);
    assert_eq!(codes(&tx), vec![503]);
    assert_eq!(header(&tx[0], "Retry-After"), Some("30"));
    assert!(ev.is_empty(), "no new call");
    udp(&mut ep, now, &request("OPTIONS", "z9hG4bKd3", "probe", None, 1));
    let (tx, _) = drain(&mut ep);
    assert_eq!(codes(&tx), vec![503], "health checks see the node is going away");

    udp(&mut ep, now, &request("BYE", "z9hG4bKd4", "drain-1", Some(&tag), 2));
    let (tx, ev) = drain(&mut ep);
    assert_eq!(codes(&tx), vec![200]);
    assert!(matches!(ev[..], [Event::Ended(c, EndReason::RemoteBye)] if c == call));

    ep.set_draining(None);
    udp(&mut ep, now, &request("OPTIONS", "z9hG4bKd5", "probe-2", None, 1));
    assert_eq!(codes(&drain(&mut ep).0), vec![200]);
}
