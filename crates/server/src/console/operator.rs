//! The console's operator pages, at `/operator`: the people who run the installation (created
//! with `parley admin create-operator`) sign in with their own form, list and create tenants,
//! and on a tenant's page read its minutes this month, set its limits and outbound policy, and
//! invite its first owner (the invitation token shown once). Every form goes through the API's
//! handlers as the platform admin, so the checks are the API's and each change is audited in
//! the tenant's chain under `operator:<id>`.

use axum::body::Bytes;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde_json::json;

use super::form::{body, field, pairs};
use super::pages::when;
use super::session::{Operator, Viewer};
use super::{csrf_ok, end_session, frame, page_status, refused, sign_in_page, sign_in_with, CsrfForm, SignInForm};
use crate::api::{extract, outbound, tenants, usage, users, ApiError, ApiState, ClientAddr};

pub async fn sign_in_form(headers: HeaderMap) -> Response {
    sign_in_page(&headers, StatusCode::OK, None, "", None)
}

pub async fn sign_in(State(s): State<ApiState>, addr: ClientAddr, headers: HeaderMap, Form(mut f): Form<SignInForm>) -> Response {
    f.tenant = None;
    sign_in_with(s, addr, headers, f).await
}

pub async fn sign_out(State(s): State<ApiState>, Operator(v): Operator, headers: HeaderMap, Form(f): Form<CsrfForm>) -> Response {
    end_session(s, v, &headers, &f.csrf, "/operator/sign-in").await
}

/// A whole number from a form field (the API's type then checks its range).
fn number(f: &[(String, String)], name: &str) -> Result<i64, ApiError> {
    field(f, name).trim().parse().map_err(|_| ApiError::BadRequest(format!("{} is a whole number", name.replace('_', " "))))
}

pub async fn tenants(State(s): State<ApiState>, Operator(v): Operator) -> Response {
    let list = match tenants::list(State(s), v.caller.clone()).await {
        Ok(axum::Json(list)) => list,
        Err(e) => return refused(&v, e),
    };
    let body = html! {
        @if list.tenants.is_empty() { p { "No tenants yet." } } @else {
            table {
                thead { tr { th { "Tenant" } th { "Name" } th { "Created (UTC)" } } }
                tbody {
                    @for t in &list.tenants {
                        tr { td.name { a href=(format!("/operator/tenants/{}", t.id)) { (t.id) } } td { bdi { (t.name) } } td { (when(t.created_ms)) } }
                    }
                }
            }
        }
        h2 { "New tenant" }
        form.filters method="post" action="/operator/tenants" {
            input type="hidden" name="csrf" value=(v.csrf);
            label { "Id (a-z, 0-9 and -)" input name="id" required pattern="[a-z0-9][a-z0-9-]{0,62}"; }
            label { "Name" input name="name" required maxlength="200"; }
            button type="submit" { "Create" }
        }
    };
    frame(&v, "Tenants", body)
}

pub async fn create_tenant(State(s): State<ApiState>, Operator(v): Operator, headers: HeaderMap, form: Bytes) -> Response {
    let f = pairs(&form);
    if !csrf_ok(&s, &v, &headers, field(&f, "csrf")) {
        return page_status(StatusCode::FORBIDDEN, &v, "The form expired; reload the page and try again.");
    }
    let created = match body(json!({"id": field(&f, "id").trim(), "name": field(&f, "name").trim()})) {
        Ok(new) => tenants::create(State(s), v.caller.clone(), extract::Json(new)).await,
        Err(e) => Err(e),
    };
    match created {
        Ok((_, axum::Json(t))) => Redirect::to(&format!("/operator/tenants/{}", t.id)).into_response(),
        Err(ApiError::Conflict) => page_status(StatusCode::CONFLICT, &v, "A tenant with that id exists."),
        Err(e) => refused(&v, e),
    }
}

async fn tenant_body(s: &ApiState, v: &Viewer, id: &str, shown_once: Option<&str>) -> Result<Markup, ApiError> {
    let (st, t) = (|| State(s.clone()), || extract::Path(id.to_string()));
    let tenant = tenants::get_one(st(), v.caller.clone(), t()).await?.0;
    let limits = usage::limits(st(), v.caller.clone(), t()).await?.0;
    let month = usage::usage(st(), v.caller.clone(), t(), extract::Query(usage::UsageQuery { month: None })).await?.0;
    let policy = outbound::get_policy(st(), v.caller.clone(), t()).await?.0;
    let minutes = super::usage_page::minutes_of(&month.items);
    let prefixes = policy.allowed_prefixes.iter().map(|p| p.0.as_str()).collect::<Vec<_>>().join(", ");
    let action = |what: &str| format!("/operator/tenants/{id}/{what}");
    Ok(html! {
        @if let Some(token) = shown_once {
            section.secret role="status" {
                h2 { "The owner's invitation token" }
                p { "Send it to the new owner, who signs up with it (POST /v1/invitations/accept). It is shown this once and works for 7 days." }
                pre { code { (token) } }
            }
        }
        dl.facts {
            dt { "Tenant" } dd { (tenant.id) }
            dt { "Name" } dd { bdi { (tenant.name) } }
            dt { "Created (UTC)" } dd { (when(tenant.created_ms)) }
            dt { "Minutes in " (month.month) } dd { (minutes) @if limits.max_minutes_per_month > 0 { " of " (limits.max_minutes_per_month) } }
        }
        h2 { "Limits" }
        form.policy method="post" action=(action("limits")) {
            input type="hidden" name="csrf" value=(v.csrf);
            label { "Calls at once (0: no limit)" input name="max_concurrent_calls" type="number" min="0" max="1000000" required value=(limits.max_concurrent_calls); }
            label { "Call minutes per month (0: no limit)" input name="max_minutes_per_month" type="number" min="0" max="1000000000" required value=(limits.max_minutes_per_month); }
            button type="submit" { "Save the limits" }
        }
        h2 { "Outbound calls" }
        form.policy method="post" action=(action("outbound")) {
            input type="hidden" name="csrf" value=(v.csrf);
            label.check { input name="enabled" type="checkbox" checked[policy.enabled]; "The tenant's agents may call out" }
            label { "New calls per second (1 to 100)" input name="calls_per_second" type="number" min="1" max="100" required value=(policy.calls_per_second); }
            label { "Calls at once (1 to 10000)" input name="max_concurrent" type="number" min="1" max="10000" required value=(policy.max_concurrent); }
            label { "Number prefixes that may be dialled (E.164, comma-separated; none: no number)" input name="allowed_prefixes" value=(prefixes); }
            button type="submit" { "Save the outbound policy" }
        }
        h2 { "Invite an owner" }
        form.filters method="post" action=(action("invite")) {
            input type="hidden" name="csrf" value=(v.csrf);
            label { "Email" input name="email" type="email" required autocomplete="off"; }
            button type="submit" { "Invite" }
        }
    })
}

async fn render(s: &ApiState, v: &Viewer, id: &str, shown_once: Option<&str>) -> Response {
    match tenant_body(s, v, id, shown_once).await {
        Ok(body) => frame(v, &format!("Tenant {id}"), body),
        Err(e) => refused(v, e),
    }
}

pub async fn tenant(State(s): State<ApiState>, Operator(v): Operator, Path(id): Path<String>) -> Response {
    render(&s, &v, &id, None).await
}

pub async fn change(State(s): State<ApiState>, Operator(v): Operator, headers: HeaderMap, Path((id, action)): Path<(String, String)>, form: Bytes) -> Response {
    let f = pairs(&form);
    if !csrf_ok(&s, &v, &headers, field(&f, "csrf")) {
        return page_status(StatusCode::FORBIDDEN, &v, "The form expired; reload the page and try again.");
    }
    let (st, caller, t) = (State(s.clone()), v.caller.clone(), extract::Path(id.clone()));
    let done: Result<Option<String>, ApiError> = async {
        match action.as_str() {
            "limits" => {
                let limits = body(json!({"max_concurrent_calls": number(&f, "max_concurrent_calls")?, "max_minutes_per_month": number(&f, "max_minutes_per_month")?}))?;
                usage::put_limits(st, caller, t, extract::Json(limits)).await.map(|_| None)
            }
            "outbound" => {
                let prefixes: Vec<&str> = field(&f, "allowed_prefixes").split(',').map(str::trim).filter(|p| !p.is_empty()).collect();
                let policy = body(json!({"enabled": field(&f, "enabled") == "on", "calls_per_second": number(&f, "calls_per_second")?, "max_concurrent": number(&f, "max_concurrent")?, "allowed_prefixes": prefixes}))?;
                outbound::put_policy(st, caller, t, extract::Json(policy)).await.map(|_| None)
            }
            "invite" => {
                let invitation = body(json!({"email": field(&f, "email").trim(), "role": "owner"}))?;
                users::invite(st, caller, t, extract::Json(invitation)).await.map(|(_, axum::Json(issued))| Some(issued.token))
            }
            _ => Err(ApiError::NotFound),
        }
    }
    .await;
    match done {
        Ok(None) => Redirect::to(&format!("/operator/tenants/{id}")).into_response(),
        Ok(Some(token)) => render(&s, &v, &id, Some(&token)).await,
        Err(e) => refused(&v, e),
    }
}
