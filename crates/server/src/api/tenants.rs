//! `/v1/tenants`: operators create and list tenants; a tenant's keys read their own.

use axum::extract::State;
use axum::http::StatusCode;
use parley_store::audit::Event;
use parley_store::{Role, Tenant};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Caller;
use super::error::ErrorBody;
use super::extract::{Json, Path};
use super::{now_ms, ApiError, ApiState};

/// A tenant.
#[derive(Serialize, ToSchema)]
pub struct TenantView {
    /// Id: 1 to 63 of `a-z 0-9 -`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Creation time, unix ms.
    pub created_ms: i64,
}

impl From<Tenant> for TenantView {
    fn from(t: Tenant) -> TenantView {
        TenantView { id: t.id, name: t.name, created_ms: t.created_ms }
    }
}

/// A tenant to create.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    /// Id: 1 to 63 of `a-z 0-9 -`, starting with a letter or digit.
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,62}$")]
    pub id: String,
    /// Display name, 1 to 200 characters, no control or invisible formatting characters.
    #[schema(min_length = 1, max_length = 200, pattern = r"^[^\u0000-\u001F\u007F-\u009F\u061C\u200B-\u200F\u202A-\u202E\u2060-\u2069\uFEFF]*$")]
    pub name: String,
}

/// Tenants, by id.
#[derive(Serialize, ToSchema)]
pub struct TenantList {
    /// The tenants.
    pub tenants: Vec<TenantView>,
}

#[utoipa::path(post, path = "/v1/tenants", tag = "tenants", request_body = NewTenant,
    security(("bearer" = [])),
    responses((status = 201, body = TenantView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
/// Creates a tenant (operator keys only).
pub async fn create(State(s): State<ApiState>, caller: Caller, Json(body): Json<NewTenant>) -> Result<(StatusCode, axum::Json<TenantView>), ApiError> {
    caller.platform()?;
    let len = body.name.chars().count();
    if !(1..=200).contains(&len) {
        return Err(ApiError::BadRequest("name must be 1 to 200 characters".into()));
    }
    let t = s.store.platform().create_tenant(&body.id, &body.name, now_ms()).await?;
    s.store.platform().audit(&Event { actor: &caller.actor(), action: "tenants.create", object_id: &t.id, at_ms: now_ms() }).await?;
    Ok((StatusCode::CREATED, axum::Json(t.into())))
}

#[utoipa::path(get, path = "/v1/tenants", tag = "tenants", security(("bearer" = [])),
    responses((status = 200, body = TenantList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
/// Lists all tenants (operator keys only).
pub async fn list(State(s): State<ApiState>, caller: Caller) -> Result<axum::Json<TenantList>, ApiError> {
    caller.platform()?;
    let tenants = s.store.platform().list_tenants().await?;
    s.store.platform().audit(&Event { actor: &caller.actor(), action: "tenants.list", object_id: "-", at_ms: now_ms() }).await?;
    Ok(axum::Json(TenantList { tenants: tenants.into_iter().map(Into::into).collect() }))
}

#[utoipa::path(get, path = "/v1/tenants/{tenant}", tag = "tenants", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, body = TenantView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// One tenant.
pub async fn get_one(State(s): State<ApiState>, caller: Caller, Path(tenant): Path<String>) -> Result<axum::Json<TenantView>, ApiError> {
    let scope = caller.tenant(&s, &tenant, Role::Viewer).await?;
    let t = scope.get().await?;
    caller.audit(&scope, "tenants.read", &t.id).await?;
    Ok(axum::Json(t.into()))
}
