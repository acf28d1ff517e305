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

/// Intents only the word engine decides: a bare "yes", "no" or "say that again" is short enough
/// for any sentence to look like it.
const WORD_ONLY: &[&str] = &["yes", "no", "repeat"];

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The intent among `allowed` with the example nearest in meaning to `text`, and its cosine,
/// when it is at least [`MIN_SIMILARITY`].
pub fn nearest(encoder: &dyn SentenceEncoder, intents: &IntentSet, text: &str, allowed: &[&str]) -> Option<(String, f32)> {
    let said = encoder.encode(text)?;
    let mut best: Option<(&str, f32)> = None;
    for intent in allowed.iter().filter(|i| !WORD_ONLY.contains(i)) {
        for example in intents.examples(intent) {
            let Some(v) = encoder.encode_example(example) else { continue };
            let s = cosine(&said, &v);
            if best.is_none_or(|(_, b)| s > b) {
                best = Some((intent, s));
            }
        }
    }
    best.filter(|(_, s)| *s >= MIN_SIMILARITY).map(|(i, s)| (i.to_string(), s))
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
