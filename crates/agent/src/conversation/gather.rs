//! Answers to a `gather`: an intent, a number, yes or no, free text; said or typed; and what
//! happens when nothing fits or nothing comes.

use std::time::Instant;

use serde_json::json;

use super::{Action, Conversation, State};
use crate::flow::{Expect, Gather};
use crate::intent::{extract_number, normalize};
use crate::turn::TurnShape;

/// What an answer to a gather came to.
enum Answer {
    /// An intent, with slots it filled.
    Intent(String, Vec<(String, String)>),
    /// A value to save.
    Value(String),
    /// Structured data to save (a date).
    Data(serde_json::Value),
    /// Nothing that fits.
    NoMatch,
}

fn digits_fit(g: &Gather, digits: &str) -> bool {
    (usize::from(g.digits.min)..=usize::from(g.digits.max)).contains(&digits.len())
}

/// `digits` as the gather takes them, if they fit. Whisper sometimes writes a run of zeros
/// read out digit by digit with one zero too many ("one zero zero seven" as "10007": 2 of 3
/// takes in a Piper voice, tiny.en, session 27): a number one digit longer than the gather
/// takes, with one run of zeros in it, is read with one zero fewer ("1007"). A number that
/// still does not fit, or whose extra zero could be in either of two runs, is not taken.
fn fitted(g: &Gather, digits: String) -> Option<String> {
    if digits_fit(g, &digits) {
        return Some(digits);
    }
    if digits.len() != usize::from(g.digits.max) + 1 {
        return None;
    }
    let b = digits.as_bytes();
    let doubled: Vec<usize> = (1..b.len()).filter(|&i| b[i] == b'0' && b[i - 1] == b'0').collect();
    let one_run = doubled.windows(2).all(|w| w[1] == w[0] + 1);
    let at = doubled.first().copied().filter(|_| one_run)?;
    let mut shorter = digits;
    shorter.remove(at);
    Some(shorter)
}

/// The number in `text` as gather `g` takes it (its digits, one zero too many dropped), if
/// it said one that fits.
pub fn number_heard(g: &Gather, text: &str) -> Option<String> {
    extract_number(text).and_then(|n| fitted(g, n.to_string()))
}

/// What the recognizer is told while a gather waits for a number without a hint of its own.
pub const NUMBER_HINT: &str = "The caller reads out a number, for example 1004 or 2057.";

/// A slot's value as the gather takes it: a number one zero too long is read with one fewer
/// ([`fitted`]); anything else as it is.
fn fitted_slot(g: &Gather, value: String) -> String {
    if !value.bytes().all(|c| c.is_ascii_digit()) {
        return value;
    }
    fitted(g, value.clone()).unwrap_or(value)
}

/// Whether the utterance is just a number (with filler words such as "it's" or "um").
fn only_a_number(text: &str) -> bool {
    normalize(text).split(' ').all(|w| w.chars().all(|c| c.is_ascii_digit()) || crate::intent::is_number_word(w) || matches!(w, "it's" | "its" | "it" | "is" | "um" | "uh" | "er" | "oh" | "o" | "to" | "for" | "and" | "yes" | "it'll" | "that's" | "number" | "hash" | "pound"))
}

impl Conversation {
    fn answer(&self, now: Instant, g: &Gather, text: &str) -> Answer {
        let routed: Vec<&str> = g.routes.keys().map(String::as_str).collect();
        let number = number_heard(g, text);
        match g.expect {
            Expect::Text => Answer::Value(text.to_string()),
            Expect::Date => {
                let (today, time) = self.local_now(now);
                match crate::when::understand(text, today, time) {
                    Some(w) => Answer::Data(w.to_value()),
                    None => self.intents.classify(text, &routed).map_or(Answer::NoMatch, |m| Answer::Intent(m.intent, Vec::new())),
                }
            }
            Expect::Number => match number {
                Some(n) => Answer::Value(n),
                None => self.intents.classify(text, &routed).map_or(Answer::NoMatch, |m| Answer::Intent(m.intent, Vec::new())),
            },
            Expect::YesNo => self.intents.yes_or_no(text).map_or(Answer::NoMatch, |m| Answer::Intent(m.intent, Vec::new())),
            Expect::Intent => {
                let allowed = g.listens_for();
                let on_number = |n: String| {
                    let slot = g.on_number.as_deref().and_then(|i| self.intents.number_slot(i)).unwrap_or("number");
                    g.on_number.clone().map(|i| Answer::Intent(i, vec![(slot.to_string(), n)]))
                };
                if let Some(n) = number.clone().filter(|_| only_a_number(text)) {
                    if let Some(a) = on_number(n) {
                        return a;
                    }
                }
                match self.intents.classify_routed(text, &allowed, &|a, b| g.same_route(a, b)) {
                    Some(m) => Answer::Intent(m.intent, m.slots.into_iter().map(|(k, v)| (k, fitted_slot(g, v.to_string()))).collect()),
                    None => number.clone().and_then(on_number).or_else(|| self.by_meaning(g, text, &allowed, number)).unwrap_or(Answer::NoMatch),
                }
            }
        }
    }

    /// The intent among `allowed` nearest in meaning to `text` ([`crate::intent::meaning`]),
    /// with the `number` said for its number slot.
    fn by_meaning(&self, g: &Gather, text: &str, allowed: &[&str], number: Option<String>) -> Option<Answer> {
        let (intent, _) = crate::intent::meaning::nearest_routed(self.encoder.as_deref()?, &self.intents, text, allowed, &|a, b| g.same_route(a, b))?;
        let slots = self.intents.number_slot(&intent).zip(number).map(|(slot, n)| (slot.to_string(), n)).into_iter().collect();
        Some(Answer::Intent(intent, slots))
    }

    /// The caller said `text` while the flow listened at gather `i`.
    pub(super) fn heard(&mut self, now: Instant, i: usize, text: &str) -> Vec<Action> {
        let Some(g) = self.gather(i).cloned() else { return Vec::new() };
        let answer = self.answer(now, &g, text);
        // "Can you repeat that?" where the flow does not route it: the last words again.
        let repeat = matches!(answer, Answer::NoMatch) && g.expect != Expect::Text && !g.routes.contains_key("repeat");
        if repeat && !self.last_said.is_empty() && self.intents.classify(text, &["repeat"]).is_some() {
            return vec![Action::Say(self.last_said.clone())];
        }
        self.answered(now, i, &g, answer)
    }

    fn answered(&mut self, now: Instant, i: usize, g: &Gather, answer: Answer) -> Vec<Action> {
        match answer {
            Answer::Intent(intent, slots) => {
                for (k, v) in slots {
                    self.vars.set(&k, json!(v));
                }
                self.intents_heard.push(intent.clone());
                if g.expect == Expect::YesNo {
                    if let Some(v) = &g.save_as {
                        self.vars.set(v, json!(intent == "yes"));
                    }
                }
                let to = g.routes.get(&intent).cloned();
                self.retries = 0;
                // A route away from this question: coming back to it later is no retry.
                self.last_gather = None;
                self.go(now, i, to.as_deref())
            }
            Answer::Value(v) => {
                if let Some(name) = &g.save_as {
                    self.vars.set(name, json!(v));
                }
                self.go(now, i, g.next.as_deref())
            }
            Answer::Data(v) => {
                if let Some(name) = &g.save_as {
                    self.vars.set(name, v);
                }
                self.go(now, i, g.next.as_deref())
            }
            Answer::NoMatch => self.no_match(now, i, g),
        }
    }

    fn no_match(&mut self, now: Instant, i: usize, g: &Gather) -> Vec<Action> {
        if let Some(fail) = self.count_retry(now, i) {
            return fail;
        }
        let text = match (&g.no_match, &g.prompt) {
            (Some(m), _) => m.clone(),
            (None, Some(p)) => format!("Sorry, I did not get that. {p}"),
            (None, None) => "Sorry, I did not get that. Could you say it again?".to_string(),
        };
        vec![self.say(&text)]
    }

    /// Nothing came in time after the question at gather `i`.
    pub(super) fn no_input(&mut self, now: Instant, i: usize) -> Vec<Action> {
        let Some(g) = self.gather(i).cloned() else { return Vec::new() };
        if let Some(fail) = self.count_retry(now, i) {
            return fail;
        }
        let text = match (&g.no_input, &g.prompt) {
            (Some(t), _) => t.clone(),
            (None, Some(p)) => format!("Are you still there? {p}"),
            (None, None) => "Are you still there? How can I help?".to_string(),
        };
        vec![self.say(&text)]
    }

    /// A key pressed while listening at gather `i`: a menu key, or a digit of a number.
    pub(super) fn key(&mut self, now: Instant, i: usize, k: char) -> Vec<Action> {
        let Some(g) = self.gather(i).cloned() else { return Vec::new() };
        let takes_digits = g.expect == Expect::Number || g.on_number.is_some();
        if self.keys.is_empty() {
            if let Some(intent) = g.keys.get(&k.to_string()) {
                self.turns += 1;
                return self.answered(now, i, &g, Answer::Intent(intent.clone(), Vec::new()));
            }
        }
        match k {
            '0'..='9' if takes_digits => {
                self.keys.push(k);
                if self.keys.len() < usize::from(g.digits.max) {
                    return Vec::new();
                }
            }
            '#' if !self.keys.is_empty() => {}
            '*' => {
                self.keys.clear();
                return Vec::new();
            }
            _ => return Vec::new(),
        }
        self.turns += 1;
        let digits = std::mem::take(&mut self.keys);
        if !digits_fit(&g, &digits) {
            return self.no_match(now, i, &g);
        }
        let answer = match g.expect {
            Expect::Number => Answer::Value(digits),
            _ => {
                let intent = g.on_number.clone().unwrap_or_default();
                let slot = self.intents.number_slot(&intent).unwrap_or("number").to_string();
                Answer::Intent(intent, vec![(slot, digits)])
            }
        };
        self.answered(now, i, &g, answer)
    }

    /// The day and time of day at the business at `now` (its `opening_hours` time zone; UTC
    /// without one).
    pub(super) fn local_now(&self, now: Instant) -> (jiff::civil::Date, (i8, i8)) {
        let at_ms = self.context.answered_unix_ms + now.saturating_duration_since(self.context.answered).as_millis() as i64;
        let tz = self.spec.opening_hours.as_ref().and_then(|h| jiff::tz::TimeZone::get(&h.time_zone).ok()).unwrap_or(jiff::tz::TimeZone::UTC);
        let local = jiff::Timestamp::from_millisecond(at_ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH).to_zoned(tz);
        (local.date(), (local.hour(), local.minute()))
    }

    /// Whether `text`, heard while the caller pauses, sounds like a finished turn
    /// ([`crate::turn`]): a number counts as finished once it has as many digits as the
    /// question takes.
    pub fn turn_shape(&self, text: &str) -> TurnShape {
        let g = match self.state {
            State::Listening(i) => self.gather(i),
            _ => None,
        };
        let expected = g.is_some_and(|g| g.expect == Expect::Number);
        let numbers = g.filter(|g| g.expect == Expect::Number || g.on_number.is_some());
        // A whole number is one of the most digits the gather takes (also once one zero too many is dropped).
        crate::turn::shape(text, expected, |n| numbers.is_some_and(|g| fitted(g, n.to_string()).is_some_and(|d| d.len() == usize::from(g.digits.max))))
    }

    /// A hint for the recognizer about what the caller is about to say, in the way it should be
    /// written: the question's `hint`, or for a number that numbers come as digits. Worded so
    /// that a caller would not say it (a decoder that heard nothing may echo its prompt).
    pub fn listening_for(&self) -> Option<String> {
        let State::Listening(i) = self.state else { return None };
        let g = self.gather(i)?;
        g.hint.clone().or_else(|| (g.expect == Expect::Number).then(|| NUMBER_HINT.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gather(min: u8, max: u8) -> Gather {
        serde_json::from_value(json!({"id": "number", "expect": "number", "digits": {"min": min, "max": max}})).expect("a gather")
    }

    #[test]
    fn one_zero_too_many_in_one_run_of_zeros_is_dropped() {
        let g = gather(4, 4);
        assert_eq!(fitted(&g, "1007".into()).as_deref(), Some("1007"));
        assert_eq!(fitted(&g, "10007".into()).as_deref(), Some("1007"));
        assert_eq!(fitted(&g, "20057".into()).as_deref(), Some("2057"));
        assert_eq!(fitted(&g, "12345".into()), None, "no run of zeros to shorten");
        assert_eq!(fitted(&g, "100007".into()), None, "two digits too many");
        let g = gather(6, 6);
        assert_eq!(fitted(&g, "1000700".into()), None, "which of two runs has the extra zero is not clear");
        assert_eq!(fitted(&g, "1000078".into()).as_deref(), Some("100078"));
    }
}
