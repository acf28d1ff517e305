//! Where a gateway's proxy is: its `IP:port`, or its `host:port` looked up (A/AAAA through the
//! system resolver) when a call or registration needs it, preferring an address of the family
//! our SIP socket has. SRV and NAPTR (RFC 3263) are not looked up.

use std::net::{IpAddr, SocketAddr};

/// The address of `proxy` (`IP:port` or `host:port`) to reach from `local`.
pub async fn proxy(proxy: &str, local: IpAddr) -> Option<SocketAddr> {
    if let Ok(addr) = proxy.parse() {
        return Some(addr);
    }
    let found: Vec<SocketAddr> = tokio::net::lookup_host(proxy).await.ok()?.collect();
    found.iter().find(|a| a.is_ipv4() == local.is_ipv4()).or(found.first()).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn addresses_and_names() {
        let v4: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(proxy("203.0.113.5:5060", v4).await, Some("203.0.113.5:5060".parse().unwrap()));
        assert_eq!(proxy("localhost:5070", v4).await, Some("127.0.0.1:5070".parse().unwrap()), "the local family first");
        assert_eq!(proxy("nonexistent.invalid:5060", v4).await, None);
    }
}
