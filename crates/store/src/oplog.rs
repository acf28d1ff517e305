//! Operational events a tenant may look at (refused calls, failed deliveries, failed sign-ins):
//! allow-listed fields only (a kind from [`EVENT_KINDS`], a numeric code, and a detail made of
//! `[a-z0-9_.:-]`, so no free text, number or name fits in it), kept for the tenant's
//! `operational_log_days` and deleted by the retention job. Events that belong to no tenant
//! (an unknown key) go under `_platform`, kept 30 days.

use sqlx::Row;

use crate::{Store, StoreError, TenantScope};

/// The tenant id of events that belong to no tenant.
pub const PLATFORM: &str = "_platform";

/// Kinds of operational event.
pub const EVENT_KINDS: &[&str] = &["sip.rejected", "sip.limit", "sip.banned", "auth.failed", "outbound.refused", "webhook.failed", "webhook.expired", "email.failed", "error"];

/// One event.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct OpEvent {
    /// When, unix ms.
    pub at_ms: i64,
    /// One of [`EVENT_KINDS`].
    pub kind: String,
    /// A status or error code (SIP or HTTP), 0 if none.
    pub code: i64,
    /// A short token (`unknown_number`, `concurrent_calls`), never free text.
    pub detail: String,
}

/// Checks an event against the allow-list.
pub fn check_event(kind: &str, detail: &str) -> Result<(), StoreError> {
    if !EVENT_KINDS.contains(&kind) {
        return Err(StoreError::Invalid(format!("unknown event kind {kind:?}")));
    }
    if detail.len() > 64 || !detail.bytes().all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b':' | b'-')) {
        return Err(StoreError::Invalid("event detail must be up to 64 of a-z 0-9 _ . : -".into()));
    }
    Ok(())
}

impl Store {
    /// Records an operational event for `tenant` (or [`PLATFORM`]).
    pub async fn op_event(&self, tenant: &str, kind: &str, code: i64, detail: &str, now_ms: i64) -> Result<(), StoreError> {
        check_event(kind, detail)?;
        let scope = if tenant == PLATFORM { crate::Scope::Platform } else { crate::Scope::Tenant(tenant) };
        let mut tx = self.begin(scope).await?;
        sqlx::query("INSERT INTO operational_events (id, tenant_id, at_ms, kind, code, detail) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(hex::encode(rand::random::<[u8; 12]>()))
            .bind(tenant)
            .bind(now_ms)
            .bind(kind)
            .bind(code)
            .bind(detail)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes `tenant`'s events older than `cutoff_ms`; returns how many.
    pub(crate) async fn delete_op_events_before(&self, tenant: &str, cutoff_ms: i64) -> Result<u64, StoreError> {
        let scope = if tenant == PLATFORM { crate::Scope::Platform } else { crate::Scope::Tenant(tenant) };
        let mut tx = self.begin(scope).await?;
        let n = sqlx::query("DELETE FROM operational_events WHERE tenant_id = $1 AND at_ms < $2")
            .bind(tenant)
            .bind(cutoff_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(n)
    }
}

impl TenantScope {
    /// This tenant's events since `since_ms`, newest first, at most `limit`.
    pub async fn op_events(&self, since_ms: i64, limit: i64) -> Result<Vec<OpEvent>, StoreError> {
        read_events(self.begin().await?, self.id(), since_ms, limit).await
    }
}

impl crate::PlatformScope {
    /// The installation's own events (those under [`PLATFORM`]: API keys that open nothing),
    /// newest first.
    pub async fn op_events(&self, since_ms: i64, limit: i64) -> Result<Vec<OpEvent>, StoreError> {
        read_events(self.begin().await?, PLATFORM, since_ms, limit).await
    }
}

async fn read_events(mut tx: sqlx::Transaction<'static, sqlx::Any>, tenant: &str, since_ms: i64, limit: i64) -> Result<Vec<OpEvent>, StoreError> {
    let rows = sqlx::query("SELECT at_ms, kind, code, detail FROM operational_events WHERE tenant_id = $1 AND at_ms >= $2 ORDER BY at_ms DESC, id LIMIT $3")
        .bind(tenant)
        .bind(since_ms)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    rows.iter()
        .map(|r| Ok(OpEvent { at_ms: r.try_get("at_ms")?, kind: r.try_get("kind")?, code: r.try_get("code")?, detail: r.try_get("detail")? }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_allow_listed_fields_fit() {
        assert!(check_event("sip.rejected", "unknown_number").is_ok());
        assert!(check_event("sip.rejected", "caller +15550102000").is_err());
        assert!(check_event("sip.rejected", "Alice").is_err());
        assert!(check_event("debug", "x").is_err());
    }
}
