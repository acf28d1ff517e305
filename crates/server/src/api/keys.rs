//! `/v1/tenants/{tenant}/api-keys`: admins issue, list and revoke their tenant's keys. A key
//! can issue keys up to its own role; the token is in the response once and never again.

use axum::extract::State;
use axum::http::StatusCode;
use parley_store::{ApiKey, Role};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Caller;
use super::error::ErrorBody;
use super::extract::{Json, Path};
use super::{now_ms, ApiError, ApiState};

/// A tenant role.
#[derive(Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TenantRole {
    /// Reads.
    Viewer,
    /// Reads, edits agents.
    AgentEditor,
    /// Manages keys, numbers, integrations, policies.
    Admin,
    /// Everything in the tenant.
    Owner,
}

impl From<TenantRole> for Role {
    fn from(r: TenantRole) -> Role {
        match r {
            TenantRole::Viewer => Role::Viewer,
            TenantRole::AgentEditor => Role::AgentEditor,
            TenantRole::Admin => Role::Admin,
            TenantRole::Owner => Role::Owner,
        }
    }
}

/// An API key (never its secret).
#[derive(Serialize, ToSchema)]
pub struct KeyView {
    /// Id.
    pub id: String,
    /// Role: `viewer`, `agent-editor`, `admin`, `owner` or `platform-admin`.
    pub role: String,
    /// Label.
    pub name: String,
    /// Creation time, unix ms.
    pub created_ms: i64,
    /// Revocation time, unix ms.
    pub revoked_ms: Option<i64>,
}

impl From<ApiKey> for KeyView {
    fn from(k: ApiKey) -> KeyView {
        KeyView { id: k.id, role: k.role.as_str().into(), name: k.name, created_ms: k.created_ms, revoked_ms: k.revoked_ms }
    }
}

/// A key to issue.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    /// Label, 1 to 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// Role (at most the caller's own).
    pub role: TenantRole,
}

/// A key just issued: `token` is shown this once.
#[derive(Serialize, ToSchema)]
pub struct IssuedKeyView {
    /// The key.
    pub key: KeyView,
    /// Bearer token `pk_<id>_<secret>`.
    pub token: String,
}

/// A tenant's keys.
#[derive(Serialize, ToSchema)]
pub struct KeyList {
    /// Oldest first.
    pub keys: Vec<KeyView>,
}

#[utoipa::path(post, path = "/v1/tenants/{tenant}/api-keys", tag = "api-keys", request_body = NewKey, security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 201, body = IssuedKeyView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// Issues a key (admin; owner keys need an owner).
pub async fn create(State(s): State<ApiState>, caller: Caller, Path(tenant): Path<String>, Json(body): Json<NewKey>) -> Result<(StatusCode, axum::Json<IssuedKeyView>), ApiError> {
    let scope = caller.tenant(&s, &tenant, Role::Admin).await?;
    let role = Role::from(body.role);
    if !caller.role().includes(role) {
        return Err(ApiError::Forbidden);
    }
    let len = body.name.chars().count();
    if !(1..=200).contains(&len) {
        return Err(ApiError::BadRequest("name must be 1 to 200 characters".into()));
    }
    let issued = scope.create_key(role, &body.name, now_ms()).await?;
    caller.audit(&scope, "api_keys.create", &issued.key.id).await?;
    let token = issued.token.expose_secret().to_string();
    Ok((StatusCode::CREATED, axum::Json(IssuedKeyView { key: issued.key.into(), token })))
}

#[utoipa::path(get, path = "/v1/tenants/{tenant}/api-keys", tag = "api-keys", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, body = KeyList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// Lists the tenant's keys (admin).
pub async fn list(State(s): State<ApiState>, caller: Caller, Path(tenant): Path<String>) -> Result<axum::Json<KeyList>, ApiError> {
    let scope = caller.tenant(&s, &tenant, Role::Admin).await?;
    let keys = scope.list_keys().await?;
    caller.audit(&scope, "api_keys.list", "-").await?;
    Ok(axum::Json(KeyList { keys: keys.into_iter().map(Into::into).collect() }))
}

#[utoipa::path(delete, path = "/v1/tenants/{tenant}/api-keys/{key_id}", tag = "api-keys", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), ("key_id" = String, Path, description = "Key id")),
    responses((status = 200, body = KeyView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// Revokes a key (admin; owner keys need an owner).
pub async fn revoke(State(s): State<ApiState>, caller: Caller, Path((tenant, key_id)): Path<(String, String)>) -> Result<axum::Json<KeyView>, ApiError> {
    let scope = caller.tenant(&s, &tenant, Role::Admin).await?;
    let target = scope.get_key(&key_id).await?;
    if !caller.role().includes(target.role) {
        return Err(ApiError::Forbidden);
    }
    let key = scope.revoke_key(&key_id, now_ms()).await?;
    caller.audit(&scope, "api_keys.revoke", &key.id).await?;
    Ok(axum::Json(key.into()))
}
