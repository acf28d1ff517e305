//! The caller (baresip) asks for a person; the demo agent, configured with a transfer target,
//! says so and sends REFER; the caller's phone accepts it (202, NOTIFY) and calls the front desk
//! (here a UDP socket that records the INVITE it receives). The call record says `transferred`.

mod common;
use common::{free_port, Server};
use std::path::Path;
use std::process::{Command, Stdio};

fn run(cmd: &mut Command) {
    assert!(cmd.status().expect("tool installed (scripts/setup.sh --test-peers)").success(), "{cmd:?}");
}

fn baresip_dir(dir: &Path, name: &str, port: u16, source: &str, account: &str) -> std::path::PathBuf {
    let d = dir.join(name);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(
        d.join("config"),
        format!(
            "sip_listen 127.0.0.1:{port}\nnet_interface 127.0.0.1\naudio_source {source}\naudio_player aufile,/dev/null\n\
             audio_alert aufile,/dev/null\nmodule_path /usr/lib/baresip/modules\nmodule stdio.so\nmodule g711.so\n\
             module aufile.so\nmodule account.so\nmodule menu.so\n"
        ),
    )
    .unwrap();
    std::fs::write(d.join("accounts"), format!("{account}\n")).unwrap();
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asking_for_a_person_transfers_the_call() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let desk_port = free_port();
    let target = format!("sip:frontdesk@127.0.0.1:{desk_port}");
    let mut server = Server::start(dir, &["--demo-transfer-to", &target]);

    let raw = dir.join("raw.wav");
    let ask = dir.join("ask.wav");
    let sil = dir.join("sil.wav");
    let caller_wav = dir.join("caller.wav");
    run(Command::new("espeak-ng").args(["-v", "en-us", "-s", "140", "-w"]).arg(&raw).arg("I would like to speak to a person."));
    run(Command::new("sox").arg(&raw).args(["-r", "8000", "-c", "1", "-b", "16"]).arg(&ask));
    run(Command::new("sox").args(["-n", "-r", "8000", "-c", "1", "-b", "16"]).arg(&sil).args(["trim", "0", "3"]));
    let long_sil = dir.join("sil20.wav");
    run(Command::new("sox").args(["-n", "-r", "8000", "-c", "1", "-b", "16"]).arg(&long_sil).args(["trim", "0", "20"]));
    run(Command::new("sox").arg(&sil).arg(&ask).arg(&long_sil).arg(&caller_wav));

    // The front desk: a UDP socket on the target's port that records what reaches it.
    let desk = std::net::UdpSocket::bind(("127.0.0.1", desk_port)).unwrap();
    desk.set_read_timeout(Some(std::time::Duration::from_secs(35))).unwrap();
    let desk_thread = std::thread::spawn(move || {
        let mut buf = [0u8; 65535];
        match desk.recv_from(&mut buf) {
            Ok((n, _)) => String::from_utf8_lossy(&buf[..n]).into_owned(),
            Err(_) => String::new(),
        }
    });
    let caller_port = free_port();
    let caller = baresip_dir(
        dir,
        "caller",
        caller_port,
        &format!("aufile,{}", caller_wav.display()),
        &format!("<sip:+15550100002@127.0.0.1:{caller_port}>;auth_pass=none;regint=0"),
    );
    let caller_log = std::fs::File::create(dir.join("caller.log")).unwrap();
    let sip_port = server.sip_port;
    let status = tokio::task::spawn_blocking(move || {
        Command::new("baresip")
            .arg("-f")
            .arg(&caller)
            .args(["-e", &format!("/dial sip:demo@127.0.0.1:{sip_port}"), "-t", "30"])
            .stdout(caller_log)
            .stderr(Stdio::null())
            .status()
    })
    .await
    .unwrap()
    .unwrap();
    assert!(status.success());
    server.stop();

    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(log.contains("transfer requested"), "agent asked for the transfer");
    let desk_got = desk_thread.join().unwrap();
    assert!(desk_got.starts_with(&format!("INVITE sip:frontdesk@127.0.0.1:{desk_port}")), "the caller's phone called the front desk: {desk_got:?}");
    assert!(log.contains(r#""code":202"#), "REFER accepted");
    let caller_out = std::fs::read_to_string(dir.join("caller.log")).unwrap();
    assert!(caller_out.to_lowercase().contains("transfer"), "the caller's phone followed the REFER");

    let store = parley_store::Store::open(&server.data_dir).await.unwrap();
    let calls = store.calls("demo", 10).await.unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].outcome, "transferred");
}
