//! The console's settings (admins): phone numbers and their agents, people (users and
//! invitations), API keys, integrations, trunks (calls in) and gateways (calls out). Each form builds the API's own request body and
//! goes through its handler, so the checks, the role rules (an admin cannot hand out more than
//! their own role) and the audit are the API's. A new key's token and an invitation's token are
//! shown once, on the page that answers the form; integration secrets are write-only.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use parley_store::Role;
use serde_json::json;

use super::pages::when;
use super::session::Viewer;
use super::form::{body, field, pairs};
use super::{csrf_ok, frame, page_status, refused};
use crate::api::{agents, extract, integrations, keys, outbound, trunks, users, ApiError, ApiState};

const ROLES: [(&str, &str); 4] = [("viewer", "Viewer"), ("agent-editor", "Agent editor"), ("admin", "Admin"), ("owner", "Owner")];
const KINDS: [&str; 13] = ["shopify", "caldav", "google_calendar", "smtp", "webhook", "zendesk", "hubspot", "http", "openai", "deepgram", "elevenlabs", "stripe", "twilio"];

/// `{"username", "password"}` when the form gave a user name, else null.
fn credentials(f: &[(String, String)]) -> serde_json::Value {
    match field(f, "username").trim() {
        "" => serde_json::Value::Null,
        user => json!({"username": user, "password": field(f, "password")}),
    }
}

/// A small form that posts `action` with one hidden value (a delete, a revoke).
fn button(v: &Viewer, action: &str, name: &str, value: &str, label: &str) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            input type="hidden" name="csrf" value=(v.csrf);
            input type="hidden" name=(name) value=(value);
            button.quiet type="submit" { (label) }
        }
    }
}

fn role_select() -> Markup {
    html! { select name="role" { @for (value, label) in ROLES { option value=(value) { (label) } } } }
}

async fn settings_body(s: &ApiState, v: &Viewer, shown_once: Option<(&str, &str)>) -> Result<Markup, ApiError> {
    let t = || extract::Path(v.tenant.clone());
    let numbers = agents::numbers(State(s.clone()), v.caller.clone(), t()).await?.0;
    let agent_names: Vec<String> = agents::list(State(s.clone()), v.caller.clone(), t()).await?.0.agents.into_iter().map(|a| a.name).collect();
    let people = users::users(State(s.clone()), v.caller.clone(), t()).await?.0;
    let invitations = users::invitations(State(s.clone()), v.caller.clone(), t()).await?.0;
    let api_keys = keys::list(State(s.clone()), v.caller.clone(), t()).await?.0;
    let integrations = integrations::list(State(s.clone()), v.caller.clone(), t()).await?.0;
    let trunk_list = trunks::list(State(s.clone()), v.caller.clone(), t()).await?.0;
    let gateways = outbound::list_gateways(State(s.clone()), v.caller.clone(), t()).await?.0;
    Ok(html! {
        @if let Some((what, secret)) = shown_once {
            section.secret role="status" {
                h2 { (what) }
                p { "Copy it now: it is shown this once and cannot be read again." }
                pre { code { (secret) } }
            }
        }
        h2 id="numbers" { "Phone numbers" }
        table {
            thead { tr { th { "Number" } th { "Agent" } th { "Added (UTC)" } th { span.visually-hidden { "Actions" } } } }
            tbody { @for n in &numbers.numbers { tr { td { bdi { (n.number) } } td { (n.agent) } td { (when(n.created_ms)) } td { (button(v, "/settings/numbers/delete", "number", &n.number, "Remove")) } } } }
        }
        form.filters method="post" action="/settings/numbers" {
            input type="hidden" name="csrf" value=(v.csrf);
            label { "Number" input name="number" required placeholder="+15550100000" autocomplete="off"; }
            label { "Agent" select name="agent" { @for a in &agent_names { option value=(a) { (a) } } } }
            button type="submit" { "Add the number" }
        }

        h2 id="people" { "People" }
        table {
            thead { tr { th { "Email" } th { "Role" } th { "Since (UTC)" } th { span.visually-hidden { "Actions" } } } }
            tbody {
                @for u in &people.users {
                    tr {
                        td.name { bdi { (u.email) } } td { (u.role) } td { (when(u.created_ms)) }
                        td { @if u.disabled_ms.is_some() { "disabled" } @else { (button(v, "/settings/users/disable", "user_id", &u.id, "Disable")) } }
                    }
                }
                @for i in invitations.invitations.iter().filter(|i| i.accepted_ms.is_none()) {
                    tr { td.name { bdi { (i.email) } } td { (i.role) } td { "invited, until " (when(i.expires_ms)) } td {} }
                }
            }
        }
        form.filters method="post" action="/settings/invitations" {
            input type="hidden" name="csrf" value=(v.csrf);
            label { "Email" input name="email" type="email" required autocomplete="off"; }
            label { "Role" (role_select()) }
            button type="submit" { "Invite" }
        }

        h2 id="keys" { "API keys" }
        table {
            thead { tr { th { "Name" } th { "Role" } th { "Created (UTC)" } th { span.visually-hidden { "Actions" } } } }
            tbody {
                @for k in &api_keys.keys {
                    tr {
                        td.name { bdi { (k.name) } } td { (k.role) } td { (when(k.created_ms)) }
                        td { @if k.revoked_ms.is_some() { "revoked" } @else { (button(v, "/settings/keys/revoke", "key_id", &k.id, "Revoke")) } }
                    }
                }
            }
        }
        form.filters method="post" action="/settings/keys" {
            input type="hidden" name="csrf" value=(v.csrf);
            label { "Name" input name="name" required maxlength="200" autocomplete="off"; }
            label { "Role" (role_select()) }
            button type="submit" { "Create a key" }
        }

        h2 id="integrations" { "Integrations" }
        table {
            thead { tr { th { "Name" } th { "Kind" } th { "Settings" } th { span.visually-hidden { "Actions" } } } }
            tbody {
                @for i in &integrations.integrations {
                    tr {
                        td.name { bdi { (i.name) } } td { (i.kind) } td { code { (i.config.to_string()) } }
                        td { (button(v, "/settings/integrations/delete", "id", &i.id, "Remove")) }
                    }
                }
            }
        }
        form.policy method="post" action="/settings/integrations" {
            input type="hidden" name="csrf" value=(v.csrf);
            label { "Kind" select name="kind" { @for k in KINDS { option value=(k) { (k) } } } }
            label { "Name" input name="name" required maxlength="100" autocomplete="off"; }
            label { "Settings (JSON: shop domain, server URL, user name; no secrets)" textarea name="config" rows="3" spellcheck="false" { "{}" } }
            label { "Token or password (stored sealed, never shown again)" input name="secret" type="password" required autocomplete="new-password"; }
            button type="submit" { "Add the integration" }
        }

        h2 id="trunks" { "Trunks (calls in)" }
        p { "A carrier or PBX that sends your numbers' calls: admitted by its networks or by digest credentials." }
        table {
            thead { tr { th { "Name" } th { "Networks" } th { "User" } th { span.visually-hidden { "Actions" } } } }
            tbody {
                @for tr in &trunk_list.trunks {
                    tr {
                        td.name { bdi { (tr.name) } } td { (tr.allowed_ips.join(", ")) } td { bdi { (tr.username.clone().unwrap_or_default()) } }
                        td { (button(v, "/settings/trunks/delete", "id", &tr.id, "Remove")) }
                    }
                }
            }
        }
        form.policy method="post" action="/settings/trunks" {
            input type="hidden" name="csrf" value=(v.csrf);
            label { "Name" input name="name" required maxlength="100" autocomplete="off"; }
            label { "Source networks (comma-separated: 203.0.113.0/24, 2001:db8::/32)" input name="allowed_ips" autocomplete="off"; }
            label { "Digest user (optional)" input name="username" autocomplete="off"; }
            label { "Digest password (stored sealed, never shown again)" input name="password" type="password" autocomplete="new-password"; }
            button type="submit" { "Add the trunk" }
        }

        h2 id="gateways" { "Gateways (calls out)" }
        table {
            thead { tr { th { "Name" } th { "Proxy" } th { "Transport" } th { "Caller ID" } th { span.visually-hidden { "Actions" } } } }
            tbody {
                @for g in &gateways.gateways {
                    tr {
                        td.name { bdi { (g.name) } } td { bdi { (g.proxy) } } td { (g.transport) } td { bdi { (g.caller_id) } }
                        td { (button(v, "/settings/gateways/delete", "id", &g.id, "Remove")) }
                    }
                }
            }
        }
        form.policy method="post" action="/settings/gateways" {
            input type="hidden" name="csrf" value=(v.csrf);
            label { "Name" input name="name" required maxlength="100" autocomplete="off"; }
            label { "Provider's proxy (host:port)" input name="proxy" required placeholder="sip.provider.example:5060" autocomplete="off"; }
            label { "Transport" select name="transport" { option value="udp" { "udp" } option value="tcp" { "tcp" } option value="tls" { "tls" } } }
            label { "Caller ID" input name="caller_id" required autocomplete="off"; }
            label { "User (optional)" input name="username" autocomplete="off"; }
            label { "Password (stored sealed, never shown again)" input name="password" type="password" autocomplete="new-password"; }
            button type="submit" { "Add the gateway" }
        }
    })
}

async fn render(s: &ApiState, v: &Viewer, status: StatusCode, shown_once: Option<(&str, &str)>) -> Response {
    match settings_body(s, v, shown_once).await {
        Ok(body) => {
            let mut r = frame(v, "Settings", body);
            *r.status_mut() = status;
            r
        }
        Err(e) => refused(v, e),
    }
}

pub async fn show(State(s): State<ApiState>, v: Viewer) -> Response {
    if !v.caller.role().includes(Role::Admin) {
        return refused(&v, ApiError::Forbidden);
    }
    render(&s, &v, StatusCode::OK, None).await
}

/// What a settings form asks the API to do.
enum Change {
    /// Done: back to the page.
    Done,
    /// Done, with a secret to show once.
    Secret(&'static str, String),
}

async fn apply(s: &ApiState, v: &Viewer, action: &str, f: &[(String, String)]) -> Result<Change, ApiError> {
    let (st, caller) = (State(s.clone()), v.caller.clone());
    let t = || extract::Path(v.tenant.clone());
    let with = |id: &str| extract::Path((v.tenant.clone(), id.to_string()));
    match action {
        "numbers" => agents::add_number(st, caller, t(), extract::Json(body(json!({"number": field(f, "number").trim(), "agent": field(f, "agent")}))?)).await.map(|_| Change::Done),
        "numbers/delete" => agents::delete_number(st, caller, with(field(f, "number"))).await.map(|_| Change::Done),
        "invitations" => {
            let issued = users::invite(st, caller, t(), extract::Json(body(json!({"email": field(f, "email").trim(), "role": field(f, "role")}))?)).await?.1 .0;
            Ok(Change::Secret("The invitation token", issued.token))
        }
        "users/disable" => users::disable(st, caller, with(field(f, "user_id"))).await.map(|_| Change::Done),
        "keys" => {
            let issued = keys::create(st, caller, t(), extract::Json(body(json!({"name": field(f, "name").trim(), "role": field(f, "role")}))?)).await?.1 .0;
            Ok(Change::Secret("The new API key", issued.token))
        }
        "keys/revoke" => keys::revoke(st, caller, with(field(f, "key_id"))).await.map(|_| Change::Done),
        "integrations" => {
            let config: serde_json::Value = serde_json::from_str(field(f, "config").trim()).map_err(|e| ApiError::BadRequest(format!("settings are not JSON: {e}")))?;
            let new = body(json!({"kind": field(f, "kind"), "name": field(f, "name"), "config": config, "secret": field(f, "secret")}))?;
            integrations::create(st, caller, t(), extract::Json(new)).await.map(|_| Change::Done)
        }
        "integrations/delete" => integrations::delete(st, caller, with(field(f, "id"))).await.map(|_| Change::Done),
        "trunks" => {
            let networks: Vec<&str> = field(f, "allowed_ips").split(',').map(str::trim).filter(|n| !n.is_empty()).collect();
            let credentials = credentials(f);
            let new = body(json!({"name": field(f, "name"), "allowed_ips": networks, "credentials": credentials}))?;
            trunks::create(st, caller, t(), extract::Json(new)).await.map(|_| Change::Done)
        }
        "trunks/delete" => trunks::delete(st, caller, with(field(f, "id"))).await.map(|_| Change::Done),
        "gateways" => {
            let new = body(json!({"name": field(f, "name"), "proxy": field(f, "proxy").trim(), "transport": field(f, "transport"), "caller_id": field(f, "caller_id").trim(), "credentials": credentials(f)}))?;
            outbound::create_gateway(st, caller, t(), extract::Json(new)).await.map(|_| Change::Done)
        }
        "gateways/delete" => outbound::delete_gateway(st, caller, with(field(f, "id"))).await.map(|_| Change::Done),
        _ => Err(ApiError::NotFound),
    }
}

pub async fn change(State(s): State<ApiState>, v: Viewer, headers: HeaderMap, axum::extract::Path(action): axum::extract::Path<String>, body: Bytes) -> Response {
    change_at(s, v, headers, action, body).await
}

pub async fn change_nested(State(s): State<ApiState>, v: Viewer, headers: HeaderMap, axum::extract::Path((what, verb)): axum::extract::Path<(String, String)>, body: Bytes) -> Response {
    change_at(s, v, headers, format!("{what}/{verb}"), body).await
}

async fn change_at(s: ApiState, v: Viewer, headers: HeaderMap, action: String, body: Bytes) -> Response {
    let f = pairs(&body);
    if !csrf_ok(&s, &v, &headers, field(&f, "csrf")) {
        return page_status(StatusCode::FORBIDDEN, &v, "The form expired; reload the page and try again.");
    }
    match apply(&s, &v, &action, &f).await {
        Ok(Change::Done) => Redirect::to("/settings").into_response(),
        Ok(Change::Secret(what, secret)) => render(&s, &v, StatusCode::OK, Some((what, &secret))).await,
        Err(e) => refused(&v, e),
    }
}
