//! RTCP both ways (RFC 3550) on a real call: with `a=rtcp-mux` offered, the answer says
//! `a=rtcp-mux`, and the server sends compound sender reports on the RTP port whose report block
//! about the caller counts the packets the caller left out; a receiver report sent back gives
//! the server a round-trip time; the call's quality ends up in its `call ended` log line.

use crate::common;

use std::time::Duration;

use common::{invite_with_sdp, Server};
use parley_media::rtcp::{compound, parse, ReceiverStats, RtcpPacket};

const OUR_SSRC: u32 = 0x1234_5678;

fn ntp_now() -> parley_media::rtcp::Ntp {
    parley_media::rtcp::ntp_from_unix_micros(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_micros() as u64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sender_reports_count_what_was_lost_and_receiver_reports_give_the_rtt() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path(), &[]);
    let srv = format!("127.0.0.1:{}", server.sip_port);
    let (reports, server_ssrc) = tokio::task::spawn_blocking(move || {
        let (code, leg) = invite_with_sdp(&srv, "rtcp-1", "+15550100041", "demo", "demo", "", "a=rtcp-mux\r\n");
        assert_eq!(code, 200);
        let mut leg = leg.unwrap();
        let (sock, media) = leg.rtp_socket();
        sock.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        let reader = std::thread::spawn(move || {
            let mut reports = Vec::new();
            let mut server_ssrc = None;
            let mut buf = [0u8; 2048];
            let until = std::time::Instant::now() + Duration::from_secs(8);
            while std::time::Instant::now() < until {
                let Ok((n, _)) = sock.recv_from(&mut buf) else { continue };
                if (200..=204).contains(&buf[1]) {
                    reports.push((buf[..n].to_vec(), ntp_now()));
                } else if n >= 12 {
                    server_ssrc = Some(u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]));
                }
            }
            (reports, server_ssrc, sock, media)
        });
        leg.audio(1000, false);
        leg.skip(5);
        leg.audio(5500, false);
        let (reports, server_ssrc, sock, media) = reader.join().unwrap();
        // A receiver report back about the server's stream, answering its last SR.
        let Some((Some(RtcpPacket::SenderReport { ntp, .. }), received_at)) = reports.last().map(|(r, at)| (parse(r).ok().and_then(|p| p.into_iter().next()), *at)) else {
            panic!("no sender report from the server: {reports:?}");
        };
        let mut theirs = ReceiverStats::default();
        theirs.on_rtp(server_ssrc.unwrap(), 1, 0, 0);
        theirs.on_sender_report(ntp, received_at);
        sock.send_to(&compound(OUR_SSRC, None, theirs.report(ntp_now()), "caller@test"), &media).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        leg.bye("demo");
        (reports.into_iter().map(|(r, _)| r).collect::<Vec<_>>(), server_ssrc.unwrap())
    })
    .await
    .unwrap();

    // The first report goes out 2.5 s in, the next 2.5 to 7.5 s later (randomized, RFC 3550 §6.2).
    assert!(!reports.is_empty(), "a sender report within the call");
    let last = parse(reports.last().unwrap()).unwrap();
    let RtcpPacket::SenderReport { ssrc, packets, octets, blocks, .. } = &last[0] else { panic!("{last:?}") };
    assert_eq!(*ssrc, server_ssrc, "the SR is about the server's RTP stream");
    assert!(*packets >= 100 && *octets == packets * 160, "{packets} packets, {octets} octets");
    let about_us = blocks.iter().find(|b| b.ssrc == OUR_SSRC).expect("a report block about the caller");
    assert_eq!(about_us.cumulative_lost, 5, "{about_us:?}");
    assert_eq!(last[1], RtcpPacket::Other(202), "SDES CNAME follows");

    tokio::time::sleep(Duration::from_millis(500)).await;
    let log = std::fs::read_to_string(&server.log).unwrap();
    let ended = log.lines().find(|l| l.contains("\"call ended\"")).expect("call ended line");
    let v: serde_json::Value = serde_json::from_str(ended).unwrap();
    assert_eq!(v["fields"]["packets_lost"], 5, "{ended}");
    let rtt = v["fields"]["rtt_ms"].as_f64().unwrap();
    assert!((0.0..100.0).contains(&rtt), "a loopback round-trip time from our receiver report: {ended}");
}
