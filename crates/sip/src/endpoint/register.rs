//! Outbound registration (RFC 3261 §10.2): REGISTER our Contact for an address-of-record at
//! a provider's registrar, answer its digest challenge, refresh before the binding expires
//! (at half the granted time, at most 30 s before), follow `423 Interval Too Brief`, retry a
//! refused or unanswered registration after a pause, and remove the binding on request.

use super::*;

/// Identifies a registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegId(pub u64);

/// A binding to keep at a registrar, for [`Endpoint::register`].
#[derive(Clone, Debug)]
pub struct Registration {
    /// The address-of-record (To and From), e.g. `sip:4930123456@sip.provider.example`.
    pub aor: String,
    /// The registrar's Request-URI, e.g. `sip:sip.provider.example`.
    pub registrar: String,
    /// Where REGISTER goes: address and transport.
    pub next_hop: Peer,
    /// The user part of our Contact: calls for the AOR come to it.
    pub contact_user: String,
    /// Lifetime asked for, in seconds.
    pub expires: u32,
    /// Credentials for the registrar's challenge.
    pub credentials: Option<Credentials>,
}

/// How long to wait before trying a refused or unanswered registration again (Asterisk's
/// `retry_interval` default).
pub const RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(60);

#[derive(Debug)]
pub(super) struct RegState {
    spec: Registration,
    call_id: String,
    tag: String,
    cseq: u32,
    /// Challenges answered since the last success.
    auth_tries: u8,
    /// Removing the binding (Expires: 0) rather than keeping it.
    removing: bool,
    /// When the next refresh or retry is due.
    next: Option<Instant>,
}

impl Endpoint {
    /// Starts keeping a registration; outcomes come as [`Event::Registered`] and
    /// [`Event::RegistrationFailed`].
    pub fn register(&mut self, now: Instant, spec: Registration) -> RegId {
        let reg = RegId(self.next_call);
        self.next_call += 1;
        let state = RegState {
            spec,
            call_id: format!("{}@{}", self.new_token(), self.config.local.ip()),
            tag: self.new_token(),
            cseq: self.rng.gen_range(1..10_000),
            auth_tries: 0,
            removing: false,
            next: None,
        };
        self.registrations.insert(reg, state);
        self.send_register(now, reg, None);
        reg
    }

    /// Removes the binding (REGISTER with `Expires: 0`); [`Event::Unregistered`] follows.
    pub fn unregister(&mut self, now: Instant, reg: RegId) {
        let Some(r) = self.registrations.get_mut(&reg) else { return };
        r.removing = true;
        r.auth_tries = 0;
        r.next = None;
        self.send_register(now, reg, None);
    }

    fn send_register(&mut self, now: Instant, reg: RegId, authorization: Option<(&str, String)>) {
        let branch = format!("z9hG4bK{}", self.new_token());
        let Some(r) = self.registrations.get(&reg) else { return };
        let transport = r.spec.next_hop.transport;
        let (via, contact) = (self.via(transport, &branch), self.contact(&r.spec.contact_user, transport));
        let Some(r) = self.registrations.get_mut(&reg) else { return };
        r.cseq += 1;
        let mut headers = crate::message::Headers::default();
        headers.push("Via", via);
        headers.push("Max-Forwards", "70");
        headers.push("From", format!("<{}>;tag={}", r.spec.aor, r.tag));
        headers.push("To", format!("<{}>", r.spec.aor));
        headers.push("Call-ID", r.call_id.clone());
        headers.push("CSeq", format!("{} REGISTER", r.cseq));
        headers.push("Contact", contact);
        headers.push("Expires", if r.removing { 0 } else { r.spec.expires }.to_string());
        headers.push("User-Agent", self.config.server.clone());
        if let Some((name, value)) = authorization {
            headers.push(name, value);
        }
        let uri = r.spec.registrar.clone().into_bytes();
        let bytes = Message { start: StartLine::Request { method: Method::Register, uri }, headers, body: Vec::new() }.to_bytes();
        let peer = r.spec.next_hop;
        self.start_client_tx(now, branch, peer, bytes, ClientPurpose::Register(reg));
    }

    pub(super) fn on_register_response(&mut self, now: Instant, reg: RegId, code: u16, msg: &Message) {
        let cnonce = self.new_token();
        let Some(contact) = self.registrations.get(&reg).map(|r| self.contact(&r.spec.contact_user, r.spec.next_hop.transport)) else { return };
        let Some(r) = self.registrations.get_mut(&reg) else { return };
        match code {
            200..=299 if r.removing => {
                self.registrations.remove(&reg);
                self.out.push_back(Output::Event(Event::Unregistered(reg)));
            }
            200..=299 => {
                r.auth_tries = 0;
                let granted = granted_expires(msg, &contact).unwrap_or(r.spec.expires);
                let at = now + std::time::Duration::from_secs(u64::from(refresh_delay(granted)));
                r.next = Some(at);
                self.timers.push(Reverse((at, TimerRef::Register(reg))));
                self.out.push_back(Output::Event(Event::Registered { reg, expires: granted }));
            }
            401 | 407 => {
                let answer = r.spec.credentials.as_ref().and_then(|c| uac::challenge_answer(msg, code, c, r.auth_tries, "REGISTER", &r.spec.registrar, &cnonce));
                match answer {
                    Some(auth) => {
                        r.auth_tries += 1;
                        self.send_register(now, reg, Some(auth));
                    }
                    None => self.registration_failed(now, reg, code),
                }
            }
            423 => {
                let min = msg.headers.get("Min-Expires").and_then(crate::parse::parse_decimal).and_then(|v| u32::try_from(v).ok());
                match min.filter(|&m| m > r.spec.expires) {
                    Some(m) => {
                        r.spec.expires = m;
                        self.send_register(now, reg, None);
                    }
                    None => self.registration_failed(now, reg, code),
                }
            }
            _ => self.registration_failed(now, reg, code),
        }
    }

    pub(super) fn on_register_timeout(&mut self, now: Instant, reg: RegId) {
        self.registration_failed(now, reg, 408);
    }

    fn registration_failed(&mut self, now: Instant, reg: RegId, code: u16) {
        let Some(r) = self.registrations.get_mut(&reg) else { return };
        if r.removing {
            self.registrations.remove(&reg);
            self.out.push_back(Output::Event(Event::Unregistered(reg)));
            return;
        }
        r.auth_tries = 0;
        let at = now + RETRY_AFTER;
        r.next = Some(at);
        self.timers.push(Reverse((at, TimerRef::Register(reg))));
        self.out.push_back(Output::Event(Event::RegistrationFailed { reg, code }));
    }

    pub(super) fn register_timer(&mut self, now: Instant, reg: RegId) {
        let due = self.registrations.get(&reg).is_some_and(|r| !r.removing && r.next.is_some_and(|n| n <= now));
        if due {
            if let Some(r) = self.registrations.get_mut(&reg) {
                r.next = None;
            }
            self.send_register(now, reg, None);
        }
    }
}

/// Seconds until a refresh: half the granted time, at most 30 s before it runs out.
fn refresh_delay(granted: u32) -> u32 {
    (granted / 2).max(granted.saturating_sub(30)).max(1)
}

/// The lifetime the registrar granted: our Contact's `expires` in the 200, else `Expires`.
fn granted_expires(msg: &Message, our_contact: &str) -> Option<u32> {
    let ours = our_contact.trim_start_matches('<').trim_end_matches('>').to_ascii_lowercase();
    let from_contact = msg.headers.get_all("Contact").flat_map(|v| crate::header::split_outside_quotes(v, b',')).find_map(|item| {
        let na = NameAddr::parse(item, "Contact").ok()?;
        let uri = String::from_utf8_lossy(&na.uri).to_ascii_lowercase();
        if uri != ours {
            return None;
        }
        crate::parse::parse_decimal(na.params.get("expires")??)
    });
    from_contact
        .or_else(|| msg.headers.get("Expires").and_then(crate::parse::parse_decimal))
        .and_then(|v| u32::try_from(v).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refreshes_come_before_expiry() {
        assert_eq!(refresh_delay(3600), 3570);
        assert_eq!(refresh_delay(60), 30);
        assert_eq!(refresh_delay(40), 20);
        assert_eq!(refresh_delay(1), 1);
    }
}
