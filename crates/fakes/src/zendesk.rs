//! A fake Zendesk Support account, as documented: `POST /api/v2/tickets.json`
//! (<https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#create-ticket>) with
//! HTTP Basic `{email}/token:{api_token}`
//! (<https://developer.zendesk.com/api-reference/introduction/security-and-auth/>): a wrong one
//! is `401 {"error": "Couldn't authenticate you"}`; a ticket without a first comment is
//! `422 RecordInvalid`; a created one `201 {"ticket": {...}}`. [`FakeZendesk::limit_next`] answers
//! the next request `429` with `Retry-After`
//! (<https://developer.zendesk.com/api-reference/introduction/rate-limits/>).

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{json, Value};

use crate::KEY;

/// The agent email the fake accepts with [`KEY`] as its API token.
pub const EMAIL: &str = "agent@acme.example";

#[derive(Default)]
struct Desk {
    tickets: Mutex<Vec<Value>>,
    limit_next: Mutex<Option<u32>>,
}

/// The fake; see the module docs.
pub struct FakeZendesk {
    /// `http://127.0.0.1:PORT` (as `https://acme.zendesk.com`).
    pub url: String,
    desk: Arc<Desk>,
}

impl FakeZendesk {
    /// Starts the fake.
    pub async fn start() -> FakeZendesk {
        let desk = Arc::new(Desk::default());
        let app = axum::Router::new().route("/api/v2/tickets.json", axum::routing::post(create)).with_state(desk.clone());
        FakeZendesk { url: crate::serve(app).await, desk }
    }

    /// The tickets created (their `ticket` objects as sent).
    pub fn tickets(&self) -> Vec<Value> {
        self.desk.tickets.lock().unwrap().clone()
    }

    /// Answers the next request 429 with `Retry-After: secs`.
    pub fn limit_next(&self, secs: u32) {
        *self.desk.limit_next.lock().unwrap() = Some(secs);
    }
}

async fn create(State(desk): State<Arc<Desk>>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let expected = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{EMAIL}/token:{KEY}")));
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({"error": "Couldn't authenticate you"}))).into_response();
    }
    if let Some(secs) = desk.limit_next.lock().unwrap().take() {
        return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", secs.to_string())], axum::Json(json!({"error": "APIRateLimitExceeded", "description": "Number of allowed API requests per minute exceeded"}))).into_response();
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "Unprocessable Entity"}))).into_response();
    };
    let ticket = &request["ticket"];
    if ticket["comment"]["body"].as_str().is_none_or(|b| b.trim().is_empty()) {
        return (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(json!({"error": "RecordInvalid", "description": "Record validation errors", "details": {"base": [{"description": "Description: cannot be blank", "error": "BlankValue"}]}}))).into_response();
    }
    let mut tickets = desk.tickets.lock().unwrap();
    tickets.push(ticket.clone());
    let id = 35435 + tickets.len() as u64;
    (StatusCode::CREATED, [("location", format!("https://acme.zendesk.com/api/v2/tickets/{id}.json"))], axum::Json(json!({"ticket": {
        "id": id, "url": format!("https://acme.zendesk.com/api/v2/tickets/{id}.json"), "subject": ticket["subject"], "description": ticket["comment"]["body"],
        "status": "new", "priority": null, "tags": ticket["tags"], "created_at": "2026-12-01T19:00:00Z"
    }}))).into_response()
}
