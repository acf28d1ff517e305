//! Every saved version of a tenant's agents: each change of an agent's document is kept as a
//! numbered version (1, 2, ...) with who made it, so the console can show the history and roll
//! back. A rollback is a new version with the old document (history only grows); the newest
//! [`VERSIONS_KEPT`] of each agent are kept, and deleting an agent deletes its versions.

use sqlx::{Any, Row, Transaction};

use crate::{StoreError, TenantScope};

/// How many versions of each agent are kept (older ones are dropped as new ones come).
pub const VERSIONS_KEPT: i64 = 100;

/// Who changed an agent, and whether the change was a rollback.
#[derive(Clone, Copy, Debug)]
pub struct AgentChange<'a> {
    /// The audit actor: `user:<id>` or `key:<id>`.
    pub author: &'a str,
    /// The version a rollback copied.
    pub restored_from: Option<i64>,
}

/// One saved version of an agent's document.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AgentVersion {
    /// 1 for the first document, then one more for each change.
    pub version: i64,
    /// The agent's YAML spec as it was saved.
    pub spec: String,
    /// The audit actor who saved it (`-` for versions from before versions were kept).
    pub author: String,
    /// The version a rollback copied.
    pub restored_from: Option<i64>,
    /// When it was saved, unix ms.
    pub created_ms: i64,
}

fn version_of(r: &sqlx::any::AnyRow) -> Result<AgentVersion, StoreError> {
    Ok(AgentVersion { version: r.try_get("version")?, spec: r.try_get("spec")?, author: r.try_get("author")?, restored_from: r.try_get("restored_from")?, created_ms: r.try_get("created_ms")? })
}

/// Appends `spec` as the agent's next version (inside the transaction that changed the agent,
/// after the change locked the agent's row) and drops versions past [`VERSIONS_KEPT`].
pub(crate) async fn append(tx: &mut Transaction<'static, Any>, tenant: &str, name: &str, spec: &str, change: &AgentChange<'_>, now_ms: i64) -> Result<i64, StoreError> {
    let last: i64 = sqlx::query("SELECT COALESCE(MAX(version), 0) AS v FROM agent_versions WHERE tenant_id = $1 AND name = $2").bind(tenant).bind(name).fetch_one(&mut **tx).await?.try_get("v")?;
    let version = last + 1;
    sqlx::query("INSERT INTO agent_versions (tenant_id, name, version, spec, author, restored_from, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(tenant)
        .bind(name)
        .bind(version)
        .bind(spec)
        .bind(change.author)
        .bind(change.restored_from)
        .bind(now_ms)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM agent_versions WHERE tenant_id = $1 AND name = $2 AND version <= $3").bind(tenant).bind(name).bind(version - VERSIONS_KEPT).execute(&mut **tx).await?;
    Ok(version)
}

/// Deletes an agent's versions (inside the transaction that deletes the agent).
pub(crate) async fn delete_all(tx: &mut Transaction<'static, Any>, tenant: &str, name: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM agent_versions WHERE tenant_id = $1 AND name = $2").bind(tenant).bind(name).execute(&mut **tx).await?;
    Ok(())
}

impl TenantScope {
    /// An agent's kept versions, newest first; `NotFound` when the agent does not exist.
    pub async fn list_agent_versions(&self, name: &str) -> Result<Vec<AgentVersion>, StoreError> {
        let mut tx = self.begin().await?;
        let rows = sqlx::query("SELECT version, spec, author, restored_from, created_ms FROM agent_versions WHERE tenant_id = $1 AND name = $2 ORDER BY version DESC")
            .bind(self.id())
            .bind(name)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        if rows.is_empty() {
            return Err(StoreError::NotFound);
        }
        rows.iter().map(version_of).collect()
    }

    /// One kept version of an agent.
    pub async fn get_agent_version(&self, name: &str, version: i64) -> Result<AgentVersion, StoreError> {
        let mut tx = self.begin().await?;
        let row = sqlx::query("SELECT version, spec, author, restored_from, created_ms FROM agent_versions WHERE tenant_id = $1 AND name = $2 AND version = $3")
            .bind(self.id())
            .bind(name)
            .bind(version)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        version_of(&row.ok_or(StoreError::NotFound)?)
    }
}
