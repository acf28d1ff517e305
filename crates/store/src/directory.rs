//! A tenant's agents (their YAML specs, checked by the caller before storing) and phone numbers
//! (E.164, each routed to one agent of its tenant). A number belongs to one tenant across the
//! installation; [`PlatformScope::routes`] gives the SIP layer the whole table.

use sqlx::Row;

use crate::agent_versions::AgentChange;
use crate::{conflict_or, PlatformScope, StoreError, TenantScope};

/// A stored agent.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct StoredAgent {
    /// Tenant.
    pub tenant_id: String,
    /// Name (`[a-z0-9][a-z0-9-]{0,62}`), unique within the tenant.
    pub name: String,
    /// The agent's YAML spec.
    pub spec: String,
    /// Creation time, unix ms.
    pub created_ms: i64,
    /// Last change, unix ms.
    pub updated_ms: i64,
    /// The current version (see [`crate::agent_versions`]).
    pub version: i64,
}

/// A phone number and the agent that answers it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PhoneNumber {
    /// E.164, `+` and 7 to 15 digits.
    pub number: String,
    /// Tenant.
    pub tenant_id: String,
    /// The agent answering.
    pub agent: String,
    /// Creation time, unix ms.
    pub created_ms: i64,
}

/// One routing entry: a number, its tenant, and the agent's spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// E.164 number.
    pub number: String,
    /// Tenant.
    pub tenant_id: String,
    /// Agent name.
    pub agent: String,
    /// Agent spec (YAML).
    pub spec: String,
}

/// Checks an E.164 number: `+`, a non-zero digit, 7 to 15 digits in all.
pub fn check_number(n: &str) -> Result<(), StoreError> {
    let digits = n.strip_prefix('+').unwrap_or("");
    if (7..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0') {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!("{n:?} is not an E.164 number (+ and 7 to 15 digits)")))
    }
}

/// Normalises a dialled number as it arrives in a Request-URI, To or Diversion user part
/// (`+1 (555) 010-2000`, `15550102000`, `tel:+1-555...`) to E.164, if it is one.
pub fn normalize_dialled(user: &str) -> Option<String> {
    let user = user.strip_prefix("tel:").unwrap_or(user);
    let user = user.split(';').next().unwrap_or("");
    let digits: String = user.chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')')).collect();
    let n = if digits.starts_with('+') { digits } else { format!("+{digits}") };
    check_number(&n).ok().map(|_| n)
}

/// An agent with its current version.
const SELECT_AGENT: &str = "SELECT a.tenant_id, a.name, a.spec, a.created_ms, a.updated_ms, \
     (SELECT COALESCE(MAX(v.version), 0) FROM agent_versions v WHERE v.tenant_id = a.tenant_id AND v.name = a.name) AS version FROM agents a";

fn agent_of(r: &sqlx::any::AnyRow) -> Result<StoredAgent, StoreError> {
    Ok(StoredAgent {
        tenant_id: r.try_get("tenant_id")?,
        name: r.try_get("name")?,
        spec: r.try_get("spec")?,
        created_ms: r.try_get("created_ms")?,
        updated_ms: r.try_get("updated_ms")?,
        version: r.try_get("version")?,
    })
}

fn number_of(r: &sqlx::any::AnyRow) -> Result<PhoneNumber, StoreError> {
    Ok(PhoneNumber { number: r.try_get("number")?, tenant_id: r.try_get("tenant_id")?, agent: r.try_get("agent")?, created_ms: r.try_get("created_ms")? })
}

impl TenantScope {
    /// Creates or replaces an agent's spec, kept as its next version; a spec the same as the
    /// current one changes nothing.
    pub async fn put_agent(&self, name: &str, spec: &str, change: &AgentChange<'_>, now_ms: i64) -> Result<StoredAgent, StoreError> {
        crate::tenants::check_id(name).map_err(|_| StoreError::Invalid("agent names are 1 to 63 of a-z 0-9 -".into()))?;
        let mut tx = self.begin().await?;
        let current = sqlx::query(&format!("{SELECT_AGENT} WHERE a.tenant_id = $1 AND a.name = $2")).bind(self.id()).bind(name).fetch_optional(&mut *tx).await?;
        if let Some(current) = current.as_ref().map(agent_of).transpose()? {
            if current.spec == spec {
                tx.commit().await?;
                return Ok(current);
            }
        }
        sqlx::query(
            "INSERT INTO agents (tenant_id, name, spec, created_ms, updated_ms) VALUES ($1, $2, $3, $4, $4) \
             ON CONFLICT (tenant_id, name) DO UPDATE SET spec = excluded.spec, updated_ms = excluded.updated_ms",
        )
        .bind(self.id())
        .bind(name)
        .bind(spec)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        crate::agent_versions::append(&mut tx, self.id(), name, spec, change, now_ms).await?;
        let row = sqlx::query(&format!("{SELECT_AGENT} WHERE a.tenant_id = $1 AND a.name = $2")).bind(self.id()).bind(name).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        agent_of(&row)
    }

    /// One agent.
    pub async fn get_agent(&self, name: &str) -> Result<StoredAgent, StoreError> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(&format!("{SELECT_AGENT} WHERE a.tenant_id = $1 AND a.name = $2"))
            .bind(self.id())
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        agent_of(&row.ok_or(StoreError::NotFound)?)
    }

    /// This tenant's agents, by name.
    pub async fn list_agents(&self) -> Result<Vec<StoredAgent>, StoreError> {
        let mut tx = self.begin().await?;
        let rows = sqlx::query(&format!("{SELECT_AGENT} WHERE a.tenant_id = $1 ORDER BY a.name"))
            .bind(self.id())
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        rows.iter().map(agent_of).collect()
    }

    /// Deletes an agent; `Conflict` while a number still routes to it.
    pub async fn delete_agent(&self, name: &str) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let used = sqlx::query("SELECT number FROM phone_numbers WHERE tenant_id = $1 AND agent = $2").bind(self.id()).bind(name).fetch_optional(&mut *tx).await?;
        if used.is_some() {
            return Err(StoreError::Conflict);
        }
        crate::agent_versions::delete_all(&mut tx, self.id(), name).await?;
        let n = sqlx::query("DELETE FROM agents WHERE tenant_id = $1 AND name = $2").bind(self.id()).bind(name).execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    /// Assigns a number to this tenant, answered by `agent` (which must exist). `Conflict` if
    /// the number is already assigned (here or to another tenant).
    pub async fn add_number(&self, number: &str, agent: &str, now_ms: i64) -> Result<PhoneNumber, StoreError> {
        check_number(number)?;
        self.get_agent(agent).await.map_err(|e| match e {
            StoreError::NotFound => StoreError::Invalid(format!("no agent {agent:?}")),
            e => e,
        })?;
        let mut tx = self.begin().await?;
        sqlx::query("INSERT INTO phone_numbers (number, tenant_id, agent, created_ms) VALUES ($1, $2, $3, $4)")
            .bind(number)
            .bind(self.id())
            .bind(agent)
            .bind(now_ms)
            .execute(&mut *tx)
            .await
            .map_err(conflict_or)?;
        tx.commit().await?;
        Ok(PhoneNumber { number: number.into(), tenant_id: self.id().into(), agent: agent.into(), created_ms: now_ms })
    }

    /// This tenant's numbers.
    pub async fn list_numbers(&self) -> Result<Vec<PhoneNumber>, StoreError> {
        let mut tx = self.begin().await?;
        let rows = sqlx::query("SELECT number, tenant_id, agent, created_ms FROM phone_numbers WHERE tenant_id = $1 ORDER BY number")
            .bind(self.id())
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        rows.iter().map(number_of).collect()
    }

    /// Releases a number.
    pub async fn delete_number(&self, number: &str) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let n = sqlx::query("DELETE FROM phone_numbers WHERE tenant_id = $1 AND number = $2").bind(self.id()).bind(number).execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }
}

impl PlatformScope {
    /// Every number with its tenant and agent spec: the SIP layer's routing table.
    pub async fn routes(&self) -> Result<Vec<Route>, StoreError> {
        let mut tx = self.begin().await?;
        let rows = sqlx::query(
            "SELECT n.number, n.tenant_id, n.agent, a.spec FROM phone_numbers n \
             JOIN agents a ON a.tenant_id = n.tenant_id AND a.name = n.agent ORDER BY n.number",
        )
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.iter()
            .map(|r| Ok(Route { number: r.try_get("number")?, tenant_id: r.try_get("tenant_id")?, agent: r.try_get("agent")?, spec: r.try_get("spec")? }))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_e164() {
        assert!(check_number("+15550102000").is_ok());
        for bad in ["15550102000", "+0555010", "+1555", "+1234567890123456", "+1555-0102", ""] {
            assert!(check_number(bad).is_err(), "{bad:?}");
        }
        assert_eq!(normalize_dialled("+1 (555) 010-2000").as_deref(), Some("+15550102000"));
        assert_eq!(normalize_dialled("15550102000").as_deref(), Some("+15550102000"));
        assert_eq!(normalize_dialled("tel:+1-555-010-2000;phone-context=x").as_deref(), Some("+15550102000"));
        assert_eq!(normalize_dialled("demo"), None);
    }
}
