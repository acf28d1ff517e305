//! The REST API under `/v1`: bearer API keys, roles, one audit entry per read or change of
//! customer data, JSON errors, and the OpenAPI document at `/v1/openapi.json` generated from the
//! same handler annotations ([`openapi`]).

mod audit;
mod auth;
mod calls;
mod error;
mod extract;
mod keys;
pub mod openapi;
mod policy;
mod subjects;
mod tenants;

use axum::routing::{delete, get};
use axum::Router;
use parley_store::Store;

pub use error::ApiError;

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    /// The store.
    pub store: Store,
    /// The installation's ed25519 signer (audit heads, export manifests).
    pub signer: std::sync::Arc<parley_store::audit::HeadSigner>,
    /// The key phone numbers are hashed with.
    pub hash_key: std::sync::Arc<Vec<u8>>,
    /// The operator's ceiling on retention windows, in days.
    pub max_retention_days: i64,
}

/// The `/v1` routes.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/v1/openapi.json", get(openapi::document))
        .route("/v1/tenants", get(tenants::list).post(tenants::create))
        .route("/v1/tenants/{tenant}", get(tenants::get_one))
        .route("/v1/tenants/{tenant}/api-keys", get(keys::list).post(keys::create))
        .route("/v1/tenants/{tenant}/api-keys/{key_id}", delete(keys::revoke))
        .route("/v1/tenants/{tenant}/data-policy", get(policy::get_one).put(policy::put))
        .route("/v1/tenants/{tenant}/data-subject-requests", axum::routing::post(subjects::create))
        .route("/v1/tenants/{tenant}/calls", get(calls::list))
        .route("/v1/tenants/{tenant}/calls/{call_id}", get(calls::get_one))
        .route("/v1/tenants/{tenant}/audit/entries", get(audit::entries))
        .route("/v1/tenants/{tenant}/audit/heads", get(audit::heads))
        .with_state(state)
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
