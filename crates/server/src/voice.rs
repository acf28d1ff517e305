//! The synthesis effect of a call: runs what the pipeline's playout hands out
//! ([`parley_call::playout::Prompt`]) on the synthesizer and streams the audio back.
//!
//! The agent's greeting comes from its definition, not from anything a caller said, and every
//! call to that agent starts with it; [`PromptCache`] keeps its audio in memory (bounded), so
//! the synthesizer runs once per greeting, not once per call. Nothing else is cached: what the
//! agent says about a caller is synthesized for that call only. A greeting cut off by the
//! caller is not kept.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use parley_call::playout::Prompt;
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

/// The same greeting in another voice is other audio: the cache holds it by voice and text.
fn cache_key(synth: &dyn Synthesizer, text: &str) -> String {
    format!("{}\n{}", synth.voice_name(), text)
}

/// What a synthesis gave: audio of prompt `id`, or its end.
#[derive(Debug, PartialEq, Eq)]
pub enum Synthesized {
    /// More audio.
    Audio(u64, Arc<[i16]>),
    /// All of it (or the synthesizer failed: what came is all there is).
    Done(u64),
}

/// The synthesis in progress for one playout.
struct Running {
    id: u64,
    rx: mpsc::Receiver<Vec<i16>>,
    /// A greeting's cache key (voice and text) and its audio so far.
    collecting: Option<(String, Vec<i16>)>,
}

/// See the module docs.
#[derive(Default)]
pub struct Voice {
    running: Option<Running>,
    /// Audio ready without waiting (a cached greeting, or the end of a failed synthesis).
    ready: VecDeque<Synthesized>,
}

impl Voice {
    /// Starts `prompt`: from the cache when it is a greeting already heard, otherwise on the
    /// synthesizer. Returns the characters sent to the synthesizer (for metering).
    pub fn start(&mut self, synth: &dyn Synthesizer, cache: &PromptCache, prompt: Prompt) -> u64 {
        let key = cache_key(synth, &prompt.text);
        if let Some(audio) = prompt.cacheable.then(|| cache.get(&key)).flatten() {
            self.ready.push_back(Synthesized::Audio(prompt.id, audio));
            self.ready.push_back(Synthesized::Done(prompt.id));
            return 0;
        }
        match synth.synthesize(&prompt.text) {
            Ok(rx) => {
                let chars = prompt.text.chars().count() as u64;
                self.running = Some(Running { id: prompt.id, rx, collecting: prompt.cacheable.then(|| (key, Vec::new())) });
                chars
            }
            Err(e) => {
                tracing::warn!(error = %e, "synthesis failed");
                self.ready.push_back(Synthesized::Done(prompt.id));
                0
            }
        }
    }

    /// The caller interrupted: prompt `id` is not wanted any more (nor kept).
    pub fn cancel(&mut self, id: u64) {
        if self.running.as_ref().is_some_and(|r| r.id == id) {
            self.running = None;
        }
        self.ready.retain(|s| !matches!(s, Synthesized::Audio(i, _) | Synthesized::Done(i) if *i == id));
    }

    /// The next audio (cancel-safe; pending while nothing is being synthesized).
    pub async fn recv(&mut self, cache: &PromptCache) -> Synthesized {
        if let Some(s) = self.ready.pop_front() {
            return s;
        }
        let Some(r) = self.running.as_mut() else { return std::future::pending().await };
        let chunk = r.rx.recv().await;
        self.received(chunk, cache)
    }

    /// The audio there is now, without waiting.
    pub fn try_recv(&mut self, cache: &PromptCache) -> Option<Synthesized> {
        if let Some(s) = self.ready.pop_front() {
            return Some(s);
        }
        let chunk = match self.running.as_mut()?.rx.try_recv() {
            Ok(chunk) => Some(chunk),
            Err(mpsc::error::TryRecvError::Empty) => return None,
            Err(mpsc::error::TryRecvError::Disconnected) => None,
        };
        Some(self.received(chunk, cache))
    }

    fn received(&mut self, chunk: Option<Vec<i16>>, cache: &PromptCache) -> Synthesized {
        let Some(r) = self.running.as_mut() else { return Synthesized::Done(0) };
        match chunk {
            Some(chunk) => {
                if let Some((_, audio)) = r.collecting.as_mut() {
                    audio.extend_from_slice(&chunk);
                }
                Synthesized::Audio(r.id, chunk.into())
            }
            None => {
                let done = self.running.take().map(|r| {
                    if let Some((text, audio)) = r.collecting.filter(|(_, a)| !a.is_empty()) {
                        cache.put(text, audio);
                    }
                    r.id
                });
                Synthesized::Done(done.unwrap_or(0))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parley_call::playout::Playout;

    /// A synthesizer that counts its runs and says one sample per character.
    /// Counts its syntheses; the voice's name is the second field.
    struct Counting(std::sync::atomic::AtomicUsize, &'static str);

    impl Synthesizer for Counting {
        fn voice_name(&self) -> &str {
            self.1
        }

        fn synthesize(&self, text: &str) -> Result<mpsc::Receiver<Vec<i16>>, parley_speech::SpeechError> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let (tx, rx) = mpsc::channel(4);
            tx.try_send(vec![7; text.len()]).expect("room");
            Ok(rx)
        }
    }

    /// Plays everything queued; the samples that were not padding.
    fn play_all(p: &mut Playout, voice: &mut Voice, synth: &Counting, cache: &PromptCache) -> usize {
        let mut n = 0;
        while p.busy() {
            if let Some(prompt) = p.refill(160) {
                voice.start(synth, cache, prompt);
            }
            while let Some(s) = voice.try_recv(cache) {
                match s {
                    Synthesized::Audio(id, a) => p.synthesized(id, a),
                    Synthesized::Done(id) => p.synthesis_done(id),
                }
            }
            while let Some(f) = p.next_frame(160) {
                n += f.iter().filter(|s| **s == 7).count();
            }
        }
        n
    }

    #[test]
    fn greetings_are_synthesized_once_other_texts_every_time() {
        let synth = Counting(Default::default(), "test");
        let cache = PromptCache::default();
        for _ in 0..3 {
            let (mut p, mut voice) = (Playout::default(), Voice::default());
            p.say("Welcome to the shop.".into(), true);
            p.say("Order 1004 is for Dana Smith.".into(), false);
            assert_eq!(play_all(&mut p, &mut voice, &synth, &cache), 20 + 29);
        }
        assert_eq!(synth.0.load(std::sync::atomic::Ordering::Relaxed), 1 + 3, "one greeting run, three order texts");
        assert!(cache.get(&cache_key(&synth, "Welcome to the shop.")).is_some());
        assert!(cache.get(&cache_key(&synth, "Order 1004 is for Dana Smith.")).is_none(), "what is said about a caller is never kept");
    }

    #[test]
    fn a_greeting_cached_in_one_voice_is_not_played_in_another() {
        let (neural, robot) = (Counting(Default::default(), "neural"), Counting(Default::default(), "robot"));
        let cache = PromptCache::default();
        for synth in [&neural, &robot, &neural, &robot] {
            let (mut p, mut voice) = (Playout::default(), Voice::default());
            p.say("Welcome to the shop.".into(), true);
            assert_eq!(play_all(&mut p, &mut voice, synth, &cache), 20);
        }
        let runs = |c: &Counting| c.0.load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!((runs(&neural), runs(&robot)), (1, 1), "each voice synthesized it once");
    }

    /// A synthesizer whose streams stay open until the test says so.
    struct Held(Mutex<Vec<mpsc::Sender<Vec<i16>>>>, std::sync::atomic::AtomicUsize);

    impl Synthesizer for Held {
        fn voice_name(&self) -> &str {
            "test"
        }

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
        let mut voice = Voice::default();
        voice.start(&synth, &cache, Prompt { id: 1, text: greeting.clone(), cacheable: true });
        let tx = synth.0.lock().unwrap().pop().unwrap();
        tx.try_send(vec![7; 400]).unwrap();
        drop(tx);
        assert_eq!(voice.try_recv(&cache), Some(Synthesized::Audio(1, vec![7; 400].into())));
        assert_eq!(voice.try_recv(&cache), Some(Synthesized::Audio(1, vec![7; 400].into())));
        assert_eq!(voice.try_recv(&cache), Some(Synthesized::Done(1)));
        assert_eq!(cache.get(&cache_key(&synth, &greeting)).map(|a| a.len()), Some(800), "kept once synthesized, before it is played");
    }

    #[test]
    fn an_interrupted_greeting_is_not_cached() {
        let synth = Held(Mutex::new(Vec::new()), Default::default());
        let cache = PromptCache::default();
        let mut voice = Voice::default();
        voice.start(&synth, &cache, Prompt { id: 1, text: "Welcome to the shop.".into(), cacheable: true });
        assert!(matches!(voice.try_recv(&cache), Some(Synthesized::Audio(1, _))));
        voice.cancel(1);
        synth.0.lock().unwrap().clear();
        assert_eq!(voice.try_recv(&cache), None);
        let mut again = Voice::default();
        again.start(&synth, &cache, Prompt { id: 1, text: "Welcome to the shop.".into(), cacheable: true });
        assert_eq!(synth.1.load(std::sync::atomic::Ordering::Relaxed), 2, "the cut-off greeting was not kept");
    }
}
