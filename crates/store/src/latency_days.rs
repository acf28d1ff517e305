//! Voice-to-voice latency per day (UTC) over a tenant's calls, for the console's chart: each
//! day's median and 90th percentile of its calls' median voice to voice (nearest rank), from
//! the numbers each call record keeps. Calls that answered nothing are left out.

use sqlx::Row;

use crate::usage::civil_date;
use crate::{StoreError, TenantScope};

const DAY_MS: i64 = 86_400_000;

/// One day's latency.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DayLatency {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    /// Calls with at least one reply.
    pub calls: i64,
    /// The median of the calls' median voice to voice, ms.
    pub p50_ms: i64,
    /// The 90th percentile of the calls' median voice to voice, ms.
    pub p90_ms: i64,
}

/// The value at fraction `q` of sorted `v` (nearest rank), `None` for no values.
pub fn nearest_rank(v: &[i64], q: f64) -> Option<i64> {
    let i = ((v.len().saturating_sub(1)) as f64 * q).round() as usize;
    v.get(i).copied()
}

/// Days from the first of `(started_ms, v2v_ms)` to the last, each with its calls' figures;
/// `first_day_ms` is the first day's midnight, `days` how many.
fn by_day(calls: &[(i64, i64)], first_day_ms: i64, days: usize) -> Vec<DayLatency> {
    let mut per_day: Vec<Vec<i64>> = vec![Vec::new(); days];
    for &(started, v2v) in calls {
        if let Some(d) = usize::try_from((started - first_day_ms).div_euclid(DAY_MS)).ok().and_then(|i| per_day.get_mut(i)) {
            d.push(v2v);
        }
    }
    per_day
        .into_iter()
        .enumerate()
        .map(|(i, mut v)| {
            v.sort_unstable();
            let (y, m, d) = civil_date(first_day_ms + i as i64 * DAY_MS);
            DayLatency { day: format!("{y:04}-{m:02}-{d:02}"), calls: v.len() as i64, p50_ms: nearest_rank(&v, 0.5).unwrap_or(0), p90_ms: nearest_rank(&v, 0.9).unwrap_or(0) }
        })
        .collect()
}

impl TenantScope {
    /// The last `days` days (1 to 90, today included) of latency, oldest first; a day without
    /// answered calls has `calls: 0`.
    pub async fn latency_by_day(&self, now_ms: i64, days: u32) -> Result<Vec<DayLatency>, StoreError> {
        if !(1..=90).contains(&days) {
            return Err(StoreError::Invalid("days is 1 to 90".into()));
        }
        let first_day_ms = now_ms - now_ms.rem_euclid(DAY_MS) - (i64::from(days) - 1) * DAY_MS;
        let mut tx = self.begin().await?;
        let rows = sqlx::query("SELECT started_ms, v2v_ms FROM calls WHERE tenant_id = $1 AND started_ms >= $2 AND v2v_ms IS NOT NULL")
            .bind(self.id())
            .bind(first_day_ms)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let calls = rows.iter().map(|r| Ok((r.try_get("started_ms")?, r.try_get("v2v_ms")?))).collect::<Result<Vec<(i64, i64)>, StoreError>>()?;
        Ok(by_day(&calls, first_day_ms, days as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_fall_on_their_utc_day_and_give_its_percentiles() {
        let day0 = 1_764_547_200_000; // 2025-12-01 00:00 UTC
        let calls: Vec<(i64, i64)> = (1..=10).map(|i| (day0 + i, i * 100)).chain([(day0 + DAY_MS + 5, 700), (day0 - 1, 9_999), (day0 + 3 * DAY_MS, 1)]).collect();
        let days = by_day(&calls, day0, 3);
        assert_eq!(days.iter().map(|d| (d.day.as_str(), d.calls, d.p50_ms, d.p90_ms)).collect::<Vec<_>>(), [("2025-12-01", 10, 600, 900), ("2025-12-02", 1, 700, 700), ("2025-12-03", 0, 0, 0)]);
    }
}
