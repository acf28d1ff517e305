//! How a yes-or-no question (`expect: yes_no`) hears its answer.
//!
//! Callers answer first and say why after: "yes, thank you", "no, it's a different one", "nah,
//! I'm okay". An answer that starts with a word of yes or of no (after a hesitation: "uh,
//! yes") is that, unless a negation follows a yes ("sure, why not", "yes, but not that one")
//! and makes it less plain; anything else is for the intents' examples to decide, which hear
//! neither for "I'm not sure" or "hold on" (the question is asked again).

use super::classify::{words, NEGATIONS};
use super::{IntentMatch, IntentSet};
use crate::turn::HESITATIONS;

/// Words an answer of yes starts with.
const YES_FIRST: &[&str] = &["yes", "yeah", "yep", "yup", "yea", "sure", "correct", "right", "exactly", "absolutely", "definitely", "certainly", "okay", "ok", "alright", "mhm"];
/// Words an answer of no starts with ("not" as in "not now", "not this time"; "not sure" is
/// folded into a word of its own).
const NO_FIRST: &[&str] = &["no", "nope", "nah", "not", "incorrect", "wrong", "negative"];
/// Words before the answer besides hesitations ("oh, yes", "well, no").
const LEAD_INS: &[&str] = &["oh", "well", "so"];

impl IntentSet {
    /// The answer `text` gives to a yes-or-no question: `yes`, `no`, or neither.
    pub fn yes_or_no(&self, text: &str) -> Option<IntentMatch> {
        let said = words(text);
        let first = said.iter().find(|w| !HESITATIONS.contains(&w.as_str()) && !LEAD_INS.contains(&w.as_str()));
        let plain = |intent: &str| Some(IntentMatch { intent: intent.to_string(), score: 1.0, slots: Vec::new() });
        match first.map(String::as_str) {
            Some(w) if YES_FIRST.contains(&w) && !said.iter().any(|w| NEGATIONS.contains(&w.as_str())) => plain("yes"),
            Some(w) if NO_FIRST.contains(&w) => plain("no"),
            _ => self.classify(text, &["yes", "no"]),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn heard(text: &str) -> Option<String> {
        IntentSet::new(&BTreeMap::new()).yes_or_no(text).map(|m| m.intent)
    }

    #[test]
    fn the_first_word_answers() {
        for t in ["Yes, thank you.", "Uh, yes.", "Right, yes.", "Okay, go ahead.", "Yeah, I'd like that.", "Mm-hmm.", "Uh-huh"] {
            assert_eq!(heard(t).as_deref(), Some("yes"), "{t}");
        }
        for t in ["No, I'm good.", "Nah, I'm okay.", "Not this time.", "Nope, wrong number.", "No, yes... I mean no."] {
            assert_eq!(heard(t).as_deref(), Some("no"), "{t}");
        }
    }

    #[test]
    fn doubt_and_hesitation_are_neither() {
        for t in ["I'm not sure.", "Not sure.", "I don't know.", "Hmm.", "Hold on.", "Maybe.", "What?", ""] {
            assert_eq!(heard(t), None, "{t}");
        }
    }

    #[test]
    fn a_yes_with_a_negation_is_weighed_whole() {
        assert_eq!(heard("Sure, why not.").as_deref(), Some("yes"), "the examples decide it");
        assert_eq!(heard("Yes, but not that one."), IntentSet::new(&BTreeMap::new()).classify("Yes, but not that one.", &["yes", "no"]).map(|m| m.intent));
    }
}
