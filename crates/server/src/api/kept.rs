//! `/v1/tenants/{tenant}/calls/{call_id}/transcript` and `/recording`: what the tenant's policy
//! keeps (nothing by default). Each read is audited. A recording sealed to the tenant's own key
//! comes back as that sealed blob (`application/octet-stream`), which only the tenant opens.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use parley_store::Role;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Caller;
use super::error::ErrorBody;
use super::extract::Path;
use super::{ApiError, ApiState};

/// A kept transcript.
#[derive(Serialize, ToSchema)]
pub struct KeptTranscript {
    /// The call.
    pub call_id: String,
    /// When retention deletes it, unix ms.
    pub expires_ms: i64,
    /// Turns: `speaker`, `text`, `start_ms`, `end_ms` (PII redacted when the policy says so).
    #[schema(value_type = Vec<Object>)]
    pub transcript: serde_json::Value,
}

#[utoipa::path(get, path = "/v1/tenants/{tenant}/calls/{call_id}/transcript", tag = "calls", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), ("call_id" = String, Path, description = "Call id")),
    responses((status = 200, body = KeptTranscript), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// The call's transcript, if the tenant's policy keeps transcripts (admin).
pub async fn transcript(State(s): State<ApiState>, caller: Caller, Path((tenant, call_id)): Path<(String, String)>) -> Result<axum::Json<KeptTranscript>, ApiError> {
    let scope = caller.tenant(&s, &tenant, Role::Admin).await?;
    let (item, text) = scope.open_artifact(&s.master, &call_id, "transcript").await?;
    let transcript = serde_json::from_slice(&text).map_err(|_| ApiError::Internal)?;
    caller.audit(&scope, "transcripts.read", &call_id).await?;
    Ok(axum::Json(KeptTranscript { call_id, expires_ms: item.expires_ms, transcript }))
}

/// Raw bytes.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub struct Binary(Vec<u8>);

#[utoipa::path(get, path = "/v1/tenants/{tenant}/calls/{call_id}/recording", tag = "calls", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), ("call_id" = String, Path, description = "Call id")),
    responses((status = 200, description = "WAV (stereo, caller left), or the blob sealed to the tenant's key",
            content((Binary = "audio/wav"), (Binary = "application/octet-stream"))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// The call's recording, if the tenant's policy records calls (admin).
pub async fn recording(State(s): State<ApiState>, caller: Caller, Path((tenant, call_id)): Path<(String, String)>) -> Result<Response, ApiError> {
    let scope = caller.tenant(&s, &tenant, Role::Admin).await?;
    let (item, bytes) = scope.open_artifact(&s.master, &call_id, "recording").await?;
    caller.audit(&scope, "recordings.read", &call_id).await?;
    let content_type = if item.recipient == "platform" { "audio/wav" } else { "application/octet-stream" };
    Ok(([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-store")], bytes.to_vec()).into_response())
}
