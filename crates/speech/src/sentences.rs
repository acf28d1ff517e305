//! A reply cut into the pieces a voice synthesizes one by one (and the pieces whose audio the
//! server may keep): after `.`, `!` or `?`, and after `,`, `;` or `:` once the piece has four
//! words or more (the caller hears the first clause sooner; the voice pauses there anyway). A
//! mark must be followed by a space, so "3.5" and "1,004" stay whole. Runs of white space
//! (line breaks included) become one space.

/// See the module docs.
pub fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    let mut flush = |current: &mut String| {
        let s = current.split_whitespace().collect::<Vec<_>>().join(" ");
        if !s.is_empty() {
            out.push(s);
        }
        current.clear();
    };
    while let Some(c) = chars.next() {
        current.push(if c.is_whitespace() { ' ' } else { c });
        let at_break = chars.peek().is_none_or(|n| n.is_whitespace());
        let clause_long = matches!(c, ',' | ';' | ':') && current.split_whitespace().count() >= 4;
        if at_break && (matches!(c, '.' | '!' | '?') || clause_long) {
            flush(&mut current);
        }
    }
    flush(&mut current);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_is_cut_into_sentences_but_numbers_stay_whole() {
        assert_eq!(sentences("Order 1,004 costs 3.50 dollars. It shipped!  Anything else?"), ["Order 1,004 costs 3.50 dollars.", "It shipped!", "Anything else?"]);
        assert_eq!(sentences("No end mark"), ["No end mark"]);
        assert_eq!(sentences("Two\nlines,  spaced."), ["Two lines, spaced."]);
    }

    #[test]
    fn long_clauses_are_pieces_of_their_own() {
        assert_eq!(sentences("We are open from nine to five, Monday to Friday."), ["We are open from nine to five,", "Monday to Friday."]);
        assert_eq!(sentences("Yes, it has shipped."), ["Yes, it has shipped."]);
    }
}
