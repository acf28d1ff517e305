//! `/v1/operator-sessions`: operators (created with `parley admin create-operator`) sign in
//! with email and password for a session that acts as the platform admin: it manages tenants,
//! their limits and outbound policy, and is what the console's operator pages run on. Throttled
//! like users' sign-in; `DELETE /v1/sessions/current` ends it.

use axum::extract::State;
use axum::http::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ErrorBody;
use super::extract::Json;
use super::users::attempt;
use super::{now_ms, ApiError, ApiState, ClientAddr};

/// An operator's email and password.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OperatorCredentials {
    /// Email.
    pub email: String,
    /// Password.
    pub password: String,
}

/// An operator's session: use `token` as the bearer token; it is shown this once.
#[derive(Serialize, ToSchema)]
pub struct OperatorSessionView {
    /// Session id.
    pub id: String,
    /// The operator.
    pub operator_id: String,
    /// Always `platform-admin`.
    pub role: String,
    /// Expiry, unix ms (12 hours).
    pub expires_ms: i64,
    /// `ops_<id>_<secret>`.
    pub token: String,
}

#[utoipa::path(post, path = "/v1/operator-sessions", tag = "users", request_body = OperatorCredentials,
    responses((status = 201, body = OperatorSessionView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "Too many attempts for this account or from this address; wait Retry-After seconds")))]
/// Signs an operator in (no bearer token). A wrong email or password answers 401 alike.
pub async fn sign_in(State(s): State<ApiState>, ClientAddr(addr): ClientAddr, Json(body): Json<OperatorCredentials>) -> Result<(StatusCode, axum::Json<OperatorSessionView>), ApiError> {
    let account = format!("operator/{}", body.email.trim().to_lowercase());
    attempt(&s, addr, Some(&account))?;
    let now = now_ms();
    let Some(issued) = s.store.platform().operator_sign_in(&body.email, &SecretString::from(body.password), now).await? else {
        if let Err(e) = s.store.op_event("_platform", "auth.failed", 401, "operator_sign_in", now).await {
            tracing::warn!(error = %e, "recording an operational event failed");
        }
        return Err(ApiError::Unauthorized);
    };
    s.throttle.lock().unwrap_or_else(|e| e.into_inner()).succeeded(addr, Some(&account));
    tracing::info!(operator = %issued.item.operator_id, "operator signed in");
    let sess = issued.item;
    let view = OperatorSessionView { id: sess.id, operator_id: sess.operator_id, role: "platform-admin".into(), expires_ms: sess.expires_ms, token: issued.token.expose_secret().to_string() };
    Ok((StatusCode::CREATED, axum::Json(view)))
}
