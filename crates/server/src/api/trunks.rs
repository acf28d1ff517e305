//! `/v1/tenants/{tenant}/trunks`: where the tenant's calls may come from. A trunk admits
//! source networks (a carrier's signaling addresses) and/or peers that answer a digest
//! challenge with its username and password (a PBX). Once a tenant has a trunk, calls to its
//! numbers from anywhere else are challenged (401) or refused (403). The password goes in once
//! and is sealed; it never comes back out.

use axum::extract::State;
use axum::http::StatusCode;
use parley_store::trunks::{self, Trunk};
use parley_store::Role;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Caller;
use super::error::ErrorBody;
use super::extract::{Json, Path};
use super::{now_ms, ApiError, ApiState};

/// A trunk (never its password).
#[derive(Serialize, ToSchema)]
pub struct TrunkView {
    /// Id.
    pub id: String,
    /// Label.
    pub name: String,
    /// Source networks admitted without credentials (CIDR).
    pub allowed_ips: Vec<String>,
    /// Digest user name, if the trunk authenticates.
    pub username: Option<String>,
    /// Digest algorithms the peer may answer with, in challenge order.
    pub digest_algorithms: Vec<String>,
    /// New SIP requests per second its networks may send; null: the installation's default
    /// (`--sip-trunk-rate-limit`).
    pub requests_per_second: Option<u32>,
    /// Creation time, unix ms.
    pub created_ms: i64,
}

impl From<Trunk> for TrunkView {
    fn from(t: Trunk) -> TrunkView {
        TrunkView {
            id: t.id,
            name: t.name,
            allowed_ips: t.allowed_ips,
            username: t.username,
            digest_algorithms: t.digest_algorithms,
            requests_per_second: t.requests_per_second,
            created_ms: t.created_ms,
        }
    }
}

/// A digest algorithm (RFC 8760).
#[derive(Clone, Copy, Deserialize, ToSchema)]
pub enum DigestAlgorithm {
    /// SHA-256.
    #[serde(rename = "SHA-256")]
    Sha256,
    /// MD5, for older peers.
    #[serde(rename = "MD5")]
    Md5,
}

/// A trunk to add: networks, credentials, or both (with neither it admits nothing, which
/// closes the tenant's numbers to every source its other trunks do not admit).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTrunk {
    /// Label, unique within the tenant, 1 to 100 characters, not all blank, no control or
    /// invisible formatting characters.
    #[schema(min_length = 1, max_length = 100, pattern = r"^[^\u0000-\u001F\u007F-\u009F\u061C\u200B-\u200F\u202A-\u202E\u2060-\u2069\uFEFF]*[^\s\u0000-\u001F\u007F-\u009F\u061C\u200B-\u200F\u202A-\u202E\u2060-\u2069\uFEFF][^\u0000-\u001F\u007F-\u009F\u061C\u200B-\u200F\u202A-\u202E\u2060-\u2069\uFEFF]*$")]
    pub name: String,
    /// Source networks (`203.0.113.0/24`, `2001:db8::/32`, or one address; host bits are
    /// cleared), at most 100.
    #[serde(default)]
    #[schema(max_items = 100)]
    pub allowed_ips: Vec<Network>,
    /// Digest credentials the peer answers challenges with.
    pub credentials: Option<TrunkCredentials>,
    /// Digest algorithms in challenge order (default SHA-256 then MD5; `["MD5"]` for peers
    /// that read only the first challenge and know only MD5); repeats are ignored.
    #[serde(default)]
    #[schema(max_items = 2)]
    pub digest_algorithms: Vec<DigestAlgorithm>,
    /// New SIP requests per second (outside dialogs) its networks may send, 1 to 100000
    /// (burst twice that); default: the installation's `--sip-trunk-rate-limit` (2000).
    #[serde(default, deserialize_with = "super::extract::whole_u32_or_null")]
    #[schema(minimum = 1, maximum = 100000)]
    pub requests_per_second: Option<u32>,
}

/// An IPv4 or IPv6 address with an optional prefix length.
#[derive(Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, pattern = r"^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}(/(3[0-2]|[12]?[0-9]))?|(([0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1,7}:|([0-9a-fA-F]{1,4}:){1,6}:[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1,5}(:[0-9a-fA-F]{1,4}){1,2}|([0-9a-fA-F]{1,4}:){1,4}(:[0-9a-fA-F]{1,4}){1,3}|([0-9a-fA-F]{1,4}:){1,3}(:[0-9a-fA-F]{1,4}){1,4}|([0-9a-fA-F]{1,4}:){1,2}(:[0-9a-fA-F]{1,4}){1,5}|[0-9a-fA-F]{1,4}:(:[0-9a-fA-F]{1,4}){1,6}|:((:[0-9a-fA-F]{1,4}){1,7}|:))(/(12[0-8]|1[01][0-9]|[1-9]?[0-9]))?)$")]
pub struct Network(String);

/// A trunk's digest credentials.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrunkCredentials {
    /// User name, unique within the tenant, printable, no quotes.
    #[schema(min_length = 1, max_length = 100, pattern = "^[!#-\\[\\]-~]+$")]
    pub username: String,
    /// Password, 12 to 200 characters: stored sealed, never returned.
    #[schema(min_length = 12, max_length = 200)]
    pub password: String,
}

/// Trunks, by name.
#[derive(Serialize, ToSchema)]
pub struct TrunkList {
    /// The trunks.
    pub trunks: Vec<TrunkView>,
}

#[utoipa::path(get, path = "/v1/tenants/{tenant}/trunks", tag = "trunks", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, body = TrunkList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// Lists trunks (admin).
pub async fn list(State(s): State<ApiState>, caller: Caller, Path(tenant): Path<String>) -> Result<axum::Json<TrunkList>, ApiError> {
    let scope = caller.tenant(&s, &tenant, Role::Admin).await?;
    let list = scope.list_trunks().await?;
    caller.audit(&scope, "trunks.list", "-").await?;
    Ok(axum::Json(TrunkList { trunks: list.into_iter().map(Into::into).collect() }))
}

#[utoipa::path(post, path = "/v1/tenants/{tenant}/trunks", tag = "trunks", request_body = NewTrunk, security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 201, body = TrunkView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
/// Adds a trunk (admin).
pub async fn create(State(s): State<ApiState>, caller: Caller, Path(tenant): Path<String>, Json(body): Json<NewTrunk>) -> Result<(StatusCode, axum::Json<TrunkView>), ApiError> {
    let scope = caller.tenant(&s, &tenant, Role::Admin).await?;
    if body.digest_algorithms.len() > 2 || body.allowed_ips.len() > 100 {
        return Err(ApiError::BadRequest("at most 2 digest algorithms and 100 networks".into()));
    }
    let secret = body.credentials.as_ref().map(|c| SecretString::from(c.password.clone()));
    let credentials = body.credentials.as_ref().zip(secret.as_ref()).map(|(c, p)| (c.username.as_str(), p));
    let algorithms: Vec<String> = body.digest_algorithms.iter().map(|a| match a {
        DigestAlgorithm::Sha256 => "SHA-256".to_string(),
        DigestAlgorithm::Md5 => "MD5".to_string(),
    }).collect();
    let networks: Vec<String> = body.allowed_ips.into_iter().map(|n| n.0).collect();
    let new = trunks::NewTrunk { name: &body.name, allowed_ips: &networks, credentials, digest_algorithms: &algorithms, requests_per_second: body.requests_per_second };
    let t = scope.add_trunk(&s.master, &new, now_ms()).await?;
    caller.audit(&scope, "trunks.create", &t.id).await?;
    s.routing_changed().await;
    Ok((StatusCode::CREATED, axum::Json(t.into())))
}

#[utoipa::path(delete, path = "/v1/tenants/{tenant}/trunks/{trunk_id}", tag = "trunks", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), ("trunk_id" = String, Path, description = "Trunk id")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// Deletes a trunk and its sealed password (admin).
pub async fn delete(State(s): State<ApiState>, caller: Caller, Path((tenant, id)): Path<(String, String)>) -> Result<StatusCode, ApiError> {
    let scope = caller.tenant(&s, &tenant, Role::Admin).await?;
    scope.delete_trunk(&id).await?;
    caller.audit(&scope, "trunks.delete", &id).await?;
    s.routing_changed().await;
    Ok(StatusCode::NO_CONTENT)
}
