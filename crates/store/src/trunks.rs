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
    /// Parses `a.b.c.d/n`, `x::y/n` or a bare address; host bits are cleared (`10.0.0.1/8` is
    /// `10.0.0.0/8`).
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
        Ok(Cidr { net: cidr.masked(addr), prefix })
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
    /// Digest algorithms the trunk's peer may answer with, in challenge order.
    pub digest_algorithms: Vec<String>,
    /// New SIP requests per second its networks may send (`None`: the installation default).
    pub requests_per_second: Option<u32>,
    /// Creation time, unix ms.
    pub created_ms: i64,
}

/// The digest algorithms a trunk may use (RFC 8760 names).
pub const DIGEST_ALGORITHMS: &[&str] = &["SHA-256", "MD5"];

/// A trunk to add.
#[derive(Clone, Copy, Debug)]
pub struct NewTrunk<'a> {
    /// Label, unique within the tenant.
    pub name: &'a str,
    /// Source networks admitted without credentials.
    pub allowed_ips: &'a [String],
    /// Digest user name and password.
    pub credentials: Option<(&'a str, &'a SecretString)>,
    /// Digest algorithms in challenge order (a subset of [`DIGEST_ALGORITHMS`]); empty: both,
    /// SHA-256 first. Old peers that read only the first challenge (sipp 3.6) want `["MD5"]`.
    pub digest_algorithms: &'a [String],
    /// New SIP requests per second its networks may send, 1 to 100000 (`None`: the
    /// installation default).
    pub requests_per_second: Option<u32>,
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
    /// Digest algorithms in challenge order.
    pub digest_algorithms: Vec<String>,
    /// New SIP requests per second its networks may send (`None`: the installation default).
    pub requests_per_second: Option<u32>,
}

fn check_algorithms(algorithms: &[String]) -> Result<Vec<String>, StoreError> {
    if algorithms.is_empty() {
        return Ok(DIGEST_ALGORITHMS.iter().map(|a| a.to_string()).collect());
    }
    let mut out: Vec<String> = Vec::new();
    for a in algorithms {
        let known = DIGEST_ALGORITHMS.iter().find(|k| k.eq_ignore_ascii_case(a)).ok_or_else(|| StoreError::Invalid(format!("unknown digest algorithm {a:?} (SHA-256, MD5)")))?;
        if !out.iter().any(|o| o == known) {
            out.push(known.to_string());
        }
    }
    Ok(out)
}

fn check(name: &str, allowed_ips: &[String], credentials: Option<(&str, &SecretString)>) -> Result<(), StoreError> {
    crate::label::check("name", name, 100, true)?;
    if allowed_ips.len() > 100 {
        return Err(StoreError::Invalid("at most 100 networks".into()));
    }
    for ip in allowed_ips {
        Cidr::parse(ip)?;
    }
    match credentials {
        Some((user, _)) if user.is_empty() || user.len() > 100 || !user.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\') => {
            Err(StoreError::Invalid("username must be 1 to 100 printable characters without quotes".into()))
        }
        Some((_, pw)) if pw.expose_secret().chars().count() < 12 || pw.expose_secret().chars().count() > 200 => {
            Err(StoreError::Invalid("password must be 12 to 200 characters".into()))
        }
        _ => Ok(()),
    }
}

fn json_list(r: &sqlx::any::AnyRow, column: &str) -> Result<Vec<String>, StoreError> {
    let text: String = r.try_get(column)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn trunk_of(r: &sqlx::any::AnyRow) -> Result<Trunk, StoreError> {
    Ok(Trunk {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        name: r.try_get("name")?,
        allowed_ips: json_list(r, "allowed_ips")?,
        username: r.try_get("username")?,
        digest_algorithms: json_list(r, "digest_algorithms")?,
        requests_per_second: rate_of(r)?,
        created_ms: r.try_get("created_ms")?,
    })
}

fn rate_of(r: &sqlx::any::AnyRow) -> Result<Option<u32>, StoreError> {
    let v: Option<i64> = r.try_get("requests_per_second")?;
    v.map(|n| u32::try_from(n).map_err(|_| StoreError::Corrupt("trunk rate".into()))).transpose()
}

const COLUMNS: &str = "id, tenant_id, name, allowed_ips, username, digest_algorithms, requests_per_second, created_ms";

impl TenantScope {
    /// Adds a trunk; credentials (username, password) make it answer digest challenges.
    pub async fn add_trunk(&self, master: &MasterKey, new: &NewTrunk<'_>, now_ms: i64) -> Result<Trunk, StoreError> {
        let NewTrunk { name, allowed_ips, credentials, digest_algorithms, requests_per_second } = *new;
        check(name, allowed_ips, credentials)?;
        if requests_per_second.is_some_and(|n| !(1..=100_000).contains(&n)) {
            return Err(StoreError::Invalid("requests_per_second must be 1 to 100000".into()));
        }
        let algorithms = check_algorithms(digest_algorithms)?;
        let allowed: Vec<String> = allowed_ips.iter().map(|ip| Cidr::parse(ip).map(|c| c.to_string())).collect::<Result<_, _>>()?;
        let id = hex::encode(rand::random::<[u8; 8]>());
        let sealed = match credentials {
            Some((_, pw)) => Some(self.seal(master, KIND, &id, pw.expose_secret().as_bytes(), now_ms).await?),
            None => None,
        };
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO trunks (id, tenant_id, name, allowed_ips, username, key_version, wrapped_key, ciphertext, created_ms, digest_algorithms, requests_per_second) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
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
        .bind(serde_json::to_string(&algorithms).map_err(|e| StoreError::Corrupt(e.to_string()))?)
        .bind(requests_per_second.map(i64::from))
        .execute(&mut *tx)
        .await
        .map_err(conflict_or)?;
        tx.commit().await?;
        let username = credentials.map(|(u, _)| u.to_string());
        Ok(Trunk { id, tenant_id: self.id().into(), name: name.into(), allowed_ips: allowed, username, digest_algorithms: algorithms, requests_per_second, created_ms: now_ms })
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
        let rows = sqlx::query("SELECT id, tenant_id, name, allowed_ips, username, digest_algorithms, requests_per_second, key_version, wrapped_key, ciphertext FROM trunks ORDER BY tenant_id, name")
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let tenant_id: String = r.try_get("tenant_id")?;
            let id: String = r.try_get("id")?;
            let ips = json_list(r, "allowed_ips")?;
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
                digest_algorithms: json_list(r, "digest_algorithms")?,
                requests_per_second: rate_of(r)?,
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
        assert_eq!(Cidr::parse("203.0.113.1/24").unwrap().to_string(), "203.0.113.0/24", "host bits cleared");
        for bad in ["10.0.0.0/33", "2001:db8::/129", "example.com", "10.0.0.0/", ""] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }
}
