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

/// One telephone-event packet to send: payload, marker bit and RTP timestamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventPacket {
    /// The 4-octet payload.
    pub payload: [u8; 4],
    /// Set on the first packet of an event.
    pub marker: bool,
    /// The event's start timestamp (the same in every packet of the event).
    pub timestamp: u32,
}

/// Key length sent (100 ms at 8 kHz) and the pause after it (40 ms), in samples.
const TONE_SAMPLES: u16 = 800;
const PAUSE_FRAMES: u8 = 2;
const FRAME: u16 = 160;

/// Sends keys as RFC 4733 events, one 20 ms packet per call of [`DtmfSender::next`]: updates
/// with a growing duration until 100 ms, the end packet three times (section 2.5.1.4), then
/// 40 ms of pause before the next key. Audio frames are not sent while it is busy.
#[derive(Debug, Default)]
pub struct DtmfSender {
    queue: std::collections::VecDeque<Digit>,
    /// The key being sent: digit, start timestamp, duration so far, end packets sent.
    current: Option<(Digit, u32, u16, u8)>,
    pause: u8,
}

impl DtmfSender {
    /// Queues a key.
    pub fn push(&mut self, d: Digit) {
        self.queue.push_back(d);
    }

    /// Whether a key is being sent (or waits).
    pub fn busy(&self) -> bool {
        self.current.is_some() || !self.queue.is_empty() || self.pause > 0
    }

    /// The packet for the 20 ms slot starting at timestamp `ts`, if an event takes the slot
    /// (`None`: send audio, or silence during the pause after a key).
    pub fn next(&mut self, ts: u32) -> Option<EventPacket> {
        if self.current.is_none() {
            if self.pause > 0 {
                self.pause -= 1;
                return None;
            }
            let d = self.queue.pop_front()?;
            self.current = Some((d, ts, 0, 0));
        }
        let (d, start, duration, ends) = self.current.as_mut()?;
        let first = *duration == 0 && *ends == 0;
        let end = *duration >= TONE_SAMPLES;
        if end {
            *ends += 1;
        } else {
            *duration += FRAME;
        }
        let packet = EventPacket { payload: EventPayload { event: d.event(), end, volume: 10, duration: *duration }.to_bytes(), marker: first, timestamp: *start };
        if *ends == 3 {
            self.current = None;
            self.pause = PAUSE_FRAMES;
        }
        Some(packet)
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
    fn a_sent_key_is_received_once_and_spaced_from_the_next() {
        let mut tx = DtmfSender::default();
        tx.push(Digit::from_char('5').unwrap());
        tx.push(Digit::from_char('#').unwrap());
        let mut rx = DtmfReceiver::default();
        let (mut got, mut packets, mut slots) = (String::new(), Vec::new(), 0u32);
        while tx.busy() {
            let ts = 16_000 + slots * 160;
            if let Some(p) = tx.next(ts) {
                got.extend(rx.on_packet(p.timestamp, &p.payload).map(|d| d.as_char()));
                packets.push(p);
            }
            slots += 1;
        }
        assert_eq!(got, "5#");
        // Per key: 5 updates (160..800) and 3 ends, then 2 silent slots.
        assert_eq!(packets.len(), 16);
        assert_eq!(slots, 20);
        let first: Vec<_> = packets[..8].iter().map(|p| EventPayload::parse(&p.payload).unwrap()).collect();
        assert!(packets[0].marker && !packets[1].marker);
        assert!(packets[..8].iter().all(|p| p.timestamp == 16_000));
        assert_eq!(first.iter().map(|e| e.duration).collect::<Vec<_>>(), [160, 320, 480, 640, 800, 800, 800, 800]);
        assert_eq!(first.iter().filter(|e| e.end).count(), 3);
        assert_eq!(packets[8].timestamp, 16_000 + 10 * 160, "the next key starts after the pause");
        assert!(tx.next(0).is_none() && !tx.busy());
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
