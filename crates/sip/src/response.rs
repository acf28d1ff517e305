//! Building responses to requests (RFC 3261 8.2.6) and in-dialog requests (12.2.1.1).

use std::net::SocketAddr;

use crate::message::{reason_phrase, Headers, Message, StartLine};

/// Headers a UAS adds to every response it builds.
pub struct Identity<'a> {
    /// Server header value.
    pub server: &'a str,
    /// Methods listed in Allow.
    pub allow: &'a str,
}

/// Builds a response that copies Via, From, To, Call-ID and CSeq from the request.
///
/// `to_tag` is added to To when the response is above 100 and To has no tag yet. `source` is
/// where the request came from: the top Via gets `received` and a filled `rport` (RFC 3581).
pub fn build(
    req: &Message,
    code: u16,
    to_tag: Option<&str>,
    source: Option<SocketAddr>,
    id: &Identity<'_>,
) -> Message {
    let mut headers = Headers::default();
    let mut first_via = true;
    for h in &req.headers.0 {
        if h.is("Via") {
            let mut value = h.value.clone();
            if first_via {
                if let Some(src) = source {
                    value = stamp_via(&value, src);
                }
                first_via = false;
            }
            headers.push("Via", value);
        }
    }
    for name in ["From", "To", "Call-ID", "CSeq"] {
        if let Some(v) = req.headers.get(name) {
            let mut v = v.to_vec();
            if name == "To" && code > 100 {
                if let Some(tag) = to_tag {
                    if !has_tag(&v) {
                        v.extend_from_slice(format!(";tag={tag}").as_bytes());
                    }
                }
            }
            headers.push(name, v);
        }
    }
    headers.push("Server", id.server);
    if code == 405 || code == 200 || code == 501 {
        headers.push("Allow", id.allow);
    }
    Message {
        start: StartLine::Response { code, reason: reason_phrase(code).as_bytes().to_vec() },
        headers,
        body: Vec::new(),
    }
}

fn has_tag(v: &[u8]) -> bool {
    crate::header::NameAddr::parse(v, "To").map(|n| n.tag().is_some()).unwrap_or(false)
}

/// Adds `received` and a valued `rport` to the first value of a Via header line.
fn stamp_via(value: &[u8], src: SocketAddr) -> Vec<u8> {
    let parts = crate::header::split_outside_quotes(value, b',');
    let first = parts[0];
    let mut out: Vec<u8> = Vec::with_capacity(value.len() + 40);
    for (i, seg) in crate::header::split_outside_quotes(first, b';').into_iter().enumerate() {
        let t = crate::parse::trim(seg);
        if i > 0 {
            out.push(b';');
            if t.eq_ignore_ascii_case(b"rport") {
                out.extend_from_slice(format!("rport={}", src.port()).as_bytes());
                continue;
            }
            if t.len() >= 9 && t[..9].eq_ignore_ascii_case(b"received=") {
                out.truncate(out.len() - 1);
                continue;
            }
        }
        out.extend_from_slice(seg);
    }
    out.extend_from_slice(format!(";received={}", src.ip()).as_bytes());
    for rest in &parts[1..] {
        out.push(b',');
        out.extend_from_slice(rest);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn via_gets_received_and_rport() {
        let v = stamp_via(b"SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKa;rport, SIP/2.0/UDP x", "192.0.2.7:4000".parse().unwrap());
        assert_eq!(v, b"SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKa;rport=4000;received=192.0.2.7, SIP/2.0/UDP x");
    }
}
