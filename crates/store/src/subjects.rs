//! Data-subject requests, keyed by the caller's number as the keyed hash the call path stores
//! ([`crate::privacy::hash_number`]): access (every call record about them), deletion (records
//! and any undelivered documents, whose keys go with them), and restriction (the agent still
//! answers, but nothing about the caller is stored or delivered).

use sqlx::Row;

use crate::calls::CallRecord;
use crate::{StoreError, TenantScope};

/// What a deletion removed.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Erased {
    /// Call records deleted.
    pub calls: u64,
    /// Undelivered post-call documents shredded.
    pub documents: u64,
}

impl TenantScope {
    /// Every call record of this tenant about the caller, newest first.
    pub async fn calls_of_caller(&self, caller_hash: &str) -> Result<Vec<CallRecord>, StoreError> {
        let mut all = Vec::new();
        let mut filter = crate::CallFilter { caller_hash: Some(caller_hash.to_string()), limit: Some(200), ..Default::default() };
        loop {
            let page = self.list_calls(&filter).await?;
            all.extend(page.calls);
            match page.next {
                Some(c) => filter.cursor = Some(c),
                None => return Ok(all),
            }
        }
    }

    /// Deletes everything about the caller: call records and undelivered documents.
    pub async fn erase_caller(&self, caller_hash: &str) -> Result<Erased, StoreError> {
        let mut tx = self.begin().await?;
        let documents = sqlx::query(
            "DELETE FROM outbox WHERE tenant_id = $1 AND call_id IN (SELECT id FROM calls WHERE tenant_id = $1 AND caller_hash = $2)",
        )
        .bind(self.id())
        .bind(caller_hash)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let calls = sqlx::query("DELETE FROM calls WHERE tenant_id = $1 AND caller_hash = $2")
            .bind(self.id())
            .bind(caller_hash)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(Erased { calls, documents })
    }

    /// Restricts (or, with `on` false, lifts the restriction on) processing for the caller.
    pub async fn restrict_caller(&self, caller_hash: &str, on: bool, now_ms: i64) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        if on {
            sqlx::query("INSERT INTO restrictions (tenant_id, caller_hash, created_ms) VALUES ($1, $2, $3) ON CONFLICT (tenant_id, caller_hash) DO NOTHING")
                .bind(self.id())
                .bind(caller_hash)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
        } else {
            sqlx::query("DELETE FROM restrictions WHERE tenant_id = $1 AND caller_hash = $2").bind(self.id()).bind(caller_hash).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Whether processing is restricted for the caller.
    pub async fn is_restricted(&self, caller_hash: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let row = sqlx::query("SELECT COUNT(*) AS n FROM restrictions WHERE tenant_id = $1 AND caller_hash = $2")
            .bind(self.id())
            .bind(caller_hash)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }
}
