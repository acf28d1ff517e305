//! What a call plays to the caller, sans-IO: texts queued by the agent, each handed to the
//! driver for synthesis when the one before is nearly played ([`Playout::refill`] returns it),
//! the audio streamed back in ([`Playout::synthesized`]), sent 20 ms at a time, and what to do
//! once all of it has been played.
//!
//! A reply may be synthesized ahead ([`Playout::prepare`]) while the caller's pause may still
//! turn out to be the end of their turn: when the agent then says exactly that text, its audio
//! is already there ([`Playout::say`] adopts it); otherwise it is dropped.

use std::collections::VecDeque;
use std::sync::Arc;

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
    /// Synthesized audio ready to send, chunk by chunk, with its synthesis id and how far each
    /// has been sent: a greeting from the driver's cache is one chunk shared by every call,
    /// never copied.
    chunks: VecDeque<(u64, Arc<[i16]>, usize)>,
    /// The synthesis the last frame sent began in.
    playing: Option<u64>,
    /// Samples in `chunks` not sent yet.
    ready: usize,
    /// The synthesis in progress (its audio still coming).
    streaming: Option<u64>,
    queue: VecDeque<Prompt>,
    next_id: u64,
    /// What to do once everything queued has been played.
    pub after: Option<Action>,
    /// A payment the agent asked for, to start at once.
    pub payment: Option<PaymentRequest>,
    /// Held while the caller talks over the agent, until it is known whether they interrupt.
    paused: bool,
    /// A reply synthesized ahead of the turn it answers.
    prepared: Option<Prepared>,
    /// A prepared synthesis no longer wanted, for the driver to stop.
    cancelled: Option<u64>,
}

/// See [`Playout::prepare`].
#[derive(Debug)]
struct Prepared {
    prompt: Prompt,
    chunks: Vec<Arc<[i16]>>,
    done: bool,
}

impl Playout {
    /// Whether anything is still to be played.
    pub fn busy(&self) -> bool {
        self.ready > 0 || self.streaming.is_some() || !self.queue.is_empty()
    }

    /// Queues `text`; `greeting` marks it cacheable. The prepared reply, when it is this text
    /// and nothing else is playing, is played instead of a new synthesis. Returns the
    /// synthesis id its audio will come under (see [`Playout::playing`]).
    pub fn say(&mut self, text: String, greeting: bool) -> u64 {
        if let Some(p) = self.prepared.take() {
            if !self.busy() && p.prompt.text == text {
                let id = p.prompt.id;
                for chunk in p.chunks {
                    self.ready += chunk.len();
                    self.chunks.push_back((id, chunk, 0));
                }
                if !p.done {
                    self.streaming = Some(id);
                }
                return id;
            }
            self.cancelled = (!p.done).then_some(p.prompt.id).or(self.cancelled);
        }
        self.next_id += 1;
        self.queue.push_back(Prompt { id: self.next_id, text, cacheable: greeting });
        self.next_id
    }

    /// Starts synthesizing `text` ahead, when nothing is playing or prepared: the prompt to
    /// hand to the synthesizer. Its audio is kept aside until [`Playout::say`] takes it.
    pub fn prepare(&mut self, text: String) -> Option<Prompt> {
        if self.busy() || self.paused || self.prepared.is_some() {
            return None;
        }
        self.next_id += 1;
        let prompt = Prompt { id: self.next_id, text, cacheable: false };
        self.prepared = Some(Prepared { prompt: prompt.clone(), chunks: Vec::new(), done: false });
        Some(prompt)
    }

    /// Drops the prepared reply (the caller went on); its synthesis, if still running, is
    /// named by [`Playout::take_cancelled`].
    pub fn discard_prepared(&mut self) {
        if let Some(p) = self.prepared.take() {
            self.cancelled = (!p.done).then_some(p.prompt.id).or(self.cancelled);
        }
    }

    /// A prepared synthesis to stop, once.
    pub fn take_cancelled(&mut self) -> Option<u64> {
        self.cancelled.take()
    }

    /// The next text to synthesize, when the audio of the last one is nearly played.
    pub fn refill(&mut self, frame: usize) -> Option<Prompt> {
        if self.streaming.is_some() || self.ready >= frame {
            return None;
        }
        let p = self.queue.pop_front()?;
        self.streaming = Some(p.id);
        Some(p)
    }

    /// Audio of synthesis `id` (ignored when that text was dropped).
    pub fn synthesized(&mut self, id: u64, chunk: Arc<[i16]>) {
        if let Some(p) = self.prepared.as_mut().filter(|p| p.prompt.id == id) {
            p.chunks.push(chunk);
            return;
        }
        if self.streaming == Some(id) && !chunk.is_empty() {
            self.ready += chunk.len();
            self.chunks.push_back((id, chunk, 0));
        }
    }

    /// Synthesis `id` has delivered all its audio (or failed).
    pub fn synthesis_done(&mut self, id: u64) {
        if let Some(p) = self.prepared.as_mut().filter(|p| p.prompt.id == id) {
            p.done = true;
            return;
        }
        if self.streaming == Some(id) {
            self.streaming = None;
        }
    }

    /// The next `frame` samples to send (padded with silence at the end of a text), if any.
    pub fn next_frame(&mut self, frame: usize) -> Option<Vec<i16>> {
        if self.ready == 0 || self.paused {
            return None;
        }
        let mut f = Vec::with_capacity(frame);
        self.playing = self.chunks.front().map(|c| c.0);
        while f.len() < frame {
            let Some((_, chunk, pos)) = self.chunks.front_mut() else { break };
            let end = (*pos + frame - f.len()).min(chunk.len());
            f.extend_from_slice(&chunk[*pos..end]);
            *pos = end;
            if end == chunk.len() {
                self.chunks.pop_front();
            }
        }
        self.ready -= f.len();
        f.resize(frame, 0);
        Some(f)
    }

    /// The synthesis whose audio the last frame from [`Playout::next_frame`] began with.
    pub fn playing(&self) -> Option<u64> {
        self.playing
    }

    /// The caller started talking over the agent: hold what is left (nothing is sent) until
    /// [`Playout::resume`] or [`Playout::barge_in`].
    pub fn pause(&mut self) {
        self.paused = true;
    }

    /// Goes on from where [`Playout::pause`] held.
    pub fn resume(&mut self) {
        self.paused = false;
    }

    /// The caller interrupted: stop and forget what was to be said. Returns the synthesis
    /// that was still running, for the driver to stop.
    pub fn barge_in(&mut self) -> Option<u64> {
        self.discard_prepared();
        self.paused = false;
        self.chunks.clear();
        self.ready = 0;
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
        p.synthesized(first.id, vec![7; 120].into());
        p.synthesized(first.id, vec![7; 80].into());
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
        p.synthesized(one.id, vec![7; 400].into());
        assert_eq!(p.barge_in(), Some(one.id));
        p.synthesized(one.id, vec![7; 400].into());
        assert!(!p.busy(), "late audio of a dropped text is ignored");
        assert_eq!(p.next_frame(160), None);
    }

    #[test]
    fn a_prepared_reply_is_played_when_the_agent_says_it() {
        let mut p = Playout::default();
        let ahead = p.prepare("We are open nine to five.".into()).unwrap();
        assert_eq!(p.prepare("Another.".into()), None, "one at a time");
        p.synthesized(ahead.id, vec![5; 200].into());
        assert!(!p.busy(), "kept aside: nothing plays before the agent says it");
        assert_eq!(p.next_frame(160), None);
        p.say("We are open nine to five.".into(), false);
        assert_eq!(p.refill(160), None, "no second synthesis of the same text");
        assert_eq!(p.next_frame(160).unwrap()[0], 5, "its audio plays at once");
        p.synthesized(ahead.id, vec![6; 100].into());
        p.synthesis_done(ahead.id);
        assert_eq!(p.next_frame(160).unwrap()[40], 6, "and the rest of it streams in");
        assert_eq!(p.take_cancelled(), None);
    }

    #[test]
    fn a_prepared_reply_the_agent_does_not_say_is_dropped() {
        let mut p = Playout::default();
        let ahead = p.prepare("We are open nine to five.".into()).unwrap();
        p.synthesized(ahead.id, vec![5; 200].into());
        p.say("Order 1004 is for Dana.".into(), false);
        assert_eq!(p.take_cancelled(), Some(ahead.id), "its synthesis is stopped");
        let next = p.refill(160).unwrap();
        assert_eq!(next.text, "Order 1004 is for Dana.");
        p.synthesized(ahead.id, vec![5; 200].into());
        assert!(p.next_frame(160).is_none(), "none of the dropped audio plays");
        let again = p.prepare("x".into());
        assert_eq!(again, None, "nothing is prepared while a reply plays");
        p.synthesis_done(next.id);
        let mut q = Playout::default();
        let ahead = q.prepare("Hello.".into()).unwrap();
        q.discard_prepared();
        assert_eq!(q.take_cancelled(), Some(ahead.id), "the caller went on: dropped");
    }

    #[test]
    fn a_pause_holds_the_audio_and_a_resume_goes_on_from_there() {
        let mut p = Playout::default();
        p.say("One.".into(), false);
        let one = p.refill(160).unwrap();
        p.synthesized(one.id, (0..480).map(|i| i as i16).collect::<Vec<_>>().into());
        assert_eq!(p.next_frame(160).unwrap()[0], 0);
        p.pause();
        assert_eq!(p.next_frame(160), None, "nothing is sent while held");
        assert!(p.busy(), "but it is still to be said");
        p.resume();
        assert_eq!(p.next_frame(160).unwrap()[0], 160, "from where it stopped");
    }
}
