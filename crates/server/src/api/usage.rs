//! `/v1/tenants/{tenant}/usage` (metered call minutes and engine work, for billing),
//! `/v1/tenants/{tenant}/limits` (set by operators, enforced by the SIP layer) and
//! `/v1/tenants/{tenant}/operational-events` (refused calls, failed sign-ins: allow-listed fields).

use axum::extract::State;
use parley_store::usage::{check_month, month_of, Limits};
use parley_store::Role;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Caller;
use super::error::ErrorBody;
use super::extract::{Json, Path, Query};
use super::{now_ms, ApiError, ApiState};

/// One counter.
#[derive(Clone, Serialize, ToSchema)]
pub struct UsageItemView {
    /// `call_seconds`, `asr_seconds`, `tts_characters`, `llm_turns` (caller turns the agent
    /// answered), `llm_tokens` (language-model tokens, by provider) or `tool_calls` (requests to
    /// a tool's provider).
    pub metric: String,
    /// Who did the work: `sip`, `embedded`, `openai`…
    pub provider: String,
    /// The amount.
    pub quantity: i64,
}

/// A month of usage.
#[derive(Clone, Serialize, ToSchema)]
pub struct UsageView {
    /// `YYYY-MM` (UTC).
    pub month: String,
    /// Counters by metric and provider.
    pub items: Vec<UsageItemView>,
    /// The month's days with usage, in order, each with its counters (usage metered before
    /// daily counters existed is in the month's `items` only).
    pub days: Vec<DayUsageView>,
}

/// A day of usage.
#[derive(Clone, Serialize, ToSchema)]
pub struct DayUsageView {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    /// Counters by metric and provider.
    pub items: Vec<UsageItemView>,
}

fn items_view(items: Vec<parley_store::usage::UsageItem>) -> Vec<UsageItemView> {
    items.into_iter().map(|u| UsageItemView { metric: u.metric, provider: u.provider, quantity: u.quantity }).collect()
}

/// Which month.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsageQuery {
    /// `YYYY-MM`; default the current month (UTC).
    #[param(pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$")]
    pub month: Option<String>,
}

/// A tenant's limits: 0 means none.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitsView {
    /// Calls in progress at once; more are answered 486 Busy Here.
    #[schema(minimum = 0, maximum = 1000000)]
    #[serde(deserialize_with = "super::extract::whole_number")]
    pub max_concurrent_calls: i64,
    /// Call minutes per month (UTC); over it, calls are answered 403.
    #[schema(minimum = 0, maximum = 1000000000)]
    #[serde(deserialize_with = "super::extract::whole_number")]
    pub max_minutes_per_month: i64,
}

/// Operational events, newest first.
#[derive(Serialize, ToSchema)]
pub struct OpEventList {
    /// The events.
    pub events: Vec<OpEventView>,
}

/// One operational event.
#[derive(Serialize, ToSchema)]
pub struct OpEventView {
    /// Unix ms.
    pub at_ms: i64,
    /// `sip.rejected`, `sip.limit`, `auth.failed`, `webhook.failed`, `webhook.expired`, `email.failed`, `error`.
    pub kind: String,
    /// SIP or HTTP status code.
    pub code: i64,
    /// A short token (`unknown_number`, `concurrent_calls`).
    pub detail: String,
}

/// Which events.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OpEventQuery {
    /// From this time, unix ms (default: all kept).
    #[param(minimum = 0)]
    pub since_ms: Option<i64>,
    /// At most this many, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/v1/tenants/{tenant}/usage", tag = "usage", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), UsageQuery),
    responses((status = 200, body = UsageView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// A month of usage (admin).
pub async fn usage(State(s): State<ApiState>, caller: Caller, Path(tenant): Path<String>, Query(q): Query<UsageQuery>) -> Result<axum::Json<UsageView>, ApiError> {
    let scope = caller.tenant(&s, &tenant, Role::Admin).await?;
    let month = q.month.unwrap_or_else(|| month_of(now_ms()));
    check_month(&month)?;
    let items = scope.usage(&month).await?;
    let days = scope.usage_by_day(&month).await?;
    caller.audit(&scope, "usage.read", &month).await?;
    let days = days.into_iter().map(|d| DayUsageView { day: d.day, items: items_view(d.items) }).collect();
    Ok(axum::Json(UsageView { month, items: items_view(items), days }))
}

#[utoipa::path(get, path = "/v1/tenants/{tenant}/limits", tag = "usage", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, body = LimitsView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// The tenant's limits (viewer).
pub async fn limits(State(s): State<ApiState>, caller: Caller, Path(tenant): Path<String>) -> Result<axum::Json<LimitsView>, ApiError> {
    let scope = caller.tenant(&s, &tenant, Role::Viewer).await?;
    let l = scope.limits().await?;
    caller.audit(&scope, "limits.read", "-").await?;
    Ok(axum::Json(LimitsView { max_concurrent_calls: l.max_concurrent_calls, max_minutes_per_month: l.max_minutes_per_month }))
}

#[utoipa::path(put, path = "/v1/tenants/{tenant}/limits", tag = "usage", request_body = LimitsView, security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, body = LimitsView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// Sets the tenant's limits (operator keys only).
pub async fn put_limits(State(s): State<ApiState>, caller: Caller, Path(tenant): Path<String>, Json(body): Json<LimitsView>) -> Result<axum::Json<LimitsView>, ApiError> {
    caller.platform()?;
    let scope = caller.tenant(&s, &tenant, Role::PlatformAdmin).await?;
    if !(0..=1_000_000).contains(&body.max_concurrent_calls) || !(0..=1_000_000_000).contains(&body.max_minutes_per_month) {
        return Err(ApiError::BadRequest("limits are 0 (none) to 1000000 calls and 1000000000 minutes".into()));
    }
    scope.set_limits(&Limits { max_concurrent_calls: body.max_concurrent_calls, max_minutes_per_month: body.max_minutes_per_month }, now_ms()).await?;
    caller.audit(&scope, "limits.update", "-").await?;
    s.routing_changed().await;
    Ok(axum::Json(body))
}

#[utoipa::path(get, path = "/v1/tenants/{tenant}/operational-events", tag = "usage", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), OpEventQuery),
    responses((status = 200, body = OpEventList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// Operational events the tenant's policy still keeps (admin).
pub async fn op_events(State(s): State<ApiState>, caller: Caller, Path(tenant): Path<String>, Query(q): Query<OpEventQuery>) -> Result<axum::Json<OpEventList>, ApiError> {
    let scope = caller.tenant(&s, &tenant, Role::Admin).await?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) || q.since_ms.is_some_and(|v| v < 0) {
        return Err(ApiError::BadRequest("limit is 1 to 1000, since_ms 0 or more".into()));
    }
    let events = scope.op_events(q.since_ms.unwrap_or(0), limit).await?;
    caller.audit(&scope, "operational_events.list", "-").await?;
    Ok(axum::Json(OpEventList { events: events.into_iter().map(|e| OpEventView { at_ms: e.at_ms, kind: e.kind, code: e.code, detail: e.detail }).collect() }))
}
