//! Usage metering per tenant and month, and per day for charts (call seconds; speech and LLM
//! usage by provider), for billing, and the per-tenant limits the SIP layer enforces (concurrent calls, minutes per
//! month; 0 means no limit). Counters are added to, never overwritten, so several nodes can
//! meter into one database.

use sqlx::Row;

use crate::{PlatformScope, StoreError, TenantScope};

/// What is metered.
pub const METRICS: &[&str] = &["call_seconds", "asr_seconds", "tts_characters", "llm_turns", "llm_tokens", "tool_calls"];

/// One counter.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct UsageItem {
    /// One of [`METRICS`].
    pub metric: String,
    /// Who did the work (`sip`, `embedded`, `openai`…).
    pub provider: String,
    /// The amount.
    pub quantity: i64,
}

/// One day's counters.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DayUsage {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    /// Counters by metric and provider.
    pub items: Vec<UsageItem>,
}

/// The calendar date (UTC) of a unix-ms time, as `YYYY-MM-DD`.
pub fn day_of(unix_ms: i64) -> String {
    let (y, m, d) = civil_date(unix_ms);
    format!("{y:04}-{m:02}-{d:02}")
}

/// A tenant's limits; 0 means no limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    /// Calls in progress at once; more are answered 486 Busy Here.
    pub max_concurrent_calls: i64,
    /// Call minutes per calendar month (UTC); over it, calls are answered 403.
    pub max_minutes_per_month: i64,
}

/// The calendar month (UTC) of a unix-ms time, as `YYYY-MM`.
pub fn month_of(unix_ms: i64) -> String {
    let (y, m, _) = civil_date(unix_ms);
    format!("{y:04}-{m:02}")
}

/// The calendar date (UTC) of a unix-ms time: year, month (1-12), day (1-31).
pub fn civil_date(unix_ms: i64) -> (i64, i64, i64) {
    // Howard Hinnant's days-to-civil algorithm.
    let z = unix_ms.div_euclid(86_400_000) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Checks a `YYYY-MM` month.
pub fn check_month(m: &str) -> Result<(), StoreError> {
    let ok = m.len() == 7
        && m.as_bytes()[4] == b'-'
        && m[..4].bytes().all(|b| b.is_ascii_digit())
        && matches!(m[5..].parse::<u8>(), Ok(1..=12));
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid("month must be YYYY-MM".into()))
    }
}

impl TenantScope {
    /// Adds to counters for the month of `at_ms`. Zero amounts are skipped.
    pub async fn meter(&self, at_ms: i64, items: &[(&str, &str, i64)]) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        meter_in(&mut tx, self.id(), at_ms, items).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The counters of one month (`YYYY-MM`), by metric and provider.
    pub async fn usage(&self, month: &str) -> Result<Vec<UsageItem>, StoreError> {
        check_month(month)?;
        let mut tx = self.begin().await?;
        let rows = sqlx::query("SELECT metric, provider, quantity FROM usage WHERE tenant_id = $1 AND month = $2 ORDER BY metric, provider")
            .bind(self.id())
            .bind(month)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        rows.iter()
            .map(|r| Ok(UsageItem { metric: r.try_get("metric")?, provider: r.try_get("provider")?, quantity: r.try_get("quantity")? }))
            .collect()
    }

    /// The days of one month (`YYYY-MM`) with usage, in order, each with its counters.
    pub async fn usage_by_day(&self, month: &str) -> Result<Vec<DayUsage>, StoreError> {
        check_month(month)?;
        let mut tx = self.begin().await?;
        let rows = sqlx::query("SELECT day, metric, provider, quantity FROM usage_daily WHERE tenant_id = $1 AND day >= $2 AND day < $3 ORDER BY day, metric, provider")
            .bind(self.id())
            .bind(format!("{month}-01"))
            .bind(format!("{month}-32"))
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let mut days: Vec<DayUsage> = Vec::new();
        for r in &rows {
            let day: String = r.try_get("day")?;
            let item = UsageItem { metric: r.try_get("metric")?, provider: r.try_get("provider")?, quantity: r.try_get("quantity")? };
            match days.last_mut() {
                Some(d) if d.day == day => d.items.push(item),
                _ => days.push(DayUsage { day, items: vec![item] }),
            }
        }
        Ok(days)
    }

    /// Call seconds used in the month of `at_ms`.
    pub async fn call_seconds_in_month(&self, at_ms: i64) -> Result<i64, StoreError> {
        Ok(self.usage(&month_of(at_ms)).await?.iter().filter(|u| u.metric == "call_seconds").map(|u| u.quantity).sum())
    }

    /// This tenant's limits (none set: no limits).
    pub async fn limits(&self) -> Result<Limits, StoreError> {
        let mut tx = self.begin().await?;
        let row = sqlx::query("SELECT max_concurrent_calls, max_minutes_per_month FROM tenant_limits WHERE tenant_id = $1")
            .bind(self.id())
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(match row {
            Some(r) => Limits { max_concurrent_calls: r.try_get("max_concurrent_calls")?, max_minutes_per_month: r.try_get("max_minutes_per_month")? },
            None => Limits::default(),
        })
    }

    /// Sets this tenant's limits (an operator's decision; the API lets only platform admins).
    pub async fn set_limits(&self, l: &Limits, now_ms: i64) -> Result<(), StoreError> {
        if l.max_concurrent_calls < 0 || l.max_minutes_per_month < 0 {
            return Err(StoreError::Invalid("limits are 0 (none) or more".into()));
        }
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO tenant_limits (tenant_id, max_concurrent_calls, max_minutes_per_month, updated_ms) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant_id) DO UPDATE SET max_concurrent_calls = excluded.max_concurrent_calls, \
             max_minutes_per_month = excluded.max_minutes_per_month, updated_ms = excluded.updated_ms",
        )
        .bind(self.id())
        .bind(l.max_concurrent_calls)
        .bind(l.max_minutes_per_month)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

impl PlatformScope {
    /// Every tenant's limits and call seconds in the month of `at_ms` (for the SIP layer's cache).
    pub async fn limits_and_minutes(&self, at_ms: i64) -> Result<Vec<(String, Limits, i64)>, StoreError> {
        let month = month_of(at_ms);
        let mut tx = self.begin().await?;
        let rows = sqlx::query(
            "SELECT t.id, COALESCE(l.max_concurrent_calls, 0) AS c, COALESCE(l.max_minutes_per_month, 0) AS m, \
             COALESCE((SELECT CAST(SUM(u.quantity) AS BIGINT) FROM usage u WHERE u.tenant_id = t.id AND u.month = $1 AND u.metric = 'call_seconds'), 0) AS used \
             FROM tenants t LEFT JOIN tenant_limits l ON l.tenant_id = t.id ORDER BY t.id",
        )
        .bind(&month)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.iter()
            .map(|r| Ok((r.try_get("id")?, Limits { max_concurrent_calls: r.try_get("c")?, max_minutes_per_month: r.try_get("m")? }, r.try_get("used")?)))
            .collect()
    }
}

/// Adds to `tenant`'s counters for the month of `at_ms` inside `tx` (zero amounts skipped).
pub(crate) async fn meter_in(tx: &mut sqlx::Transaction<'static, sqlx::Any>, tenant: &str, at_ms: i64, items: &[(&str, &str, i64)]) -> Result<(), StoreError> {
    let (month, day) = (month_of(at_ms), day_of(at_ms));
    for &(metric, provider, quantity) in items.iter().filter(|i| i.2 > 0) {
        if !METRICS.contains(&metric) {
            return Err(StoreError::Invalid(format!("unknown metric {metric:?}")));
        }
        for (table, period, key) in [("usage", &month, "month"), ("usage_daily", &day, "day")] {
            sqlx::query(&format!(
                "INSERT INTO {table} (tenant_id, {key}, metric, provider, quantity) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (tenant_id, {key}, metric, provider) DO UPDATE SET quantity = {table}.quantity + excluded.quantity"
            ))
            .bind(tenant)
            .bind(period)
            .bind(metric)
            .bind(provider)
            .bind(quantity)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_utc_calendar_months() {
        assert_eq!(month_of(0), "1970-01");
        assert_eq!(month_of(1_798_761_599_999), "2026-12"); // 2026-12-31T23:59:59.999Z
        assert_eq!(month_of(1_798_761_600_000), "2027-01");
        assert_eq!(month_of(951_782_400_000), "2000-02"); // 2000-02-29
        assert_eq!(civil_date(951_782_400_000), (2000, 2, 29));
        assert_eq!(civil_date(1_798_761_599_999), (2026, 12, 31));
        assert!(check_month("2026-11").is_ok());
        for bad in ["2026-13", "2026-00", "26-11", "2026/11", "2026-1x"] {
            assert!(check_month(bad).is_err(), "{bad}");
        }
    }
}

