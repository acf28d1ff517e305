//! "Call this agent" on an agent's page: the page's script (`/assets/call.js`) posts the
//! browser's WebRTC offer here with the session's CSRF token in `X-CSRF-Token`, and gets the
//! answer and a call id to hang up with ([`crate::webrtc`] runs the call). Agent editors and up
//! may call (a call counts against the tenant's minutes like any other).

use std::collections::HashMap;
use std::sync::Mutex;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use maud::{html, Markup};
use parley_store::Role;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::mpsc;

use super::session::Viewer;
use super::{csrf_ok, ConsoleState};
use crate::api::{agents, extract};

/// Browser calls in progress, by id: the session that placed each and its hang-up handle.
#[derive(Default)]
pub struct BrowserCalls(Mutex<HashMap<String, (String, mpsc::Sender<()>)>>);

/// The section of the agent page.
pub fn section(v: &Viewer, agent: &str) -> Markup {
    html! {
        section.call aria-labelledby="call-title" {
            h2 id="call-title" { "Call this agent" }
            p { "From this browser, with your microphone: a call like any other (recorded only if your policy says so, counted in your minutes)." }
            button type="button" id="call-button" data-agent=(agent) data-csrf=(v.csrf) { "Call" }
            " "
            button type="button" id="hangup-button" hidden { "Hang up" }
            p id="call-status" role="status" {}
            audio id="call-audio" autoplay {}
        }
        script src="/assets/call.js" {}
    }
}

fn problem(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"error": message}))).into_response()
}

fn token(headers: &HeaderMap) -> &str {
    headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or_default()
}

#[derive(Deserialize)]
pub struct Offer {
    agent: String,
    sdp: String,
}

pub async fn start(State(s): State<ConsoleState>, v: Viewer, headers: HeaderMap, Json(offer): Json<Offer>) -> Response {
    if !csrf_ok(&s.api, &v, &headers, token(&headers)) {
        return problem(StatusCode::FORBIDDEN, "the page expired; reload it");
    }
    if !v.caller.role().includes(Role::AgentEditor) {
        return problem(StatusCode::FORBIDDEN, "your role may not place calls");
    }
    let spec = match agents::get_one(State(s.api.clone()), v.caller.clone(), extract::Path((v.tenant.clone(), offer.agent.clone()))).await {
        Ok(axum::Json(a)) => match a.definition.into_spec(&a.name) {
            Ok(spec) => spec,
            Err(_) => return problem(StatusCode::INTERNAL_SERVER_ERROR, "the agent cannot be loaded"),
        },
        Err(_) => return problem(StatusCode::NOT_FOUND, "no such agent"),
    };
    match crate::webrtc::start(s.shared.clone(), &v.tenant, spec, &offer.sdp, s.media_ip).await {
        Ok(started) => {
            let id = hex::encode(rand::random::<[u8; 16]>());
            let session = v.caller.session_id.clone().unwrap_or_default();
            let mut calls = s.browser_calls.0.lock().unwrap_or_else(|e| e.into_inner());
            calls.retain(|_, (_, h)| !h.is_closed());
            calls.insert(id.clone(), (session, started.hang_up));
            Json(json!({"id": id, "sdp": started.answer})).into_response()
        }
        Err(crate::webrtc::BrowserCallError::NotAdmitted) => problem(StatusCode::SERVICE_UNAVAILABLE, "the call was not admitted: a limit of your account or the server"),
        Err(e) => problem(StatusCode::BAD_REQUEST, &e.to_string()),
    }
}

#[derive(Deserialize)]
pub struct HangUp {
    id: String,
}

pub async fn hang_up(State(s): State<ConsoleState>, v: Viewer, headers: HeaderMap, Json(h): Json<HangUp>) -> Response {
    if !csrf_ok(&s.api, &v, &headers, token(&headers)) {
        return problem(StatusCode::FORBIDDEN, "the page expired; reload it");
    }
    let session = v.caller.session_id.clone().unwrap_or_default();
    let mut calls = s.browser_calls.0.lock().unwrap_or_else(|e| e.into_inner());
    match calls.get(&h.id) {
        Some((owner, _)) if *owner == session => {
            if let Some((_, handle)) = calls.remove(&h.id) {
                let _ = handle.try_send(());
            }
            StatusCode::NO_CONTENT.into_response()
        }
        _ => problem(StatusCode::NOT_FOUND, "no such call"),
    }
}
