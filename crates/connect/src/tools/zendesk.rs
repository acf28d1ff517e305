//! `zendesk.create_ticket`: a ticket in the tenant's Zendesk Support, for the team to follow up
//! on a call: `POST {base}/api/v2/tickets.json` with `{"ticket": {subject, comment: {body,
//! public: false}, tags}}` (<https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#create-ticket>),
//! authenticated with an API token as `{email}/token:{token}` in HTTP Basic
//! (<https://developer.zendesk.com/api-reference/introduction/security-and-auth/>). The caller's
//! name and number go in the private first comment (a phone caller has no email for a requester).
//! `429` carries `Retry-After` (<https://developer.zendesk.com/api-reference/introduction/rate-limits/>):
//! a short wait is waited once.

use std::time::Duration;

use parley_agent::tools::ToolOutcome;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Map, Value};

/// A Zendesk account.
pub struct Zendesk {
    http: reqwest::Client,
    base: String,
    email: String,
    token: SecretString,
}

/// Why a ticket could not be created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZendeskError {
    /// The credentials were refused.
    #[error("zendesk refused the credentials ({0})")]
    Unauthorized(u16),
    /// Rate limited for longer than a caller can wait.
    #[error("zendesk is rate limiting")]
    RateLimited,
    /// Another status.
    #[error("zendesk answered {0}")]
    Status(u16),
    /// No answer.
    #[error("zendesk could not be reached")]
    Unreachable,
    /// An answer without the ticket.
    #[error("zendesk's answer was not understood")]
    Malformed,
}


impl Zendesk {
    /// The account at `base` (`https://acme.zendesk.com`), signing in as `email` with an API token.
    pub fn new(http: reqwest::Client, base: &str, email: &str, token: SecretString) -> Zendesk {
        Zendesk { http, base: base.trim_end_matches('/').to_string(), email: email.to_string(), token }
    }

    /// `create_ticket` with `subject`, `description`, `name`, `phone`.
    pub async fn create_ticket(&self, args: &Map<String, Value>) -> Result<ToolOutcome, ZendeskError> {
        let subject = match super::arg_text(args, "subject") {
            s if s.is_empty() => "Phone call".to_string(),
            s => s,
        };
        let body = format!("{}\n\nCaller: {} ({})\nOpened by the Parley phone assistant.", super::arg_text(args, "description"), super::arg_text(args, "name"), super::arg_text(args, "phone"));
        let ticket = json!({"ticket": {"subject": subject, "comment": {"body": body, "public": false}, "tags": ["parley", "phone"]}});
        let mut retried = false;
        loop {
            let response = self.http.post(format!("{}/api/v2/tickets.json", self.base)).basic_auth(format!("{}/token", self.email), Some(self.token.expose_secret())).json(&ticket).send().await.map_err(|_| ZendeskError::Unreachable)?;
            let status = response.status().as_u16();
            match status {
                201 | 200 => {
                    let v: Value = response.json().await.map_err(|_| ZendeskError::Malformed)?;
                    let id = v.pointer("/ticket/id").and_then(Value::as_u64).ok_or(ZendeskError::Malformed)?;
                    return Ok(ToolOutcome::Done { outcome: "created".into(), data: json!({"ticket": id, "summary": format!("ticket {id} opened")}) });
                }
                401 | 403 => return Err(ZendeskError::Unauthorized(status)),
                429 if !retried => {
                    let wait = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok()).unwrap_or(60);
                    if wait > 2 {
                        return Err(ZendeskError::RateLimited);
                    }
                    retried = true;
                    tokio::time::sleep(Duration::from_secs(wait)).await;
                }
                429 => return Err(ZendeskError::RateLimited),
                s => return Err(ZendeskError::Status(s)),
            }
        }
    }
}
