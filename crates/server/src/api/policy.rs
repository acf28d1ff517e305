//! `/v1/tenants/{tenant}/data-policy`: what the tenant lets Parley keep, and for how long.

use axum::extract::State;
use parley_store::policy::DataPolicy;
use parley_store::Role;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Caller;
use super::error::ErrorBody;
use super::extract::{Json, Path};
use super::{now_ms, ApiError, ApiState};

/// A provider a tenant's data may go to.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// The engines on this machine.
    Embedded,
    /// OpenAI.
    Openai,
    /// Deepgram.
    Deepgram,
    /// ElevenLabs.
    Elevenlabs,
    /// A Shopify store (`shopify.*` tools: the caller's phone number and order number).
    Shopify,
    /// A CalDAV calendar (`calendar.*` tools: the caller's name and number in bookings).
    Caldav,
    /// Zendesk (`zendesk.*` tools: tickets with the caller's name, number and request).
    Zendesk,
    /// HubSpot (`hubspot.*` tools: notes on the caller's contact).
    Hubspot,
    /// The tenant's own endpoints (`http.request` tools).
    Http,
    /// Google Calendar (`calendar.*` tools without a CalDAV calendar).
    #[serde(rename = "google_calendar")]
    GoogleCalendar,
}

impl Provider {
    /// Every provider, in the order the console lists them.
    pub const ALL: [Provider; 10] = [Provider::Embedded, Provider::Openai, Provider::Deepgram, Provider::Elevenlabs, Provider::Shopify, Provider::Caldav, Provider::Zendesk, Provider::Hubspot, Provider::Http, Provider::GoogleCalendar];

    /// The name in the API (`google_calendar`).
    pub fn name(self) -> &'static str {
        match self {
            Provider::Embedded => "embedded",
            Provider::Openai => "openai",
            Provider::Deepgram => "deepgram",
            Provider::Elevenlabs => "elevenlabs",
            Provider::Shopify => "shopify",
            Provider::Caldav => "caldav",
            Provider::Zendesk => "zendesk",
            Provider::Hubspot => "hubspot",
            Provider::Http => "http",
            Provider::GoogleCalendar => "google_calendar",
        }
    }

    /// The provider of an API name.
    pub fn parse(s: &str) -> Option<Provider> {
        Provider::ALL.into_iter().find(|p| p.name() == s)
    }
}

/// A tenant's data policy. Day counts are bounded by the operator's ceiling (default 365).
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyView {
    /// Recording: 0 = off (default); N = on, encrypted, kept N days.
    #[schema(minimum = 0, maximum = 365)]
    #[serde(deserialize_with = "super::extract::whole_number")]
    pub recording_days: i64,
    /// Transcripts: 0 = ephemeral (default: delivered, then destroyed); N = kept N days, encrypted.
    #[schema(minimum = 0, maximum = 365)]
    #[serde(deserialize_with = "super::extract::whole_number")]
    pub transcript_days: i64,
    /// Call metadata retention in days (default 365).
    #[schema(minimum = 1, maximum = 365)]
    #[serde(deserialize_with = "super::extract::whole_number")]
    pub call_metadata_days: i64,
    /// Operational logs retention in days (default 30).
    #[schema(minimum = 1, maximum = 365)]
    #[serde(deserialize_with = "super::extract::whole_number")]
    pub operational_log_days: i64,
    /// Redact PII in transcripts and summaries before delivery.
    pub redact_pii: bool,
    /// Providers that may receive this tenant's audio or text.
    #[schema(max_items = 4)]
    pub allowed_providers: Vec<Provider>,
    /// With recording on: an X25519 public key (64 hex digits) recordings are sealed to, so
    /// that only the tenant can open them.
    #[serde(default)]
    #[schema(pattern = "^[0-9a-fA-F]{64}$")]
    pub recording_public_key: Option<String>,
}


impl From<DataPolicy> for PolicyView {
    fn from(p: DataPolicy) -> PolicyView {
        PolicyView {
            recording_days: p.recording_days,
            transcript_days: p.transcript_days,
            call_metadata_days: p.call_metadata_days,
            operational_log_days: p.operational_log_days,
            redact_pii: p.redact_pii,
            allowed_providers: p.allowed_providers.iter().filter_map(|s| Provider::parse(s)).collect(),
            recording_public_key: p.recording_public_key,
        }
    }
}

#[utoipa::path(get, path = "/v1/tenants/{tenant}/data-policy", tag = "data-policy", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, body = PolicyView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// The tenant's data policy (viewer).
pub async fn get_one(State(s): State<ApiState>, caller: Caller, Path(tenant): Path<String>) -> Result<axum::Json<PolicyView>, ApiError> {
    let scope = caller.tenant(&s, &tenant, Role::Viewer).await?;
    let p = scope.policy().await?;
    caller.audit(&scope, "data_policy.read", "-").await?;
    Ok(axum::Json(p.into()))
}

#[utoipa::path(put, path = "/v1/tenants/{tenant}/data-policy", tag = "data-policy", request_body = PolicyView, security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, body = PolicyView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// Replaces the tenant's data policy (owner).
pub async fn put(State(s): State<ApiState>, caller: Caller, Path(tenant): Path<String>, Json(body): Json<PolicyView>) -> Result<axum::Json<PolicyView>, ApiError> {
    let scope = caller.tenant(&s, &tenant, Role::Owner).await?;
    if body.allowed_providers.len() > 4 {
        return Err(ApiError::BadRequest("allowed_providers lists at most 4 providers".into()));
    }
    let mut providers: Vec<String> = body.allowed_providers.iter().map(|p| p.name().to_string()).collect();
    providers.sort();
    providers.dedup();
    let policy = DataPolicy {
        recording_days: body.recording_days,
        transcript_days: body.transcript_days,
        call_metadata_days: body.call_metadata_days,
        operational_log_days: body.operational_log_days,
        redact_pii: body.redact_pii,
        allowed_providers: providers,
        recording_public_key: body.recording_public_key.map(|k| k.to_ascii_lowercase()),
    };
    scope.set_policy(&policy, s.max_retention_days, now_ms()).await?;
    caller.audit(&scope, "data_policy.update", "-").await?;
    s.routing_changed().await;
    Ok(axum::Json(scope.policy().await?.into()))
}
