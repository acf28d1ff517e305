//! What a call plays to the caller: texts queued by the agent, synthesized as they come up,
//! streamed out 20 ms at a time, and what to do once all of it has been played.
//!
//! The agent's greeting comes from its definition, not from anything a caller said, and every
//! call to that agent starts with it; [`PromptCache`] keeps its audio in memory (bounded), so
//! the synthesizer runs once per greeting, not once per call. Nothing else is cached: what
//! the agent says about a caller is synthesized for that call only.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use parley_agent::conversation::{Action, PaymentRequest};
use parley_speech::Synthesizer;
use tokio::sync::mpsc;

/// Greetings kept at once.
const CACHED_PROMPTS: usize = 256;

/// Audio by text, and the texts oldest first (for eviction).
type Entries = (HashMap<String, Arc<[i16]>>, VecDeque<String>);

/// Audio of agents' greetings, by text.
#[derive(Default)]
pub struct PromptCache {
    entries: Mutex<Entries>,
}

impl PromptCache {
    fn get(&self, text: &str) -> Option<Arc<[i16]>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).0.get(text).cloned()
    }

    fn put(&self, text: String, samples: Vec<i16>) {
        let mut guard = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let (map, order) = &mut *guard;
        if map.contains_key(&text) {
            return;
        }
        if order.len() >= CACHED_PROMPTS {
            if let Some(old) = order.pop_front() {
                map.remove(&old);
            }
        }
        order.push_back(text.clone());
        map.insert(text, samples.into());
    }
}

/// A text to say; `cache`: a greeting, whose audio may be kept.
struct Prompt {
    text: String,
    cache: bool,
}

/// See the module docs.
#[derive(Default)]
pub struct Playout {
    /// A cached greeting being played (shared, not copied), and how far.
    cached: Option<(Arc<[i16]>, usize)>,
    /// Synthesized samples ready to send.
    samples: VecDeque<i16>,
    stream: Option<mpsc::Receiver<Vec<i16>>>,
    queue: VecDeque<Prompt>,
    /// The greeting being synthesized, and its audio so far.
    collecting: Option<(String, Vec<i16>)>,
    /// What to do once everything queued has been played.
    pub after: Option<Action>,
    /// A payment the agent asked for, to start at once.
    pub payment: Option<PaymentRequest>,
}

impl Playout {
    /// Whether anything is still to be played.
    pub fn busy(&self) -> bool {
        self.cached.is_some() || !self.samples.is_empty() || self.stream.is_some() || !self.queue.is_empty()
    }

    /// The next `frame` samples to send (padded with silence at the end of a text), if any.
    pub fn next_frame(&mut self, frame: usize) -> Option<Vec<i16>> {
        let mut f = Vec::with_capacity(frame);
        if let Some((audio, pos)) = self.cached.as_mut() {
            let end = (*pos + frame).min(audio.len());
            f.extend_from_slice(&audio[*pos..end]);
            *pos = end;
            if end == audio.len() {
                self.cached = None;
            }
        } else {
            let n = self.samples.len().min(frame);
            f.extend(self.samples.drain(..n));
        }
        if f.is_empty() {
            return None;
        }
        f.resize(frame, 0);
        Some(f)
    }

    /// Queues `text`; `greeting` marks it cacheable.
    pub fn say(&mut self, text: String, greeting: bool) {
        self.queue.push_back(Prompt { text, cache: greeting });
    }

    /// The caller started talking: stop and forget what was to be said.
    pub fn barge_in(&mut self) {
        self.cached = None;
        self.samples.clear();
        self.stream = None;
        self.queue.clear();
        self.collecting = None;
    }

    /// Tops up the samples for the next frame: starts the next queued text (from the cache or
    /// the synthesizer) when the last one is nearly played, and takes whatever the synthesizer
    /// has produced (so a greeting is complete, and cached, as soon as it is synthesized). Returns the characters
    /// sent to the synthesizer (for metering), or the error if it failed.
    pub fn refill(&mut self, synth: &dyn Synthesizer, cache: &PromptCache, frame: usize) -> Result<u64, parley_speech::SpeechError> {
        let mut synthesized = 0;
        if self.stream.is_none() && self.samples.len() < frame && self.cached.is_none() {
            let hit = self.queue.front().filter(|p| p.cache).and_then(|p| cache.get(&p.text));
            match (hit, self.queue.pop_front()) {
                // A cached greeting plays once what is before it has been sent.
                (Some(audio), Some(_)) if self.samples.is_empty() => self.cached = Some((audio, 0)),
                (Some(_), Some(p)) => self.queue.push_front(p),
                (None, Some(p)) => {
                    synthesized = p.text.chars().count() as u64;
                    self.stream = Some(synth.synthesize(&p.text)?);
                    self.collecting = p.cache.then(|| (p.text, Vec::new()));
                }
                (_, None) => {}
            }
        }
        if let Some(rx) = self.stream.as_mut() {
            loop {
                match rx.try_recv() {
                    Ok(chunk) => {
                        if let Some((_, audio)) = self.collecting.as_mut() {
                            audio.extend_from_slice(&chunk);
                        }
                        self.samples.extend(chunk);
                    }
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => {
                        self.stream = None;
                        if let Some((text, audio)) = self.collecting.take().filter(|(_, a)| !a.is_empty()) {
                            cache.put(text, audio);
                        }
                        break;
                    }
                }
            }
        }
        Ok(synthesized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A synthesizer that counts its runs and says one sample per character.
    struct Counting(std::sync::atomic::AtomicUsize);

    impl Synthesizer for Counting {
        fn synthesize(&self, text: &str) -> Result<mpsc::Receiver<Vec<i16>>, parley_speech::SpeechError> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let (tx, rx) = mpsc::channel(4);
            tx.try_send(vec![7; text.len()]).expect("room");
            Ok(rx)
        }
    }

    /// Plays everything queued; the samples that were not padding.
    fn play_all(p: &mut Playout, synth: &Counting, cache: &PromptCache) -> usize {
        let mut n = 0;
        while p.busy() {
            p.refill(synth, cache, 160).unwrap();
            while let Some(f) = p.next_frame(160) {
                n += f.iter().filter(|s| **s == 7).count();
            }
        }
        n
    }

    #[test]
    fn greetings_are_synthesized_once_other_texts_every_time() {
        let synth = Counting(Default::default());
        let cache = PromptCache::default();
        for _ in 0..3 {
            let mut p = Playout::default();
            p.say("Welcome to the shop.".into(), true);
            p.say("Order 1004 is for Dana Smith.".into(), false);
            assert_eq!(play_all(&mut p, &synth, &cache), 20 + 29);
        }
        assert_eq!(synth.0.load(std::sync::atomic::Ordering::Relaxed), 1 + 3, "one greeting run, three order texts");
        assert!(cache.get("Order 1004 is for Dana Smith.").is_none(), "what is said about a caller is never kept");
    }

    /// A synthesizer whose streams stay open until the test says so.
    struct Held(Mutex<Vec<mpsc::Sender<Vec<i16>>>>, std::sync::atomic::AtomicUsize);

    impl Synthesizer for Held {
        fn synthesize(&self, text: &str) -> Result<mpsc::Receiver<Vec<i16>>, parley_speech::SpeechError> {
            self.1.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let (tx, rx) = mpsc::channel(4);
            tx.try_send(vec![7; text.len() / 2]).expect("room");
            self.0.lock().unwrap().push(tx);
            Ok(rx)
        }
    }

    #[test]
    fn a_greeting_is_cached_as_soon_as_it_is_synthesized_not_when_played() {
        let synth = Held(Mutex::new(Vec::new()), Default::default());
        let cache = PromptCache::default();
        let greeting = "x".repeat(800);
        let mut p = Playout::default();
        p.say(greeting.clone(), true);
        p.refill(&synth, &cache, 160).unwrap();
        let tx = synth.0.lock().unwrap().pop().unwrap();
        tx.try_send(vec![7; 400]).unwrap();
        drop(tx);
        p.refill(&synth, &cache, 160).unwrap();
        assert_eq!(cache.get(&greeting).map(|a| a.len()), Some(800), "kept while most of it is still to play");
    }

    #[test]
    fn an_interrupted_greeting_is_not_cached() {
        let synth = Held(Mutex::new(Vec::new()), Default::default());
        let cache = PromptCache::default();
        let mut p = Playout::default();
        p.say("Welcome to the shop.".into(), true);
        p.refill(&synth, &cache, 160).unwrap();
        assert_eq!(p.next_frame(160).map(|f| f.iter().filter(|s| **s == 7).count()), Some(10), "half the greeting so far");
        p.barge_in();
        synth.0.lock().unwrap().clear();
        assert!(!p.busy());
        let mut again = Playout::default();
        again.say("Welcome to the shop.".into(), true);
        again.refill(&synth, &cache, 160).unwrap();
        assert_eq!(synth.1.load(std::sync::atomic::Ordering::Relaxed), 2, "the cut-off greeting was not kept");
    }
}
