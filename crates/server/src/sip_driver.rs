//! The SIP task: a thin loop around the sans-IO [`Endpoint`]. It routes new calls to agents,
//! starts a call task per answered call, and carries commands and events between them.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use parley_sip::digest::{DigestAuth, Verdict};
use parley_sip::endpoint::{CallId, Config, Endpoint, Event, IncomingCall, Output};
use parley_sip::guard::Banned;
use parley_sip::sdp;
use parley_sip::transport::{Inbound, Transports};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::call::{self, CallEvent, CallSetup};
use crate::leg::LegCommand;
use crate::dialer::{Answered, Dialer};
use crate::outbound::SipRequest;
use crate::directory::{Admission, Destination};
use crate::Shared;

/// What a call task asks of the SIP layer.
#[derive(Debug)]
pub enum SipCommand {
    /// Send BYE.
    Hangup(CallId),
    /// Send REFER to this URI.
    Refer(CallId, parley_sip::uri::Uri),
    /// Stop ringing a call we placed (no answer in time); nothing if it was answered.
    GiveUp(CallId),
    /// Warm transfer: call the person for the call (the outbound gate's first half passed, or
    /// `None` when it said no); the leg's media comes back to the call task.
    Consult(CallId, Option<Box<crate::outbound::Prepared>>),
    /// Hang up the call's consult leg, if it has one.
    EndConsult(CallId),
}

/// A call task's commands for its SIP dialog, as [`SipCommand`]s for `call`.
fn leg_of(call: CallId, sip: mpsc::Sender<SipCommand>) -> mpsc::Sender<LegCommand> {
    let (tx, mut rx) = mpsc::channel::<LegCommand>(4);
    tokio::spawn(async move {
        while let Some(command) = rx.recv().await {
            let command = match command {
                LegCommand::Hangup => SipCommand::Hangup(call),
                LegCommand::Transfer(target) => SipCommand::Refer(call, target),
                LegCommand::Consult(prepared) => SipCommand::Consult(call, prepared),
                LegCommand::EndConsult => SipCommand::EndConsult(call),
            };
            if sip.send(command).await.is_err() {
                return;
            }
        }
    });
    tx
}

/// Runs the SIP endpoint until `stop` fires.
pub async fn run(transports: Transports, mut inbound: mpsc::Receiver<Inbound>, mut requests: mpsc::Receiver<SipRequest>, shared: Arc<Shared>) {
    let mut ep = Endpoint::new(Config { guard: shared.guard.clone(), ..Config::new(transports.udp_addr) }, rand::random());
    let mut digest = DigestAuth::new(REALM, shared.digest_key);
    let (cmd_tx, mut cmd_rx) = mpsc::channel::<SipCommand>(1024);
    let mut calls: HashMap<CallId, (mpsc::Sender<CallEvent>, String)> = HashMap::new();
    // Warm transfers' calls to the person, by the call they are for.
    let mut consults: HashMap<CallId, CallId> = HashMap::new();
    // Counting active bans walks the ban list: at most once a second, and when one is added.
    let mut bans_counted = std::time::Instant::now();
    // The trunks' networks, pushed into the guard whenever the directory reloads.
    let mut trusted = sync_trusted(&shared, &mut ep, u64::MAX);
    let mut dialer = Dialer::default();
    // Registrations follow the gateways: now, after each change, and every minute (a proxy
    // whose name did not resolve is tried again).
    let mut resync = tokio::time::interval(Duration::from_secs(60));
    resync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let wake = ep.poll_timeout().map(Instant::from_std).unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            item = inbound.recv() => {
                let now = std::time::Instant::now();
                ep.set_draining(shared.draining.load(Ordering::Acquire).then_some(crate::shutdown::RETRY_AFTER_S));
                match item {
                    Some(Inbound::Datagram(peer, data)) => ep.handle_datagram(now, peer.transport, peer.addr, &data),
                    Some(Inbound::Message(peer, msg)) => ep.handle_message(now, peer, msg),
                    None => return,
                }
                export_guard(&shared, &ep);
                if now.duration_since(bans_counted) >= Duration::from_secs(1) {
                    bans_counted = now;
                    export_bans(&shared, &ep, now);
                    trusted = sync_trusted(&shared, &mut ep, trusted);
                }
            }
            Some(cmd) = cmd_rx.recv() => {
                let now = std::time::Instant::now();
                match cmd {
                    SipCommand::Hangup(call) => ep.hangup(now, call),
                    SipCommand::Refer(call, target) => ep.refer(now, call, &target),
                    SipCommand::GiveUp(call) if dialer.is_pending(call) => ep.hangup(now, call),
                    SipCommand::GiveUp(_) => {}
                    SipCommand::Consult(parent, prepared) => {
                        let leg = prepared.and_then(|p| dialer.consult(&mut ep, &transports, parent, &p, &cmd_tx));
                        let event = match leg {
                            Some(leg) => {
                                consults.insert(parent, leg);
                                CallEvent::ConsultStarted
                            }
                            None => CallEvent::ConsultEnded,
                        };
                        send(&calls, parent, event).await;
                    }
                    SipCommand::EndConsult(parent) => {
                        if let Some(leg) = consults.remove(&parent) {
                            ep.hangup(now, leg);
                        }
                    }
                }
            }
            Some(request) = requests.recv() => match request {
                SipRequest::Dial(req) => dialer.dial(&mut ep, &transports, *req, &shared, calls.len(), &cmd_tx),
                SipRequest::GatewaysChanged => dialer.sync_registrations(&mut ep, &transports, &shared).await,
            },
            _ = shared.hang_up_all.notified() => {
                let now = std::time::Instant::now();
                for call in calls.keys() {
                    ep.hangup(now, *call);
                }
            }
            _ = resync.tick() => dialer.sync_registrations(&mut ep, &transports, &shared).await,
            _ = tokio::time::sleep_until(wake) => {
                let now = std::time::Instant::now();
                ep.handle_timeout(now);
                if now.duration_since(bans_counted) >= Duration::from_secs(1) {
                    bans_counted = now;
                    export_bans(&shared, &ep, now);
                }
            }
        }
        while let Some(out) = ep.poll_output() {
            match out {
                Output::Transmit(t) => transports.send(t).await,
                Output::Event(Event::IncomingCall(inc)) => {
                    let now = std::time::Instant::now();
                    let dest = destination(&shared, &inc);
                    let admitted = match dest.as_ref() {
                        Some(d) => authenticate(&shared, &mut digest, &mut ep, now, &inc, d),
                        None => Ok(()),
                    };
                    match admitted.and_then(|()| route(&shared, &calls, &inc, dest.as_ref(), transports.udp_addr.ip())) {
                        Ok((setup, answer)) => {
                            ep.ring(now, inc.call);
                            ep.answer(now, inc.call, answer);
                            let (ev_tx, ev_rx) = mpsc::channel(64);
                            calls.insert(inc.call, (ev_tx, setup.tenant.clone()));
                            tokio::spawn(call::run(setup, ev_rx, leg_of(inc.call, cmd_tx.clone()), shared.clone()));
                        }
                        Err(Rejection { code, detail, headers }) => {
                            tracing::info!(call = inc.call.0, code, detail, "call rejected");
                            ep.reject_with(now, inc.call, code, &headers);
                            // Only guesses count towards a ban (a wrong answer to a nonce issued
                            // to this address), and only for this tenant: a refusal by source
                            // network never does (see parley_sip::guard).
                            if let (true, Some(d)) = (detail == "auth_failed", dest.as_ref()) {
                                let ban = ep.auth_failed(now, inc.source.ip(), &d.tenant);
                                if ban != Banned::No {
                                    banned(&shared, inc.source.ip(), &d.tenant, ban);
                                    export_bans(&shared, &ep, now);
                                }
                            }
                            if code == 401 || detail == "banned" {
                                // A challenge: the authenticated INVITE follows. A banned source:
                                // counted, nothing written (it may be a flood).
                                continue;
                            }
                            shared.metrics.calls_rejected.fetch_add(1, Ordering::Relaxed);
                            if let Some(dest) = dest {
                                // The tenant's own call, refused: keep the routing decision.
                                let record = call::rejected_record(&shared, &dest.tenant, inc.call.0, &dest.agent.name, inc.from_user.as_deref(), code);
                                let store = shared.store.clone();
                                tokio::spawn(async move {
                                    call::store_record(&store, &record).await;
                                    let kind = match detail {
                                        "auth_failed" | "auth_invalid" | "source_not_allowed" => "auth.failed",
                                        "concurrent_calls" | "monthly_minutes" => "sip.limit",
                                        _ => "sip.rejected",
                                    };
                                    if let Err(e) = store.op_event(&dest.tenant, kind, i64::from(code), detail, record.started_ms).await {
                                        tracing::warn!(error = %e, "recording an operational event failed");
                                    }
                                });
                            }
                        }
                    }
                }
                Output::Event(Event::Established(call)) => send(&calls, call, CallEvent::Established).await,
                Output::Event(Event::Info { call, content_type, body }) => {
                    if let Some(key) = dtmf_relay_key(&content_type, &body) {
                        send(&calls, call, CallEvent::Key(key)).await;
                    }
                }
                Output::Event(Event::ReferStatus(call, code)) => send(&calls, call, CallEvent::ReferStatus(code)).await,
                Output::Event(Event::Reoffer { call, sdp, direction }) => send(&calls, call, CallEvent::Reoffer(sdp, direction)).await,
                Output::Event(Event::Progress(call, code)) => tracing::info!(call = call.0, code, "outbound call progress"),
                Output::Event(Event::Answered { call, sdp }) => match dialer.answered(call, &sdp, &shared) {
                    Answered::Call(setup) => {
                        let (ev_tx, ev_rx) = mpsc::channel(64);
                        calls.insert(call, (ev_tx.clone(), setup.tenant.clone()));
                        tokio::spawn(call::run(*setup, ev_rx, leg_of(call, cmd_tx.clone()), shared.clone()));
                        let _ = ev_tx.send(CallEvent::Established).await;
                    }
                    Answered::Consult(parent, media) => send(&calls, parent, CallEvent::ConsultAnswered(Box::new(media))).await,
                    Answered::Unusable => ep.hangup(std::time::Instant::now(), call),
                    Answered::NotOurs => {}
                },
                Output::Event(Event::Registered { reg, expires }) => {
                    tracing::info!(registration = reg.0, expires, "registered with a gateway");
                    dialer.registration(reg, true, &shared);
                }
                Output::Event(Event::RegistrationFailed { reg, code }) => {
                    tracing::warn!(registration = reg.0, code, "registration with a gateway failed; retrying later");
                    dialer.registration(reg, false, &shared);
                }
                Output::Event(Event::Unregistered(reg)) => tracing::info!(registration = reg.0, "registration removed"),
                Output::Event(Event::Ended(call, reason)) => {
                    if let Some(parent) = dialer.ended(call, reason, &shared) {
                        consults.retain(|_, leg| *leg != call);
                        send(&calls, parent, CallEvent::ConsultEnded).await;
                    }
                    if let Some((tx, _)) = calls.remove(&call) {
                        let _ = tx.send(CallEvent::Ended(reason.into())).await;
                    }
                }
            }
        }
    }
}

/// A source was just banned: logged (no address: it may be a person's) and counted as an
/// operational event of the tenant it guessed at (and of the installation, when the ban is
/// global).
fn banned(shared: &Arc<Shared>, ip: std::net::IpAddr, tenant: &str, ban: Banned) {
    let global = ban == Banned::Global;
    tracing::warn!(ipv6 = ip.is_ipv6(), global, "banned a SIP source after repeated authentication failures");
    let store = shared.store.clone();
    let tenant = tenant.to_string();
    tokio::spawn(async move {
        let now = crate::api::now_ms();
        let mut result = store.op_event(&tenant, "sip.banned", 403, "auth_failures", now).await;
        if global && result.is_ok() {
            result = store.op_event(parley_store::oplog::PLATFORM, "sip.banned", 403, "auth_failures_many_tenants", now).await;
        }
        if let Err(e) = result {
            tracing::warn!(error = %e, "recording an operational event failed");
        }
    });
}

/// Gives the guard the trunks' networks when the directory has reloaded since `seen` (its
/// generation); the generation now.
fn sync_trusted(shared: &Shared, ep: &mut Endpoint, seen: u64) -> u64 {
    let generation = shared.directory.generation();
    if generation != seen {
        ep.set_trusted(shared.directory.trunk_networks());
    }
    generation
}

/// Copies the guard's drop counters into the metrics (cheap: after every message).
fn export_guard(shared: &Shared, ep: &Endpoint) {
    let d = ep.dropped();
    let m = &shared.metrics;
    m.sip_dropped_banned.store(d.banned, Ordering::Relaxed);
    m.sip_dropped_scanner.store(d.scanner, Ordering::Relaxed);
    m.sip_dropped_rate.store(d.rate_limited, Ordering::Relaxed);
}

/// Counts the active bans into the metrics (walks the ban list).
fn export_bans(shared: &Shared, ep: &Endpoint, now: std::time::Instant) {
    shared.metrics.sip_bans_active.store(ep.bans(now) as u64, Ordering::Relaxed);
}

async fn send(calls: &HashMap<CallId, (mpsc::Sender<CallEvent>, String)>, call: CallId, ev: CallEvent) {
    if let Some((tx, _)) = calls.get(&call) {
        let _ = tx.send(ev).await;
    }
}

/// The tenant and agent of the number dialled (Request-URI, then To, then Diversion), or a
/// local extension of the demo tenant (`sip:demo@…`).
fn destination(shared: &Shared, inc: &IncomingCall) -> Option<Destination> {
    let candidates = [inc.user.as_deref(), inc.to_user.as_deref(), inc.diversion_user.as_deref()];
    shared.directory.lookup(candidates).or_else(|| {
        let user = inc.user.as_deref()?;
        let agent = shared.agents.get(user)?;
        Some(Destination { tenant: shared.tenant.clone(), agent: Arc::new(agent.clone()), dialled: user.to_string() })
    })
}

/// The digest realm of trunk credentials.
const REALM: &str = "parley";

/// A call refused before it is answered: the status, the allow-listed reason, extra headers.
struct Rejection {
    code: u16,
    detail: &'static str,
    headers: Vec<(&'static str, String)>,
}

impl From<(u16, &'static str)> for Rejection {
    fn from((code, detail): (u16, &'static str)) -> Rejection {
        Rejection { code, detail, headers: Vec::new() }
    }
}

/// Whether the call may come from where it came from: the tenant's trunks admit its network,
/// or its digest credentials (else a 401 challenge, 403 for wrong ones). A source banned from
/// the tenant gets 403 before anything is checked.
fn authenticate(shared: &Shared, digest: &mut DigestAuth, ep: &mut Endpoint, now: std::time::Instant, inc: &IncomingCall, dest: &Destination) -> Result<(), Rejection> {
    let source = inc.source.ip();
    if ep.banned_for(now, source, &dest.tenant) {
        return Err((403, "banned").into());
    }
    let now_ms = crate::api::now_ms();
    let challenge = |digest: &DigestAuth, stale: bool| Rejection {
        code: 401,
        detail: if stale { "stale_nonce" } else { "auth_required" },
        headers: digest.challenges(now_ms, rand::random(), stale, &shared.directory.challenge_algorithms(&dest.tenant), source).into_iter().map(|c| ("WWW-Authenticate", c)).collect(),
    };
    match shared.directory.admission(&dest.tenant, source) {
        Admission::Open | Admission::Trunk(_) => Ok(()),
        Admission::Refused => Err((403, "source_not_allowed").into()),
        Admission::NeedsCredentials => {
            let Some(authorization) = inc.authorization.as_deref() else { return Err(challenge(digest, false)) };
            let password = |user: &str, alg| shared.directory.trunk_password(&dest.tenant, user, alg);
            match digest.verify(now_ms, "INVITE", &inc.request_uri, authorization, source, password) {
                Verdict::Ok(_) => Ok(()),
                Verdict::Stale => Err(challenge(digest, true)),
                // Forged, or issued to another address: says nothing about this one.
                Verdict::NotOurNonce => Err(challenge(digest, false)),
                Verdict::WrongCredentials(why) => {
                    tracing::info!(call = inc.call.0, reason = why, "digest authentication failed");
                    Err((403, "auth_failed").into())
                }
                Verdict::Invalid(why) => {
                    tracing::info!(call = inc.call.0, reason = why, "digest credentials refused");
                    Err((403, "auth_invalid").into())
                }
            }
        }
    }
}

/// Admits the call and prepares media, or says which error code to answer and why.
fn route(
    shared: &Shared,
    calls: &HashMap<CallId, (mpsc::Sender<CallEvent>, String)>,
    inc: &IncomingCall,
    dest: Option<&Destination>,
    local_ip: std::net::IpAddr,
) -> Result<(CallSetup, Vec<u8>), Rejection> {
    let dest = dest.ok_or((404, "unknown_number"))?;
    if calls.len() >= shared.max_calls {
        return Err((503, "node_capacity").into());
    }
    let engines = shared.speech.providers();
    let admitted = shared.active.admit(&dest.tenant, |n| shared.directory.admit(&dest.tenant, n, &engines)).map_err(|r| Rejection::from((r.code(), r.detail())))?;
    let offer = inc.offer.as_ref().ok_or((488, "no_offer"))?;
    let negotiated = sdp::parse(offer).and_then(|s| sdp::negotiate(&s)).map_err(|_| (488, "no_common_codec"))?;
    let media = |_| Rejection::from((503, "media_port"));
    let socket = std::net::UdpSocket::bind((local_ip, 0)).map_err(media)?;
    socket.set_nonblocking(true).map_err(media)?;
    let local = socket.local_addr().map_err(media)?;
    let socket = tokio::net::UdpSocket::from_std(socket).map_err(media)?;
    // SDES keys travel in the SDP: only over TLS are they kept from the path.
    if negotiated.srtp.is_some() && inc.transport != parley_sip::endpoint::Transport::Tls {
        return Err((488, "srtp_needs_tls").into());
    }
    let our_key: Option<[u8; 30]> = negotiated.srtp.as_ref().map(|_| rand::random());
    let answer = sdp::answer(&negotiated, local, rand::random::<u32>().into(), our_key.as_ref()).ok_or((488, "no_common_codec"))?;
    let setup = CallSetup {
        call: inc.call.0,
        media: crate::media_io::Media::Rtp(Box::new(crate::media_io::RtpLeg::new(socket, negotiated, tokio::time::Instant::now()).with_srtp(our_key.as_ref()))),
        agent: (*dest.agent).clone(),
        caller: inc.from_user.clone().unwrap_or_else(|| "anonymous".into()),
        callee: dest.dialled.clone(),
        transport: format!("{:?}", inc.transport).to_ascii_lowercase(),
        tenant: dest.tenant.clone(),
        policy: shared.directory.policy(&dest.tenant),
        placed_ms: None,
        admitted: Some(admitted),
    };
    Ok((setup, answer))
}

/// `application/dtmf-relay` (`Signal=5`) or `application/dtmf` (`5`) INFO bodies.
fn dtmf_relay_key(content_type: &[u8], body: &[u8]) -> Option<char> {
    let ct = String::from_utf8_lossy(content_type).to_ascii_lowercase();
    let body = String::from_utf8_lossy(body);
    let raw = if ct.starts_with("application/dtmf-relay") {
        body.lines().find_map(|l| l.trim().strip_prefix("Signal=").map(|s| s.trim().to_string()))?
    } else if ct.starts_with("application/dtmf") {
        body.trim().to_string()
    } else {
        return None;
    };
    let c = raw.chars().next()?;
    parley_media::dtmf::Digit::from_char(c).map(|d| d.as_char())
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sip_info_dtmf_bodies() {
        assert_eq!(dtmf_relay_key(b"application/dtmf-relay", b"Signal=5\r\nDuration=160\r\n"), Some('5'));
        assert_eq!(dtmf_relay_key(b"application/dtmf", b"#"), Some('#'));
        assert_eq!(dtmf_relay_key(b"text/plain", b"5"), None);
        assert_eq!(dtmf_relay_key(b"application/dtmf-relay", b"Signal=X"), None);
    }
}
