//! Measuring intent accuracy on labelled phrasings (`intent<TAB>phrase` lines, `#` comments):
//! what a gather would do with each phrase, against where its label leads.

use std::collections::BTreeMap;

use crate::flow::{Expect, Gather};

use super::IntentSet;

/// How a set of phrasings went.
#[derive(Debug, Default)]
pub struct Evaluation {
    /// Per label: right, all.
    pub per_label: BTreeMap<String, (usize, usize)>,
    /// Phrases that went elsewhere.
    pub misses: Vec<Miss>,
}

/// A phrase that went elsewhere.
#[derive(Debug)]
pub struct Miss {
    /// Its label.
    pub label: String,
    /// What was heard: the intent and its score.
    pub heard: Option<(String, f64)>,
    /// The phrase.
    pub phrase: String,
}

impl Evaluation {
    /// Right answers over all phrases.
    pub fn accuracy(&self) -> f64 {
        let (right, all) = self.per_label.values().fold((0, 0), |(r, a), (x, y)| (r + x, a + y));
        right as f64 / all.max(1) as f64
    }
}

/// Classifies each phrase of `set` as `gather` does its answers by their words: among its
/// routed intents, or as yes or no for a yes-or-no question. A phrase is right when it goes
/// where its labelled intent goes (`none`: it must match nothing).
pub fn evaluate(intents: &IntentSet, gather: &Gather, set: &str) -> Evaluation {
    let allowed = gather.listens_for();
    evaluate_with(gather, set, |phrase| {
        let heard = match gather.expect {
            Expect::YesNo => intents.yes_or_no(phrase),
            _ => intents.classify_routed(phrase, &allowed, &|a, b| gather.same_route(a, b)),
        };
        heard.map(|m| (m.intent, m.score))
    })
}

/// [`evaluate`] with another listener: `heard` gives the intent a phrase was taken for (and a
/// score), `None` when nothing was heard.
pub fn evaluate_with(gather: &Gather, set: &str, mut heard: impl FnMut(&str) -> Option<(String, f64)>) -> Evaluation {
    let route = |intent: Option<&str>| intent.and_then(|i| gather.routes.get(i)).cloned();
    let mut e = Evaluation::default();
    for line in set.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let Some((label, phrase)) = line.split_once('\t') else { continue };
        let heard = heard(phrase);
        let want = if label == "none" { None } else { route(Some(label)) };
        let got = route(heard.as_ref().map(|(i, _)| i.as_str()));
        let counts = e.per_label.entry(label.to_string()).or_default();
        counts.1 += 1;
        if got == want {
            counts.0 += 1;
        } else {
            e.misses.push(Miss { label: label.to_string(), heard, phrase: phrase.to_string() });
        }
    }
    e
}
