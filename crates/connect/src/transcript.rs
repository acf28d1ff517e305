//! The live transcript of one call. It exists only in the call task's memory: it implements
//! neither `Serialize` nor a `Debug` that shows content, it is zeroized when dropped, and the
//! only way out is [`crate::document::render`], which produces the post-call document bytes.

use zeroize::Zeroize;

/// Who spoke.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Speaker {
    /// The person who called.
    Caller,
    /// The AI agent.
    Agent,
}

impl Speaker {
    /// Name used in the post-call document.
    pub fn as_str(self) -> &'static str {
        match self {
            Speaker::Caller => "caller",
            Speaker::Agent => "agent",
        }
    }
}

pub(crate) struct Turn {
    pub(crate) speaker: Speaker,
    pub(crate) text: String,
    pub(crate) start_ms: u64,
    pub(crate) end_ms: u64,
    /// The caller talked over it and it stopped before its end.
    pub(crate) interrupted: bool,
}

/// See the module docs.
#[derive(Default)]
pub struct Transcript {
    pub(crate) turns: Vec<Turn>,
}

impl Transcript {
    /// An empty transcript.
    pub fn new() -> Transcript {
        Transcript::default()
    }

    /// Appends a turn with its offsets from the start of the call.
    pub fn push(&mut self, speaker: Speaker, text: &str, start_ms: u64, end_ms: u64) {
        self.turns.push(Turn { speaker, text: text.to_string(), start_ms, end_ms, interrupted: false });
    }

    /// Appends what the agent was saying when the caller talked over it: the text it meant to
    /// say, marked as cut off at `end_ms`.
    pub fn push_interrupted(&mut self, text: &str, start_ms: u64, end_ms: u64) {
        self.turns.push(Turn { speaker: Speaker::Agent, text: text.to_string(), start_ms, end_ms, interrupted: true });
    }

    /// Number of turns.
    pub fn len(&self) -> usize {
        self.turns.len()
    }

    /// Whether no turn was recorded.
    pub fn is_empty(&self) -> bool {
        self.turns.is_empty()
    }

    /// Replaces PII in every turn with labels ([`crate::redact`]); the original text is zeroized.
    pub fn redact(&mut self) {
        for t in &mut self.turns {
            let clean = crate::redact::redact(&t.text);
            t.text.zeroize();
            t.text = clean;
        }
    }

    /// Turns spoken by `speaker`.
    pub fn count(&self, speaker: Speaker) -> usize {
        self.turns.iter().filter(|t| t.speaker == speaker).count()
    }
}

impl std::fmt::Debug for Transcript {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Transcript({} turns)", self.turns.len())
    }
}

impl Drop for Transcript {
    fn drop(&mut self) {
        for t in &mut self.turns {
            t.text.zeroize();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_content() {
        let mut t = Transcript::new();
        t.push(Speaker::Caller, "my card is 4111 1111 1111 1111", 0, 900);
        assert_eq!(format!("{t:?}"), "Transcript(1 turns)");
    }
}
