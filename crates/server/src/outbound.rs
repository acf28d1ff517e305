//! Outbound calls: what the API asks of the SIP task, and the gate that paces a tenant's
//! calls. The API checks the tenant's outbound policy (enabled, number prefixes) and opens
//! the gateway; the SIP task checks pace and concurrency with [`OutboundGate`] (sans-IO: `now`
//! comes in), places the call and starts the call task once it is answered.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parley_agent::spec::AgentSpec;
use parley_store::outbound::{GatewayAccess, OutboundPolicy};
use tokio::sync::oneshot;

/// A call to place.
#[derive(Debug)]
pub struct DialRequest {
    /// The tenant placing it.
    pub tenant: String,
    /// The agent that talks.
    pub agent: AgentSpec,
    /// The gateway it goes through.
    pub gateway: GatewayAccess,
    /// Where the gateway's proxy is (resolved).
    pub proxy: std::net::SocketAddr,
    /// The number called (E.164, allowed by the policy).
    pub to: String,
    /// The tenant's outbound policy (pace and concurrency).
    pub policy: OutboundPolicy,
    /// How long it may ring before it is given up.
    pub ring_timeout: Duration,
    /// The call id its record will have, or why it was not placed.
    pub reply: oneshot::Sender<Result<String, Refusal>>,
}

/// What the API asks of the SIP task.
#[derive(Debug)]
pub enum SipRequest {
    /// Place a call.
    Dial(Box<DialRequest>),
    /// Gateways were added or removed: start or stop their registrations.
    GatewaysChanged,
}

/// Why the SIP task did not place a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Over the tenant's calls per second.
    Rate,
    /// The tenant has `max_concurrent` outbound calls already.
    Concurrency,
    /// Over the node's capacity, draining, or no media port.
    Unavailable,
}

impl Refusal {
    /// The reason as the API says it.
    pub fn message(self) -> &'static str {
        match self {
            Refusal::Rate => "over this tenant's outbound calls per second",
            Refusal::Concurrency => "this tenant has its maximum of outbound calls in progress",
            Refusal::Unavailable => "this node takes no new calls now",
        }
    }
}

/// Per-tenant token buckets (burst: one second's worth) and outbound call counts.
#[derive(Default)]
pub struct OutboundGate {
    buckets: HashMap<String, (f64, Instant)>,
    active: HashMap<String, usize>,
}

impl OutboundGate {
    /// Admits one more outbound call of `tenant` at `now` and counts it, or says why not.
    pub fn admit(&mut self, tenant: &str, policy: &OutboundPolicy, now: Instant) -> Result<(), Refusal> {
        if self.active.get(tenant).copied().unwrap_or(0) >= policy.max_concurrent as usize {
            return Err(Refusal::Concurrency);
        }
        let rate = f64::from(policy.calls_per_second.max(1));
        let (tokens, last) = self.buckets.entry(tenant.to_string()).or_insert((rate, now));
        *tokens = (*tokens + now.saturating_duration_since(*last).as_secs_f64() * rate).min(rate);
        *last = now;
        if *tokens < 1.0 {
            return Err(Refusal::Rate);
        }
        *tokens -= 1.0;
        *self.active.entry(tenant.to_string()).or_default() += 1;
        Ok(())
    }

    /// An outbound call of `tenant` is over (unanswered or ended).
    pub fn finished(&mut self, tenant: &str) {
        if let Some(n) = self.active.get_mut(tenant) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.active.remove(tenant);
            }
        }
    }

    /// Outbound calls of `tenant` in progress.
    #[cfg(test)]
    pub fn active(&self, tenant: &str) -> usize {
        self.active.get(tenant).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(cps: u32, max: u32) -> OutboundPolicy {
        OutboundPolicy { enabled: true, calls_per_second: cps, max_concurrent: max, allowed_prefixes: vec!["+49".into()] }
    }

    #[test]
    fn pace_and_concurrency_per_tenant() {
        let mut gate = OutboundGate::default();
        let t0 = Instant::now();
        let p = policy(2, 3);
        assert_eq!(gate.admit("a", &p, t0), Ok(()));
        assert_eq!(gate.admit("a", &p, t0), Ok(()));
        assert_eq!(gate.admit("a", &p, t0), Err(Refusal::Rate), "two per second");
        assert_eq!(gate.admit("b", &p, t0), Ok(()), "tenants have their own buckets");
        assert_eq!(gate.admit("a", &p, t0 + Duration::from_millis(500)), Ok(()), "half a second refills one");
        assert_eq!(gate.admit("a", &p, t0 + Duration::from_secs(5)), Err(Refusal::Concurrency), "three at once");
        gate.finished("a");
        assert_eq!(gate.active("a"), 2);
        assert_eq!(gate.admit("a", &p, t0 + Duration::from_secs(5)), Ok(()));
        for _ in 0..5 {
            gate.finished("a");
        }
        assert_eq!(gate.active("a"), 0, "never below zero");
    }
}
