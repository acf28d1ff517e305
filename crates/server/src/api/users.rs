//! Dashboard users: admins invite (`/v1/tenants/{tenant}/invitations`), the invitee sets a
//! password (`/v1/invitations/accept`), users sign in for a session (`/v1/sessions`) whose token
//! works as a bearer token like an API key, and sign out (`/v1/sessions/current`).

use axum::extract::State;
use axum::http::StatusCode;
use parley_store::users::{Invitation, User};
use parley_store::Role;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Caller;
use super::error::ErrorBody;
use super::extract::{ClientAddr, Json, Path};
use super::keys::TenantRole;
use super::{now_ms, ApiError, ApiState};

/// A user (never the password).
#[derive(Serialize, ToSchema)]
pub struct UserView {
    /// Id.
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// Sign-in email.
    pub email: String,
    /// Role.
    pub role: String,
    /// Creation time, unix ms.
    pub created_ms: i64,
    /// When the user was disabled.
    pub disabled_ms: Option<i64>,
}

impl From<User> for UserView {
    fn from(u: User) -> UserView {
        UserView { id: u.id, tenant_id: u.tenant_id, email: u.email, role: u.role.as_str().into(), created_ms: u.created_ms, disabled_ms: u.disabled_ms }
    }
}

/// An invitation (never its token).
#[derive(Serialize, ToSchema)]
pub struct InvitationView {
    /// Id.
    pub id: String,
    /// Who is invited.
    pub email: String,
    /// Their role.
    pub role: String,
    /// Creation time, unix ms.
    pub created_ms: i64,
    /// Last moment it can be accepted, unix ms.
    pub expires_ms: i64,
    /// When it was accepted.
    pub accepted_ms: Option<i64>,
}

impl From<Invitation> for InvitationView {
    fn from(i: Invitation) -> InvitationView {
        InvitationView { id: i.id, email: i.email, role: i.role.as_str().into(), created_ms: i.created_ms, expires_ms: i.expires_ms, accepted_ms: i.accepted_ms }
    }
}

/// Whom to invite.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInvitation {
    /// Email address.
    #[schema(max_length = 254, pattern = "^[^@\\s\\x00-\\x1f\\x7f-\\x9f]+@[^@\\s\\x00-\\x1f\\x7f-\\x9f.][^@\\s\\x00-\\x1f\\x7f-\\x9f]*[.][^@\\s\\x00-\\x1f\\x7f-\\x9f.]+$")]
    pub email: String,
    /// Role (at most the caller's own).
    pub role: TenantRole,
}

/// An invitation just issued: send `token` to the invitee; it is shown this once.
#[derive(Serialize, ToSchema)]
pub struct IssuedInvitation {
    /// The invitation.
    pub invitation: InvitationView,
    /// `inv_<id>_<secret>`, valid 7 days, single use.
    pub token: String,
}

/// Invitations, newest first.
#[derive(Serialize, ToSchema)]
pub struct InvitationList {
    /// The invitations.
    pub invitations: Vec<InvitationView>,
}

/// Users, by email.
#[derive(Serialize, ToSchema)]
pub struct UserList {
    /// The users.
    pub users: Vec<UserView>,
}

/// Accepting an invitation.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Acceptance {
    /// The invitation token.
    pub token: String,
    /// The new password: 12 characters to 1024 bytes.
    #[schema(min_length = 12, max_length = 1024)]
    pub password: String,
}

/// Signing in.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// Tenant id.
    pub tenant: String,
    /// Email.
    pub email: String,
    /// Password.
    pub password: String,
}

/// A session: use `token` as the bearer token; it is shown this once.
#[derive(Serialize, ToSchema)]
pub struct SessionView {
    /// Session id.
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// The user.
    pub user_id: String,
    /// The user's role.
    pub role: String,
    /// Expiry, unix ms (12 hours).
    pub expires_ms: i64,
    /// `ses_<id>_<secret>`.
    pub token: String,
}

/// Signed out.
#[derive(Serialize, ToSchema)]
pub struct SignedOut {
    /// The session ended.
    pub session_id: String,
}

#[utoipa::path(post, path = "/v1/tenants/{tenant}/invitations", tag = "users", request_body = NewInvitation, security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 201, body = IssuedInvitation), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
/// Invites a user (admin; owners only invite owners).
pub async fn invite(State(s): State<ApiState>, caller: Caller, Path(tenant): Path<String>, Json(body): Json<NewInvitation>) -> Result<(StatusCode, axum::Json<IssuedInvitation>), ApiError> {
    let scope = caller.tenant(&s, &tenant, Role::Admin).await?;
    let role = Role::from(body.role);
    if !caller.role().includes(role) {
        return Err(ApiError::Forbidden);
    }
    let issued = scope.invite(&body.email, role, now_ms()).await?;
    caller.audit(&scope, "invitations.create", &issued.item.id).await?;
    let token = issued.token.expose_secret().to_string();
    Ok((StatusCode::CREATED, axum::Json(IssuedInvitation { invitation: issued.item.into(), token })))
}

#[utoipa::path(get, path = "/v1/tenants/{tenant}/invitations", tag = "users", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, body = InvitationList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// Lists invitations (admin).
pub async fn invitations(State(s): State<ApiState>, caller: Caller, Path(tenant): Path<String>) -> Result<axum::Json<InvitationList>, ApiError> {
    let scope = caller.tenant(&s, &tenant, Role::Admin).await?;
    let list = scope.list_invitations().await?;
    caller.audit(&scope, "invitations.list", "-").await?;
    Ok(axum::Json(InvitationList { invitations: list.into_iter().map(Into::into).collect() }))
}

#[utoipa::path(get, path = "/v1/tenants/{tenant}/users", tag = "users", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, body = UserList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// Lists users (admin).
pub async fn users(State(s): State<ApiState>, caller: Caller, Path(tenant): Path<String>) -> Result<axum::Json<UserList>, ApiError> {
    let scope = caller.tenant(&s, &tenant, Role::Admin).await?;
    let list = scope.list_users().await?;
    caller.audit(&scope, "users.list", "-").await?;
    Ok(axum::Json(UserList { users: list.into_iter().map(Into::into).collect() }))
}

#[utoipa::path(delete, path = "/v1/tenants/{tenant}/users/{user_id}", tag = "users", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), ("user_id" = String, Path, description = "User id")),
    responses((status = 200, body = UserView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// Disables a user and ends their sessions (admin; owners only by owners).
pub async fn disable(State(s): State<ApiState>, caller: Caller, Path((tenant, user_id)): Path<(String, String)>) -> Result<axum::Json<UserView>, ApiError> {
    let scope = caller.tenant(&s, &tenant, Role::Admin).await?;
    let target = scope.get_user(&user_id).await?;
    if !caller.role().includes(target.role) {
        return Err(ApiError::Forbidden);
    }
    let user = scope.disable_user(&user_id, now_ms()).await?;
    caller.audit(&scope, "users.disable", &user.id).await?;
    Ok(axum::Json(user.into()))
}

#[utoipa::path(post, path = "/v1/invitations/accept", tag = "users", request_body = Acceptance,
    responses((status = 201, body = UserView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "Too many attempts from this address; wait Retry-After seconds")))]
/// Accepts an invitation, setting the password (no bearer token: the invitation token is the credential).
pub async fn accept(State(s): State<ApiState>, ClientAddr(addr): ClientAddr, Json(body): Json<Acceptance>) -> Result<(StatusCode, axum::Json<UserView>), ApiError> {
    attempt(&s, addr, None)?;
    let user = s.store.platform().accept_invitation(&SecretString::from(body.token), &SecretString::from(body.password), now_ms()).await?;
    s.throttle.lock().unwrap_or_else(|e| e.into_inner()).succeeded(addr, None);
    let scope = s.store.tenant(&user.tenant_id)?;
    scope.audit(&parley_store::audit::Event { actor: &format!("user:{}", user.id), action: "invitations.accept", object_id: &user.id, at_ms: now_ms() }).await?;
    Ok((StatusCode::CREATED, axum::Json(user.into())))
}

#[utoipa::path(post, path = "/v1/sessions", tag = "users", request_body = Credentials,
    responses((status = 201, body = SessionView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "Too many attempts for this account or from this address; wait Retry-After seconds")))]
/// Signs in (no bearer token). Wrong tenant, email or password all answer 401 alike.
pub async fn sign_in(State(s): State<ApiState>, ClientAddr(addr): ClientAddr, Json(body): Json<Credentials>) -> Result<(StatusCode, axum::Json<SessionView>), ApiError> {
    let account = format!("{}/{}", body.tenant, body.email.trim().to_lowercase());
    attempt(&s, addr, Some(&account))?;
    let Ok(scope) = s.store.tenant(&body.tenant) else { return Err(ApiError::Unauthorized) };
    if scope.get().await.is_err() {
        return Err(ApiError::Unauthorized);
    }
    let now = now_ms();
    let Some(issued) = scope.sign_in(&body.email, &SecretString::from(body.password), now).await? else {
        if let Err(e) = s.store.op_event(scope.id(), "auth.failed", 401, "sign_in", now).await {
            tracing::warn!(error = %e, "recording an operational event failed");
        }
        return Err(ApiError::Unauthorized);
    };
    s.throttle.lock().unwrap_or_else(|e| e.into_inner()).succeeded(addr, Some(&account));
    let sess = issued.item;
    scope.audit(&parley_store::audit::Event { actor: &format!("user:{}", sess.user_id), action: "sessions.create", object_id: &sess.id, at_ms: now }).await?;
    let view = SessionView { id: sess.id, tenant_id: sess.tenant_id, user_id: sess.user_id, role: sess.role.as_str().into(), expires_ms: sess.expires_ms, token: issued.token.expose_secret().to_string() };
    Ok((StatusCode::CREATED, axum::Json(view)))
}

#[utoipa::path(delete, path = "/v1/sessions/current", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = SignedOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
/// Signs out: ends the session whose token authenticates this request (API keys have none: 403).
pub async fn sign_out(State(s): State<ApiState>, caller: Caller) -> Result<axum::Json<SignedOut>, ApiError> {
    let Some(session_id) = caller.session_id.clone() else {
        // An API key has no session to end.
        return Err(ApiError::Forbidden);
    };
    let Some(tenant) = caller.tenant_id() else {
        // An operator's session.
        s.store.platform().operator_sign_out(&session_id, now_ms()).await?;
        return Ok(axum::Json(SignedOut { session_id }));
    };
    let scope = s.store.tenant(tenant)?;
    scope.sign_out(&session_id, now_ms()).await?;
    caller.audit(&scope, "sessions.delete", &session_id).await?;
    Ok(axum::Json(SignedOut { session_id }))
}

/// Counts an attempt at a password endpoint, or answers 429 with how long to wait.
pub(crate) fn attempt(s: &ApiState, addr: Option<std::net::IpAddr>, account: Option<&str>) -> Result<(), ApiError> {
    let now = std::time::Instant::now();
    s.throttle.lock().unwrap_or_else(|e| e.into_inner()).attempt(now, addr, account).map_err(|wait| ApiError::Throttled(wait.as_secs_f64().ceil() as u64))
}
