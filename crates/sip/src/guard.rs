//! Abuse defence at the edge, sans-IO: what Kamailio's pike and secfilter modules and
//! fail2ban do for a SIP server.
//!
//! - Known scanner user agents (SIPVicious' `friendly-scanner`, `sipcli`, `VaxSIPUserAgent`, ...)
//!   are dropped without an answer, so the scan learns nothing.
//! - New requests (outside a dialog) are rate-limited per source address with a token bucket;
//!   over the limit they are dropped.
//! - A source that fails authentication `max_failures` times within `find_window` is banned for
//!   `ban_for` (fail2ban's defaults: 5 failures, 10 minute ban; here within 2 minutes): every
//!   message from it is dropped until the ban ends.
//!
//! Time comes in as `now`; state is bounded (old entries are pruned as maps grow).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

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
}

impl Default for GuardConfig {
    fn default() -> GuardConfig {
        GuardConfig { rate_per_s: 100, burst: 200, max_failures: 5, find_window: Duration::from_secs(120), ban_for: Duration::from_secs(600) }
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
    failures: HashMap<IpAddr, VecDeque<Instant>>,
    bans: HashMap<IpAddr, Instant>,
}

impl Guard {
    /// A guard with these limits.
    pub fn new(cfg: GuardConfig) -> Guard {
        Guard { cfg, buckets: HashMap::new(), failures: HashMap::new(), bans: HashMap::new() }
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

    /// Checks a request from `ip` with this `User-Agent`; `new_request`: outside a dialog.
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
        if new_request && self.cfg.rate_per_s > 0 {
            if self.buckets.len() >= PRUNE_AT {
                let idle = Duration::from_secs(60);
                self.buckets.retain(|_, b| now.saturating_duration_since(b.last) < idle);
            }
            let (rate, burst) = (f64::from(self.cfg.rate_per_s), f64::from(self.cfg.burst.max(1)));
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

    /// Records a failed authentication from `ip`; true if that bans it.
    pub fn auth_failed(&mut self, now: Instant, ip: IpAddr) -> bool {
        if self.cfg.max_failures == 0 {
            return false;
        }
        if self.failures.len() >= PRUNE_AT {
            let window = self.cfg.find_window;
            self.failures.retain(|_, v| v.back().is_some_and(|t| now.saturating_duration_since(*t) < window));
            self.bans.retain(|_, until| now < *until);
        }
        let window = self.cfg.find_window;
        let list = self.failures.entry(ip).or_default();
        list.push_back(now);
        while list.front().is_some_and(|t| now.saturating_duration_since(*t) >= window) {
            list.pop_front();
        }
        if list.len() as u32 >= self.cfg.max_failures {
            self.failures.remove(&ip);
            self.bans.insert(ip, now + self.cfg.ban_for);
            return true;
        }
        false
    }

    /// Sources banned right now.
    pub fn bans(&self, now: Instant) -> usize {
        self.bans.values().filter(|until| now < **until).count()
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
    fn five_failures_in_the_window_ban_then_the_ban_ends() {
        let mut g = Guard::new(GuardConfig::default());
        let t0 = Instant::now();
        let a = ip("203.0.113.9");
        for i in 0..6 {
            assert!(!g.auth_failed(t0 + Duration::from_secs(i * 50), a), "spread out, never five within two minutes");
        }
        let start = t0 + Duration::from_secs(1000);
        for i in 0..4 {
            assert!(!g.auth_failed(start + Duration::from_secs(i), a));
        }
        assert!(g.auth_failed(start + Duration::from_secs(4), a), "the fifth within two minutes bans");
        let banned_at = start + Duration::from_secs(4);
        assert!(g.banned(banned_at + Duration::from_secs(599), a));
        assert_eq!(g.check_request(banned_at, a, None, false), Err(Drop::Banned));
        assert_eq!(g.bans(banned_at), 1);
        assert!(!g.banned(banned_at + Duration::from_secs(600), a), "ten minutes later");
        assert!(!g.banned(banned_at, ip("203.0.113.10")));
    }
}
