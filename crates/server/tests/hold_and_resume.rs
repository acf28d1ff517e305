//! A caller puts the agent on hold with a re-INVITE (`a=sendonly`): the answer is `recvonly`
//! with a new SDP version and the agent's RTP stops; a second re-INVITE (`a=sendrecv`) resumes
//! it. A re-INVITE with Session-Expires refreshes the session timer the INVITE started. A
//! re-INVITE that offers only PCMA changes the codec: the answer says PCMA and the agent's RTP
//! switches to it.

use crate::common;

use std::time::Duration;

use common::{invite, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_stops_the_agents_media_and_resume_restarts_it() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path(), &[]);
    let srv = format!("127.0.0.1:{}", server.sip_port);
    tokio::task::spawn_blocking(move || {
        let (code, leg) = invite(&srv, "hold-1", "+15550100051", "demo", "demo", "Session-Expires: 1800\r\nSupported: timer\r\n");
        assert_eq!(code, 200);
        let leg = leg.unwrap();
        assert!(leg.count_rtp(Duration::from_millis(600)) >= 20, "the greeting flows");

        let held = leg.reinvite("demo", 2, "sendonly");
        assert!(held.starts_with("SIP/2.0 200"), "{held}");
        assert!(held.contains("a=recvonly\r\n"), "{held}");
        assert!(held.contains("Session-Expires: 1800;refresher=uac"), "the refresh is confirmed: {held}");
        std::thread::sleep(Duration::from_millis(200));
        let on_hold = leg.count_rtp(Duration::from_millis(1000));
        assert!(on_hold <= 2, "no media while on hold: {on_hold} packets");

        let resumed = leg.reinvite("demo", 3, "sendrecv");
        assert!(resumed.contains("a=sendrecv\r\n"), "{resumed}");
        assert!(leg.count_rtp(Duration::from_millis(1000)) >= 40, "media again after resume");

        assert!(leg.rtp_payload_types(Duration::from_millis(300)).iter().all(|&pt| pt == 0), "PCMU so far");
        let changed = leg.reinvite_with("demo", 4, "8", "sendrecv");
        assert!(changed.contains("m=audio ") && changed.contains(" RTP/AVP 8 101\r\n") && changed.contains("a=rtpmap:8 PCMA/8000"), "{changed}");
        std::thread::sleep(Duration::from_millis(100));
        let pts = leg.rtp_payload_types(Duration::from_millis(600));
        assert!(pts.len() >= 20 && pts.iter().all(|&pt| pt == 8), "the agent now sends PCMA: {pts:?}");
        leg.bye("demo");
    })
    .await
    .unwrap();
}
