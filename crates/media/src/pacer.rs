//! 20 ms send pacing without drift, sans-IO.
//!
//! Deadlines are computed from the start instant and the frame count, never by adding to the
//! previous wake-up, so scheduling jitter does not accumulate. After a stall longer than
//! `max_catch_up` the pacer skips ahead (advancing the RTP timestamp) instead of bursting.

use std::time::{Duration, Instant};

/// One 20 ms frame at 8 kHz.
pub const FRAME: Duration = Duration::from_millis(20);
/// Samples per 20 ms frame at 8 kHz.
pub const FRAME_SAMPLES: usize = 160;

/// See the module docs.
#[derive(Debug, Clone)]
pub struct Pacer {
    start: Instant,
    frames: u64,
    max_catch_up: Duration,
}

impl Pacer {
    /// A pacer whose first frame is due at `start`.
    pub fn new(start: Instant) -> Pacer {
        Pacer { start, frames: 0, max_catch_up: Duration::from_millis(100) }
    }

    /// When the next frame is due.
    pub fn next_deadline(&self) -> Instant {
        self.start + FRAME * u32::try_from(self.frames).unwrap_or(u32::MAX)
    }

    /// If a frame is due at `now`, returns its RTP timestamp offset (in samples) and counts it.
    pub fn poll(&mut self, now: Instant) -> Option<u32> {
        let due = self.next_deadline();
        if now < due {
            return None;
        }
        if now - due > self.max_catch_up {
            // Skip the frames we could not send in time.
            let elapsed = now.duration_since(self.start);
            self.frames = (elapsed.as_micros() / FRAME.as_micros()) as u64;
        }
        let ts = (self.frames * FRAME_SAMPLES as u64) as u32;
        self.frames += 1;
        Some(ts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_do_not_drift_with_late_wakeups() {
        let t0 = Instant::now();
        let mut p = Pacer::new(t0);
        for i in 0..100u32 {
            let wake = p.next_deadline() + Duration::from_millis(3);
            assert_eq!(p.poll(wake), Some(i * 160));
        }
        assert_eq!(p.next_deadline(), t0 + FRAME * 100);
        assert_eq!(p.poll(t0 + FRAME * 100 - Duration::from_millis(1)), None);
    }

    #[test]
    fn skips_ahead_after_a_stall_instead_of_bursting() {
        let t0 = Instant::now();
        let mut p = Pacer::new(t0);
        assert_eq!(p.poll(t0), Some(0));
        assert_eq!(p.poll(t0 + Duration::from_millis(500)), Some(25 * 160));
        assert_eq!(p.poll(t0 + Duration::from_millis(505)), None);
    }
}
