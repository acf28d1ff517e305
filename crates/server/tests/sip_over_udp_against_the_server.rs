//! What a carrier or softphone sees from `parley serve` over real UDP: OPTIONS answered, unknown
//! user 404, a malformed request 400 while a call is up (and that call unharmed), more calls than
//! capacity 503, RTP flowing with consecutive sequence numbers, CANCEL before answer 487.

use crate::common;
use common::Server;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

struct Phone {
    sock: UdpSocket,
    server: String,
    local: String,
}

impl Phone {
    fn new(sip_port: u16) -> Phone {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        let local = sock.local_addr().unwrap().to_string();
        Phone { sock, server: format!("127.0.0.1:{sip_port}"), local }
    }

    fn send(&self, msg: &str) {
        self.sock.send_to(msg.as_bytes(), &self.server).unwrap();
    }

    /// Waits for a final response (>= 200) whose CSeq method is `method`; returns all statuses seen
    /// for it and the final message.
    fn final_response(&self, method: &str) -> (Vec<u16>, String) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut seen = Vec::new();
        let mut buf = [0u8; 65535];
        while Instant::now() < deadline {
            let Ok((n, _)) = self.sock.recv_from(&mut buf) else { continue };
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            if !text.starts_with("SIP/2.0 ") {
                continue;
            }
            let cseq = text.lines().find(|l| l.to_ascii_lowercase().starts_with("cseq:")).unwrap_or("");
            if !cseq.trim_end().ends_with(method) {
                continue;
            }
            let code: u16 = text[8..11].parse().unwrap();
            seen.push(code);
            if code >= 200 {
                return (seen, text);
            }
        }
        panic!("no final response to {method}; saw {seen:?}");
    }

    #[allow(clippy::too_many_arguments)]
    fn request(&self, method: &str, user: &str, call_id: &str, branch: &str, to_tag: &str, cseq: u32, sdp: Option<&str>) -> String {
        let body = sdp.unwrap_or("");
        let ct = if sdp.is_some() { "Content-Type: application/sdp\r\n" } else { "" };
        format!(
            "{method} sip:{user}@{srv} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch={branch};rport\r\nMax-Forwards: 70\r\n\
             From: <sip:+15550100009@127.0.0.1>;tag=t1\r\nTo: <sip:{user}@{srv}>{to_tag}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} {method}\r\n\
             Contact: <sip:tester@{local}>\r\n{ct}Content-Length: {}\r\n\r\n{body}",
            body.len(),
            srv = self.server,
            local = self.local,
        )
    }
}

fn tag_of(resp: &str) -> String {
    let to = resp.lines().find(|l| l.starts_with("To:")).unwrap();
    format!(";tag={}", to.split("tag=").nth(1).unwrap().trim())
}

#[test]
fn signaling_and_media_as_a_peer_sees_them() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path(), &["--max-calls", "1"]);
    let phone = Phone::new(server.sip_port);

    phone.send(&phone.request("OPTIONS", "demo", "opt-1", "z9hG4bKopt1", "", 1, None));
    let (_, ok) = phone.final_response("OPTIONS");
    assert!(ok.starts_with("SIP/2.0 200"), "{ok}");

    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    rtp.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let sdp = format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {} RTP/AVP 8 0 101\r\n\
         a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n",
        rtp.local_addr().unwrap().port()
    );

    phone.send(&phone.request("INVITE", "nobody", "inv-404", "z9hG4bK404", "", 1, Some(&sdp)));
    let (codes, resp) = phone.final_response("INVITE");
    assert_eq!(codes, vec![100, 404]);
    phone.send(&phone.request("ACK", "nobody", "inv-404", "z9hG4bK404", &tag_of(&resp), 1, None));

    // A call to the demo agent: answered with PCMA (the offer's first choice) and RTP flowing.
    phone.send(&phone.request("INVITE", "demo", "call-a", "z9hG4bKa1", "", 1, Some(&sdp)));
    let (codes, ok) = phone.final_response("INVITE");
    assert_eq!(codes, vec![100, 180, 200]);
    assert!(ok.contains("m=audio ") && ok.contains(" RTP/AVP 8 101\r\n"), "{ok}");
    let tag_a = tag_of(&ok);
    phone.send(&phone.request("ACK", "demo", "call-a", "z9hG4bKa2", &tag_a, 1, None));
    let mut buf = [0u8; 2048];
    let mut seqs = Vec::new();
    while seqs.len() < 25 {
        let (n, _) = rtp.recv_from(&mut buf).expect("RTP from the agent");
        assert!(n >= 12 + 160, "20 ms of G.711 per packet");
        assert_eq!(buf[1] & 0x7f, 8, "PCMA payload type");
        seqs.push(u16::from_be_bytes([buf[2], buf[3]]));
    }
    assert!(seqs.windows(2).all(|w| w[1] == w[0].wrapping_add(1)), "consecutive sequence numbers");

    // Garbage with a valid Via gets 400 and harms nothing.
    let bad = phone.request("INVITE", "demo", "bad-1", "z9hG4bKbad", "", 1, None).replace("CSeq: 1 INVITE", "CSeq: 1 OPTIONS");
    phone.send(&bad);
    let (_, resp) = phone.final_response("OPTIONS");
    assert!(resp.starts_with("SIP/2.0 400"), "{resp}");

    // Capacity is one call: the second gets 503.
    phone.send(&phone.request("INVITE", "demo", "call-b", "z9hG4bKb1", "", 1, Some(&sdp)));
    let (codes, resp) = phone.final_response("INVITE");
    assert_eq!(codes.last(), Some(&503));
    phone.send(&phone.request("ACK", "demo", "call-b", "z9hG4bKb1", &tag_of(&resp), 1, None));

    // Call A is still up: media still flows, and our BYE is answered 200.
    assert!(rtp.recv_from(&mut buf).is_ok(), "call A's media unharmed");
    phone.send(&phone.request("BYE", "demo", "call-a", "z9hG4bKa3", &tag_a, 2, None));
    let (_, resp) = phone.final_response("BYE");
    assert!(resp.starts_with("SIP/2.0 200"), "{resp}");

    // CANCEL before the answer can only be raced over the network; the sans-IO endpoint tests
    // cover it deterministically (crates/sip/tests/cancel_before_answer.rs). Here: a CANCEL for a
    // call already answered is answered 200 and the call goes on to a BYE.
    phone.send(&phone.request("INVITE", "demo", "call-c", "z9hG4bKc1", "", 1, Some(&sdp)));
    let (_, ok) = phone.final_response("INVITE");
    phone.send(&phone.request("CANCEL", "demo", "call-c", "z9hG4bKc1", "", 1, None));
    let (_, resp) = phone.final_response("CANCEL");
    assert!(resp.starts_with("SIP/2.0 200"), "{resp}");
    phone.send(&phone.request("ACK", "demo", "call-c", "z9hG4bKc2", &tag_of(&ok), 1, None));
    phone.send(&phone.request("BYE", "demo", "call-c", "z9hG4bKc3", &tag_of(&ok), 2, None));
    let (_, resp) = phone.final_response("BYE");
    assert!(resp.starts_with("SIP/2.0 200"), "{resp}");

    // The call records: two answered calls and the refused one, with its routing decision.
    let mut server = server;
    server.stop();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let calls = rt.block_on(async { common::demo_calls(&server.data_dir).await });
    let mut routing: Vec<&str> = calls.iter().map(|c| c.routing.as_str()).collect();
    routing.sort();
    assert_eq!(routing, vec!["agent:demo", "agent:demo", "rejected:503"]);
}
