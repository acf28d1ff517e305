//! Twilio's REST API for calls on Media Streams. A transfer cannot be a SIP REFER there: the
//! live call is redirected to new TwiML, `<Dial>` to the transfer target, with "Update a Call":
//! `POST /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json`, form field `Twiml`, HTTP
//! Basic auth with the account SID and auth token. Twilio then stops the stream and runs the
//! `<Dial>`.
//!
//! Wire format: <https://www.twilio.com/docs/voice/api/call-resource#update-a-call-resource>,
//! <https://www.twilio.com/docs/voice/twiml/dial>, <https://www.twilio.com/docs/usage/requests-to-twilio>.

use std::time::Duration;

/// Twilio's API.
pub const API_BASE: &str = "https://api.twilio.com";

/// A client for one account's calls.
pub struct TwilioCalls {
    http: reqwest::Client,
    base: String,
    account_sid: String,
}

impl TwilioCalls {
    /// A client for `account_sid` at `base` (`https://api.twilio.com`; `http://127.0.0.1:...`
    /// for a local fake); `None` for any other base.
    /// The base is a tenant's setting, so it goes through the outgoing-HTTP policy `egress`.
    pub fn new(base: &str, account_sid: &str, egress: &crate::egress::Egress) -> Option<TwilioCalls> {
        let base = egress.api_base(base).ok()?;
        Some(TwilioCalls { http: egress.client(Duration::from_secs(10)), base, account_sid: account_sid.to_string() })
    }

    /// Redirects the live call `call_sid` to `<Dial>` `target` (a SIP URI or an E.164 number);
    /// Twilio's status code (200 when done), or 503 when Twilio could not be reached.
    pub async fn transfer(&self, auth_token: &str, call_sid: &str, target: &str) -> u16 {
        let url = format!("{}/2010-04-01/Accounts/{}/Calls/{}.json", self.base, self.account_sid, call_sid);
        let sent = self.http.post(url).basic_auth(&self.account_sid, Some(auth_token)).form(&[("Twiml", dial_twiml(target))]).send().await;
        sent.map(|r| r.status().as_u16()).unwrap_or(503)
    }
}

/// `<Response><Dial>` to a SIP URI (`<Sip>`) or a phone number (`<Number>`).
pub fn dial_twiml(target: &str) -> String {
    let escaped = target.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let inner = if target.starts_with("sip:") || target.starts_with("sips:") {
        format!("<Sip>{escaped}</Sip>")
    } else {
        format!("<Number>{}</Number>", escaped.trim_start_matches("tel:"))
    };
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Dial>{inner}</Dial></Response>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dial_twiml_for_uris_and_numbers() {
        assert!(dial_twiml("sip:desk@pbx.example.com;transport=tls").ends_with("<Response><Dial><Sip>sip:desk@pbx.example.com;transport=tls</Sip></Dial></Response>"));
        assert!(dial_twiml("tel:+15550001234").contains("<Dial><Number>+15550001234</Number></Dial>"));
        assert!(dial_twiml("sip:a@b?x=<y>&z").contains("<Sip>sip:a@b?x=&lt;y&gt;&amp;z</Sip>"));
    }

    #[test]
    fn only_https_or_loopback() {
        let local = crate::egress::Egress::allowing(vec!["127.0.0.0/8".parse().unwrap()]);
        assert!(TwilioCalls::new("https://api.twilio.com/", "AC1", &local).is_some());
        assert!(TwilioCalls::new("http://127.0.0.1:9000", "AC1", &local).is_some());
        assert!(TwilioCalls::new("http://127.0.0.1:9000", "AC1", &crate::egress::Egress::default()).is_none());
        assert!(TwilioCalls::new("http://api.twilio.com", "AC1", &local).is_none());
    }
}
