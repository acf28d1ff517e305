//! The order in which jobs wait for a small pool of workers shared by every call (the
//! recognizer's decoders, the voice's sessions): the smallest key first, equal keys first in,
//! first out. A job whose requester stopped waiting (the call hung up, the caller interrupted)
//! is skipped without being run.
//!
//! Pure data structure: worker threads lock it and pop. [`crate::asr_queue`] and
//! [`crate::piper`] give the keys.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

struct Entry<K, T> {
    /// Smallest first, then arrival order.
    key: Reverse<(K, u64)>,
    job: T,
}

impl<K: Ord, T> PartialEq for Entry<K, T> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl<K: Ord, T> Eq for Entry<K, T> {}
impl<K: Ord, T> PartialOrd for Entry<K, T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<K: Ord, T> Ord for Entry<K, T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key)
    }
}

/// See the module docs. `K` orders the jobs (smallest first), `T` is the job.
pub struct JobQueue<K, T> {
    heap: BinaryHeap<Entry<K, T>>,
    seq: u64,
}

impl<K: Ord, T> Default for JobQueue<K, T> {
    fn default() -> Self {
        JobQueue { heap: BinaryHeap::new(), seq: 0 }
    }
}

impl<K: Ord, T> JobQueue<K, T> {
    /// Queues a job.
    pub fn push(&mut self, key: K, job: T) {
        self.seq += 1;
        self.heap.push(Entry { key: Reverse((key, self.seq)), job });
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

    #[test]
    fn smallest_key_first_and_equal_keys_in_arrival_order() {
        let mut q = JobQueue::default();
        for (key, job) in [(3, "c"), (1, "a1"), (2, "b"), (1, "a2")] {
            q.push(key, job);
        }
        assert_eq!(std::iter::from_fn(|| q.pop(|_| true)).collect::<Vec<_>>(), ["a1", "a2", "b", "c"]);
    }

    #[test]
    fn jobs_nobody_waits_for_are_skipped() {
        let mut q = JobQueue::default();
        q.push(1, "hung up");
        q.push(2, "live");
        assert_eq!(q.pop(|j| *j != "hung up"), Some("live"));
        assert!(q.is_empty());
    }
}
