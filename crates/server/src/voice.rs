//! The synthesis effect of a call: runs what the pipeline's playout hands out
//! ([`parley_call::playout::Prompt`]) on the synthesizer and streams the audio back.
//!
//! What an agent says the same way to every caller is synthesized once, not once per call:
//! [`PromptCache`] keeps in memory (bounded) the audio of greetings and of the agent's fixed
//! sentences, those written in its document without a variable ("Is there anything else I can
//! help you with?"), by tenant, voice and text. A reply is cut into sentences
//! ([`parley_speech::sentences`]); its fixed sentences come from the cache (or go into it), the
//! rest is synthesized for this call only, so nothing said about a caller is kept. A greeting
//! cut off by the caller is not kept.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use parley_agent::spec::AgentSpec;
use parley_call::playout::Prompt;
use parley_speech::sentences::sentences;
use parley_speech::Synthesizer;
use tokio::sync::mpsc;

/// Greetings and fixed sentences kept at once (about 50 KB each).
const CACHED_PROMPTS: usize = 1024;

/// Audio by key, and the keys oldest first (for eviction).
type Entries = (HashMap<String, Arc<[i16]>>, VecDeque<String>);

/// Audio of agents' greetings and fixed sentences, by tenant, voice and text.
#[derive(Default)]
pub struct PromptCache {
    entries: Mutex<Entries>,
}

impl PromptCache {
    fn get(&self, key: &str) -> Option<Arc<[i16]>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).0.get(key).cloned()
    }

    fn put(&self, key: String, samples: Vec<i16>) {
        let mut guard = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let (map, order) = &mut *guard;
        if map.contains_key(&key) {
            return;
        }
        if order.len() >= CACHED_PROMPTS {
            if let Some(old) = order.pop_front() {
                map.remove(&old);
            }
        }
        order.push_back(key.clone());
        map.insert(key, samples.into());
    }
}

/// The sentences an agent says the same to every caller: each text of its document (prompts,
/// messages, greeting), cut into sentences, without those that hold a variable.
pub fn fixed_sentences(agent: &AgentSpec) -> HashSet<String> {
    fn texts<'a>(v: &'a serde_json::Value, out: &mut Vec<&'a str>) {
        match v {
            serde_json::Value::String(s) => out.push(s),
            serde_json::Value::Array(items) => items.iter().for_each(|i| texts(i, out)),
            serde_json::Value::Object(fields) => fields.values().for_each(|f| texts(f, out)),
            _ => {}
        }
    }
    let Ok(doc) = serde_json::to_value(agent) else { return HashSet::new() };
    let mut all = Vec::new();
    texts(&doc, &mut all);
    all.into_iter().flat_map(sentences).filter(|s| !s.contains(['{', '}'])).collect()
}

/// What a synthesis gave: audio of prompt `id`, or its end.
#[derive(Debug, PartialEq, Eq)]
pub enum Synthesized {
    /// More audio.
    Audio(u64, Arc<[i16]>),
    /// All of it (or the synthesizer failed: what came is all there is).
    Done(u64),
}

/// A run of a prompt's text: said from the cache (or kept in it) under `key`, or synthesized
/// for this call only.
struct Piece {
    text: String,
    key: Option<String>,
}

/// The prompt being said: its pieces still to start, and the synthesis of the current one.
struct Current {
    id: u64,
    pieces: VecDeque<Piece>,
    running: Option<Running>,
}

/// The synthesis in progress for one piece.
struct Running {
    rx: mpsc::Receiver<Vec<i16>>,
    /// A kept piece's cache key and its audio so far.
    collecting: Option<(String, Vec<i16>)>,
}

/// See the module docs.
pub struct Voice {
    synth: Arc<dyn Synthesizer>,
    /// Whose cache entries these are (a tenant), so agents of two tenants share nothing.
    scope: String,
    /// The agent's fixed sentences.
    fixed: Arc<HashSet<String>>,
    current: Option<Current>,
    /// Audio ready without waiting (a cached piece, or the end of a failed synthesis).
    ready: VecDeque<Synthesized>,
    /// Characters sent to the synthesizer (for metering).
    chars: u64,
}

impl Voice {
    /// A call's voice: `fixed` are its agent's fixed sentences, kept under `scope`.
    pub fn new(synth: Arc<dyn Synthesizer>, scope: &str, fixed: Arc<HashSet<String>>) -> Voice {
        Voice { synth, scope: scope.to_string(), fixed, current: None, ready: VecDeque::new(), chars: 0 }
    }

    /// Characters sent to the synthesizer so far.
    pub fn characters(&self) -> u64 {
        self.chars
    }

    /// The greeting and fixed sentences are kept by tenant, voice and text.
    fn cache_key(&self, text: &str) -> String {
        format!("{}\n{}\n{}", self.scope, self.synth.voice_name(), text)
    }

    /// Starts `prompt`: a greeting whole, anything else sentence by sentence (the fixed ones
    /// from the cache when already heard); the rest on the synthesizer.
    pub fn start(&mut self, cache: &PromptCache, prompt: Prompt) {
        let mut pieces = VecDeque::new();
        if prompt.cacheable {
            pieces.push_back(Piece { key: Some(self.cache_key(&prompt.text)), text: prompt.text });
        } else {
            for sentence in sentences(&prompt.text) {
                match (self.fixed.contains(&sentence), pieces.back_mut()) {
                    (true, _) => pieces.push_back(Piece { key: Some(self.cache_key(&sentence)), text: sentence }),
                    // Sentences for this call only go to the synthesizer together.
                    (false, Some(Piece { text, key: None })) => {
                        text.push(' ');
                        text.push_str(&sentence);
                    }
                    (false, _) => pieces.push_back(Piece { text: sentence, key: None }),
                }
            }
        }
        self.current = Some(Current { id: prompt.id, pieces, running: None });
        self.advance(cache);
    }

    /// Starts the current prompt's next piece: cached audio goes to `ready` at once (and the
    /// piece after it starts), otherwise its synthesis runs. The prompt's end is `ready` after
    /// its last piece.
    fn advance(&mut self, cache: &PromptCache) {
        while let Some(current) = self.current.as_mut().filter(|c| c.running.is_none()) {
            let Some(piece) = current.pieces.pop_front() else {
                self.ready.push_back(Synthesized::Done(current.id));
                self.current = None;
                return;
            };
            if let Some(audio) = piece.key.as_deref().and_then(|k| cache.get(k)) {
                self.ready.push_back(Synthesized::Audio(current.id, audio));
                continue;
            }
            match self.synth.synthesize(&piece.text) {
                Ok(rx) => {
                    self.chars += piece.text.chars().count() as u64;
                    current.running = Some(Running { rx, collecting: piece.key.map(|k| (k, Vec::new())) });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "synthesis failed");
                    self.ready.push_back(Synthesized::Done(current.id));
                    self.current = None;
                }
            }
        }
    }

    /// The caller interrupted: prompt `id` is not wanted any more (nor kept).
    pub fn cancel(&mut self, id: u64) {
        if self.current.as_ref().is_some_and(|c| c.id == id) {
            self.current = None;
        }
        self.ready.retain(|s| !matches!(s, Synthesized::Audio(i, _) | Synthesized::Done(i) if *i == id));
    }

    /// The next audio (cancel-safe; pending while nothing is being synthesized).
    pub async fn recv(&mut self, cache: &PromptCache) -> Synthesized {
        loop {
            if let Some(s) = self.ready.pop_front() {
                return s;
            }
            let Some(r) = self.current.as_mut().and_then(|c| c.running.as_mut()) else { return std::future::pending().await };
            let chunk = r.rx.recv().await;
            if let Some(s) = self.received(chunk, cache) {
                return s;
            }
        }
    }

    /// The audio there is now, without waiting.
    pub fn try_recv(&mut self, cache: &PromptCache) -> Option<Synthesized> {
        loop {
            if let Some(s) = self.ready.pop_front() {
                return Some(s);
            }
            let chunk = match self.current.as_mut()?.running.as_mut()?.rx.try_recv() {
                Ok(chunk) => Some(chunk),
                Err(mpsc::error::TryRecvError::Empty) => return None,
                Err(mpsc::error::TryRecvError::Disconnected) => None,
            };
            if let Some(s) = self.received(chunk, cache) {
                return Some(s);
            }
        }
    }

    /// A chunk of the running piece, or its end (`None`): the audio to hand on, if any.
    fn received(&mut self, chunk: Option<Vec<i16>>, cache: &PromptCache) -> Option<Synthesized> {
        let current = self.current.as_mut()?;
        match chunk {
            Some(chunk) => {
                if let Some((_, audio)) = current.running.as_mut().and_then(|r| r.collecting.as_mut()) {
                    audio.extend_from_slice(&chunk);
                }
                Some(Synthesized::Audio(current.id, chunk.into()))
            }
            None => {
                if let Some((key, audio)) = current.running.take().and_then(|r| r.collecting).filter(|(_, a)| !a.is_empty()) {
                    cache.put(key, audio);
                }
                self.advance(cache);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parley_call::playout::Playout;
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

    /// Says one sample per character; counts its runs and keeps the texts it was given. The
    /// voice's name is the second field.
    struct Counting(Mutex<Vec<String>>, &'static str);

    impl Counting {
        fn new(name: &'static str) -> Arc<Counting> {
            Arc::new(Counting(Mutex::new(Vec::new()), name))
        }
        fn runs(&self) -> usize {
            self.0.lock().unwrap().len()
        }
    }

    impl Synthesizer for Counting {
        fn voice_name(&self) -> &str {
            self.1
        }

        fn synthesize(&self, text: &str) -> Result<mpsc::Receiver<Vec<i16>>, parley_speech::SpeechError> {
            self.0.lock().unwrap().push(text.to_string());
            let (tx, rx) = mpsc::channel(4);
            tx.try_send(vec![7; text.len()]).expect("room");
            Ok(rx)
        }
    }

    fn voice(synth: &Arc<Counting>, fixed: &[&str]) -> Voice {
        Voice::new(synth.clone(), "tenant", Arc::new(fixed.iter().map(|s| s.to_string()).collect()))
    }

    /// Plays everything queued; the samples that were not padding.
    fn play_all(p: &mut Playout, voice: &mut Voice, cache: &PromptCache) -> usize {
        let mut n = 0;
        while p.busy() {
            if let Some(prompt) = p.refill(160) {
                voice.start(cache, prompt);
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
        let synth = Counting::new("test");
        let cache = PromptCache::default();
        for _ in 0..3 {
            let (mut p, mut voice) = (Playout::default(), voice(&synth, &[]));
            p.say("Welcome to the shop.".into(), true);
            p.say("Order 1004 is for Dana Smith.".into(), false);
            assert_eq!(play_all(&mut p, &mut voice, &cache), 20 + 29);
        }
        assert_eq!(synth.runs(), 1 + 3, "one greeting run, three order texts");
        let v = voice(&synth, &[]);
        assert!(cache.get(&v.cache_key("Welcome to the shop.")).is_some());
        assert!(cache.get(&v.cache_key("Order 1004 is for Dana Smith.")).is_none(), "what is said about a caller is never kept");
    }

    #[test]
    fn fixed_sentences_are_said_from_the_cache_in_their_place() {
        let synth = Counting::new("test");
        let cache = PromptCache::default();
        let fixed = ["Is there anything else I can help you with?", "Thanks."];
        for number in ["1004", "2057"] {
            let (mut p, mut voice) = (Playout::default(), voice(&synth, &fixed));
            let reply = format!("Thanks. Order {number} has shipped. It comes Monday. Is there anything else I can help you with?");
            p.say(reply.clone(), false);
            assert_eq!(play_all(&mut p, &mut voice, &cache), "Thanks.".len() + "Order 1004 has shipped. It comes Monday.".len() + fixed[0].len());
        }
        let texts = synth.0.lock().unwrap().clone();
        assert_eq!(texts, ["Thanks.", "Order 1004 has shipped. It comes Monday.", fixed[0], "Order 2057 has shipped. It comes Monday."], "fixed sentences once; the caller's sentences together, each call");
        let v = voice(&synth, &fixed);
        assert!(cache.get(&v.cache_key("Order 1004 has shipped. It comes Monday.")).is_none());
    }

    #[test]
    fn pieces_arrive_in_the_order_they_are_said() {
        let synth = Counting::new("test");
        let cache = PromptCache::default();
        cache.put(voice(&synth, &[]).cache_key("Hello there."), vec![1; 3]);
        let mut v = voice(&synth, &["Hello there.", "Bye now."]);
        v.start(&cache, Prompt { id: 9, text: "Hello there. Your code is 12. Bye now.".into(), cacheable: false });
        let got: Vec<Synthesized> = std::iter::from_fn(|| v.try_recv(&cache)).collect();
        let lens: Vec<(u64, usize)> = got.iter().map(|s| match s {
            Synthesized::Audio(id, a) => (*id, a.len()),
            Synthesized::Done(id) => (*id, 0),
        }).collect();
        assert_eq!(lens, [(9, 3), (9, "Your code is 12.".len()), (9, "Bye now.".len()), (9, 0)]);
        assert_eq!(v.characters(), ("Your code is 12.".len() + "Bye now.".len()) as u64);
    }

    #[test]
    fn cached_audio_is_kept_per_tenant_and_voice() {
        let (neural, robot) = (Counting::new("neural"), Counting::new("robot"));
        let cache = PromptCache::default();
        for (synth, tenant) in [(&neural, "a"), (&robot, "a"), (&neural, "a"), (&robot, "a"), (&neural, "b")] {
            let (mut p, mut voice) = (Playout::default(), Voice::new(synth.clone(), tenant, Arc::default()));
            p.say("Welcome to the shop.".into(), true);
            assert_eq!(play_all(&mut p, &mut voice, &cache), 20);
        }
        assert_eq!((neural.runs(), robot.runs()), (2, 1), "each voice once per tenant");
    }

    #[test]
    fn an_agents_fixed_sentences_are_those_without_variables() {
        let agent = AgentSpec::demo();
        let fixed = fixed_sentences(&agent);
        assert!(fixed.contains("Is there anything else I can help you with?"));
        assert!(fixed.contains("Or ask me anything else."));
        assert!(!fixed.iter().any(|s| s.contains('{')), "a sentence with a variable is never fixed");
        assert!(!fixed.iter().any(|s| s.starts_with("I could not find an order with the number")));
    }

    /// A synthesizer whose streams stay open until the test says so.
    struct Held(Mutex<Vec<mpsc::Sender<Vec<i16>>>>, AtomicUsize);

    impl Synthesizer for Held {
        fn voice_name(&self) -> &str {
            "test"
        }

        fn synthesize(&self, text: &str) -> Result<mpsc::Receiver<Vec<i16>>, parley_speech::SpeechError> {
            self.1.fetch_add(1, Relaxed);
            let (tx, rx) = mpsc::channel(4);
            tx.try_send(vec![7; text.len() / 2]).expect("room");
            self.0.lock().unwrap().push(tx);
            Ok(rx)
        }
    }

    #[test]
    fn a_greeting_is_cached_as_soon_as_it_is_synthesized_not_when_played() {
        let synth = Arc::new(Held(Mutex::new(Vec::new()), Default::default()));
        let cache = PromptCache::default();
        let greeting = "x".repeat(800);
        let mut voice = Voice::new(synth.clone(), "tenant", Arc::default());
        voice.start(&cache, Prompt { id: 1, text: greeting.clone(), cacheable: true });
        let tx = synth.0.lock().unwrap().pop().unwrap();
        tx.try_send(vec![7; 400]).unwrap();
        drop(tx);
        assert_eq!(voice.try_recv(&cache), Some(Synthesized::Audio(1, vec![7; 400].into())));
        assert_eq!(voice.try_recv(&cache), Some(Synthesized::Audio(1, vec![7; 400].into())));
        assert_eq!(voice.try_recv(&cache), Some(Synthesized::Done(1)));
        assert_eq!(cache.get(&voice.cache_key(&greeting)).map(|a| a.len()), Some(800), "kept once synthesized, before it is played");
    }

    #[test]
    fn an_interrupted_greeting_is_not_cached() {
        let synth = Arc::new(Held(Mutex::new(Vec::new()), Default::default()));
        let cache = PromptCache::default();
        let mut voice = Voice::new(synth.clone(), "tenant", Arc::default());
        voice.start(&cache, Prompt { id: 1, text: "Welcome to the shop.".into(), cacheable: true });
        assert!(matches!(voice.try_recv(&cache), Some(Synthesized::Audio(1, _))));
        voice.cancel(1);
        synth.0.lock().unwrap().clear();
        assert_eq!(voice.try_recv(&cache), None);
        let mut again = Voice::new(synth.clone(), "tenant", Arc::default());
        again.start(&cache, Prompt { id: 1, text: "Welcome to the shop.".into(), cacheable: true });
        assert_eq!(synth.1.load(Relaxed), 2, "the cut-off greeting was not kept");
    }
}
