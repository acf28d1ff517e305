//! A caller's utterance recognized in parts.
//!
//! Recognition starts early, at the first short pause ([`crate::pipeline`]). When the caller
//! goes on after a pause of at least [`crate::Config::parts_after`] (a breath between clauses,
//! "my order number is ... one zero zero four"), the text of the audio up to that pause is kept
//! as a [`Part`], and the next recognition of the utterance covers only what follows, with the
//! part's words given to the recognizer as the text before it (Whisper's and OpenAI's prompt).
//! The final decode of a long turn is then as short as its last part, rather than the whole
//! turn decoded again at every pause; this is how Pipecat's segmented recognizers work on each
//! stretch of speech between pauses.
//!
//! A shorter pause keeps nothing: it may fall inside a word (a plosive's closure), so the
//! whole utterance is recognized again. When the part's text has not come by the next pause,
//! its decode is dropped and the whole utterance is recognized.

/// The recognized beginning of the utterance in progress.
pub(crate) struct Part {
    /// Its recognition (while its text is still to come).
    pub(crate) turn: u64,
    /// Samples of the utterance it covers (up to the pause, pre-roll included).
    pub(crate) samples: usize,
    /// The words of the parts before it, to put before its own.
    before: Option<String>,
    /// Its words (those of the parts before it included), once recognized.
    pub(crate) text: Option<String>,
}

impl Part {
    /// The audio of recognition `turn` covered the utterance's first `samples`; `text`: its
    /// words with `before` already put before them, if they came.
    pub(crate) fn new(turn: u64, samples: usize, before: Option<String>, text: Option<String>) -> Part {
        Part { turn, samples, before, text }
    }

    /// The recognizer's text for the part came.
    pub(crate) fn heard(&mut self, text: &str) {
        self.text = Some(joined(self.before.as_deref(), text));
    }
}

/// The words of a part after those of the parts before it.
pub(crate) fn joined(before: Option<&str>, text: &str) -> String {
    match (before.map(str::trim).filter(|b| !b.is_empty()), text.trim()) {
        (None, text) => text.to_string(),
        (Some(before), "") => before.to_string(),
        (Some(before), text) => format!("{before} {text}"),
    }
}

/// The most of the words before that go into the recognizer's prompt (Whisper keeps at most
/// 224 tokens of prompt; the last few words are what helps a decode that starts mid-sentence).
const PROMPT_CHARS: usize = 200;

/// The recognizer's prompt for the part after `before`: the agent's hint for the turn, then the
/// last words said before this audio, so the decode reads on from them.
pub(crate) fn prompt(hint: Option<&str>, before: &str) -> String {
    let before = before.trim();
    let start = before.len().saturating_sub(PROMPT_CHARS);
    let tail = if start == 0 {
        before
    } else {
        // From the first word that starts within the last PROMPT_CHARS bytes.
        let cut = before.char_indices().map(|(i, _)| i).find(|&i| i >= start).unwrap_or(before.len());
        before[cut..].split_once(' ').map_or(&before[cut..], |(_, rest)| rest)
    };
    match hint.map(str::trim).filter(|h| !h.is_empty()) {
        Some(hint) => format!("{hint} {tail}"),
        None => tail.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_join_with_one_space_and_an_empty_part_adds_nothing() {
        assert_eq!(joined(None, " My order number is. "), "My order number is.");
        assert_eq!(joined(Some("My order number is."), "1004."), "My order number is. 1004.");
        assert_eq!(joined(Some("My order number is."), ""), "My order number is.");
        assert_eq!(joined(Some(" "), "Yes."), "Yes.");
    }

    #[test]
    fn the_prompt_is_the_hint_then_the_last_words_before() {
        assert_eq!(prompt(None, "I ordered a tent"), "I ordered a tent");
        assert_eq!(prompt(Some("The caller reads out a number."), "My order number is"), "The caller reads out a number. My order number is");
        let long = "word ".repeat(100);
        let p = prompt(None, &long);
        assert!(p.len() <= PROMPT_CHARS && p.starts_with("word") && p.ends_with("word"), "{p:?}");
        let accented = "é".repeat(300);
        assert!(prompt(None, &accented).len() <= 2 * PROMPT_CHARS, "cut on a character boundary");
    }

    #[test]
    fn a_part_heard_later_has_the_words_before_it_put_first() {
        let mut part = Part::new(3, 16_000, Some("I ordered a tent last week.".into()), None);
        part.heard("And it has not come.");
        assert_eq!(part.text.as_deref(), Some("I ordered a tent last week. And it has not come."));
    }
}
