//! A fake of Stripe's PaymentIntents API in test mode, as documented:
//! - `POST /v1/payment_intents`, form-encoded, HTTP Basic auth with the secret key as user name
//!   (<https://docs.stripe.com/api/authentication>); a wrong key gets 401 with an
//!   `invalid_request_error`.
//! - `amount` (positive integer, smallest unit), `currency`, `confirm=true` and the card as
//!   `payment_method_data[type]=card` + `payment_method_data[card][number|exp_month|exp_year|cvc]`
//!   (<https://docs.stripe.com/api/payment_intents/create>); missing ones get 400.
//! - `Idempotency-Key`: a repeated key returns the first answer and charges nothing more
//!   (<https://docs.stripe.com/api/idempotent_requests>).
//! - Test cards (<https://docs.stripe.com/testing>): 4242424242424242 succeeds,
//!   4000000000000002 is declined (`card_declined` / `generic_decline`), 4000000000009995 with
//!   `insufficient_funds`, 4000002760003184 needs 3-D Secure (`requires_action`); declines are
//!   402 with `{"error": {"type": "card_error", "code", "decline_code", "message"}}`
//!   (<https://docs.stripe.com/api/errors>).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use serde_json::{json, Value};

/// `sk_test_parley` as Basic credentials (user name, empty password).
const AUTH: &str = "Basic c2tfdGVzdF9wYXJsZXk6";
/// The secret key the fake accepts.
pub const SECRET_KEY: &str = "sk_test_parley";

/// A charge attempt the fake received with a valid key.
#[derive(Clone, Debug)]
pub struct Attempt {
    pub form: HashMap<String, String>,
    pub idempotency_key: String,
    pub status: u16,
}

#[derive(Default)]
struct State {
    attempts: Vec<Attempt>,
    answers: HashMap<String, (u16, Value)>,
}

pub struct FakeStripe {
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl FakeStripe {
    pub async fn start() -> FakeStripe {
        let state = Arc::new(Mutex::new(State::default()));
        let st = state.clone();
        let app = axum::Router::new().route(
            "/v1/payment_intents",
            axum::routing::post(move |h: HeaderMap, body: String| {
                let st = st.clone();
                async move {
                    let (status, v) = answer(&st, &h, &body);
                    (StatusCode::from_u16(status).unwrap(), axum::Json(v))
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeStripe { url, state }
    }

    /// What it received so far.
    pub fn attempts(&self) -> Vec<Attempt> {
        self.state.lock().unwrap().attempts.clone()
    }
}

fn error(status: u16, kind: &str, code: Option<&str>, decline: Option<&str>, message: &str) -> (u16, Value) {
    let mut e = json!({"type": kind, "message": message});
    if let Some(c) = code {
        e["code"] = json!(c);
    }
    if let Some(d) = decline {
        e["decline_code"] = json!(d);
    }
    (status, json!({ "error": e }))
}

fn answer(state: &Mutex<State>, h: &HeaderMap, body: &str) -> (u16, Value) {
    if h.get("authorization").and_then(|v| v.to_str().ok()) != Some(AUTH) {
        return error(401, "invalid_request_error", None, None, "Invalid API Key provided");
    }
    if h.get("content-type").and_then(|v| v.to_str().ok()) != Some("application/x-www-form-urlencoded") {
        return error(400, "invalid_request_error", None, None, "Invalid request (check that your POST content type is application/x-www-form-urlencoded)");
    }
    let form: HashMap<String, String> = form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    let key = h.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let mut st = state.lock().unwrap();
    if let Some(previous) = st.answers.get(&key).filter(|_| !key.is_empty()) {
        return previous.clone();
    }
    let field = |k: &str| form.get(k).map(String::as_str);
    let amount = field("amount").and_then(|a| a.parse::<u64>().ok()).filter(|a| *a > 0);
    let (status, v) = match (amount, field("currency"), field("confirm"), field("payment_method_data[type]")) {
        (None, ..) => error(400, "invalid_request_error", Some("parameter_missing"), None, "Missing required param: amount."),
        (_, None, ..) => error(400, "invalid_request_error", Some("parameter_missing"), None, "Missing required param: currency."),
        (_, _, c, t) if c != Some("true") || t != Some("card") => error(400, "invalid_request_error", None, None, "expected confirm=true and a card"),
        (Some(amount), Some(currency), ..) => {
            let id = format!("pi_{}", hex::encode(rand::random::<[u8; 12]>()));
            let intent = |status: &str| json!({"id": id, "object": "payment_intent", "amount": amount, "currency": currency, "status": status});
            let exp_ok = field("payment_method_data[card][exp_month]").and_then(|m| m.parse::<u32>().ok()).is_some_and(|m| (1..=12).contains(&m))
                && field("payment_method_data[card][exp_year]").and_then(|y| y.parse::<u32>().ok()).is_some_and(|y| y >= 2026);
            let cvc_ok = field("payment_method_data[card][cvc]").is_some_and(|c| (3..=4).contains(&c.len()));
            match field("payment_method_data[card][number]") {
                _ if !exp_ok => error(402, "card_error", Some("invalid_expiry_year"), None, "Your card's expiration year is invalid."),
                _ if !cvc_ok => error(402, "card_error", Some("invalid_cvc"), None, "Your card's security code is invalid."),
                Some("4242424242424242") => (200, intent("succeeded")),
                Some("4000000000000002") => error(402, "card_error", Some("card_declined"), Some("generic_decline"), "Your card was declined."),
                Some("4000000000009995") => error(402, "card_error", Some("card_declined"), Some("insufficient_funds"), "Your card has insufficient funds."),
                Some("4000002760003184") => (200, intent("requires_action")),
                _ => error(402, "card_error", Some("incorrect_number"), None, "Your card number is incorrect."),
            }
        }
    };
    st.attempts.push(Attempt { form, idempotency_key: key.clone(), status });
    if !key.is_empty() {
        st.answers.insert(key, (status, v.clone()));
    }
    (status, v)
}
