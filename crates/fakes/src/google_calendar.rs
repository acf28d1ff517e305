//! A fake Google Calendar, as documented
//! (<https://developers.google.com/calendar/api/v3/reference/events>): Bearer tokens (a wrong
//! one: `401` with Google's error body); `GET /calendar/v3/calendars/{calendarId}/events` with
//! `timeMin`, `timeMax` (RFC 3339, required together here) and `singleEvents=true`, answering
//! `{kind: "calendar#events", items: [...]}` of the events overlapping the range; `POST` of an
//! event with a client `id` (base32hex, 5 to 1024 characters: else `400`), `409` when that id
//! exists (<https://developers.google.com/calendar/api/v3/reference/events/insert>); `DELETE
//! .../events/{eventId}` (`204`, `410` when deleted before).
//!
//! And Google's OAuth 2.0 token endpoint, `POST /token` (as `https://oauth2.googleapis.com/token`;
//! <https://developers.google.com/identity/protocols/oauth2/web-server#offline>): a form with
//! `client_id`, `client_secret`, `refresh_token` and `grant_type=refresh_token` gets
//! `{"access_token", "expires_in": 3599, "scope", "token_type": "Bearer"}`; an unknown client is
//! `401 {"error": "invalid_client"}`, an unknown refresh token `400 {"error": "invalid_grant"}`.
//! The access tokens it gives are accepted like [`KEY`] until [`FakeGoogleCalendar::expire_tokens`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::KEY;

#[derive(Default)]
struct Cal {
    events: Mutex<BTreeMap<String, Value>>,
    next: Mutex<u64>,
    /// Access tokens given by `/token` and still good.
    tokens: Mutex<Vec<String>>,
    /// Refresh grants made.
    refreshes: Mutex<u64>,
}

/// The OAuth client the token endpoint knows, and its refresh token.
pub const CLIENT_ID: &str = "1234567890-parley.apps.googleusercontent.com";
/// Its client secret.
pub const CLIENT_SECRET: &str = "GOCSPX-parley-test-secret";
/// The refresh token the business granted.
pub const REFRESH_TOKEN: &str = "1//parley-refresh-token";

/// The fake; see the module docs.
pub struct FakeGoogleCalendar {
    /// `http://127.0.0.1:PORT` (as `https://www.googleapis.com`).
    pub url: String,
    cal: Arc<Cal>,
}

fn error(status: StatusCode, reason: &str, message: &str) -> Response {
    (status, axum::Json(json!({"error": {"code": status.as_u16(), "message": message, "errors": [{"domain": "global", "reason": reason, "message": message}]}}))).into_response()
}

fn refused(cal: &Cal, headers: &HeaderMap) -> Option<Response> {
    let bearer = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")).unwrap_or_default();
    if bearer == KEY || cal.tokens.lock().unwrap().iter().any(|t| t == bearer) {
        return None;
    }
    Some(error(StatusCode::UNAUTHORIZED, "authError", "Request had invalid authentication credentials."))
}

impl FakeGoogleCalendar {
    /// Starts the fake (any calendar id).
    pub async fn start() -> FakeGoogleCalendar {
        let cal = Arc::new(Cal::default());
        let app = axum::Router::new()
            .route("/calendar/v3/calendars/{calendar}/events", axum::routing::get(list).post(insert))
            .route("/calendar/v3/calendars/{calendar}/events/{event}", axum::routing::delete(remove))
            .route("/token", axum::routing::post(token))
            .with_state(cal.clone());
        FakeGoogleCalendar { url: crate::serve(app).await, cal }
    }

    /// The events (their resources).
    pub fn events(&self) -> Vec<Value> {
        self.cal.events.lock().unwrap().values().cloned().collect()
    }

    /// The access tokens given so far stop working (as they do after an hour).
    pub fn expire_tokens(&self) {
        self.cal.tokens.lock().unwrap().clear();
    }

    /// Access tokens the token endpoint gave.
    pub fn refreshes(&self) -> u64 {
        *self.cal.refreshes.lock().unwrap()
    }

    /// Adds an event as a person would (RFC 3339 times).
    pub fn add(&self, id: &str, start: &str, end: &str) {
        self.cal.events.lock().unwrap().insert(id.into(), json!({"kind": "calendar#event", "id": id, "status": "confirmed", "summary": "Busy", "start": {"dateTime": start}, "end": {"dateTime": end}}));
    }
}

fn instant(v: &Value) -> Option<jiff::Timestamp> {
    v.get("dateTime").and_then(Value::as_str)?.parse().ok()
}

async fn list(State(cal): State<Arc<Cal>>, headers: HeaderMap, Query(q): Query<BTreeMap<String, String>>) -> Response {
    if let Some(r) = refused(&cal, &headers) {
        return r;
    }
    let (Some(min), Some(max)) = (q.get("timeMin").and_then(|t| t.parse::<jiff::Timestamp>().ok()), q.get("timeMax").and_then(|t| t.parse::<jiff::Timestamp>().ok())) else {
        return error(StatusCode::BAD_REQUEST, "badRequest", "timeMin and timeMax are RFC 3339 timestamps");
    };
    let items: Vec<Value> = cal.events.lock().unwrap().values().filter(|e| matches!((instant(&e["start"]), instant(&e["end"])), (Some(s), Some(e)) if s < max && min < e)).cloned().collect();
    axum::Json(json!({"kind": "calendar#events", "summary": "Appointments", "timeZone": "UTC", "items": items})).into_response()
}

async fn insert(State(cal): State<Arc<Cal>>, headers: HeaderMap, axum::Json(mut event): axum::Json<Value>) -> Response {
    if let Some(r) = refused(&cal, &headers) {
        return r;
    }
    if instant(&event["start"]).is_none() || instant(&event["end"]).is_none() {
        return error(StatusCode::BAD_REQUEST, "required", "Missing end time.");
    }
    let id = match event.get("id").and_then(Value::as_str) {
        Some(id) if (5..=1024).contains(&id.len()) && id.chars().all(|c| c.is_ascii_digit() || ('a'..='v').contains(&c)) => id.to_string(),
        Some(_) => return error(StatusCode::BAD_REQUEST, "invalid", "Invalid resource id value."),
        None => {
            let mut n = cal.next.lock().unwrap();
            *n += 1;
            format!("gen{:05}", *n)
        }
    };
    let mut events = cal.events.lock().unwrap();
    if events.contains_key(&id) {
        return error(StatusCode::CONFLICT, "duplicate", "The requested identifier already exists.");
    }
    event["id"] = json!(id);
    event["kind"] = json!("calendar#event");
    event["status"] = json!("confirmed");
    events.insert(id, event.clone());
    axum::Json(event).into_response()
}

async fn remove(State(cal): State<Arc<Cal>>, headers: HeaderMap, Path((_, event)): Path<(String, String)>) -> Response {
    if let Some(r) = refused(&cal, &headers) {
        return r;
    }
    match cal.events.lock().unwrap().remove(&event) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => error(StatusCode::GONE, "deleted", "Resource has been deleted"),
    }
}

async fn token(State(cal): State<Arc<Cal>>, axum::Form(form): axum::Form<BTreeMap<String, String>>) -> Response {
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    if field("grant_type") != "refresh_token" {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "unsupported_grant_type", "error_description": "Invalid grant_type: "}))).into_response();
    }
    if field("client_id") != CLIENT_ID || field("client_secret") != CLIENT_SECRET {
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({"error": "invalid_client", "error_description": "The OAuth client was not found."}))).into_response();
    }
    if field("refresh_token") != REFRESH_TOKEN {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "invalid_grant", "error_description": "Token has been expired or revoked."}))).into_response();
    }
    let mut n = cal.refreshes.lock().unwrap();
    *n += 1;
    let access = format!("ya29.parley-access-{n}");
    cal.tokens.lock().unwrap().push(access.clone());
    axum::Json(json!({"access_token": access, "expires_in": 3599, "scope": "https://www.googleapis.com/auth/calendar.events", "token_type": "Bearer"})).into_response()
}
