//! A fake HubSpot CRM, as documented: Bearer authentication with a private app's token
//! (a wrong one: `401` with `category: INVALID_AUTHENTICATION`); contacts searched by
//! `POST /crm/v3/objects/contacts/search` with `filterGroups` of `{propertyName, operator: EQ,
//! value}` (<https://developers.hubspot.com/docs/api/crm/search>), answering `{total, results:
//! [{id, properties}]}`; notes created by `POST /crm/v3/objects/notes` with properties
//! `hs_note_body`, `hs_timestamp` and `associations` to a contact of type 202
//! (<https://developers.hubspot.com/docs/api/crm/notes>), answering `201 {id, properties}`.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::KEY;

/// Contacts of the fake CRM: id, first name, last name, phone.
pub const CONTACTS: &[(&str, &str, &str, &str)] = &[("512", "Dana", "Smith", "+15550100004"), ("513", "Bob", "Chen", "+15550100002")];

#[derive(Default)]
struct Crm {
    notes: Mutex<Vec<Value>>,
}

/// The fake; see the module docs.
pub struct FakeHubSpot {
    /// `http://127.0.0.1:PORT` (as `https://api.hubapi.com`).
    pub url: String,
    crm: Arc<Crm>,
}

impl FakeHubSpot {
    /// Starts the fake.
    pub async fn start() -> FakeHubSpot {
        let crm = Arc::new(Crm::default());
        let app = axum::Router::new()
            .route("/crm/v3/objects/contacts/search", axum::routing::post(search))
            .route("/crm/v3/objects/notes", axum::routing::post(note))
            .with_state(crm.clone());
        FakeHubSpot { url: crate::serve(app).await, crm }
    }

    /// The notes created (as sent).
    pub fn notes(&self) -> Vec<Value> {
        self.crm.notes.lock().unwrap().clone()
    }
}

/// `None` when the token is right, else the 401 to answer.
fn refused(headers: &HeaderMap) -> Option<Response> {
    if headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(format!("Bearer {KEY}").as_str()) {
        return None;
    }
    Some((StatusCode::UNAUTHORIZED, axum::Json(json!({"status": "error", "message": "Authentication credentials not found.", "correlationId": "00000000-0000-0000-0000-000000000000", "category": "INVALID_AUTHENTICATION"}))).into_response())
}

fn bad(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, axum::Json(json!({"status": "error", "message": message, "category": "VALIDATION_ERROR"}))).into_response()
}

async fn search(headers: HeaderMap, axum::Json(body): axum::Json<Value>) -> Response {
    if let Some(r) = refused(&headers) {
        return r;
    }
    let Some(filter) = body.pointer("/filterGroups/0/filters/0") else { return bad("filterGroups is required") };
    if filter["propertyName"] != "phone" || filter["operator"] != "EQ" {
        return bad("this fake searches contacts by phone EQ only");
    }
    let results: Vec<Value> = CONTACTS.iter().filter(|c| Some(c.3) == filter["value"].as_str()).map(|(id, first, last, phone)| json!({"id": id, "properties": {"firstname": first, "lastname": last, "phone": phone, "hs_object_id": id}, "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z", "archived": false})).collect();
    axum::Json(json!({"total": results.len(), "results": results})).into_response()
}

async fn note(State(crm): State<Arc<Crm>>, headers: HeaderMap, axum::Json(body): axum::Json<Value>) -> Response {
    if let Some(r) = refused(&headers) {
        return r;
    }
    if body.pointer("/properties/hs_timestamp").and_then(Value::as_str).is_none() {
        return bad("Property hs_timestamp is required");
    }
    let association = body.pointer("/associations/0");
    let to = association.and_then(|a| a.pointer("/to/id")).and_then(Value::as_str);
    let kind = association.and_then(|a| a.pointer("/types/0/associationTypeId")).and_then(Value::as_u64);
    if !CONTACTS.iter().any(|c| Some(c.0) == to) || kind != Some(202) {
        return bad("associations: a contact of this portal with associationTypeId 202");
    }
    let mut notes = crm.notes.lock().unwrap();
    notes.push(body.clone());
    let id = format!("{}", 9000 + notes.len());
    (StatusCode::CREATED, axum::Json(json!({"id": id, "properties": body["properties"], "createdAt": "2026-12-01T19:00:00Z", "archived": false}))).into_response()
}
