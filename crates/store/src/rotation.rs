//! Tenant key rotation over everything a tenant has sealed.
//!
//! [`TenantScope::rotate_keys`] starts a new tenant key version, re-wraps the data key of every
//! sealed row (post-call documents in the outbox, integration secrets, trunk passwords, kept
//! transcripts and recordings) under it without touching the data, and then retires the old versions, so a
//! leaked old tenant key opens nothing. It is idempotent and safe to run while the server
//! runs: each row is updated only if it still holds the wrapped key that was read, a row sealed
//! under an old version meanwhile is picked up by another pass, and old versions are retired
//! only once no row refers to them.

use std::collections::HashMap;

use sqlx::Row;
use zeroize::Zeroizing;

use crate::crypto::{MasterKey, Sealed};
use crate::{StoreError, TenantScope};

/// A table whose rows hold `key_version`, `wrapped_key` and `ciphertext` columns.
struct SealedTable {
    table: &'static str,
    /// The seal kind its rows were sealed with.
    kind: &'static str,
    /// Columns that, with `tenant_id`, identify a row.
    key_columns: &'static [&'static str],
    /// The object id the row was sealed with, from its key columns.
    object_id: fn(&[String]) -> String,
}

/// Every table holding sealed rows. A new sealed table must be added here, or rotation would
/// retire the key its rows need (the store test `rotation_reaches_every_sealed_table` checks
/// the schema for `wrapped_key` columns).
const SEALED_TABLES: &[SealedTable] = &[
    SealedTable { table: "outbox", kind: crate::outbox::KIND, key_columns: &["id"], object_id: |k| k[0].clone() },
    SealedTable { table: "integrations", kind: crate::integrations::KIND, key_columns: &["id"], object_id: |k| k[0].clone() },
    SealedTable { table: "trunks", kind: crate::trunks::KIND, key_columns: &["id"], object_id: |k| k[0].clone() },
    SealedTable { table: "gateways", kind: crate::outbound::KIND, key_columns: &["id"], object_id: |k| k[0].clone() },
    SealedTable {
        table: "kept_artifacts",
        kind: crate::artifacts::KIND,
        key_columns: &["call_id", "kind"],
        object_id: |k| crate::artifacts::object_id(&k[0], &k[1]),
    },
];

/// The tables [`TenantScope::rotate_keys`] re-wraps.
pub fn sealed_tables() -> impl Iterator<Item = &'static str> {
    SEALED_TABLES.iter().map(|t| t.table)
}

/// What a rotation did.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Rotation {
    /// Tenant.
    pub tenant_id: String,
    /// The key version everything is now wrapped under.
    pub key_version: i64,
    /// Rows whose data key was re-wrapped.
    pub rewrapped: u64,
    /// Old key versions deleted.
    pub retired: u64,
}

/// Passes over the tables before giving up on retiring (rows keep arriving under old keys).
const PASSES: usize = 3;

impl TenantScope {
    /// Rotates this tenant's key and re-wraps every sealed row under the new version; see the
    /// module docs.
    pub async fn rotate_keys(&self, master: &MasterKey, now_ms: i64) -> Result<Rotation, StoreError> {
        let version = self.rotate_key(master, now_ms).await?;
        let mut rewrapped = 0;
        for _ in 0..PASSES {
            let n = self.rewrap_rows_before(master, version).await?;
            rewrapped += n;
            if n == 0 {
                break;
            }
        }
        let retired = if self.rows_before(version).await? == 0 { self.retire_keys_before(version).await? } else { 0 };
        Ok(Rotation { tenant_id: self.id().to_string(), key_version: version, rewrapped, retired })
    }

    async fn rewrap_rows_before(&self, master: &MasterKey, version: i64) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        let new = self.unwrap_key(&mut tx, master, version).await?;
        let mut old_keys: HashMap<i64, Zeroizing<[u8; 32]>> = HashMap::new();
        let mut n = 0;
        for t in SEALED_TABLES {
            let columns = t.key_columns.join(", ");
            let rows = sqlx::query(&format!("SELECT {columns}, key_version, wrapped_key, ciphertext FROM {} WHERE tenant_id = $1 AND key_version < $2", t.table))
                .bind(self.id())
                .bind(version)
                .fetch_all(&mut *tx)
                .await?;
            for row in rows {
                let keys = t.key_columns.iter().map(|c| row.try_get::<String, _>(*c)).collect::<Result<Vec<_>, _>>()?;
                let sealed = Sealed::from_row(&row)?;
                if let std::collections::hash_map::Entry::Vacant(slot) = old_keys.entry(sealed.key_version) {
                    slot.insert(self.unwrap_key(&mut tx, master, sealed.key_version).await?);
                }
                let old = &old_keys[&sealed.key_version];
                let wrapped = self.rewrap_data_key(old, &new, t.kind, &(t.object_id)(&keys), &sealed.wrapped_key)?;
                let matches: Vec<String> = t.key_columns.iter().enumerate().map(|(i, c)| format!("{c} = ${}", i + 5)).collect();
                let sql = format!(
                    "UPDATE {} SET key_version = $1, wrapped_key = $2 WHERE tenant_id = $3 AND wrapped_key = $4 AND {}",
                    t.table,
                    matches.join(" AND ")
                );
                let mut update = sqlx::query(&sql).bind(version).bind(wrapped).bind(self.id()).bind(sealed.wrapped_key);
                for k in keys {
                    update = update.bind(k);
                }
                n += update.execute(&mut *tx).await?.rows_affected();
            }
        }
        tx.commit().await?;
        Ok(n)
    }

    async fn rows_before(&self, version: i64) -> Result<i64, StoreError> {
        let mut tx = self.begin().await?;
        let mut total = 0;
        for t in SEALED_TABLES {
            let n: i64 = sqlx::query(&format!("SELECT COUNT(*) AS n FROM {} WHERE tenant_id = $1 AND key_version < $2", t.table))
                .bind(self.id())
                .bind(version)
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
            total += n;
        }
        tx.commit().await?;
        Ok(total)
    }
}
