//! The embedded intent engine: what the caller wants ([`IntentSet`]), and which number they
//! said ([`extract_number`]).
//!
//! Works on recognizer output, which writes numbers as digits ("1004", "1,004", "10 04") or
//! words ("one zero zero four", "ten oh four", "twenty fifty seven", "one thousand and four").

mod classify;
pub mod meaning;
pub mod evaluate;
mod yes_no;
pub use classify::{IntentDef, IntentMatch, IntentSet, SlotType, BUILT_IN};

/// Lowercases and keeps letters, digits and spaces (commas between digits are dropped).
/// Whisper writes "one thousand and six" as "1,06" and "one thousand five" as "1,5" at times:
/// a single thousands digit before a comma and one or two digits after it lost zeros, which
/// come back ("1006", "1005").
pub fn normalize(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let digit = |i: usize| chars.get(i).is_some_and(|c| c.is_ascii_digit());
    for (i, &c) in chars.iter().enumerate() {
        let between_digits = i > 0 && digit(i - 1) && digit(i + 1);
        if c.is_alphanumeric() || c == '\'' {
            out.extend(c.to_lowercase());
        } else if c == ',' && between_digits && (i < 2 || !(digit(i - 2) || chars[i - 2] == ',')) && !digit(i + 3) && !(chars.get(i + 3) == Some(&',') && digit(i + 4)) {
            // One or two digits after the comma: the zeros Whisper left out ("1,5", "1,06").
            let after = if digit(i + 2) { 2 } else { 1 };
            if after == 1 && chars.get(i + 2) == Some(&',') {
                continue;
            }
            out.push_str(&"00"[..3 - after]);
        } else if (c == ',' || c == '.' || c == '-') && between_digits {
            continue;
        } else {
            out.push(' ');
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether `w` is a number word that cannot be anything else ("to" and "for" can).
pub(crate) fn is_number_word(w: &str) -> bool {
    (digit_word(w).is_some() && !weak(w)) || teen_or_ten(w).is_some() || tens(w).is_some() || matches!(w, "thousand" | "hundred" | "double" | "triple")
}

/// Words that are digits only beside other digits ("to", "for").
fn weak(w: &str) -> bool {
    matches!(w, "to" | "too" | "for" | "o")
}

fn digit_word(w: &str) -> Option<u32> {
    Some(match w {
        "zero" | "oh" | "o" | "nought" => 0,
        "one" => 1,
        "two" | "to" | "too" => 2,
        "three" => 3,
        "four" | "for" => 4,
        "five" => 5,
        "six" => 6,
        "seven" => 7,
        "eight" => 8,
        "nine" => 9,
        _ => return None,
    })
}

pub(crate) fn teen_or_ten(w: &str) -> Option<u32> {
    Some(match w {
        "ten" => 10,
        "eleven" => 11,
        "twelve" => 12,
        "thirteen" => 13,
        "fourteen" => 14,
        "fifteen" => 15,
        "sixteen" => 16,
        "seventeen" => 17,
        "eighteen" => 18,
        "nineteen" => 19,
        _ => return None,
    })
}

/// "twenty" to "ninety".
fn tens(w: &str) -> Option<u32> {
    Some(match w {
        "twenty" => 20,
        "thirty" => 30,
        "forty" | "fourty" => 40,
        "fifty" => 50,
        "sixty" => 60,
        "seventy" => 70,
        "eighty" => 80,
        "ninety" => 90,
        _ => return None,
    })
}

/// A number under a hundred said in words at `words[i]` ("seven", "twelve", "forty two"), and
/// where the words after it start.
fn below_hundred(words: &[&str], i: usize) -> Option<(u32, usize)> {
    let w = *words.get(i)?;
    if let Some(t) = tens(w) {
        let unit = words.get(i + 1).filter(|n| !weak(n)).and_then(|n| digit_word(n)).filter(|d| *d > 0);
        return Some(unit.map_or((t, i + 1), |d| (t + d, i + 2)));
    }
    teen_or_ten(w).or_else(|| digit_word(w).filter(|_| !weak(w))).map(|n| (n, i + 1))
}

/// "five hundred [and] twenty", "twelve hundred", else a number under a hundred.
fn below_thousand(words: &[&str], i: usize) -> Option<(u32, usize)> {
    let (n, j) = below_hundred(words, i)?;
    if n >= 20 || words.get(j) != Some(&"hundred") {
        return Some((n, j));
    }
    let mut k = j + 1;
    if words.get(k) == Some(&"and") && below_hundred(words, k + 1).is_some() {
        k += 1;
    }
    let (rest, k) = below_hundred(words, k).unwrap_or((0, k));
    Some((n * 100 + rest, k))
}

/// Where a number of thousands is said at `words[i]` ("one thousand", "a thousand", "twelve
/// thousand", or Whisper's "1000" before "and"): how many thousands, and where the words after
/// it start. "1000" before anything else stays as written ("1,000, 10 days" is no 1010).
fn thousands_head(words: &[&str], i: usize) -> Option<(u32, usize)> {
    let w = *words.get(i)?;
    let and_next = words.get(i + 1).is_some_and(|a| matches!(*a, "and" | "in"));
    if and_next && (4..=6).contains(&w.len()) && w.ends_with("000") && w.chars().all(|c| c.is_ascii_digit()) {
        return w[..w.len() - 3].parse().ok().map(|n| (n, i + 1));
    }
    let (n, j) = if w == "a" { (1, i + 1) } else { below_hundred(words, i)? };
    (words.get(j) == Some(&"thousand")).then_some((n, j + 1))
}

/// What follows a thousand: a number under a thousand in words, or in digits ("1000 and 8";
/// Whisper hears "and six" at the end as "in 6th" at times).
fn under_a_thousand(words: &[&str], i: usize) -> Option<(u32, usize)> {
    let w = *words.get(i)?;
    let w = ["st", "nd", "rd", "th"].iter().find_map(|s| w.strip_suffix(s)).filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())).unwrap_or(w);
    let digits = w.parse::<u32>().ok().filter(|n| (1..1000).contains(n) && w.len() <= 3).map(|n| (n, i + 1));
    digits.or_else(|| below_thousand(words, i))
}

/// The number the caller said or typed (three to eight digits), if any.
///
/// Adjacent digit groups and spoken digits join ("10 04", "one zero zero four", "ten oh four",
/// "twenty fifty seven"); "one thousand and four" and "a thousand four" are read as 1004,
/// "twelve hundred and four" as 1204. "to" and "for" count as digits only next to other digits.
pub fn extract_number(text: &str) -> Option<u32> {
    let t = normalize(text);
    let words: Vec<&str> = t.split(' ').collect();
    let mut best: Option<String> = None;
    let mut run = String::new();
    let mut i = 0;
    let flush = |run: &mut String, best: &mut Option<String>| {
        if (3..=8).contains(&run.len()) && best.as_ref().is_none_or(|b| run.len() > b.len()) {
            *best = Some(run.clone());
        }
        run.clear();
    };
    while i < words.len() {
        let w = words[i];
        let next_is_digit = words.get(i + 1).is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()) || digit_word(n).is_some() || teen_or_ten(n).is_some() || tens(n).is_some());
        let literal = w.chars().all(|c| c.is_ascii_digit()) && !w.is_empty();
        if literal && w.len() >= 3 && i > 0 && words[i - 1] == w && run.ends_with(w) {
            // The same number of three digits or more twice ("1009, 1009": said again, or
            // Whisper's loop cut short) is that number once, not a longer one.
        } else if let Some((thousands, j)) = thousands_head(&words, i) {
            // "one thousand [and] four", "a thousand ten", "twelve thousand five hundred", and
            // Whisper's "1000 and 8"; it writes the "and" as "in" at times ("one thousand in six").
            let mut j = j;
            if words.get(j).is_some_and(|w| matches!(*w, "and" | "in" | "an" | "n")) && under_a_thousand(&words, j + 1).is_some() {
                j += 1;
            }
            let (rest, after) = under_a_thousand(&words, j).unwrap_or((0, j));
            run.push_str(&(thousands * 1000 + rest).to_string());
            i = after;
            continue;
        } else if literal {
            run.push_str(w);
        } else if let Some((n, j)) = below_thousand(&words, i).filter(|(n, _)| *n >= 20) {
            // "twenty fifty seven", "ten forty two", "five hundred and six".
            run.push_str(&n.to_string());
            i = j;
            continue;
        } else if let Some(d) = digit_word(w) {
            if weak(w) && run.is_empty() && !next_is_digit {
                flush(&mut run, &mut best);
            } else {
                run.push_str(&d.to_string());
            }
        } else if let Some(n) = teen_or_ten(w) {
            run.push_str(&n.to_string());
        } else if w == "triple" {
            if let Some(d) = words.get(i + 1).and_then(|x| digit_word(x)) {
                run.push_str(&format!("{d}{d}{d}"));
                i += 2;
                continue;
            }
        } else if w == "double" {
            if let Some(d) = words.get(i + 1).and_then(|x| digit_word(x)) {
                run.push_str(&format!("{d}{d}"));
                i += 2;
                continue;
            }
        } else {
            flush(&mut run, &mut best);
        }
        i += 1;
    }
    flush(&mut run, &mut best);
    best.and_then(|b| b.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_the_ways_recognizers_write_them() {
        for (text, n) in [
            ("My order number is 1004.", 1004),
            ("my order number is 1,004", 1004),
            ("It's order 10 04", 1004),
            ("one zero zero four", 1004),
            ("ten oh seven please", 1007),
            ("one thousand and four", 1004),
            ("one thousand in six.", 1006),
            ("1,06", 1006),
            ("It's 1,06.", 1006),
            ("1,06,", 1006),
            ("1,2,3,4", 1234),
            ("12,34", 1234),
            ("one thousand ten", 1010),
            ("order number one oh oh double two", 10022),
            ("twenty fifty seven", 2057),
            ("ten forty two", 1042),
            ("nineteen eighty-four", 1984),
            ("twenty one oh five", 2105),
            ("a thousand and four", 1004),
            ("one thousand twenty", 1020),
            ("two thousand five hundred and six", 2506),
            ("twelve hundred and four", 1204),
            ("it's one triple zero five", 10005),
            ("order twenty twenty", 2020),
            ("1009 1009", 1009),
            ("It's 1,05. 1,05.", 1005),
            ("It's 10 10.", 1010),
            ("1000 and 8.", 1008),
            ("It's 1000 in 6", 1006),
            ("1,000 in 6th", 1006),
            ("1,5.", 1005),
            ("1, 5, 0, 7", 1507),
        ] {
            assert_eq!(extract_number(text), Some(n), "{text}");
        }
        assert_eq!(extract_number("I want to talk to someone for a minute"), None);
        assert_eq!(extract_number("order 42"), None, "too short to be an order number");
        assert_ne!(extract_number("1,000, 10 days."), Some(1010), "a thousand joins the rest only after 'and'");
        assert_eq!(extract_number("on the 6th"), None, "an ordinal alone is no number");
    }
}
