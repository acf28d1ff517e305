//! The caller types order numbers on the keypad: as RFC 4733 telephone-events over RTP (1005),
//! then as SIP INFO application/dtmf-relay (1003 then #). The post-call document shows the agent
//! looked up both orders and answered with their details.

use crate::common;
use common::{send_digit, wait_final, Server, WebhookReceiver};
use std::net::UdpSocket;
use std::time::Duration;

fn sip(sock: &UdpSocket, server: &str, msg: String) {
    sock.send_to(msg.as_bytes(), server).unwrap();
}


#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_typed_on_the_keypad_are_looked_up() {
    let hook = WebhookReceiver::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path(), &["--demo-webhook", &hook.url]);
    let srv = format!("127.0.0.1:{}", server.sip_port);

    tokio::task::spawn_blocking(move || {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        let local = sock.local_addr().unwrap();
        let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let sdp = format!(
            "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {} RTP/AVP 0 101\r\n\
             a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n",
            rtp.local_addr().unwrap().port()
        );
        let head = |method: &str, branch: &str, to_tag: &str, cseq: u32| {
            format!(
                "{method} sip:demo@{srv} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch={branch}\r\nMax-Forwards: 70\r\n\
                 From: <sip:+15550100005@127.0.0.1>;tag=k1\r\nTo: <sip:demo@{srv}>{to_tag}\r\nCall-ID: keypad-1\r\n\
                 CSeq: {cseq} {method}\r\nContact: <sip:kp@{local}>\r\n"
            )
        };
        sip(&sock, &srv, format!("{}Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}", head("INVITE", "z9hG4bKk1", "", 1), sdp.len()));
        let ok = wait_final(&sock, "INVITE");
        let to = ok.lines().find(|l| l.starts_with("To:")).unwrap();
        let tag = format!(";tag={}", to.split("tag=").nth(1).unwrap().trim());
        let media = ok.lines().find_map(|l| l.strip_prefix("m=audio ")).unwrap().split(' ').next().unwrap().to_string();
        let dest = format!("127.0.0.1:{media}");
        sip(&sock, &srv, format!("{}Content-Length: 0\r\n\r\n", head("ACK", "z9hG4bKk2", &tag, 1)));

        // RFC 4733: 1 0 0 5.
        let mut seq = 100;
        for (i, ev) in [1u8, 0, 0, 5].into_iter().enumerate() {
            send_digit(&rtp, &dest, &mut seq, 8000 * (i as u32 + 1), ev);
        }
        // SIP INFO: 1 0 0 3 #.
        for (i, key) in ["1", "0", "0", "3", "#"].into_iter().enumerate() {
            let body = format!("Signal={key}\r\nDuration=160\r\n");
            let cseq = 2 + i as u32;
            sip(&sock, &srv, format!("{}Content-Type: application/dtmf-relay\r\nContent-Length: {}\r\n\r\n{body}", head("INFO", &format!("z9hG4bKi{i}"), &tag, cseq), body.len()));
            assert!(wait_final(&sock, "INFO").starts_with("SIP/2.0 200"));
        }
        std::thread::sleep(Duration::from_secs(1));
        sip(&sock, &srv, format!("{}Content-Length: 0\r\n\r\n", head("BYE", "z9hG4bKk9", &tag, 20)));
        assert!(wait_final(&sock, "BYE").starts_with("SIP/2.0 200"));
    })
    .await
    .unwrap();

    let (_, body) = hook.document().await;
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let lookups: Vec<(String, String)> = doc["tool_calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["argument"].as_str().unwrap().to_string(), t["result"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(lookups, vec![("number 1005".into(), "found".into()), ("number 1003".into(), "found".into())]);
    let agent: String = doc["transcript"].as_array().unwrap().iter().filter(|t| t["speaker"] == "agent").map(|t| t["text"].as_str().unwrap()).collect();
    assert!(agent.contains("for Evan Brooks, is cancelled"), "{agent}");
    assert!(agent.contains("for Carla Diaz, is processing"), "{agent}");
    assert_eq!(doc["caller"], "+15550100005");
    drop(server);
}
