//! Outbound calling: the gateways a tenant's agents call out through (and may register with),
//! and the tenant's outbound policy. Outbound is off until a policy enables it; the policy
//! limits calls per second, calls at once and the number prefixes that may be dialled
//! (toll-fraud control). A gateway's password is sealed like a trunk's and opened only by
//! [`PlatformScope::gateway_access`] for the SIP layer.

use std::net::SocketAddr;

use secrecy::{ExposeSecret, SecretString};
use sqlx::Row;

use crate::crypto::{MasterKey, Sealed};
use crate::{conflict_or, PlatformScope, StoreError, TenantScope};

pub(crate) const KIND: &str = "gateway";

/// Transports a gateway may use.
pub const GATEWAY_TRANSPORTS: &[&str] = &["udp", "tcp", "tls"];

/// A gateway as the API shows it: never the password.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Gateway {
    /// Id.
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// Label, unique within the tenant.
    pub name: String,
    /// The provider's SIP proxy, `IP:port` or `host:port` (resolved when used).
    pub proxy: String,
    /// `udp`, `tcp` or `tls` (media then SRTP).
    pub transport: String,
    /// Host part of the Request-URI and of the registered address (the provider's domain).
    pub domain: String,
    /// The number presented as caller ID (the From user, and the registered user).
    pub caller_id: String,
    /// Digest user name, if the provider challenges.
    pub username: Option<String>,
    /// Whether Parley keeps a registration at the provider.
    pub register: bool,
    /// Registration lifetime asked for, seconds.
    pub register_expires: u32,
    /// Creation time, unix ms.
    pub created_ms: i64,
}

/// A gateway to add.
#[derive(Clone, Copy, Debug)]
pub struct NewGateway<'a> {
    /// Label, unique within the tenant.
    pub name: &'a str,
    /// The provider's proxy: `IP:port`, `[IPv6]:port` or `host:port`.
    pub proxy: &'a str,
    /// `udp`, `tcp` or `tls`.
    pub transport: &'a str,
    /// The provider's domain; empty: the proxy's host.
    pub domain: &'a str,
    /// The number presented as caller ID.
    pub caller_id: &'a str,
    /// Digest user name and password.
    pub credentials: Option<(&'a str, &'a SecretString)>,
    /// Keep a registration at the provider.
    pub register: bool,
    /// Registration lifetime, seconds (60 to 86400; 0: 3600).
    pub register_expires: u32,
}

/// A gateway as the SIP layer needs it.
#[derive(Clone, Debug)]
pub struct GatewayAccess {
    /// The gateway (no secret); its `proxy` is resolved by the caller.
    pub gateway: Gateway,
    /// Digest user name and password.
    pub credentials: Option<(String, SecretString)>,
}

/// A tenant's outbound policy.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OutboundPolicy {
    /// Whether the tenant's agents may call out at all.
    pub enabled: bool,
    /// New outbound calls per second (1 to 100).
    pub calls_per_second: u32,
    /// Outbound calls at once (1 to 10000).
    pub max_concurrent: u32,
    /// Prefixes of E.164 numbers that may be dialled, e.g. `+49`, `+1`; none: no number.
    pub allowed_prefixes: Vec<String>,
}

impl Default for OutboundPolicy {
    /// Off, one call per second, two at once, no prefixes.
    fn default() -> OutboundPolicy {
        OutboundPolicy { enabled: false, calls_per_second: 1, max_concurrent: 2, allowed_prefixes: Vec::new() }
    }
}

impl OutboundPolicy {
    /// Checks the figures and prefixes (`+` and 1 to 15 digits, at most 100).
    pub fn check(&self) -> Result<(), StoreError> {
        if !(1..=100).contains(&self.calls_per_second) {
            return Err(StoreError::Invalid("calls_per_second must be 1 to 100".into()));
        }
        if !(1..=10_000).contains(&self.max_concurrent) {
            return Err(StoreError::Invalid("max_concurrent must be 1 to 10000".into()));
        }
        if self.allowed_prefixes.len() > 100 {
            return Err(StoreError::Invalid("at most 100 prefixes".into()));
        }
        for p in &self.allowed_prefixes {
            if !is_e164_prefix(p) {
                return Err(StoreError::Invalid(format!("prefix {p:?} is not + and 1 to 15 digits")));
            }
        }
        Ok(())
    }

    /// Whether `number` (E.164) starts with an allowed prefix.
    pub fn allows(&self, number: &str) -> bool {
        self.allowed_prefixes.iter().any(|p| number.starts_with(p.as_str()))
    }
}

fn is_e164_prefix(p: &str) -> bool {
    p.strip_prefix('+').is_some_and(|d| (1..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether `number` is an E.164 number: `+`, a non-zero digit, 7 to 15 digits in all.
pub fn is_e164(number: &str) -> bool {
    number.strip_prefix('+').is_some_and(|d| (7..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()) && !d.starts_with('0'))
}

/// A proxy as given: an address, or a host name to resolve.
enum Proxy {
    Addr(SocketAddr),
    Host(String, u16),
}

impl Proxy {
    fn parse(text: &str) -> Option<Proxy> {
        if let Ok(addr) = text.parse::<SocketAddr>() {
            // IPv4: a unicast host (first octet 1 to 223), as the API's pattern says.
            let v4_ok = |ip: &std::net::Ipv4Addr| (1..=223).contains(&ip.octets()[0]);
            let usable = match addr {
                SocketAddr::V4(a) => v4_ok(a.ip()),
                SocketAddr::V6(_) => true,
            };
            return (addr.port() != 0 && usable).then_some(Proxy::Addr(addr));
        }
        let (host, port) = text.rsplit_once(':')?;
        let port: u16 = port.parse().ok().filter(|&p| p != 0)?;
        let label_ok = |l: &str| !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') && !l.starts_with('-') && !l.ends_with('-');
        // The last label (the top-level domain, or a single name such as `localhost`) starts
        // with a letter, so that no name looks like an IP address.
        let tld_ok = host.rsplit('.').next().is_some_and(|l| l.starts_with(|c: char| c.is_ascii_alphabetic()));
        (host.len() <= 253 && host.split('.').all(label_ok) && tld_ok).then(|| Proxy::Host(host.to_ascii_lowercase(), port))
    }

    /// The host part as a SIP URI takes it: an IP (IPv6 in brackets) or the name.
    fn host(&self) -> String {
        match self {
            Proxy::Addr(SocketAddr::V6(a)) => format!("[{}]", a.ip()),
            Proxy::Addr(a) => a.ip().to_string(),
            Proxy::Host(h, _) => h.clone(),
        }
    }
}

impl std::fmt::Display for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Proxy::Addr(a) => write!(f, "{a}"),
            Proxy::Host(h, p) => write!(f, "{h}:{p}"),
        }
    }
}

fn check(new: &NewGateway<'_>) -> Result<Proxy, StoreError> {
    let invalid = |m: &str| Err(StoreError::Invalid(m.into()));
    crate::label::check("name", new.name, 100, true)?;
    let Some(proxy) = Proxy::parse(new.proxy) else { return invalid("proxy must be IP:port or host:port with a port from 1 to 65535") };
    if !GATEWAY_TRANSPORTS.contains(&new.transport) {
        return invalid("transport must be udp, tcp or tls");
    }
    let token = |s: &str| !s.is_empty() && s.len() <= 100 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.+_".contains(&b));
    if !new.domain.is_empty() && !token(new.domain) {
        return invalid("domain must be a host name");
    }
    if !token(new.caller_id) {
        return invalid("caller_id must be a number or SIP user (letters, digits, + - . _)");
    }
    if new.register_expires != 0 && !(60..=86_400).contains(&new.register_expires) {
        return invalid("register_expires must be 60 to 86400 seconds");
    }
    match new.credentials {
        Some((user, _)) if user.is_empty() || user.len() > 100 || !user.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\') => {
            invalid("username must be 1 to 100 printable characters without quotes")
        }
        Some((_, pw)) if pw.expose_secret().is_empty() || pw.expose_secret().chars().count() > 200 => invalid("password must be 1 to 200 characters"),
        _ => Ok(proxy),
    }
}

const COLUMNS: &str = "id, tenant_id, name, proxy, transport, domain, caller_id, username, register_enabled, register_expires, created_ms";

fn gateway_of(r: &sqlx::any::AnyRow) -> Result<Gateway, StoreError> {
    Ok(Gateway {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        name: r.try_get("name")?,
        proxy: r.try_get("proxy")?,
        transport: r.try_get("transport")?,
        domain: r.try_get("domain")?,
        caller_id: r.try_get("caller_id")?,
        username: r.try_get("username")?,
        register: r.try_get::<i64, _>("register_enabled")? != 0,
        register_expires: u32::try_from(r.try_get::<i64, _>("register_expires")?).map_err(|_| StoreError::Corrupt("register_expires".into()))?,
        created_ms: r.try_get("created_ms")?,
    })
}

impl TenantScope {
    /// Adds a gateway.
    pub async fn add_gateway(&self, master: &MasterKey, new: &NewGateway<'_>, now_ms: i64) -> Result<Gateway, StoreError> {
        let proxy = check(new)?;
        let id = hex::encode(rand::random::<[u8; 8]>());
        let sealed = match new.credentials {
            Some((_, pw)) => Some(self.seal(master, KIND, &id, pw.expose_secret().as_bytes(), now_ms).await?),
            None => None,
        };
        let gateway = Gateway {
            id,
            tenant_id: self.id().into(),
            name: new.name.into(),
            proxy: proxy.to_string(),
            transport: new.transport.into(),
            domain: if new.domain.is_empty() { proxy.host() } else { new.domain.to_ascii_lowercase() },
            caller_id: new.caller_id.into(),
            username: new.credentials.map(|(u, _)| u.to_string()),
            register: new.register,
            register_expires: if new.register_expires == 0 { 3600 } else { new.register_expires },
            created_ms: now_ms,
        };
        let mut tx = self.begin().await?;
        sqlx::query(&format!("INSERT INTO gateways ({COLUMNS}, key_version, wrapped_key, ciphertext) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"))
            .bind(&gateway.id)
            .bind(&gateway.tenant_id)
            .bind(&gateway.name)
            .bind(&gateway.proxy)
            .bind(&gateway.transport)
            .bind(&gateway.domain)
            .bind(&gateway.caller_id)
            .bind(gateway.username.clone())
            .bind(i64::from(gateway.register))
            .bind(i64::from(gateway.register_expires))
            .bind(now_ms)
            .bind(sealed.as_ref().map(|s| s.key_version))
            .bind(sealed.as_ref().map(|s| s.wrapped_key.clone()))
            .bind(sealed.map(|s| s.ciphertext))
            .execute(&mut *tx)
            .await
            .map_err(conflict_or)?;
        tx.commit().await?;
        Ok(gateway)
    }

    /// This tenant's gateways, by name.
    pub async fn list_gateways(&self) -> Result<Vec<Gateway>, StoreError> {
        let mut tx = self.begin().await?;
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM gateways WHERE tenant_id = $1 ORDER BY name")).bind(self.id()).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        rows.iter().map(gateway_of).collect()
    }

    /// One gateway with its opened password, for placing a call.
    pub async fn gateway_access(&self, master: &MasterKey, id: &str) -> Result<GatewayAccess, StoreError> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(&format!("SELECT {COLUMNS}, key_version, wrapped_key, ciphertext FROM gateways WHERE tenant_id = $1 AND id = $2"))
            .bind(self.id())
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        self.open_gateway(master, &row).await
    }

    async fn open_gateway(&self, master: &MasterKey, r: &sqlx::any::AnyRow) -> Result<GatewayAccess, StoreError> {
        let gateway = gateway_of(r)?;
        let credentials = match gateway.username.clone() {
            Some(user) => {
                let plain = self.open(master, KIND, &gateway.id, &Sealed::from_row(r)?).await?;
                let text = String::from_utf8(plain.to_vec()).map_err(|_| StoreError::Corrupt("gateway password".into()))?;
                Some((user, SecretString::from(text)))
            }
            None => None,
        };
        Ok(GatewayAccess { gateway, credentials })
    }

    /// Deletes a gateway (and its sealed password with the row).
    pub async fn delete_gateway(&self, id: &str) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let n = sqlx::query("DELETE FROM gateways WHERE tenant_id = $1 AND id = $2").bind(self.id()).bind(id).execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// The tenant's outbound policy (the default, off, when none was set).
    pub async fn outbound_policy(&self) -> Result<OutboundPolicy, StoreError> {
        let mut tx = self.begin().await?;
        let row = sqlx::query("SELECT enabled, calls_per_second, max_concurrent, allowed_prefixes FROM outbound_policies WHERE tenant_id = $1")
            .bind(self.id())
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        let Some(r) = row else { return Ok(OutboundPolicy::default()) };
        let number = |c: &str| -> Result<u32, StoreError> { u32::try_from(r.try_get::<i64, _>(c)?).map_err(|_| StoreError::Corrupt(c.into())) };
        let prefixes: String = r.try_get("allowed_prefixes")?;
        Ok(OutboundPolicy {
            enabled: r.try_get::<i64, _>("enabled")? != 0,
            calls_per_second: number("calls_per_second")?,
            max_concurrent: number("max_concurrent")?,
            allowed_prefixes: serde_json::from_str(&prefixes).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        })
    }

    /// Replaces the tenant's outbound policy.
    pub async fn set_outbound_policy(&self, policy: &OutboundPolicy, now_ms: i64) -> Result<(), StoreError> {
        policy.check()?;
        let prefixes = serde_json::to_string(&policy.allowed_prefixes).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO outbound_policies (tenant_id, enabled, calls_per_second, max_concurrent, allowed_prefixes, updated_ms) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (tenant_id) DO UPDATE SET enabled = excluded.enabled, calls_per_second = excluded.calls_per_second, \
             max_concurrent = excluded.max_concurrent, allowed_prefixes = excluded.allowed_prefixes, updated_ms = excluded.updated_ms",
        )
        .bind(self.id())
        .bind(i64::from(policy.enabled))
        .bind(i64::from(policy.calls_per_second))
        .bind(i64::from(policy.max_concurrent))
        .bind(prefixes)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

impl PlatformScope {
    /// Every gateway that keeps a registration, with opened credentials, for the SIP layer.
    pub async fn registering_gateways(&self, master: &MasterKey) -> Result<Vec<GatewayAccess>, StoreError> {
        let mut tx = self.begin().await?;
        let rows = sqlx::query(&format!("SELECT {COLUMNS}, key_version, wrapped_key, ciphertext FROM gateways WHERE register_enabled <> 0 ORDER BY tenant_id, name"))
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let tenant: String = r.try_get("tenant_id")?;
            out.push(self.store.tenant(&tenant)?.open_gateway(master, r).await?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_prefixes() {
        assert!(is_e164("+4930123456") && is_e164("+15550100004"));
        for bad in ["4930123456", "+0301234567", "+49 30 123", "+1234", "+1234567890123456", "+49abc1234"] {
            assert!(!is_e164(bad), "{bad}");
        }
        let p = OutboundPolicy { enabled: true, allowed_prefixes: vec!["+49".into(), "+1555".into()], ..OutboundPolicy::default() };
        assert!(p.check().is_ok());
        assert!(p.allows("+4930123456") && p.allows("+15550100004"));
        assert!(!p.allows("+881234567890"), "satellite numbers are not in the list");
        assert!(!OutboundPolicy::default().allows("+4930123456"), "no prefixes: nothing");
        for bad in [vec!["49".to_string()], vec!["+".to_string()], vec!["+4 9".to_string()]] {
            assert!(OutboundPolicy { allowed_prefixes: bad, ..p.clone() }.check().is_err());
        }
        assert!(OutboundPolicy { calls_per_second: 0, ..p.clone() }.check().is_err());
        assert!(OutboundPolicy { max_concurrent: 0, ..p }.check().is_err());
    }

    #[test]
    fn proxies_are_addresses_or_host_names() {
        for (text, shown, host) in [("203.0.113.5:5060", "203.0.113.5:5060", "203.0.113.5"), ("[2001:db8::5]:5061", "[2001:db8::5]:5061", "[2001:db8::5]"), ("SIP.Provider-1.example:5060", "sip.provider-1.example:5060", "sip.provider-1.example")] {
            let p = Proxy::parse(text).unwrap();
            assert_eq!((p.to_string(), p.host()), (shown.to_string(), host.to_string()));
        }
        for bad in ["sip.example.com", "sip.example.com:0", "0.0.0.0:5060", "224.0.0.1:5060", "0.1.2.3:5060", "300.1.1.1:5060", "sip.example.123:5060", "-bad.example:5060", "a..b:5060", "host name:5060", "sip.example.com:99999", ":5060"] {
            assert!(Proxy::parse(bad).is_none(), "{bad}");
        }
    }
}
