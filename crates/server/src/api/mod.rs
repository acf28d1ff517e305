//! The REST API under `/v1`: bearer API keys, roles, one audit entry per read or change of
//! customer data, JSON errors, and the OpenAPI document at `/v1/openapi.json` generated from the
//! same handler annotations ([`openapi`]).

pub(crate) mod agent_versions;
pub(crate) mod agents;
pub(crate) mod audit;
pub(crate) mod auth;
pub(crate) mod calls;
mod error;
pub(crate) mod extract;
pub use extract::ClientAddr;
pub(crate) mod integrations;
pub(crate) mod kept;
pub(crate) mod operators;
pub(crate) mod keys;
pub mod openapi;
pub(crate) mod policy;
pub(crate) mod subjects;
pub mod throttle;
pub(crate) mod tenants;
pub(crate) mod outbound;
pub(crate) mod trunks;
pub(crate) mod usage;
pub(crate) mod users;

use axum::routing::{delete, get, post};
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
    /// Opens sealed integration secrets and kept transcripts.
    pub master: std::sync::Arc<parley_store::crypto::MasterKey>,
    /// The SIP layer's routing snapshot, reloaded after changes to numbers, agents, limits or policies.
    pub directory: std::sync::Arc<crate::directory::Directory>,
    /// Requests to the SIP task (outbound calls, gateway changes).
    pub sip: tokio::sync::mpsc::Sender<crate::outbound::SipRequest>,
    /// The SIP listen address's IP (its family picks among a proxy's addresses).
    pub sip_ip: std::net::IpAddr,
    /// Attempts at the password and invitation endpoints.
    pub throttle: std::sync::Arc<std::sync::Mutex<throttle::Throttle>>,
}

impl ApiState {
    /// Reloads the routing snapshot after a change, so the next call sees it.
    pub async fn routing_changed(&self) {
        if let Err(e) = self.directory.reload(&self.store, &self.master, now_ms()).await {
            tracing::warn!(error = %e, "reloading the routing directory failed; the periodic reload retries");
        }
    }
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
        .route("/v1/tenants/{tenant}/calls", get(calls::list).post(outbound::place_call))
        .route("/v1/tenants/{tenant}/latency", get(calls::latency))
        .route("/v1/tenants/{tenant}/outbound-policy", get(outbound::get_policy).put(outbound::put_policy))
        .route("/v1/tenants/{tenant}/gateways", get(outbound::list_gateways).post(outbound::create_gateway))
        .route("/v1/tenants/{tenant}/gateways/{gateway_id}", delete(outbound::delete_gateway))
        .route("/v1/tenants/{tenant}/calls/{call_id}", get(calls::get_one))
        .route("/v1/tenants/{tenant}/calls/{call_id}/transcript", get(kept::transcript))
        .route("/v1/tenants/{tenant}/calls/{call_id}/recording", get(kept::recording))
        .route("/v1/tenants/{tenant}/invitations", get(users::invitations).post(users::invite))
        .route("/v1/tenants/{tenant}/users", get(users::users))
        .route("/v1/tenants/{tenant}/users/{user_id}", delete(users::disable))
        .route("/v1/invitations/accept", post(users::accept))
        .route("/v1/sessions", post(users::sign_in))
        .route("/v1/operator-sessions", post(operators::sign_in))
        .route("/v1/sessions/current", delete(users::sign_out))
        .route("/v1/tenants/{tenant}/agents", get(agents::list))
        .route("/v1/tenants/{tenant}/agents/{name}", get(agents::get_one).put(agents::put).delete(agents::delete))
        .route("/v1/tenants/{tenant}/agents/{name}/versions", get(agent_versions::list))
        .route("/v1/tenants/{tenant}/agents/{name}/versions/{version}", get(agent_versions::get_one))
        .route("/v1/tenants/{tenant}/agents/{name}/versions/{version}/restore", post(agent_versions::restore))
        .route("/v1/tenants/{tenant}/numbers", get(agents::numbers).post(agents::add_number))
        .route("/v1/tenants/{tenant}/numbers/{number}", delete(agents::delete_number))
        .route("/v1/tenants/{tenant}/integrations", get(integrations::list).post(integrations::create))
        .route("/v1/tenants/{tenant}/integrations/{integration_id}", get(integrations::get_one).delete(integrations::delete))
        .route("/v1/tenants/{tenant}/trunks", get(trunks::list).post(trunks::create))
        .route("/v1/tenants/{tenant}/trunks/{trunk_id}", delete(trunks::delete))
        .route("/v1/tenants/{tenant}/usage", get(usage::usage))
        .route("/v1/tenants/{tenant}/limits", get(usage::limits).put(usage::put_limits))
        .route("/v1/tenants/{tenant}/operational-events", get(usage::op_events))
        .route("/v1/tenants/{tenant}/audit/entries", get(audit::entries))
        .route("/v1/tenants/{tenant}/audit/heads", get(audit::heads))
        .with_state(state)
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
