//! Helpers for driving the sans-IO endpoint in simulated time.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use parley_sip::endpoint::{Config, Endpoint, Event, Output, Transmit, Transport};

pub const CALLER: &str = "127.0.0.1:5070";

pub fn caller() -> SocketAddr {
    CALLER.parse().unwrap()
}

pub fn endpoint() -> Endpoint {
    Endpoint::new(Config::new("127.0.0.1:5060".parse().unwrap()), 42)
}

pub const SDP: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n";

pub fn invite(branch: &str, call_id: &str) -> Vec<u8> {
    format!(
        "INVITE sip:demo@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {CALLER};branch={branch};rport\r\nMax-Forwards: 70\r\n\
         From: <sip:+15550100004@127.0.0.1>;tag=caller1\r\nTo: <sip:demo@127.0.0.1>\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\n\
         Contact: <sip:caller@{CALLER}>\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{SDP}",
        SDP.len()
    )
    .into_bytes()
}

pub fn request(method: &str, branch: &str, call_id: &str, to_tag: Option<&str>, cseq: u32) -> Vec<u8> {
    let to_tag = to_tag.map(|t| format!(";tag={t}")).unwrap_or_default();
    format!(
        "{method} sip:demo@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {CALLER};branch={branch}\r\nMax-Forwards: 70\r\n\
         From: <sip:+15550100004@127.0.0.1>;tag=caller1\r\nTo: <sip:demo@127.0.0.1>{to_tag}\r\nCall-ID: {call_id}\r\n\
         CSeq: {cseq} {method}\r\nContent-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

/// Everything the endpoint wants to do now.
pub fn drain(ep: &mut Endpoint) -> (Vec<Transmit>, Vec<Event>) {
    let (mut tx, mut ev) = (Vec::new(), Vec::new());
    while let Some(o) = ep.poll_output() {
        match o {
            Output::Transmit(t) => tx.push(t),
            Output::Event(e) => ev.push(e),
        }
    }
    (tx, ev)
}

pub fn status(t: &Transmit) -> u16 {
    std::str::from_utf8(&t.data[8..11]).unwrap().parse().unwrap()
}

pub fn codes(tx: &[Transmit]) -> Vec<u16> {
    tx.iter().filter(|t| t.data.starts_with(b"SIP/2.0")).map(status).collect()
}

pub fn header<'a>(t: &'a Transmit, name: &str) -> Option<&'a str> {
    let text = std::str::from_utf8(&t.data).ok()?;
    text.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

pub fn to_tag(t: &Transmit) -> String {
    header(t, "To").unwrap().split("tag=").nth(1).unwrap().to_string()
}

/// Advances simulated time to `until`, firing every timer on the way; returns what was sent.
pub fn run_until(ep: &mut Endpoint, now: &mut Instant, until: Instant) -> (Vec<Transmit>, Vec<Event>) {
    let (mut tx, mut ev) = (Vec::new(), Vec::new());
    while let Some(at) = ep.poll_timeout() {
        if at > until {
            break;
        }
        *now = at.max(*now);
        ep.handle_timeout(*now);
        let (t, e) = drain(ep);
        tx.extend(t);
        ev.extend(e);
    }
    *now = until;
    (tx, ev)
}

pub fn udp(ep: &mut Endpoint, now: Instant, data: &[u8]) {
    ep.handle_datagram(now, Transport::Udp, caller(), data);
}

pub const MS: Duration = Duration::from_millis(1);

/// Sends an INVITE and returns the call the endpoint reports.
pub fn incoming_call(ep: &mut Endpoint, now: Instant, branch: &str, call_id: &str) -> parley_sip::endpoint::CallId {
    udp(ep, now, &invite(branch, call_id));
    let (_, ev) = drain(ep);
    match &ev[..] {
        [Event::IncomingCall(inc)] => inc.call,
        other => panic!("expected one incoming call, got {other:?}"),
    }
}

/// An answered and acknowledged call: its handle and our To tag.
pub fn established_call(ep: &mut Endpoint, now: Instant, branch: &str, call_id: &str) -> (parley_sip::endpoint::CallId, String) {
    let call = incoming_call(ep, now, branch, call_id);
    ep.answer(now, call, b"v=0\r\n".to_vec());
    let (tx, _) = drain(ep);
    let tag = to_tag(&tx[0]);
    udp(ep, now, &request("ACK", &format!("{branch}ack"), call_id, Some(&tag), 1));
    drain(ep);
    (call, tag)
}
