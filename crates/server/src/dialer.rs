//! The SIP task's side of outbound calling: places the calls the API asks for (after the
//! [`OutboundGate`]), turns an answered one into a call task's setup, records the ones nobody
//! answered, and keeps the gateways' registrations in step with the store.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use parley_agent::spec::AgentSpec;
use parley_sip::endpoint::{CallId, Credentials, Dial, Endpoint, EndReason, RegId, Registration, Transport};
use parley_sip::sdp;
use parley_sip::transport::Transports;
use parley_sip::transaction::Peer;
use parley_sip::uri::Uri;
use parley_store::outbound::GatewayAccess;
use parley_store::privacy::{caller_hash, mask_number};
use parley_store::CallRecord;
use secrecy::ExposeSecret;
use tokio::sync::mpsc;

use crate::call::{self, CallSetup};
use crate::media_io::Media;
use crate::outbound::{DialRequest, OutboundGate, Prepared, Refusal};
use crate::sip_driver::SipCommand;
use crate::Shared;

/// A call placed and not yet answered.
struct Pending {
    tenant: String,
    agent: AgentSpec,
    to: String,
    caller_id: String,
    transport: Transport,
    socket: std::net::UdpSocket,
    placed_ms: i64,
    /// Our SRTP key, when the call goes over TLS.
    srtp_key: Option<[u8; 30]>,
}

impl Pending {
    /// The record of the call when nobody answered (`code`: the final response, 408 when
    /// none came, 487 when we gave up ringing). The caller fields hold the person called.
    fn unanswered_record(&self, shared: &Shared, call: CallId, code: u16) -> CallRecord {
        CallRecord {
            id: call::record_id(self.placed_ms, call.0),
            tenant_id: self.tenant.clone(),
            agent: self.agent.name.clone(),
            caller_masked: mask_number(&self.to),
            caller_hash: caller_hash(&shared.hash_key, &self.tenant, &self.to),
            callee: self.caller_id.clone(),
            transport: format!("{:?}", self.transport).to_ascii_lowercase(),
            started_ms: self.placed_ms,
            answered_ms: None,
            ended_ms: crate::api::now_ms(),
            outcome: "not_answered".into(),
            end_reason: format!("failed_{code}"),
            routing: format!("outbound:{}", self.agent.name),
            turns: 0,
            retries: 0,
            webhook_status: "none".into(),
            latency: None,
            timeline: Default::default(),
        }
    }
}

/// See the module docs.
#[derive(Default)]
pub struct Dialer {
    gate: OutboundGate,
    pending: HashMap<CallId, Pending>,
    /// Answered outbound calls and their tenants (the gate counts them until they end).
    answered: HashMap<CallId, String>,
    /// Registrations by gateway id, and whether each is in force.
    registrations: HashMap<String, (RegId, bool)>,
    /// Warm transfers' consult legs not answered yet.
    consults_ringing: HashMap<CallId, Ringing>,
    /// Answered consult legs: the calls they serve and their tenants.
    consults: HashMap<CallId, (CallId, String)>,
}

/// A warm transfer's consult leg not answered yet: the call it serves, that call's tenant, its
/// media.
struct Ringing {
    parent: CallId,
    tenant: String,
    local: LocalMedia,
}

/// The media side of a call being placed.
struct LocalMedia {
    socket: std::net::UdpSocket,
    transport: Transport,
    srtp_key: Option<[u8; 30]>,
}

/// What an answer to a call we placed means.
pub enum Answered {
    /// An outbound call: start its call task.
    Call(Box<CallSetup>),
    /// A warm transfer's person answered: this media goes to the task of that call.
    Consult(CallId, Media),
    /// An answer we cannot use: hang up.
    Unusable,
    /// Not a call we placed.
    NotOurs,
}

/// How long a warm transfer rings the person before the agent takes a message instead.
const CONSULT_RING: std::time::Duration = std::time::Duration::from_secs(20);

impl Dialer {
    /// Places the call `req` asks for, or answers why not.
    pub fn dial(&mut self, ep: &mut Endpoint, transports: &Transports, req: DialRequest, shared: &Arc<Shared>, active_calls: usize, commands: &mpsc::Sender<SipCommand>) {
        let DialRequest { prepared, agent, ring_timeout, reply } = req;
        if shared.draining.load(Ordering::Acquire) || active_calls + self.pending.len() >= shared.max_calls {
            let _ = reply.send(Err(Refusal::Unavailable));
            return;
        }
        let (call, local) = match self.place(ep, transports, &prepared, commands, ring_timeout) {
            Ok(placed) => placed,
            Err(r) => {
                let _ = reply.send(Err(r));
                return;
            }
        };
        let placed_ms = crate::api::now_ms();
        shared.metrics.outbound_placed.fetch_add(1, Ordering::Relaxed);
        tracing::info!(call = call.0, agent = %agent.name, "outbound call placed");
        let record_id = call::record_id(placed_ms, call.0);
        let Prepared { tenant, to, gateway, .. } = prepared;
        self.pending.insert(call, Pending { tenant, agent, to, caller_id: gateway.gateway.caller_id, transport: local.transport, socket: local.socket, placed_ms, srtp_key: local.srtp_key });
        let _ = reply.send(Ok(record_id));
    }

    /// Calls the person of `parent`'s warm transfer, through the same gate as every call we
    /// place (`prepared` passed its first half where the transfer was asked for); the consult
    /// leg, or `None` when the gate says no.
    pub fn consult(&mut self, ep: &mut Endpoint, transports: &Transports, parent: CallId, prepared: &Prepared, commands: &mpsc::Sender<SipCommand>) -> Option<CallId> {
        match self.place(ep, transports, prepared, commands, CONSULT_RING) {
            Ok((leg, local)) => {
                self.consults_ringing.insert(leg, Ringing { parent, tenant: prepared.tenant.clone(), local });
                Some(leg)
            }
            Err(r) => {
                tracing::info!(call = parent.0, reason = r.message(), "the warm transfer's call was not placed; taking a message");
                None
            }
        }
    }

    /// The second half of the outbound gate (pace, concurrency), then the INVITE to
    /// `prepared.to` at the gateway's domain through its proxy; ringing is given up after
    /// `ring`. The call counts at the gate until [`Dialer::ended`].
    fn place(&mut self, ep: &mut Endpoint, transports: &Transports, prepared: &Prepared, commands: &mpsc::Sender<SipCommand>, ring: std::time::Duration) -> Result<(CallId, LocalMedia), Refusal> {
        let now = std::time::Instant::now();
        let local_ip = transports.udp_addr.ip();
        self.gate.admit(&prepared.tenant, &prepared.policy, now)?;
        let g = &prepared.gateway.gateway;
        // The store checked both when the gateway was written; a row that no longer passes is
        // not dialled.
        let uris = Uri::sip(&prepared.to, &g.domain).and_then(|t| Ok((t, Uri::sip(&g.caller_id, &g.domain)?)));
        let socket = bind_media(local_ip);
        let ((target, from), socket) = match (uris, socket) {
            (Ok(u), Ok(s)) => (u, s),
            (Err(e), _) => {
                tracing::warn!(error = %e, "a gateway's domain or caller ID is not usable in a SIP URI");
                self.gate.finished(&prepared.tenant);
                return Err(Refusal::Unavailable);
            }
            (_, Err(e)) => {
                tracing::warn!(error = %e, "no media port for an outbound call");
                self.gate.finished(&prepared.tenant);
                return Err(Refusal::Unavailable);
            }
        };
        let local = socket.local_addr().unwrap_or_else(|_| std::net::SocketAddr::new(local_ip, 0));
        let transport = gateway_transport(transports, &prepared.gateway, prepared.proxy);
        // Over TLS the media is encrypted too (SDES keys are safe inside TLS).
        let srtp_key: Option<[u8; 30]> = (transport == Transport::Tls).then(rand::random);
        let call = ep.dial(now, Dial {
            target,
            from,
            next_hop: Peer { transport, addr: prepared.proxy },
            offer: sdp::offer(local, rand::random::<u32>().into(), srtp_key.as_ref()),
            credentials: credentials(&prepared.gateway),
        });
        let commands = commands.clone();
        tokio::spawn(async move {
            tokio::time::sleep(ring).await;
            let _ = commands.send(SipCommand::GiveUp(call)).await;
        });
        Ok((call, LocalMedia { socket, transport, srtp_key }))
    }

    /// Whether `call` was placed and is not answered yet (ringing may be given up).
    pub fn is_pending(&self, call: CallId) -> bool {
        self.pending.contains_key(&call) || self.consults_ringing.contains_key(&call)
    }

    /// A placed call was answered with `sdp`: what to do with it.
    pub fn answered(&mut self, call: CallId, sdp: &[u8], shared: &Shared) -> Answered {
        if let Some(Ringing { parent, tenant, local }) = self.consults_ringing.remove(&call) {
            self.consults.insert(call, (parent, tenant));
            return match rtp_leg(local.socket, sdp, local.srtp_key.as_ref()) {
                Some(media) => Answered::Consult(parent, media),
                None => Answered::Unusable,
            };
        }
        let Some(p) = self.pending.remove(&call) else { return Answered::NotOurs };
        self.answered.insert(call, p.tenant.clone());
        let Some(media) = rtp_leg(p.socket, sdp, p.srtp_key.as_ref()) else {
            tracing::warn!(call = call.0, "the answer to our offer is not usable; hanging up");
            return Answered::Unusable;
        };
        shared.metrics.outbound_answered.fetch_add(1, Ordering::Relaxed);
        Answered::Call(Box::new(CallSetup {
            call: call.0,
            media,
            policy: shared.directory.policy(&p.tenant),
            agent: p.agent,
            caller: p.to,
            callee: p.caller_id,
            transport: format!("{:?}", p.transport).to_ascii_lowercase(),
            tenant: p.tenant,
            placed_ms: Some(p.placed_ms),
            // Outbound calls count at the outbound gate, not against inbound concurrency.
            admitted: None,
        }))
    }

    /// A call ended: frees its place at the gate; an unanswered one gets its record. For a
    /// consult leg, the call it served (to tell its task).
    pub fn ended(&mut self, call: CallId, reason: EndReason, shared: &Arc<Shared>) -> Option<CallId> {
        if let Some((parent, tenant)) = self.consults_ringing.remove(&call).map(|r| (r.parent, r.tenant)).or_else(|| self.consults.remove(&call)) {
            self.gate.finished(&tenant);
            return Some(parent);
        }
        if let Some(tenant) = self.answered.remove(&call) {
            self.gate.finished(&tenant);
            return None;
        }
        let p = self.pending.remove(&call)?;
        self.gate.finished(&p.tenant);
        let code = match reason {
            EndReason::Failed(code) => code,
            // We gave up ringing (CANCEL answered by 487) or were told to stop.
            _ => 487,
        };
        tracing::info!(call = call.0, code, "outbound call not answered");
        let record = p.unanswered_record(shared, call, code);
        let store = shared.store.clone();
        tokio::spawn(async move { call::store_record(&store, &record).await });
        None
    }

    /// Starts registrations of gateways that register and are new, removes those of
    /// gateways that are gone.
    pub async fn sync_registrations(&mut self, ep: &mut Endpoint, transports: &Transports, shared: &Shared) {
        let gateways = match shared.store.platform().registering_gateways(&shared.master).await {
            Ok(g) => g,
            Err(e) => {
                tracing::warn!(error = %e, "reading gateways failed; registrations unchanged");
                return;
            }
        };
        let now = std::time::Instant::now();
        let wanted: HashMap<&str, &GatewayAccess> = gateways.iter().map(|g| (g.gateway.id.as_str(), g)).collect();
        let gone: Vec<String> = self.registrations.keys().filter(|id| !wanted.contains_key(id.as_str())).cloned().collect();
        for id in gone {
            if let Some((reg, _)) = self.registrations.remove(&id) {
                ep.unregister(now, reg);
            }
        }
        for (id, g) in wanted {
            if self.registrations.contains_key(id) {
                continue;
            }
            let gw = &g.gateway;
            let Some(proxy) = crate::resolve::proxy(&gw.proxy, transports.udp_addr.ip()).await else {
                // Tried again at the next sync.
                tracing::warn!("a gateway's proxy does not resolve; its registration waits");
                shared.metrics.registrations_failed.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            let reg = ep.register(now, Registration {
                aor: format!("sip:{}@{}", gw.caller_id, gw.domain),
                registrar: format!("sip:{}", gw.domain),
                next_hop: Peer { transport: gateway_transport(transports, g, proxy), addr: proxy },
                contact_user: gw.caller_id.clone(),
                expires: gw.register_expires,
                credentials: credentials(g),
            });
            self.registrations.insert(id.to_string(), (reg, false));
        }
        self.export(shared);
    }

    /// A registration's outcome.
    pub fn registration(&mut self, reg: RegId, in_force: bool, shared: &Shared) {
        if let Some((_, state)) = self.registrations.values_mut().find(|(r, _)| *r == reg) {
            *state = in_force;
        }
        if !in_force {
            shared.metrics.registrations_failed.fetch_add(1, Ordering::Relaxed);
        }
        self.export(shared);
    }

    fn export(&self, shared: &Shared) {
        let n = self.registrations.values().filter(|(_, ok)| *ok).count();
        shared.metrics.registrations_active.store(n as u64, Ordering::Relaxed);
    }
}

fn credentials(g: &GatewayAccess) -> Option<Credentials> {
    g.credentials.as_ref().map(|(user, pw)| Credentials { username: user.clone(), password: pw.expose_secret().to_string() })
}

fn bind_media(ip: std::net::IpAddr) -> std::io::Result<std::net::UdpSocket> {
    std::net::UdpSocket::bind((ip, 0))
}

/// The media of an answered call: our socket and the callee's SDP answer; with `srtp_key`
/// (we offered SRTP) the answer must carry a key too.
fn rtp_leg(socket: std::net::UdpSocket, sdp: &[u8], srtp_key: Option<&[u8; 30]>) -> Option<Media> {
    let negotiated = sdp::parse(sdp).and_then(|s| sdp::negotiate(&s)).ok()?;
    if srtp_key.is_some() != negotiated.srtp.is_some() {
        return None;
    }
    socket.set_nonblocking(true).ok()?;
    let socket = tokio::net::UdpSocket::from_std(socket).ok()?;
    Some(Media::Rtp(Box::new(crate::media_io::RtpLeg::new(socket, negotiated, tokio::time::Instant::now()).with_srtp(srtp_key))))
}

/// A gateway's transport; for TLS, the name its certificate must carry (its domain) at `proxy`.
fn gateway_transport(transports: &Transports, g: &GatewayAccess, proxy: std::net::SocketAddr) -> Transport {
    match g.gateway.transport.as_str() {
        "tcp" => Transport::Tcp,
        "tls" => {
            transports.tls_name(proxy, g.gateway.domain.trim_start_matches('[').trim_end_matches(']'));
            Transport::Tls
        }
        _ => Transport::Udp,
    }
}
