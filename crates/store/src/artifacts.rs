//! Transcripts and recordings a tenant's policy keeps (by default neither is kept). Each is
//! sealed under a data key of its own ([`crate::crypto`]); a recording may also be sealed to the
//! tenant's own public key first ([`crate::recipient`]), so that the platform cannot read it.
//! Every item has an expiry from the policy; the retention job deletes it then, and a
//! data-subject deletion deletes the caller's items at once (the wrapped data key goes with the
//! row: crypto-shredded).

use sqlx::Row;
use zeroize::Zeroizing;

use crate::crypto::{MasterKey, Sealed};
use crate::{StoreError, TenantScope};

const DAY_MS: i64 = 24 * 3600 * 1000;

/// What may be kept.
pub const ARTIFACT_KINDS: &[&str] = &["transcript", "recording"];

/// A kept item, without its content.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Artifact {
    /// The call.
    pub call_id: String,
    /// `transcript` or `recording`.
    pub kind: String,
    /// `platform` (the platform can open it) or `tenant-key:<fingerprint>` (only the tenant).
    pub recipient: String,
    /// When it was kept, unix ms.
    pub created_ms: i64,
    /// When retention deletes it, unix ms.
    pub expires_ms: i64,
}

/// How a kept item is sealed.
pub enum Recipient<'a> {
    /// Under the envelope keys only.
    Platform,
    /// To this X25519 public key first, then under the envelope keys.
    TenantKey(&'a [u8; 32]),
}

/// The seal kind of kept artifacts.
pub(crate) const KIND: &str = "kept";

pub(crate) fn object_id(call_id: &str, kind: &str) -> String {
    format!("{call_id}/{kind}")
}

impl TenantScope {
    /// Keeps `content` of `call_id` for `days` (1 or more).
    #[allow(clippy::too_many_arguments)]
    pub async fn keep_artifact(
        &self,
        master: &MasterKey,
        call_id: &str,
        kind: &str,
        caller_hash: &str,
        recipient: Recipient<'_>,
        content: &[u8],
        days: i64,
        now_ms: i64,
    ) -> Result<Artifact, StoreError> {
        if !ARTIFACT_KINDS.contains(&kind) || days < 1 {
            return Err(StoreError::Invalid(format!("cannot keep {kind:?} for {days} days")));
        }
        let object = object_id(call_id, kind);
        let (label, inner) = match recipient {
            Recipient::Platform => ("platform".to_string(), None),
            Recipient::TenantKey(pk) => {
                let fp = hex::encode(&<sha2::Sha256 as sha2::Digest>::digest(pk)[..8]);
                let aad = format!("parley/kept/v1|{}|{object}", self.id());
                (format!("tenant-key:{fp}"), Some(crate::recipient::seal_to(pk, &aad, content)?))
            }
        };
        let sealed = self.seal(master, KIND, &object, inner.as_deref().unwrap_or(content), now_ms).await?;
        let item = Artifact { call_id: call_id.into(), kind: kind.into(), recipient: label, created_ms: now_ms, expires_ms: now_ms.saturating_add(days.saturating_mul(DAY_MS)) };
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO kept_artifacts (tenant_id, call_id, kind, caller_hash, recipient, key_version, wrapped_key, ciphertext, created_ms, expires_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(self.id())
        .bind(call_id)
        .bind(kind)
        .bind(caller_hash)
        .bind(&item.recipient)
        .bind(sealed.key_version)
        .bind(sealed.wrapped_key)
        .bind(sealed.ciphertext)
        .bind(now_ms)
        .bind(item.expires_ms)
        .execute(&mut *tx)
        .await
        .map_err(crate::conflict_or)?;
        tx.commit().await?;
        Ok(item)
    }

    /// The items kept for a call.
    pub async fn list_artifacts(&self, call_id: &str) -> Result<Vec<Artifact>, StoreError> {
        let mut tx = self.begin().await?;
        let rows = sqlx::query("SELECT call_id, kind, recipient, created_ms, expires_ms FROM kept_artifacts WHERE tenant_id = $1 AND call_id = $2 ORDER BY kind")
            .bind(self.id())
            .bind(call_id)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        rows.iter()
            .map(|r| {
                Ok(Artifact {
                    call_id: r.try_get("call_id")?,
                    kind: r.try_get("kind")?,
                    recipient: r.try_get("recipient")?,
                    created_ms: r.try_get("created_ms")?,
                    expires_ms: r.try_get("expires_ms")?,
                })
            })
            .collect()
    }

    /// Opens a kept item: the content itself, or for a `tenant-key` item the blob only the
    /// tenant's secret key opens.
    pub async fn open_artifact(&self, master: &MasterKey, call_id: &str, kind: &str) -> Result<(Artifact, Zeroizing<Vec<u8>>), StoreError> {
        let mut tx = self.begin().await?;
        let r = sqlx::query(
            "SELECT call_id, kind, recipient, created_ms, expires_ms, key_version, wrapped_key, ciphertext FROM kept_artifacts \
             WHERE tenant_id = $1 AND call_id = $2 AND kind = $3",
        )
        .bind(self.id())
        .bind(call_id)
        .bind(kind)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        let item = Artifact {
            call_id: r.try_get("call_id")?,
            kind: r.try_get("kind")?,
            recipient: r.try_get("recipient")?,
            created_ms: r.try_get("created_ms")?,
            expires_ms: r.try_get("expires_ms")?,
        };
        let sealed = Sealed::from_row(&r)?;
        let content = self.open(master, KIND, &object_id(call_id, kind), &sealed).await?;
        Ok((item, content))
    }

    /// Deletes items past their expiry; returns how many.
    pub async fn delete_expired_artifacts(&self, now_ms: i64) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        let n = sqlx::query("DELETE FROM kept_artifacts WHERE tenant_id = $1 AND expires_ms <= $2")
            .bind(self.id())
            .bind(now_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(n)
    }
}
