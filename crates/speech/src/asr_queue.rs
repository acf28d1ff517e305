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
//! A [`JobQueue`] with this key: the worker threads in [`crate::whisper_cpp`] lock it and pop.

use std::cmp::Reverse;
use std::time::Instant;

use crate::job_queue::JobQueue;

/// How urgent an utterance is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Urgency {
    /// Recognition started at a pause; the turn may not have ended.
    Speculative,
    /// The turn has ended: the caller waits for this text.
    TurnEnded,
}

/// An utterance's place: when its caller stopped speaking, then an ended turn first.
pub type AsrKey = (Instant, Reverse<Urgency>);

/// See the module docs. `T` is the job (audio and where its text goes).
pub type AsrQueue<T> = JobQueue<AsrKey, T>;

/// The key of an utterance that ended at `speech_end`.
pub fn asr_key(urgency: Urgency, speech_end: Instant) -> AsrKey {
    (speech_end, Reverse(urgency))
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
        q.push(asr_key(Urgency::TurnEnded, t0 + Duration::from_millis(300)), "b");
        q.push(asr_key(Urgency::TurnEnded, t0 + Duration::from_millis(100)), "a");
        q.push(asr_key(Urgency::TurnEnded, t0 + Duration::from_millis(900)), "c");
        assert_eq!(drain(&mut q), ["a", "b", "c"]);
    }

    #[test]
    fn an_early_start_keeps_its_place_among_ended_turns() {
        let t0 = Instant::now();
        let mut q = AsrQueue::default();
        q.push(asr_key(Urgency::Speculative, t0), "early start, caller still pausing");
        q.push(asr_key(Urgency::TurnEnded, t0 + Duration::from_secs(2)), "later caller");
        assert_eq!(drain(&mut q), ["early start, caller still pausing", "later caller"]);
    }

    #[test]
    fn at_the_same_instant_an_ended_turn_goes_first() {
        let t0 = Instant::now();
        let mut q = AsrQueue::default();
        q.push(asr_key(Urgency::Speculative, t0), "early guess");
        q.push(asr_key(Urgency::TurnEnded, t0), "waiting caller");
        assert_eq!(drain(&mut q), ["waiting caller", "early guess"]);
    }
}
