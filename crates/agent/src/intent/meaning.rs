//! The intent engine's second listener: when no intent's words match what a caller said, the
//! intent whose example is closest in meaning, by sentence vectors (an embedding model such as
//! all-MiniLM-L6-v2, which the server runs in process). "Can you see where my shipment is right
//! now" shares no telling word with "where is my order", but their vectors are close.
//!
//! The encoder is injected ([`SentenceEncoder`]), so the interpreter stays free of I/O and its
//! tests can give vectors of their own.

use std::sync::Arc;

use super::IntentSet;

/// Turns a sentence into a unit-length vector; alike meanings give a high cosine.
pub trait SentenceEncoder: Send + Sync + std::fmt::Debug {
    /// The vector of what a caller said, kept nowhere; `None` when it cannot be computed (the
    /// engine's answer stands).
    fn encode(&self, text: &str) -> Option<Arc<[f32]>>;

    /// The vector of an agent's example phrase, which an encoder may keep for the next call.
    fn encode_example(&self, example: &str) -> Option<Arc<[f32]>> {
        self.encode(example)
    }
}

/// The least cosine between what was said and an intent's nearest example for the intent to
/// count as heard. Chosen on `tests/data/demo_dev.tsv` and `demo_held_out.tsv` with
/// all-MiniLM-L6-v2: lower lets requests the menu does not offer ("do you sell gift cards")
/// through, higher loses rephrasings.
pub const MIN_SIMILARITY: f32 = 0.5;

/// How much nearer the nearest intent's example must be than any other intent's: a sentence
/// about something else can sit about as near two intents' examples ("where is your store
/// located": 0.58 to "when can I come in to the store", 0.57 to "where is my order"), and then
/// neither is what it asks for. Chosen on the same sets as [`MIN_SIMILARITY`].
pub const MIN_LEAD: f32 = 0.05;

/// Intents only the word engine decides: a bare "yes", "no" or "say that again" is short enough
/// for any sentence to look like it.
const WORD_ONLY: &[&str] = &["yes", "no", "repeat"];

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The intent among `allowed` with the example nearest in meaning to `text`, and its cosine,
/// when it is at least [`MIN_SIMILARITY`] and [`MIN_LEAD`] nearer than any other intent's.
pub fn nearest(encoder: &dyn SentenceEncoder, intents: &IntentSet, text: &str, allowed: &[&str]) -> Option<(String, f32)> {
    nearest_routed(encoder, intents, text, allowed, &|a, b| a == b)
}

/// [`nearest`], where intents that lead to the same place (`same`) are no ambiguity between
/// them. A continuer alone ("Okay.", "Right.", "Uh-huh.") asks for nothing, though its vector
/// sits near examples that contain it (all-MiniLM-L6-v2 puts "Okay." at 0.54 to goodbye's "okay
/// bye"): only the words decide it.
pub fn nearest_routed(encoder: &dyn SentenceEncoder, intents: &IntentSet, text: &str, allowed: &[&str], same: &dyn Fn(&str, &str) -> bool) -> Option<(String, f32)> {
    if crate::turn::backchannel(text) {
        return None;
    }
    let ranked = ranked(encoder, intents, text, allowed)?;
    let (intent, s) = ranked.first()?;
    let next = ranked.iter().find(|n| !same(&n.0, intent)).map_or(f32::NEG_INFINITY, |n| n.1);
    (*s >= MIN_SIMILARITY && s - next >= MIN_LEAD).then(|| (intent.clone(), *s))
}

/// Each intent among `allowed` (but the words' own) with the cosine of its example nearest to
/// `text`, nearest first: what [`nearest_routed`] decides on, for a tool that shows why.
pub fn ranked(encoder: &dyn SentenceEncoder, intents: &IntentSet, text: &str, allowed: &[&str]) -> Option<Vec<(String, f32)>> {
    let said = encoder.encode(text)?;
    let mut ranked: Vec<(String, f32)> = Vec::new();
    for intent in allowed.iter().filter(|i| !WORD_ONLY.contains(i)) {
        let cosines = intents.examples(intent).iter().filter_map(|e| encoder.encode_example(e)).map(|v| cosine(&said, &v));
        if let Some(s) = cosines.reduce(f32::max) {
            ranked.push((intent.to_string(), s));
        }
    }
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    Some(ranked)
}

/// Encodes the examples of every intent [`nearest`] may compare with, so that an encoder which
/// keeps them has them before a caller's first turn needs them. Blocking (a few hundred ms for
/// a hundred examples the first time, nothing once kept): run it off the call's task.
pub fn prepare(encoder: &dyn SentenceEncoder, intents: &IntentSet) {
    for intent in intents.names().filter(|i| !WORD_ONLY.contains(i)) {
        for example in intents.examples(intent) {
            encoder.encode_example(example);
        }
    }
}

/// Vectors for tests: a topic's sentences share a direction, any other sentence gets one of its
/// own (three hashed coordinates: two sentences share at most one by chance, a cosine of 1/3).
#[cfg(test)]
pub(crate) fn test_vector(text: &str, topics: &[&[&str]]) -> Arc<[f32]> {
    const DIMS: usize = 4096;
    let t = text.to_lowercase();
    let mut v = vec![0.0f32; topics.len() + DIMS];
    if let Some(i) = topics.iter().position(|words| words.iter().any(|w| t.contains(w))) {
        v[i] = 1.0;
        return v.into();
    }
    for seed in [7u64, 131, 1031] {
        let h = t.bytes().fold(seed ^ 0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
        v[topics.len() + (h % DIMS as u64) as usize] += 1.0 / 3f32.sqrt();
    }
    v.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intent::IntentDef;
    use std::collections::BTreeMap;

    /// Vectors by topic word: sentences about the same topic point the same way.
    #[derive(Debug)]
    struct Topics;

    impl SentenceEncoder for Topics {
        fn encode(&self, text: &str) -> Option<Arc<[f32]>> {
            Some(test_vector(text, &[&["order", "shipment", "parcel", "purchase"], &["pay", "owe", "bill"], &["yes", "sure"]]))
        }
    }

    fn intents() -> IntentSet {
        let def = |e: &[&str]| IntentDef { examples: e.iter().map(|s| s.to_string()).collect(), slots: BTreeMap::new() };
        IntentSet::new(&BTreeMap::from([("order_status".to_string(), def(&["where is my order"])), ("pay".to_string(), def(&["I want to pay my bill"]))]))
    }

    /// Notes which texts it was asked to keep.
    #[derive(Debug, Default)]
    struct Keeping(std::sync::Mutex<Vec<String>>);

    impl SentenceEncoder for Keeping {
        fn encode(&self, text: &str) -> Option<Arc<[f32]>> {
            Topics.encode(text)
        }
        fn encode_example(&self, example: &str) -> Option<Arc<[f32]>> {
            self.0.lock().unwrap().push(example.to_string());
            Topics.encode(example)
        }
    }

    #[test]
    fn only_examples_may_be_kept_never_what_the_caller_said() {
        let keeping = Keeping::default();
        let said = "any news on my shipment";
        assert!(nearest(&keeping, &intents(), said, &["order_status", "pay"]).is_some());
        let kept = keeping.0.lock().unwrap();
        assert_eq!(*kept, ["where is my order", "I want to pay my bill"]);
    }

    #[test]
    fn prepared_examples_are_all_a_turn_needs() {
        let prepared = Keeping::default();
        prepare(&prepared, &intents());
        let kept = prepared.0.lock().unwrap().clone();
        assert!(kept.contains(&"where is my order".to_string()) && kept.contains(&"I want to pay my bill".to_string()));
        let turn = Keeping::default();
        let all = intents();
        let every: Vec<&str> = all.names().collect();
        nearest(&turn, &all, "any news on my shipment", &every);
        let needed = turn.0.lock().unwrap();
        assert!(!needed.is_empty() && needed.iter().all(|e| kept.contains(e)), "a turn needs {needed:?}, prepared {kept:?}");
        assert!(intents().examples("yes").iter().all(|e| !kept.contains(e)), "yes stays the word engine's");
    }

    /// "order" sentences point one way, "pay" sentences another, and a sentence with both words
    /// half way between them (a cosine of 0.71 to each).
    #[derive(Debug)]
    struct Between;

    impl SentenceEncoder for Between {
        fn encode(&self, text: &str) -> Option<Arc<[f32]>> {
            let t = text.to_lowercase();
            let (order, pay) = (t.contains("order"), t.contains("pay"));
            let norm = ((order as u8 + pay as u8).max(1) as f32).sqrt();
            Some([order as u8 as f32 / norm, pay as u8 as f32 / norm, (!order && !pay) as u8 as f32].into())
        }
    }

    #[test]
    fn a_sentence_as_near_two_intents_is_neither_unless_they_lead_to_the_same_place() {
        let all = ["order_status", "pay"];
        assert_eq!(nearest(&Between, &intents(), "the order I want to pay", &all), None, "0.71 to both: near enough, but no nearer one");
        assert_eq!(nearest(&Between, &intents(), "the order", &all).map(|(i, _)| i), Some("order_status".to_string()));
        let same = |a: &str, b: &str| a == b || (a != "yes" && b != "yes");
        assert!(nearest_routed(&Between, &intents(), "the order I want to pay", &all, &same).is_some(), "both lead to the same place");
    }

    #[test]
    fn the_nearest_example_decides_when_it_is_near_enough() {
        let all = ["order_status", "pay", "yes", "person"];
        assert_eq!(nearest(&Topics, &intents(), "any news on my shipment", &all).map(|(i, _)| i), Some("order_status".to_string()));
        assert_eq!(nearest(&Topics, &intents(), "how much do I owe", &all).map(|(i, _)| i), Some("pay".to_string()));
        assert_eq!(nearest(&Topics, &intents(), "do you sell gift cards", &all), None, "nothing near enough");
        assert_eq!(nearest(&Topics, &intents(), "sure thing", &all), None, "yes is the word engine's");
        assert_eq!(nearest(&Topics, &intents(), "any news on my shipment", &["pay"]), None, "only the allowed intents");
    }
}
