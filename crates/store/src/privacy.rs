//! Masking and keyed hashing of phone numbers and SIP users before they are stored or logged.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Keeps the first four and last two characters: `+15550100004` becomes `+155******04`.
pub fn mask_number(n: &str) -> String {
    let chars: Vec<char> = n.chars().collect();
    if chars.len() <= 6 {
        return "*".repeat(chars.len());
    }
    chars.iter().enumerate().map(|(i, c)| if i < 4 || i >= chars.len() - 2 { *c } else { '*' }).collect()
}

/// HMAC-SHA256 of the number under the installation's key, hex (first 32 chars): the first
/// step of [`caller_hash`], and what caller hashes were before they were keyed per tenant.
fn installation_hash(key: &[u8], n: &str) -> String {
    mac16(key, n.as_bytes())
}

fn mac16(key: &[u8], data: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(data);
    hex::encode(&mac.finalize().into_bytes()[..16])
}

/// The keyed hash of a caller's number as `tenant` stores it (records, restrictions, kept
/// artifacts): keyed per tenant, so two tenants' records of one caller cannot be linked by
/// their hashes, and data-subject requests still find a caller within a tenant.
pub fn caller_hash(key: &[u8], tenant: &str, n: &str) -> String {
    rekeyed(key, tenant, &installation_hash(key, n))
}

/// [`caller_hash`] from the installation-wide hash that rows written before per-tenant keys
/// hold, so they can be re-keyed in place ([`crate::PlatformScope::key_caller_hashes_per_tenant`]).
pub(crate) fn rekeyed(key: &[u8], tenant: &str, installation_hash: &str) -> String {
    let tenant_key = mac16(key, format!("parley/caller-hash/v2|{tenant}").as_bytes());
    mac16(tenant_key.as_bytes(), installation_hash.as_bytes())
}

/// The flag set once every stored caller hash is keyed per tenant.
const PER_TENANT_FLAG: &str = "caller_hash_per_tenant";

/// Tables that hold caller hashes.
const HASHED_TABLES: [&str; 3] = ["calls", "restrictions", "kept_artifacts"];

impl crate::PlatformScope {
    /// Re-keys the caller hashes stored before they were keyed per tenant, once (a flag in the
    /// store says it is done; nodes starting together do it once between them). Returns how
    /// many distinct (tenant, caller) hashes were re-keyed.
    pub async fn key_caller_hashes_per_tenant(&self, key: &[u8], now_ms: i64) -> Result<usize, crate::StoreError> {
        use sqlx::Row;
        let mut tx = self.begin().await?;
        let claimed = sqlx::query("INSERT INTO store_flags (name, set_ms) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(PER_TENANT_FLAG)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if claimed == 0 {
            return Ok(0);
        }
        let rows = sqlx::query(&HASHED_TABLES.map(|t| format!("SELECT tenant_id, caller_hash FROM {t}")).join(" UNION "))
            .fetch_all(&mut *tx)
            .await?;
        for r in &rows {
            let (tenant, old): (String, String) = (r.try_get("tenant_id")?, r.try_get("caller_hash")?);
            let new = rekeyed(key, &tenant, &old);
            for table in HASHED_TABLES {
                sqlx::query(&format!("UPDATE {table} SET caller_hash = $1 WHERE tenant_id = $2 AND caller_hash = $3"))
                    .bind(&new)
                    .bind(&tenant)
                    .bind(&old)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(rows.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_and_hashes() {
        assert_eq!(mask_number("+15550100004"), "+155******04");
        assert_eq!(mask_number("1234"), "****");
        assert_eq!(caller_hash(b"k", "a", "+1"), caller_hash(b"k", "a", "+1"));
        assert_ne!(caller_hash(b"k", "a", "+1"), caller_hash(b"j", "a", "+1"), "keyed by the installation");
        assert_ne!(caller_hash(b"k", "a", "+1"), caller_hash(b"k", "b", "+1"), "and by the tenant");
        assert_eq!(rekeyed(b"k", "a", &installation_hash(b"k", "+1")), caller_hash(b"k", "a", "+1"));
    }
}
