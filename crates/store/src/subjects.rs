//! Data-subject requests, keyed by the caller's number as the keyed hash the call path stores
//! ([`crate::privacy::hash_number`]): access (every call record about them), deletion (records
//! and any undelivered documents, whose keys go with them), correction (the caller's records
//! re-attributed to the right number), and restriction (the agent still answers, but nothing
//! about the caller is stored or delivered).

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
    /// Kept transcripts and recordings shredded.
    pub artifacts: u64,
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
        let artifacts = sqlx::query("DELETE FROM kept_artifacts WHERE tenant_id = $1 AND caller_hash = $2")
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
        Ok(Erased { calls, documents, artifacts })
    }

    /// Correction: re-attributes everything stored about the caller at `from_hash` to the
    /// corrected number (`to_masked`, `to_hash`). Returns how many call records changed.
    pub async fn correct_caller(&self, from_hash: &str, to_masked: &str, to_hash: &str) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        let n = sqlx::query("UPDATE calls SET caller_masked = $1, caller_hash = $2 WHERE tenant_id = $3 AND caller_hash = $4")
            .bind(to_masked)
            .bind(to_hash)
            .bind(self.id())
            .bind(from_hash)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query("UPDATE kept_artifacts SET caller_hash = $1 WHERE tenant_id = $2 AND caller_hash = $3")
            .bind(to_hash)
            .bind(self.id())
            .bind(from_hash)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(n)
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
