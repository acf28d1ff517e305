//! `/v1/tenants/{tenant}/integrations`: the tenant's order system, calendar, mail server or
//! provider accounts. The secret goes in once and never comes back out of the API; it is
//! sealed at rest under a data key of its own.

use axum::extract::State;
use axum::http::StatusCode;
use parley_store::integrations::Integration;
use parley_store::Role;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Caller;
use super::error::ErrorBody;
use super::extract::{Json, Path};
use super::{now_ms, ApiError, ApiState};

/// What an integration connects to.
#[derive(Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum IntegrationKind {
    /// Shopify Admin API (orders).
    Shopify,
    /// A CalDAV calendar (appointments).
    Caldav,
    /// An SMTP server (mail).
    Smtp,
    /// An HTTPS endpoint.
    Webhook,
    /// Zendesk (tickets).
    Zendesk,
    /// OpenAI-compatible account for agents with `recognizer: openai` or `voice: openai`
    /// (secret: the API key; config `api_base`, `transcription_model`, `speech_model`, `voice`).
    Openai,
    /// Deepgram account for agents with `recognizer: deepgram` (secret: the API key; config
    /// `api_base`, `model`).
    Deepgram,
    /// ElevenLabs account for agents with `voice: elevenlabs` (secret: the API key; config
    /// `voice_id`, `model`, `api_base`).
    Elevenlabs,
    /// Stripe account (card payments on calls; secret: the secret key; config `api_base` optional).
    Stripe,
    /// Twilio account (Media Streams calls; secret: the auth token that signs its webhooks).
    Twilio,
    /// HubSpot (CRM notes; secret: a private app's token).
    Hubspot,
    /// The tenant's own HTTPS endpoint for an agent's `http.request` tools (config `url`;
    /// secret: the key that signs each request).
    Http,
    /// Google Calendar for appointments (config `calendar_id`; secret: an OAuth access token).
    #[serde(rename = "google_calendar")]
    GoogleCalendar,
}

impl IntegrationKind {
    fn name(self) -> &'static str {
        match self {
            IntegrationKind::Shopify => "shopify",
            IntegrationKind::Caldav => "caldav",
            IntegrationKind::Smtp => "smtp",
            IntegrationKind::Webhook => "webhook",
            IntegrationKind::Zendesk => "zendesk",
            IntegrationKind::Openai => "openai",
            IntegrationKind::Deepgram => "deepgram",
            IntegrationKind::Elevenlabs => "elevenlabs",
            IntegrationKind::Stripe => "stripe",
            IntegrationKind::Twilio => "twilio",
            IntegrationKind::Hubspot => "hubspot",
            IntegrationKind::Http => "http",
            IntegrationKind::GoogleCalendar => "google_calendar",
        }
    }
}

/// An integration (never its secret).
#[derive(Serialize, ToSchema)]
pub struct IntegrationView {
    /// Id.
    pub id: String,
    /// Kind: `shopify`, `caldav`, `smtp`, `webhook`, `zendesk`, `openai`, `deepgram`, `elevenlabs`, `stripe`, `twilio`, `hubspot`, `http`, `google_calendar`.
    pub kind: String,
    /// Label.
    pub name: String,
    /// Non-secret settings.
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
    /// Creation time, unix ms.
    pub created_ms: i64,
    /// Last change, unix ms.
    pub updated_ms: i64,
}

impl From<Integration> for IntegrationView {
    fn from(i: Integration) -> IntegrationView {
        IntegrationView { id: i.id, kind: i.kind, name: i.name, config: i.config, created_ms: i.created_ms, updated_ms: i.updated_ms }
    }
}

/// An integration to add.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIntegration {
    /// What it connects to.
    pub kind: IntegrationKind,
    /// Label, unique within the tenant, 1 to 100 characters, not all blank, no control or
    /// invisible formatting characters.
    #[schema(min_length = 1, max_length = 100, pattern = r"^[^\u0000-\u001F\u007F-\u009F\u061C\u200B-\u200F\u202A-\u202E\u2060-\u2069\uFEFF]*[^\s\u0000-\u001F\u007F-\u009F\u061C\u200B-\u200F\u202A-\u202E\u2060-\u2069\uFEFF][^\u0000-\u001F\u007F-\u009F\u061C\u200B-\u200F\u202A-\u202E\u2060-\u2069\uFEFF]*$")]
    pub name: String,
    /// Non-secret settings (shop domain, server URL, user name), a JSON object up to 8 KiB.
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
    /// The token or password, 1 to 4096 bytes: stored sealed, never returned.
    #[schema(min_length = 1, max_length = 4096)]
    pub secret: String,
}

/// Integrations, by name.
#[derive(Serialize, ToSchema)]
pub struct IntegrationList {
    /// The integrations.
    pub integrations: Vec<IntegrationView>,
}

#[utoipa::path(get, path = "/v1/tenants/{tenant}/integrations", tag = "integrations", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, body = IntegrationList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// Lists integrations (admin).
pub async fn list(State(s): State<ApiState>, caller: Caller, Path(tenant): Path<String>) -> Result<axum::Json<IntegrationList>, ApiError> {
    let scope = caller.tenant(&s, &tenant, Role::Admin).await?;
    let list = scope.list_integrations().await?;
    caller.audit(&scope, "integrations.list", "-").await?;
    Ok(axum::Json(IntegrationList { integrations: list.into_iter().map(Into::into).collect() }))
}

#[utoipa::path(post, path = "/v1/tenants/{tenant}/integrations", tag = "integrations", request_body = NewIntegration, security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 201, body = IntegrationView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
/// Adds an integration (admin).
pub async fn create(State(s): State<ApiState>, caller: Caller, Path(tenant): Path<String>, Json(body): Json<NewIntegration>) -> Result<(StatusCode, axum::Json<IntegrationView>), ApiError> {
    let scope = caller.tenant(&s, &tenant, Role::Admin).await?;
    // One of each kind that calls pick by kind: a second would be ignored without a word.
    let kind = body.kind.name();
    if matches!(kind, "webhook" | "stripe" | "twilio") && scope.list_integrations().await?.iter().any(|i| i.kind == kind) {
        return Err(ApiError::ConflictWith(format!("this tenant has a {kind} integration already; delete it first to replace it")));
    }
    if kind == "google_calendar" && body.config.get("client_id").is_some() && crate::call_engines::google_grant(&body.config, &SecretString::from(body.secret.clone()), "").is_none() {
        return Err(ApiError::BadRequest("a google_calendar integration with a client_id takes as secret {\"client_secret\": ..., \"refresh_token\": ...}".into()));
    }
    let i = scope.add_integration(&s.master, body.kind.name(), &body.name, &body.config, &SecretString::from(body.secret), now_ms()).await?;
    caller.audit(&scope, "integrations.create", &i.id).await?;
    Ok((StatusCode::CREATED, axum::Json(i.into())))
}

#[utoipa::path(get, path = "/v1/tenants/{tenant}/integrations/{integration_id}", tag = "integrations", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), ("integration_id" = String, Path, description = "Integration id")),
    responses((status = 200, body = IntegrationView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// One integration, without its secret (admin).
pub async fn get_one(State(s): State<ApiState>, caller: Caller, Path((tenant, id)): Path<(String, String)>) -> Result<axum::Json<IntegrationView>, ApiError> {
    let scope = caller.tenant(&s, &tenant, Role::Admin).await?;
    let i = scope.get_integration(&id).await?;
    caller.audit(&scope, "integrations.read", &i.id).await?;
    Ok(axum::Json(i.into()))
}

#[utoipa::path(delete, path = "/v1/tenants/{tenant}/integrations/{integration_id}", tag = "integrations", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), ("integration_id" = String, Path, description = "Integration id")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// Deletes an integration and its sealed secret (admin).
pub async fn delete(State(s): State<ApiState>, caller: Caller, Path((tenant, id)): Path<(String, String)>) -> Result<StatusCode, ApiError> {
    let scope = caller.tenant(&s, &tenant, Role::Admin).await?;
    scope.delete_integration(&id).await?;
    caller.audit(&scope, "integrations.delete", &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
