//! The parts of an established session the peer may change, sans-IO helpers for the endpoint:
//!
//! - Session timers (RFC 4028): an INVITE asking for `Session-Expires` below our `Min-SE` gets
//!   422; otherwise the 2xx confirms the interval with the caller as refresher (`refresher=uac`)
//!   and, when the caller supports timers, `Require: timer`. Each refresh (re-INVITE or UPDATE)
//!   restarts the interval; if none comes, the session is hung up before it expires (§10:
//!   `interval - min(32, interval / 3)` seconds after the last refresh).
//! - Re-offers (RFC 3264 §8): a re-INVITE or UPDATE with SDP gets the previous answer with the
//!   direction mirrored (the peer's `sendonly` hold gets `recvonly`, `inactive` gets `inactive`)
//!   and the origin version incremented.
//! - Reliable provisional responses (RFC 3262): when the INVITE supports or requires `100rel`,
//!   the 180 carries `Require: 100rel` and an `RSeq`, is retransmitted until its PRACK (over
//!   UDP, while the call is unanswered), and the PRACK whose `RAck` names it gets 200.

use std::time::Duration;

use crate::message::Message;
use crate::sdp::Direction;

/// The shortest session interval we accept (RFC 4028 §4 recommends 90 s).
pub const MIN_SE: u32 = 90;

/// What a request says about session timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerRequest {
    /// No Session-Expires: no timer.
    None,
    /// The interval to run, and whether the peer supports timers (`Supported: timer`).
    Interval(u32, bool),
    /// Below our minimum: answer 422 with `Min-SE`.
    TooSmall,
}

fn header<'a>(msg: &'a Message, long: &str, compact: &str) -> Option<&'a [u8]> {
    msg.headers.get(long).or_else(|| msg.headers.get(compact))
}

/// The session timer a request asks for.
pub fn requested(msg: &Message) -> TimerRequest {
    let Some(value) = header(msg, "Session-Expires", "x") else { return TimerRequest::None };
    let text = String::from_utf8_lossy(value);
    let Some(secs) = text.split(';').next().and_then(|s| s.trim().parse::<u32>().ok()) else { return TimerRequest::None };
    if secs < MIN_SE {
        return TimerRequest::TooSmall;
    }
    let supported = msg
        .headers
        .get_all("Supported")
        .chain(msg.headers.get_all("k"))
        .any(|v| String::from_utf8_lossy(v).split(',').any(|t| t.trim().eq_ignore_ascii_case("timer")));
    TimerRequest::Interval(secs, supported)
}

/// Whether an INVITE supports or requires reliable provisional responses.
pub fn wants_100rel(msg: &Message) -> bool {
    msg.headers
        .get_all("Supported")
        .chain(msg.headers.get_all("k"))
        .chain(msg.headers.get_all("Require"))
        .any(|v| String::from_utf8_lossy(v).split(',').any(|t| t.trim().eq_ignore_ascii_case("100rel")))
}

/// Whether a PRACK's `RAck` (`rseq cseq INVITE`) acknowledges our provisional `rseq` of the
/// INVITE with `cseq`.
pub fn rack_matches(prack: &Message, rseq: u32, cseq: u32) -> bool {
    let Some(v) = prack.headers.get("RAck") else { return false };
    let text = String::from_utf8_lossy(v);
    let f: Vec<&str> = text.split_ascii_whitespace().collect();
    f.len() == 3 && f[0].parse() == Ok(rseq) && f[1].parse() == Ok(cseq) && f[2].eq_ignore_ascii_case("INVITE")
}

/// When to give up on a refresh after one, for `interval` seconds (RFC 4028 §10).
pub fn expiry(interval: u32) -> Duration {
    Duration::from_secs(u64::from(interval - (interval / 3).min(32)))
}

/// The headers that confirm a session timer in a 2xx.
pub fn response_headers(interval: u32, peer_supports: bool) -> Vec<(&'static str, String)> {
    let mut h = vec![("Session-Expires", format!("{interval};refresher=uac"))];
    if peer_supports {
        h.push(("Require", "timer".into()));
    }
    h
}

fn offered_direction(sdp: &str) -> Direction {
    let mut dir = Direction::SendRecv;
    for line in sdp.lines().map(|l| l.trim_end_matches('\r')) {
        dir = match line {
            "a=sendonly" => Direction::SendOnly,
            "a=recvonly" => Direction::RecvOnly,
            "a=inactive" => Direction::Inactive,
            "a=sendrecv" => Direction::SendRecv,
            _ => continue,
        };
    }
    dir
}

/// The direction of our answer to a re-offer, and the answer: `previous` with the direction
/// mirrored and the `o=` version incremented; when the re-offer no longer has our codec (a codec
/// change), a new answer for the codec it does have, on our same address and key. `None` if
/// either is not SDP text.
pub fn reanswer(previous: &[u8], offer: &[u8]) -> Option<(Direction, Vec<u8>)> {
    let ours = offered_direction(std::str::from_utf8(offer).ok()?).answer();
    if let Some(changed) = codec_change(previous, offer) {
        return Some((ours, bump_version(std::str::from_utf8(previous).ok()?, &changed)?));
    }
    let previous = std::str::from_utf8(previous).ok()?;
    let mut out = String::with_capacity(previous.len() + 16);
    for line in previous.split("\r\n").filter(|l| !l.is_empty()) {
        let line = match line {
            "a=sendrecv" | "a=sendonly" | "a=recvonly" | "a=inactive" => format!("a={}", ours.attr()),
            l if l.starts_with("o=") => {
                let mut f: Vec<String> = l.split(' ').map(String::from).collect();
                if let Some(v) = f.get_mut(2) {
                    *v = v.parse::<u64>().ok()?.wrapping_add(1).to_string();
                }
                f.join(" ")
            }
            l => l.to_string(),
        };
        out.push_str(&line);
        out.push_str("\r\n");
    }
    Some((ours, out.into_bytes()))
}

/// A new answer when `offer` lacks the codec of our `previous` answer and has another we take.
fn codec_change(previous: &[u8], offer: &[u8]) -> Option<Vec<u8>> {
    let prev = crate::sdp::parse(previous).ok()?;
    let ours = prev.media.iter().find(|m| m.kind == "audio" && m.port != 0)?;
    let codec = ours.encoding(*ours.formats.first()?)?;
    let off = crate::sdp::parse(offer).ok()?;
    let still_offered = off.media.iter().filter(|m| m.kind == "audio" && m.port != 0).any(|m| m.formats.iter().any(|&p| m.encoding(p).as_ref() == Some(&codec)));
    if still_offered {
        return None;
    }
    let neg = crate::sdp::negotiate(&off).ok()?;
    let local = std::net::SocketAddr::new(ours.connection.or(prev.connection)?, ours.port);
    let key = ours.crypto.first().map(|c| c.key);
    crate::sdp::answer(&neg, local, 0, key.as_ref())
}

/// `answer` with the `o=` line of `previous`, its version incremented (RFC 3264 §8).
fn bump_version(previous: &str, answer: &[u8]) -> Option<Vec<u8>> {
    let o = previous.lines().find(|l| l.starts_with("o="))?.trim_end_matches('\r');
    let mut f: Vec<String> = o.split(' ').map(String::from).collect();
    let v = f.get_mut(2)?;
    *v = v.parse::<u64>().ok()?.wrapping_add(1).to_string();
    let o = f.join(" ");
    let text = std::str::from_utf8(answer).ok()?;
    Some(text.split("\r\n").map(|l| if l.starts_with("o=") { o.as_str() } else { l }).collect::<Vec<_>>().join("\r\n").into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_datagram;

    fn invite(extra: &str) -> Message {
        let text = format!("INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:c@d>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n{extra}Content-Length: 0\r\n\r\n");
        parse_datagram(text.as_bytes()).unwrap()
    }

    #[test]
    fn session_timer_requests() {
        assert_eq!(requested(&invite("")), TimerRequest::None);
        assert_eq!(requested(&invite("Session-Expires: 1800;refresher=uac\r\nSupported: 100rel, timer\r\n")), TimerRequest::Interval(1800, true));
        assert_eq!(requested(&invite("x: 600\r\n")), TimerRequest::Interval(600, false), "compact form");
        assert_eq!(requested(&invite("Session-Expires: 60\r\n")), TimerRequest::TooSmall);
        assert_eq!(expiry(1800), Duration::from_secs(1768));
        assert_eq!(expiry(90), Duration::from_secs(60));
        assert_eq!(response_headers(1800, true), vec![("Session-Expires", "1800;refresher=uac".to_string()), ("Require", "timer".to_string())]);
    }

    #[test]
    fn a_hold_reoffer_gets_recvonly_and_a_new_version() {
        let previous = b"v=0\r\no=parley 7 7 IN IP4 127.0.0.1\r\ns=parley\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 20000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n";
        let hold = b"v=0\r\no=- 1 2 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=sendonly\r\n";
        let (dir, answer) = reanswer(previous, hold).unwrap();
        let text = String::from_utf8(answer.clone()).unwrap();
        assert_eq!(dir, Direction::RecvOnly);
        assert!(text.contains("a=recvonly\r\n") && !text.contains("a=sendrecv"), "{text}");
        assert!(text.contains("o=parley 7 8 IN IP4"), "{text}");
        let resume = b"v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\n";
        let (dir, again) = reanswer(&answer, resume).unwrap();
        assert_eq!(dir, Direction::SendRecv);
        assert!(String::from_utf8(again).unwrap().contains("o=parley 7 9 IN IP4"));
        assert_eq!(reanswer(previous, b"v=0\r\nm=audio 1 RTP/AVP 0\r\na=inactive\r\n").unwrap().0, Direction::Inactive);
    }

    #[test]
    fn a_reoffer_without_our_codec_changes_it() {
        let previous = b"v=0\r\no=parley 7 7 IN IP4 127.0.0.1\r\ns=parley\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 20000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=ptime:20\r\na=sendrecv\r\n";
        let pcma = b"v=0\r\no=- 1 3 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\n";
        let (dir, answer) = reanswer(previous, pcma).unwrap();
        let text = String::from_utf8(answer).unwrap();
        assert_eq!(dir, Direction::SendRecv);
        assert!(text.contains("m=audio 20000 RTP/AVP 8 101\r\n") && text.contains("a=rtpmap:8 PCMA/8000"), "same port, the new codec: {text}");
        assert!(text.contains("o=parley 7 8 IN IP4 127.0.0.1"), "{text}");
        // Our codec still offered: only the direction and version change.
        let (_, same) = reanswer(previous, b"v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 8 0\r\n").unwrap();
        assert!(String::from_utf8(same).unwrap().contains("m=audio 20000 RTP/AVP 0 101"));
    }
}
