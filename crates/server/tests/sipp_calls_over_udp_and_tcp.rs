//! sipp (Debian's sip-tester), a SIP peer this project did not write, places calls to the demo
//! agent with its built-in `uac` scenario (INVITE, 100/180/200, ACK, two seconds of call, BYE)
//! over UDP and over TCP; every call must succeed (sipp exits 0 only then).

use crate::common;
use common::{free_port, Server};
use std::process::Command;

fn sipp(server: &Server, transport: &str, calls: u32) -> (bool, String) {
    let out = Command::new("sipp")
        .args(["-sn", "uac", &format!("127.0.0.1:{}", server.sip_port), "-s", "demo", "-i", "127.0.0.1"])
        .args(["-p", &free_port().to_string(), "-mp", &free_port().to_string(), "-t", transport])
        .args(["-m", &calls.to_string(), "-r", "2", "-d", "2000", "-timeout", "60", "-nostdin", "-max_socket", "100"])
        .current_dir(server.data_dir.parent().unwrap())
        .output()
        .expect("sipp installed (scripts/setup.sh --test-peers)");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

#[test]
fn sipp_calls_succeed_over_udp_and_tcp() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path(), &[]);
    let (ok, out) = sipp(&server, "u1", 4);
    assert!(ok, "UDP calls failed:\n{out}");
    let (ok, out) = sipp(&server, "t1", 4);
    assert!(ok, "TCP calls failed:\n{out}");
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert_eq!(log.matches("\"call ended\"").count(), 8, "eight calls answered and ended");
    assert_eq!(log.matches(r#""transport":"tcp""#).count(), 4);
}
