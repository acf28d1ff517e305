//! `/v1/tenants/{tenant}/agents/{name}/versions`: every saved version of an agent's definition
//! (the newest 100), who saved it, and rollback. A rollback checks the old definition as a `PUT`
//! would (an integration it names may be gone) and saves it as a new version, so history only
//! grows and a rollback can itself be rolled back.

use axum::extract::State;
use parley_agent::spec::AgentSpec;
use parley_store::agent_versions::{AgentChange, AgentVersion};
use parley_store::Role;
use serde::Serialize;
use utoipa::ToSchema;

use super::agents::{AgentDefinition, AgentView};
use super::auth::Caller;
use super::error::ErrorBody;
use super::extract::Path;
use super::{now_ms, ApiError, ApiState};

/// One saved version, without its definition.
#[derive(Serialize, ToSchema)]
pub struct VersionSummary {
    /// 1 for the first definition, one more for each change.
    pub version: i64,
    /// Who saved it: `user:<id>`, `key:<id>`, or `-` for a definition saved before versions were kept.
    pub author: String,
    /// The version a rollback copied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restored_from: Option<i64>,
    /// When it was saved, unix ms.
    pub created_ms: i64,
}

impl From<&AgentVersion> for VersionSummary {
    fn from(v: &AgentVersion) -> VersionSummary {
        VersionSummary { version: v.version, author: v.author.clone(), restored_from: v.restored_from, created_ms: v.created_ms }
    }
}

/// An agent's versions, newest first; the first is the agent's current definition.
#[derive(Serialize, ToSchema)]
pub struct VersionList {
    /// The versions.
    pub versions: Vec<VersionSummary>,
}

/// One saved version with its definition.
#[derive(Serialize, ToSchema)]
pub struct VersionView {
    /// Who saved it and when.
    #[serde(flatten)]
    pub summary: VersionSummary,
    /// The definition as saved.
    pub definition: AgentDefinition,
}

fn definition_of(v: &AgentVersion) -> Result<AgentDefinition, ApiError> {
    let spec = AgentSpec::from_yaml(&v.spec).map_err(|e| {
        tracing::error!(error = %e, "a stored agent version does not parse");
        ApiError::Internal
    })?;
    Ok(AgentDefinition::of(spec))
}

#[utoipa::path(get, path = "/v1/tenants/{tenant}/agents/{name}/versions", tag = "agents", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), ("name" = String, Path, description = "Agent name")),
    responses((status = 200, body = VersionList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// An agent's saved versions, newest first (viewer).
pub async fn list(State(s): State<ApiState>, caller: Caller, Path((tenant, name)): Path<(String, String)>) -> Result<axum::Json<VersionList>, ApiError> {
    let scope = caller.tenant(&s, &tenant, Role::Viewer).await?;
    let versions = scope.list_agent_versions(&name).await?;
    caller.audit(&scope, "agents.versions", &name).await?;
    Ok(axum::Json(VersionList { versions: versions.iter().map(VersionSummary::from).collect() }))
}

#[utoipa::path(get, path = "/v1/tenants/{tenant}/agents/{name}/versions/{version}", tag = "agents", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), ("name" = String, Path, description = "Agent name"), ("version" = i64, Path, description = "Version", minimum = 1)),
    responses((status = 200, body = VersionView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// One saved version with its definition (viewer).
pub async fn get_one(State(s): State<ApiState>, caller: Caller, Path((tenant, name, version)): Path<(String, String, i64)>) -> Result<axum::Json<VersionView>, ApiError> {
    let scope = caller.tenant(&s, &tenant, Role::Viewer).await?;
    let v = scope.get_agent_version(&name, version).await?;
    caller.audit(&scope, "agents.version", &name).await?;
    Ok(axum::Json(VersionView { summary: VersionSummary::from(&v), definition: definition_of(&v)? }))
}

#[utoipa::path(post, path = "/v1/tenants/{tenant}/agents/{name}/versions/{version}/restore", tag = "agents", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), ("name" = String, Path, description = "Agent name"), ("version" = i64, Path, description = "Version", minimum = 1)),
    responses((status = 200, body = AgentView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// Rolls an agent back to a saved version (agent-editor): the version's definition is checked
/// as a `PUT` checks one and saved as the agent's next version (unchanged when it is the
/// current one); a 400 names what no longer holds.
pub async fn restore(State(s): State<ApiState>, caller: Caller, Path((tenant, name, version)): Path<(String, String, i64)>) -> Result<axum::Json<AgentView>, ApiError> {
    let scope = caller.tenant(&s, &tenant, Role::AgentEditor).await?;
    let v = scope.get_agent_version(&name, version).await?;
    let spec = definition_of(&v)?.into_spec(&name)?;
    let yaml = spec.to_yaml().map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let actor = caller.actor();
    let agent = scope.put_agent(&name, &yaml, &AgentChange { author: &actor, restored_from: Some(version) }, now_ms()).await?;
    caller.audit(&scope, "agents.restore", &agent.name).await?;
    s.routing_changed().await;
    Ok(axum::Json(agent.try_into()?))
}
