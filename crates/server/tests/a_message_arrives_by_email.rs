//! A caller leaves a message; it reaches the business by mail: through the tenant's SMTP
//! server (a real one, aiosmtpd from PyPI, installed by `scripts/setup.sh --test-peers`) with
//! STARTTLS required, to the addresses the agent names, with the summary and the message and,
//! as the agent asks, without the transcript. The mail server is down when the call ends: the
//! tenant sees `email.failed`, the mail waits sealed in the outbox and arrives once the server
//! is back.

use crate::common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{baresip_call, baresip_dir, caller_wav, free_port, self_signed_cert, Api, Part, Server};
use reqwest::{Client, Method, StatusCode};
use serde_json::json;

const NUMBER: &str = "+15557770001";

/// aiosmtpd on `port`, STARTTLS required, keeping what it receives in the Maildir `mail`.
struct MailServer(Child);

impl MailServer {
    fn start(port: u16, cert: &Path, key: &Path, mail: &Path) -> MailServer {
        let server = MailServer(Command::new(common::test_peer("aiosmtpd"))
            .args(["-n", "-l", &format!("127.0.0.1:{port}")])
            .arg("--tlscert")
            .arg(cert)
            .arg("--tlskey")
            .arg(key)
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(mail)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap());
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("aiosmtpd did not start");
    }
}

impl Drop for MailServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The mails in a Maildir, once at least one is there (or after `secs`).
async fn mails(mail: &Path, secs: u64) -> Vec<String> {
    for _ in 0..secs * 5 {
        let new: Vec<String> = std::fs::read_dir(mail.join("new")).map(|d| d.flatten().filter_map(|e| std::fs::read_to_string(e.path()).ok()).collect()).unwrap_or_default();
        if !new.is_empty() {
            return new;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Vec::new()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_left_on_a_call_arrives_by_email() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (cert, key) = self_signed_cert(dir, false);
    let mail = dir.join("mail");
    let smtp_port = free_port();
    let server = Server::start(dir, &["--smtp-tls-ca", cert.to_str().unwrap()]);
    let api = Api { http: Client::new(), base: format!("http://127.0.0.1:{}", server.http_port) };
    let op = common::create_key(&server.data_dir, &["--role", "platform-admin"]);
    assert_eq!(api.call(Method::POST, "/v1/tenants", Some(&op), Some(json!({"id": "t-mail", "name": "Mail"}))).await.0, StatusCode::CREATED);
    let agent = json!({"business": "Acme", "greeting": "Hello, this is Acme.", "hours": "nine to five",
        "email": {"to": ["frontdesk@acme.example", "owner@acme.example"], "only_messages": true}});
    let (s, v) = api.call(Method::PUT, "/v1/tenants/t-mail/agents/front", Some(&op), Some(agent)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["definition"]["email"]["to"][1], "owner@acme.example");
    assert_eq!(api.call(Method::POST, "/v1/tenants/t-mail/numbers", Some(&op), Some(json!({"number": NUMBER, "agent": "front"}))).await.0, StatusCode::CREATED);
    let smtp = json!({"kind": "smtp", "name": "mail", "config": {"host": "127.0.0.1", "port": smtp_port, "from": "parley@acme.example"}, "secret": "unused"});
    assert_eq!(api.call(Method::POST, "/v1/tenants/t-mail/integrations", Some(&op), Some(smtp)).await.0, StatusCode::CREATED);
    let bad = json!({"business": "Acme", "greeting": "Hi.", "email": {"to": ["not an address"]}});
    assert_eq!(api.call(Method::PUT, "/v1/tenants/t-mail/agents/other", Some(&op), Some(bad)).await.0, StatusCode::BAD_REQUEST);

    let wav = caller_wav(dir, &[Part::Silence(3), Part::Say("I would like to speak to a person."), Part::Silence(8), Part::Say("This is Dana, please call me back about my order."), Part::Silence(10)]);
    let caller = baresip_dir(dir, "caller", free_port(), &wav, "+15550100002", None);
    baresip_call(caller, format!("sip:{NUMBER}@127.0.0.1:{}", server.sip_port), 32, dir.join("caller.log")).await;

    let mut failed = false;
    for _ in 0..100 {
        let (_, events) = api.call(Method::GET, "/v1/tenants/t-mail/operational-events", Some(&op), None).await;
        failed = events.to_string().contains("email.failed");
        if failed {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(failed, "the tenant sees the mail server fail: {}", server.log_text());
    let _mail_server = MailServer::start(smtp_port, &cert, &key, &mail);
    let got = mails(&mail, 60).await;
    assert_eq!(got.len(), 1, "one mail: {}", server.log_text());
    let m = &got[0];
    assert!(m.contains("Subject: Message from a caller on +15550100002"), "{m}");
    assert!(m.contains("To: frontdesk@acme.example, owner@acme.example"), "{m}");
    assert!(m.contains("From: parley@acme.example"), "{m}");
    assert!(m.contains("Outcome: message taken"), "{m}");
    let lower = m.to_lowercase();
    assert!(lower.contains("summary: caller asked for: person. caller left a message."), "{m}");
    // The caller's words, as the recognizer heard them (it may miss one or two).
    let message = lower.split("message:\n").nth(1).and_then(|rest| rest.lines().next()).unwrap_or_default();
    let heard = ["dana", "please", "call", "back", "about", "order"].iter().filter(|w| message.contains(*w)).count();
    assert!(heard >= 3, "the caller's words: {m}");
    assert!(!m.contains("Transcript:"), "the agent did not ask for the transcript: {m}");
    // Delivered, the item is gone from the outbox: nothing to retry.
    let (_, calls) = api.call(Method::GET, "/v1/tenants/t-mail/calls", Some(&op), None).await;
    assert_eq!(calls["calls"][0]["outcome"], "message_taken", "{calls}");
}
