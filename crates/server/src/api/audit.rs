//! `/v1/tenants/{tenant}/audit`: a tenant's own audit chain and its signed heads, to export and
//! keep (with them, `parley audit verify --heads` shows whether the operator rewrote history).

use axum::extract::State;
use parley_store::Role;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Caller;
use super::error::ErrorBody;
use super::extract::{Path, Query};
use super::{ApiError, ApiState};

/// One audit entry.
#[derive(Serialize, ToSchema)]
pub struct EntryView {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// Time, unix ms.
    pub at_ms: i64,
    /// Who (`key:<id>`, `system:<job>`).
    pub actor: String,
    /// What.
    pub action: String,
    /// Which object.
    pub object_id: String,
    /// Previous entry's hash.
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

/// A page of entries.
#[derive(Serialize, ToSchema)]
pub struct EntryList {
    /// Oldest first.
    pub entries: Vec<EntryView>,
}

/// Paging.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EntryQuery {
    /// Entries after this seq (default 0).
    #[param(minimum = 0)]
    pub after: Option<i64>,
    /// At most this many, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// A signed chain head.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct HeadView {
    /// Chain (the tenant id).
    pub tenant_id: String,
    /// Last entry covered.
    pub seq: i64,
    /// Its hash.
    pub hash: String,
    /// Signing time, unix ms.
    pub signed_ms: i64,
    /// ed25519 public key, hex.
    pub public_key: String,
    /// ed25519 signature, hex.
    pub signature: String,
}

/// The tenant's signed heads and the key that should have signed them.
#[derive(Serialize, ToSchema)]
pub struct HeadList {
    /// The installation's signing key, hex.
    pub public_key: String,
    /// Oldest first.
    pub heads: Vec<HeadView>,
}

#[utoipa::path(get, path = "/v1/tenants/{tenant}/audit/entries", tag = "audit", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), EntryQuery),
    responses((status = 200, body = EntryList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// The tenant's audit entries (admin).
pub async fn entries(State(s): State<ApiState>, caller: Caller, Path(tenant): Path<String>, Query(q): Query<EntryQuery>) -> Result<axum::Json<EntryList>, ApiError> {
    let scope = caller.tenant(&s, &tenant, Role::Admin).await?;
    let after = q.after.unwrap_or(0);
    let limit = q.limit.unwrap_or(100);
    if after < 0 || !(1..=1000).contains(&limit) {
        return Err(ApiError::BadRequest("after must be 0 or more and limit 1 to 1000".into()));
    }
    let list = scope.audit_entries(after, limit).await?;
    caller.audit(&scope, "audit.read", "-").await?;
    let entries = list
        .into_iter()
        .map(|e| EntryView { seq: e.seq, at_ms: e.at_ms, actor: e.actor, action: e.action, object_id: e.object_id, prev_hash: e.prev_hash, hash: e.hash })
        .collect();
    Ok(axum::Json(EntryList { entries }))
}

#[utoipa::path(get, path = "/v1/tenants/{tenant}/audit/heads", tag = "audit", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, body = HeadList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// The tenant's signed chain heads, to export (admin).
pub async fn heads(State(s): State<ApiState>, caller: Caller, Path(tenant): Path<String>) -> Result<axum::Json<HeadList>, ApiError> {
    let scope = caller.tenant(&s, &tenant, Role::Admin).await?;
    let heads = scope.audit_heads().await?;
    caller.audit(&scope, "audit.heads", "-").await?;
    let heads = heads
        .into_iter()
        .map(|h| HeadView { tenant_id: h.tenant_id, seq: h.seq, hash: h.hash, signed_ms: h.signed_ms, public_key: h.public_key, signature: h.signature })
        .collect();
    Ok(axum::Json(HeadList { public_key: s.signer.public_key_hex(), heads }))
}
