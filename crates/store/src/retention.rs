//! The retention job: deletes what each tenant's policy no longer allows, as of a given `now`
//! (so tests and `parley retention run --now T` move the clock). Idempotent: a second run at the
//! same `now` finds nothing to do and writes nothing. Each deletion leaves an audit entry.

use crate::audit::Event;
use crate::oplog::PLATFORM;
use crate::outbox::Expired;
use crate::{PlatformScope, StoreError};

const DAY_MS: i64 = 24 * 3600 * 1000;
/// How long operational events that belong to no tenant are kept.
const PLATFORM_LOG_DAYS: i64 = 30;

/// What one run removed.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RetentionReport {
    /// The clock the run used, unix ms.
    pub now_ms: i64,
    /// Tenants looked at.
    pub tenants: usize,
    /// Call records deleted, per tenant (only tenants with deletions).
    pub calls_deleted: Vec<(String, u64)>,
    /// Kept transcripts and recordings deleted at their expiry, per tenant.
    pub artifacts_deleted: Vec<(String, u64)>,
    /// Operational events deleted, per tenant (and `_platform`).
    pub op_events_deleted: Vec<(String, u64)>,
    /// Outbox items shredded at the hard limit.
    pub outbox_shredded: Vec<Expired>,
}

impl PlatformScope {
    /// Runs retention for every tenant as of `now_ms`.
    pub async fn run_retention(&self, now_ms: i64) -> Result<RetentionReport, StoreError> {
        let mut report = RetentionReport { now_ms, ..Default::default() };
        let tenants = self.list_tenants().await?;
        report.tenants = tenants.len();
        for t in tenants {
            let scope = self.store.tenant(&t.id)?;
            let policy = scope.policy().await?;
            let cutoff = now_ms.saturating_sub(policy.call_metadata_days.saturating_mul(DAY_MS));
            let mut tx = scope.begin().await?;
            let n = sqlx::query("DELETE FROM calls WHERE tenant_id = $1 AND ended_ms < $2")
                .bind(scope.id())
                .bind(cutoff)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            if n > 0 {
                let object = format!("calls-ended-before:{cutoff}");
                scope.audit(&Event { actor: "system:retention", action: "retention.calls.delete", object_id: &object, at_ms: now_ms }).await?;
                report.calls_deleted.push((t.id.clone(), n));
            }
            let n = scope.delete_expired_artifacts(now_ms).await?;
            if n > 0 {
                scope.audit(&Event { actor: "system:retention", action: "retention.artifacts.delete", object_id: &format!("expired-by:{now_ms}"), at_ms: now_ms }).await?;
                report.artifacts_deleted.push((t.id.clone(), n));
            }
            let cutoff = now_ms.saturating_sub(policy.operational_log_days.saturating_mul(DAY_MS));
            let n = self.store.delete_op_events_before(&t.id, cutoff).await?;
            if n > 0 {
                report.op_events_deleted.push((t.id.clone(), n));
            }
        }
        let n = self.store.delete_op_events_before(PLATFORM, now_ms.saturating_sub(PLATFORM_LOG_DAYS * DAY_MS)).await?;
        if n > 0 {
            report.op_events_deleted.push((PLATFORM.to_string(), n));
        }
        for e in self.shred_expired(now_ms).await? {
            let scope = self.store.tenant(&e.tenant_id)?;
            match scope.set_webhook_status(&e.call_id, "expired").await {
                Ok(()) | Err(StoreError::NotFound) => {}
                Err(err) => return Err(err),
            }
            scope.audit(&Event { actor: "system:retention", action: "outbox.expired", object_id: &e.call_id, at_ms: now_ms }).await?;
            report.outbox_shredded.push(e);
        }
        Ok(report)
    }
}
