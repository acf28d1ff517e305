//! Stripe PaymentIntents: one `POST /v1/payment_intents` with `confirm=true` and the card as
//! `payment_method_data`, authenticated with the secret key as the HTTP Basic user name and
//! made idempotent with an `Idempotency-Key` header.
//!
//! Wire format: <https://docs.stripe.com/api/payment_intents/create>,
//! <https://docs.stripe.com/api/authentication>, <https://docs.stripe.com/api/idempotent_requests>,
//! errors <https://docs.stripe.com/api/errors> (402 with `error.type = card_error`, `code`,
//! `decline_code`). A PaymentIntent that `succeeded` or is `processing` is approved;
//! `requires_action` (3-D Secure) cannot be completed on a phone call and counts as declined.

use std::time::Duration;

use zeroize::Zeroizing;

use super::capture::CardDetails;
use super::{ChargeOutcome, ChargeRequest};

/// Stripe's API.
pub const API_BASE: &str = "https://api.stripe.com";

/// Why a client could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StripeError {
    /// The API base is not https (nor http on an address the operator allows), or is refused by
    /// the outgoing-HTTP policy.
    #[error("payment API base must be https to an address this installation sends to: {0}")]
    Base(String),
}

/// A PaymentIntents client for one API base.
pub struct Stripe {
    http: reqwest::Client,
    base: String,
}

impl Stripe {
    /// A client for `base` (`https://api.stripe.com`; `http://127.0.0.1:...` for a local fake).
    /// The base is a tenant's setting, so it goes through the outgoing-HTTP policy `egress`.
    pub fn new(base: &str, egress: &crate::egress::Egress) -> Result<Stripe, StripeError> {
        let base = egress.api_base(base).map_err(|_| StripeError::Base(base.to_string()))?;
        Ok(Stripe { http: egress.client(Duration::from_secs(30)), base })
    }

    /// Charges `card`; never errors, a failure is a [`ChargeOutcome::Failed`].
    pub async fn charge(&self, secret_key: &str, req: &ChargeRequest, card: &CardDetails) -> ChargeOutcome {
        let body = form(req, card);
        let sent = self
            .http
            .post(format!("{}/v1/payment_intents", self.base))
            .basic_auth(secret_key, None::<&str>)
            .header("Idempotency-Key", &req.idempotency_key)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body.as_str().to_owned())
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => return ChargeOutcome::Failed { reason: format!("payment processor unreachable: {}", without_url(&e)) },
        };
        let status = response.status().as_u16();
        match response.bytes().await {
            Ok(bytes) => outcome(status, &bytes),
            Err(_) => ChargeOutcome::Failed { reason: format!("payment processor answered {status} with no readable body") },
        }
    }
}

fn without_url(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".into()
    } else if e.is_connect() {
        "connection failed".into()
    } else {
        "request failed".into()
    }
}

/// The form-encoded request body (it holds the card, so it is zeroized when dropped).
pub fn form(req: &ChargeRequest, card: &CardDetails) -> Zeroizing<String> {
    let mut f = form_urlencoded::Serializer::new(String::with_capacity(512));
    f.append_pair("amount", &req.amount_cents.to_string())
        .append_pair("currency", &req.currency)
        .append_pair("confirm", "true")
        .append_pair("description", &req.description)
        .append_pair("payment_method_types[]", "card")
        .append_pair("payment_method_data[type]", "card")
        .append_pair("payment_method_data[card][number]", &card.number)
        .append_pair("payment_method_data[card][exp_month]", &card.exp_month.to_string())
        .append_pair("payment_method_data[card][exp_year]", &card.exp_year.to_string())
        .append_pair("payment_method_data[card][cvc]", &card.cvc);
    for (k, v) in &req.metadata {
        f.append_pair(&format!("metadata[{k}]"), v);
    }
    Zeroizing::new(f.finish())
}

/// Reads Stripe's answer.
pub fn outcome(status: u16, body: &[u8]) -> ChargeOutcome {
    let json: serde_json::Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) => return ChargeOutcome::Failed { reason: format!("payment processor answered {status} without JSON") },
    };
    let text = |v: &serde_json::Value| v.as_str().map(str::to_string);
    if (200..300).contains(&status) {
        let reference = text(&json["id"]).unwrap_or_default();
        return match json["status"].as_str() {
            Some("succeeded" | "processing") if reference.starts_with("pi_") => ChargeOutcome::Approved { reference },
            Some("requires_action") => ChargeOutcome::Declined { code: "authentication_required".into() },
            Some("requires_payment_method") => {
                ChargeOutcome::Declined { code: text(&json["last_payment_error"]["code"]).unwrap_or_else(|| "card_declined".into()) }
            }
            other => ChargeOutcome::Failed { reason: format!("unexpected payment status {other:?}") },
        };
    }
    let error = &json["error"];
    match (status, error["type"].as_str()) {
        (402, _) | (_, Some("card_error")) => {
            let code = text(&error["decline_code"]).or_else(|| text(&error["code"])).unwrap_or_else(|| "card_declined".into());
            ChargeOutcome::Declined { code }
        }
        _ => ChargeOutcome::Failed {
            reason: format!("payment processor answered {status} ({})", error["type"].as_str().unwrap_or("no error type")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card() -> CardDetails {
        CardDetails { number: Zeroizing::new("4242424242424242".into()), exp_month: 12, exp_year: 2027, cvc: Zeroizing::new("123".into()) }
    }

    #[test]
    fn the_form_follows_the_payment_intents_api() {
        let req = ChargeRequest {
            amount_cents: 4990,
            currency: "usd".into(),
            description: "Order 1002 & co".into(),
            metadata: vec![("order".into(), "1002".into())],
            idempotency_key: "k".into(),
        };
        let body = form(&req, &card());
        let pairs: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes()).into_owned().collect();
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("amount"), Some("4990"));
        assert_eq!(get("confirm"), Some("true"));
        assert_eq!(get("payment_method_data[card][number]"), Some("4242424242424242"));
        assert_eq!(get("payment_method_data[card][exp_year]"), Some("2027"));
        assert_eq!(get("description"), Some("Order 1002 & co"));
        assert_eq!(get("metadata[order]"), Some("1002"));
        assert!(body.contains("payment_method_data%5Bcard%5D%5Bcvc%5D=123"), "brackets are percent-encoded: {}", body.as_str());
    }

    #[test]
    fn answers_are_read_as_documented() {
        let ok = br#"{"id":"pi_3Abc","object":"payment_intent","status":"succeeded","amount":4990}"#;
        assert_eq!(outcome(200, ok), ChargeOutcome::Approved { reference: "pi_3Abc".into() });
        let declined = br#"{"error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"Your card has insufficient funds."}}"#;
        assert_eq!(outcome(402, declined), ChargeOutcome::Declined { code: "insufficient_funds".into() });
        let three_ds = br#"{"id":"pi_1","object":"payment_intent","status":"requires_action"}"#;
        assert_eq!(outcome(200, three_ds), ChargeOutcome::Declined { code: "authentication_required".into() });
        assert_eq!(outcome(401, br#"{"error":{"type":"invalid_request_error","message":"Invalid API Key provided"}}"#).as_str(), "failed");
        assert_eq!(outcome(502, b"<html>").as_str(), "failed");
    }

    #[test]
    fn only_https_or_loopback() {
        let local = crate::egress::Egress::allowing(vec!["127.0.0.0/8".parse().unwrap()]);
        assert!(Stripe::new("https://api.stripe.com", &local).is_ok());
        assert!(Stripe::new("http://127.0.0.1:9/", &local).is_ok());
        assert!(Stripe::new("http://127.0.0.1:9/", &crate::egress::Egress::default()).is_err(), "loopback only where the operator allows it");
        assert!(Stripe::new("http://evil.example", &local).is_err());
    }
}
