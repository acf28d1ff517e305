//! RFC 4733 telephone events: payload parsing, a receiver that reports each key press once, and
//! a sender that produces the packets of one event.

/// A DTMF key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Digit(char);

impl Digit {
    /// The key for an RFC 4733 event code (0-9, *, #, A-D).
    pub fn from_event(code: u8) -> Option<Digit> {
        let c = match code {
            0..=9 => (b'0' + code) as char,
            10 => '*',
            11 => '#',
            12..=15 => (b'A' + code - 12) as char,
            _ => return None,
        };
        Some(Digit(c))
    }

    /// The key for a character (as in SIP INFO `Signal=`).
    pub fn from_char(c: char) -> Option<Digit> {
        matches!(c, '0'..='9' | '*' | '#' | 'A'..='D').then_some(Digit(c))
    }

    /// The RFC 4733 event code.
    pub fn event(self) -> u8 {
        match self.0 {
            '*' => 10,
            '#' => 11,
            c @ 'A'..='D' => c as u8 - b'A' + 12,
            c => c as u8 - b'0',
        }
    }

    /// The key as a character.
    pub fn as_char(self) -> char {
        self.0
    }
}

/// One telephone-event payload (RFC 4733 section 2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventPayload {
    /// Event code.
    pub event: u8,
    /// End bit.
    pub end: bool,
    /// Volume (dBm0, negated).
    pub volume: u8,
    /// Duration in timestamp units.
    pub duration: u16,
}

impl EventPayload {
    /// Parses the 4-octet payload.
    pub fn parse(p: &[u8]) -> Option<EventPayload> {
        if p.len() < 4 {
            return None;
        }
        Some(EventPayload { event: p[0], end: p[1] & 0x80 != 0, volume: p[1] & 0x3F, duration: u16::from_be_bytes([p[2], p[3]]) })
    }

    /// Serializes the payload.
    pub fn to_bytes(self) -> [u8; 4] {
        let d = self.duration.to_be_bytes();
        [self.event, u8::from(self.end) << 7 | (self.volume & 0x3F), d[0], d[1]]
    }
}

/// Turns a stream of telephone-event packets into key presses, each reported once even though
/// an event spans many packets and its end is sent three times.
#[derive(Debug, Default)]
pub struct DtmfReceiver {
    last_timestamp: Option<u32>,
}

impl DtmfReceiver {
    /// Feeds one packet's RTP timestamp and payload; returns a digit at the start of a new event.
    pub fn on_packet(&mut self, timestamp: u32, payload: &[u8]) -> Option<Digit> {
        let ev = EventPayload::parse(payload)?;
        if self.last_timestamp == Some(timestamp) {
            return None;
        }
        self.last_timestamp = Some(timestamp);
        Digit::from_event(ev.event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_digit_per_event_despite_updates_and_repeated_end() {
        let mut rx = DtmfReceiver::default();
        let mut got = Vec::new();
        for (ts, dur, end) in [(1000, 160, false), (1000, 320, false), (1000, 480, true), (1000, 480, true), (1000, 480, true), (2000, 160, false), (2000, 800, true)] {
            let p = EventPayload { event: if ts == 1000 { 1 } else { 11 }, end, volume: 10, duration: dur };
            got.extend(rx.on_packet(ts, &p.to_bytes()));
        }
        assert_eq!(got.iter().map(|d| d.as_char()).collect::<String>(), "1#");
    }

    #[test]
    fn event_codes() {
        for c in "0123456789*#ABCD".chars() {
            let d = Digit::from_char(c).unwrap();
            assert_eq!(Digit::from_event(d.event()), Some(d));
        }
        assert_eq!(Digit::from_event(16), None);
        assert_eq!(EventPayload::parse(&[1, 2]), None);
    }
}
