//! The scale-out recipe in deploy/kamailio works: a real Kamailio (Debian package) with the
//! dispatcher module, in front of two `parley serve` nodes on loopback, spreads sipp's calls
//! over both; when one node is drained (SIGTERM with a call still up, so it answers OPTIONS with
//! 503), Kamailio's health checks take it out and every new call lands on the other node,
//! while the drained node finishes its call and then exits.
//!
//! Needs `scripts/setup.sh --test-peers` (kamailio, sipp).

use crate::common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{free_port, invite, Server};

fn sipp_via_proxy(proxy: u16, calls: u32, dir: &std::path::Path) -> (bool, String) {
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sipp/uac_via_proxy.xml");
    let out = Command::new("sipp")
        .args(["-sf", scenario, &format!("127.0.0.1:{proxy}"), "-s", "demo", "-i", "127.0.0.1"])
        .args(["-p", &free_port().to_string(), "-mp", &free_port().to_string(), "-m", &calls.to_string(), "-r", "10", "-d", "300"])
        .args(["-timeout", "60", "-nostdin"])
        .current_dir(dir)
        .output()
        .expect("sipp installed (scripts/setup.sh --test-peers)");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

async fn calls_total(server: &Server) -> u64 {
    let text = reqwest::get(format!("http://127.0.0.1:{}/metrics", server.http_port)).await.unwrap().text().await.unwrap();
    text.lines().find_map(|l| l.strip_prefix("parley_calls_total ")).unwrap().trim().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_spread_over_both_nodes_and_move_off_a_drained_one() {
    let tmp = tempfile::tempdir().unwrap();
    let mut a = Server::start(&tmp.path().join("a"), &["--drain-seconds", "60"]);
    let b = Server::start(&tmp.path().join("b"), &["--drain-seconds", "60"]);
    let list = tmp.path().join("dispatcher.list");
    std::fs::write(&list, format!("1 sip:127.0.0.1:{} 0 0\n1 sip:127.0.0.1:{} 0 0\n", a.sip_port, b.sip_port)).unwrap();
    let proxy = free_port();
    let run_dir = tmp.path().join("kamailio");
    std::fs::create_dir_all(&run_dir).unwrap();
    let cfg = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/kamailio/kamailio.cfg");
    let _kamailio = common::Peer(
        Command::new("kamailio")
            .args(["-f", cfg, "-D", "-E", "-Y"])
            .arg(&run_dir)
            .args(["-A", &format!("LISTEN=udp:127.0.0.1:{proxy}"), "-A", &format!("DISPATCHER_LIST=\"{}\"", list.display()), "-A", "PING_INTERVAL=1"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(tmp.path().join("kamailio.log")).unwrap())
            .spawn()
            .expect("kamailio installed (scripts/setup.sh --test-peers)"),
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let kamailio_log = || std::fs::read_to_string(tmp.path().join("kamailio.log")).unwrap_or_default();

    // Both nodes healthy: calls land on both.
    let (ok, out) = tokio::task::spawn_blocking({
        let dir = tmp.path().to_path_buf();
        move || sipp_via_proxy(proxy, 10, &dir)
    })
    .await
    .unwrap();
    assert!(ok, "calls through Kamailio failed:\n{out}\n{}", kamailio_log());
    let (a_before, b_before) = (calls_total(&a).await, calls_total(&b).await);
    assert_eq!(a_before + b_before, 10, "every call reached a node");
    assert!(a_before >= 3 && b_before >= 3, "round-robin: a {a_before}, b {b_before}");

    // Node a drains with a call still up: 503 to OPTIONS, so Kamailio takes it out.
    let srv_a = format!("127.0.0.1:{}", a.sip_port);
    let leg = tokio::task::spawn_blocking(move || invite(&srv_a, "held-on-a", "+15550100031", "demo", "demo", "").1.unwrap()).await.unwrap();
    a.terminate();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (ok, out) = tokio::task::spawn_blocking({
        let dir = tmp.path().to_path_buf();
        move || sipp_via_proxy(proxy, 10, &dir)
    })
    .await
    .unwrap();
    assert!(ok, "calls after the drain failed:\n{out}\n{}", kamailio_log());
    assert_eq!(calls_total(&a).await, a_before + 1, "only the held call reached the drained node");
    assert_eq!(calls_total(&b).await, b_before + 10, "every new call went to the other node");

    // The drained node finishes its call, then exits.
    tokio::task::spawn_blocking(move || leg.bye("demo")).await.unwrap();
    let Some(status) = a.exited_within(Duration::from_secs(20)) else {
        let log = std::fs::read_to_string(&a.log).unwrap_or_default();
        let ended: Vec<&str> = log.lines().filter(|l| l.contains("call ended") || l.contains("drain")).collect();
        panic!("the drained node did not exit after its last call:\n{}", ended.join("\n"));
    };
    assert!(status.success());
}
