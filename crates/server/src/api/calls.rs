//! `/v1/tenants/{tenant}/calls`: call metadata, filtered and paged newest first.

use axum::extract::State;
use parley_store::calls::Cursor;
use parley_store::timeline::CallTimeline;
use parley_store::{CallFilter, CallRecord, Role};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Caller;
use super::error::ErrorBody;
use super::extract::{Path, Query};
use super::{ApiError, ApiState};

/// One call's metadata (no audio, no transcript; the caller's number masked).
#[derive(Serialize, ToSchema)]
pub struct CallView {
    /// Call id.
    pub id: String,
    /// Agent that answered.
    pub agent: String,
    /// Caller number, masked.
    pub caller_masked: String,
    /// Keyed hash of the caller number.
    pub caller_hash: String,
    /// User or number dialled.
    pub callee: String,
    /// `udp` or `tcp`.
    pub transport: String,
    /// Start, unix ms.
    pub started_ms: i64,
    /// Answer, unix ms.
    pub answered_ms: Option<i64>,
    /// End, unix ms.
    pub ended_ms: i64,
    /// `resolved`, `transferred`, `message_taken`, `abandoned`, `rejected`, ...
    pub outcome: String,
    /// Why the call ended.
    pub end_reason: String,
    /// Routing decision.
    pub routing: String,
    /// Caller turns.
    pub turns: i64,
    /// Not-understood retries.
    pub retries: i64,
    /// Post-call delivery: `delivered`, `failed`, `none`.
    pub webhook_status: String,
    /// How fast the agent answered (absent when it answered nothing).
    pub latency: Option<LatencyView>,
    /// Each reply and tool call in time (one call's view only; absent in lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeline: Option<TimelineView>,
}

/// One reply: when the caller stopped speaking and where the time to the agent's first audio
/// went, in ms.
#[derive(Serialize, ToSchema)]
pub struct TurnView {
    /// End of the caller's speech, after the answer.
    pub at_ms: i64,
    /// End-of-turn wait.
    pub end_of_turn_ms: i64,
    /// Recognition after the end of the turn.
    pub recognition_ms: i64,
    /// The agent (its tools and model included).
    pub agent_ms: i64,
    /// Synthesis to first audio.
    pub synthesis_ms: i64,
    /// End of speech to first audio.
    pub voice_to_voice_ms: i64,
    /// End of speech to the answer's own first audio, when a filler ("One moment.") came
    /// first while a tool or the model worked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer_ms: Option<i64>,
}

/// One tool call: when the agent made it (ms after the answer), how long it ran, its outcome.
#[derive(Serialize, ToSchema)]
pub struct ToolView {
    /// When the agent called it, after the answer.
    pub at_ms: i64,
    /// The tool's name in the agent.
    pub tool: String,
    /// How long it ran, ms.
    pub ms: i64,
    /// Its outcome word (`found`, `booked`, `failed`...).
    pub outcome: String,
}

/// A call's replies and tool calls, in order (numbers and the agent's names; no words).
#[derive(Serialize, ToSchema)]
pub struct TimelineView {
    /// The replies (the first 200).
    pub turns: Vec<TurnView>,
    /// The tool calls (the first 200).
    pub tools: Vec<ToolView>,
}

impl From<CallTimeline> for TimelineView {
    fn from(t: CallTimeline) -> TimelineView {
        TimelineView {
            turns: t.turns.into_iter().map(|t| TurnView { at_ms: t.at_ms, end_of_turn_ms: t.end_of_turn_ms, recognition_ms: t.recognition_ms, agent_ms: t.agent_ms, synthesis_ms: t.synthesis_ms, voice_to_voice_ms: t.voice_to_voice_ms, answer_ms: t.answer_ms }).collect(),
            tools: t.tools.into_iter().map(|t| ToolView { at_ms: t.at_ms, tool: t.tool, ms: t.ms, outcome: t.outcome }).collect(),
        }
    }
}

/// A call's reply latency, in ms: medians over its replies, and voice to voice's p90.
#[derive(Serialize, ToSchema)]
pub struct LatencyView {
    /// Replies measured.
    pub replies: i64,
    /// End of the caller's speech to the turn taken as ended.
    pub end_of_turn_ms: i64,
    /// Recognition, from the end of the turn (0: the text was ready).
    pub recognition_ms: i64,
    /// The agent.
    pub agent_ms: i64,
    /// Synthesis to its first audio.
    pub synthesis_ms: i64,
    /// End of the caller's speech to the first audio of the reply.
    pub voice_to_voice_ms: i64,
    /// Voice to voice, 90th percentile.
    pub voice_to_voice_p90_ms: i64,
}

impl From<CallRecord> for CallView {
    fn from(c: CallRecord) -> CallView {
        CallView {
            id: c.id,
            agent: c.agent,
            caller_masked: c.caller_masked,
            caller_hash: c.caller_hash,
            callee: c.callee,
            transport: c.transport,
            started_ms: c.started_ms,
            answered_ms: c.answered_ms,
            ended_ms: c.ended_ms,
            outcome: c.outcome,
            end_reason: c.end_reason,
            routing: c.routing,
            turns: c.turns,
            retries: c.retries,
            webhook_status: c.webhook_status,
            latency: c.latency.map(|l| LatencyView {
                replies: l.replies,
                end_of_turn_ms: l.end_of_turn_ms,
                recognition_ms: l.recognition_ms,
                agent_ms: l.agent_ms,
                synthesis_ms: l.synthesis_ms,
                voice_to_voice_ms: l.voice_to_voice_ms,
                voice_to_voice_p90_ms: l.voice_to_voice_p90_ms,
            }),
            timeline: None,
        }
    }
}

/// A page of calls.
#[derive(Serialize, ToSchema)]
pub struct CallPageView {
    /// Newest first.
    pub calls: Vec<CallView>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

/// Filters and paging.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallQuery {
    /// Calls started at or after (unix ms).
    #[param(minimum = 0)]
    pub since_ms: Option<i64>,
    /// Calls started before (unix ms).
    #[param(minimum = 0)]
    pub until_ms: Option<i64>,
    /// Only this outcome.
    pub outcome: Option<String>,
    /// Only this agent.
    pub agent: Option<String>,
    /// Only this caller (keyed hash, from a call record).
    pub caller_hash: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(pattern = "^-?[0-9]{1,18}[.].+$")]
    pub cursor: Option<String>,
}

#[utoipa::path(get, path = "/v1/tenants/{tenant}/calls", tag = "calls", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), CallQuery),
    responses((status = 200, body = CallPageView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// Lists calls, newest first (viewer).
pub async fn list(State(s): State<ApiState>, caller: Caller, Path(tenant): Path<String>, Query(q): Query<CallQuery>) -> Result<axum::Json<CallPageView>, ApiError> {
    let scope = caller.tenant(&s, &tenant, Role::Viewer).await?;
    if matches!(q.limit, Some(l) if !(1..=200).contains(&l)) {
        return Err(ApiError::BadRequest("limit must be 1 to 200".into()));
    }
    if q.since_ms.is_some_and(|v| v < 0) || q.until_ms.is_some_and(|v| v < 0) {
        return Err(ApiError::BadRequest("times are unix milliseconds (0 or more)".into()));
    }
    let cursor = match q.cursor.as_deref() {
        Some(c) => Some(Cursor::parse(c).ok_or_else(|| ApiError::BadRequest("cursor is not one this API returned".into()))?),
        None => None,
    };
    let filter = CallFilter { since_ms: q.since_ms, until_ms: q.until_ms, outcome: q.outcome, agent: q.agent, caller_hash: q.caller_hash, limit: q.limit, cursor };
    let page = scope.list_calls(&filter).await?;
    caller.audit(&scope, "calls.list", "-").await?;
    Ok(axum::Json(CallPageView { calls: page.calls.into_iter().map(Into::into).collect(), next_cursor: page.next.map(|c| c.to_string()) }))
}

#[utoipa::path(get, path = "/v1/tenants/{tenant}/calls/{call_id}", tag = "calls", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), ("call_id" = String, Path, description = "Call id")),
    responses((status = 200, body = CallView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// One call (viewer).
pub async fn get_one(State(s): State<ApiState>, caller: Caller, Path((tenant, call_id)): Path<(String, String)>) -> Result<axum::Json<CallView>, ApiError> {
    let scope = caller.tenant(&s, &tenant, Role::Viewer).await?;
    let call = scope.get_call(&call_id).await?;
    caller.audit(&scope, "calls.read", &call.id).await?;
    let timeline = call.timeline.clone();
    Ok(axum::Json(CallView { timeline: Some(timeline.into()), ..call.into() }))
}

/// How many days of latency.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LatencyQuery {
    /// Days back, today included (1 to 90, default 14).
    #[param(minimum = 1, maximum = 90)]
    pub days: Option<u32>,
}

/// One day's (UTC) voice-to-voice latency over its calls.
#[derive(Serialize, ToSchema)]
pub struct DayLatencyView {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// Calls with at least one reply.
    pub calls: i64,
    /// The median of the calls' median voice to voice, ms (0 without calls).
    pub voice_to_voice_p50_ms: i64,
    /// The 90th percentile of the calls' median voice to voice, ms (0 without calls).
    pub voice_to_voice_p90_ms: i64,
}

/// Latency per day, oldest first.
#[derive(Serialize, ToSchema)]
pub struct LatencyDays {
    /// The days.
    pub days: Vec<DayLatencyView>,
}

#[utoipa::path(get, path = "/v1/tenants/{tenant}/latency", tag = "calls", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), LatencyQuery),
    responses((status = 200, body = LatencyDays), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// Voice-to-voice latency per day over the tenant's calls (viewer).
pub async fn latency(State(s): State<ApiState>, caller: Caller, Path(tenant): Path<String>, Query(q): Query<LatencyQuery>) -> Result<axum::Json<LatencyDays>, ApiError> {
    let scope = caller.tenant(&s, &tenant, Role::Viewer).await?;
    let days = scope.latency_by_day(super::now_ms(), q.days.unwrap_or(14)).await?;
    caller.audit(&scope, "calls.latency", "-").await?;
    let days = days.into_iter().map(|d| DayLatencyView { day: d.day, calls: d.calls, voice_to_voice_p50_ms: d.p50_ms, voice_to_voice_p90_ms: d.p90_ms }).collect();
    Ok(axum::Json(LatencyDays { days }))
}
