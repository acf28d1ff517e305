//! PII redaction for transcripts and summaries, before anything leaves the call: email
//! addresses (written or spoken, "ann at example dot com"), card numbers (13 to 19 digits that
//! pass the Luhn check), US social security numbers (`123-45-6789`), phone numbers (7 to 15
//! digits), and runs of four or more spoken digits ("four one one one"). Digits may be written
//! or spoken and grouped with spaces, hyphens, dots or parentheses, as speech recognisers write
//! them. Each is replaced by a label (`[card]`, `[ssn]`, `[phone]`, `[email]`, `[digits]`,
//! `[number]`), so the business still sees that something was said.

use std::sync::OnceLock;

use regex::Regex;

fn email() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i-u)[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}|\b(?:[a-z0-9_-]+\s+dot\s+)*[a-z0-9._-]+\s+at\s+[a-z0-9-]+(?:\s+dot\s+[a-z0-9-]+)*\s+dot\s+[a-z]{2,}\b")
            .expect("literal regex")
    })
}

const DIGIT_WORDS: &[(&str, char)] = &[
    ("zero", '0'),
    ("oh", '0'),
    ("one", '1'),
    ("two", '2'),
    ("three", '3'),
    ("four", '4'),
    ("five", '5'),
    ("six", '6'),
    ("seven", '7'),
    ("eight", '8'),
    ("nine", '9'),
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Token {
    /// Written digits, `len` of them.
    Number(usize),
    /// A spoken digit.
    Spoken(char),
    /// Space, hyphen, dot, comma, parenthesis, plus: may sit inside a number.
    Separator,
    /// Anything else ends a run.
    Other,
}

fn tokens(text: &str) -> Vec<(usize, usize, Token)> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        let c = b[i];
        let tok = if c.is_ascii_digit() {
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            Token::Number(i - start)
        } else if c.is_ascii_alphabetic() {
            while i < b.len() && b[i].is_ascii_alphanumeric() {
                i += 1;
            }
            let word = text[start..i].to_ascii_lowercase();
            DIGIT_WORDS.iter().find(|(w, _)| *w == word).map(|&(_, d)| Token::Spoken(d)).unwrap_or(Token::Other)
        } else if matches!(c, b' ' | b'-' | b'.' | b',' | b'(' | b')' | b'+') {
            i += 1;
            Token::Separator
        } else {
            // One whole UTF-8 character.
            i += text[i..].chars().next().map(char::len_utf8).unwrap_or(1);
            Token::Other
        };
        out.push((start, i, tok));
    }
    out
}

/// Whether `digits` pass the Luhn check.
pub fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d - b'0');
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    !digits.is_empty() && sum.is_multiple_of(10)
}

/// What a run of digits is, if it is worth hiding.
fn classify(digits: &[u8], groups: &[usize], spoken: bool) -> Option<&'static str> {
    let n = digits.len();
    if (13..=19).contains(&n) && luhn(digits) {
        Some("[card]")
    } else if !spoken && groups == [3, 2, 4] {
        Some("[ssn]")
    } else if (7..=15).contains(&n) {
        Some("[phone]")
    } else if n > 15 {
        Some("[number]")
    } else if spoken && n >= 4 {
        Some("[digits]")
    } else {
        None
    }
}

/// Returns `text` with PII replaced by labels.
pub fn redact(text: &str) -> String {
    let text = email().replace_all(text, "[email]");
    let toks = tokens(&text);
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < toks.len() {
        if !matches!(toks[i].2, Token::Number(_) | Token::Spoken(_)) {
            i += 1;
            continue;
        }
        // A run: digit tokens with only separators between them.
        let (mut digits, mut groups, mut spoken) = (Vec::new(), Vec::new(), false);
        let mut last = i;
        let mut j = i;
        while j < toks.len() {
            match toks[j].2 {
                Token::Number(len) => {
                    digits.extend_from_slice(&text.as_bytes()[toks[j].0..toks[j].1]);
                    groups.push(len);
                    last = j;
                }
                Token::Spoken(d) => {
                    digits.push(d as u8);
                    spoken = true;
                    last = j;
                }
                Token::Separator => {}
                Token::Other => break,
            }
            j += 1;
        }
        if let Some(label) = classify(&digits, &groups, spoken) {
            let start = if i > 0 && &text[toks[i - 1].0..toks[i - 1].1] == "+" { toks[i - 1].0 } else { toks[i].0 };
            out.push_str(&text[copied..start]);
            out.push_str(label);
            copied = toks[last].1;
        }
        i = last + 1;
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cards_need_the_luhn_check() {
        assert_eq!(redact("my card is 4111 1111 1111 1111 thanks"), "my card is [card] thanks");
        assert_eq!(redact("card 4111-1111-1111-1111."), "card [card].");
        assert_eq!(redact("four one one one one one one one one one one one one one one one"), "[card]");
        // Sixteen digits failing Luhn are not a card, but still not left in clear.
        assert_eq!(redact("ref 4111 1111 1111 1112"), "ref [number]");
    }

    #[test]
    fn ssns_phones_emails_and_spoken_runs() {
        assert_eq!(redact("SSN 123-45-6789 ok"), "SSN [ssn] ok");
        assert_eq!(redact("call me on +1 (555) 010-2000"), "call me on [phone]");
        assert_eq!(redact("call 555 0102"), "call [phone]");
        assert_eq!(redact("mail Ann.Lee@example.co.uk now"), "mail [email] now");
        assert_eq!(redact("it's ann dot lee at example dot com"), "it's [email]");
        assert_eq!(redact("my pin is four two four two"), "my pin is [digits]");
        assert_eq!(redact("zero oh seven"), "zero oh seven", "three digits stay");
    }

    #[test]
    fn ordinary_numbers_and_text_stay() {
        for keep in ["order 1042 has shipped", "two pizzas at 5 30", "one of them", "Größe 42 — naïve café", "", "+", "-- 12 --"] {
            assert_eq!(redact(keep), keep);
        }
        assert!(luhn(b"79927398713") && !luhn(b"79927398710"));
    }
}
