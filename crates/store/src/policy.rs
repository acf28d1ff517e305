//! Per-tenant data policy: what Parley may keep, for how long, and where data may go. A tenant
//! without a stored policy gets [`DataPolicy::default`]: no recording, transcripts delivered then
//! destroyed, call metadata for 365 days, operational logs for 30, PII redacted, embedded
//! engines only.

use sqlx::Row;

use crate::{StoreError, TenantScope};

/// Longest a tenant may keep anything unless an operator raises it (days).
pub const DEFAULT_MAX_DAYS: i64 = 365;

/// Providers a tenant's data may be sent to: speech and language models (audio, text), and
/// the stores and calendars tools use (the caller's phone number, name, what they ask for).
pub const PROVIDERS: &[&str] = &["embedded", "openai", "deepgram", "elevenlabs", "shopify", "caldav", "zendesk", "hubspot", "http", "google_calendar"];

/// A tenant's data policy.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DataPolicy {
    /// Recording: 0 = off (the default); N = on, encrypted, kept N days.
    pub recording_days: i64,
    /// Transcripts: 0 = ephemeral (delivered, then destroyed; the default); N = kept N days, encrypted.
    pub transcript_days: i64,
    /// Call metadata retention (days, 1 to the operator's maximum, default 365).
    pub call_metadata_days: i64,
    /// Operational logs retention (days, 1 to the maximum, default 30).
    pub operational_log_days: i64,
    /// Redact PII (card numbers, SSNs, emails, phone numbers, digit runs) before delivery.
    pub redact_pii: bool,
    /// Providers that may receive this tenant's audio or text.
    pub allowed_providers: Vec<String>,
    /// When set (64 hex digits, X25519), recordings are sealed to this key first, so only the
    /// tenant can open them.
    pub recording_public_key: Option<String>,
}

impl Default for DataPolicy {
    fn default() -> DataPolicy {
        DataPolicy {
            recording_days: 0,
            transcript_days: 0,
            call_metadata_days: DEFAULT_MAX_DAYS,
            operational_log_days: 30,
            redact_pii: true,
            allowed_providers: vec!["embedded".into()],
            recording_public_key: None,
        }
    }
}

impl DataPolicy {
    /// Checks every field against `max_days` (the operator's ceiling).
    pub fn validate(&self, max_days: i64) -> Result<(), StoreError> {
        let check = |name: &str, v: i64, min: i64| {
            if v < min || v > max_days {
                Err(StoreError::Invalid(format!("{name} must be {min} to {max_days} days")))
            } else {
                Ok(())
            }
        };
        check("recording_days", self.recording_days, 0)?;
        check("transcript_days", self.transcript_days, 0)?;
        check("call_metadata_days", self.call_metadata_days, 1)?;
        check("operational_log_days", self.operational_log_days, 1)?;
        if let Some(p) = self.allowed_providers.iter().find(|p| !PROVIDERS.contains(&p.as_str())) {
            return Err(StoreError::Invalid(format!("unknown provider {p:?}")));
        }
        if let Some(k) = &self.recording_public_key {
            crate::recipient::parse_public_key(k)?;
        }
        Ok(())
    }

    /// Whether `provider` may receive this tenant's audio or text.
    pub fn allows(&self, provider: &str) -> bool {
        self.allowed_providers.iter().any(|p| p == provider)
    }
}

impl TenantScope {
    /// This tenant's policy (the default if none was set).
    pub async fn policy(&self) -> Result<DataPolicy, StoreError> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "SELECT recording_days, transcript_days, call_metadata_days, operational_log_days, redact_pii, allowed_providers, recording_public_key \
             FROM data_policies WHERE tenant_id = $1",
        )
        .bind(self.id())
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        let Some(r) = row else { return Ok(DataPolicy::default()) };
        let providers: String = r.try_get("allowed_providers")?;
        Ok(DataPolicy {
            recording_days: r.try_get("recording_days")?,
            transcript_days: r.try_get("transcript_days")?,
            call_metadata_days: r.try_get("call_metadata_days")?,
            operational_log_days: r.try_get("operational_log_days")?,
            redact_pii: r.try_get::<i64, _>("redact_pii")? != 0,
            allowed_providers: providers.split(',').filter(|p| !p.is_empty()).map(str::to_string).collect(),
            recording_public_key: r.try_get("recording_public_key")?,
        })
    }

    /// Sets this tenant's policy after checking it against `max_days`.
    pub async fn set_policy(&self, p: &DataPolicy, max_days: i64, now_ms: i64) -> Result<(), StoreError> {
        p.validate(max_days)?;
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO data_policies (tenant_id, recording_days, transcript_days, call_metadata_days, operational_log_days, redact_pii, allowed_providers, updated_ms, recording_public_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (tenant_id) DO UPDATE SET recording_days = excluded.recording_days, \
             transcript_days = excluded.transcript_days, call_metadata_days = excluded.call_metadata_days, \
             operational_log_days = excluded.operational_log_days, redact_pii = excluded.redact_pii, \
             allowed_providers = excluded.allowed_providers, updated_ms = excluded.updated_ms, \
             recording_public_key = excluded.recording_public_key",
        )
        .bind(self.id())
        .bind(p.recording_days)
        .bind(p.transcript_days)
        .bind(p.call_metadata_days)
        .bind(p.operational_log_days)
        .bind(i64::from(p.redact_pii))
        .bind(p.allowed_providers.join(","))
        .bind(now_ms)
        .bind(p.recording_public_key.as_deref())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_private_and_limits_hold() {
        let d = DataPolicy::default();
        assert_eq!((d.recording_days, d.transcript_days, d.call_metadata_days), (0, 0, 365));
        assert!(d.validate(DEFAULT_MAX_DAYS).is_ok());
        assert!(DataPolicy { call_metadata_days: 366, ..d.clone() }.validate(DEFAULT_MAX_DAYS).is_err());
        assert!(DataPolicy { call_metadata_days: 366, ..d.clone() }.validate(730).is_ok(), "an operator may raise the ceiling");
        assert!(DataPolicy { call_metadata_days: 0, ..d.clone() }.validate(365).is_err());
        assert!(DataPolicy { recording_days: -1, ..d.clone() }.validate(365).is_err());
        assert!(DataPolicy { recording_public_key: Some("zz".into()), ..d.clone() }.validate(365).is_err());
        assert!(DataPolicy { allowed_providers: vec!["acme-ai".into()], ..d }.validate(365).is_err());
    }
}
