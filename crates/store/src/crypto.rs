//! Envelope encryption: a master key (from a file or the environment) wraps per-tenant keys,
//! which wrap per-artifact data keys, which seal the artifact. All three layers are
//! AES-256-GCM with a fresh 96-bit nonce, and the associated data binds each ciphertext to its
//! tenant, artifact kind and artifact id, so a sealed blob moved to another row or tenant does
//! not open.
//!
//! Rotation: [`PlatformScope::rewrap_tenant_keys`] re-wraps tenant keys under a new master key;
//! [`TenantScope::rotate_key`] starts a new tenant key version and [`TenantScope::rewrap`]
//! moves an artifact's data key to it without touching the data. Crypto-shredding:
//! [`TenantScope::shred_keys`] deletes the tenant's keys, after which nothing sealed under them
//! opens.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use secrecy::{ExposeSecret, SecretBox};
use sha2::{Digest, Sha256};
use sqlx::Row;
use zeroize::Zeroizing;

use crate::{PlatformScope, StoreError, TenantScope};

/// The installation's key-encryption key. Its id (a digest prefix) is stored beside each
/// wrapped tenant key, so a rotation knows which rows it still has to re-wrap.
pub struct MasterKey {
    id: String,
    key: SecretBox<[u8; 32]>,
}

impl MasterKey {
    /// From 32 raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> MasterKey {
        let id = hex::encode(&Sha256::digest([b"parley/master-id/v1".as_slice(), &bytes].concat())[..8]);
        MasterKey { id, key: SecretBox::new(Box::new(bytes)) }
    }

    /// From 64 hex digits (the form of the key file and `PARLEY_MASTER_KEY`).
    pub fn from_hex(text: &str) -> Result<MasterKey, StoreError> {
        let raw = Zeroizing::new(hex::decode(text.trim()).map_err(|_| StoreError::Crypto("master key is not hex"))?);
        let bytes: [u8; 32] = raw.as_slice().try_into().map_err(|_| StoreError::Crypto("master key must be 32 bytes"))?;
        Ok(MasterKey::from_bytes(bytes))
    }

    /// A new random key.
    pub fn generate() -> MasterKey {
        MasterKey::from_bytes(rand::random())
    }

    /// Public identifier of this key.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The key as hex, for writing the key file once.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.key.expose_secret()))
    }
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({})", self.id)
    }
}

/// An artifact sealed under a data key that a tenant key wraps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealed {
    /// Version of the tenant key that wraps the data key.
    pub key_version: i64,
    /// The data key, wrapped: nonce ‖ ciphertext ‖ tag.
    pub wrapped_key: Vec<u8>,
    /// The artifact: nonce ‖ ciphertext ‖ tag.
    pub ciphertext: Vec<u8>,
}

impl Sealed {
    /// Reads the `key_version`, `wrapped_key` and `ciphertext` columns of a row.
    pub(crate) fn from_row(r: &sqlx::any::AnyRow) -> Result<Sealed, StoreError> {
        Ok(Sealed { key_version: r.try_get("key_version")?, wrapped_key: r.try_get("wrapped_key")?, ciphertext: r.try_get("ciphertext")? })
    }
}

pub(crate) fn seal_with(key: &[u8; 32], aad: &str, plaintext: &[u8]) -> Result<Vec<u8>, StoreError> {
    let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| StoreError::Crypto("key length"))?;
    let nonce: [u8; 12] = rand::random();
    let ct = cipher
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext, aad: aad.as_bytes() })
        .map_err(|_| StoreError::Crypto("encryption failed"))?;
    Ok([nonce.as_slice(), &ct].concat())
}

pub(crate) fn open_with(key: &[u8; 32], aad: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, StoreError> {
    if sealed.len() < 12 + 16 {
        return Err(StoreError::Crypto("sealed data too short"));
    }
    let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| StoreError::Crypto("key length"))?;
    let (nonce, ct) = sealed.split_at(12);
    cipher
        .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad: aad.as_bytes() })
        .map(Zeroizing::new)
        .map_err(|_| StoreError::Crypto("does not open: wrong key, tampered, or shredded"))
}

fn key32(bytes: &[u8]) -> Result<Zeroizing<[u8; 32]>, StoreError> {
    let arr: [u8; 32] = bytes.try_into().map_err(|_| StoreError::Crypto("wrapped key has the wrong length"))?;
    Ok(Zeroizing::new(arr))
}

fn tenant_key_aad(tenant: &str, version: i64) -> String {
    format!("parley/tenant-key/v1|{tenant}|{version}")
}

fn data_key_aad(tenant: &str, kind: &str, object: &str) -> String {
    format!("parley/data-key/v1|{tenant}|{kind}|{object}")
}

fn data_aad(tenant: &str, kind: &str, object: &str) -> String {
    format!("parley/data/v1|{tenant}|{kind}|{object}")
}

pub(crate) type Tx = sqlx::Transaction<'static, sqlx::Any>;

impl TenantScope {
    async fn key_version(&self, tx: &mut Tx, master: &MasterKey, version: i64) -> Result<Zeroizing<[u8; 32]>, StoreError> {
        let row = sqlx::query("SELECT master_id, wrapped FROM tenant_keys WHERE tenant_id = $1 AND version = $2")
            .bind(self.id())
            .bind(version)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(StoreError::Crypto("tenant key not found (shredded?)"))?;
        let master_id: String = row.try_get("master_id")?;
        if master_id != master.id() {
            return Err(StoreError::Crypto("tenant key is wrapped under another master key"));
        }
        let wrapped: Vec<u8> = row.try_get("wrapped")?;
        key32(&open_with(master.key.expose_secret(), &tenant_key_aad(self.id(), version), &wrapped)?)
    }

    async fn current_key(&self, tx: &mut Tx, master: &MasterKey, now_ms: i64) -> Result<(i64, Zeroizing<[u8; 32]>), StoreError> {
        let latest: Option<i64> = sqlx::query("SELECT MAX(version) AS v FROM tenant_keys WHERE tenant_id = $1")
            .bind(self.id())
            .fetch_one(&mut **tx)
            .await?
            .try_get("v")?;
        match latest {
            Some(v) => Ok((v, self.key_version(tx, master, v).await?)),
            None => self.new_key_version(tx, master, 1, now_ms).await,
        }
    }

    async fn new_key_version(&self, tx: &mut Tx, master: &MasterKey, version: i64, now_ms: i64) -> Result<(i64, Zeroizing<[u8; 32]>), StoreError> {
        let key = Zeroizing::new(rand::random::<[u8; 32]>());
        let wrapped = seal_with(master.key.expose_secret(), &tenant_key_aad(self.id(), version), key.as_slice())?;
        sqlx::query("INSERT INTO tenant_keys (tenant_id, version, master_id, wrapped, created_ms) VALUES ($1, $2, $3, $4, $5)")
            .bind(self.id())
            .bind(version)
            .bind(master.id())
            .bind(wrapped)
            .bind(now_ms)
            .execute(&mut **tx)
            .await
            .map_err(crate::conflict_or)?;
        Ok((version, key))
    }

    /// Seals `plaintext` as artifact `kind`/`object_id` of this tenant under a fresh data key.
    pub async fn seal(&self, master: &MasterKey, kind: &str, object_id: &str, plaintext: &[u8], now_ms: i64) -> Result<Sealed, StoreError> {
        let mut tx = self.begin().await?;
        let (version, tenant_key) = self.current_key(&mut tx, master, now_ms).await?;
        tx.commit().await?;
        let data_key = Zeroizing::new(rand::random::<[u8; 32]>());
        Ok(Sealed {
            key_version: version,
            wrapped_key: seal_with(&tenant_key, &data_key_aad(self.id(), kind, object_id), data_key.as_slice())?,
            ciphertext: seal_with(&data_key, &data_aad(self.id(), kind, object_id), plaintext)?,
        })
    }

    /// Opens an artifact sealed by [`TenantScope::seal`] with the same kind and id.
    pub async fn open(&self, master: &MasterKey, kind: &str, object_id: &str, sealed: &Sealed) -> Result<Zeroizing<Vec<u8>>, StoreError> {
        let mut tx = self.begin().await?;
        let tenant_key = self.key_version(&mut tx, master, sealed.key_version).await?;
        tx.commit().await?;
        let data_key = key32(&open_with(&tenant_key, &data_key_aad(self.id(), kind, object_id), &sealed.wrapped_key)?)?;
        open_with(&data_key, &data_aad(self.id(), kind, object_id), &sealed.ciphertext)
    }

    /// Starts a new tenant key version; later seals use it. Returns the new version.
    pub async fn rotate_key(&self, master: &MasterKey, now_ms: i64) -> Result<i64, StoreError> {
        let mut tx = self.begin().await?;
        let (current, _) = self.current_key(&mut tx, master, now_ms).await?;
        let (version, _) = self.new_key_version(&mut tx, master, current + 1, now_ms).await?;
        tx.commit().await?;
        Ok(version)
    }

    /// Re-wraps an artifact's data key under the newest tenant key (the data is not touched).
    pub async fn rewrap(&self, master: &MasterKey, kind: &str, object_id: &str, sealed: &Sealed, now_ms: i64) -> Result<Sealed, StoreError> {
        let mut tx = self.begin().await?;
        let old = self.key_version(&mut tx, master, sealed.key_version).await?;
        let (version, new) = self.current_key(&mut tx, master, now_ms).await?;
        tx.commit().await?;
        let wrapped_key = self.rewrap_data_key(&old, &new, kind, object_id, &sealed.wrapped_key)?;
        Ok(Sealed { key_version: version, wrapped_key, ciphertext: sealed.ciphertext.clone() })
    }

    /// The tenant key `version`, unwrapped (for re-wrapping many rows with one lookup).
    pub(crate) async fn unwrap_key(&self, tx: &mut Tx, master: &MasterKey, version: i64) -> Result<Zeroizing<[u8; 32]>, StoreError> {
        self.key_version(tx, master, version).await
    }

    /// A data key wrapped under tenant key `old`, wrapped again under `new`.
    pub(crate) fn rewrap_data_key(&self, old: &[u8; 32], new: &[u8; 32], kind: &str, object_id: &str, wrapped: &[u8]) -> Result<Vec<u8>, StoreError> {
        let aad = data_key_aad(self.id(), kind, object_id);
        let data_key = open_with(old, &aad, wrapped)?;
        seal_with(new, &aad, &data_key)
    }

    /// Drops key versions older than `keep_from` (after every artifact was re-wrapped).
    pub async fn retire_keys_before(&self, keep_from: i64) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        let n = sqlx::query("DELETE FROM tenant_keys WHERE tenant_id = $1 AND version < $2")
            .bind(self.id())
            .bind(keep_from)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(n)
    }

    /// Crypto-shreds the tenant: deletes every key version, so nothing sealed under them opens.
    pub async fn shred_keys(&self) -> Result<u64, StoreError> {
        self.retire_keys_before(i64::MAX).await
    }
}

impl PlatformScope {
    /// Re-wraps every tenant key wrapped under `old` with `new` (master key rotation).
    /// Idempotent: rows already under `new` are left alone. Returns how many were re-wrapped.
    pub async fn rewrap_tenant_keys(&self, old: &MasterKey, new: &MasterKey) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        let rows = sqlx::query("SELECT tenant_id, version, wrapped FROM tenant_keys WHERE master_id = $1")
            .bind(old.id())
            .fetch_all(&mut *tx)
            .await?;
        let mut n = 0;
        for row in rows {
            let tenant: String = row.try_get("tenant_id")?;
            let version: i64 = row.try_get("version")?;
            let wrapped: Vec<u8> = row.try_get("wrapped")?;
            let aad = tenant_key_aad(&tenant, version);
            let key = open_with(old.key.expose_secret(), &aad, &wrapped)?;
            let rewrapped = seal_with(new.key.expose_secret(), &aad, &key)?;
            sqlx::query("UPDATE tenant_keys SET master_id = $1, wrapped = $2 WHERE tenant_id = $3 AND version = $4")
                .bind(new.id())
                .bind(rewrapped)
                .bind(&tenant)
                .bind(version)
                .execute(&mut *tx)
                .await?;
            n += 1;
        }
        tx.commit().await?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aead_binds_the_associated_data() {
        let key = [7u8; 32];
        let sealed = seal_with(&key, "a", b"hello").unwrap();
        assert_eq!(open_with(&key, "a", &sealed).unwrap().as_slice(), b"hello");
        assert!(open_with(&key, "b", &sealed).is_err());
        assert!(open_with(&[8u8; 32], "a", &sealed).is_err());
        let mut flipped = sealed.clone();
        flipped[14] ^= 1;
        assert!(open_with(&key, "a", &flipped).is_err());
        assert!(open_with(&key, "a", &sealed[..20]).is_err());
        assert!(!sealed.windows(5).any(|w| w == b"hello"));
    }

    #[test]
    fn master_keys_parse_and_hide() {
        let k = MasterKey::generate();
        let again = MasterKey::from_hex(&k.to_hex()).unwrap();
        assert_eq!(k.id(), again.id());
        assert!(MasterKey::from_hex("abcd").is_err());
        assert!(!format!("{k:?}").contains(k.to_hex().as_str()));
    }
}
