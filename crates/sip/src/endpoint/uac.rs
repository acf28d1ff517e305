//! Outgoing calls, the UAC side of RFC 3261 §13.2 and §17.1.1: the INVITE (retransmitted on
//! UDP by timer A until timer B), provisional responses, ACK for a 2xx (end to end: a new
//! branch, to the remote target through the route set) and for a failure (hop by hop: the
//! INVITE's branch), CANCEL once the callee has answered provisionally, one retry answering a
//! 401/407 digest challenge, and a second 2xx from another fork (ACKed, then sent BYE).

use super::*;
use crate::digest;

/// An outgoing call to place with [`Endpoint::dial`].
#[derive(Clone, Debug)]
pub struct Dial {
    /// Request-URI and To: whom to call, e.g. `sip:+4930123456@carrier.example`.
    pub target: crate::uri::Uri,
    /// Our From URI: the caller ID the trunk presents, e.g. `sip:+4930999@parley.example`.
    pub from: crate::uri::Uri,
    /// The first hop (the trunk's proxy): address and transport.
    pub next_hop: Peer,
    /// The SDP offer.
    pub offer: Vec<u8>,
    /// Credentials for a 401/407 challenge.
    pub credentials: Option<Credentials>,
}

/// A username and password for digest challenges (outgoing calls, registrations).
#[derive(Clone, Debug)]
pub struct Credentials {
    /// The username.
    pub username: String,
    /// The password.
    pub password: String,
}

/// The UAC side of a call we placed.
#[derive(Debug)]
pub(super) struct Uac {
    /// Branch of the INVITE transaction in progress.
    branch: String,
    credentials: Option<Credentials>,
    /// Challenges answered so far (one, plus one after `stale=true`).
    auth_tries: u8,
    /// A provisional response arrived (a CANCEL may be sent).
    provisional: bool,
    /// Hang up was asked before the answer: CANCEL (now or after the first provisional), or
    /// BYE should a 2xx cross it.
    pub(super) cancelled: bool,
    /// The To tag of the 2xx that set up the dialog.
    answered_tag: Option<Vec<u8>>,
}

impl Endpoint {
    /// Places a call: sends the INVITE. Progress comes back as [`Event::Progress`], the answer
    /// as [`Event::Answered`], a failure as [`Event::Ended`] with [`EndReason::Failed`].
    /// [`Endpoint::hangup`] cancels a call not yet answered.
    pub fn dial(&mut self, now: Instant, dial: Dial) -> CallId {
        let call = CallId(self.next_call);
        self.next_call += 1;
        let local_tag = self.new_token();
        let call_id = format!("{}@{}", self.new_token(), self.config.local.ip()).into_bytes();
        let cseq = self.rng.gen_range(1..10_000);
        let branch = format!("z9hG4bK{}", self.new_token());
        let local_party = format!("<{}>;tag={local_tag}", dial.from).into_bytes();
        let remote_party = format!("<{}>", dial.target).into_bytes();
        let mut headers = crate::message::Headers::default();
        headers.push("Via", self.via(dial.next_hop.transport, &branch));
        headers.push("Max-Forwards", "70");
        headers.push("From", local_party.clone());
        headers.push("To", remote_party.clone());
        headers.push("Call-ID", call_id.clone());
        headers.push("CSeq", format!("{cseq} INVITE"));
        headers.push("Contact", self.contact("parley", dial.next_hop.transport));
        headers.push("Allow", ALLOW);
        headers.push("User-Agent", self.config.server.clone());
        headers.push("Content-Type", "application/sdp");
        let uri = dial.target.to_string().into_bytes();
        let invite = Message { start: StartLine::Request { method: Method::Invite, uri: uri.clone() }, headers, body: dial.offer.clone() };
        self.dialogs.insert((call_id.clone(), local_tag.clone()), call);
        self.calls.insert(call, Call {
            invite,
            invite_tx: (Vec::new(), true),
            call_id,
            local_tag,
            remote_party,
            local_party,
            remote_target: uri,
            route_set: Vec::new(),
            peer: dial.next_hop,
            local_cseq: cseq,
            state: CallState::Dialing,
            answer_sdp: Some(dial.offer),
            ok: None,
            ok_retransmit: None,
            ok_deadline: None,
            session: None,
            rseq: None,
            reliable_180: None,
            uac: Some(Box::new(Uac { branch: branch.clone(), credentials: dial.credentials, auth_tries: 0, provisional: false, cancelled: false, answered_tag: None })),
        });
        self.send_invite(now, call, branch);
        call
    }

    pub(super) fn via(&self, transport: Transport, branch: &str) -> String {
        format!("SIP/2.0/{} {};branch={branch};rport", transport.via_token(), self.config.local)
    }

    pub(super) fn contact(&self, user: &str, transport: Transport) -> String {
        let param = match transport {
            Transport::Udp => "",
            Transport::Tcp => ";transport=tcp",
            Transport::Tls => ";transport=tls",
        };
        format!("<sip:{user}@{}{param}>", self.config.local)
    }

    fn send_invite(&mut self, now: Instant, call: CallId, branch: String) {
        let Some(c) = self.calls.get(&call) else { return };
        let (peer, bytes) = (c.peer, c.invite.to_bytes());
        self.start_client_tx(now, branch, peer, bytes, ClientPurpose::Invite(call));
    }

    /// Starts a client transaction keyed by `key` and sends its request.
    pub(super) fn start_client_tx(&mut self, now: Instant, key: String, peer: Peer, bytes: Vec<u8>, purpose: ClientPurpose) {
        let tx = ClientTx::new(now, bytes.clone(), peer, purpose);
        self.timers.push(Reverse((tx.deadline(), TimerRef::Client(key.clone()))));
        self.client_txs.insert(key, tx);
        self.transmit(peer, bytes);
    }

    /// Hang up before the answer: CANCEL once a provisional response has come (RFC 3261
    /// §9.1), else when the first one comes.
    pub(super) fn cancel_dial(&mut self, now: Instant, call: CallId) {
        let Some(uac) = self.calls.get_mut(&call).and_then(|c| c.uac.as_mut()) else { return };
        if uac.cancelled {
            return;
        }
        uac.cancelled = true;
        if uac.provisional {
            self.send_cancel(now, call);
        }
    }

    fn send_cancel(&mut self, now: Instant, call: CallId) {
        let Some(c) = self.calls.get(&call) else { return };
        let Some(uac) = c.uac.as_ref() else { return };
        let mut headers = crate::message::Headers::default();
        for name in ["Via", "Route"] {
            if let Some(v) = c.invite.headers.get(name) {
                headers.push(name, v.to_vec());
            }
        }
        headers.push("Max-Forwards", "70");
        for name in ["From", "To", "Call-ID"] {
            headers.push(name, c.invite.headers.get(name).unwrap_or_default().to_vec());
        }
        headers.push("CSeq", format!("{} CANCEL", c.local_cseq));
        let cancel = Message { start: StartLine::Request { method: Method::Cancel, uri: c.remote_target.clone() }, headers, body: Vec::new() };
        let key = format!("{}|CANCEL", uac.branch);
        let peer = c.peer;
        self.start_client_tx(now, key, peer, cancel.to_bytes(), ClientPurpose::Cancel(call));
    }

    /// A response to one of our INVITEs (`branch` names the transaction).
    pub(super) fn on_invite_response(&mut self, now: Instant, branch: String, code: u16, msg: &Message, summary: &Summary) {
        let Some(tx) = self.client_txs.get_mut(&branch) else { return };
        let ClientPurpose::Invite(call) = tx.purpose else { return };
        if code < 200 {
            tx.on_provisional(now);
            let at = tx.deadline();
            self.timers.push(Reverse((at, TimerRef::Client(branch))));
            let Some(uac) = self.calls.get_mut(&call).and_then(|c| c.uac.as_mut()) else { return };
            let first = !uac.provisional;
            uac.provisional = true;
            if first && uac.cancelled {
                self.send_cancel(now, call);
            }
            if code > 100 {
                self.out.push_back(Output::Event(Event::Progress(call, code)));
            }
            return;
        }
        if (200..300).contains(&code) {
            return self.on_invite_ok(now, branch, call, msg, summary);
        }
        // A failure: ACK it (hop by hop, the INVITE's branch), every time it comes.
        if tx.completed {
            if let Some((peer, ack)) = tx.ack.clone() {
                self.transmit(peer, ack);
            }
            return;
        }
        tx.on_final(now, code);
        let (at, peer) = (tx.deadline(), tx.peer);
        self.timers.push(Reverse((at, TimerRef::Client(branch.clone()))));
        let Some(ack) = self.calls.get(&call).map(|c| failure_ack(c, msg)) else { return };
        if let Some(tx) = self.client_txs.get_mut(&branch) {
            tx.ack = Some((peer, ack.clone()));
        }
        self.transmit(peer, ack);
        if matches!(code, 401 | 407) && self.retry_with_credentials(now, call, code, msg) {
            return;
        }
        let cancelled = self.calls.get(&call).and_then(|c| c.uac.as_ref()).is_some_and(|u| u.cancelled);
        if let Some(c) = self.calls.get_mut(&call) {
            c.state = CallState::Ended;
        }
        self.end_call(call, if cancelled { EndReason::Local } else { EndReason::Failed(code) });
    }

    /// Answers a digest challenge with a new INVITE (CSeq + 1, new branch); false when there
    /// is nothing to answer with (no credentials, tried already, or an unusable challenge).
    fn retry_with_credentials(&mut self, now: Instant, call: CallId, code: u16, msg: &Message) -> bool {
        let cnonce = self.new_token();
        let branch = format!("z9hG4bK{}", self.new_token());
        let Some(c) = self.calls.get(&call) else { return false };
        let Some(uac) = c.uac.as_ref().filter(|u| !u.cancelled) else { return false };
        let Some(creds) = uac.credentials.as_ref() else { return false };
        let uri = String::from_utf8_lossy(&c.remote_target).into_owned();
        let Some((header, value)) = challenge_answer(msg, code, creds, uac.auth_tries, "INVITE", &uri, &cnonce) else { return false };
        let via = self.via(c.peer.transport, &branch);
        let Some(c) = self.calls.get_mut(&call) else { return false };
        let Some(uac) = c.uac.as_mut() else { return false };
        uac.auth_tries += 1;
        uac.branch = branch.clone();
        uac.provisional = false;
        c.local_cseq += 1;
        c.invite.headers.set("Via", via);
        c.invite.headers.set("CSeq", format!("{} INVITE", c.local_cseq));
        c.invite.headers.set(header, value);
        self.send_invite(now, call, branch);
        true
    }

    fn on_invite_ok(&mut self, now: Instant, branch: String, call: CallId, msg: &Message, summary: &Summary) {
        let Some(tx) = self.client_txs.get_mut(&branch) else { return };
        let to_tag = summary.to.tag().map(<[u8]>::to_vec);
        let answered_tag = self.calls.get(&call).and_then(|c| c.uac.as_ref()).and_then(|u| u.answered_tag.clone());
        if tx.completed {
            match (&answered_tag, &tx.ack) {
                // The same 2xx again: the same ACK (the dialog's, RFC 3261 §13.2.2.4).
                (Some(tag), Some((peer, ack))) if Some(tag) == to_tag.as_ref() => {
                    let (peer, ack) = (*peer, ack.clone());
                    self.transmit(peer, ack);
                }
                // Another fork answered too: confirm, then leave that dialog.
                _ => self.release_fork(now, call, msg, summary),
            }
            return;
        }
        tx.on_final(now, 200);
        let at = tx.deadline();
        self.timers.push(Reverse((at, TimerRef::Client(branch.clone()))));
        let via = self.via_for(self.calls.get(&call).map_or(Transport::Udp, |c| c.peer.transport));
        let Some(c) = self.calls.get_mut(&call) else {
            // Hung up and forgotten meanwhile: confirm and leave.
            return self.release_fork(now, call, msg, summary);
        };
        c.remote_party = msg.headers.get("To").unwrap_or_default().to_vec();
        if let Some(contact) = &summary.contact {
            c.remote_target = contact.uri.clone();
        }
        c.route_set = record_routes(msg).into_iter().rev().collect();
        c.state = CallState::Answered { acked: true };
        let cancelled = c.uac.as_mut().map(|u| {
            u.answered_tag = to_tag;
            u.cancelled
        });
        let (peer, ack) = dialog_ack(c, via);
        self.transmit(peer, ack.clone());
        if let Some(tx) = self.client_txs.get_mut(&branch) {
            tx.ack = Some((peer, ack));
        }
        if cancelled == Some(true) {
            // Our CANCEL crossed the 2xx: the call is up, so end it (RFC 3261 §9.1).
            return self.hangup(now, call);
        }
        self.out.push_back(Output::Event(Event::Answered { call, sdp: msg.body.clone() }));
    }

    fn via_for(&mut self, transport: Transport) -> String {
        let branch = format!("z9hG4bK{}", self.new_token());
        self.via(transport, &branch)
    }

    /// A 2xx from a dialog we will not keep: ACK it and send BYE (RFC 3261 §13.2.2.4).
    fn release_fork(&mut self, now: Instant, call: CallId, msg: &Message, summary: &Summary) {
        let Some(c) = self.calls.get(&call) else { return };
        let mut fork = Call {
            invite: c.invite.clone(),
            invite_tx: (Vec::new(), true),
            call_id: c.call_id.clone(),
            local_tag: c.local_tag.clone(),
            remote_party: msg.headers.get("To").unwrap_or_default().to_vec(),
            local_party: c.local_party.clone(),
            remote_target: summary.contact.as_ref().map_or_else(|| c.remote_target.clone(), |n| n.uri.clone()),
            route_set: record_routes(msg).into_iter().rev().collect(),
            peer: c.peer,
            local_cseq: c.local_cseq,
            state: CallState::Ended,
            answer_sdp: None,
            ok: None,
            ok_retransmit: None,
            ok_deadline: None,
            session: None,
            rseq: None,
            reliable_180: None,
            uac: None,
        };
        let (peer, ack) = dialog_ack(&fork, self.via_for(fork.peer.transport));
        self.transmit(peer, ack);
        fork.local_cseq += 1;
        let bye = in_dialog_request(&fork, Method::Bye, self.via_for(fork.peer.transport), Some(&self.contact("parley", fork.peer.transport)), Vec::new());
        let key = format!("stray-{}", self.new_token());
        self.start_client_tx(now, key, peer, bye, ClientPurpose::Stray);
    }
}

/// The answer to the digest challenge of a 401 or 407 `resp` with `creds`, after `tries`
/// answers already: one, and a second only when the challenge says our nonce went stale. The
/// header (`Authorization` or `Proxy-Authorization`) and its value for `method` and `uri`.
pub(super) fn challenge_answer(resp: &Message, code: u16, creds: &Credentials, tries: u8, method: &str, uri: &str, cnonce: &str) -> Option<(&'static str, String)> {
    let (challenge, answer) = if code == 401 { ("WWW-Authenticate", "Authorization") } else { ("Proxy-Authenticate", "Proxy-Authorization") };
    let values: Vec<String> = resp.headers.get_all(challenge).map(|v| String::from_utf8_lossy(v).into_owned()).collect();
    let stale = values.iter().any(|v| digest::parse_params(v).is_some_and(|p| p.get("stale").is_some_and(|s| s.eq_ignore_ascii_case("true"))));
    if !(tries == 0 || (tries == 1 && stale)) {
        return None;
    }
    let refs: Vec<&str> = values.iter().map(String::as_str).collect();
    digest::answer_challenge(&refs, &creds.username, &creds.password, method, uri, cnonce).map(|v| (answer, v))
}

fn record_routes(msg: &Message) -> Vec<Vec<u8>> {
    msg.headers
        .get_all("Record-Route")
        .flat_map(|v| crate::header::split_outside_quotes(v, b',').into_iter().map(|r| crate::parse::trim(r).to_vec()).collect::<Vec<_>>())
        .collect()
}

/// The ACK for a failure: the INVITE's Request-URI, top Via and Route, the response's To
/// (RFC 3261 §17.1.1.3).
fn failure_ack(c: &Call, resp: &Message) -> Vec<u8> {
    let mut headers = crate::message::Headers::default();
    if let Some(via) = c.invite.headers.get("Via") {
        headers.push("Via", via.to_vec());
    }
    for r in c.invite.headers.get_all("Route") {
        headers.push("Route", r.to_vec());
    }
    headers.push("Max-Forwards", "70");
    headers.push("From", c.invite.headers.get("From").unwrap_or_default().to_vec());
    headers.push("To", resp.headers.get("To").unwrap_or_default().to_vec());
    headers.push("Call-ID", c.call_id.clone());
    headers.push("CSeq", format!("{} ACK", c.local_cseq));
    let uri = match &c.invite.start {
        StartLine::Request { uri, .. } => uri.clone(),
        StartLine::Response { .. } => c.remote_target.clone(),
    };
    Message { start: StartLine::Request { method: Method::Ack, uri }, headers, body: Vec::new() }.to_bytes()
}

/// The ACK for a 2xx: an in-dialog request with the INVITE's CSeq number; where it goes.
fn dialog_ack(c: &Call, via: String) -> (Peer, Vec<u8>) {
    (dialog::dialog_peer(c), in_dialog_request(c, Method::Ack, via, None, Vec::new()))
}

/// An in-dialog request of `c` (RFC 3261 §12.2.1.1) with the dialog's current CSeq; `contact`
/// for requests that carry one (not ACK).
pub(super) fn in_dialog_request(c: &Call, method: Method, via: String, contact: Option<&str>, extra: Vec<(&str, Vec<u8>)>) -> Vec<u8> {
    let mut headers = crate::message::Headers::default();
    headers.push("Via", via);
    headers.push("Max-Forwards", "70");
    for r in &c.route_set {
        headers.push("Route", r.clone());
    }
    headers.push("From", c.local_party.clone());
    headers.push("To", c.remote_party.clone());
    headers.push("Call-ID", c.call_id.clone());
    headers.push("CSeq", format!("{} {}", c.local_cseq, String::from_utf8_lossy(method.as_bytes())));
    if let Some(contact) = contact {
        headers.push("Contact", contact.to_string());
    }
    for (name, value) in extra {
        headers.push(name, value);
    }
    Message { start: StartLine::Request { method, uri: c.remote_target.clone() }, headers, body: Vec::new() }.to_bytes()
}
