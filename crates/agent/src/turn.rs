//! Whether what the caller has said so far sounds finished, from its words alone. While the
//! caller pauses, the call pipeline already has the recognizer's text of the utterance so far:
//! a finished answer ("yes", "no thanks", a whole order number) ends the turn at once instead
//! of after the full pause, and an unfinished one ("my order number is", "and", "one zero
//! zero") waits longer before the turn is taken as ended. A request the agent can act on in
//! full (opening hours, a person, goodbye) that the recognizer closed with a full stop or a
//! question mark is finished too; a request for an order without its number is not (the number
//! usually follows).

use crate::intent::{classify, extract_number, normalize, Intent};

/// See the module docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TurnShape {
    /// Sounds finished: take the turn now.
    Complete,
    /// Sounds cut off: wait longer for the caller to go on.
    Unfinished,
    /// Nothing to go by: the usual pause decides.
    Open,
}

/// Words after which a sentence goes on.
const GOES_ON: &[&str] = &[
    "and", "or", "but", "so", "because", "the", "a", "an", "my", "your", "our", "to", "for", "of", "is", "are", "was", "it's", "its", "with", "about",
    "from", "at", "in", "on", "um", "uh", "er", "erm", "hmm", "like", "if", "than", "then", "that",
];

/// Short answers that are whole on their own.
const WHOLE: &[&str] = &["yes", "yeah", "yep", "yup", "no", "nope", "nah", "sure", "okay", "ok", "correct", "right", "thanks", "thank", "you", "bye", "goodbye", "please", "that's", "all", "nothing", "else"];

fn numeric(w: &str) -> bool {
    w.chars().all(|c| c.is_ascii_digit())
        || matches!(w, "zero" | "oh" | "one" | "two" | "three" | "four" | "five" | "six" | "seven" | "eight" | "nine" | "ten" | "eleven" | "twelve" | "thirteen" | "fourteen" | "fifteen" | "sixteen" | "seventeen" | "eighteen" | "nineteen" | "twenty" | "hundred" | "thousand")
}

/// The shape of `text`; `known` says whether a number is one the agent would act on (an
/// existing order).
pub fn shape(text: &str, known: impl Fn(u32) -> bool) -> TurnShape {
    let t = normalize(text);
    let words: Vec<&str> = t.split(' ').filter(|w| !w.is_empty()).collect();
    let Some(last) = words.last() else { return TurnShape::Open };
    if numeric(last) {
        // A number being read out: whole when it is one the agent knows, cut off while it
        // is shorter than one.
        return match extract_number(&t) {
            Some(n) if known(n) => TurnShape::Complete,
            Some(n) if n >= 1000 => TurnShape::Open,
            _ => TurnShape::Unfinished,
        };
    }
    if GOES_ON.contains(last) {
        return TurnShape::Unfinished;
    }
    if words.len() <= 4 && words.iter().all(|w| WHOLE.contains(w)) {
        return TurnShape::Complete;
    }
    let closed = text.trim_end().ends_with(['.', '?', '!']);
    if closed && matches!(classify(text), Intent::Hours | Intent::Human | Intent::Goodbye) {
        return TurnShape::Complete;
    }
    TurnShape::Open
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> TurnShape {
        shape(text, |n| (1001..=1010).contains(&n))
    }

    #[test]
    fn short_answers_and_known_numbers_are_whole() {
        for t in ["Yes.", "No thanks.", "Yeah, sure.", "That's all, thank you.", "Goodbye!", "1004", "It's order one zero zero four.", "ten oh four", "What are your opening hours?", "When do you close today?", "I would like to speak to a person."] {
            assert_eq!(s(t), TurnShape::Complete, "{t}");
        }
    }

    #[test]
    fn sentences_cut_off_and_numbers_half_read_wait() {
        for t in ["My order number is", "I'd like to check the status of my", "Yes, and", "Um", "It's one zero zero", "Order 10", "I want to pay for"] {
            assert_eq!(s(t), TurnShape::Unfinished, "{t}");
        }
    }

    #[test]
    fn everything_else_is_left_to_the_pause() {
        for t in ["Where is my order?", "Can you check an order.", "I'd like to pay my bill.", "What are your opening hours", "Order 9999", "", "Yes, I would like to check an order"] {
            assert_eq!(s(t), TurnShape::Open, "{t}");
        }
    }
}
