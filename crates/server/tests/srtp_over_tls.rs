//! Encrypted media: a real softphone (baresip with its srtp module, `mediaenc=srtp-mand`) calls
//! over SIP/TLS and offers RTP/SAVP with an SDES key; Parley answers with its own key, and both
//! directions are SRTP: the phone hears the agent (it discards what it cannot decrypt), and
//! Parley counts the phone's packets (it discards what does not authenticate). SDES keys over
//! plain UDP are refused with 488: they would cross the network in clear.

use crate::common;

use std::net::UdpSocket;
use std::time::Duration;

use common::{files_under, free_port, free_tcp_port, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_softphone_talks_srtp_over_tls() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (cert, key) = common::self_signed_cert(dir, true);
    let tls_port = free_tcp_port();
    let listen = format!("127.0.0.1:{tls_port}");
    let server = Server::start(&dir.join("srv"), &["--sip-tls-listen", &listen, "--sip-tls-cert", cert.to_str().unwrap(), "--sip-tls-key", key.to_str().unwrap()]);

    // baresip: TLS trusting our certificate, SRTP mandatory.
    let wav = common::caller_wav(dir, &[common::Part::Silence(12)]);
    let rec = dir.join("rec");
    std::fs::create_dir_all(&rec).unwrap();
    let phone = dir.join("phone");
    std::fs::create_dir_all(&phone).unwrap();
    let port = free_port();
    std::fs::write(
        phone.join("config"),
        format!(
            "sip_listen 127.0.0.1:{port}\nsip_cafile {}\nnet_interface 127.0.0.1\naudio_source aufile,{}\naudio_player aufile,/dev/null\n\
             audio_alert aufile,/dev/null\nmodule_path /usr/lib/baresip/modules\nmodule stdio.so\nmodule g711.so\nmodule aufile.so\n\
             module sndfile.so\nsnd_path {}\nmodule srtp.so\nmodule account.so\nmodule menu.so\n",
            cert.display(),
            wav.display(),
            rec.display()
        ),
    )
    .unwrap();
    std::fs::write(phone.join("accounts"), "<sip:+15550100002@127.0.0.1;transport=tls>;auth_pass=none;regint=0;mediaenc=srtp-mand\n").unwrap();
    let target = format!("sip:demo@127.0.0.1:{tls_port};transport=tls");
    let phone_log = common::baresip_call(phone, target, 12, dir.join("phone.log")).await;
    assert!(phone_log.contains("Call established"), "{phone_log}\n{}", server.log_text());
    assert!(phone_log.contains("SRTP is Enabled (cryptosuite=AES_CM_128_HMAC_SHA1_80)"), "the phone used SRTP: {phone_log}");

    // The phone decrypted the agent's greeting.
    let heard = files_under(&rec).into_iter().find(|p| p.to_string_lossy().ends_with("-dec.wav")).expect("baresip recorded the call");
    assert!(common::wav_rms(&heard) > 300.0, "agent speech decrypted by the phone, rms {}", common::wav_rms(&heard));

    // Parley decrypted the phone's packets (it hung up after 12 s, so the call has ended).
    let mut received = 0;
    for _ in 0..50 {
        let text = server.log_text();
        if let Some(line) = text.lines().find(|l| l.contains("\"call ended\"")) {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            received = v["fields"]["packets_received"].as_u64().unwrap_or(0);
            assert_eq!(v["fields"]["transport"].as_str().unwrap_or("tls"), "tls");
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(received > 200, "the phone's SRTP was authenticated and decrypted: {received} packets");
}

#[test]
fn sdes_over_plain_udp_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path(), &[]);
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let local = sock.local_addr().unwrap();
    let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/SAVP 0\r\n\
               a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\r\n";
    let invite = format!(
        "INVITE sip:demo@127.0.0.1:{p} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKsdes1\r\nMax-Forwards: 70\r\nFrom: <sip:+15550100009@127.0.0.1>;tag=s1\r\n\
         To: <sip:demo@127.0.0.1>\r\nCall-ID: sdes-udp\r\nCSeq: 1 INVITE\r\nContact: <sip:caller@{local}>\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len(),
        p = server.sip_port
    );
    sock.send_to(invite.as_bytes(), ("127.0.0.1", server.sip_port)).unwrap();
    let mut buf = [0u8; 4096];
    let code = loop {
        let (n, _) = sock.recv_from(&mut buf).unwrap();
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        let code: u16 = text[8..11].parse().unwrap();
        if code >= 200 {
            break code;
        }
    };
    assert_eq!(code, 488);
    assert!(server.log_text().contains("srtp_needs_tls"));
}
