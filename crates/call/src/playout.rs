//! What a call plays to the caller, sans-IO: texts queued by the agent, each handed to the
//! driver for synthesis when the one before is nearly played ([`Playout::refill`] returns it),
//! the audio streamed back in ([`Playout::synthesized`]), sent 20 ms at a time, and what to do
//! once all of it has been played.

use std::collections::VecDeque;

use parley_agent::conversation::{Action, PaymentRequest};

/// A text to say; `cacheable`: a greeting (the same for every call to the agent), whose audio
/// the driver may keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    /// Synthesis id, unique within the call.
    pub id: u64,
    /// What to say.
    pub text: String,
    /// A greeting: its audio may come from, and go into, a cache.
    pub cacheable: bool,
}

/// See the module docs.
#[derive(Debug, Default)]
pub struct Playout {
    /// Synthesized samples ready to send.
    samples: VecDeque<i16>,
    /// The synthesis in progress (its audio still coming).
    streaming: Option<u64>,
    queue: VecDeque<Prompt>,
    next_id: u64,
    /// What to do once everything queued has been played.
    pub after: Option<Action>,
    /// A payment the agent asked for, to start at once.
    pub payment: Option<PaymentRequest>,
}

impl Playout {
    /// Whether anything is still to be played.
    pub fn busy(&self) -> bool {
        !self.samples.is_empty() || self.streaming.is_some() || !self.queue.is_empty()
    }

    /// Queues `text`; `greeting` marks it cacheable.
    pub fn say(&mut self, text: String, greeting: bool) {
        self.next_id += 1;
        self.queue.push_back(Prompt { id: self.next_id, text, cacheable: greeting });
    }

    /// The next text to synthesize, when the audio of the last one is nearly played.
    pub fn refill(&mut self, frame: usize) -> Option<Prompt> {
        if self.streaming.is_some() || self.samples.len() >= frame {
            return None;
        }
        let p = self.queue.pop_front()?;
        self.streaming = Some(p.id);
        Some(p)
    }

    /// Audio of synthesis `id` (ignored when that text was dropped).
    pub fn synthesized(&mut self, id: u64, chunk: &[i16]) {
        if self.streaming == Some(id) {
            self.samples.extend(chunk);
        }
    }

    /// Synthesis `id` has delivered all its audio (or failed).
    pub fn synthesis_done(&mut self, id: u64) {
        if self.streaming == Some(id) {
            self.streaming = None;
        }
    }

    /// The next `frame` samples to send (padded with silence at the end of a text), if any.
    pub fn next_frame(&mut self, frame: usize) -> Option<Vec<i16>> {
        if self.samples.is_empty() {
            return None;
        }
        let n = self.samples.len().min(frame);
        let mut f: Vec<i16> = self.samples.drain(..n).collect();
        f.resize(frame, 0);
        Some(f)
    }

    /// The caller started talking: stop and forget what was to be said. Returns the synthesis
    /// that was still running, for the driver to stop.
    pub fn barge_in(&mut self) -> Option<u64> {
        self.samples.clear();
        self.queue.clear();
        self.streaming.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_synthesized_one_after_another_as_the_audio_runs_out() {
        let mut p = Playout::default();
        p.say("Welcome.".into(), true);
        p.say("Order 1004 is for Dana.".into(), false);
        let first = p.refill(160).unwrap();
        assert_eq!((first.text.as_str(), first.cacheable), ("Welcome.", true));
        assert_eq!(p.refill(160), None, "one synthesis at a time");
        p.synthesized(first.id, &[7; 200]);
        p.synthesis_done(first.id);
        assert_eq!(p.refill(160), None, "more than a frame still to play");
        assert_eq!(p.next_frame(160).map(|f| f.len()), Some(160));
        let second = p.refill(160).unwrap();
        assert!(!second.cacheable);
        let last = p.next_frame(160).unwrap();
        assert_eq!(last.iter().filter(|s| **s == 7).count(), 40, "the end of a text is padded with silence");
        assert!(p.busy(), "the second text is still coming");
        p.synthesis_done(second.id);
        assert!(!p.busy());
    }

    #[test]
    fn a_barge_in_drops_everything_and_names_the_synthesis_to_stop() {
        let mut p = Playout::default();
        p.say("One.".into(), false);
        p.say("Two.".into(), false);
        let one = p.refill(160).unwrap();
        p.synthesized(one.id, &[7; 400]);
        assert_eq!(p.barge_in(), Some(one.id));
        p.synthesized(one.id, &[7; 400]);
        assert!(!p.busy(), "late audio of a dropped text is ignored");
        assert_eq!(p.next_frame(160), None);
    }
}
