//! How many CPU threads a decode may take, so the recognizer's decodes together never run more
//! compute threads than it was given.
//!
//! whisper.cpp's (ggml's) threads wait for each other at a barrier after every step of the
//! graph by spinning, not sleeping. A decode on two threads next to another decode on one thread
//! runs three spinning threads on two cores: whenever the scheduler parks one of the two, the
//! other spins its time slice away at the next barrier, hundreds of times a decode. Under 20
//! calls on 2 cores two such decodes took 1.7 and 6.6 s for 2.5 s of speech (median 0.25 s).
//!
//! So a pool has a budget of threads. A decode that would run alone (nothing running, nothing
//! else waiting) takes its full share; otherwise one thread. A decode that cannot get a thread
//! waits in the queue for one to come free, which is sooner than sharing a core with spinners.
//! Pure data: the decoder threads hold it under the queue's lock.

/// See the module docs.
#[derive(Debug)]
pub struct ThreadBudget {
    /// Threads the pool's decodes may run together.
    total: usize,
    /// Threads a decode that runs alone takes.
    alone: usize,
    in_use: usize,
    running: usize,
}

impl ThreadBudget {
    /// `decoders` decodes side by side, each alone on `threads` threads: the budget is the
    /// larger of the two (one thread per decoder, or one decode's threads).
    pub fn new(decoders: usize, threads: usize) -> ThreadBudget {
        let alone = threads.max(1);
        ThreadBudget { total: decoders.max(1).max(alone), alone, in_use: 0, running: 0 }
    }

    /// Threads for the next decode, `None` while none is free. `others_waiting`: decodes still
    /// queued behind this one.
    pub fn take(&mut self, others_waiting: bool) -> Option<usize> {
        let free = self.total - self.in_use;
        let n = if self.running == 0 && !others_waiting { self.alone.min(free) } else { free.min(1) };
        if n == 0 {
            return None;
        }
        self.in_use += n;
        self.running += 1;
        Some(n)
    }

    /// A decode that took `threads` ended.
    pub fn give_back(&mut self, threads: usize) {
        self.in_use = self.in_use.saturating_sub(threads);
        self.running = self.running.saturating_sub(1);
    }

    /// Decodes running now.
    pub fn running(&self) -> usize {
        self.running
    }

    /// Whether a decode could start now.
    pub fn free(&self) -> bool {
        self.in_use < self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decode_alone_takes_all_its_threads() {
        let mut b = ThreadBudget::new(2, 2);
        assert_eq!(b.take(false), Some(2));
        b.give_back(2);
        assert_eq!(b.take(false), Some(2));
    }

    #[test]
    fn a_decode_waits_while_one_on_every_thread_runs() {
        // The case that spun: a second decode next to one on both threads.
        let mut b = ThreadBudget::new(2, 2);
        assert_eq!(b.take(false), Some(2));
        assert!(!b.free());
        assert_eq!(b.take(false), None);
        b.give_back(2);
        assert_eq!(b.running(), 0);
        // Two waited: each gets one thread, side by side.
        assert_eq!(b.take(true), Some(1));
        assert_eq!(b.take(false), Some(1));
        assert_eq!(b.take(false), None);
        b.give_back(1);
        assert_eq!(b.take(true), Some(1));
    }

    #[test]
    fn with_others_running_or_waiting_a_decode_takes_one_thread() {
        let mut b = ThreadBudget::new(4, 2);
        assert_eq!(b.take(true), Some(1));
        assert_eq!(b.take(false), Some(1));
        assert_eq!(b.running(), 2);
        assert_eq!(b.take(false), Some(1));
        assert_eq!(b.take(false), Some(1));
        assert_eq!(b.take(false), None);
    }

    #[test]
    fn one_thread_per_decoder_is_never_short() {
        let mut b = ThreadBudget::new(2, 1);
        assert_eq!(b.take(false), Some(1));
        assert_eq!(b.take(false), Some(1));
        assert_eq!(b.take(false), None);
    }
}
