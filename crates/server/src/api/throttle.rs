//! Throttling of the endpoints that take a password or token without a bearer token (sign-in,
//! invitation accept), sans-IO: `now` comes in.
//!
//! Attempts are counted per client address and per account (tenant and email) when they are
//! let through, before any hashing. The first `free` attempts within `window` pass at once;
//! after that each attempt must wait a delay that doubles (1 s, 2 s, 4 s, ... up to
//! `max_delay`) since the last one let through, and is answered 429 with `Retry-After` until
//! then. A successful sign-in clears its account and gives its address the attempt back, so an
//! office behind one address is not punished for its users' successes.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// The limits.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Attempts per account before delays start.
    pub free_per_account: u32,
    /// Attempts per address before delays start.
    pub free_per_addr: u32,
    /// Quiet time after which a key's count starts again.
    pub window: Duration,
    /// The longest delay.
    pub max_delay: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { free_per_account: 5, free_per_addr: 20, window: Duration::from_secs(900), max_delay: Duration::from_secs(900) }
    }
}

#[derive(Clone, Copy)]
struct Entry {
    count: u32,
    last: Instant,
}

/// Keys tracked before idle ones are pruned.
const PRUNE_AT: usize = 100_000;

/// See the module docs.
#[derive(Default)]
pub struct Throttle {
    limits: Limits,
    by_addr: HashMap<IpAddr, Entry>,
    by_account: HashMap<String, Entry>,
}

impl Throttle {
    /// A throttle with these limits.
    pub fn new(limits: Limits) -> Throttle {
        Throttle { limits, ..Throttle::default() }
    }

    /// Lets one attempt from `addr` for `account` through (and counts it), or says how long to
    /// wait.
    pub fn attempt(&mut self, now: Instant, addr: Option<IpAddr>, account: Option<&str>) -> Result<(), Duration> {
        let l = self.limits;
        if self.by_addr.len() + self.by_account.len() >= PRUNE_AT {
            self.by_addr.retain(|_, e| now.saturating_duration_since(e.last) < l.window);
            self.by_account.retain(|_, e| now.saturating_duration_since(e.last) < l.window);
        }
        let addr_entry = addr.and_then(|a| self.by_addr.get(&a.to_canonical())).copied();
        let account_entry = account.and_then(|a| self.by_account.get(a)).copied();
        let wait = [(addr_entry, l.free_per_addr), (account_entry, l.free_per_account)]
            .into_iter()
            .filter_map(|(e, free)| Some((e?, free)))
            .map(|(e, free)| wait(&l, e, free, now))
            .max()
            .unwrap_or_default();
        if !wait.is_zero() {
            return Err(wait);
        }
        let bump = |e: Option<&mut Entry>| -> Entry {
            match e {
                Some(e) if now.saturating_duration_since(e.last) < l.window => Entry { count: e.count + 1, last: now },
                _ => Entry { count: 1, last: now },
            }
        };
        if let Some(a) = addr {
            let a = a.to_canonical();
            let e = bump(self.by_addr.get_mut(&a));
            self.by_addr.insert(a, e);
        }
        if let Some(k) = account {
            let e = bump(self.by_account.get_mut(k));
            self.by_account.insert(k.to_string(), e);
        }
        Ok(())
    }

    /// The attempt succeeded: the account starts again and the address gets its attempt back.
    pub fn succeeded(&mut self, addr: Option<IpAddr>, account: Option<&str>) {
        if let Some(k) = account {
            self.by_account.remove(k);
        }
        if let Some(e) = addr.and_then(|a| self.by_addr.get_mut(&a.to_canonical())) {
            e.count = e.count.saturating_sub(1);
        }
    }
}

/// How long `e` must still wait at `now`.
fn wait(l: &Limits, e: Entry, free: u32, now: Instant) -> Duration {
    let since = now.saturating_duration_since(e.last);
    if since >= l.window || e.count < free {
        return Duration::ZERO;
    }
    let doublings = (e.count - free).min(20);
    let delay = Duration::from_secs(1u64 << doublings).min(l.max_delay);
    delay.saturating_sub(since)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn an_account_gets_five_tries_then_doubling_delays() {
        let mut t = Throttle::new(Limits::default());
        let t0 = Instant::now();
        for _ in 0..5 {
            assert_eq!(t.attempt(t0, ip("192.0.2.1"), Some("acme/a@x")), Ok(()));
        }
        assert_eq!(t.attempt(t0, ip("192.0.2.2"), Some("acme/a@x")), Err(Duration::from_secs(1)), "a new address changes nothing");
        assert_eq!(t.attempt(t0 + Duration::from_secs(1), ip("192.0.2.2"), Some("acme/a@x")), Ok(()));
        assert_eq!(t.attempt(t0 + Duration::from_secs(2), ip("192.0.2.2"), Some("acme/a@x")), Err(Duration::from_secs(1)), "then two seconds");
        assert_eq!(t.attempt(t0 + Duration::from_secs(3), ip("192.0.2.2"), Some("acme/a@x")), Ok(()));
        assert_eq!(t.attempt(t0 + Duration::from_secs(3), ip("192.0.2.2"), Some("acme/b@x")), Ok(()), "other accounts are not affected");
        t.succeeded(ip("192.0.2.2"), Some("acme/a@x"));
        assert_eq!(t.attempt(t0 + Duration::from_secs(3), ip("192.0.2.2"), Some("acme/a@x")), Ok(()), "a success starts the account again");
    }

    #[test]
    fn a_parallel_flood_from_one_address_is_cut_before_any_hashing() {
        let mut t = Throttle::new(Limits::default());
        let t0 = Instant::now();
        let passed = (0..128).filter(|i| t.attempt(t0, ip("198.51.100.9"), Some(&format!("acme/user{i}@x"))).is_ok()).count();
        assert_eq!(passed, 20, "the address's free attempts");
        let later = t0 + Duration::from_secs(16 * 60);
        assert_eq!(t.attempt(later, ip("198.51.100.9"), Some("acme/user0@x")), Ok(()), "a quiet window starts it again");
    }

    #[test]
    fn delays_stop_growing_at_the_maximum() {
        let mut t = Throttle::new(Limits { free_per_account: 1, max_delay: Duration::from_secs(60), ..Limits::default() });
        let mut now = Instant::now();
        for _ in 0..40 {
            match t.attempt(now, None, Some("k")) {
                Ok(()) => {}
                Err(wait) => {
                    assert!(wait <= Duration::from_secs(60));
                    now += wait;
                }
            }
        }
    }
}
