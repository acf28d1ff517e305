//! Call metadata: one row per call (times, masked number plus keyed hash, outcome, routing).
//! Never audio, never transcript text.

use sqlx::Row;

use crate::{conflict_or, StoreError, TenantScope};
use crate::timeline::CallTimeline;

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
    /// How fast the agent answered, over the call's replies (numbers only); `None` when it
    /// answered nothing.
    pub latency: Option<CallLatency>,
    /// Each reply's and tool call's time (numbers and names only).
    pub timeline: CallTimeline,
}

/// A call's reply latency: medians over the replies, in ms, plus the p90 of voice to voice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct CallLatency {
    /// Replies measured.
    pub replies: i64,
    /// End-of-turn wait (end of the caller's speech to the turn taken as ended).
    pub end_of_turn_ms: i64,
    /// Recognition, from the end of the turn.
    pub recognition_ms: i64,
    /// The agent.
    pub agent_ms: i64,
    /// Synthesis to first audio.
    pub synthesis_ms: i64,
    /// End of the caller's speech to the first audio of the reply.
    pub voice_to_voice_ms: i64,
    /// The 90th percentile of voice to voice.
    pub voice_to_voice_p90_ms: i64,
}

const LATENCY_COLUMNS: [&str; 7] = ["latency_replies", "eot_ms", "asr_ms", "agent_ms", "tts_ms", "v2v_ms", "v2v_p90_ms"];

impl CallLatency {
    fn values(&self) -> [i64; 7] {
        [self.replies, self.end_of_turn_ms, self.recognition_ms, self.agent_ms, self.synthesis_ms, self.voice_to_voice_ms, self.voice_to_voice_p90_ms]
    }

    fn read(r: &sqlx::any::AnyRow) -> Result<Option<CallLatency>, StoreError> {
        let mut v = [0i64; 7];
        for (slot, column) in v.iter_mut().zip(LATENCY_COLUMNS) {
            match r.try_get::<Option<i64>, _>(column)? {
                Some(n) => *slot = n,
                None => return Ok(None),
            }
        }
        let [replies, end_of_turn_ms, recognition_ms, agent_ms, synthesis_ms, voice_to_voice_ms, voice_to_voice_p90_ms] = v;
        Ok(Some(CallLatency { replies, end_of_turn_ms, recognition_ms, agent_ms, synthesis_ms, voice_to_voice_ms, voice_to_voice_p90_ms }))
    }
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
    ended_ms, outcome, end_reason, routing, turns, retries, webhook_status, \
    latency_replies, eot_ms, asr_ms, agent_ms, tts_ms, v2v_ms, v2v_p90_ms, timeline";

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
        latency: CallLatency::read(r)?,
        timeline: CallTimeline::from_column(r.try_get("timeline")?),
    })
}

impl TenantScope {
    /// Records a finished call of this tenant (replacing its provisional record, if any).
    pub async fn record_call(&self, r: &CallRecord) -> Result<(), StoreError> {
        self.finish_call(r, &[]).await
    }

    /// Records a finished call and adds its usage, in one transaction, so a crash leaves
    /// either the provisional record (finished on restart) or both.
    pub async fn finish_call(&self, r: &CallRecord, usage: &[(&str, &str, i64)]) -> Result<(), StoreError> {
        if r.tenant_id != self.id() {
            return Err(StoreError::InvalidTenantId(r.tenant_id.clone()));
        }
        let mut tx = self.begin().await?;
        upsert(&mut tx, r, None).await?;
        crate::usage::meter_in(&mut tx, self.id(), r.ended_ms, usage).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Writes the provisional record of a call just answered (`outcome` `in_progress`, ended
    /// as of now), owned by the process `node` until it is finished.
    pub async fn start_call(&self, r: &CallRecord, node: &str) -> Result<(), StoreError> {
        if r.tenant_id != self.id() {
            return Err(StoreError::InvalidTenantId(r.tenant_id.clone()));
        }
        let mut tx = self.begin().await?;
        upsert(&mut tx, r, Some(node)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A call in progress is still going at `now_ms`.
    pub async fn heartbeat(&self, call_id: &str, now_ms: i64) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE calls SET ended_ms = $1, duration_ms = $1 - started_ms WHERE tenant_id = $2 AND id = $3 AND outcome = 'in_progress'")
            .bind(now_ms)
            .bind(self.id())
            .bind(call_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Forgets a call's record (its caller restricted processing while it was in progress).
    pub async fn forget_call(&self, call_id: &str) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM calls WHERE tenant_id = $1 AND id = $2").bind(self.id()).bind(call_id).execute(&mut *tx).await?;
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

/// Inserts a call record, or replaces the one with its id (of the same tenant).
async fn upsert(tx: &mut sqlx::Transaction<'static, sqlx::Any>, r: &CallRecord, node: Option<&str>) -> Result<(), StoreError> {
    let updates = COLUMNS.split(", ").filter(|c| *c != "id" && *c != "tenant_id").map(|c| format!("{c} = excluded.{c}")).collect::<Vec<_>>().join(", ");
    // A provisional record never replaces anything (the call may already be finished); the
    // final one replaces the provisional.
    let conflict = match node {
        Some(_) => "ON CONFLICT (id) DO NOTHING".to_string(),
        None => format!("ON CONFLICT (id) DO UPDATE SET {updates}, duration_ms = excluded.duration_ms, node = NULL WHERE calls.tenant_id = excluded.tenant_id"),
    };
    let sql = format!(
        "INSERT INTO calls ({COLUMNS}, duration_ms, node) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
         $17, $18, $19, $20, $21, $22, $23, $24, $25, $26) \
         {conflict}"
    );
    let mut query = sqlx::query(&sql)
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
    .bind(&r.outcome)
    .bind(&r.end_reason)
    .bind(&r.routing)
    .bind(r.turns)
    .bind(r.retries)
    .bind(&r.webhook_status);
    let latency = r.latency.map(|l| l.values());
    for i in 0..LATENCY_COLUMNS.len() {
        query = query.bind(latency.map(|v| v[i]));
    }
    query.bind(r.timeline.to_column()).bind(r.ended_ms - r.started_ms).bind(node).execute(&mut **tx).await.map_err(conflict_or)?;
    Ok(())
}

/// A call found cut by a crash and finished.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interrupted {
    /// Tenant.
    pub tenant_id: String,
    /// Call record id.
    pub call_id: String,
    /// Seconds counted (answer to the last heartbeat, at least one).
    pub seconds: i64,
}

impl crate::PlatformScope {
    /// Finishes calls whose process died: provisional records of `node` (this process's
    /// predecessor on the same data directory), and any whose last heartbeat is older than
    /// `stale_before_ms` (a node that never came back). Each becomes `interrupted` and its
    /// minutes are counted, in one transaction per call.
    pub async fn finish_interrupted(&self, node: &str, stale_before_ms: i64, provider: &str) -> Result<Vec<Interrupted>, StoreError> {
        let mut tx = self.begin().await?;
        let rows = sqlx::query("SELECT id, tenant_id, answered_ms, started_ms, ended_ms FROM calls WHERE outcome = 'in_progress' AND (node = $1 OR ended_ms < $2)")
            .bind(node)
            .bind(stale_before_ms)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let mut done = Vec::new();
        for r in rows {
            let (id, tenant): (String, String) = (r.try_get("id")?, r.try_get("tenant_id")?);
            let answered: Option<i64> = r.try_get("answered_ms")?;
            let ended: i64 = r.try_get("ended_ms")?;
            // Up to the last heartbeat, and at least a second: the call was answered.
            let seconds = (((ended - answered.unwrap_or(r.try_get("started_ms")?)).max(0) as u64).div_ceil(1000) as i64).max(1);
            let mut tx = self.begin().await?;
            let changed = sqlx::query("UPDATE calls SET outcome = 'interrupted', end_reason = 'interrupted', node = NULL WHERE id = $1 AND outcome = 'in_progress'")
                .bind(&id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if changed == 1 {
                crate::usage::meter_in(&mut tx, &tenant, ended, &[("call_seconds", provider, seconds)]).await?;
            }
            tx.commit().await?;
            if changed == 1 {
                done.push(Interrupted { tenant_id: tenant, call_id: id, seconds });
            }
        }
        Ok(done)
    }
}
