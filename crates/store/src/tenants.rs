//! Tenants: the unit of isolation. Ids are 1 to 63 of `a-z 0-9 -`, starting with a letter or
//! digit (so `_platform`, the audit chain of operator actions, can never be one).

use sqlx::Row;

use crate::{conflict_or, PlatformScope, StoreError, TenantScope};

/// A tenant.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Tenant {
    /// Id (also its RLS key).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Creation time, unix ms.
    pub created_ms: i64,
}

/// Checks the shape of a tenant id.
pub fn check_id(id: &str) -> Result<(), StoreError> {
    let b = id.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-');
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidTenantId(id.to_string()))
    }
}

fn tenant_of(r: &sqlx::any::AnyRow) -> Result<Tenant, StoreError> {
    Ok(Tenant { id: r.try_get("id")?, name: r.try_get("name")?, created_ms: r.try_get("created_ms")? })
}

impl PlatformScope {
    /// Creates a tenant; [`StoreError::Conflict`] if the id is taken.
    pub async fn create_tenant(&self, id: &str, name: &str, now_ms: i64) -> Result<Tenant, StoreError> {
        check_id(id)?;
        crate::label::check("name", name, 200, false)?;
        let mut tx = self.begin().await?;
        sqlx::query("INSERT INTO tenants (id, name, created_ms) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(name)
            .bind(now_ms)
            .execute(&mut *tx)
            .await
            .map_err(conflict_or)?;
        tx.commit().await?;
        Ok(Tenant { id: id.into(), name: name.into(), created_ms: now_ms })
    }

    /// Creates a tenant unless it exists.
    pub async fn ensure_tenant(&self, id: &str, name: &str, now_ms: i64) -> Result<(), StoreError> {
        match self.create_tenant(id, name, now_ms).await {
            Ok(_) | Err(StoreError::Conflict) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// All tenants, by id.
    pub async fn list_tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        let mut tx = self.begin().await?;
        let rows = sqlx::query("SELECT id, name, created_ms FROM tenants ORDER BY id").fetch_all(&mut *tx).await?;
        tx.commit().await?;
        rows.iter().map(tenant_of).collect()
    }
}

impl TenantScope {
    /// This tenant's row.
    pub async fn get(&self) -> Result<Tenant, StoreError> {
        let mut tx = self.begin().await?;
        let row = sqlx::query("SELECT id, name, created_ms FROM tenants WHERE id = $1")
            .bind(self.id())
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        row.as_ref().map(tenant_of).transpose()?.ok_or(StoreError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids_are_checked() {
        assert!(check_id("acme").is_ok());
        assert!(check_id("a-1").is_ok());
        for bad in ["", "_platform", "Acme", "-a", "a b", "é", &"a".repeat(64)] {
            assert!(check_id(bad).is_err(), "{bad:?}");
        }
    }
}
