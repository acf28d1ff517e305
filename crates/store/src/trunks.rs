//! SIP trunks: where a tenant's calls may come from. A trunk admits calls from source addresses
//! in its CIDR allow-list, and/or calls that answer a digest challenge with its username and
//! password; the password is sealed with [`crate::crypto`] under the tenant key, and only
//! [`PlatformScope::trunk_access`], for the SIP layer, opens it. Usernames are unique within a
//! tenant (the dialled number picks the tenant before credentials are checked).

use std::net::IpAddr;

use secrecy::{ExposeSecret, SecretString};
use sqlx::Row;

use crate::crypto::{MasterKey, Sealed};
use crate::{conflict_or, PlatformScope, StoreError, TenantScope};

pub(crate) const KIND: &str = "trunk";

/// An IP network (`203.0.113.0/24`, `2001:db8::/32`, or one address).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/n`, `x::y/n` or a bare address; host bits must be zero.
    pub fn parse(text: &str) -> Result<Cidr, StoreError> {
        let bad = || StoreError::Invalid(format!("{text:?} is not an IP network (203.0.113.0/24)"));
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().map_err(|_| bad())?, Some(p.parse::<u8>().map_err(|_| bad())?)),
            None => (text.parse::<IpAddr>().map_err(|_| bad())?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(bad());
        }
        let cidr = Cidr { net: addr, prefix };
        if !cidr.contains(addr) || cidr.masked(addr) != addr {
            return Err(StoreError::Invalid(format!("{text:?} has host bits set")));
        }
        Ok(cidr)
    }

    fn masked(&self, ip: IpAddr) -> IpAddr {
        match ip {
            IpAddr::V4(v) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                IpAddr::V4((u32::from(v) & mask).into())
            }
            IpAddr::V6(v) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                IpAddr::V6((u128::from(v) & mask).into())
            }
        }
    }

    /// Whether `ip` is in the network (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v) => v.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        ip.is_ipv4() == self.net.is_ipv4() && self.masked(ip) == self.net
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.net, self.prefix)
    }
}

/// A trunk as the API shows it: never the password.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Trunk {
    /// Id.
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// Label, unique within the tenant.
    pub name: String,
    /// Source networks admitted without credentials.
    pub allowed_ips: Vec<String>,
    /// Digest user name, if the trunk authenticates.
    pub username: Option<String>,
    /// Creation time, unix ms.
    pub created_ms: i64,
}

/// A trunk as the SIP layer needs it.
#[derive(Clone, Debug)]
pub struct TrunkAccess {
    /// Tenant.
    pub tenant_id: String,
    /// Trunk name (for call records).
    pub name: String,
    /// Source networks admitted without credentials.
    pub allowed: Vec<Cidr>,
    /// Digest user name and password.
    pub credentials: Option<(String, SecretString)>,
}

fn check(name: &str, allowed_ips: &[String], credentials: Option<(&str, &SecretString)>) -> Result<(), StoreError> {
    if name.trim().is_empty() || name.len() > 100 {
        return Err(StoreError::Invalid("name must be 1 to 100 bytes".into()));
    }
    if allowed_ips.len() > 100 {
        return Err(StoreError::Invalid("at most 100 networks".into()));
    }
    for ip in allowed_ips {
        Cidr::parse(ip)?;
    }
    match credentials {
        None if allowed_ips.is_empty() => Err(StoreError::Invalid("a trunk needs allowed_ips, or a username and password".into())),
        Some((user, _)) if user.is_empty() || user.len() > 100 || !user.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\') => {
            Err(StoreError::Invalid("username must be 1 to 100 printable characters without quotes".into()))
        }
        Some((_, pw)) if pw.expose_secret().len() < 12 || pw.expose_secret().len() > 200 => {
            Err(StoreError::Invalid("password must be 12 to 200 bytes".into()))
        }
        _ => Ok(()),
    }
}

fn trunk_of(r: &sqlx::any::AnyRow) -> Result<Trunk, StoreError> {
    let ips: String = r.try_get("allowed_ips")?;
    Ok(Trunk {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        name: r.try_get("name")?,
        allowed_ips: serde_json::from_str(&ips).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        username: r.try_get("username")?,
        created_ms: r.try_get("created_ms")?,
    })
}

const COLUMNS: &str = "id, tenant_id, name, allowed_ips, username, created_ms";

impl TenantScope {
    /// Adds a trunk; `credentials` (username, password) make it answer digest challenges.
    pub async fn add_trunk(&self, master: &MasterKey, name: &str, allowed_ips: &[String], credentials: Option<(&str, &SecretString)>, now_ms: i64) -> Result<Trunk, StoreError> {
        check(name, allowed_ips, credentials)?;
        let allowed: Vec<String> = allowed_ips.iter().map(|ip| Cidr::parse(ip).map(|c| c.to_string())).collect::<Result<_, _>>()?;
        let id = hex::encode(rand::random::<[u8; 8]>());
        let sealed = match credentials {
            Some((_, pw)) => Some(self.seal(master, KIND, &id, pw.expose_secret().as_bytes(), now_ms).await?),
            None => None,
        };
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO trunks (id, tenant_id, name, allowed_ips, username, key_version, wrapped_key, ciphertext, created_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&id)
        .bind(self.id())
        .bind(name)
        .bind(serde_json::to_string(&allowed).map_err(|e| StoreError::Corrupt(e.to_string()))?)
        .bind(credentials.map(|(u, _)| u.to_string()))
        .bind(sealed.as_ref().map(|s| s.key_version))
        .bind(sealed.as_ref().map(|s| s.wrapped_key.clone()))
        .bind(sealed.map(|s| s.ciphertext))
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(conflict_or)?;
        tx.commit().await?;
        let username = credentials.map(|(u, _)| u.to_string());
        Ok(Trunk { id, tenant_id: self.id().into(), name: name.into(), allowed_ips: allowed, username, created_ms: now_ms })
    }

    /// This tenant's trunks, by name.
    pub async fn list_trunks(&self) -> Result<Vec<Trunk>, StoreError> {
        let mut tx = self.begin().await?;
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM trunks WHERE tenant_id = $1 ORDER BY name")).bind(self.id()).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        rows.iter().map(trunk_of).collect()
    }

    /// Deletes a trunk (and its sealed password with the row).
    pub async fn delete_trunk(&self, id: &str) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let n = sqlx::query("DELETE FROM trunks WHERE tenant_id = $1 AND id = $2").bind(self.id()).bind(id).execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}

impl PlatformScope {
    /// Every trunk with its networks and opened credentials, for the SIP layer.
    pub async fn trunk_access(&self, master: &MasterKey) -> Result<Vec<TrunkAccess>, StoreError> {
        let mut tx = self.begin().await?;
        let rows = sqlx::query("SELECT id, tenant_id, name, allowed_ips, username, key_version, wrapped_key, ciphertext FROM trunks ORDER BY tenant_id, name")
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let tenant_id: String = r.try_get("tenant_id")?;
            let id: String = r.try_get("id")?;
            let ips: String = r.try_get("allowed_ips")?;
            let ips: Vec<String> = serde_json::from_str(&ips).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let username: Option<String> = r.try_get("username")?;
            let credentials = match username {
                Some(user) => {
                    let sealed = Sealed::from_row(r)?;
                    let plain = self.store.tenant(&tenant_id)?.open(master, KIND, &id, &sealed).await?;
                    let text = std::str::from_utf8(&plain).map_err(|_| StoreError::Corrupt("trunk password".into()))?;
                    Some((user, SecretString::from(text.to_string())))
                }
                None => None,
            };
            out.push(TrunkAccess {
                tenant_id,
                name: r.try_get("name")?,
                allowed: ips.iter().map(|ip| Cidr::parse(ip)).collect::<Result<_, _>>()?,
                credentials,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_parse_and_match() {
        let net = Cidr::parse("203.0.113.0/24").unwrap();
        assert!(net.contains("203.0.113.77".parse().unwrap()));
        assert!(!net.contains("203.0.114.1".parse().unwrap()));
        assert!(net.contains("::ffff:203.0.113.5".parse().unwrap()), "IPv4-mapped");
        assert!(Cidr::parse("127.0.0.1").unwrap().contains("127.0.0.1".parse().unwrap()));
        assert!(!Cidr::parse("127.0.0.1").unwrap().contains("127.0.0.2".parse().unwrap()));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains("8.8.8.8".parse().unwrap()));
        assert!(Cidr::parse("2001:db8::/32").unwrap().contains("2001:db8:1::9".parse().unwrap()));
        for bad in ["203.0.113.1/24", "10.0.0.0/33", "example.com", "10.0.0.0/", ""] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }
}
