//! Outbound calls: the one gate every call Parley places passes (API calls, warm-transfer
//! legs, anything later), and what the API asks of the SIP task.
//!
//! The gate has two halves. [`prepare`] (async, where the call is asked for) checks the
//! tenant's outbound policy (enabled, the number's E.164 prefix allowed) and opens a gateway
//! of the tenant's, resolving its proxy: nothing is dialled without one, so a call can only
//! leave through a provider the tenant configured and the operator allowed. [`OutboundGate`]
//! (sans-IO, in the SIP task: `now` comes in) then checks pace and concurrency and counts the
//! call until it ends.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parley_agent::spec::AgentSpec;
use parley_store::crypto::MasterKey;
use parley_store::outbound::{self, GatewayAccess, OutboundPolicy};
use parley_store::{Store, StoreError};
use tokio::sync::oneshot;

/// A call that passed [`prepare`]: the number, the gateway it leaves through, the policy that
/// paces it.
#[derive(Debug)]
pub struct Prepared {
    /// The tenant placing it.
    pub tenant: String,
    /// The number called (E.164, allowed by the policy).
    pub to: String,
    /// The gateway it goes through.
    pub gateway: GatewayAccess,
    /// Where the gateway's proxy is (resolved).
    pub proxy: std::net::SocketAddr,
    /// The tenant's outbound policy (pace and concurrency).
    pub policy: OutboundPolicy,
}

/// Why [`prepare`] refused a call.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    /// The operator has not enabled outbound calls for the tenant.
    #[error("outbound calling is off for this tenant")]
    Off,
    /// Not an E.164 number (a named SIP user, say): calls go out to numbers only.
    #[error("the target must be an E.164 number (+ and 7 to 15 digits)")]
    NotANumber,
    /// The number's prefix is not allowed.
    #[error("the number's prefix is not in this tenant's allowed prefixes")]
    PrefixNotAllowed,
    /// The tenant has no gateway to call through.
    #[error("this tenant has no gateway to call through")]
    NoGateway,
    /// The gateway's proxy name does not resolve.
    #[error("the gateway's proxy {0} does not resolve")]
    Unresolved(String),
    /// Reading the policy or gateway failed (or the gateway named does not exist).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl GateError {
    /// An allow-listed word for logs and operational events.
    pub fn detail(&self) -> &'static str {
        match self {
            GateError::Off => "outbound_off",
            GateError::NotANumber => "not_a_number",
            GateError::PrefixNotAllowed => "prefix_not_allowed",
            GateError::NoGateway => "no_gateway",
            GateError::Unresolved(_) => "proxy_unresolved",
            GateError::Store(StoreError::NotFound) => "gateway_not_found",
            GateError::Store(_) => "store",
        }
    }
}

/// The first half of the outbound gate: `tenant` may call `to` (E.164) through `gateway` (its
/// id; `None`: the tenant's first gateway by name).
pub async fn prepare(store: &Store, master: &MasterKey, sip_ip: std::net::IpAddr, tenant: &str, to: &str, gateway: Option<&str>) -> Result<Prepared, GateError> {
    if !outbound::is_e164(to) {
        return Err(GateError::NotANumber);
    }
    let scope = store.tenant(tenant)?;
    let policy = scope.outbound_policy().await?;
    if !policy.enabled {
        return Err(GateError::Off);
    }
    if !policy.allows(to) {
        return Err(GateError::PrefixNotAllowed);
    }
    let id = match gateway {
        Some(id) => id.to_string(),
        None => scope.list_gateways().await?.into_iter().next().ok_or(GateError::NoGateway)?.id,
    };
    let gateway = scope.gateway_access(master, &id).await?;
    let proxy = crate::resolve::proxy(&gateway.gateway.proxy, sip_ip).await.ok_or_else(|| GateError::Unresolved(gateway.gateway.proxy.clone()))?;
    Ok(Prepared { tenant: tenant.to_string(), to: to.to_string(), gateway, proxy, policy })
}

/// A call to place.
#[derive(Debug)]
pub struct DialRequest {
    /// The number, gateway and policy, checked by [`prepare`].
    pub prepared: Prepared,
    /// The agent that talks.
    pub agent: AgentSpec,
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
