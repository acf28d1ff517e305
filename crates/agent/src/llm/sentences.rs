//! Streamed text cut into sentences for the voice: a sentence is handed on as soon as its end
//! is certain (a `.`, `!` or `?` followed by a space, or the end of the answer), so the first is
//! synthesized while the model is still writing the rest. A full stop inside a number ("9.30"),
//! after a single letter ("a.m.", initials) or after a common abbreviation ("Mr.", "St.") does
//! not end a sentence.

/// Abbreviations a full stop follows without ending the sentence.
const ABBREVIATIONS: &[&str] = &["mr", "mrs", "ms", "dr", "st", "no", "vs", "etc", "approx", "appt", "dept", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"];

/// See the module docs.
#[derive(Default, Debug, Clone)]
pub struct Sentences {
    pending: String,
}

impl Sentences {
    /// An empty cutter.
    pub fn new() -> Sentences {
        Sentences::default()
    }

    /// More text: the sentences it completed.
    pub fn push(&mut self, text: &str) -> Vec<String> {
        self.pending.push_str(text);
        let mut out = Vec::new();
        while let Some(end) = self.sentence_end() {
            let sentence: String = self.pending.drain(..end).collect();
            let sentence = sentence.trim().to_string();
            if !sentence.is_empty() {
                out.push(sentence);
            }
        }
        out
    }

    /// The answer is complete: what is left, if anything.
    pub fn finish(&mut self) -> Option<String> {
        let rest = std::mem::take(&mut self.pending);
        let rest = rest.trim();
        (!rest.is_empty()).then(|| rest.to_string())
    }

    /// The byte index just past the first certain sentence end.
    fn sentence_end(&self) -> Option<usize> {
        let s = &self.pending;
        let bytes = s.as_bytes();
        for (i, c) in s.char_indices() {
            if !matches!(c, '.' | '!' | '?') {
                continue;
            }
            // Certain only once the next character is known to be a space.
            let next = bytes.get(i + 1).copied()?;
            if !(next == b' ' || next == b'\n') {
                continue;
            }
            if c == '.' {
                let word: String = s[..i].chars().rev().take_while(|c| c.is_alphanumeric()).collect::<String>().chars().rev().collect();
                let lower = word.to_lowercase();
                if word.chars().count() == 1 && word.chars().all(char::is_alphabetic) || ABBREVIATIONS.contains(&lower.as_str()) {
                    continue;
                }
            }
            return Some(i + 1);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_leave_as_soon_as_they_end() {
        let mut s = Sentences::new();
        let mut got = Vec::new();
        for piece in ["Your order", " 1004 shipped", " on Nov. 18.", " It should arrive by 9.30", " a.m. on Friday! Anything", " else?"] {
            got.extend(s.push(piece));
        }
        assert_eq!(got, ["Your order 1004 shipped on Nov. 18.", "It should arrive by 9.30 a.m. on Friday!"], "\"Anything else?\" waits for its end");
        got.extend(s.push(" "));
        assert_eq!(got.len(), 3, "a space makes it certain");
        assert_eq!(s.finish(), None);
        assert_eq!(got, ["Your order 1004 shipped on Nov. 18.", "It should arrive by 9.30 a.m. on Friday!", "Anything else?"]);
        let mut s = Sentences::new();
        assert!(s.push("Dr. J. Smith will see you.").is_empty(), "the end is not certain yet");
        assert_eq!(s.finish().as_deref(), Some("Dr. J. Smith will see you."));
        assert_eq!(Sentences::new().finish(), None);
    }
}
