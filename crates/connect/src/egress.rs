//! One outgoing-HTTP policy for every URL a tenant configures (webhooks, the Stripe and Twilio
//! API bases, every integration to come), so that no tenant can make Parley reach the
//! operator's own network (server-side request forgery).
//!
//! [`Egress::client`] builds the only kind of HTTP client such URLs are fetched with:
//! - its DNS resolver drops every address in a refused range (loopback, private, carrier-grade
//!   NAT, link-local and so the cloud metadata address, unique-local IPv6, multicast,
//!   unspecified, IPv4-mapped forms of those), so the address checked is the address connected
//!   to (no DNS rebinding between a check and the connection);
//! - it follows no redirects (a 307 would re-post the signed document elsewhere);
//! - [`Egress::check_url`] refuses URLs whose host is an IP literal in a refused range (the
//!   resolver is not asked for those) and schemes other than http and https.
//!
//! The operator may allow networks with `--egress-allow CIDR` (a receiver inside the
//! operator's own network, a local fake in tests). Errors name only a coarse reason.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;

/// Why a URL may not be fetched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EgressError {
    /// Not an http(s) URL with a host.
    #[error("the URL must be http:// or https:// with a host")]
    Url,
    /// The host is, or resolves only to, an address this installation does not send to.
    #[error("the URL's host is an address this installation does not send to")]
    Refused,
}

/// Networks no tenant URL may reach unless the operator allows them.
const REFUSED: &[&str] = &[
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "::/128",
    "::1/128",
    "64:ff9b::/96",
    "fc00::/7",
    "fe80::/10",
    "ff00::/8",
];

/// The policy; see the module docs.
#[derive(Clone, Debug, Default)]
pub struct Egress {
    allowed: Arc<Vec<IpNet>>,
}

impl Egress {
    /// A policy that also lets these networks through (the operator's `--egress-allow`).
    pub fn allowing(allowed: Vec<IpNet>) -> Egress {
        Egress { allowed: Arc::new(allowed) }
    }

    /// Whether a tenant's URL may reach `ip`.
    pub fn permits(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        if self.allowed.iter().any(|n| n.contains(&ip)) {
            return true;
        }
        !REFUSED.iter().filter_map(|n| n.parse::<IpNet>().ok()).any(|n| n.contains(&ip))
    }

    /// Checks a URL's scheme and, when its host is an IP address, that address. Host names are
    /// checked by the client's resolver when they are looked up.
    pub fn check_url(&self, url: &str) -> Result<reqwest::Url, EgressError> {
        let url = reqwest::Url::parse(url).map_err(|_| EgressError::Url)?;
        if !matches!(url.scheme(), "http" | "https") || !url.username().is_empty() || url.password().is_some() {
            return Err(EgressError::Url);
        }
        match url.host() {
            Some(url::Host::Ipv4(ip)) if !self.permits(ip.into()) => Err(EgressError::Refused),
            Some(url::Host::Ipv6(ip)) if !self.permits(ip.into()) => Err(EgressError::Refused),
            Some(url::Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") || d.to_ascii_lowercase().ends_with(".localhost") => {
                if self.permits(IpAddr::from([127, 0, 0, 1])) { Ok(url.clone()) } else { Err(EgressError::Refused) }
            }
            Some(_) => Ok(url.clone()),
            None => Err(EgressError::Url),
        }
    }

    /// Whether `url`'s host is an address the operator allowed (an IP literal or `localhost`
    /// inside `--egress-allow`): plain http to an API is accepted only there (a local fake,
    /// the operator's own network); anything else must be https.
    pub fn operator_allows(&self, url: &reqwest::Url) -> bool {
        let ip = match url.host() {
            Some(url::Host::Ipv4(ip)) => IpAddr::from(ip),
            Some(url::Host::Ipv6(ip)) => IpAddr::from(ip),
            Some(url::Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") => IpAddr::from([127, 0, 0, 1]),
            _ => return false,
        };
        self.allowed.iter().any(|n| n.contains(&ip.to_canonical()))
    }

    /// The base URL of a tenant-configured API: https (or http where the operator allows the
    /// host), through this policy.
    pub fn api_base(&self, base: &str) -> Result<String, EgressError> {
        let url = self.check_url(base)?;
        if url.scheme() != "https" && !self.operator_allows(&url) {
            return Err(EgressError::Url);
        }
        Ok(base.trim_end_matches('/').to_string())
    }

    /// A TCP connection to `host:port` for a tenant-configured WebSocket (a speech provider's
    /// API base): the addresses are checked as the HTTP client's resolver checks them, and the
    /// address checked is the address connected to.
    pub async fn connect(&self, host: &str, port: u16) -> std::io::Result<tokio::net::TcpStream> {
        let refused = || std::io::Error::new(std::io::ErrorKind::PermissionDenied, EgressError::Refused);
        let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => tokio::net::lookup_host((host, port)).await?.collect(),
        };
        let mut last = None;
        for addr in addrs.into_iter().filter(|a| self.permits(a.ip())) {
            match tokio::time::timeout(Duration::from_secs(5), tokio::net::TcpStream::connect(addr)).await {
                Ok(Ok(stream)) => return Ok(stream),
                Ok(Err(e)) => last = Some(e),
                Err(_) => last = Some(std::io::ErrorKind::TimedOut.into()),
            }
        }
        Err(last.unwrap_or_else(refused))
    }

    /// An HTTP client for tenant URLs: filtered resolver, no redirects, `timeout` per request.
    pub fn client(&self, timeout: Duration) -> reqwest::Client {
        reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(self.clone()))
            .build()
            .unwrap_or_default()
    }
}

impl reqwest::dns::Resolve for Egress {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.filter(|a| policy.permits(a.ip())).collect();
            if addrs.is_empty() {
                return Err(Box::new(std::io::Error::new(std::io::ErrorKind::PermissionDenied, EgressError::Refused)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_ranges_are_refused_unless_allowed() {
        let p = Egress::default();
        for ip in ["127.0.0.1", "10.1.2.3", "172.20.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "::1", "fd00:ec2::254", "fe80::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1"] {
            assert!(!p.permits(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:2800:220:1::1", "8.8.8.8"] {
            assert!(p.permits(ip.parse().unwrap()), "{ip}");
        }
        let allowed = Egress::allowing(vec!["127.0.0.0/8".parse().unwrap()]);
        assert!(allowed.permits("127.0.0.1".parse().unwrap()));
        assert!(!allowed.permits("10.0.0.1".parse().unwrap()));
    }

    #[test]
    fn urls_are_checked_before_any_lookup() {
        let p = Egress::default();
        assert_eq!(p.check_url("http://127.0.0.1:8080/metrics").unwrap_err(), EgressError::Refused);
        assert_eq!(p.check_url("http://[::1]/").unwrap_err(), EgressError::Refused);
        assert_eq!(p.check_url("http://169.254.169.254/latest/meta-data/").unwrap_err(), EgressError::Refused);
        assert_eq!(p.check_url("http://2130706433/").unwrap_err(), EgressError::Refused, "decimal IPv4 is still loopback");
        assert_eq!(p.check_url("http://LOCALHOST:9/").unwrap_err(), EgressError::Refused);
        assert_eq!(p.check_url("file:///etc/passwd").unwrap_err(), EgressError::Url);
        assert_eq!(p.check_url("http://user:pw@example.com/").unwrap_err(), EgressError::Url);
        assert!(p.check_url("https://hooks.example.com/parley").is_ok());
    }

    #[tokio::test]
    async fn websocket_connections_are_refused_inside_refused_ranges() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        for host in ["127.0.0.1", "localhost"] {
            let e = Egress::default().connect(host, port).await.unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied, "{host}");
        }
        let allowed = Egress::allowing(vec!["127.0.0.0/8".parse().unwrap()]);
        assert!(allowed.connect("127.0.0.1", port).await.is_ok());
    }

    #[tokio::test]
    async fn the_resolver_drops_refused_addresses() {
        use reqwest::dns::Resolve;
        let p = Egress::default();
        let name: reqwest::dns::Name = "localhost".parse().unwrap();
        assert!(p.resolve(name).await.is_err(), "localhost resolves only to loopback");
        let allowed = Egress::allowing(vec!["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()]);
        let name: reqwest::dns::Name = "localhost".parse().unwrap();
        assert!(allowed.resolve(name).await.unwrap().count() >= 1);
    }
}
