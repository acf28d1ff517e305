//! In-dialog requests and session upkeep: ACK, CANCEL, BYE/INFO/NOTIFY/PRACK, re-INVITE and
//! UPDATE (re-offers, session refreshes), the requests we send in a dialog, and the session
//! timer.

use super::*;

impl Endpoint {
    pub(super) fn on_ack(&mut self, now: Instant, key: &TxKey, summary: &Summary) {
        if let Some(tx) = self.server_txs.get_mut(key) {
            if tx.state == ServerState::Completed {
                tx.on_ack(now);
                if let Some(at) = tx.deadline() {
                    self.timers.push(Reverse((at, TimerRef::Server(key.0.clone(), key.1))));
                }
                return;
            }
        }
        // ACK for a 2xx: its own transaction, matched to the dialog (RFC 3261 13.3.1.4).
        let Some(tag) = summary.to.tag() else { return };
        let dialog = (summary.call_id.clone(), String::from_utf8_lossy(tag).into_owned());
        let Some(&call) = self.dialogs.get(&dialog) else { return };
        let Some(c) = self.calls.get_mut(&call) else { return };
        if let CallState::Answered { acked: false } = c.state {
            c.state = CallState::Answered { acked: true };
            c.ok_retransmit = None;
            c.ok_deadline = None;
            self.out.push_back(Output::Event(Event::Established(call)));
        }
    }

    pub(super) fn on_cancel(&mut self, now: Instant, peer: Peer, msg: &Message, summary: &Summary) {
        let cancel_key = Self::tx_key(summary, &Method::Cancel);
        let invite_key = Self::tx_key(summary, &Method::Invite);
        let target = self.server_txs.get(&invite_key).map(|tx| (tx.state, tx.call));
        let Some((state, call)) = target else {
            return self.respond_new_tx(now, peer, msg, cancel_key, 481, None);
        };
        self.respond_new_tx(now, peer, msg, cancel_key, 200, None);
        if state == ServerState::Proceeding {
            if let Some(call) = call {
                if let Some(c) = self.calls.get_mut(&call) {
                    c.state = CallState::Ended;
                }
                self.send_call_response(now, call, 487, None);
                self.end_call(call, EndReason::Cancelled);
            }
        }
    }

    pub(super) fn on_in_dialog(&mut self, now: Instant, peer: Peer, msg: Message, key: TxKey, call: CallId, method: Method) {
        match method {
            Method::Bye => {
                self.respond_new_tx(now, peer, &msg, key, 200, Some(call));
                self.end_call(call, EndReason::RemoteBye);
            }
            Method::Info => {
                self.respond_new_tx(now, peer, &msg, key, 200, Some(call));
                let content_type = msg.headers.get("Content-Type").unwrap_or_default().to_vec();
                self.out.push_back(Output::Event(Event::Info { call, content_type, body: msg.body }));
            }
            Method::Notify => {
                self.respond_new_tx(now, peer, &msg, key, 200, Some(call));
                if let Some(code) = sipfrag_status(&msg.body) {
                    self.out.push_back(Output::Event(Event::ReferStatus(call, code)));
                }
            }
            Method::Invite | Method::Update => {
                // A session refresh (RFC 4028) and/or a re-offer (RFC 3264 §8: hold, resume,
                // new address): answer with our previous answer, direction mirrored.
                let interval = match session::requested(&msg) {
                    TimerRequest::Interval(secs, supported) => {
                        if let Some(c) = self.calls.get_mut(&call) {
                            c.session = Some((secs, supported, c.session.and_then(|s| s.2)));
                        }
                        Some(secs)
                    }
                    TimerRequest::TooSmall => return self.respond_new_tx(now, peer, &msg, key, 422, Some(call)),
                    TimerRequest::None => None,
                };
                let previous = self.calls.get(&call).and_then(|c| c.answer_sdp.clone());
                let reanswered = previous.as_deref().filter(|_| !msg.body.is_empty()).and_then(|p| session::reanswer(p, &msg.body));
                self.server_txs.insert(key.clone(), ServerTx::new(method == Method::Invite, peer, Some(call)));
                let tag = self.calls.get(&call).map(|c| c.local_tag.clone());
                let mut resp = response::build(&msg, 200, tag.as_deref(), Some(peer.addr), &self.identity());
                resp.headers.push("Contact", format!("<sip:parley@{}>", self.config.local));
                if let Some((secs, supported, _)) = self.calls.get(&call).and_then(|c| c.session) {
                    for (name, value) in session::response_headers(secs, supported) {
                        resp.headers.push(name, value);
                    }
                }
                if let Some((direction, sdp)) = reanswered {
                    resp.headers.push("Content-Type", "application/sdp");
                    resp.body = sdp.clone();
                    if let Some(c) = self.calls.get_mut(&call) {
                        c.answer_sdp = Some(sdp);
                    }
                    self.out.push_back(Output::Event(Event::Reoffer { call, sdp: msg.body.clone(), direction }));
                }
                self.send_response(now, &key, 200, resp.to_bytes());
                self.refresh_session(now, call, interval);
            }
            Method::Prack => {
                let (rseq, cseq) = match self.calls.get(&call) {
                    Some(c) => (c.rseq, Summary::of(&c.invite).map(|s| s.cseq.seq).unwrap_or(0)),
                    None => (None, 0),
                };
                let acknowledged = rseq.is_some_and(|r| session::rack_matches(&msg, r, cseq));
                if acknowledged {
                    if let Some(c) = self.calls.get_mut(&call) {
                        c.reliable_180 = None;
                    }
                }
                self.respond_new_tx(now, peer, &msg, key, if acknowledged { 200 } else { 481 }, Some(call));
            }
            Method::Options => self.respond_new_tx(now, peer, &msg, key, 200, Some(call)),
            Method::Extension(_) => self.respond_new_tx(now, peer, &msg, key, 501, Some(call)),
            _ => self.respond_new_tx(now, peer, &msg, key, 405, Some(call)),
        }
    }

    /// Restarts the session timer of `call` (answered, or refreshed with `interval`).
    pub(super) fn refresh_session(&mut self, now: Instant, call: CallId, interval: Option<u32>) {
        let Some(c) = self.calls.get_mut(&call) else { return };
        let Some((secs, _, deadline)) = c.session.as_mut() else { return };
        if let Some(i) = interval {
            *secs = i;
        }
        let at = now + session::expiry(*secs);
        *deadline = Some(at);
        self.timers.push(Reverse((at, TimerRef::Session(call))));
    }

    pub(super) fn session_timer(&mut self, now: Instant, call: CallId) {
        let expired = self.calls.get(&call).is_some_and(|c| {
            matches!(c.state, CallState::Answered { .. }) && c.session.is_some_and(|(_, _, d)| d.is_some_and(|d| d <= now))
        });
        if expired {
            self.hangup(now, call);
            self.end_call(call, EndReason::SessionExpired);
        }
    }

    pub(super) fn send_in_dialog(&mut self, now: Instant, call: CallId, method: Method, extra: Vec<(&str, Vec<u8>)>, purpose: ClientPurpose) {
        let branch = format!("z9hG4bK{}", self.new_token());
        let Some(transport) = self.calls.get(&call).map(|c| c.peer.transport) else { return };
        let (via, contact) = (self.via(transport, &branch), self.contact("parley", transport));
        let Some(c) = self.calls.get_mut(&call) else { return };
        c.local_cseq += 1;
        let bytes = uac::in_dialog_request(c, method, via, Some(&contact), extra);
        let peer = dialog_peer(c);
        self.start_client_tx(now, branch, peer, bytes, purpose);
    }
}

pub(super) fn sipfrag_status(body: &[u8]) -> Option<u16> {
    let line = body.split(|&b| b == b'\r' || b == b'\n').next()?;
    let rest = line.strip_prefix(b"SIP/2.0 ")?;
    let code = crate::parse::parse_decimal(rest.get(..3)?)?;
    u16::try_from(code).ok()
}

/// Where in-dialog requests of `c` go: over a connection, back over it; over UDP, to the
/// first route or the remote target.
pub(super) fn dialog_peer(c: &Call) -> Peer {
    let addr = if c.peer.transport == Transport::Udp { next_hop(c) } else { c.peer.addr };
    Peer { transport: c.peer.transport, addr }
}

fn next_hop(c: &Call) -> SocketAddr {
    let target = c.route_set.first().and_then(|r| {
        crate::header::NameAddr::parse(r, "Route").ok().map(|n| n.uri)
    }).unwrap_or_else(|| c.remote_target.clone());
    SipUri::parse(&target)
        .and_then(|u| {
            let host = String::from_utf8(u.host).ok()?;
            let ip: IpAddr = host.trim_start_matches('[').trim_end_matches(']').parse().ok()?;
            Some(SocketAddr::new(ip, u.port.unwrap_or(5060)))
        })
        // A hostname we cannot resolve here: answer where the INVITE came from (symmetric).
        .unwrap_or(c.peer.addr)
}
