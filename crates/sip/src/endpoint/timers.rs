//! Timers: server and client transaction retransmissions and timeouts, the 2xx and reliable
//! 180 retransmissions of a call, and session expiry.

use super::*;

impl Endpoint {
    /// Processes every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(Reverse((at, _))) = self.timers.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((_, which))) = self.timers.pop() else { break };
            match which {
                TimerRef::Server(k, invite) => self.server_timer(now, (k, invite)),
                TimerRef::Client(branch) => self.client_timer(now, branch),
                TimerRef::Call(call) => self.call_timer(now, call),
                TimerRef::Session(call) => self.session_timer(now, call),
                TimerRef::Register(reg) => self.register_timer(now, reg),
            }
        }
    }

    pub(super) fn server_timer(&mut self, now: Instant, key: TxKey) {
        let Some(tx) = self.server_txs.get_mut(&key) else { return };
        if tx.expires.is_some_and(|e| e <= now) {
            self.server_txs.remove(&key);
            return;
        }
        if let Some((at, interval)) = tx.retransmit {
            if at <= now {
                let next = backoff(interval);
                tx.retransmit = Some((now + next, next));
                if let Some(last) = tx.last_response.clone() {
                    let peer = tx.peer;
                    self.out.push_back(Output::Transmit(Transmit { transport: peer.transport, dest: peer.addr, data: last }));
                }
            }
        }
        if let Some(at) = self.server_txs.get(&key).and_then(ServerTx::deadline) {
            self.timers.push(Reverse((at, TimerRef::Server(key.0, key.1))));
        }
    }

    pub(super) fn client_timer(&mut self, now: Instant, branch: String) {
        let Some(tx) = self.client_txs.get_mut(&branch) else { return };
        if tx.expires <= now {
            let (purpose, completed) = (tx.purpose, tx.completed);
            self.client_txs.remove(&branch);
            if !completed {
                self.client_timed_out(now, purpose);
            }
            return;
        }
        if let Some((at, interval)) = tx.retransmit {
            if at <= now {
                let next = tx.next_interval(interval);
                tx.retransmit = Some((now + next, next));
                let (peer, data) = (tx.peer, tx.request.clone());
                self.out.push_back(Output::Transmit(Transmit { transport: peer.transport, dest: peer.addr, data }));
            }
        }
        if let Some(tx) = self.client_txs.get(&branch) {
            self.timers.push(Reverse((tx.deadline(), TimerRef::Client(branch))));
        }
    }

    /// No final response came (timers B and F, or an INVITE left in Proceeding too long).
    fn client_timed_out(&mut self, now: Instant, purpose: ClientPurpose) {
        match purpose {
            ClientPurpose::Bye(call) => self.end_call(call, EndReason::Local),
            ClientPurpose::Refer(call) => self.out.push_back(Output::Event(Event::ReferStatus(call, 408))),
            ClientPurpose::Invite(call) | ClientPurpose::Cancel(call) => {
                let dialing = self.calls.get(&call).filter(|c| c.state == CallState::Dialing);
                let Some(cancelled) = dialing.map(|c| c.uac.as_ref().is_some_and(|u| u.cancelled)) else { return };
                if purpose == ClientPurpose::Invite(call) || cancelled {
                    self.end_call(call, if cancelled { EndReason::Local } else { EndReason::Failed(408) });
                }
            }
            ClientPurpose::Stray => {}
            ClientPurpose::Register(reg) => self.on_register_timeout(now, reg),
        }
    }

    pub(super) fn call_timer(&mut self, now: Instant, call: CallId) {
        let Some(c) = self.calls.get_mut(&call) else { return };
        if c.state == CallState::Offered {
            // A reliable 180 without its PRACK yet: again, T1 doubling up to T2.
            if let Some((bytes, at, interval)) = c.reliable_180.clone() {
                if at <= now {
                    let next = backoff(interval);
                    c.reliable_180 = Some((bytes.clone(), now + next, next));
                    self.timers.push(Reverse((now + next, TimerRef::Call(call))));
                    let peer = c.peer;
                    self.out.push_back(Output::Transmit(Transmit { transport: peer.transport, dest: peer.addr, data: bytes }));
                }
            }
            return;
        }
        if c.state != (CallState::Answered { acked: false }) {
            return;
        }
        if c.ok_deadline.is_some_and(|d| d <= now) {
            // No ACK: the session is not established (RFC 3261 13.3.1.4): hang up.
            c.ok_retransmit = None;
            self.hangup(now, call);
            self.end_call(call, EndReason::NoAck);
            return;
        }
        if let Some((at, interval)) = c.ok_retransmit {
            if at <= now {
                let next = backoff(interval);
                c.ok_retransmit = Some((now + next, next));
                if let Some(ok) = c.ok.clone() {
                    let peer = c.peer;
                    self.out.push_back(Output::Transmit(Transmit { transport: peer.transport, dest: peer.addr, data: ok }));
                }
            }
        }
        let next = match (c.ok_retransmit.map(|r| r.0), c.ok_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Some(at) = next {
            self.timers.push(Reverse((at, TimerRef::Call(call))));
        }
    }
}
