//! SIP over TLS (rustls): with a certificate (here self-signed by openssl for 127.0.0.1), the
//! server listens for TLS; a client that trusts the certificate sends OPTIONS and a whole call
//! (INVITE, 200 with a `;transport=tls` Contact, ACK, BYE) over one encrypted connection, and the
//! call is recorded as `tls`. Plain text to the TLS port gets no SIP answer.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::{free_tcp_port, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

/// Reads until a response with a final status (for `method`) is complete.
async fn final_response<S: AsyncReadExt + Unpin>(s: &mut S, method: &str) -> String {
    let mut text = String::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(found) = text.split("SIP/2.0 ").filter(|r| !r.is_empty()).find(|r| !r.starts_with('1') && r.contains(&format!(" {method}\r\n")) && r.contains("\r\n\r\n")) {
            return format!("SIP/2.0 {found}");
        }
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf)).await.expect("a response in time").unwrap();
        assert!(n > 0, "connection closed; got: {text}");
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_over_tls() {
    let tmp = tempfile::tempdir().unwrap();
    let (cert, key) = common::self_signed_cert(tmp.path(), false);
    let tls_port = free_tcp_port();
    let listen = format!("127.0.0.1:{tls_port}");
    let server = Server::start(&tmp.path().join("srv"), &["--sip-tls-listen", &listen, "--sip-tls-cert", cert.to_str().unwrap(), "--sip-tls-key", key.to_str().unwrap()]);

    let mut roots = RootCertStore::empty();
    roots.add(CertificateDer::from_pem_file(&cert).unwrap()).unwrap();
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider).with_safe_default_protocol_versions().unwrap().with_root_certificates(roots).with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(&listen).await.unwrap();
    let local = tcp.local_addr().unwrap();
    let mut tls = connector.connect(ServerName::IpAddress("127.0.0.1".parse::<std::net::IpAddr>().unwrap().into()), tcp).await.expect("handshake with the server's certificate");

    let req = |method: &str, cseq: u32, to_tag: &str, body: &str| {
        let ctype = if body.is_empty() { String::new() } else { "Content-Type: application/sdp\r\n".to_string() };
        format!(
            "{method} sip:demo@{listen};transport=tls SIP/2.0\r\nVia: SIP/2.0/TLS {local};branch=z9hG4bKtls{cseq}{method}\r\nMax-Forwards: 70\r\n\
             From: <sip:+15550100061@127.0.0.1>;tag=tl1\r\nTo: <sip:demo@{listen}>{to_tag}\r\nCall-ID: tls-call-1\r\nCSeq: {cseq} {method}\r\n\
             Contact: <sip:caller@{local};transport=tls>\r\n{ctype}Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    tls.write_all(req("OPTIONS", 1, "", "").as_bytes()).await.unwrap();
    let options = final_response(&mut tls, "OPTIONS").await;
    assert!(options.starts_with("SIP/2.0 200"), "{options}");

    let rtp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let sdp = format!("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n", rtp.local_addr().unwrap().port());
    tls.write_all(req("INVITE", 2, "", &sdp).as_bytes()).await.unwrap();
    let ok = final_response(&mut tls, "INVITE").await;
    assert!(ok.starts_with("SIP/2.0 200"), "{ok}");
    assert!(ok.contains(";transport=tls>"), "Contact over TLS: {ok}");
    let tag = format!(";tag={}", ok.lines().find(|l| l.starts_with("To:")).unwrap().split("tag=").nth(1).unwrap().trim());
    tls.write_all(req("ACK", 2, &tag, "").as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    tls.write_all(req("BYE", 3, &tag, "").as_bytes()).await.unwrap();
    assert!(final_response(&mut tls, "BYE").await.starts_with("SIP/2.0 200"));

    // Plain text to the TLS port is not SIP there.
    let mut plain = tokio::net::TcpStream::connect(&listen).await.unwrap();
    plain.write_all(req("OPTIONS", 9, "", "").as_bytes()).await.unwrap();
    let mut buf = [0u8; 1024];
    let got = tokio::time::timeout(Duration::from_secs(3), plain.read(&mut buf)).await;
    assert!(!matches!(got, Ok(Ok(n)) if n > 0 && buf[..n].starts_with(b"SIP/2.0")), "no SIP answer in clear text");

    tokio::time::sleep(Duration::from_millis(500)).await;
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(log.contains(r#""transport":"tls""#), "the call was taken over TLS");
}
