//! Tamper-evident audit log. Every read or change of customer data and every admin action
//! appends one [`Entry`] (actor, tenant, action, object id, time; never PII) to its tenant's
//! chain (operator actions to [`PLATFORM_CHAIN`]). Each entry's hash covers the previous
//! entry's hash, so changing, removing or reordering an entry breaks the chain. Chain heads are
//! signed with ed25519 ([`Store::sign_heads`], run periodically by the server); a signed head
//! also catches the removal of entries at the end of a chain, and tenants can hold copies of
//! their heads ([`TenantScope::audit_heads`]) to check the operator.

use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::{PlatformScope, Scope, Store, StoreError, TenantScope};

mod verify;
pub use verify::{verify, verify_covered, Report, Verifier};

/// The chain of operator actions that concern no single tenant.
pub const PLATFORM_CHAIN: &str = "_platform";

/// `prev_hash` of the first entry of every chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit entry.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Entry {
    /// Chain: the tenant, or [`PLATFORM_CHAIN`].
    pub tenant_id: String,
    /// Position in the chain, from 1.
    pub seq: i64,
    /// Time, unix ms.
    pub at_ms: i64,
    /// Who: `key:<id>`, `system:<job>`, `cli`.
    pub actor: String,
    /// What: `calls.list`, `api_keys.create`, ...
    pub action: String,
    /// Which object (an id, never a phone number or text).
    pub object_id: String,
    /// Hash of the previous entry.
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

/// What a caller appends.
#[derive(Clone, Debug)]
pub struct Event<'a> {
    /// Who.
    pub actor: &'a str,
    /// What.
    pub action: &'a str,
    /// Which object.
    pub object_id: &'a str,
    /// When, unix ms.
    pub at_ms: i64,
}

/// A signed chain head.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SignedHead {
    /// Chain.
    pub tenant_id: String,
    /// Last entry covered.
    pub seq: i64,
    /// That entry's hash.
    pub hash: String,
    /// Signing time, unix ms.
    pub signed_ms: i64,
    /// ed25519 public key, hex.
    pub public_key: String,
    /// ed25519 signature, hex.
    pub signature: String,
}

impl SignedHead {
    fn message(&self) -> String {
        format!("parley/audit-head/v1|{}|{}|{}|{}", self.tenant_id, self.seq, self.hash, self.signed_ms)
    }
}

/// The installation's head-signing key (ed25519), from a 32-byte seed. The key zeroizes
/// itself on drop and is never printed.
pub struct HeadSigner {
    key: SigningKey,
}

impl std::fmt::Debug for HeadSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HeadSigner({})", self.public_key_hex())
    }
}

impl HeadSigner {
    /// From a 32-byte seed.
    pub fn from_seed(seed: [u8; 32]) -> HeadSigner {
        HeadSigner { key: SigningKey::from_bytes(&seed) }
    }

    /// Signs `message` (ed25519), hex; for manifests of data-subject exports.
    pub fn sign_hex(&self, message: &[u8]) -> String {
        hex::encode(self.key.sign(message).to_bytes())
    }

    /// Checks a signature made by [`HeadSigner::sign_hex`] against a public key, both hex.
    pub fn verify_hex(public_key: &str, message: &[u8], signature: &str) -> bool {
        let Ok(pk) = hex::decode(public_key) else { return false };
        let Ok(pk) = <[u8; 32]>::try_from(pk.as_slice()) else { return false };
        let Ok(vk) = VerifyingKey::from_bytes(&pk) else { return false };
        let Ok(sig) = hex::decode(signature) else { return false };
        let Ok(sig) = Signature::from_slice(&sig) else { return false };
        vk.verify(message, &sig).is_ok()
    }

    /// The public key, hex (publish it; `parley audit verify --public-key` checks against it).
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.key.verifying_key().as_bytes())
    }
}

/// Hash of an entry: SHA-256 over the previous hash and the length-prefixed fields.
pub fn entry_hash(prev_hash: &str, tenant_id: &str, seq: i64, at_ms: i64, actor: &str, action: &str, object_id: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"parley/audit/v1");
    for field in [prev_hash.as_bytes(), tenant_id.as_bytes(), &seq.to_be_bytes(), &at_ms.to_be_bytes(), actor.as_bytes(), action.as_bytes(), object_id.as_bytes()] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field);
    }
    hex::encode(h.finalize())
}

fn entry_of(r: &sqlx::any::AnyRow) -> Result<Entry, StoreError> {
    Ok(Entry {
        tenant_id: r.try_get("tenant_id")?,
        seq: r.try_get("seq")?,
        at_ms: r.try_get("at_ms")?,
        actor: r.try_get("actor")?,
        action: r.try_get("action")?,
        object_id: r.try_get("object_id")?,
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
    })
}

fn head_of(r: &sqlx::any::AnyRow) -> Result<SignedHead, StoreError> {
    Ok(SignedHead {
        tenant_id: r.try_get("tenant_id")?,
        seq: r.try_get("seq")?,
        hash: r.try_get("hash")?,
        signed_ms: r.try_get("signed_ms")?,
        public_key: r.try_get("public_key")?,
        signature: r.try_get("signature")?,
    })
}

const ENTRY_COLUMNS: &str = "tenant_id, seq, at_ms, actor, action, object_id, prev_hash, hash";
const HEAD_COLUMNS: &str = "tenant_id, seq, hash, signed_ms, public_key, signature";

async fn append(store: &Store, scope: Scope<'_>, chain: &str, ev: &Event<'_>) -> Result<Entry, StoreError> {
    let _one_writer = store.audit_lock.lock().await;
    let mut last_err = None;
    for _ in 0..8 {
        let mut tx = store.begin(scope).await?;
        let last = sqlx::query("SELECT seq, hash FROM audit_log WHERE tenant_id = $1 ORDER BY seq DESC LIMIT 1")
            .bind(chain)
            .fetch_optional(&mut *tx)
            .await?;
        let (seq, prev_hash) = match last {
            Some(r) => (r.try_get::<i64, _>("seq")? + 1, r.try_get::<String, _>("hash")?),
            None => (1, GENESIS.to_string()),
        };
        let hash = entry_hash(&prev_hash, chain, seq, ev.at_ms, ev.actor, ev.action, ev.object_id);
        let inserted = sqlx::query(&format!("INSERT INTO audit_log ({ENTRY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"))
            .bind(chain)
            .bind(seq)
            .bind(ev.at_ms)
            .bind(ev.actor)
            .bind(ev.action)
            .bind(ev.object_id)
            .bind(&prev_hash)
            .bind(&hash)
            .execute(&mut *tx)
            .await;
        match inserted.map_err(crate::conflict_or) {
            Ok(_) => {
                tx.commit().await?;
                return Ok(Entry {
                    tenant_id: chain.into(),
                    seq,
                    at_ms: ev.at_ms,
                    actor: ev.actor.into(),
                    action: ev.action.into(),
                    object_id: ev.object_id.into(),
                    prev_hash,
                    hash,
                });
            }
            // Another node appended the same seq first: read the new head and try again.
            Err(StoreError::Conflict) => last_err = Some(StoreError::Conflict),
            Err(e) => return Err(e),
        }
    }
    Err(last_err.unwrap_or(StoreError::Conflict))
}

impl TenantScope {
    /// Appends an entry to this tenant's chain.
    pub async fn audit(&self, ev: &Event<'_>) -> Result<Entry, StoreError> {
        append(self.store(), Scope::Tenant(self.id()), self.id(), ev).await
    }

    /// This tenant's entries after `after_seq`, oldest first, at most `limit`.
    pub async fn audit_entries(&self, after_seq: i64, limit: i64) -> Result<Vec<Entry>, StoreError> {
        let mut tx = self.begin().await?;
        let rows = sqlx::query(&format!("SELECT {ENTRY_COLUMNS} FROM audit_log WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"))
            .bind(self.id())
            .bind(after_seq)
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        rows.iter().map(entry_of).collect()
    }

    /// This tenant's signed heads, oldest first (to export and keep).
    pub async fn audit_heads(&self) -> Result<Vec<SignedHead>, StoreError> {
        let mut tx = self.begin().await?;
        let rows = sqlx::query(&format!("SELECT {HEAD_COLUMNS} FROM audit_heads WHERE tenant_id = $1 ORDER BY seq"))
            .bind(self.id())
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        rows.iter().map(head_of).collect()
    }
}

impl PlatformScope {
    /// Appends an entry to the operators' chain.
    pub async fn audit(&self, ev: &Event<'_>) -> Result<Entry, StoreError> {
        append(&self.store, Scope::Platform, PLATFORM_CHAIN, ev).await
    }
}

impl Store {
    /// Signs the head of every chain that grew since its last signed head. Returns the heads
    /// signed (for an anchor outside the database, see [`Anchor`]).
    pub async fn sign_heads(&self, signer: &HeadSigner, now_ms: i64) -> Result<Vec<SignedHead>, StoreError> {
        let _one_writer = self.audit_lock.lock().await;
        let mut tx = self.begin(Scope::Platform).await?;
        let rows = sqlx::query(
            "SELECT l.tenant_id, l.seq, l.hash FROM audit_log l \
             JOIN (SELECT tenant_id, MAX(seq) AS seq FROM audit_log GROUP BY tenant_id) m ON m.tenant_id = l.tenant_id AND m.seq = l.seq \
             WHERE l.seq > COALESCE((SELECT MAX(h.seq) FROM audit_heads h WHERE h.tenant_id = l.tenant_id), 0)",
        )
        .fetch_all(&mut *tx)
        .await?;
        let key = &signer.key;
        let public_key = hex::encode(key.verifying_key().as_bytes());
        let mut signed = Vec::with_capacity(rows.len());
        for r in &rows {
            let mut head = SignedHead {
                tenant_id: r.try_get("tenant_id")?,
                seq: r.try_get("seq")?,
                hash: r.try_get("hash")?,
                signed_ms: now_ms,
                public_key: public_key.clone(),
                signature: String::new(),
            };
            head.signature = hex::encode(key.sign(head.message().as_bytes()).to_bytes());
            sqlx::query(&format!("INSERT INTO audit_heads ({HEAD_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"))
                .bind(&head.tenant_id)
                .bind(head.seq)
                .bind(&head.hash)
                .bind(head.signed_ms)
                .bind(&head.public_key)
                .bind(&head.signature)
                .execute(&mut *tx)
                .await?;
            signed.push(head);
        }
        tx.commit().await?;
        Ok(signed)
    }

    /// How many signed heads the database holds.
    pub async fn audit_head_count(&self) -> Result<i64, StoreError> {
        let mut tx = self.begin(Scope::Platform).await?;
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM audit_heads").fetch_one(&mut *tx).await?.try_get("n")?;
        tx.commit().await?;
        Ok(n)
    }

    /// Checks every chain and every signed head; `trusted` pins the signing key, `external`
    /// adds heads kept outside the database (a tenant's export, the [`Anchor`]) to check
    /// against, and `coverage` requires every entry older than its cutoff to be covered by a
    /// signed head.
    pub async fn verify_audit(&self, trusted: Option<&str>, external: &[SignedHead], coverage: Option<Coverage>) -> Result<Report, StoreError> {
        self.verify_audit_in_pages(trusted, external, coverage, VERIFY_PAGE).await
    }

    /// [`Store::verify_audit`] reading `page` entries at a time (tests use small pages).
    #[doc(hidden)]
    pub async fn verify_audit_in_pages(&self, trusted: Option<&str>, external: &[SignedHead], coverage: Option<Coverage>, page: usize) -> Result<Report, StoreError> {
        let mut tx = self.begin(Scope::Platform).await?;
        let heads = sqlx::query(&format!("SELECT {HEAD_COLUMNS} FROM audit_heads ORDER BY tenant_id, seq")).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        let mut heads = heads.iter().map(head_of).collect::<Result<Vec<_>, _>>()?;
        let in_db = heads.len() as i64;
        heads.extend(external.iter().cloned());
        // The entries a page at a time (keyset on chain and seq), so memory stays bounded.
        let mut v = Verifier::new(&heads, trusted, coverage.map(|c| c.cutoff_ms));
        let mut after = (String::new(), 0i64);
        loop {
            let mut tx = self.begin(Scope::Platform).await?;
            let rows = sqlx::query(&format!("SELECT {ENTRY_COLUMNS} FROM audit_log WHERE tenant_id > $1 OR (tenant_id = $1 AND seq > $2) ORDER BY tenant_id, seq LIMIT {page}"))
                .bind(&after.0)
                .bind(after.1)
                .fetch_all(&mut *tx)
                .await?;
            tx.commit().await?;
            for row in &rows {
                let e = entry_of(row)?;
                v.push(&e);
                after = (e.tenant_id, e.seq);
            }
            if rows.len() < page {
                break;
            }
        }
        let mut report = v.finish();
        if let Some(c) = coverage {
            if in_db < c.min_heads {
                report.problems.push(format!("signed heads were removed: the database holds {in_db}, the anchor counted {}", c.min_heads));
            }
        }
        Ok(report)
    }
}

/// Entries read at a time when checking the whole log.
const VERIFY_PAGE: usize = 5000;

/// What [`Store::verify_audit`] requires beyond the chains themselves.
#[derive(Clone, Copy, Debug)]
pub struct Coverage {
    /// Entries written before this (unix ms) must be covered by a signed head (heads are
    /// signed every minute while the server runs, and when it stops).
    pub cutoff_ms: i64,
    /// The database must hold at least this many signed heads (the anchor's count).
    pub min_heads: i64,
}

/// An append-only record of signed heads outside the database (a file in the data
/// directory): each line one head signed and the number of heads the database held after it.
/// Rewriting a chain and deleting its heads in the database leaves these behind, and they no
/// longer match; deleting heads makes the count go backwards.
pub struct Anchor {
    path: std::path::PathBuf,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct AnchorLine {
    head: SignedHead,
    heads_total: i64,
}

impl Anchor {
    /// The anchor at `path` (created on the first append, mode 0600).
    pub fn at(path: std::path::PathBuf) -> Anchor {
        Anchor { path }
    }

    /// Appends heads just signed, with the database's head count after them.
    pub fn append(&self, heads: &[SignedHead], heads_total: i64) -> std::io::Result<()> {
        use std::io::Write;
        if heads.is_empty() {
            return Ok(());
        }
        let mut opts = std::fs::OpenOptions::new();
        opts.append(true).create(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts.open(&self.path)?;
        let mut text = String::new();
        for h in heads {
            let line = AnchorLine { head: h.clone(), heads_total };
            text.push_str(&serde_json::to_string(&line).map_err(std::io::Error::other)?);
            text.push('\n');
        }
        f.write_all(text.as_bytes())?;
        f.sync_data()
    }

    /// The heads anchored and the highest count seen (none and 0 when there is no file yet).
    pub fn read(&self) -> std::io::Result<(Vec<SignedHead>, i64)> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
            Err(e) => return Err(e),
        };
        let mut heads = Vec::new();
        let mut total = 0;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let l: AnchorLine = serde_json::from_str(line).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
            total = total.max(l.heads_total);
            heads.push(l.head);
        }
        Ok((heads, total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<Entry> {
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|seq| {
                let hash = entry_hash(&prev, "t", seq, seq * 10, "key:a", "calls.read", &format!("c{seq}"));
                let e = Entry { tenant_id: "t".into(), seq, at_ms: seq * 10, actor: "key:a".into(), action: "calls.read".into(), object_id: format!("c{seq}"), prev_hash: prev.clone(), hash: hash.clone() };
                prev = hash;
                e
            })
            .collect()
    }

    fn head(signer: &HeadSigner, e: &Entry) -> SignedHead {
        let mut h = SignedHead { tenant_id: e.tenant_id.clone(), seq: e.seq, hash: e.hash.clone(), signed_ms: 1, public_key: signer.public_key_hex(), signature: String::new() };
        h.signature = hex::encode(signer.key.sign(h.message().as_bytes()).to_bytes());
        h
    }

    #[test]
    fn an_intact_chain_verifies() {
        let s = HeadSigner::from_seed([1; 32]);
        let c = chain(5);
        let r = verify(&c, &[head(&s, &c[4])], Some(&s.public_key_hex()));
        assert!(r.ok(), "{:?}", r.problems);
        assert_eq!((r.chains, r.entries, r.heads), (1, 5, 1));
    }

    #[test]
    fn changed_removed_reordered_and_truncated_entries_are_found() {
        let s = HeadSigner::from_seed([1; 32]);
        let c = chain(5);
        let heads = [head(&s, &c[4])];
        let mut changed = c.clone();
        changed[2].object_id = "other".into();
        assert!(!verify(&changed, &heads, None).ok());
        let mut removed = c.clone();
        removed.remove(1);
        assert!(!verify(&removed, &heads, None).ok());
        let mut reordered = c.clone();
        reordered.swap(1, 2);
        assert!(!verify(&reordered, &heads, None).ok());
        let truncated = &c[..4];
        assert!(!verify(truncated, &heads, None).ok(), "a signed head catches a removed tail");
        let mut forged = heads.clone();
        forged[0].seq = 4;
        forged[0].hash = c[3].hash.clone();
        assert!(!verify(truncated, &forged, None).ok(), "a re-pointed head no longer verifies");
        let other = HeadSigner::from_seed([2; 32]);
        assert!(!verify(&c, &[head(&other, &c[4])], Some(&s.public_key_hex())).ok(), "untrusted signer");
    }

    #[test]
    fn old_entries_without_a_covering_head_are_found() {
        let s = HeadSigner::from_seed([1; 32]);
        let c = chain(5);
        let uncovered = |heads: &[SignedHead], cutoff| verify_covered(&c, heads, None, Some(cutoff)).problems;
        assert!(uncovered(&[head(&s, &c[4])], 1_000).is_empty());
        assert!(uncovered(&[head(&s, &c[1])], 25).is_empty(), "entries 3 to 5 are younger than the cutoff");
        assert_eq!(uncovered(&[head(&s, &c[1])], 1_000).len(), 1, "entries 3 to 5 are old and unsigned");
        assert_eq!(uncovered(&[], 1_000).len(), 1, "every head deleted");
    }
}
