//! # parley-store
//!
//! Persistence for Parley. This first layer holds tenants and call metadata in SQLite (the
//! default, `<data dir>/parley.db`), with migrations in `migrations/`. Every query is scoped by
//! tenant. Phone numbers are stored masked and as a keyed hash ([`privacy`]), never in full;
//! audio and transcripts are never stored.
//!
//! Test with `cargo test -p parley-store`.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod privacy;

use std::path::Path;
use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::Row;

/// Storage errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database failed.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// One call's metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallRecord {
    /// Call id.
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// Agent name.
    pub agent: String,
    /// Masked caller number.
    pub caller_masked: String,
    /// Keyed hash of the caller number (for data-subject requests).
    pub caller_hash: String,
    /// User or number dialled.
    pub callee: String,
    /// `udp` or `tcp`.
    pub transport: String,
    /// Start (INVITE received), unix ms.
    pub started_ms: i64,
    /// Answer time, unix ms.
    pub answered_ms: Option<i64>,
    /// End, unix ms.
    pub ended_ms: i64,
    /// Outcome name.
    pub outcome: String,
    /// Why the call ended.
    pub end_reason: String,
    /// Routing decision (e.g. `agent:demo`, `rejected:404`).
    pub routing: String,
    /// Caller turns handled.
    pub turns: i64,
    /// Not-understood retries.
    pub retries: i64,
    /// `delivered`, `failed`, `none`.
    pub webhook_status: String,
}

/// The store handle (cheap to clone).
#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating if needed) `<dir>/parley.db` and runs migrations.
    pub async fn open(dir: &Path) -> Result<Store, StoreError> {
        let opts = SqliteConnectOptions::from_str(&format!("sqlite://{}", dir.join("parley.db").display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal);
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(opts).await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Store { pool })
    }

    /// Creates a tenant if it does not exist.
    pub async fn ensure_tenant(&self, id: &str, name: &str, now_ms: i64) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO tenants (id, name, created_ms) VALUES (?, ?, ?) ON CONFLICT(id) DO NOTHING")
            .bind(id)
            .bind(name)
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records a finished call.
    pub async fn record_call(&self, r: &CallRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO calls (id, tenant_id, agent, caller_masked, caller_hash, callee, transport, started_ms, answered_ms, \
             ended_ms, duration_ms, outcome, end_reason, routing, turns, retries, webhook_status) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&r.id)
        .bind(&r.tenant_id)
        .bind(&r.agent)
        .bind(&r.caller_masked)
        .bind(&r.caller_hash)
        .bind(&r.callee)
        .bind(&r.transport)
        .bind(r.started_ms)
        .bind(r.answered_ms)
        .bind(r.ended_ms)
        .bind(r.ended_ms - r.started_ms)
        .bind(&r.outcome)
        .bind(&r.end_reason)
        .bind(&r.routing)
        .bind(r.turns)
        .bind(r.retries)
        .bind(&r.webhook_status)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Updates the webhook status of a call of this tenant.
    pub async fn set_webhook_status(&self, tenant_id: &str, call_id: &str, status: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE calls SET webhook_status = ? WHERE tenant_id = ? AND id = ?")
            .bind(status)
            .bind(tenant_id)
            .bind(call_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A tenant's calls, newest first.
    pub async fn calls(&self, tenant_id: &str, limit: i64) -> Result<Vec<CallRecord>, StoreError> {
        let rows = sqlx::query("SELECT * FROM calls WHERE tenant_id = ? ORDER BY started_ms DESC LIMIT ?")
            .bind(tenant_id)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| CallRecord {
                id: r.get("id"),
                tenant_id: r.get("tenant_id"),
                agent: r.get("agent"),
                caller_masked: r.get("caller_masked"),
                caller_hash: r.get("caller_hash"),
                callee: r.get("callee"),
                transport: r.get("transport"),
                started_ms: r.get("started_ms"),
                answered_ms: r.get("answered_ms"),
                ended_ms: r.get("ended_ms"),
                outcome: r.get("outcome"),
                end_reason: r.get("end_reason"),
                routing: r.get("routing"),
                turns: r.get("turns"),
                retries: r.get("retries"),
                webhook_status: r.get("webhook_status"),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn calls_are_scoped_by_tenant() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        store.ensure_tenant("t1", "One", 0).await.unwrap();
        store.ensure_tenant("t2", "Two", 0).await.unwrap();
        store.ensure_tenant("t1", "One again", 0).await.unwrap();
        let mut rec = CallRecord {
            id: "c1".into(), tenant_id: "t1".into(), agent: "demo".into(), caller_masked: "+1555*****04".into(),
            caller_hash: "ab".into(), callee: "demo".into(), transport: "udp".into(), started_ms: 1000,
            answered_ms: Some(1100), ended_ms: 5000, outcome: "resolved".into(), end_reason: "remote_bye".into(),
            routing: "agent:demo".into(), turns: 2, retries: 0, webhook_status: "none".into(),
        };
        store.record_call(&rec).await.unwrap();
        rec.id = "c2".into();
        rec.tenant_id = "t2".into();
        store.record_call(&rec).await.unwrap();
        store.set_webhook_status("t2", "c1", "delivered").await.unwrap();
        let t1 = store.calls("t1", 10).await.unwrap();
        assert_eq!(t1.len(), 1);
        assert_eq!(t1[0].webhook_status, "none", "another tenant cannot touch t1's call");
        assert_eq!(store.calls("t2", 10).await.unwrap()[0].id, "c2");
    }
}
