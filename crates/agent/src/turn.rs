//! Whether what the caller has said so far sounds finished, from its words alone. While the
//! caller pauses, the call pipeline already has the recognizer's text of the utterance so far:
//! a finished sentence ends the turn at once instead of after the full pause, and an unfinished
//! one waits longer before the turn is taken as ended.
//!
//! - Unfinished: the last word leads on ("my order number is", "and", "um"; adverbs after it
//!   such as "there are currently" are set aside), the recognizer
//!   trailed off ("so I was...") or, while the agent waits for an order number, the digits so
//!   far are not yet one ("one zero zero").
//! - Complete: a short answer ("yes", "no thanks"), a whole order number the agent knows, or a
//!   question the recognizer closed with a question mark ("What are your opening hours?").
//! - Closed: a sentence the recognizer closed with a full stop or exclamation mark. Whisper
//!   punctuates from prosody and words together, so such a sentence has usually ended, but a fragment said with a falling voice is closed too ("The person at
//!   extension."): the pipeline waits a pause between the two others.
//! - Open: nothing to go by (no punctuation); the usual pause decides.

use crate::intent::{extract_number, is_number_word, normalize};

/// See the module docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TurnShape {
    /// Sounds finished: take the turn now.
    Complete,
    /// Sounds cut off: wait longer for the caller to go on.
    Unfinished,
    /// The recognizer closed the sentence (full stop, question mark): likely over, but Whisper
    /// also closes a fragment said with a falling voice ("There are currently."), so a pause
    /// somewhat shorter than the usual one ends it.
    Closed,
    /// Nothing to go by: the usual pause decides.
    Open,
}

/// Words a sentence rarely ends on: conjunctions, articles and possessive determiners,
/// prepositions, and hesitations.
const GOES_ON: &[&str] = &[
    "and", "or", "but", "so", "because", "if", "than", "then", "that", "when", "while", "although", "unless", "whether", "the", "a", "an", "my", "your",
    "our", "their", "every", "to", "for", "of", "with", "about", "from", "at", "in", "on", "into", "onto", "via", "per", "until", "between", "is", "it's",
    "its", "um", "uh", "er", "erm", "hmm", "like", "otherwise", "including", "except", "plus",
];

/// Adverbs that sit between a verb and what it leads to ("there are currently ...", "the time
/// will be exactly ..."): a sentence that ends on them ends where the word before them does.
const IN_BETWEEN: &[&str] = &[
    "exactly", "currently", "still", "also", "just", "really", "actually", "only", "always", "usually", "probably", "definitely", "approximately", "almost",
    "nearly", "roughly",
];

/// Auxiliaries, modals and copulas: a sentence goes on after them ("there are", "the time
/// will be", "your order has") unless they close a short answer after a pronoun ("yes, I
/// can", "we have").
const AUXILIARY: &[&str] = &["are", "was", "were", "am", "be", "been", "will", "would", "can", "could", "should", "shall", "must", "might", "have", "has", "had", "do", "does", "did"];

const PRONOUNS: &[&str] = &["i", "you", "we", "they", "he", "she", "it"];

/// Courtesies that close a request ("..., please", "thank you").
const COURTESY: &[&str] = &["please", "thanks", "thank", "you"];

/// Short answers that are whole on their own.
const WHOLE: &[&str] = &["yes", "yeah", "yep", "yup", "no", "nope", "nah", "sure", "okay", "ok", "correct", "right", "thanks", "thank", "you", "bye", "goodbye", "please", "that's", "all", "nothing", "else"];

fn numeric(w: &str) -> bool {
    w.chars().all(|c| c.is_ascii_digit()) || is_number_word(w)
}

/// The shape of `text`; `number_expected`: the agent asked for an order number; `known` says
/// whether a number is one the agent would act on (an existing order).
pub fn shape(text: &str, number_expected: bool, known: impl Fn(u32) -> bool) -> TurnShape {
    let t = normalize(text);
    let words: Vec<&str> = t.split(' ').filter(|w| !w.is_empty()).collect();
    let Some(last) = words.last() else { return TurnShape::Open };
    let trimmed = text.trim_end();
    if trimmed.ends_with("...") || trimmed.ends_with('\u{2026}') || trimmed.ends_with('-') {
        return TurnShape::Unfinished;
    }
    // A number being read out (the agent asked for one, or the caller says one it knows or
    // says an order): the digits decide, also when a courtesy closes them ("order 1007
    // please", "1004, thank you").
    let about_orders = words.iter().any(|w| matches!(*w, "order" | "orders" | "number"));
    let closing = words.iter().rev().take_while(|w| COURTESY.contains(w)).count();
    let spoken = &words[..words.len() - closing];
    if spoken.last().is_some_and(|w| numeric(w)) && (number_expected || about_orders || spoken.iter().all(|w| numeric(w))) {
        // A number being read out: whole when it is one the agent knows, cut off while it is
        // shorter than one unless the caller closed it (then the agent asks again).
        return match extract_number(&spoken.join(" ")) {
            Some(n) if known(n) => TurnShape::Complete,
            _ if closing > 0 => TurnShape::Closed,
            Some(n) if n >= 1000 => TurnShape::Open,
            _ => TurnShape::Unfinished,
        };
    }
    // The word that decides is the last one before any adverbs in between.
    let kept = words.len() - words.iter().rev().take_while(|w| IN_BETWEEN.contains(w)).count();
    let last = words[..kept].last().unwrap_or(last);
    if GOES_ON.contains(last) {
        return TurnShape::Unfinished;
    }
    let after_pronoun = kept >= 2 && PRONOUNS.contains(&words[kept - 2]);
    if AUXILIARY.contains(last) && !after_pronoun {
        return TurnShape::Unfinished;
    }
    if words.len() <= 4 && words.iter().all(|w| WHOLE.contains(w)) {
        return TurnShape::Complete;
    }
    // A question the recognizer heard as one (a question form and its intonation) is a whole
    // request; a full stop is also put after fragments said with a falling voice.
    if trimmed.ends_with('?') {
        return TurnShape::Complete;
    }
    if trimmed.ends_with(['.', '!']) {
        return TurnShape::Closed;
    }
    TurnShape::Open
}

/// Continuers a caller says while listening ("uh-huh", "okay", "I see"): they do not take the
/// turn, so an agent they talked over goes on. Answers ("yes", "no") are not among them.
const CONTINUERS: &[&str] = &["uh", "huh", "um", "mm", "mmm", "hmm", "mhm", "hm", "okay", "ok", "right", "alright", "i", "see", "got", "it", "ah", "oh"];

/// Sounds a caller makes while thinking.
pub(crate) const HESITATIONS: &[&str] = &["uh", "um", "uhm", "umm", "er", "erm", "hmm", "hm", "mm", "mmm", "ah", "eh"];

/// Whether `text` is only hesitation ("Um.", "Uh, hmm..."): the caller has not said anything
/// yet, so the agent waits as it does for silence instead of answering that it did not
/// understand.
pub fn hesitation(text: &str) -> bool {
    let t = normalize(text);
    let words: Vec<&str> = t.split(' ').filter(|w| !w.is_empty()).collect();
    !words.is_empty() && words.iter().all(|w| HESITATIONS.contains(w))
}

/// Whether `text` is only a continuer (at most three words, all of them continuer words).
pub fn backchannel(text: &str) -> bool {
    let t = normalize(text);
    let words: Vec<&str> = t.split(' ').filter(|w| !w.is_empty()).collect();
    !words.is_empty() && words.len() <= 3 && words.iter().all(|w| CONTINUERS.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> TurnShape {
        shape(text, false, |n| (1001..=1010).contains(&n))
    }

    /// While the agent waits for an order number.
    fn awaiting(text: &str) -> TurnShape {
        shape(text, true, |n| (1001..=1010).contains(&n))
    }

    #[test]
    fn short_answers_and_known_numbers_are_whole() {
        for t in ["Yes.", "No thanks", "Yeah, sure", "That's all, thank you", "Goodbye!", "1004", "It's order one zero zero four", "ten oh four", "What are your opening hours?", "Where is my order?", "Check order 1007 please.", "Order one zero zero six, thank you."] {
            assert_eq!(s(t), TurnShape::Complete, "{t}");
        }
        assert_eq!(awaiting("It's 1004."), TurnShape::Complete);
    }

    #[test]
    fn sentences_the_recognizer_closed_are_likely_over() {
        for t in ["I'd like to pay my bill.", "If this is correct, press 1.", "Yes, I can.", "No, we have.", "I need to speak to a person!", "I'm just looking, really.", "It's still broken.", "Yes, I can actually.", "That's exactly.", "Exactly."] {
            assert_eq!(s(t), TurnShape::Closed, "{t}");
        }
    }

    #[test]
    fn sentences_cut_off_and_numbers_half_read_wait() {
        for t in ["My order number is", "I'd like to check the status of my", "Yes, and", "Um", "Order 10", "I want to pay for", "So I was...", "one zero", "My order is, um,", "There are.", "The delivery will be", "My order has", "There are currently.", "The time will be exactly.", "Press 1 to accept, otherwise.", "My order was just", "It will be approximately"] {
            assert_eq!(s(t), TurnShape::Unfinished, "{t}");
        }
        for t in ["It's one zero zero", "It's 100.", "4 2"] {
            assert_eq!(awaiting(t), TurnShape::Unfinished, "{t}");
        }
        // Closed with a courtesy: the caller is done, whatever the number.
        assert_eq!(awaiting("It's one zero zero, please."), TurnShape::Closed);
        assert_eq!(s("Order 10009 please"), TurnShape::Closed);
    }

    #[test]
    fn continuers_are_not_turns_answers_are() {
        for t in ["Uh-huh.", "Mm-hmm", "Okay.", "I see.", "Right, right.", "Got it", "Mhm."] {
            assert!(backchannel(t), "{t}");
        }
        for t in ["Yes.", "No.", "", "Okay, but my order is late.", "Wait.", "I see a problem", "Right now please"] {
            assert!(!backchannel(t), "{t}");
        }
    }

    #[test]
    fn hesitation_alone_says_nothing() {
        for t in ["Um.", "Uh...", "Hmm.", "Uh, um", "Erm"] {
            assert!(hesitation(t), "{t}");
        }
        for t in ["", "Um, yes.", "Uh-huh.", "Oh no", "Hmm, my order"] {
            assert!(!hesitation(t), "{t}");
        }
    }

    #[test]
    fn everything_else_is_left_to_the_pause() {
        for t in ["What are your opening hours", "Order 9999", "", "Yes, I would like to check an order", "It's one zero zero"] {
            assert_eq!(s(t), TurnShape::Open, "{t}");
        }
    }
}
