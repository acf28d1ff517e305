//! A fake of Twilio's "Update a Call" API, as documented:
//! - `POST /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json`, form-encoded, HTTP Basic
//!   auth with the account SID as user name and the auth token as password
//!   (<https://www.twilio.com/docs/usage/requests-to-twilio>); wrong credentials get 401 with
//!   `{"code": 20003, "message": "Authenticate", "status": 401}`.
//! - `Twiml` replaces what the call runs (<https://www.twilio.com/docs/voice/api/call-resource#update-a-call-resource>);
//!   the answer is the call resource as JSON with `sid`, `account_sid` and `status`.
//! - An unknown call gets 404 (`code` 20404).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use serde_json::{json, Value};

/// Calls updated, with the form of each request.
type Updates = Arc<Mutex<Vec<(String, HashMap<String, String>)>>>;

pub struct FakeTwilio {
    pub url: String,
    updates: Updates,
}

impl FakeTwilio {
    /// A fake for `account_sid`/`auth_token` that knows the call `call_sid`.
    pub async fn start(account_sid: &'static str, auth_token: &'static str, call_sid: &'static str) -> FakeTwilio {
        let updates: Updates = Arc::default();
        let seen = updates.clone();
        let app = axum::Router::new().route(
            "/2010-04-01/Accounts/{account}/Calls/{call}",
            axum::routing::post(move |Path((account, call)): Path<(String, String)>, h: HeaderMap, body: String| {
                let seen = seen.clone();
                async move {
                    let expected = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{account_sid}:{auth_token}")));
                    if account != account_sid || h.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
                        return (StatusCode::UNAUTHORIZED, axum::Json(json!({"code": 20003, "message": "Authenticate", "status": 401})));
                    }
                    let Some(call) = call.strip_suffix(".json").filter(|c| *c == call_sid) else {
                        return (StatusCode::NOT_FOUND, axum::Json(json!({"code": 20404, "message": "The requested resource was not found", "status": 404})));
                    };
                    let form: HashMap<String, String> = form_urlencoded::parse(body.as_bytes()).into_owned().collect();
                    seen.lock().unwrap().push((call.to_string(), form));
                    let v: Value = json!({"sid": call, "account_sid": account_sid, "status": "in-progress"});
                    (StatusCode::OK, axum::Json(v))
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeTwilio { url, updates }
    }

    /// The calls updated so far and their forms.
    pub fn updates(&self) -> Vec<(String, HashMap<String, String>)> {
        self.updates.lock().unwrap().clone()
    }
}
