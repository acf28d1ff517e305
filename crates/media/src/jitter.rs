//! A reordering jitter buffer with packet-loss concealment, sans-IO.
//!
//! Packets go in with their sequence number and arrival `now`; frames come out in sequence
//! order. A missing packet is waited for at most `max_wait`; then a concealment frame (the last
//! frame, attenuated) stands in for it, so downstream timing stays intact.
//!
//! An adaptive buffer ([`JitterBuffer::adaptive`]) sets that wait from the jitter it observes
//! (RFC 3550 A.8's estimator over arrival time against sequence × 20 ms): 20 ms plus four times
//! the jitter, within the bounds given, and longer after a packet arrived too late to be used.
//! A steady network gets a short wait (little delay after a loss), a jittery one a long one
//! (fewer late packets concealed).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// One decoded frame out of the buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A received frame.
    Audio(Vec<i16>),
    /// Concealment for a lost packet.
    Concealed(Vec<i16>),
}

/// See the module docs.
#[derive(Debug)]
pub struct JitterBuffer {
    max_wait: Duration,
    /// Bounds of an adaptive wait (equal for a fixed one).
    bounds: (Duration, Duration),
    /// Jitter estimate in microseconds × 16, and the last transit time.
    jitter_q4: u64,
    last_transit: Option<i64>,
    start: Option<Instant>,
    next: Option<u64>,
    highest: Option<u64>,
    pending: BTreeMap<u64, (Instant, Vec<i16>)>,
    last: Vec<i16>,
    /// Packets concealed so far.
    pub lost: u64,
    /// Packets that arrived too late or twice and were dropped.
    pub discarded: u64,
}

/// Most packets held; older ones are released as lost when exceeded.
const CAPACITY: usize = 50;

impl JitterBuffer {
    /// A buffer that waits up to `max_wait` for a missing packet.
    pub fn new(max_wait: Duration) -> JitterBuffer {
        JitterBuffer::adaptive(max_wait, max_wait)
    }

    /// A buffer whose wait adapts to the jitter it sees, between `min` and `max`.
    pub fn adaptive(min: Duration, max: Duration) -> JitterBuffer {
        JitterBuffer {
            max_wait: min,
            bounds: (min, max.max(min)),
            jitter_q4: 0,
            last_transit: None,
            start: None,
            next: None,
            highest: None,
            pending: BTreeMap::new(),
            last: Vec::new(),
            lost: 0,
            discarded: 0,
        }
    }

    /// How long a missing packet is waited for now.
    pub fn wait(&self) -> Duration {
        self.max_wait
    }

    /// Updates the jitter estimate with a packet's arrival and the wait with it.
    fn observe(&mut self, now: Instant, ext: u64) {
        let start = *self.start.get_or_insert(now);
        let transit = now.saturating_duration_since(start).as_micros() as i64 - (ext as i64) * 20_000;
        if let Some(last) = self.last_transit {
            let d = (transit - last).unsigned_abs();
            // J += (|D| - J) / 16, kept × 16.
            self.jitter_q4 = (self.jitter_q4 + d).saturating_sub((self.jitter_q4 + 8) >> 4);
        }
        self.last_transit = Some(transit);
        self.adapt();
    }

    fn adapt(&mut self) {
        let jitter = Duration::from_micros(self.jitter_q4 >> 4);
        self.max_wait = (Duration::from_millis(20) + jitter * 4).clamp(self.bounds.0, self.bounds.1);
    }

    /// Extends a 16-bit sequence number to 64 bits near the highest seen.
    fn extend(&self, seq: u16) -> u64 {
        let Some(h) = self.highest else { return u64::from(seq) + (1 << 16) };
        let base = h & !0xFFFF;
        let candidates = [base.wrapping_sub(1 << 16), base, base + (1 << 16)];
        candidates
            .into_iter()
            .map(|b| b + u64::from(seq))
            .min_by_key(|c| c.abs_diff(h))
            .unwrap_or(h)
    }

    /// Adds a decoded packet.
    pub fn push(&mut self, now: Instant, seq: u16, pcm: Vec<i16>) {
        let ext = self.extend(seq);
        if self.next.is_some_and(|n| ext < n) || self.pending.contains_key(&ext) {
            self.discarded += 1;
            // Too late to be played: wait 10 ms longer from now on.
            self.jitter_q4 = self.jitter_q4.saturating_add(10_000 * 16 / 4);
            self.adapt();
            return;
        }
        if self.bounds.0 != self.bounds.1 {
            self.observe(now, ext);
        }
        self.highest = Some(self.highest.map_or(ext, |h| h.max(ext)));
        self.next.get_or_insert(ext);
        self.pending.insert(ext, (now, pcm));
    }

    /// The next frame in order, if one is due.
    pub fn pop(&mut self, now: Instant) -> Option<Frame> {
        let next = self.next?;
        if let Some((_, pcm)) = self.pending.remove(&next) {
            self.next = Some(next + 1);
            self.last.clone_from(&pcm);
            return Some(Frame::Audio(pcm));
        }
        let (arrived, _) = self.pending.values().next()?;
        let waited_out = now.duration_since(*arrived) >= self.max_wait;
        if waited_out || self.pending.len() > CAPACITY {
            self.next = Some(next + 1);
            self.lost += 1;
            for s in self.last.iter_mut() {
                *s /= 2;
            }
            return Some(Frame::Concealed(self.last.clone()));
        }
        None
    }

    /// When [`JitterBuffer::pop`] may next return a concealment frame.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let next = self.next?;
        if self.pending.contains_key(&next) {
            return None;
        }
        self.pending.values().next().map(|(t, _)| *t + self.max_wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_follows_the_network() {
        let t0 = Instant::now();
        let mut steady = JitterBuffer::adaptive(Duration::from_millis(20), Duration::from_millis(200));
        for i in 0..200u16 {
            steady.push(t0 + Duration::from_millis(u64::from(i) * 20), i, vec![0; 160]);
            while steady.pop(t0 + Duration::from_millis(u64::from(i) * 20)).is_some() {}
        }
        assert_eq!(steady.wait(), Duration::from_millis(20), "no jitter: the shortest wait");

        let mut jittery = JitterBuffer::adaptive(Duration::from_millis(20), Duration::from_millis(200));
        for i in 0..200u16 {
            let wobble = if i % 2 == 0 { 0 } else { 30 };
            let at = t0 + Duration::from_millis(u64::from(i) * 20 + wobble);
            jittery.push(at, i, vec![0; 160]);
            while jittery.pop(at).is_some() {}
        }
        assert!(jittery.wait() >= Duration::from_millis(120), "30 ms swings: a longer wait, {:?}", jittery.wait());
        assert!(jittery.wait() <= Duration::from_millis(200));

        let fixed = JitterBuffer::new(Duration::from_millis(60));
        assert_eq!(fixed.wait(), Duration::from_millis(60));
    }

    fn drain(jb: &mut JitterBuffer, now: Instant) -> Vec<i16> {
        std::iter::from_fn(|| jb.pop(now)).map(|f| match f { Frame::Audio(p) => p[0], Frame::Concealed(_) => -1 }).collect()
    }

    #[test]
    fn reorders_across_wraparound() {
        let t = Instant::now();
        let mut jb = JitterBuffer::new(Duration::from_millis(60));
        jb.push(t, 65534, vec![1]);
        jb.push(t, 0, vec![3]);
        jb.push(t, 65535, vec![2]);
        assert_eq!(drain(&mut jb, t), vec![1, 2, 3]);
    }

    #[test]
    fn waits_then_conceals_a_lost_packet() {
        let t = Instant::now();
        let mut jb = JitterBuffer::new(Duration::from_millis(60));
        jb.push(t, 10, vec![100]);
        jb.push(t, 12, vec![300]);
        assert_eq!(drain(&mut jb, t), vec![100]);
        assert_eq!(jb.poll_timeout(), Some(t + Duration::from_millis(60)));
        assert_eq!(drain(&mut jb, t + Duration::from_millis(60)), vec![-1, 300]);
        assert_eq!(jb.lost, 1);
        jb.push(t, 11, vec![200]);
        assert_eq!(jb.discarded, 1, "a packet after its slot was concealed is dropped");
    }
}
