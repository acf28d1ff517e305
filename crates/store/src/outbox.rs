//! The outbox: post-call documents waiting for delivery, sealed with [`crate::crypto`] under a
//! data key of their own. [`TenantScope::delivered`] and [`PlatformScope::shred_expired`]
//! delete the row, and with it the only wrapped copy of that key (invariant 2 of DESIGN.md: the
//! key is destroyed on acknowledged delivery or after the hard limit).

use sqlx::Row;
use zeroize::Zeroizing;

use crate::crypto::{MasterKey, Sealed};
use crate::{PlatformScope, StoreError, TenantScope};

/// The hard limit after which an undelivered item is shredded: 72 hours.
pub const HARD_LIMIT_MS: i64 = 72 * 3600 * 1000;

pub(crate) const KIND: &str = "outbox";

/// An item due for an attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Due {
    /// Item id.
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// The call the document is about.
    pub call_id: String,
    /// Where it goes (a webhook URL).
    pub destination: String,
    /// Attempts made so far.
    pub attempts: i64,
}

/// An item that reached the hard limit and was shredded.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Expired {
    /// Tenant.
    pub tenant_id: String,
    /// The call it was about.
    pub call_id: String,
    /// Where it was to go (`email:<agent>` for a post-call mail).
    pub destination: String,
}

impl TenantScope {
    /// Seals `document` into the outbox for `destination`; it is due at once. Returns the id.
    pub async fn enqueue(&self, master: &MasterKey, call_id: &str, destination: &str, document: &[u8], now_ms: i64) -> Result<String, StoreError> {
        let id = hex::encode(rand::random::<[u8; 12]>());
        let sealed = self.seal(master, KIND, &id, document, now_ms).await?;
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO outbox (id, tenant_id, call_id, destination, key_version, wrapped_key, ciphertext, created_ms, expires_ms, attempts, next_attempt_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10)",
        )
        .bind(&id)
        .bind(self.id())
        .bind(call_id)
        .bind(destination)
        .bind(sealed.key_version)
        .bind(sealed.wrapped_key)
        .bind(sealed.ciphertext)
        .bind(now_ms)
        .bind(now_ms + HARD_LIMIT_MS)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Opens an item for an attempt.
    pub async fn open_item(&self, master: &MasterKey, id: &str) -> Result<Zeroizing<Vec<u8>>, StoreError> {
        let mut tx = self.begin().await?;
        let row = sqlx::query("SELECT key_version, wrapped_key, ciphertext FROM outbox WHERE tenant_id = $1 AND id = $2")
            .bind(self.id())
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        let sealed = Sealed::from_row(&row)?;
        self.open(master, KIND, id, &sealed).await
    }

    /// The receiver acknowledged the item: delete it (its key goes with it).
    pub async fn delivered(&self, id: &str) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let n = sqlx::query("DELETE FROM outbox WHERE tenant_id = $1 AND id = $2").bind(self.id()).bind(id).execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// An attempt failed: try again at `next_ms`. `error` must be an allow-listed reason (a
    /// status code or `unreachable`), never a body.
    pub async fn retry_later(&self, id: &str, next_ms: i64, error: &str) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE outbox SET attempts = attempts + 1, next_attempt_ms = $1, last_error = $2 WHERE tenant_id = $3 AND id = $4")
            .bind(next_ms)
            .bind(error)
            .bind(self.id())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

impl PlatformScope {
    /// Items due at `now_ms`, earliest first.
    pub async fn due(&self, now_ms: i64, limit: i64) -> Result<Vec<Due>, StoreError> {
        let mut tx = self.begin().await?;
        let rows = sqlx::query(
            "SELECT id, tenant_id, call_id, destination, attempts FROM outbox WHERE next_attempt_ms <= $1 AND expires_ms > $1 \
             ORDER BY next_attempt_ms, id LIMIT $2",
        )
        .bind(now_ms)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.iter()
            .map(|r| {
                Ok(Due {
                    id: r.try_get("id")?,
                    tenant_id: r.try_get("tenant_id")?,
                    call_id: r.try_get("call_id")?,
                    destination: r.try_get("destination")?,
                    attempts: r.try_get("attempts")?,
                })
            })
            .collect()
    }

    /// When the next attempt or expiry is due, if anything is waiting.
    pub async fn next_outbox_event_ms(&self) -> Result<Option<i64>, StoreError> {
        let mut tx = self.begin().await?;
        let row = sqlx::query("SELECT MIN(CASE WHEN next_attempt_ms < expires_ms THEN next_attempt_ms ELSE expires_ms END) AS t FROM outbox")
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(row.try_get("t")?)
    }

    /// Shreds every item past its hard limit; returns what was lost, for the call records.
    pub async fn shred_expired(&self, now_ms: i64) -> Result<Vec<Expired>, StoreError> {
        let mut tx = self.begin().await?;
        let rows = sqlx::query("DELETE FROM outbox WHERE expires_ms <= $1 RETURNING tenant_id, call_id, destination").bind(now_ms).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        rows.iter().map(|r| Ok(Expired { tenant_id: r.try_get("tenant_id")?, call_id: r.try_get("call_id")?, destination: r.try_get("destination")? })).collect()
    }
}
