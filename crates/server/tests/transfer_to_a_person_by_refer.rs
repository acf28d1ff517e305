//! The caller (baresip) asks for a person; the demo agent, configured with a transfer target,
//! says so and sends REFER; the caller's phone accepts it (202, NOTIFY) and calls the front desk
//! (here a UDP socket that records the INVITE it receives). The call record says `transferred`.

use crate::common;
use common::{baresip_call, baresip_dir, caller_wav, free_port, Part, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asking_for_a_person_transfers_the_call() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let desk_port = free_port();
    let mut server = Server::start(dir, &["--demo-transfer-to", &format!("sip:frontdesk@127.0.0.1:{desk_port}")]);

    // The front desk: a UDP socket on the target's port that records what reaches it.
    let desk = std::net::UdpSocket::bind(("127.0.0.1", desk_port)).unwrap();
    desk.set_read_timeout(Some(std::time::Duration::from_secs(35))).unwrap();
    let desk_thread = std::thread::spawn(move || {
        let mut buf = [0u8; 65535];
        desk.recv_from(&mut buf).map(|(n, _)| String::from_utf8_lossy(&buf[..n]).into_owned()).unwrap_or_default()
    });

    let wav = caller_wav(dir, &[Part::Silence(3), Part::Say("I would like to speak to a person."), Part::Silence(20)]);
    let caller = baresip_dir(dir, "caller", free_port(), &wav, "+15550100002", None);
    let caller_out = baresip_call(caller, format!("sip:demo@127.0.0.1:{}", server.sip_port), 30, dir.join("caller.log")).await;
    server.stop();

    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(log.contains("transfer requested"), "agent asked for the transfer");
    assert!(log.contains(r#""code":202"#), "REFER accepted");
    let desk_got = desk_thread.join().unwrap();
    assert!(desk_got.starts_with(&format!("INVITE sip:frontdesk@127.0.0.1:{desk_port}")), "the caller's phone called the front desk: {desk_got:?}");
    assert!(caller_out.to_lowercase().contains("transfer"), "the caller's phone followed the REFER");

    let calls = common::demo_calls(&server.data_dir).await;
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].outcome, "transferred");
}
