//! Intents from example phrases, without a language model.
//!
//! Each intent is a set of example phrases. An utterance and the examples are reduced to
//! canonical words: lowercase, contractions opened ("don't" is "do not"), plurals and verb
//! endings trimmed, a few dozen synonyms callers use for the same thing folded into one
//! ("representative", "human" and "someone" are "person"), any number is `#`, and filler words
//! ("I", "the", "please") dropped. Then a naive Bayes classifier: each intent is a word
//! distribution learnt from its examples (add-one smoothing). The likeliest intent wins when it
//! is [`LEAD_OVER_NEXT`] times likelier than the next, and when its examples have at least
//! [`MIN_COVERAGE`] of what was said, each word weighted by how telling it is (a word of one
//! intent's examples most, one no example has least): so a caller who says much around a clear
//! request ("I'm wondering about an order I made online") matches it, and one asking for
//! something the agent does not offer matches nothing.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::{extract_number, normalize};

/// How many times likelier an utterance must be under the best intent than under the next.
pub const LEAD_OVER_NEXT: f64 = 2.0;
/// The least share of an utterance's words (weighted by how telling they are) the best intent's
/// examples must have.
pub const MIN_COVERAGE: f64 = 0.4;

/// An intent as an agent declares it.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IntentDef {
    /// Phrases callers say for it.
    pub examples: Vec<String>,
    /// Values it can carry, by variable name (`order_number: number`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub slots: BTreeMap<String, SlotType>,
}

/// What a slot holds.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SlotType {
    /// A number of three to eight digits, said or typed (an order, booking or account number).
    Number,
}

/// Intents every agent has (an agent may declare one of these names to replace its examples).
pub const BUILT_IN: &[(&str, &[&str])] = &[
    // Yes and no as callers answer a question, the common forms word for word (one word each
    // is all most callers say).
    (
        "yes",
        &[
            "yes", "yeah", "yep", "yup", "yes please", "sure", "sure thing", "correct", "that's correct", "that's right", "right", "exactly", "okay", "okay yes", "alright", "absolutely", "definitely",
            "certainly", "of course", "yes I would", "go ahead", "sounds good", "I agree", "affirmative", "uh huh", "mm hmm", "mhm",
        ],
    ),
    (
        "no",
        &[
            "no", "nope", "nah", "no thanks", "no thank you", "not really", "not now", "not today", "no it isn't", "that's wrong", "that's not right", "incorrect", "wrong", "negative", "no I don't",
            "not that", "definitely not", "absolutely not", "not at all", "I don't think so", "no way", "not interested",
        ],
    ),
    (
        "goodbye",
        &[
            "goodbye",
            "bye",
            "bye bye",
            "okay bye",
            "that's all",
            "that is all thank you",
            "nothing else",
            "no that's everything",
            "no thanks",
            "I'm done",
            "thanks bye",
            "thank you goodbye",
            "have a good day",
            "that will be all",
            "that's it",
            "I'm all good thanks",
            "see you",
            "take care",
            "I'm set",
            "talk to you later",
        ],
    ),
    (
        "person",
        &[
            "can I speak to a person",
            "I want to talk to a human",
            "put me through to someone",
            "representative",
            "operator",
            "transfer me to an agent",
            "is there someone I can talk to",
            "connect me to a real person",
            "speak to the manager",
            "I need to talk to somebody from staff",
            "customer service",
            "I don't want to talk to a machine",
        ],
    ),
    (
        "hours",
        &[
            "what are your opening hours",
            "when are you open",
            "what time do you close",
            "are you open today",
            "what time do you open tomorrow",
            "hours",
            "are you open on the weekend",
            "until when are you open",
            "how late are you open",
            "when can I come in to the store",
            "when can I visit the shop",
            "are you open now",
        ],
    ),
    ("repeat", &["can you repeat that", "say that again", "pardon", "what did you say", "sorry I didn't catch that", "come again"]),
];

/// Words that carry no intent on their own (dropped).
const FILLER: &[&str] = &[
    "i", "a", "an", "the", "to", "my", "me", "you", "your", "is", "are", "be", "do", "can", "could", "would", "will", "please", "want", "like", "need", "it", "that", "this", "of", "for",
    "on", "in", "at", "and", "or", "hi", "hello", "hey", "um", "uh", "er", "just", "so", "with", "about", "what", "we", "there", "have", "has", "know", "some", "if", "get", "am", "let", "us",
    "our", "well", "also", "oh", "how", "was", "were", "does", "did", "by", "from", "up", "any", "all", "calling", "call", "wondering", "wonder", "question", "ask", "tell", "guys", "him",
    "her", "them", "they", "he", "she", "its",
];

/// Negations: an answer on their own, part of the request in a longer utterance.
pub(super) const NEGATIONS: &[&str] = &["no", "not", "never", "nope"];

/// Synonyms folded into one word (the first of each row).
const SYNONYMS: &[&[&str]] = &[
    &["person", "human", "representative", "rep", "agent", "operator", "someone", "somebody", "staff", "employee", "manager", "receptionist", "people", "anyone", "anybody", "live", "real", "team", "department", "desk"],
    &["hours", "hour", "open", "opening", "close", "closing", "closed", "time"],
    &["goodbye", "bye", "goodbyes"],
    &["talk", "speak", "chat"],
    &["order", "purchase", "package", "parcel", "shipment", "delivery", "deliver", "delivered", "ship", "shipped", "shipping", "track", "tracking", "arrive", "status", "item", "stuff", "bought", "buy", "product", "goods", "receive", "received"],
    &["pay", "payment", "balance", "owe", "bill", "settle", "due", "outstanding", "invoice"],
    &["appointment", "booking", "book", "reservation", "reserve", "schedule", "slot"],
    &["cancel", "cancellation"],
    &["refund", "return", "money"],
    &["thank", "thanks", "thx"],
    &["transfer", "connect", "through", "forward"],
];

/// Contractions callers' recognizers write.
fn open_contraction(w: &str) -> Vec<&str> {
    match w {
        "i'm" => vec!["i", "am"],
        "i'd" => vec!["i", "would"],
        "i've" => vec!["i", "have"],
        "i'll" => vec!["i", "will"],
        "can't" | "cannot" => vec!["can", "not"],
        "won't" => vec!["will", "not"],
        "don't" => vec!["do", "not"],
        "doesn't" => vec!["does", "not"],
        "didn't" => vec!["did", "not"],
        "isn't" => vec!["is", "not"],
        "aren't" => vec!["are", "not"],
        "wasn't" => vec!["was", "not"],
        "that's" => vec!["that", "is"],
        "what's" => vec!["what", "is"],
        "it's" => vec!["it", "is"],
        "where's" => vec!["where", "is"],
        "when's" => vec!["when", "is"],
        "you're" => vec!["you", "are"],
        "we're" => vec!["we", "are"],
        "let's" => vec!["let", "us"],
        w => vec![w],
    }
}

/// A word's stem: plural and verb endings trimmed.
fn stem(w: &str) -> String {
    let w = w.trim_matches('\'').trim_end_matches("'s");
    let long = |suffix: &str| w.len() >= suffix.len() + 3 && w.ends_with(suffix);
    if long("ies") {
        return format!("{}y", &w[..w.len() - 3]);
    }
    for suffix in ["sses", "xes", "ches", "shes", "zes"] {
        if w.len() >= suffix.len() + 2 && w.ends_with(suffix) {
            return w[..w.len() - 2].to_string();
        }
    }
    for suffix in ["ing", "ed"] {
        if long(suffix) {
            return w[..w.len() - suffix.len()].to_string();
        }
    }
    if long("s") && !["ss", "us", "is"].iter().any(|e| w.ends_with(e)) {
        return w[..w.len() - 1].to_string();
    }
    w.to_string()
}

/// Canonical words of `text`; numbers become `#`.
pub(super) fn words(text: &str) -> Vec<String> {
    let t = normalize(text);
    let mut out: Vec<String> = Vec::new();
    let number = extract_number(&t).is_some();
    for raw in t.split(' ').filter(|w| !w.is_empty()) {
        for w in open_contraction(raw) {
            if w.chars().all(|c| c.is_ascii_digit()) || (number && super::is_number_word(w)) {
                if out.last().map(String::as_str) != Some("#") {
                    out.push("#".into());
                }
                continue;
            }
            let canon = SYNONYMS.iter().find(|row| row.contains(&w)).map(|row| row[0].to_string());
            let canon = canon.unwrap_or_else(|| {
                let s = stem(w);
                SYNONYMS.iter().find(|row| row.contains(&s.as_str())).map(|row| row[0].to_string()).unwrap_or(s)
            });
            // "Uh-huh", "mm-hmm": one word of assent (a "hmm" alone is someone thinking).
            if (canon == "huh" && out.last().is_some_and(|w| w == "uh")) || (["hmm", "hm"].contains(&canon.as_str()) && out.last().is_some_and(|w| w == "mm" || w == "m")) {
                out.pop();
                out.push("mhm".into());
                continue;
            }
            // "Not sure", "don't know", "no idea": an answer that is neither yes nor no (and no
            // negation of what else is said).
            if ["sure", "know", "certain", "idea"].contains(&canon.as_str()) {
                let hedge = out.iter().rev().position(|w| !["really", "quite", "too", "so", "100"].contains(&w.as_str()));
                if let Some(back) = hedge.filter(|&b| b <= 1) {
                    let at = out.len() - 1 - back;
                    if out[at] == "not" || (out[at] == "no" && canon == "idea") {
                        out.truncate(at);
                        out.push(UNSURE.into());
                        continue;
                    }
                }
            }
            out.push(canon);
        }
    }
    out
}

/// What "not sure", "don't know" and "no idea" become: a word no intent's examples have.
const UNSURE: &str = "unsure";

/// The words that tell intents apart, of `all` the [`words`] of a text: canonical, fillers dropped, and a negation
/// dropped inside a longer request ("my package hasn't come", "no package yet" are about the
/// package, not an answer "no").
fn content_words(all: &[String]) -> HashSet<String> {
    let mut words: HashSet<String> = all.iter().filter(|w| !FILLER.contains(&w.as_str())).cloned().collect();
    if words.iter().filter(|w| !NEGATIONS.contains(&w.as_str())).count() >= 2 {
        words.retain(|w| !NEGATIONS.contains(&w.as_str()));
    }
    words
}

/// A matched intent.
#[derive(Clone, Debug, PartialEq)]
pub struct IntentMatch {
    /// The intent.
    pub intent: String,
    /// How well it matched (0 to 1).
    pub score: f64,
    /// The slots the utterance filled.
    pub slots: Vec<(String, u32)>,
}

/// The intents of one agent, ready to classify with.
#[derive(Debug, Clone, Default)]
pub struct IntentSet {
    intents: std::sync::Arc<BTreeMap<String, IntentData>>,
    /// Words of all examples, plus one for any other word.
    vocabulary: usize,
    /// How many intents' examples have each word.
    spread: std::sync::Arc<HashMap<String, usize>>,
}

#[derive(Debug)]
struct IntentData {
    /// How many examples have each word.
    counts: HashMap<String, f64>,
    /// All those counts together.
    total: f64,
    slots: BTreeMap<String, SlotType>,
    /// The phrases as declared (for a language model's prompt).
    examples: Vec<String>,
    /// Each phrase's [`content_words`], and how many words it has in all.
    phrases: Vec<(HashSet<String>, usize)>,
}

/// Add-one smoothing.
const ALPHA: f64 = 1.0;

impl IntentSet {
    /// The built-in intents with `declared` over them.
    pub fn new(declared: &BTreeMap<String, IntentDef>) -> IntentSet {
        let mut defs: BTreeMap<String, IntentDef> = BUILT_IN.iter().map(|(name, ex)| (name.to_string(), IntentDef { examples: ex.iter().map(|e| e.to_string()).collect(), slots: BTreeMap::new() })).collect();
        for (name, def) in declared {
            defs.insert(name.clone(), def.clone());
        }
        let intents: BTreeMap<String, IntentData> = defs
            .into_iter()
            .map(|(name, def)| {
                let mut counts: HashMap<String, f64> = HashMap::new();
                for e in &def.examples {
                    for w in words(e).into_iter().collect::<HashSet<_>>() {
                        *counts.entry(w).or_default() += 1.0;
                    }
                }
                let total = counts.values().sum();
                let phrases = def.examples.iter().map(|e| words(e)).map(|all| (content_words(&all), all.len())).filter(|p| !p.0.is_empty()).collect();
                (name, IntentData { counts, total, slots: def.slots, examples: def.examples, phrases })
            })
            .collect();
        let vocabulary = intents.values().flat_map(|i| i.counts.keys()).collect::<HashSet<_>>().len() + 1;
        let mut spread: HashMap<String, usize> = HashMap::new();
        for w in intents.values().flat_map(|i| i.counts.keys()) {
            *spread.entry(w.clone()).or_default() += 1;
        }
        IntentSet { intents: intents.into(), vocabulary, spread: spread.into() }
    }

    /// Whether `name` is an intent here.
    pub fn has(&self, name: &str) -> bool {
        self.intents.contains_key(name)
    }

    /// The names of its intents.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.intents.keys().map(String::as_str)
    }

    /// The example phrases of `intent` (none for an unknown one).
    pub fn examples(&self, intent: &str) -> &[String] {
        self.intents.get(intent).map_or(&[], |i| i.examples.as_slice())
    }

    /// The slot of `intent` that takes a number, if it has one.
    pub fn number_slot(&self, intent: &str) -> Option<&str> {
        self.intents.get(intent)?.slots.iter().find(|(_, t)| **t == SlotType::Number).map(|(n, _)| n.as_str())
    }

    /// The log-likelihood of `utterance` under `intent`.
    fn likelihood(&self, intent: &IntentData, utterance: &HashSet<String>) -> f64 {
        let v = self.vocabulary as f64;
        utterance.iter().map(|w| ((intent.counts.get(w).copied().unwrap_or(0.0) + ALPHA) / (intent.total + ALPHA * v)).ln()).sum()
    }

    /// The intent among `allowed` that `text` asks for, if one clearly does.
    pub fn classify(&self, text: &str, allowed: &[&str]) -> Option<IntentMatch> {
        self.classify_routed(text, allowed, &|a, b| a == b)
    }

    /// [`IntentSet::classify`], where intents that lead to the same place (`same`) are no
    /// ambiguity between them ("no thanks" at a menu where `no` and `goodbye` both end the call).
    pub fn classify_routed(&self, text: &str, allowed: &[&str], same: &dyn Fn(&str, &str) -> bool) -> Option<IntentMatch> {
        let all = words(text);
        let utterance = content_words(&all);
        if utterance.is_empty() {
            return None;
        }
        let slots = |name: &str| match (self.number_slot(name), extract_number(text)) {
            (Some(slot), Some(n)) => vec![(slot.to_string(), n)],
            _ => Vec::new(),
        };
        // One of an intent's examples, give or take two fillers ("sure", "that's right", "yes,
        // that's me"): that intent, unless another that leads elsewhere has the same example.
        // The likelihoods below cannot tell this for a word of one example: smoothed, its odds
        // against a small intent are about two to one, the least lead they accept. A longer
        // sentence is not taken for its one telling word ("okay, that's all I needed").
        let says = |i: &IntentData| i.phrases.iter().any(|(p, n)| *p == utterance && all.len() <= n + 2);
        let exact: Vec<&str> = allowed.iter().copied().filter(|n| self.intents.get(*n).is_some_and(says)).collect();
        if let Some(&first) = exact.first() {
            if exact.iter().all(|n| same(first, n)) {
                return Some(IntentMatch { intent: first.to_string(), score: 1.0, slots: slots(first) });
            }
        }
        let scored: Vec<(&str, f64)> = allowed.iter().filter_map(|name| self.intents.get(*name).map(|i| (*name, self.likelihood(i, &utterance)))).collect();
        let top = scored.iter().map(|s| s.1).fold(f64::NEG_INFINITY, f64::max);
        let evidence: f64 = scored.iter().map(|s| (s.1 - top).exp()).sum();
        let (name, best) = scored.iter().copied().max_by(|a, b| a.1.total_cmp(&b.1))?;
        let second = scored.iter().filter(|s| !same(s.0, name)).map(|s| s.1).fold(f64::NEG_INFINITY, f64::max);
        if best - second < LEAD_OVER_NEXT.ln() {
            return None;
        }
        // Enough of what was said is what this intent's callers say: else it is about something
        // the agent does not offer.
        let intent = &self.intents[name];
        let weight = |w: &String| 1.0 + ((self.intents.len() as f64) / (self.spread.get(w).copied().unwrap_or(self.intents.len()) as f64)).ln();
        let known: f64 = utterance.iter().filter(|w| intent.counts.contains_key(*w)).map(weight).sum();
        let all: f64 = utterance.iter().map(weight).sum();
        if known / all < MIN_COVERAGE {
            return None;
        }
        let score = (best - top).exp() / evidence;
        Some(IntentMatch { intent: name.to_string(), score, slots: slots(name) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> IntentSet {
        let mut d = BTreeMap::new();
        d.insert("order_status".to_string(), IntentDef { examples: vec!["where is my order".into(), "check on my order 1004".into(), "track my package".into()], slots: [("order_number".to_string(), SlotType::Number)].into() });
        d.insert("pay".to_string(), IntentDef { examples: vec!["I want to pay my balance".into(), "make a payment for order 1002".into()], slots: [("order_number".to_string(), SlotType::Number)].into() });
        IntentSet::new(&d)
    }

    #[test]
    fn words_are_canonical() {
        assert_eq!(words("I'd like to speak to a representative"), ["i", "would", "like", "to", "talk", "to", "a", "person"]);
        assert_eq!(words("Tracking my packages, order one zero zero four, boxes, deliveries"), ["order", "my", "order", "order", "#", "box", "order"]);
    }

    #[test]
    fn phrasings_not_among_the_examples_are_matched() {
        let s = demo();
        let all: Vec<&str> = s.names().collect();
        let c = |t: &str| s.classify(t, &all).map(|m| m.intent);
        assert_eq!(c("Could you tell me where my parcel is?").as_deref(), Some("order_status"));
        assert_eq!(c("I'd like to settle what I owe").as_deref(), Some("pay"));
        assert_eq!(c("Let me talk to a real human being please").as_deref(), Some("person"));
        assert_eq!(c("Until what time are you guys open on Saturday?").as_deref(), Some("hours"));
        assert_eq!(c("Nope, that's everything, bye.").as_deref(), Some("goodbye"));
        assert_eq!(c("The weather is lovely.").as_deref(), None);
        let m = s.classify("where's order 1004", &all).unwrap();
        assert_eq!(m.slots, [("order_number".to_string(), 1004)]);
        assert_eq!(s.classify("where is my order", &["hours", "person"]), None, "only the allowed intents");
    }
}
