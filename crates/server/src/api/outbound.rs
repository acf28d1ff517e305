//! Outbound calling: `/v1/tenants/{tenant}/outbound-policy` (off until the operator enables
//! it: calls per second, calls at once, number prefixes), `/v1/tenants/{tenant}/gateways`
//! (the providers calls go out through and Parley registers with; the password goes in once
//! and is sealed) and `POST /v1/tenants/{tenant}/calls` (an agent calls someone).

use axum::extract::State;
use axum::http::StatusCode;
use parley_agent::spec::AgentSpec;
use parley_store::outbound::{self, Gateway, OutboundPolicy};
use parley_store::Role;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Caller;
use super::error::ErrorBody;
use super::extract::{Json, Path};
use super::{now_ms, ApiError, ApiState};
use crate::outbound::{DialRequest, GateError, Refusal, SipRequest};

/// A tenant's outbound policy.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyBody {
    /// Whether the tenant's agents may call out at all (default false).
    pub enabled: bool,
    /// New outbound calls per second, 1 to 100.
    #[serde(deserialize_with = "super::extract::whole_u32")]
    #[schema(minimum = 1, maximum = 100)]
    pub calls_per_second: u32,
    /// Outbound calls at once, 1 to 10000.
    #[serde(deserialize_with = "super::extract::whole_u32")]
    #[schema(minimum = 1, maximum = 10000)]
    pub max_concurrent: u32,
    /// E.164 prefixes that may be dialled (`+49`, `+1`), at most 100; none: no number.
    #[schema(max_items = 100)]
    pub allowed_prefixes: Vec<Prefix>,
}

/// An E.164 prefix.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, pattern = r"^\+[0-9]{1,15}$")]
pub struct Prefix(pub(crate) String);

impl From<OutboundPolicy> for PolicyBody {
    fn from(p: OutboundPolicy) -> PolicyBody {
        PolicyBody { enabled: p.enabled, calls_per_second: p.calls_per_second, max_concurrent: p.max_concurrent, allowed_prefixes: p.allowed_prefixes.into_iter().map(Prefix).collect() }
    }
}

#[utoipa::path(get, path = "/v1/tenants/{tenant}/outbound-policy", tag = "outbound", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, body = PolicyBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// The tenant's outbound policy (viewer).
pub async fn get_policy(State(s): State<ApiState>, caller: Caller, Path(tenant): Path<String>) -> Result<axum::Json<PolicyBody>, ApiError> {
    let scope = caller.tenant(&s, &tenant, Role::Viewer).await?;
    let policy = scope.outbound_policy().await?;
    caller.audit(&scope, "outbound_policy.read", "-").await?;
    Ok(axum::Json(policy.into()))
}

#[utoipa::path(put, path = "/v1/tenants/{tenant}/outbound-policy", tag = "outbound", request_body = PolicyBody, security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, body = PolicyBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// Sets the tenant's outbound policy (operator only: it is the toll-fraud control).
pub async fn put_policy(State(s): State<ApiState>, caller: Caller, Path(tenant): Path<String>, Json(body): Json<PolicyBody>) -> Result<axum::Json<PolicyBody>, ApiError> {
    caller.platform()?;
    let scope = caller.tenant(&s, &tenant, Role::PlatformAdmin).await?;
    let policy = OutboundPolicy {
        enabled: body.enabled,
        calls_per_second: body.calls_per_second,
        max_concurrent: body.max_concurrent,
        allowed_prefixes: body.allowed_prefixes.into_iter().map(|p| p.0).collect(),
    };
    scope.set_outbound_policy(&policy, now_ms()).await?;
    caller.audit(&scope, "outbound_policy.update", "-").await?;
    Ok(axum::Json(policy.into()))
}

/// A gateway (never its password).
#[derive(Serialize, ToSchema)]
pub struct GatewayView {
    /// Id.
    pub id: String,
    /// Label.
    pub name: String,
    /// The provider's proxy, `IP:port` or `host:port`.
    pub proxy: String,
    /// `udp`, `tcp` or `tls`.
    pub transport: String,
    /// The provider's domain (Request-URI host, registered address).
    pub domain: String,
    /// Caller ID presented (and the registered user).
    pub caller_id: String,
    /// Digest user name, if the provider challenges.
    pub username: Option<String>,
    /// Whether Parley keeps a registration there.
    pub register: bool,
    /// Registration lifetime asked for, seconds.
    pub register_expires: u32,
    /// Creation time, unix ms.
    pub created_ms: i64,
}

impl From<Gateway> for GatewayView {
    fn from(g: Gateway) -> GatewayView {
        GatewayView {
            id: g.id,
            name: g.name,
            proxy: g.proxy,
            transport: g.transport,
            domain: g.domain,
            caller_id: g.caller_id,
            username: g.username,
            register: g.register,
            register_expires: g.register_expires,
            created_ms: g.created_ms,
        }
    }
}

/// A gateway to add.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGateway {
    /// Label, unique within the tenant, 1 to 100 characters, not all blank, no control or
    /// invisible formatting characters.
    #[schema(min_length = 1, max_length = 100, pattern = r"^[^\u0000-\u001F\u007F-\u009F\u061C\u200B-\u200F\u202A-\u202E\u2060-\u2069\uFEFF]*[^\s\u0000-\u001F\u007F-\u009F\u061C\u200B-\u200F\u202A-\u202E\u2060-\u2069\uFEFF][^\u0000-\u001F\u007F-\u009F\u061C\u200B-\u200F\u202A-\u202E\u2060-\u2069\uFEFF]*$")]
    pub name: String,
    /// The provider's SIP proxy: `IP:port` (`203.0.113.5:5060`, `[2001:db8::5]:5060`) or
    /// `host:port` (`sip.provider.example:5060`, looked up when used; no SRV).
    #[schema(pattern = r"^((22[0-3]|2[01][0-9]|1[0-9][0-9]|[1-9][0-9]?)(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}|\[(([0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1,7}:|([0-9a-fA-F]{1,4}:){1,6}:[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1,5}(:[0-9a-fA-F]{1,4}){1,2}|([0-9a-fA-F]{1,4}:){1,4}(:[0-9a-fA-F]{1,4}){1,3}|([0-9a-fA-F]{1,4}:){1,3}(:[0-9a-fA-F]{1,4}){1,4}|([0-9a-fA-F]{1,4}:){1,2}(:[0-9a-fA-F]{1,4}){1,5}|[0-9a-fA-F]{1,4}:(:[0-9a-fA-F]{1,4}){1,6}|:((:[0-9a-fA-F]{1,4}){1,7}|:))\]|([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?):([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$", max_length = 255)]
    pub proxy: String,
    /// `udp` (default), `tcp` or `tls` (the certificate is checked against the Mozilla roots
    /// and `--sip-tls-ca`, for `domain`; media is SRTP with SDES).
    #[serde(default = "udp")]
    #[schema(pattern = "^(udp|tcp|tls)$")]
    pub transport: String,
    /// The provider's domain: a host name or IPv4 address (the host of `sip:` URIs); default:
    /// the proxy's host.
    #[serde(default)]
    #[schema(max_length = 100, pattern = r"^(([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?|(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3})?$")]
    pub domain: String,
    /// Caller ID presented: a number or SIP user (letters, digits, `+ - . _`).
    #[schema(min_length = 1, max_length = 100, pattern = "^[A-Za-z0-9+._-]+$")]
    pub caller_id: String,
    /// Credentials for the provider's digest challenges.
    pub credentials: Option<GatewayCredentials>,
    /// Keep a registration at the provider (default false).
    #[serde(default)]
    pub register: bool,
    /// Registration lifetime, 60 to 86400 s (default 3600).
    #[serde(default = "an_hour", deserialize_with = "super::extract::whole_u32")]
    #[schema(minimum = 60, maximum = 86400, default = 3600)]
    pub register_expires: u32,
}

fn udp() -> String {
    "udp".into()
}

fn an_hour() -> u32 {
    3600
}

/// A gateway's credentials.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GatewayCredentials {
    /// User name, printable, no quotes.
    #[schema(min_length = 1, max_length = 100, pattern = "^[!#-\\[\\]-~]+$")]
    pub username: String,
    /// Password, 1 to 200 characters: stored sealed, never returned.
    #[schema(min_length = 1, max_length = 200)]
    pub password: String,
}

/// Gateways, by name.
#[derive(Serialize, ToSchema)]
pub struct GatewayList {
    /// The gateways.
    pub gateways: Vec<GatewayView>,
}

#[utoipa::path(get, path = "/v1/tenants/{tenant}/gateways", tag = "outbound", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, body = GatewayList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// Lists gateways (admin).
pub async fn list_gateways(State(s): State<ApiState>, caller: Caller, Path(tenant): Path<String>) -> Result<axum::Json<GatewayList>, ApiError> {
    let scope = caller.tenant(&s, &tenant, Role::Admin).await?;
    let list = scope.list_gateways().await?;
    caller.audit(&scope, "gateways.list", "-").await?;
    Ok(axum::Json(GatewayList { gateways: list.into_iter().map(Into::into).collect() }))
}

#[utoipa::path(post, path = "/v1/tenants/{tenant}/gateways", tag = "outbound", request_body = NewGateway, security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 201, body = GatewayView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
/// Adds a gateway (admin); one that registers starts registering at once.
pub async fn create_gateway(State(s): State<ApiState>, caller: Caller, Path(tenant): Path<String>, Json(body): Json<NewGateway>) -> Result<(StatusCode, axum::Json<GatewayView>), ApiError> {
    let scope = caller.tenant(&s, &tenant, Role::Admin).await?;
    let secret = body.credentials.as_ref().map(|c| SecretString::from(c.password.clone()));
    let credentials = body.credentials.as_ref().zip(secret.as_ref()).map(|(c, p)| (c.username.as_str(), p));
    if !(60..=86_400).contains(&body.register_expires) {
        return Err(ApiError::BadRequest("register_expires must be 60 to 86400 seconds".into()));
    }
    // Domain and caller ID become the URIs we dial and register: checked as one here (an
    // empty domain is the proxy's host, which the store checks).
    if !body.domain.is_empty() {
        parley_sip::uri::Uri::sip(&body.caller_id, &body.domain).map_err(|e| ApiError::BadRequest(format!("domain and caller_id: {e}")))?;
    }
    let new = outbound::NewGateway {
        name: &body.name,
        proxy: &body.proxy,
        transport: &body.transport,
        domain: &body.domain,
        caller_id: &body.caller_id,
        credentials,
        register: body.register,
        register_expires: body.register_expires,
    };
    let g = scope.add_gateway(&s.master, &new, now_ms()).await?;
    caller.audit(&scope, "gateways.create", &g.id).await?;
    let _ = s.sip.send(SipRequest::GatewaysChanged).await;
    Ok((StatusCode::CREATED, axum::Json(g.into())))
}

#[utoipa::path(delete, path = "/v1/tenants/{tenant}/gateways/{gateway_id}", tag = "outbound", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), ("gateway_id" = String, Path, description = "Gateway id")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// Deletes a gateway and its sealed password (admin); its registration is removed.
pub async fn delete_gateway(State(s): State<ApiState>, caller: Caller, Path((tenant, id)): Path<(String, String)>) -> Result<StatusCode, ApiError> {
    let scope = caller.tenant(&s, &tenant, Role::Admin).await?;
    scope.delete_gateway(&id).await?;
    caller.audit(&scope, "gateways.delete", &id).await?;
    let _ = s.sip.send(SipRequest::GatewaysChanged).await;
    Ok(StatusCode::NO_CONTENT)
}

/// A call to place.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCall {
    /// The number to call, E.164 (`+4930123456`).
    #[schema(pattern = r"^\+[1-9][0-9]{6,14}$")]
    pub to: String,
    /// The agent that talks.
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,62}$")]
    pub agent: String,
    /// The gateway id the call goes out through.
    #[schema(min_length = 1, max_length = 100)]
    pub gateway: String,
    /// What the agent says first (default: the agent's greeting), e.g. why it calls back.
    #[schema(min_length = 1, max_length = 500, pattern = "[^\\s]")]
    pub greeting: Option<String>,
    /// Seconds it may ring before it is given up, 5 to 120 (default 30).
    #[serde(default, deserialize_with = "super::extract::whole_u32_or_null")]
    #[schema(minimum = 5, maximum = 120)]
    pub ring_timeout_s: Option<u32>,
}

/// A call being placed.
#[derive(Serialize, ToSchema)]
pub struct PlacedCall {
    /// The id its call record will have.
    pub call_id: String,
    /// `dialing`.
    pub status: String,
}

#[utoipa::path(post, path = "/v1/tenants/{tenant}/calls", tag = "outbound", request_body = NewCall, security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 202, body = PlacedCall), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "Outbound calling is off for this tenant, or the number's prefix is not allowed"),
        (status = 404, body = ErrorBody), (status = 429, body = ErrorBody, description = "Over the tenant's pace or concurrency"),
        (status = 503, body = ErrorBody)))]
/// Places a call: the agent calls `to` through the gateway (agent-editor). The outcome is the
/// call's record under the id returned.
pub async fn place_call(State(s): State<ApiState>, caller: Caller, Path(tenant): Path<String>, Json(body): Json<NewCall>) -> Result<(StatusCode, axum::Json<PlacedCall>), ApiError> {
    let scope = caller.tenant(&s, &tenant, Role::AgentEditor).await?;
    if !outbound::is_e164(&body.to) {
        return Err(ApiError::BadRequest("to must be an E.164 number (+ and 7 to 15 digits)".into()));
    }
    let ring = body.ring_timeout_s.unwrap_or(30);
    if !(5..=120).contains(&ring) {
        return Err(ApiError::BadRequest("ring_timeout_s must be 5 to 120".into()));
    }
    if body.greeting.as_ref().is_some_and(|g| g.chars().count() > 500 || g.trim().is_empty()) {
        return Err(ApiError::BadRequest("greeting must be 1 to 500 characters, not all blank".into()));
    }
    let stored = scope.get_agent(&body.agent).await?;
    let mut agent = AgentSpec::from_yaml(&stored.spec).map_err(|_| ApiError::Internal)?;
    if let Some(g) = body.greeting {
        agent.greeting = g;
    }
    let prepared = crate::outbound::prepare(&s.store, &s.master, s.sip_ip, &tenant, &body.to, Some(&body.gateway)).await.map_err(|e| match e {
        GateError::Off | GateError::PrefixNotAllowed => ApiError::NotAllowed(e.to_string()),
        GateError::NotANumber => ApiError::BadRequest(e.to_string()),
        GateError::Unresolved(_) | GateError::NoGateway => ApiError::Unavailable(e.to_string()),
        GateError::Store(e) => e.into(),
    })?;
    let (reply, answer) = tokio::sync::oneshot::channel();
    let request = DialRequest { prepared, agent, ring_timeout: std::time::Duration::from_secs(ring.into()), reply };
    s.sip.send(SipRequest::Dial(Box::new(request))).await.map_err(|_| ApiError::Unavailable(Refusal::Unavailable.message().into()))?;
    let placed = answer.await.map_err(|_| ApiError::Unavailable(Refusal::Unavailable.message().into()))?;
    match placed {
        Ok(call_id) => {
            caller.audit(&scope, "calls.place", &call_id).await?;
            Ok((StatusCode::ACCEPTED, axum::Json(PlacedCall { call_id, status: "dialing".into() })))
        }
        Err(r @ (Refusal::Rate | Refusal::Concurrency)) => Err(ApiError::TooMany(r.message().into())),
        Err(r @ Refusal::Unavailable) => Err(ApiError::Unavailable(r.message().into())),
    }
}
