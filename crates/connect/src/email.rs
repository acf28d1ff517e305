//! Post-call email: the document rendered as a plain-text mail for the business (summary, the
//! message the caller left, the transcript where the agent asks for it) and sent through the
//! tenant's SMTP server with STARTTLS (or implicit TLS), never in the clear. The server's
//! address goes through the operator's egress policy like every tenant URL: the address checked
//! is the address connected to.

use std::net::SocketAddr;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::Value;

use crate::egress::Egress;

/// Why a mail was not sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The integration or the agent's settings are unusable (a missing host, a bad address).
    #[error("mail settings: {0}")]
    Settings(String),
    /// The server's address is refused by the egress policy, or does not resolve.
    #[error("mail server address refused")]
    Refused,
    /// The server could not be reached, refused the mail or the credentials, or TLS failed.
    #[error("mail server: {0}")]
    Server(String),
}

/// How the connection is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    /// Plain connection upgraded with STARTTLS, which is required (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// A tenant's SMTP server (its `smtp` integration).
#[derive(Clone)]
pub struct Smtp {
    /// Host name (checked against the certificate).
    pub host: String,
    /// Port.
    pub port: u16,
    /// STARTTLS or implicit TLS.
    pub security: Security,
    /// Login, if the server wants one.
    pub username: Option<String>,
    /// Its password (the integration's secret).
    pub password: secrecy::SecretString,
    /// The sender address.
    pub from: String,
}

impl Smtp {
    /// From an `smtp` integration's config (`host`, `port`, `security`: `starttls` or `tls`,
    /// `username`, `from`) and secret.
    pub fn from_config(config: &Value, password: secrecy::SecretString) -> Result<Smtp, MailError> {
        let text = |k: &str| config.get(k).and_then(Value::as_str).map(str::trim).filter(|v| !v.is_empty()).map(String::from);
        let host = text("host").ok_or_else(|| MailError::Settings("host is missing".into()))?;
        let security = match text("security").as_deref() {
            None | Some("starttls") => Security::StartTls,
            Some("tls") => Security::Tls,
            Some(other) => return Err(MailError::Settings(format!("security must be starttls or tls, not {other}"))),
        };
        let default_port = if security == Security::Tls { 465 } else { 587 };
        let port = match config.get("port") {
            None => default_port,
            Some(p) => p.as_u64().and_then(|p| u16::try_from(p).ok()).filter(|p| *p > 0).ok_or_else(|| MailError::Settings("port must be 1 to 65535".into()))?,
        };
        let from = text("from").ok_or_else(|| MailError::Settings("from is missing".into()))?;
        from.parse::<Mailbox>().map_err(|_| MailError::Settings("from is not an address".into()))?;
        Ok(Smtp { host, port, security, username: text("username"), password, from })
    }

    /// Sends `subject` and `body` to `to`, trusting `extra_roots` (PEM) besides the Mozilla
    /// roots, through `egress`.
    pub async fn send(&self, egress: &Egress, extra_roots: &[Vec<u8>], to: &[String], subject: &str, body: String) -> Result<(), MailError> {
        let mut message = Message::builder().from(self.from.parse::<Mailbox>().map_err(|_| MailError::Settings("from is not an address".into()))?).subject(subject).header(ContentType::TEXT_PLAIN);
        for addr in to {
            message = message.to(addr.parse::<Mailbox>().map_err(|_| MailError::Settings(format!("{addr:?} is not an address")))?);
        }
        let message = message.body(body).map_err(|e| MailError::Settings(e.to_string()))?;
        let addr = self.permitted_address(egress).await?;
        let mut tls = TlsParameters::builder(self.host.clone());
        for pem in extra_roots {
            tls = tls.add_root_certificate(Certificate::from_pem(pem).map_err(|e| MailError::Settings(format!("a trusted certificate: {e}")))?);
        }
        let tls = tls.build_rustls().map_err(|e| MailError::Settings(e.to_string()))?;
        let tls = match self.security {
            Security::StartTls => Tls::Required(tls),
            Security::Tls => Tls::Wrapper(tls),
        };
        let mut transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(addr.ip().to_string()).port(addr.port()).tls(tls).timeout(Some(Duration::from_secs(30)));
        if let Some(user) = &self.username {
            use secrecy::ExposeSecret;
            transport = transport.credentials(Credentials::new(user.clone(), self.password.expose_secret().to_string()));
        }
        transport.build().send(message).await.map_err(|e| MailError::Server(coarse(&e)))?;
        Ok(())
    }

    async fn permitted_address(&self, egress: &Egress) -> Result<SocketAddr, MailError> {
        let addrs: Vec<SocketAddr> = match self.host.parse::<std::net::IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, self.port)],
            Err(_) => tokio::net::lookup_host((self.host.as_str(), self.port)).await.map_err(|_| MailError::Refused)?.collect(),
        };
        addrs.into_iter().find(|a| egress.permits(a.ip())).ok_or(MailError::Refused)
    }
}

/// A coarse reason (no server text, which may echo addresses).
fn coarse(e: &lettre::transport::smtp::Error) -> String {
    if e.is_permanent() {
        "rejected".into()
    } else if e.is_transient() {
        "try later".into()
    } else if e.is_timeout() {
        "timed out".into()
    } else if e.is_tls() {
        "tls failed".into()
    } else {
        "unreachable".into()
    }
}

/// The mail for a post-call document: a subject, and a text with the outcome, the summary, the
/// message the caller left, and the transcript when `with_transcript`.
pub fn render(document: &Value, with_transcript: bool) -> (String, String) {
    let s = |k: &str| document.get(k).and_then(Value::as_str).unwrap_or_default();
    let outcome = s("outcome").replace('_', " ");
    let subject = match document.get("message").and_then(Value::as_str) {
        Some(_) => format!("Message from a caller on {}", s("caller")),
        None => format!("Call from {} ({outcome})", s("caller")),
    };
    let mut body = format!("Agent: {}\nCaller: {}\nStarted: {}\nOutcome: {outcome}\n\nSummary: {}\n", s("agent"), s("caller"), s("started_at"), s("summary"));
    if let Some(m) = document.get("message").and_then(Value::as_str) {
        body.push_str(&format!("\nMessage:\n{m}\n"));
    }
    if with_transcript {
        body.push_str("\nTranscript:\n");
        for t in document.get("transcript").and_then(Value::as_array).into_iter().flatten() {
            let speaker = t.get("speaker").and_then(Value::as_str).unwrap_or_default();
            let cut = if t.get("interrupted") == Some(&Value::Bool(true)) { " [cut off]" } else { "" };
            body.push_str(&format!("{speaker}: {}{cut}\n", t.get("text").and_then(Value::as_str).unwrap_or_default()));
        }
    }
    body.push_str(&format!("\nCall {}\n", s("call_id")));
    (subject, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_mail_says_what_the_document_says() {
        let doc = json!({"call_id": "c1", "agent": "front", "caller": "+15550100004", "started_at": "2026-12-01T10:00:00Z", "outcome": "message_taken",
            "summary": "Caller left a message.", "message": "This is Dana, call me back.",
            "transcript": [{"speaker": "agent", "text": "Hello.", "start_ms": 0, "end_ms": 1}, {"speaker": "caller", "text": "This is Dana, call me back.", "start_ms": 2, "end_ms": 3}]});
        let (subject, body) = render(&doc, false);
        assert_eq!(subject, "Message from a caller on +15550100004");
        assert!(body.contains("Outcome: message taken") && body.contains("Message:\nThis is Dana, call me back.\n"), "{body}");
        assert!(!body.contains("Transcript"), "only when the agent asks for it");
        let (_, body) = render(&doc, true);
        assert!(body.contains("Transcript:\nagent: Hello.\ncaller: This is Dana, call me back.\n"), "{body}");
    }

    #[test]
    fn settings_are_checked() {
        let pw = || secrecy::SecretString::from("pw");
        let ok = Smtp::from_config(&json!({"host": "mail.example.com", "from": "parley@example.com"}), pw()).unwrap();
        assert_eq!((ok.port, ok.security), (587, Security::StartTls));
        let tls = Smtp::from_config(&json!({"host": "mail.example.com", "from": "parley@example.com", "security": "tls"}), pw()).unwrap();
        assert_eq!(tls.port, 465);
        for bad in [json!({"from": "a@b.c"}), json!({"host": "h"}), json!({"host": "h", "from": "not an address"}), json!({"host": "h", "from": "a@b.c", "security": "none"}), json!({"host": "h", "from": "a@b.c", "port": 0})] {
            assert!(Smtp::from_config(&bad, pw()).is_err(), "{bad}");
        }
    }
}
