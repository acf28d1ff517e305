//! Call metadata: one row per call (times, masked number plus keyed hash, outcome, routing).
//! Never audio, never transcript text.

use sqlx::Row;

use crate::{conflict_or, StoreError, TenantScope};

/// One call's metadata.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
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

/// Which calls to list. Pages go newest first; pass the previous page's `next` as `cursor`.
#[derive(Clone, Debug, Default)]
pub struct CallFilter {
    /// Only calls started at or after this time (unix ms).
    pub since_ms: Option<i64>,
    /// Only calls started before this time (unix ms).
    pub until_ms: Option<i64>,
    /// Only this outcome.
    pub outcome: Option<String>,
    /// Only this agent.
    pub agent: Option<String>,
    /// Only this caller (keyed hash).
    pub caller_hash: Option<String>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<u32>,
    /// Where the previous page ended.
    pub cursor: Option<Cursor>,
}

/// Position after the last call of a page (keyset pagination: stable under inserts).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    started_ms: i64,
    id: String,
}

impl Cursor {
    /// Parses the text form made by [`Cursor::to_string`].
    pub fn parse(s: &str) -> Option<Cursor> {
        let (ms, id) = s.split_once('.')?;
        Some(Cursor { started_ms: ms.parse().ok()?, id: id.to_string() })
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.started_ms, self.id)
    }
}

/// One page of calls.
#[derive(Clone, Debug)]
pub struct CallPage {
    /// The calls, newest first.
    pub calls: Vec<CallRecord>,
    /// Cursor of the next page, if there is one.
    pub next: Option<Cursor>,
}

const COLUMNS: &str = "id, tenant_id, agent, caller_masked, caller_hash, callee, transport, started_ms, answered_ms, \
    ended_ms, outcome, end_reason, routing, turns, retries, webhook_status";

fn record_of(r: &sqlx::any::AnyRow) -> Result<CallRecord, StoreError> {
    Ok(CallRecord {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        agent: r.try_get("agent")?,
        caller_masked: r.try_get("caller_masked")?,
        caller_hash: r.try_get("caller_hash")?,
        callee: r.try_get("callee")?,
        transport: r.try_get("transport")?,
        started_ms: r.try_get("started_ms")?,
        answered_ms: r.try_get("answered_ms")?,
        ended_ms: r.try_get("ended_ms")?,
        outcome: r.try_get("outcome")?,
        end_reason: r.try_get("end_reason")?,
        routing: r.try_get("routing")?,
        turns: r.try_get("turns")?,
        retries: r.try_get("retries")?,
        webhook_status: r.try_get("webhook_status")?,
    })
}

impl TenantScope {
    /// Records a finished call of this tenant.
    pub async fn record_call(&self, r: &CallRecord) -> Result<(), StoreError> {
        if r.tenant_id != self.id() {
            return Err(StoreError::InvalidTenantId(r.tenant_id.clone()));
        }
        let mut tx = self.begin().await?;
        sqlx::query(&format!(
            "INSERT INTO calls ({COLUMNS}, duration_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
        ))
        .bind(&r.id)
        .bind(self.id())
        .bind(&r.agent)
        .bind(&r.caller_masked)
        .bind(&r.caller_hash)
        .bind(&r.callee)
        .bind(&r.transport)
        .bind(r.started_ms)
        .bind(r.answered_ms)
        .bind(r.ended_ms)
        .bind(&r.outcome)
        .bind(&r.end_reason)
        .bind(&r.routing)
        .bind(r.turns)
        .bind(r.retries)
        .bind(&r.webhook_status)
        .bind(r.ended_ms - r.started_ms)
        .execute(&mut *tx)
        .await
        .map_err(conflict_or)?;
        tx.commit().await?;
        Ok(())
    }

    /// Updates the webhook status of one of this tenant's calls.
    pub async fn set_webhook_status(&self, call_id: &str, status: &str) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let done = sqlx::query("UPDATE calls SET webhook_status = $1 WHERE tenant_id = $2 AND id = $3")
            .bind(status)
            .bind(self.id())
            .bind(call_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// One call of this tenant.
    pub async fn get_call(&self, call_id: &str) -> Result<CallRecord, StoreError> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM calls WHERE tenant_id = $1 AND id = $2"))
            .bind(self.id())
            .bind(call_id)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        row.as_ref().map(record_of).transpose()?.ok_or(StoreError::NotFound)
    }

    /// A page of this tenant's calls, newest first.
    pub async fn list_calls(&self, f: &CallFilter) -> Result<CallPage, StoreError> {
        let limit = i64::from(f.limit.unwrap_or(50).clamp(1, 200));
        let (cur_ms, cur_id) = match &f.cursor {
            Some(c) => (Some(c.started_ms), Some(c.id.clone())),
            None => (None, None),
        };
        let mut tx = self.begin().await?;
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM calls WHERE tenant_id = $1 \
             AND (CAST($2 AS BIGINT) IS NULL OR started_ms >= $2) \
             AND (CAST($3 AS BIGINT) IS NULL OR started_ms < $3) \
             AND (CAST($4 AS TEXT) IS NULL OR outcome = $4) \
             AND (CAST($5 AS TEXT) IS NULL OR agent = $5) \
             AND (CAST($6 AS TEXT) IS NULL OR caller_hash = $6) \
             AND (CAST($7 AS BIGINT) IS NULL OR started_ms < $7 OR (started_ms = $7 AND id < $8)) \
             ORDER BY started_ms DESC, id DESC LIMIT $9"
        ))
        .bind(self.id())
        .bind(f.since_ms)
        .bind(f.until_ms)
        .bind(f.outcome.as_deref())
        .bind(f.agent.as_deref())
        .bind(f.caller_hash.as_deref())
        .bind(cur_ms)
        .bind(cur_id)
        .bind(limit + 1)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let mut calls = rows.iter().map(record_of).collect::<Result<Vec<_>, _>>()?;
        let next = if calls.len() as i64 > limit {
            calls.truncate(limit as usize);
            calls.last().map(|c| Cursor { started_ms: c.started_ms, id: c.id.clone() })
        } else {
            None
        };
        Ok(CallPage { calls, next })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips() {
        let c = Cursor { started_ms: 17, id: "a.b".into() };
        assert_eq!(Cursor::parse(&c.to_string()), Some(c));
        assert_eq!(Cursor::parse("x.y"), None);
        assert_eq!(Cursor::parse("nodot"), None);
    }
}
