//! RFC 3261 section 17 transaction state, as plain data the endpoint drives.
//!
//! Server INVITE transactions follow 17.2.1 with the "Accepted" state of RFC 6026 (so
//! retransmitted INVITEs after a 2xx get the 2xx again); non-INVITE server transactions follow
//! 17.2.2; client non-INVITE transactions (BYE, REFER, CANCEL, REGISTER) follow 17.1.2 and
//! client INVITE transactions 17.1.1 (timer A doubling without a cap, timer B, timer D for
//! absorbing a repeated failure, and RFC 6026's Accepted state for repeated 2xx).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::endpoint::{CallId, RegId, Transport};

/// RTT estimate (RFC 3261 timer T1).
pub const T1: Duration = Duration::from_millis(500);
/// Maximum retransmit interval for non-INVITE requests and INVITE responses (T2).
pub const T2: Duration = Duration::from_secs(4);
/// Maximum duration a message stays in the network (T4).
pub const T4: Duration = Duration::from_secs(5);

/// 64*T1: timers B, F, H, J and the RFC 6026 Accepted-state timer L.
pub fn timeout_64t1() -> Duration {
    T1 * 64
}

/// Where and how a transaction's messages go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peer {
    /// The transport the request arrived on (or is sent over).
    pub transport: Transport,
    /// The remote address.
    pub addr: SocketAddr,
}

impl Peer {
    /// Whether retransmissions are ours to do (unreliable transport).
    pub fn unreliable(&self) -> bool {
        self.transport == Transport::Udp
    }
}

/// Server transaction states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerState {
    /// Request received, no final response yet (Trying / Proceeding).
    Proceeding,
    /// INVITE answered with 2xx; absorbing retransmissions (RFC 6026).
    Accepted,
    /// Final non-2xx (INVITE) or any final (non-INVITE) response sent.
    Completed,
    /// INVITE: ACK for the non-2xx received.
    Confirmed,
}

/// A server transaction.
#[derive(Debug)]
pub struct ServerTx {
    /// INVITE or not (different state machines).
    pub invite: bool,
    /// Current state.
    pub state: ServerState,
    /// The last response sent, for retransmission.
    pub last_response: Option<Vec<u8>>,
    /// Where responses go.
    pub peer: Peer,
    /// The call this transaction belongs to (INVITE, CANCEL and in-dialog requests).
    pub call: Option<CallId>,
    /// Next retransmission (timer G) and its interval.
    pub retransmit: Option<(Instant, Duration)>,
    /// When the transaction ends (timers H, I, J, L).
    pub expires: Option<Instant>,
}

impl ServerTx {
    /// A transaction for a request that just arrived.
    pub fn new(invite: bool, peer: Peer, call: Option<CallId>) -> ServerTx {
        ServerTx {
            invite,
            state: ServerState::Proceeding,
            last_response: None,
            peer,
            call,
            retransmit: None,
            expires: None,
        }
    }

    /// Records a response being sent and moves the state machine.
    pub fn on_send(&mut self, now: Instant, code: u16, bytes: Vec<u8>) {
        self.last_response = Some(bytes);
        if code < 200 {
            return;
        }
        let reliable = !self.peer.unreliable();
        match (self.invite, code) {
            (true, 200..=299) => {
                self.state = ServerState::Accepted;
                self.expires = Some(now + timeout_64t1());
            }
            (true, _) => {
                self.state = ServerState::Completed;
                self.expires = Some(now + timeout_64t1());
                self.retransmit = (!reliable).then_some((now + T1, T1));
            }
            (false, _) => {
                self.state = ServerState::Completed;
                self.expires = Some(now + if reliable { Duration::ZERO } else { timeout_64t1() });
            }
        }
    }

    /// ACK for a non-2xx final response: stop retransmitting, linger T4 (timer I).
    pub fn on_ack(&mut self, now: Instant) {
        if self.state == ServerState::Completed && self.invite {
            self.state = ServerState::Confirmed;
            self.retransmit = None;
            self.expires = Some(now + if self.peer.unreliable() { T4 } else { Duration::ZERO });
        }
    }

    /// The earliest instant this transaction needs attention.
    pub fn deadline(&self) -> Option<Instant> {
        match (self.retransmit.map(|r| r.0), self.expires) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// A client transaction (17.1.1 for INVITE, 17.1.2 for the rest).
#[derive(Debug)]
pub struct ClientTx {
    /// The request, for retransmission.
    pub request: Vec<u8>,
    /// Where it goes.
    pub peer: Peer,
    /// Which request this is and for whom, for reporting the outcome.
    pub purpose: ClientPurpose,
    /// INVITE: the ACK sent for the final response, repeated when that response is.
    pub ack: Option<(Peer, Vec<u8>)>,
    /// Next retransmission (timer E) and interval; `None` when reliable or completed.
    pub retransmit: Option<(Instant, Duration)>,
    /// Timer F (timeout) while waiting, timer K once completed.
    pub expires: Instant,
    /// A final response arrived.
    pub completed: bool,
}

/// What a client transaction was for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientPurpose {
    /// BYE ending a call.
    Bye(CallId),
    /// REFER transferring a call.
    Refer(CallId),
    /// INVITE placing a call.
    Invite(CallId),
    /// CANCEL of an INVITE we sent.
    Cancel(CallId),
    /// BYE of a dialog we did not want (a second 2xx from a forking proxy).
    Stray,
    /// REGISTER of a registration.
    Register(RegId),
}

/// How long an INVITE may stay in Proceeding before the call is given up (a proxy's
/// timer C is at least 3 minutes, RFC 3261 §16.6).
pub const PROCEEDING_LIMIT: Duration = Duration::from_secs(180);

impl ClientTx {
    /// Starts a client transaction at `now`.
    pub fn new(now: Instant, request: Vec<u8>, peer: Peer, purpose: ClientPurpose) -> ClientTx {
        ClientTx {
            request,
            peer,
            purpose,
            ack: None,
            retransmit: peer.unreliable().then_some((now + T1, T1)),
            expires: now + timeout_64t1(),
            completed: false,
        }
    }

    /// Whether this is an INVITE transaction.
    pub fn invite(&self) -> bool {
        matches!(self.purpose, ClientPurpose::Invite(_))
    }

    /// A provisional response arrived: an INVITE stops retransmitting and waits (Proceeding).
    pub fn on_provisional(&mut self, now: Instant) {
        if self.invite() && !self.completed {
            self.retransmit = None;
            self.expires = now + PROCEEDING_LIMIT;
        }
    }

    /// A final response arrived: stop retransmitting and linger on UDP to absorb repeats:
    /// T4 for non-INVITE (timer K), 32 s after an INVITE failure (timer D), 64*T1 after a 2xx
    /// (RFC 6026 Accepted).
    pub fn on_final(&mut self, now: Instant, code: u16) {
        self.completed = true;
        self.retransmit = None;
        let linger = match (self.invite(), code) {
            (true, 200..=299) => timeout_64t1(),
            (true, _) if self.peer.unreliable() => Duration::from_secs(32),
            (false, _) if self.peer.unreliable() => T4,
            _ => Duration::ZERO,
        };
        self.expires = now + linger;
    }

    /// The next retransmission interval: INVITEs double without a cap (timer A), others
    /// stop at T2 (timer E).
    pub fn next_interval(&self, interval: Duration) -> Duration {
        if self.invite() { interval * 2 } else { backoff(interval) }
    }

    /// The earliest instant this transaction needs attention.
    pub fn deadline(&self) -> Instant {
        self.retransmit.map_or(self.expires, |r| r.0.min(self.expires))
    }
}

/// Next retransmission interval: doubling, capped at T2 (timers E and G).
pub fn backoff(interval: Duration) -> Duration {
    (interval * 2).min(T2)
}
