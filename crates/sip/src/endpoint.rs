//! The sans-IO SIP user agent endpoint: one way in, one way out.
//!
//! Feed it datagrams and stream messages with [`Endpoint::handle_datagram`] and timeouts with
//! [`Endpoint::handle_timeout`]; give it the application's decisions ([`Endpoint::ring`],
//! [`Endpoint::answer`], [`Endpoint::reject`], [`Endpoint::hangup`], [`Endpoint::refer`], and
//! for the UAC side [`Endpoint::dial`], [`Endpoint::register`], [`Endpoint::unregister`]); then
//! drain [`Endpoint::poll_output`] until `None` and sleep until [`Endpoint::poll_timeout`].
//! It never reads a clock, opens a socket or draws randomness it was not given.
//!
//! ```
//! use std::time::Instant;
//! use parley_sip::endpoint::{Endpoint, Config, Transport, Output, Event};
//! let mut ep = Endpoint::new(Config::new("127.0.0.1:5060".parse().unwrap()), 7);
//! let now = Instant::now();
//! let options = b"OPTIONS sip:demo@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\n\
//! From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:demo@127.0.0.1>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
//! ep.handle_datagram(now, Transport::Udp, "127.0.0.1:5070".parse().unwrap(), options);
//! let Some(Output::Transmit(t)) = ep.poll_output() else { panic!() };
//! assert!(t.data.starts_with(b"SIP/2.0 200 OK"));
//! ```

use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::cmp::Reverse;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use rand::{rngs::StdRng, Rng, SeedableRng};

use crate::guard::{Drop as GuardDrop, Guard, GuardConfig};
use crate::session::{self, TimerRequest};

mod dialog;
mod register;
mod timers;
mod uac;
mod uas;
pub use register::{RegId, Registration};
pub use uac::{Credentials, Dial};
use crate::header::{NameAddr, SipUri};
use crate::message::{Message, Method, StartLine};
use crate::parse::{parse_datagram, ParseError};
use crate::response::{self, Identity};
use crate::transaction::{backoff, timeout_64t1, ClientPurpose, ClientTx, Peer, ServerState, ServerTx, T1};
use crate::validate::Summary;

/// The transport a message travelled on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    /// UDP: the endpoint retransmits.
    Udp,
    /// TCP: reliable, framed by Content-Length.
    Tcp,
    /// TLS over TCP (RFC 3261 §26.2): as TCP, encrypted.
    Tls,
}

impl Transport {
    fn via_token(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
        }
    }
}

/// Identifies a call (one INVITE server transaction and the dialog it creates).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(pub u64);

/// Endpoint settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// The address put in Via and Contact (the SIP listen address).
    pub local: SocketAddr,
    /// Server header.
    pub server: String,
    /// Most server transactions held at once; beyond that new requests get 503.
    pub max_transactions: usize,
    /// Scanner, rate and ban limits.
    pub guard: GuardConfig,
}

impl Config {
    /// Defaults for a listener on `local`.
    pub fn new(local: SocketAddr) -> Config {
        Config { local, server: format!("Parley/{}", env!("CARGO_PKG_VERSION")), max_transactions: 100_000, guard: GuardConfig::default() }
    }
}

/// Messages the guard dropped, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Dropped {
    /// From banned sources.
    pub banned: u64,
    /// From scanner user agents.
    pub scanner: u64,
    /// Over a source's rate.
    pub rate_limited: u64,
}

/// Bytes to send.
#[derive(Debug, PartialEq, Eq)]
pub struct Transmit {
    /// Over which transport.
    pub transport: Transport,
    /// To whom (for TCP: the connection with that peer).
    pub dest: SocketAddr,
    /// The serialized message.
    pub data: Vec<u8>,
}

/// Why a call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    /// The caller sent BYE.
    RemoteBye,
    /// The caller cancelled before answer.
    Cancelled,
    /// We hung up (BYE sent, or the call was rejected).
    Local,
    /// No ACK arrived for our 2xx within 64*T1.
    NoAck,
    /// The caller stopped refreshing the session (RFC 4028): we sent BYE.
    SessionExpired,
    /// A call we placed was not answered: the final response (408 when nothing came back).
    Failed(u16),
}

/// What the application learns from the endpoint.
#[derive(Debug)]
pub enum Event {
    /// A new INVITE. Answer with `ring`/`answer` or `reject`.
    IncomingCall(Box<IncomingCall>),
    /// The ACK for our 2xx arrived: the call is established.
    Established(CallId),
    /// The call is over; no more events for it.
    Ended(CallId, EndReason),
    /// An in-dialog INFO (RFC 6086), e.g. `application/dtmf-relay`.
    Info {
        /// The call.
        call: CallId,
        /// Content-Type value.
        content_type: Vec<u8>,
        /// Body.
        body: Vec<u8>,
    },
    /// Progress of a REFER we sent: the final response code, then NOTIFY sipfrag status codes.
    ReferStatus(CallId, u16),
    /// A re-INVITE or UPDATE brought a new offer (hold, resume, new address); it has been
    /// answered with our previous answer in the direction given (`RecvOnly` or `Inactive`:
    /// send no media until the next re-offer).
    Reoffer {
        /// The call.
        call: CallId,
        /// The new offer.
        sdp: Vec<u8>,
        /// Our direction now.
        direction: crate::sdp::Direction,
    },
    /// A call we placed is ringing (180) or has progress (183).
    Progress(CallId, u16),
    /// A call we placed was answered (and the 2xx ACKed): the callee's SDP answer.
    Answered {
        /// The call.
        call: CallId,
        /// The SDP answer.
        sdp: Vec<u8>,
    },
    /// A registration was accepted for `expires` seconds; it will be refreshed in time.
    Registered {
        /// The registration.
        reg: RegId,
        /// Seconds granted by the registrar.
        expires: u32,
    },
    /// A registration was refused (or timed out: 408); it is tried again later.
    RegistrationFailed {
        /// The registration.
        reg: RegId,
        /// The final response code.
        code: u16,
    },
    /// A registration was removed (REGISTER with Expires: 0 answered, or given up).
    Unregistered(RegId),
}

/// A new incoming call.
#[derive(Debug)]
pub struct IncomingCall {
    /// Handle for commands.
    pub call: CallId,
    /// The decoded user part of the Request-URI (the number or name dialled).
    pub user: Option<String>,
    /// The caller's URI user part (From), raw.
    pub from_user: Option<String>,
    /// The user part of the To URI (the number first dialled, when a proxy rewrote the
    /// Request-URI).
    pub to_user: Option<String>,
    /// The user part of the first Diversion URI (RFC 5806): the number the call was
    /// forwarded from.
    pub diversion_user: Option<String>,
    /// The SDP offer, if any (late offer has none).
    pub offer: Option<Vec<u8>>,
    /// Where the INVITE came from.
    pub source: SocketAddr,
    /// Transport it came over.
    pub transport: Transport,
    /// The Request-URI as sent (what a digest response covers).
    pub request_uri: String,
    /// The `Authorization` header, if the INVITE carries credentials.
    pub authorization: Option<String>,
}

/// What [`Endpoint::poll_output`] returns.
#[derive(Debug)]
pub enum Output {
    /// Send these bytes.
    Transmit(Transmit),
    /// Tell the application.
    Event(Event),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CallState {
    /// We sent an INVITE; no final answer yet.
    Dialing,
    Offered,
    Answered { acked: bool },
    Ended,
}

#[derive(Debug)]
struct Call {
    invite: Message,
    invite_tx: TxKey,
    call_id: Vec<u8>,
    local_tag: String,
    /// Raw From header of the INVITE (our To in requests we send).
    remote_party: Vec<u8>,
    /// Raw To header of the INVITE with our tag (our From).
    local_party: Vec<u8>,
    remote_target: Vec<u8>,
    route_set: Vec<Vec<u8>>,
    peer: Peer,
    local_cseq: u32,
    state: CallState,
    answer_sdp: Option<Vec<u8>>,
    ok: Option<Vec<u8>>,
    ok_retransmit: Option<(Instant, std::time::Duration)>,
    ok_deadline: Option<Instant>,
    /// Session timer (RFC 4028): interval, whether the peer supports timers, and when the
    /// session expires unless refreshed.
    session: Option<(u32, bool, Option<Instant>)>,
    /// Reliable provisional responses (RFC 3262): our RSeq, and the 180 being retransmitted
    /// until its PRACK (bytes, next retransmission, interval).
    rseq: Option<u32>,
    reliable_180: Option<(Vec<u8>, Instant, std::time::Duration)>,
    /// Set for calls we placed.
    uac: Option<Box<uac::Uac>>,
}

type TxKey = (Vec<u8>, bool);

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum TimerRef {
    Server(Vec<u8>, bool),
    Client(String),
    Call(CallId),
    Session(CallId),
    Register(RegId),
}

const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, REFER, NOTIFY, PRACK, UPDATE";

/// The SIP user agent core. See the module docs for the calling contract.
pub struct Endpoint {
    config: Config,
    rng: StdRng,
    server_txs: HashMap<TxKey, ServerTx>,
    client_txs: HashMap<String, ClientTx>,
    calls: HashMap<CallId, Call>,
    dialogs: HashMap<(Vec<u8>, String), CallId>,
    next_call: u64,
    registrations: HashMap<RegId, register::RegState>,
    timers: BinaryHeap<Reverse<(Instant, TimerRef)>>,
    out: VecDeque<Output>,
    /// Draining: new INVITEs and OPTIONS get 503 with this Retry-After (seconds).
    draining: Option<u32>,
    guard: Guard,
    dropped: Dropped,
}

impl Endpoint {
    /// A new endpoint; `seed` feeds tags, branches and Call-IDs (inject randomness).
    pub fn new(config: Config, seed: u64) -> Endpoint {
        Endpoint {
            rng: StdRng::seed_from_u64(seed),
            server_txs: HashMap::new(),
            client_txs: HashMap::new(),
            calls: HashMap::new(),
            dialogs: HashMap::new(),
            next_call: 1,
            registrations: HashMap::new(),
            timers: BinaryHeap::new(),
            out: VecDeque::new(),
            draining: None,
            guard: Guard::new(config.guard.clone()),
            dropped: Dropped::default(),
            config,
        }
    }

    /// Starts (`Some(retry_after_s)`) or stops draining. While draining, new INVITEs and
    /// OPTIONS (the health check of proxies such as Kamailio's dispatcher) get 503 Service
    /// Unavailable with `Retry-After`; calls in progress carry on.
    pub fn set_draining(&mut self, retry_after_s: Option<u32>) {
        self.draining = retry_after_s;
    }

    /// Number of calls not yet ended.
    pub fn active_calls(&self) -> usize {
        self.calls.len()
    }

    /// Next output, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When to call [`Endpoint::handle_timeout`] next (may be early; that is harmless).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.peek().map(|Reverse((at, _))| *at)
    }

    /// Records a failed authentication from `ip` at `tenant` (a wrong answer to a nonce issued
    /// to `ip`); says whether that bans it (see [`crate::guard`]).
    pub fn auth_failed(&mut self, now: Instant, ip: IpAddr, tenant: &str) -> crate::guard::Banned {
        self.guard.auth_failed(now, ip, tenant)
    }

    /// Whether `ip` is banned from `tenant`'s numbers (globally or by that tenant); counted
    /// as dropped when it is.
    pub fn banned_for(&mut self, now: Instant, ip: IpAddr, tenant: &str) -> bool {
        let banned = self.guard.banned_for(now, ip, tenant);
        self.dropped.banned += u64::from(banned);
        banned
    }

    /// The networks trunks admit: their sources get the trunk rate budget and are never
    /// banned globally.
    pub fn set_trusted(&mut self, nets: Vec<(ipnet::IpNet, Option<u32>)>) {
        self.guard.set_trusted(nets);
    }

    /// What the guard has dropped so far.
    pub fn dropped(&self) -> Dropped {
        self.dropped
    }

    /// Sources banned right now.
    pub fn bans(&self, now: Instant) -> usize {
        self.guard.bans(now)
    }

    /// A datagram (UDP) or a framed message (TCP) arrived from `source`.
    pub fn handle_datagram(&mut self, now: Instant, transport: Transport, source: SocketAddr, data: &[u8]) {
        if self.guard.banned(now, source.ip()) {
            self.dropped.banned += 1;
            return;
        }
        let peer = Peer { transport, addr: source };
        match parse_datagram(data) {
            Ok(msg) => self.handle_message(now, peer, msg),
            Err(err) => self.reject_unparsable(peer, data, &err),
        }
    }

    /// A message already framed by a stream transport.
    pub fn handle_message(&mut self, now: Instant, peer: Peer, msg: Message) {
        if self.guard.banned(now, peer.addr.ip()) {
            self.dropped.banned += 1;
            return;
        }
        let summary = match Summary::of(&msg) {
            Ok(s) => s,
            Err(_) => {
                if matches!(msg.start, StartLine::Request { .. }) && msg.method() != Some(&Method::Ack) {
                    self.stateless(&msg, 400, peer);
                }
                return;
            }
        };
        match &msg.start {
            StartLine::Request { method, .. } => {
                let method = method.clone();
                let key = Self::tx_key(&summary, &method);
                // Only what belongs to a live dialog or transaction is exempt from the rate:
                // a made-up To tag is a new request like any other.
                let new_request = !self.is_known(&summary, &method, &key);
                match self.guard.check_request(now, peer.addr.ip(), msg.headers.get("User-Agent"), new_request) {
                    Ok(()) => self.on_request(now, peer, msg, summary, method, key),
                    Err(GuardDrop::Banned) => self.dropped.banned += 1,
                    Err(GuardDrop::Scanner) => self.dropped.scanner += 1,
                    Err(GuardDrop::RateLimited) => self.dropped.rate_limited += 1,
                }
            }
            StartLine::Response { code, .. } => {
                let code = *code;
                self.on_response(now, code, &msg, &summary);
            }
        }
    }

    /// Whether a request belongs to a live dialog (our To tag) or transaction (a
    /// retransmission, an ACK or CANCEL of a transaction in progress).
    fn is_known(&self, summary: &Summary, method: &Method, key: &TxKey) -> bool {
        if let Some(tag) = summary.to.tag() {
            let dialog = (summary.call_id.clone(), String::from_utf8_lossy(tag).into_owned());
            if self.dialogs.contains_key(&dialog) {
                return true;
            }
        }
        if *method == Method::Cancel {
            // A CANCEL matches the INVITE transaction it cancels.
            let invite = (key.0[..key.0.len() - b"|CANCEL".len()].to_vec(), true);
            return self.server_txs.contains_key(&invite);
        }
        self.server_txs.contains_key(key)
    }

    fn reject_unparsable(&mut self, peer: Peer, data: &[u8], err: &ParseError) {
        // Answer what can be answered (RFC 4475: 505 for a bad version, 400 otherwise); drop
        // responses and anything without the headers a response needs.
        let Some(head) = crate::parse::parse_for_reply(data) else { return };
        if head.method().is_none() || head.method() == Some(&Method::Ack) {
            return;
        }
        let code = if *err == ParseError::Version { 505 } else { 400 };
        self.stateless(&head, code, peer);
    }

    fn identity(&self) -> Identity<'_> {
        Identity { server: &self.config.server, allow: ALLOW }
    }

    fn stateless(&mut self, req: &Message, code: u16, peer: Peer) {
        if req.headers.get("Via").is_none() {
            return;
        }
        let tag = self.new_token();
        let resp = response::build(req, code, Some(&tag), Some(peer.addr), &self.identity());
        self.transmit(peer, resp.to_bytes());
    }

    fn transmit(&mut self, peer: Peer, data: Vec<u8>) {
        self.out.push_back(Output::Transmit(Transmit { transport: peer.transport, dest: peer.addr, data }));
    }

    fn new_token(&mut self) -> String {
        format!("{:016x}", self.rng.gen::<u64>())
    }

    fn tx_key(summary: &Summary, method: &Method) -> TxKey {
        let via = &summary.vias[0];
        let invite_like = matches!(method, Method::Invite | Method::Ack);
        let mut key = match via.branch() {
            Some(b) if b.starts_with(b"z9hG4bK") && b.len() > 7 => b.to_vec(),
            // RFC 2543 peers: match on Call-ID, CSeq number, From tag and sent-by (17.2.3).
            _ => {
                let mut k = summary.call_id.clone();
                k.extend_from_slice(format!("|{}|", summary.cseq.seq).as_bytes());
                k.extend_from_slice(summary.from.tag().unwrap_or_default());
                k
            }
        };
        key.push(b'|');
        key.extend_from_slice(&via.host);
        key.extend_from_slice(format!(":{}", via.port.unwrap_or(5060)).as_bytes());
        if matches!(method, Method::Cancel) {
            key.extend_from_slice(b"|CANCEL");
        }
        (key, invite_like)
    }

    fn on_request(&mut self, now: Instant, peer: Peer, msg: Message, summary: Summary, method: Method, key: TxKey) {
        if method == Method::Ack {
            return self.on_ack(now, &key, &summary);
        }
        if let Some(tx) = self.server_txs.get(&key) {
            // A retransmission: repeat the last response, if any.
            if let Some(last) = tx.last_response.clone() {
                let peer = tx.peer;
                self.transmit(peer, last);
            }
            return;
        }
        if self.server_txs.len() >= self.config.max_transactions {
            return self.stateless(&msg, 503, peer);
        }
        if method == Method::Cancel {
            return self.on_cancel(now, peer, &msg, &summary);
        }
        // In-dialog requests carry our tag in To.
        if let Some(tag) = summary.to.tag() {
            let dialog = (summary.call_id.clone(), String::from_utf8_lossy(tag).into_owned());
            return match self.dialogs.get(&dialog).copied() {
                Some(call) => self.on_in_dialog(now, peer, msg, key, call, method),
                // Statelessly, as Kamailio's sl module does: no transaction, so nothing is
                // retransmitted towards a source that may be spoofed.
                None => self.stateless(&msg, 481, peer),
            };
        }
        if let StartLine::Request { uri, .. } = &msg.start {
            if SipUri::parse(uri).is_none() {
                return self.respond_new_tx(now, peer, &msg, key, 416, None);
            }
        }
        // RFC 3261 8.2.2.3: Parley supports no extension a request may require.
        let supported = |t: &str| t.is_empty() || t.eq_ignore_ascii_case("timer") || t.eq_ignore_ascii_case("100rel");
        let unsupported = |v: &[u8]| String::from_utf8_lossy(v).split(',').any(|t| !supported(t.trim()));
        if msg.headers.get_all("Require").any(unsupported) {
            return self.respond_new_tx(now, peer, &msg, key, 420, None);
        }
        match method {
            Method::Invite | Method::Options if self.draining.is_some() => self.respond_new_tx(now, peer, &msg, key, 503, None),
            Method::Invite => self.on_invite(now, peer, msg, key, summary),
            Method::Options => self.respond_new_tx(now, peer, &msg, key, 200, None),
            Method::Bye | Method::Info | Method::Notify | Method::Prack | Method::Update => {
                self.respond_new_tx(now, peer, &msg, key, 481, None)
            }
            Method::Extension(_) => self.respond_new_tx(now, peer, &msg, key, 501, None),
            _ => self.respond_new_tx(now, peer, &msg, key, 405, None),
        }
    }

    fn respond_new_tx(&mut self, now: Instant, peer: Peer, req: &Message, key: TxKey, code: u16, call: Option<CallId>) {
        let tx = ServerTx::new(key.1, peer, call);
        self.server_txs.insert(key.clone(), tx);
        let tag = self.new_token();
        let mut resp = response::build(req, code, Some(&tag), Some(peer.addr), &self.identity());
        match code {
            200 if req.method() == Some(&Method::Options) => resp.headers.push("Accept", "application/sdp"),
            415 | 406 => resp.headers.push("Accept", "application/sdp"),
            503 => {
                if let Some(s) = self.draining {
                    resp.headers.push("Retry-After", s.to_string());
                }
            }
            420 => {
                let tags: Vec<u8> = req.headers.get_all("Require").collect::<Vec<_>>().join(&b", "[..]);
                resp.headers.push("Unsupported", tags);
            }
            422 => resp.headers.push("Min-SE", session::MIN_SE.to_string()),
            _ => {}
        }
        self.send_response(now, &key, code, resp.to_bytes());
    }

    fn send_response(&mut self, now: Instant, key: &TxKey, code: u16, bytes: Vec<u8>) {
        let Some(tx) = self.server_txs.get_mut(key) else { return };
        tx.on_send(now, code, bytes.clone());
        let (peer, deadline) = (tx.peer, tx.deadline());
        self.transmit(peer, bytes);
        if let Some(at) = deadline {
            self.timers.push(Reverse((at, TimerRef::Server(key.0.clone(), key.1))));
        }
    }

    fn on_response(&mut self, now: Instant, code: u16, msg: &Message, summary: &Summary) {
        let Some(branch) = summary.vias[0].branch() else { return };
        let mut key = String::from_utf8_lossy(branch).into_owned();
        if summary.cseq.method == Method::Cancel {
            key.push_str("|CANCEL");
        }
        let Some(tx) = self.client_txs.get_mut(&key) else { return };
        match tx.purpose {
            ClientPurpose::Invite(_) => return self.on_invite_response(now, key, code, msg, summary),
            ClientPurpose::Register(reg) if code >= 200 && !tx.completed => {
                tx.on_final(now, code);
                let at = tx.deadline();
                self.timers.push(Reverse((at, TimerRef::Client(key))));
                return self.on_register_response(now, reg, code, msg);
            }
            _ => {}
        }
        if code < 200 || tx.completed {
            return;
        }
        tx.on_final(now, code);
        let (purpose, at) = (tx.purpose, tx.deadline());
        self.timers.push(Reverse((at, TimerRef::Client(key))));
        match purpose {
            ClientPurpose::Bye(call) => self.end_call(call, EndReason::Local),
            ClientPurpose::Refer(call) => self.out.push_back(Output::Event(Event::ReferStatus(call, code))),
            ClientPurpose::Invite(_) | ClientPurpose::Cancel(_) | ClientPurpose::Stray | ClientPurpose::Register(_) => {}
        }
    }

    fn end_call(&mut self, call: CallId, reason: EndReason) {
        if let Some(c) = self.calls.remove(&call) {
            self.dialogs.remove(&(c.call_id, c.local_tag));
            self.out.push_back(Output::Event(Event::Ended(call, reason)));
        }
    }
}
