//! Abuse defence at the edge, sans-IO: what Kamailio's pike and secfilter modules and
//! fail2ban do for a SIP server.
//!
//! - Known scanner user agents (SIPVicious' `friendly-scanner`, `sipcli`, `VaxSIPUserAgent`, ...)
//!   are dropped without an answer, so the scan learns nothing.
//! - New requests (anything that matches no live dialog or transaction) are rate-limited per
//!   source address with a token bucket; over the limit they are dropped. Sources that a trunk
//!   admits by network ([`Guard::set_trusted`]) get the trunk budget instead, generous by
//!   default: a carrier sends every call from a few addresses.
//! - Bans are per (source, tenant): a source that fails a tenant's digest authentication
//!   `max_failures` times within `find_window` is banned for `ban_for` from that tenant's
//!   numbers only (fail2ban's defaults: 5 failures, 10 minute ban; here within 2 minutes).
//!   Carriers share signalling addresses and UDP sources can be spoofed, so a refusal by
//!   source network never counts, and the driver counts only wrong answers to a nonce issued
//!   to that very address (see [`crate::digest`]).
//! - A source banned by [`GLOBAL_AFTER`] tenants at once is banned from everything (every
//!   message dropped), unless a trunk admits its address: such an address is never banned
//!   globally.
//!
//! Time comes in as `now`; state is bounded (old entries are pruned as maps grow).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use ipnet::IpNet;

/// Tenants that must have banned a source at once before it is banned globally.
pub const GLOBAL_AFTER: usize = 3;

/// User-agent substrings of known scanners (matched case-insensitively).
pub const SCANNER_AGENTS: &[&str] = &[
    "friendly-scanner",
    "friendly-request",
    "sipvicious",
    "sipcli",
    "sip-scan",
    "sipscan",
    "iwar",
    "sivus",
    "sundayddr",
    "vaxsipuseragent",
    "vaxipuseragent",
    "smap",
    "siparmyknife",
    "pplsip",
];

/// Limits; `rate_per_s` 0 turns the rate limit off, `max_failures` 0 turns banning off.
#[derive(Clone, Debug)]
pub struct GuardConfig {
    /// New requests per second per source address.
    pub rate_per_s: u32,
    /// Requests a source may send at once before the rate applies.
    pub burst: u32,
    /// Authentication failures that ban a source.
    pub max_failures: u32,
    /// The window those failures must fall in.
    pub find_window: Duration,
    /// How long a ban lasts.
    pub ban_for: Duration,
    /// New requests per second from a source a trunk admits (burst: twice that); 0: no limit.
    pub trunk_rate_per_s: u32,
}

impl Default for GuardConfig {
    fn default() -> GuardConfig {
        GuardConfig {
            rate_per_s: 100,
            burst: 200,
            max_failures: 5,
            find_window: Duration::from_secs(120),
            ban_for: Duration::from_secs(600),
            trunk_rate_per_s: 2000,
        }
    }
}

/// Why a message is dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Drop {
    /// The source is banned.
    Banned,
    /// A known scanner.
    Scanner,
    /// Over the source's rate.
    RateLimited,
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Entries kept per map before pruning.
const PRUNE_AT: usize = 50_000;

/// See the module docs.
pub struct Guard {
    cfg: GuardConfig,
    buckets: HashMap<IpAddr, Bucket>,
    /// Failures per (source, tenant).
    failures: HashMap<(IpAddr, String), VecDeque<Instant>>,
    /// Bans per (source, tenant), until when.
    tenant_bans: HashMap<(IpAddr, String), Instant>,
    /// Global bans, until when.
    bans: HashMap<IpAddr, Instant>,
    /// Networks some trunk admits, with that trunk's own rate (`None`: `trunk_rate_per_s`).
    trusted: Vec<(IpNet, Option<u32>)>,
}

/// What a failed authentication led to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Banned {
    /// Nothing yet.
    No,
    /// The source is now banned from this tenant's numbers.
    Tenant,
    /// The source is now banned from everything.
    Global,
}

impl Guard {
    /// A guard with these limits.
    pub fn new(cfg: GuardConfig) -> Guard {
        Guard { cfg, buckets: HashMap::new(), failures: HashMap::new(), tenant_bans: HashMap::new(), bans: HashMap::new(), trusted: Vec::new() }
    }

    /// The networks the trunks admit, each with its trunk's own rate if it has one (replacing
    /// the last list): their sources get a trunk budget and are never banned globally (a ban in
    /// force is lifted).
    pub fn set_trusted(&mut self, nets: Vec<(IpNet, Option<u32>)>) {
        self.bans.retain(|ip, _| !nets.iter().any(|(n, _)| n.contains(&ip.to_canonical())));
        self.trusted = nets;
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trunk_rate(ip).is_some()
    }

    /// The request rate of a source some trunk admits (the highest, when several do).
    fn trunk_rate(&self, ip: IpAddr) -> Option<u32> {
        let ip = ip.to_canonical();
        self.trusted.iter().filter(|(n, _)| n.contains(&ip)).map(|(_, rate)| rate.unwrap_or(self.cfg.trunk_rate_per_s)).max()
    }

    /// Whether `ip` is banned from `tenant`'s numbers now (globally, or by that tenant).
    pub fn banned_for(&mut self, now: Instant, ip: IpAddr, tenant: &str) -> bool {
        if self.banned(now, ip) {
            return true;
        }
        let key = (ip, tenant.to_string());
        match self.tenant_bans.get(&key) {
            Some(until) if now < *until => true,
            Some(_) => {
                self.tenant_bans.remove(&key);
                false
            }
            None => false,
        }
    }

    /// Whether `ip` is banned now (check this before parsing anything from it).
    pub fn banned(&mut self, now: Instant, ip: IpAddr) -> bool {
        match self.bans.get(&ip) {
            Some(until) if now < *until => true,
            Some(_) => {
                self.bans.remove(&ip);
                false
            }
            None => false,
        }
    }

    /// Checks a request from `ip` with this `User-Agent`; `new_request`: it matches no live
    /// dialog or transaction.
    pub fn check_request(&mut self, now: Instant, ip: IpAddr, user_agent: Option<&[u8]>, new_request: bool) -> Result<(), Drop> {
        if self.banned(now, ip) {
            return Err(Drop::Banned);
        }
        if let Some(ua) = user_agent {
            let ua = String::from_utf8_lossy(ua).to_ascii_lowercase();
            if SCANNER_AGENTS.iter().any(|s| ua.contains(s)) {
                return Err(Drop::Scanner);
            }
        }
        let (rate, burst) = match self.trunk_rate(ip) {
            Some(rate) => (rate, rate.saturating_mul(2)),
            None => (self.cfg.rate_per_s, self.cfg.burst.max(1)),
        };
        if new_request && rate > 0 {
            if self.buckets.len() >= PRUNE_AT {
                let idle = Duration::from_secs(60);
                self.buckets.retain(|_, b| now.saturating_duration_since(b.last) < idle);
            }
            let (rate, burst) = (f64::from(rate), f64::from(burst));
            let b = self.buckets.entry(ip).or_insert(Bucket { tokens: burst, last: now });
            b.tokens = (b.tokens + now.saturating_duration_since(b.last).as_secs_f64() * rate).min(burst);
            b.last = now;
            if b.tokens < 1.0 {
                return Err(Drop::RateLimited);
            }
            b.tokens -= 1.0;
        }
        Ok(())
    }

    /// Records a failed authentication from `ip` at `tenant` (a wrong answer to a nonce that
    /// was issued to `ip`); says whether that bans it.
    pub fn auth_failed(&mut self, now: Instant, ip: IpAddr, tenant: &str) -> Banned {
        if self.cfg.max_failures == 0 {
            return Banned::No;
        }
        if self.failures.len() >= PRUNE_AT || self.tenant_bans.len() >= PRUNE_AT {
            let window = self.cfg.find_window;
            self.failures.retain(|_, v| v.back().is_some_and(|t| now.saturating_duration_since(*t) < window));
            self.tenant_bans.retain(|_, until| now < *until);
            self.bans.retain(|_, until| now < *until);
        }
        let window = self.cfg.find_window;
        let key = (ip, tenant.to_string());
        let list = self.failures.entry(key.clone()).or_default();
        list.push_back(now);
        while list.front().is_some_and(|t| now.saturating_duration_since(*t) >= window) {
            list.pop_front();
        }
        if (list.len() as u32) < self.cfg.max_failures {
            return Banned::No;
        }
        self.failures.remove(&key);
        self.tenant_bans.insert(key, now + self.cfg.ban_for);
        let tenants = self.tenant_bans.iter().filter(|((i, _), until)| *i == ip && now < **until).count();
        if tenants >= GLOBAL_AFTER && !self.is_trusted(ip) {
            self.bans.insert(ip, now + self.cfg.ban_for);
            return Banned::Global;
        }
        Banned::Tenant
    }

    /// Bans in force right now: global ones plus (source, tenant) ones.
    pub fn bans(&self, now: Instant) -> usize {
        self.bans.values().chain(self.tenant_bans.values()).filter(|until| now < **until).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn scanners_are_dropped_others_pass() {
        let mut g = Guard::new(GuardConfig::default());
        let now = Instant::now();
        assert_eq!(g.check_request(now, ip("192.0.2.1"), Some(b"friendly-scanner"), true), Err(Drop::Scanner));
        assert_eq!(g.check_request(now, ip("192.0.2.1"), Some(b"SIPVicious 0.3"), true), Err(Drop::Scanner));
        assert_eq!(g.check_request(now, ip("192.0.2.1"), Some(b"Linphone/5.2"), true), Ok(()));
        assert_eq!(g.check_request(now, ip("192.0.2.1"), None, true), Ok(()));
    }

    #[test]
    fn new_requests_are_rate_limited_per_source() {
        let mut g = Guard::new(GuardConfig { rate_per_s: 10, burst: 5, ..GuardConfig::default() });
        let t0 = Instant::now();
        let a = ip("198.51.100.7");
        let passed = (0..20).filter(|_| g.check_request(t0, a, None, true).is_ok()).count();
        assert_eq!(passed, 5, "the burst");
        assert_eq!(g.check_request(t0, ip("198.51.100.8"), None, true), Ok(()), "another source has its own bucket");
        assert_eq!(g.check_request(t0, a, None, false), Ok(()), "in-dialog requests are not limited");
        let later = t0 + Duration::from_millis(350);
        let passed = (0..20).filter(|_| g.check_request(later, a, None, true).is_ok()).count();
        assert_eq!(passed, 3, "refilled at 10 per second");
    }

    #[test]
    fn five_failures_in_the_window_ban_the_source_from_that_tenant_only() {
        let mut g = Guard::new(GuardConfig::default());
        let t0 = Instant::now();
        let a = ip("203.0.113.9");
        for i in 0..6 {
            assert_eq!(g.auth_failed(t0 + Duration::from_secs(i * 50), a, "e"), Banned::No, "spread out, never five within two minutes");
        }
        let start = t0 + Duration::from_secs(1000);
        for i in 0..4 {
            assert_eq!(g.auth_failed(start + Duration::from_secs(i), a, "e"), Banned::No);
        }
        let banned_at = start + Duration::from_secs(4);
        assert_eq!(g.auth_failed(banned_at, a, "e"), Banned::Tenant, "the fifth within two minutes bans");
        assert!(g.banned_for(banned_at + Duration::from_secs(599), a, "e"));
        assert!(!g.banned_for(banned_at, a, "d"), "another tenant still takes its calls");
        assert_eq!(g.check_request(banned_at, a, None, true), Ok(()), "nothing is dropped before the tenant is known");
        assert_eq!(g.bans(banned_at), 1);
        assert!(!g.banned_for(banned_at + Duration::from_secs(600), a, "e"), "ten minutes later");
    }

    #[test]
    fn bans_by_several_tenants_ban_globally_unless_a_trunk_admits_the_source() {
        let mut g = Guard::new(GuardConfig::default());
        let now = Instant::now();
        let (a, carrier) = (ip("203.0.113.9"), ip("198.51.100.20"));
        g.set_trusted(vec![("198.51.100.0/24".parse().unwrap(), None)]);
        let mut last = Banned::No;
        for tenant in ["t1", "t2", "t3"] {
            for _ in 0..5 {
                last = g.auth_failed(now, a, tenant);
                assert_ne!(g.auth_failed(now, carrier, tenant), Banned::Global);
            }
        }
        assert_eq!(last, Banned::Global);
        assert_eq!(g.check_request(now, a, None, false), Err(Drop::Banned));
        assert!(g.banned_for(now, a, "t9"));
        assert_eq!(g.check_request(now, carrier, None, true), Ok(()), "a trunk's address is never banned globally");
        assert!(!g.banned_for(now, carrier, "t9") && g.banned_for(now, carrier, "t1"));
    }

    #[test]
    fn trunk_sources_get_the_trunk_budget() {
        let mut g = Guard::new(GuardConfig { rate_per_s: 10, burst: 5, trunk_rate_per_s: 1000, ..GuardConfig::default() });
        g.set_trusted(vec![("192.0.2.0/28".parse().unwrap(), None), ("2001:db8::/32".parse().unwrap(), None), ("203.0.113.0/24".parse().unwrap(), Some(50))]);
        let now = Instant::now();
        let passed = |g: &mut Guard, s: &str| (0..300).filter(|_| g.check_request(now, ip(s), None, true).is_ok()).count();
        assert_eq!(passed(&mut g, "192.0.2.3"), 300, "200 calls a second from a carrier pass");
        assert_eq!(passed(&mut g, "::ffff:192.0.2.4"), 300, "IPv4-mapped addresses count as IPv4");
        assert_eq!(passed(&mut g, "2001:db8::7"), 300);
        assert_eq!(passed(&mut g, "192.0.2.99"), 5, "outside the trunk's network: the default budget");
        assert_eq!(passed(&mut g, "203.0.113.9"), 100, "a trunk with its own rate: 50 a second, burst 100");
    }
}
