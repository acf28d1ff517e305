//! The SIP layer's view of the tenants: which number reaches which tenant and agent, each
//! tenant's limits and minutes used this month, its data policy, and its trunks (networks and
//! digest credentials). A snapshot of the store,
//! reloaded whenever the API changes one of them and every 30 s (other nodes' changes, a new
//! month), so routing a call never waits on the database.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use parley_agent::spec::AgentSpec;
use parley_sip::digest::Algorithm;
use parley_store::directory::normalize_dialled;
use parley_store::policy::DataPolicy;
use parley_store::crypto::MasterKey;
use parley_store::trunks::TrunkAccess;
use parley_store::usage::Limits;
use parley_store::{Store, StoreError};
use secrecy::ExposeSecret;

/// Where a dialled number goes.
#[derive(Clone)]
pub struct Destination {
    /// Tenant.
    pub tenant: String,
    /// The agent answering.
    pub agent: Arc<AgentSpec>,
    /// The number that matched (E.164), or the local extension.
    pub dialled: String,
}

/// Why a call is refused before it is answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The tenant has as many calls as its limit allows: 486 Busy Here.
    ConcurrentCalls,
    /// The tenant used its minutes for the month: 403 Forbidden.
    MonthlyMinutes,
    /// The tenant's policy allows none of the speech engines this node runs: 503.
    ProviderNotAllowed,
}

impl Refusal {
    /// The SIP status code.
    pub fn code(self) -> u16 {
        match self {
            Refusal::ConcurrentCalls => 486,
            Refusal::MonthlyMinutes => 403,
            Refusal::ProviderNotAllowed => 503,
        }
    }

    /// The allow-listed detail for the operational log.
    pub fn detail(self) -> &'static str {
        match self {
            Refusal::ConcurrentCalls => "concurrent_calls",
            Refusal::MonthlyMinutes => "monthly_minutes",
            Refusal::ProviderNotAllowed => "provider_not_allowed",
        }
    }
}

/// Whether a call to a tenant's number may come from where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Admission {
    /// The tenant has no trunk: its numbers take calls from anywhere.
    Open,
    /// From an allowed network of this trunk.
    Trunk(String),
    /// Not from an allowed network, but a trunk takes digest credentials: challenge.
    NeedsCredentials,
    /// Not from an allowed network and no trunk authenticates: 403.
    Refused,
}

#[derive(Default)]
struct Table {
    numbers: HashMap<String, Destination>,
    limits: HashMap<String, (Limits, i64)>,
    policies: HashMap<String, DataPolicy>,
    trunks: HashMap<String, Vec<TrunkAccess>>,
}

/// The routing snapshot.
#[derive(Default)]
pub struct Directory {
    table: RwLock<Table>,
    /// Counts reloads, so the SIP task sees when the trunks may have changed.
    generation: std::sync::atomic::AtomicU64,
}

impl Directory {
    /// Reloads numbers, agents, limits, usage, policies and trunks from the store.
    pub async fn reload(&self, store: &Store, master: &MasterKey, now_ms: i64) -> Result<(), StoreError> {
        let platform = store.platform();
        let mut numbers = HashMap::new();
        for r in platform.routes().await? {
            match AgentSpec::from_yaml(&r.spec) {
                Ok(agent) => {
                    numbers.insert(r.number.clone(), Destination { tenant: r.tenant_id, agent: Arc::new(agent), dialled: r.number });
                }
                // The API checks specs before storing them; one that no longer parses is skipped.
                Err(_) => tracing::error!(tenant = %r.tenant_id, agent = %r.agent, "stored agent spec does not parse; its numbers get 404"),
            }
        }
        let mut limits = HashMap::new();
        let mut policies = HashMap::new();
        for (tenant, l, used) in platform.limits_and_minutes(now_ms).await? {
            policies.insert(tenant.clone(), store.tenant(&tenant)?.policy().await?);
            limits.insert(tenant, (l, used));
        }
        let mut trunks: HashMap<String, Vec<TrunkAccess>> = HashMap::new();
        for trunk in platform.trunk_access(master).await? {
            trunks.entry(trunk.tenant_id.clone()).or_default().push(trunk);
        }
        let mut t = self.table.write().unwrap_or_else(|e| e.into_inner());
        *t = Table { numbers, limits, policies, trunks };
        self.generation.fetch_add(1, std::sync::atomic::Ordering::Release);
        Ok(())
    }

    /// How many times the snapshot was loaded.
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Every network some tenant's trunk admits, with that trunk's request rate if it has its
    /// own (their sources are carriers: a trunk budget, never banned globally).
    pub fn trunk_networks(&self) -> Vec<(ipnet::IpNet, Option<u32>)> {
        let t = self.table.read().unwrap_or_else(|e| e.into_inner());
        t.trunks
            .values()
            .flatten()
            .flat_map(|tr| tr.allowed.iter().filter_map(|c| c.to_string().parse().ok()).map(|net| (net, tr.requests_per_second)))
            .collect()
    }

    /// Whether `tenant`'s trunks admit a call from `source`.
    pub fn admission(&self, tenant: &str, source: std::net::IpAddr) -> Admission {
        let t = self.table.read().unwrap_or_else(|e| e.into_inner());
        let Some(trunks) = t.trunks.get(tenant).filter(|v| !v.is_empty()) else { return Admission::Open };
        if let Some(trunk) = trunks.iter().find(|tr| tr.allowed.iter().any(|net| net.contains(source))) {
            return Admission::Trunk(trunk.name.clone());
        }
        if trunks.iter().any(|tr| tr.credentials.is_some()) {
            Admission::NeedsCredentials
        } else {
            Admission::Refused
        }
    }

    /// The password of `tenant`'s trunk with digest user `username`, if that trunk may answer
    /// with `alg`.
    pub fn trunk_password(&self, tenant: &str, username: &str, alg: Algorithm) -> Option<String> {
        let t = self.table.read().unwrap_or_else(|e| e.into_inner());
        t.trunks.get(tenant)?.iter().find_map(|tr| match &tr.credentials {
            Some((user, pw)) if user == username && tr.digest_algorithms.iter().any(|a| a == alg.name()) => Some(pw.expose_secret().to_string()),
            _ => None,
        })
    }

    /// The algorithms to challenge `tenant`'s peers with: SHA-256 first, unless every trunk
    /// with credentials puts MD5 first (peers that read only the first challenge).
    pub fn challenge_algorithms(&self, tenant: &str) -> Vec<Algorithm> {
        let t = self.table.read().unwrap_or_else(|e| e.into_inner());
        let lists: Vec<&Vec<String>> = t.trunks.get(tenant).map(|v| v.iter().filter(|tr| tr.credentials.is_some()).map(|tr| &tr.digest_algorithms).collect()).unwrap_or_default();
        let offers = |a: Algorithm| lists.iter().any(|l| l.iter().any(|x| x == a.name()));
        let md5_first = !lists.is_empty() && lists.iter().all(|l| l.first().map(String::as_str) == Some("MD5"));
        let order = if md5_first { [Algorithm::Md5, Algorithm::Sha256] } else { [Algorithm::Sha256, Algorithm::Md5] };
        order.into_iter().filter(|a| offers(*a)).collect()
    }

    /// The destination of the first of `candidates` (Request-URI user, To user, Diversion
    /// user) that is an assigned number.
    pub fn lookup<'a>(&self, candidates: impl IntoIterator<Item = Option<&'a str>>) -> Option<Destination> {
        let t = self.table.read().unwrap_or_else(|e| e.into_inner());
        candidates.into_iter().flatten().filter_map(normalize_dialled).find_map(|n| t.numbers.get(&n).cloned())
    }

    /// Whether `tenant` may take one more call, with `active` in progress, on engines from
    /// `providers`.
    pub fn admit(&self, tenant: &str, active: usize, providers: &[&str]) -> Result<(), Refusal> {
        let t = self.table.read().unwrap_or_else(|e| e.into_inner());
        if let Some((l, used_seconds)) = t.limits.get(tenant) {
            if l.max_concurrent_calls > 0 && active as i64 >= l.max_concurrent_calls {
                return Err(Refusal::ConcurrentCalls);
            }
            if l.max_minutes_per_month > 0 && *used_seconds >= l.max_minutes_per_month.saturating_mul(60) {
                return Err(Refusal::MonthlyMinutes);
            }
        }
        let policy = t.policies.get(tenant).cloned().unwrap_or_default();
        if !providers.iter().all(|p| policy.allows(p)) {
            return Err(Refusal::ProviderNotAllowed);
        }
        Ok(())
    }

    /// The tenant's policy as of the last reload.
    pub fn policy(&self, tenant: &str) -> DataPolicy {
        self.table.read().unwrap_or_else(|e| e.into_inner()).policies.get(tenant).cloned().unwrap_or_default()
    }

    /// Counts a finished call's seconds against the month until the next reload reads the store.
    pub fn add_call_seconds(&self, tenant: &str, seconds: i64) {
        let mut t = self.table.write().unwrap_or_else(|e| e.into_inner());
        if let Some((_, used)) = t.limits.get_mut(tenant) {
            *used += seconds;
        }
    }
}

/// Reloads `directory` every 30 s until the process ends.
pub async fn reload_every_30s(directory: Arc<Directory>, store: Store, master: Arc<MasterKey>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(30));
    loop {
        tick.tick().await;
        if let Err(e) = directory.reload(&store, &master, crate::api::now_ms()).await {
            tracing::warn!(error = %e, "reloading the routing directory failed; keeping the last one");
        }
    }
}

/// Calls in progress per tenant, over SIP and Twilio streams alike, so both are admitted
/// against one count (the tenant's concurrent-call limit).
#[derive(Default)]
pub struct ActiveCalls(std::sync::Mutex<HashMap<String, usize>>);

/// One admitted call; dropping it (when the call task ends) frees its place.
pub struct ActiveGuard {
    calls: Arc<ActiveCalls>,
    tenant: String,
}

impl ActiveCalls {
    /// Whether `check` would admit one more call of `tenant` now (nothing is held).
    pub fn would_admit(&self, tenant: &str, check: impl FnOnce(usize) -> Result<(), Refusal>) -> Result<(), Refusal> {
        check(self.0.lock().unwrap_or_else(|e| e.into_inner()).get(tenant).copied().unwrap_or(0))
    }

    /// Admits one more call of `tenant` if `check` (given the calls in progress) allows it.
    pub fn admit(self: &Arc<Self>, tenant: &str, check: impl FnOnce(usize) -> Result<(), Refusal>) -> Result<ActiveGuard, Refusal> {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        check(m.get(tenant).copied().unwrap_or(0))?;
        *m.entry(tenant.to_string()).or_default() += 1;
        Ok(ActiveGuard { calls: self.clone(), tenant: tenant.to_string() })
    }
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        let mut m = self.calls.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = m.get_mut(&self.tenant) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                m.remove(&self.tenant);
            }
        }
    }
}
