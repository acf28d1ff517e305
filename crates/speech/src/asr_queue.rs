//! The order in which utterances wait for a recognizer shared by every call.
//!
//! One model serves all calls from a small pool of decoders, so when calls talk at once their
//! utterances queue. The caller who has waited longest goes first: the earlier end of speech
//! first, whether the turn is known to have ended or recognition started early at a pause (most
//! early starts become the turn's text, so ranking them lower would starve them once confirmed);
//! at the same instant an ended turn goes before a speculative one. Jobs whose caller stopped
//! waiting (the call hung up, or the caller went on talking and the speculation was dropped) are
//! skipped without being decoded, which under load is most of the speculation.
//!
//! Pure data structure: the worker threads in [`crate::whisper_cpp`] lock it and pop.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::time::Instant;

/// How urgent an utterance is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Urgency {
    /// Recognition started at a pause; the turn may not have ended.
    Speculative,
    /// The turn has ended: the caller waits for this text.
    TurnEnded,
}

struct Entry<T> {
    urgency: Urgency,
    /// When the caller stopped speaking.
    speech_end: Instant,
    /// Arrival order, so equal keys leave first in, first out.
    seq: u64,
    job: T,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl<T> Eq for Entry<T> {}
impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Entry<T> {
    /// The greatest entry is popped first.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .speech_end
            .cmp(&self.speech_end)
            .then_with(|| self.urgency.cmp(&other.urgency))
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

/// See the module docs. `T` is the job (audio and where its text goes).
pub struct AsrQueue<T> {
    heap: BinaryHeap<Entry<T>>,
    seq: u64,
}

impl<T> Default for AsrQueue<T> {
    fn default() -> Self {
        AsrQueue { heap: BinaryHeap::new(), seq: 0 }
    }
}

impl<T> AsrQueue<T> {
    /// Queues a job.
    pub fn push(&mut self, urgency: Urgency, speech_end: Instant, job: T) {
        self.seq += 1;
        self.heap.push(Entry { urgency, speech_end, seq: self.seq, job });
    }

    /// The next job still wanted (`wanted` says whether someone waits for it); unwanted ones
    /// met on the way are dropped.
    pub fn pop(&mut self, wanted: impl Fn(&T) -> bool) -> Option<T> {
        while let Some(e) = self.heap.pop() {
            if wanted(&e.job) {
                return Some(e.job);
            }
        }
        None
    }

    /// Jobs waiting.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn drain(q: &mut AsrQueue<&'static str>) -> Vec<&'static str> {
        std::iter::from_fn(|| q.pop(|_| true)).collect()
    }

    #[test]
    fn the_caller_who_stopped_speaking_first_goes_first() {
        let t0 = Instant::now();
        let mut q = AsrQueue::default();
        q.push(Urgency::TurnEnded, t0 + Duration::from_millis(300), "b");
        q.push(Urgency::TurnEnded, t0 + Duration::from_millis(100), "a");
        q.push(Urgency::TurnEnded, t0 + Duration::from_millis(900), "c");
        assert_eq!(drain(&mut q), ["a", "b", "c"]);
    }

    #[test]
    fn an_early_start_keeps_its_place_among_ended_turns() {
        let t0 = Instant::now();
        let mut q = AsrQueue::default();
        q.push(Urgency::Speculative, t0, "early start, caller still pausing");
        q.push(Urgency::TurnEnded, t0 + Duration::from_secs(2), "later caller");
        assert_eq!(drain(&mut q), ["early start, caller still pausing", "later caller"]);
    }

    #[test]
    fn at_the_same_instant_an_ended_turn_goes_first() {
        let t0 = Instant::now();
        let mut q = AsrQueue::default();
        q.push(Urgency::Speculative, t0, "early guess");
        q.push(Urgency::TurnEnded, t0, "waiting caller");
        assert_eq!(drain(&mut q), ["waiting caller", "early guess"]);
    }

    #[test]
    fn equal_keys_leave_in_arrival_order() {
        let t0 = Instant::now();
        let mut q = AsrQueue::default();
        for job in ["1", "2", "3"] {
            q.push(Urgency::TurnEnded, t0, job);
        }
        assert_eq!(drain(&mut q), ["1", "2", "3"]);
    }

    #[test]
    fn jobs_nobody_waits_for_are_skipped() {
        let t0 = Instant::now();
        let mut q = AsrQueue::default();
        q.push(Urgency::TurnEnded, t0, "hung up");
        q.push(Urgency::TurnEnded, t0 + Duration::from_millis(5), "live");
        assert_eq!(q.pop(|j| *j != "hung up"), Some("live"));
        assert!(q.is_empty());
    }
}
