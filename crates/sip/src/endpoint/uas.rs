//! The answering side of a call (UAS): an incoming INVITE becomes an [`IncomingCall`], and the
//! application's decisions (ring, answer, reject, hang up, transfer) become responses and
//! in-dialog requests.

use super::*;

impl Endpoint {
    pub(super) fn on_invite(&mut self, now: Instant, peer: Peer, msg: Message, key: TxKey, summary: Summary) {
        let StartLine::Request { uri, .. } = &msg.start else { return };
        let sip_uri = SipUri::parse(uri);
        // Body checks of RFC 3261 8.2.3 (the URI and Require checks ran in on_request).
        if !accepts_sdp(&msg) {
            return self.respond_new_tx(now, peer, &msg, key, 406, None);
        }
        if !msg.body.is_empty() && !content_type_is_sdp(&msg) {
            return self.respond_new_tx(now, peer, &msg, key, 415, None);
        }
        let wants_100rel = session::wants_100rel(&msg);
        let session = match session::requested(&msg) {
            TimerRequest::TooSmall => return self.respond_new_tx(now, peer, &msg, key, 422, None),
            TimerRequest::Interval(secs, supported) => Some((secs, supported, None)),
            TimerRequest::None => None,
        };
        let call = CallId(self.next_call);
        self.next_call += 1;
        let local_tag = self.new_token();
        let mut local_party = msg.headers.get("To").unwrap_or_default().to_vec();
        local_party.extend_from_slice(format!(";tag={local_tag}").as_bytes());
        let remote_target = summary.contact.as_ref().map(|c| c.uri.clone()).unwrap_or_else(|| summary.from.uri.clone());
        let route_set = msg.headers.get_all("Record-Route").flat_map(|v| {
            crate::header::split_outside_quotes(v, b',').into_iter().map(|r| crate::parse::trim(r).to_vec()).collect::<Vec<_>>()
        }).collect();
        let incoming = IncomingCall {
            call,
            user: sip_uri.as_ref().and_then(SipUri::user_name),
            from_user: SipUri::parse(&summary.from.uri).and_then(|u| u.user_name()),
            to_user: SipUri::parse(&summary.to.uri).and_then(|u| u.user_name()),
            diversion_user: msg
                .headers
                .get("Diversion")
                .and_then(|v| crate::header::split_outside_quotes(v, b',').into_iter().next().map(|d| crate::parse::trim(d).to_vec()))
                .and_then(|d| NameAddr::parse(&d, "Diversion").ok())
                .and_then(|d| SipUri::parse(&d.uri))
                .and_then(|u| u.user_name()),
            offer: (!msg.body.is_empty()).then(|| msg.body.clone()),
            source: peer.addr,
            transport: peer.transport,
            request_uri: String::from_utf8_lossy(uri).into_owned(),
            authorization: msg.headers.get("Authorization").map(|v| String::from_utf8_lossy(v).into_owned()),
        };
        self.server_txs.insert(key.clone(), ServerTx::new(true, peer, Some(call)));
        self.dialogs.insert((summary.call_id.clone(), local_tag.clone()), call);
        self.calls.insert(call, Call {
            invite: msg,
            invite_tx: key.clone(),
            call_id: summary.call_id,
            local_tag,
            remote_party: Vec::new(),
            local_party,
            remote_target,
            route_set,
            peer,
            local_cseq: self.rng.gen_range(1..10_000),
            state: CallState::Offered,
            answer_sdp: None,
            ok: None,
            ok_retransmit: None,
            ok_deadline: None,
            session,
            rseq: wants_100rel.then(|| self.rng.gen_range(1..0x7FFF_FFFF)),
            reliable_180: None,
            uac: None,
        });
        if let Some(c) = self.calls.get_mut(&call) {
            c.remote_party = c.invite.headers.get("From").unwrap_or_default().to_vec();
        }
        self.send_call_response(now, call, 100, None);
        self.out.push_back(Output::Event(Event::IncomingCall(Box::new(incoming))));
    }

    /// Builds and sends a response to the call's INVITE.
    pub(super) fn send_call_response(&mut self, now: Instant, call: CallId, code: u16, sdp: Option<Vec<u8>>) {
        self.send_call_response_with(now, call, code, sdp, &[]);
    }

    pub(super) fn send_call_response_with(&mut self, now: Instant, call: CallId, code: u16, sdp: Option<Vec<u8>>, extra: &[(&str, String)]) {
        let local = self.config.local;
        let identity = Identity { server: &self.config.server, allow: ALLOW };
        let Some(c) = self.calls.get_mut(&call) else { return };
        let mut resp = response::build(&c.invite, code, Some(&c.local_tag), Some(c.peer.addr), &identity);
        for (name, value) in extra {
            resp.headers.push(name, value.clone());
        }
        if let (200..=299, Some((secs, supported, _))) = (code, c.session) {
            for (name, value) in session::response_headers(secs, supported) {
                resp.headers.push(name, value);
            }
        }
        if (101..300).contains(&code) {
            let transport = match c.peer.transport {
                Transport::Tcp => ";transport=tcp",
                Transport::Tls => ";transport=tls",
                Transport::Udp => "",
            };
            resp.headers.push("Contact", format!("<sip:parley@{}{transport}>", local));
            for rr in c.invite.headers.get_all("Record-Route") {
                resp.headers.push("Record-Route", rr.to_vec());
            }
        }
        if let Some(body) = sdp {
            resp.headers.push("Content-Type", "application/sdp");
            resp.body = body;
        }
        let bytes = resp.to_bytes();
        if (200..300).contains(&code) {
            c.ok = Some(bytes.clone());
            c.ok_deadline = Some(now + timeout_64t1());
            if c.peer.unreliable() {
                c.ok_retransmit = Some((now + T1, T1));
            }
            self.timers.push(Reverse((now + if c.peer.unreliable() { T1 } else { timeout_64t1() }, TimerRef::Call(call))));
        }
        let key = c.invite_tx.clone();
        self.send_response(now, &key, code, bytes);
    }

    /// Sends 180 Ringing.
    pub fn ring(&mut self, now: Instant, call: CallId) {
        let Some(c) = self.calls.get(&call).filter(|c| c.state == CallState::Offered) else { return };
        let Some(rseq) = c.rseq else {
            return self.send_call_response(now, call, 180, None);
        };
        // Reliable (RFC 3262): Require: 100rel and RSeq, retransmitted until PRACK.
        let headers = [("Require", "100rel".to_string()), ("RSeq", rseq.to_string())];
        self.send_call_response_with(now, call, 180, None, &headers);
        let Some(c) = self.calls.get_mut(&call) else { return };
        if c.peer.unreliable() {
            if let Some(bytes) = self.server_txs.get(&c.invite_tx).and_then(|tx| tx.last_response.clone()) {
                c.reliable_180 = Some((bytes, now + T1, T1));
                self.timers.push(Reverse((now + T1, TimerRef::Call(call))));
            }
        }
    }

    /// Answers with 200 OK and an SDP answer.
    pub fn answer(&mut self, now: Instant, call: CallId, sdp: Vec<u8>) {
        let Some(c) = self.calls.get_mut(&call) else { return };
        if c.state != CallState::Offered {
            return;
        }
        c.state = CallState::Answered { acked: false };
        c.answer_sdp = Some(sdp.clone());
        self.send_call_response(now, call, 200, Some(sdp));
        self.refresh_session(now, call, None);
    }

    /// Rejects an unanswered call with a final error response (404, 486, 488, 503, ...).
    pub fn reject(&mut self, now: Instant, call: CallId, code: u16) {
        self.reject_with(now, call, code, &[]);
    }

    /// Rejects with extra headers: `WWW-Authenticate` on a 401, `Retry-After` on a 503.
    pub fn reject_with(&mut self, now: Instant, call: CallId, code: u16, headers: &[(&str, String)]) {
        let Some(c) = self.calls.get_mut(&call) else { return };
        if c.state != CallState::Offered {
            return;
        }
        c.state = CallState::Ended;
        self.send_call_response_with(now, call, code, None, headers);
        self.end_call(call, EndReason::Local);
    }

    /// Hangs up: BYE for an answered call, 480 for one not yet answered.
    pub fn hangup(&mut self, now: Instant, call: CallId) {
        let state = match self.calls.get(&call) {
            Some(c) => c.state,
            None => return,
        };
        match state {
            CallState::Dialing => self.cancel_dial(now, call),
            CallState::Offered => self.reject(now, call, 480),
            CallState::Answered { .. } => {
                self.send_in_dialog(now, call, Method::Bye, Vec::new(), ClientPurpose::Bye(call));
                if let Some(c) = self.calls.get_mut(&call) {
                    c.state = CallState::Ended;
                    c.ok_retransmit = None;
                }
            }
            CallState::Ended => {}
        }
    }

    /// Blind transfer: sends REFER with `Refer-To: target` (RFC 3515). Progress comes back as
    /// [`Event::ReferStatus`].
    pub fn refer(&mut self, now: Instant, call: CallId, target: &crate::uri::Uri) {
        if !matches!(self.calls.get(&call).map(|c| c.state), Some(CallState::Answered { .. })) {
            return;
        }
        let mut headers = vec![("Refer-To", format!("<{target}>"))];
        headers.push(("Referred-By", format!("<sip:parley@{}>", self.config.local)));
        self.send_in_dialog(now, call, Method::Refer, headers.into_iter().map(|(a, b)| (a, b.into_bytes())).collect(), ClientPurpose::Refer(call));
    }
}

fn accepts_sdp(msg: &Message) -> bool {
    let mut any = false;
    for v in msg.headers.get_all("Accept") {
        any = true;
        let v = String::from_utf8_lossy(v).to_ascii_lowercase();
        if v.trim().is_empty() || v.split(',').any(|t| {
            let t = t.split(';').next().unwrap_or("").trim();
            t == "application/sdp" || t == "application/*" || t == "*/*"
        }) {
            return true;
        }
    }
    !any
}

fn content_type_is_sdp(msg: &Message) -> bool {
    msg.headers.get("Content-Type").is_some_and(|v| {
        let v = String::from_utf8_lossy(v).to_ascii_lowercase();
        v.split(';').next().unwrap_or("").trim() == "application/sdp"
    })
}
