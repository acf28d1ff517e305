//! A tenant's integrations (an order system, a calendar, a mail server, a provider account):
//! settings in clear, the secret (token, password) sealed with [`crate::crypto`] under a data key
//! of its own, bound to the tenant and the integration id. Reads never return the secret; only
//! [`TenantScope::integration_secret`], for the code that calls the integration, opens it.

use secrecy::{ExposeSecret, SecretString};
use sqlx::Row;

use crate::crypto::{MasterKey, Sealed};
use crate::{conflict_or, StoreError, TenantScope};

pub(crate) const KIND: &str = "integration";

/// The integrations Parley knows.
pub const INTEGRATION_KINDS: &[&str] = &["shopify", "caldav", "smtp", "webhook", "zendesk", "openai", "deepgram", "elevenlabs", "stripe", "twilio", "hubspot", "http", "google_calendar"];

/// An integration as the API shows it: never the secret.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Integration {
    /// Integration id.
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// One of [`INTEGRATION_KINDS`].
    pub kind: String,
    /// Label, unique within the tenant.
    pub name: String,
    /// Non-secret settings (a JSON object: shop domain, server URL, user name).
    pub config: serde_json::Value,
    /// Creation time, unix ms.
    pub created_ms: i64,
    /// Last change, unix ms.
    pub updated_ms: i64,
}

fn check(kind: &str, name: &str, config: &serde_json::Value, secret: &SecretString) -> Result<(), StoreError> {
    if !INTEGRATION_KINDS.contains(&kind) {
        return Err(StoreError::Invalid(format!("unknown integration kind {kind:?}")));
    }
    crate::label::check("name", name, 100, true)?;
    if !config.is_object() || config.to_string().len() > 8192 {
        return Err(StoreError::Invalid("config must be a JSON object of at most 8 KiB".into()));
    }
    let s = secret.expose_secret();
    if s.is_empty() || s.len() > 4096 {
        return Err(StoreError::Invalid("secret must be 1 to 4096 bytes".into()));
    }
    Ok(())
}

fn integration_of(r: &sqlx::any::AnyRow) -> Result<Integration, StoreError> {
    let config: String = r.try_get("config")?;
    Ok(Integration {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        kind: r.try_get("kind")?,
        name: r.try_get("name")?,
        config: serde_json::from_str(&config).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        created_ms: r.try_get("created_ms")?,
        updated_ms: r.try_get("updated_ms")?,
    })
}

const COLUMNS: &str = "id, tenant_id, kind, name, config, created_ms, updated_ms";

impl TenantScope {
    /// Adds an integration, sealing its secret.
    pub async fn add_integration(
        &self,
        master: &MasterKey,
        kind: &str,
        name: &str,
        config: &serde_json::Value,
        secret: &SecretString,
        now_ms: i64,
    ) -> Result<Integration, StoreError> {
        check(kind, name, config, secret)?;
        let id = hex::encode(rand::random::<[u8; 8]>());
        let sealed = self.seal(master, KIND, &id, secret.expose_secret().as_bytes(), now_ms).await?;
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO integrations (id, tenant_id, kind, name, config, key_version, wrapped_key, ciphertext, created_ms, updated_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
        )
        .bind(&id)
        .bind(self.id())
        .bind(kind)
        .bind(name)
        .bind(config.to_string())
        .bind(sealed.key_version)
        .bind(sealed.wrapped_key)
        .bind(sealed.ciphertext)
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(conflict_or)?;
        tx.commit().await?;
        Ok(Integration { id, tenant_id: self.id().into(), kind: kind.into(), name: name.into(), config: config.clone(), created_ms: now_ms, updated_ms: now_ms })
    }

    /// This tenant's integrations, by name.
    pub async fn list_integrations(&self) -> Result<Vec<Integration>, StoreError> {
        let mut tx = self.begin().await?;
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM integrations WHERE tenant_id = $1 ORDER BY name")).bind(self.id()).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        rows.iter().map(integration_of).collect()
    }

    /// One integration (without its secret).
    pub async fn get_integration(&self, id: &str) -> Result<Integration, StoreError> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM integrations WHERE tenant_id = $1 AND id = $2"))
            .bind(self.id())
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        integration_of(&row.ok_or(StoreError::NotFound)?)
    }

    /// Opens an integration's secret, for the code that calls the integration.
    pub async fn integration_secret(&self, master: &MasterKey, id: &str) -> Result<SecretString, StoreError> {
        let mut tx = self.begin().await?;
        let row = sqlx::query("SELECT key_version, wrapped_key, ciphertext FROM integrations WHERE tenant_id = $1 AND id = $2")
            .bind(self.id())
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        let sealed = Sealed::from_row(&row)?;
        let plain = self.open(master, KIND, id, &sealed).await?;
        let text = std::str::from_utf8(&plain).map_err(|_| StoreError::Corrupt("integration secret".into()))?;
        Ok(SecretString::from(text.to_string()))
    }

    /// Deletes an integration; its sealed secret and wrapped data key go with the row.
    pub async fn delete_integration(&self, id: &str) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let n = sqlx::query("DELETE FROM integrations WHERE tenant_id = $1 AND id = $2").bind(self.id()).bind(id).execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }
}
