//! The web console at `/`, served by `parley serve` on the HTTP port beside the API: pages
//! rendered on the server ([`pages`], no script and nothing from a CDN, so it works offline),
//! one style sheet embedded in the binary.
//!
//! A page asks the API's own handlers for its data, as the signed-in user's [`Caller`]: the
//! console shows and does exactly what the API lets that role, and each read is audited as the
//! API audits it. A section the role may not read is left out. Operators have pages of their
//! own under `/operator` ([`operator`]): tenants, their limits and outbound policy.
//!
//! Every response carries a strict Content-Security-Policy (no inline script or style, forms
//! post only here, no framing); sessions and CSRF: [`session`].
//!
//! [`Caller`]: crate::api::auth::Caller

mod agents;
mod browser_call;
mod chat;
mod form;
mod operator;
pub mod pages;
mod privacy;
mod settings;
mod usage_page;
mod latency_chart;
mod timeline;
mod versions;
pub mod session;

use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::Markup;
use serde::Deserialize;

use crate::api::{calls, extract, kept, now_ms, operators, usage, users, ApiError, ApiState, ClientAddr};
use session::{cookie, csrf_token, same_origin, set_cookie, tokens_match, Viewer, SESSION_COOKIE, SIGN_IN_COOKIE};

/// What the console's handlers share: the API's state (most pages only call its handlers), the
/// server's (the test chat runs an agent's tools and model as a call would), the test chats.
#[derive(Clone)]
pub struct ConsoleState {
    api: ApiState,
    shared: std::sync::Arc<crate::Shared>,
    chats: std::sync::Arc<chat::Chats>,
    browser_calls: std::sync::Arc<browser_call::BrowserCalls>,
    /// Where browsers send a console call's media.
    media_ip: std::net::IpAddr,
}

impl axum::extract::FromRef<ConsoleState> for ApiState {
    fn from_ref(s: &ConsoleState) -> ApiState {
        s.api.clone()
    }
}

/// The console's routes.
pub fn router(api: ApiState, shared: std::sync::Arc<crate::Shared>, media_ip: std::net::IpAddr) -> Router {
    let state = ConsoleState { api, shared, chats: Default::default(), browser_calls: Default::default(), media_ip };
    Router::new()
        .route("/", get(overview))
        .route("/calls", get(calls_page))
        .route("/calls/browser", post(browser_call::start))
        .route("/calls/browser/hangup", post(browser_call::hang_up))
        .route("/calls/{call_id}", get(call_page))
        .route("/calls/{call_id}/recording", get(call_recording))
        .route("/agents", get(agents::list))
        .route("/agents/new", get(agents::new))
        .route("/agents/{name}", get(agents::show).post(agents::save))
        .route("/agents/{name}/chat", post(chat::say))
        .route("/agents/{name}/versions/{version}", get(versions::show))
        .route("/agents/{name}/versions/{version}/restore", post(versions::restore))
        .route("/privacy", get(privacy::show))
        .route("/privacy/policy", post(privacy::save_policy))
        .route("/privacy/requests", post(privacy::request))
        .route("/privacy/audit", get(privacy::audit_log))
        .route("/privacy/audit/heads.json", get(privacy::heads_file))
        .route("/usage", get(usage_page::show))
        .route("/settings", get(settings::show))
        .route("/settings/{action}", post(settings::change))
        .route("/settings/{what}/{verb}", post(settings::change_nested))
        .route("/sign-in", get(sign_in_form).post(sign_in))
        .route("/operator", get(operator::tenants))
        .route("/operator/sign-in", get(operator::sign_in_form).post(operator::sign_in))
        .route("/operator/sign-out", post(operator::sign_out))
        .route("/operator/tenants", post(operator::create_tenant))
        .route("/operator/tenants/{id}", get(operator::tenant))
        .route("/operator/tenants/{id}/{action}", post(operator::change))
        .route("/sign-out", post(sign_out))
        .route("/assets/console.css", get(style_sheet))
        .route("/assets/call.js", get(call_script))
        .layer(axum::middleware::map_response(secure_headers))
        .with_state(state)
}

/// What no console response goes without, besides what every answer gets
/// (`nosniff`, `no-store` by default: [`crate::http::baseline_headers`]).
async fn secure_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; media-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    );
    // `same-origin`, not `no-referrer`: with no referrer a browser sends `Origin: null` on the
    // console's own form posts, which the origin check must refuse.
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    r
}

async fn call_script() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")], include_str!("call.js"))
}

async fn style_sheet() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")], include_str!("console.css"))
}

/// A page with its status.
fn page(status: StatusCode, markup: Markup) -> Response {
    (status, markup).into_response()
}

/// A signed-in page.
fn frame(v: &Viewer, title: &str, body: Markup) -> Response {
    page(StatusCode::OK, pages::layout(title, v.signed_in(), body))
}

/// A message page with `status`.
fn page_status(status: StatusCode, v: &Viewer, message: &str) -> Response {
    page(status, pages::layout("Problem", v.signed_in(), pages::problem(message)))
}

/// Whether a state-changing form came from this site with the session's token.
fn csrf_ok(s: &ApiState, v: &Viewer, headers: &HeaderMap, given: &str) -> bool {
    let session = v.caller.session_id.clone().unwrap_or_default();
    same_origin(headers) && tokens_match(given, &csrf_token(s, &session))
}

/// The API's refusal as a page (a role's missing permission, bad input).
fn refused(v: &Viewer, e: ApiError) -> Response {
    let (status, message) = match &e {
        ApiError::Forbidden => (StatusCode::FORBIDDEN, "Your role may not see this.".to_string()),
        ApiError::NotFound => (StatusCode::NOT_FOUND, "Not found.".to_string()),
        ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, m.clone()),
        _ => {
            tracing::warn!(error = %e, "console page failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong; try again.".to_string())
        }
    };
    page_status(status, v, &message)
}

/// A section the role may read (`Some`), may not (`None`), or the API's failure.
fn optional<T>(r: Result<T, ApiError>) -> Result<Option<T>, ApiError> {
    match r {
        Ok(x) => Ok(Some(x)),
        Err(ApiError::Forbidden) => Ok(None),
        Err(e) => Err(e),
    }
}

async fn overview(State(s): State<ApiState>, v: Viewer) -> Response {
    let now = now_ms();
    let day_start_ms = now - now.rem_euclid(86_400_000);
    let t = || extract::Path(v.tenant.clone());
    let today = calls::CallQuery { since_ms: Some(day_start_ms), until_ms: None, outcome: None, agent: None, caller_hash: None, limit: Some(200), cursor: None };
    let today = match calls::list(State(s.clone()), v.caller.clone(), t(), extract::Query(today)).await {
        Ok(axum::Json(page)) => page,
        Err(e) => return refused(&v, e),
    };
    // Sections a role may not read are left out; other failures show.
    let limits = optional(usage::limits(State(s.clone()), v.caller.clone(), t()).await.map(|j| j.0));
    let month = optional(usage::usage(State(s.clone()), v.caller.clone(), t(), extract::Query(usage::UsageQuery { month: None })).await.map(|j| j.0));
    let events = optional(usage::op_events(State(s.clone()), v.caller.clone(), t(), extract::Query(usage::OpEventQuery { since_ms: None, limit: Some(10) })).await.map(|j| j.0.events));
    let latency = match calls::latency(State(s.clone()), v.caller.clone(), t(), extract::Query(calls::LatencyQuery { days: Some(14) })).await {
        Ok(axum::Json(l)) => l,
        Err(e) => return refused(&v, e),
    };
    let (limits, usage, events) = match (limits, month, events) {
        (Ok(l), Ok(u), Ok(e)) => (l, u, e),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return refused(&v, e),
    };
    frame(&v, "Overview", pages::overview(&pages::Overview { today, day_start_ms, limits, usage, events, latency }))
}

#[derive(Deserialize)]
struct CallsForm {
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    agent: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    cursor: Option<String>,
}

async fn calls_page(State(s): State<ApiState>, v: Viewer, Query(f): Query<CallsForm>) -> Response {
    let some = |x: &str| (!x.trim().is_empty()).then(|| x.trim().to_string());
    let day = |x: &str| match x.trim() {
        "" => Ok(None),
        date => pages::day_start_ms(date).map(Some).ok_or_else(|| ApiError::BadRequest(format!("{date:?} is not a date (YYYY-MM-DD)"))),
    };
    let (since_ms, until_ms) = match (day(&f.from), day(&f.to)) {
        (Ok(from), Ok(to)) => (from, to.map(|t| t + 86_400_000)),
        (Err(e), _) | (_, Err(e)) => return refused(&v, e),
    };
    let q = calls::CallQuery { since_ms, until_ms, outcome: some(&f.outcome), agent: some(&f.agent), caller_hash: None, limit: Some(50), cursor: f.cursor.clone() };
    let filters = pages::CallFilters { outcome: &f.outcome, agent: &f.agent, from: &f.from, to: &f.to };
    match calls::list(State(s), v.caller.clone(), extract::Path(v.tenant.clone()), extract::Query(q)).await {
        Ok(axum::Json(page)) => frame(&v, "Calls", pages::calls(&page, &filters)),
        Err(e) => refused(&v, e),
    }
}

/// What the policy kept of a call, for a role that may read it (`None` when it may not,
/// `Some(None)` when nothing is kept).
fn kept<T>(r: Result<T, ApiError>) -> Result<Option<Option<T>>, ApiError> {
    match r {
        Ok(x) => Ok(Some(Some(x))),
        Err(ApiError::NotFound) => Ok(Some(None)),
        Err(ApiError::Forbidden) => Ok(None),
        Err(e) => Err(e),
    }
}

async fn call_page(State(s): State<ApiState>, v: Viewer, axum::extract::Path(call_id): axum::extract::Path<String>) -> Response {
    let path = || extract::Path((v.tenant.clone(), call_id.clone()));
    let call = match calls::get_one(State(s.clone()), v.caller.clone(), path()).await {
        Ok(axum::Json(c)) => c,
        Err(e) => return refused(&v, e),
    };
    let transcript = match kept(kept::transcript(State(s.clone()), v.caller.clone(), path()).await.map(|j| j.0)) {
        Ok(t) => t,
        Err(e) => return refused(&v, e),
    };
    // Whether a recording is kept, without opening it (playing it is the audited read).
    let recording = match (v.caller.role().includes(parley_store::Role::Admin), s.store.tenant(&v.tenant)) {
        (false, _) => None,
        (true, Ok(scope)) => Some(scope.list_artifacts(&call_id).await.is_ok_and(|a| a.iter().any(|x| x.kind == "recording"))),
        (true, Err(_)) => Some(false),
    };
    let title = format!("Call {}", pages::when(call.started_ms));
    frame(&v, &title, pages::call(&call, transcript.as_ref().map(Option::as_ref), recording))
}

async fn call_recording(State(s): State<ApiState>, v: Viewer, axum::extract::Path(call_id): axum::extract::Path<String>) -> Response {
    match kept::recording(State(s), v.caller.clone(), extract::Path((v.tenant.clone(), call_id))).await {
        Ok(r) => r,
        Err(e) => refused(&v, e),
    }
}

#[derive(Deserialize)]
struct SignInForm {
    #[serde(default)]
    form_token: String,
    /// Absent on the operators' form.
    tenant: Option<String>,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

/// A sign-in form (a tenant's, or with `tenant: None` the operators'), with a fresh
/// double-submit token in its cookie and its field.
fn sign_in_page(headers: &HeaderMap, status: StatusCode, tenant: Option<&str>, email: &str, error: Option<&str>) -> Response {
    let token = hex::encode(rand::random::<[u8; 16]>());
    let mut r = page(status, pages::sign_in(&token, tenant, email, error));
    r.headers_mut().append(header::SET_COOKIE, set_cookie(headers, SIGN_IN_COOKIE, &token, 3600));
    r
}

async fn sign_in_form(headers: HeaderMap) -> Response {
    sign_in_page(&headers, StatusCode::OK, Some(""), "", None)
}

/// Signs in through the API with a sign-in form (users' or operators'): on success the session
/// cookie and a redirect to `home`, else the form again with why.
async fn sign_in_with(s: ApiState, addr: ClientAddr, headers: HeaderMap, f: SignInForm) -> Response {
    let tenant = f.tenant.as_deref().map(str::trim);
    let again = |status, error: &str| sign_in_page(&headers, status, tenant, &f.email, Some(error));
    let expected = cookie(&headers, SIGN_IN_COOKIE).unwrap_or_default();
    if !same_origin(&headers) || !tokens_match(&f.form_token, expected) {
        return again(StatusCode::FORBIDDEN, "The form expired; please sign in again.");
    }
    let (signed_in, home) = match tenant {
        Some(tenant) => {
            let credentials = users::Credentials { tenant: tenant.to_string(), email: f.email.clone(), password: f.password.clone() };
            (users::sign_in(State(s), addr, extract::Json(credentials)).await.map(|(_, axum::Json(v))| (v.token, v.expires_ms)), "/")
        }
        None => {
            let credentials = operators::OperatorCredentials { email: f.email.clone(), password: f.password.clone() };
            (operators::sign_in(State(s), addr, extract::Json(credentials)).await.map(|(_, axum::Json(v))| (v.token, v.expires_ms)), "/operator")
        }
    };
    match signed_in {
        Ok((token, expires_ms)) => {
            let mut r = Redirect::to(home).into_response();
            r.headers_mut().append(header::SET_COOKIE, set_cookie(&headers, SESSION_COOKIE, &token, (expires_ms - now_ms()) / 1000));
            r.headers_mut().append(header::SET_COOKIE, set_cookie(&headers, SIGN_IN_COOKIE, "", 0));
            r
        }
        Err(ApiError::Throttled(wait)) => {
            let mut r = again(StatusCode::TOO_MANY_REQUESTS, &format!("Too many attempts; try again in {wait} s."));
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait));
            r
        }
        Err(ApiError::Unauthorized) => again(StatusCode::UNAUTHORIZED, if tenant.is_some() { "Wrong tenant, email or password." } else { "Wrong email or password." }),
        Err(e) => {
            tracing::warn!(error = %e, "console sign-in failed");
            again(StatusCode::INTERNAL_SERVER_ERROR, "Signing in failed; try again.")
        }
    }
}

async fn sign_in(State(s): State<ApiState>, addr: ClientAddr, headers: HeaderMap, Form(mut f): Form<SignInForm>) -> Response {
    f.tenant.get_or_insert_with(String::new);
    sign_in_with(s, addr, headers, f).await
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn sign_out(State(s): State<ApiState>, v: Viewer, headers: HeaderMap, Form(f): Form<CsrfForm>) -> Response {
    end_session(s, v, &headers, &f.csrf, "/sign-in").await
}

/// Signs the viewer out through the API (the form's CSRF token checked), clears the cookie and
/// sends the browser to the sign-in form `to`.
async fn end_session(s: ApiState, v: Viewer, headers: &HeaderMap, csrf: &str, to: &str) -> Response {
    if !csrf_ok(&s, &v, headers, csrf) {
        return page_status(StatusCode::FORBIDDEN, &v, "The form expired; reload the page and try again.");
    }
    if let Err(e) = users::sign_out(State(s), v.caller.clone()).await {
        return refused(&v, e);
    }
    let mut r = Redirect::to(to).into_response();
    r.headers_mut().append(header::SET_COOKIE, set_cookie(headers, SESSION_COOKIE, "", 0));
    r
}
