//! API keys: `pk_<id>_<secret>`, shown once when issued and stored only as the SHA-256 of the
//! secret (the secret is 256 random bits, so a fast hash is enough; passwords use argon2).
//! Each key carries one [`Role`]; operator keys (`platform-admin`) belong to no tenant.

use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use sqlx::Row;
use subtle::ConstantTimeEq;

use crate::{PlatformScope, StoreError, TenantScope};

/// What a key may do. Tenant roles rank viewer < agent-editor < admin < owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Reads call metadata, agents, policies.
    Viewer,
    /// Viewer, plus edits agents.
    AgentEditor,
    /// Agent editor, plus manages keys (up to admin), numbers, integrations and policies.
    Admin,
    /// Everything within the tenant, including owner keys and data-subject deletions.
    Owner,
    /// Operator: creates tenants and acts on any tenant.
    PlatformAdmin,
}

impl Role {
    /// The wire name (`agent-editor`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::AgentEditor => "agent-editor",
            Role::Admin => "admin",
            Role::Owner => "owner",
            Role::PlatformAdmin => "platform-admin",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Role> {
        [Role::Viewer, Role::AgentEditor, Role::Admin, Role::Owner, Role::PlatformAdmin].into_iter().find(|r| r.as_str() == s)
    }

    /// Whether this role includes everything `other` may do.
    pub fn includes(self, other: Role) -> bool {
        self >= other
    }
}

/// A stored key (without its secret).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ApiKey {
    /// Public id (the part after `pk_`).
    pub id: String,
    /// Tenant, or none for an operator key.
    pub tenant_id: Option<String>,
    /// Role.
    pub role: Role,
    /// Label.
    pub name: String,
    /// Creation time, unix ms.
    pub created_ms: i64,
    /// Revocation time, unix ms.
    pub revoked_ms: Option<i64>,
}

/// A key just issued: the only time its secret exists outside the caller's hands.
pub struct IssuedKey {
    /// The stored part.
    pub key: ApiKey,
    /// The bearer token `pk_<id>_<secret>`.
    pub token: SecretString,
}

/// A new bearer token `<prefix>_<16 hex id>_<secret>`: returns the token, the id, and the
/// SHA-256 of the secret (what is stored; the secret is 256 random bits, so a fast hash is enough).
pub(crate) fn new_token(prefix: &str) -> (String, String, String) {
    let id = hex::encode(rand::random::<[u8; 8]>());
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let digest = hex::encode(Sha256::digest(secret.as_bytes()));
    (format!("{prefix}_{id}_{secret}"), id, digest)
}

/// Splits a token made by [`new_token`] into its id and the digest of its secret.
pub(crate) fn split_token(prefix: &str, token: &str) -> Option<(String, String)> {
    let rest = token.strip_prefix(prefix)?.strip_prefix('_')?;
    let (id, secret) = rest.split_once('_')?;
    if id.len() != 16 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some((id.to_string(), hex::encode(Sha256::digest(secret.as_bytes()))))
}

/// Compares two digests in constant time.
pub(crate) fn digest_eq(stored: &str, given: &str) -> bool {
    bool::from(stored.as_bytes().ct_eq(given.as_bytes()))
}

fn key_of(r: &sqlx::any::AnyRow) -> Result<ApiKey, StoreError> {
    let role: String = r.try_get("role")?;
    Ok(ApiKey {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role {role:?}")))?,
        name: r.try_get("name")?,
        created_ms: r.try_get("created_ms")?,
        revoked_ms: r.try_get("revoked_ms")?,
    })
}

async fn insert(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    tenant_id: Option<&str>,
    role: Role,
    name: &str,
    now_ms: i64,
) -> Result<IssuedKey, StoreError> {
    let (token, id, digest) = new_token("pk");
    sqlx::query("INSERT INTO api_keys (id, tenant_id, role, name, secret_sha256, created_ms) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(&id)
        .bind(tenant_id)
        .bind(role.as_str())
        .bind(name)
        .bind(digest)
        .bind(now_ms)
        .execute(&mut **tx)
        .await?;
    let key = ApiKey { id, tenant_id: tenant_id.map(str::to_string), role, name: name.into(), created_ms: now_ms, revoked_ms: None };
    Ok(IssuedKey { key, token: SecretString::from(token) })
}

impl PlatformScope {
    /// Issues an operator key (`platform-admin`, no tenant).
    pub async fn create_operator_key(&self, name: &str, now_ms: i64) -> Result<IssuedKey, StoreError> {
        let mut tx = self.begin().await?;
        let issued = insert(&mut tx, None, Role::PlatformAdmin, name, now_ms).await?;
        tx.commit().await?;
        Ok(issued)
    }

    /// The key a bearer token names, if the token is genuine and the key not revoked.
    pub async fn authenticate(&self, token: &SecretString) -> Result<Option<ApiKey>, StoreError> {
        let Some((id, given)) = split_token("pk", token.expose_secret()) else { return Ok(None) };
        let mut tx = self.begin().await?;
        let row = sqlx::query("SELECT id, tenant_id, role, name, secret_sha256, created_ms, revoked_ms FROM api_keys WHERE id = $1")
            .bind(&id)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        let Some(row) = row else { return Ok(None) };
        let stored: String = row.try_get("secret_sha256")?;
        if !digest_eq(&stored, &given) {
            return Ok(None);
        }
        let key = key_of(&row)?;
        Ok(if key.revoked_ms.is_some() { None } else { Some(key) })
    }
}

impl TenantScope {
    /// Issues a key of this tenant with a tenant role.
    pub async fn create_key(&self, role: Role, name: &str, now_ms: i64) -> Result<IssuedKey, StoreError> {
        if role == Role::PlatformAdmin {
            return Err(StoreError::Invalid("platform-admin keys belong to no tenant".into()));
        }
        let mut tx = self.begin().await?;
        let issued = insert(&mut tx, Some(self.id()), role, name, now_ms).await?;
        tx.commit().await?;
        Ok(issued)
    }

    /// This tenant's keys, oldest first.
    pub async fn list_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        let mut tx = self.begin().await?;
        let rows = sqlx::query("SELECT id, tenant_id, role, name, created_ms, revoked_ms FROM api_keys WHERE tenant_id = $1 ORDER BY created_ms, id")
            .bind(self.id())
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        rows.iter().map(key_of).collect()
    }

    /// One of this tenant's keys.
    pub async fn get_key(&self, id: &str) -> Result<ApiKey, StoreError> {
        let mut tx = self.begin().await?;
        let row = sqlx::query("SELECT id, tenant_id, role, name, created_ms, revoked_ms FROM api_keys WHERE tenant_id = $1 AND id = $2")
            .bind(self.id())
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        row.as_ref().map(key_of).transpose()?.ok_or(StoreError::NotFound)
    }

    /// Revokes one of this tenant's keys.
    pub async fn revoke_key(&self, id: &str, now_ms: i64) -> Result<ApiKey, StoreError> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "UPDATE api_keys SET revoked_ms = COALESCE(revoked_ms, $1) WHERE tenant_id = $2 AND id = $3 \
             RETURNING id, tenant_id, role, name, created_ms, revoked_ms",
        )
        .bind(now_ms)
        .bind(self.id())
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        row.as_ref().map(key_of).transpose()?.ok_or(StoreError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_rank_and_round_trip() {
        for r in [Role::Viewer, Role::AgentEditor, Role::Admin, Role::Owner, Role::PlatformAdmin] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert!(Role::Owner.includes(Role::Admin));
        assert!(!Role::Viewer.includes(Role::AgentEditor));
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn tokens_have_the_documented_shape() {
        let (token, id, digest) = new_token("pk");
        assert!(token.starts_with(&format!("pk_{id}_")));
        assert_eq!(id.len(), 16);
        assert_eq!(digest.len(), 64);
        assert!(!token.contains(&digest));
    }
}
