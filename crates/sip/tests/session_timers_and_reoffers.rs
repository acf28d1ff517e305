//! Session timers (RFC 4028) and re-offers (RFC 3264 §8) on an established call: a too-short
//! Session-Expires gets 422 with Min-SE; an accepted one is confirmed in the 200 with the caller
//! as refresher; a re-INVITE putting the call on hold refreshes the session and is answered
//! recvonly with a new SDP version; without another refresh the session is hung up with BYE
//! before it expires.

mod common;
use common::*;
use parley_sip::endpoint::{EndReason, Event};
use parley_sip::sdp::Direction;
use std::time::{Duration, Instant};

fn with(msg: Vec<u8>, headers: &str) -> Vec<u8> {
    String::from_utf8(msg).unwrap().replacen("CSeq: 1 INVITE\r\n", &format!("CSeq: 1 INVITE\r\n{headers}"), 1).into_bytes()
}

#[test]
fn a_short_session_interval_is_refused_with_min_se() {
    let mut ep = endpoint();
    udp(&mut ep, Instant::now(), &with(invite("z9hG4bKst1", "st-1"), "Session-Expires: 60\r\n"));
    let (tx, ev) = drain(&mut ep);
    assert_eq!(codes(&tx), vec![422]);
    assert_eq!(header(&tx[0], "Min-SE"), Some("90"));
    assert!(ev.is_empty());
}

#[test]
fn refreshes_keep_the_session_and_silence_ends_it() {
    let mut ep = endpoint();
    let mut now = Instant::now();
    udp(&mut ep, now, &with(invite("z9hG4bKst2", "st-2"), "Session-Expires: 120;refresher=uac\r\nSupported: timer\r\nRequire: timer\r\n"));
    let (tx, ev) = drain(&mut ep);
    assert_eq!(codes(&tx), vec![100], "Require: timer is supported");
    let [Event::IncomingCall(inc)] = &ev[..] else { panic!("{ev:?}") };
    let call = inc.call;
    ep.answer(now, call, b"v=0\r\no=parley 5 5 IN IP4 127.0.0.1\r\ns=parley\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 20000 RTP/AVP 0\r\na=sendrecv\r\n".to_vec());
    let (tx, _) = drain(&mut ep);
    assert_eq!(header(&tx[0], "Session-Expires"), Some("120;refresher=uac"));
    assert_eq!(header(&tx[0], "Require"), Some("timer"));
    let tag = to_tag(&tx[0]);
    udp(&mut ep, now, &request("ACK", "z9hG4bKst2a", "st-2", Some(&tag), 1));
    drain(&mut ep);

    // 87 s later (the session would end at 88 s): a re-INVITE that puts us on hold.
    let start = now;
    run_until(&mut ep, &mut now, start + Duration::from_secs(87));
    let hold_sdp = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=sendonly\r\n";
    let reinvite = String::from_utf8(request("INVITE", "z9hG4bKst2b", "st-2", Some(&tag), 2)).unwrap().replace(
        "Content-Length: 0\r\n\r\n",
        &format!("Session-Expires: 120;refresher=uac\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{hold_sdp}", hold_sdp.len()),
    );
    udp(&mut ep, now, reinvite.as_bytes());
    let (tx, ev) = drain(&mut ep);
    assert_eq!(codes(&tx), vec![200]);
    let body = String::from_utf8_lossy(&tx[0].data).into_owned();
    assert!(body.contains("a=recvonly\r\n") && body.contains("o=parley 5 6 "), "{body}");
    assert!(matches!(&ev[..], [Event::Reoffer { call: c, direction: Direction::RecvOnly, .. }] if *c == call), "{ev:?}");
    udp(&mut ep, now, &request("ACK", "z9hG4bKst2c", "st-2", Some(&tag), 2));

    // The refresh moved the end to 87 + 88 s; nothing happens before.
    let refreshed = now;
    let (tx, ev) = run_until(&mut ep, &mut now, refreshed + Duration::from_secs(87));
    assert!(tx.iter().all(|t| !t.data.starts_with(b"BYE")) && ev.is_empty(), "{ev:?}");
    let (tx, ev) = run_until(&mut ep, &mut now, refreshed + Duration::from_secs(89));
    assert!(tx.iter().any(|t| t.data.starts_with(b"BYE ")), "BYE when the session expires");
    assert!(ev.iter().any(|e| matches!(e, Event::Ended(c, EndReason::SessionExpired) if *c == call)), "{ev:?}");
}
