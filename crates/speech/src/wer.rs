//! Word error rate, as the recognizer's tests and benches count it: lowercase, punctuation
//! dropped, digits spoken one by one ("1004" and "one zero zero four" are the same words), and
//! a name written in camel case split into its words ("DemoStore" is "demo store").

/// The words of `text`, normalised.
pub fn words(text: &str) -> Vec<String> {
    const DIGITS: [&str; 10] = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
    let mut spaced = String::with_capacity(text.len() * 2);
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if let Some(d) = c.to_digit(10) {
            spaced.push(' ');
            spaced.push_str(DIGITS[d as usize]);
            spaced.push(' ');
        } else if c.is_alphabetic() || c == '\'' {
            if c.is_uppercase() && i > 0 && chars[i - 1].is_lowercase() {
                spaced.push(' ');
            }
            spaced.extend(c.to_lowercase());
        } else if (c == ',' || c == '.') && i > 0 && chars[i - 1].is_ascii_digit() && chars.get(i + 1).is_some_and(|n| n.is_ascii_digit()) {
            // "1,004" is one number
        } else {
            spaced.push(' ');
        }
    }
    spaced.split_whitespace().map(|w| w.trim_matches('\'').to_string()).filter(|w| !w.is_empty()).collect()
}

/// Word edits (substitutions, insertions, deletions) from `reference` to `hypothesis`, and the
/// reference's length in words.
pub fn errors(reference: &str, hypothesis: &str) -> (usize, usize) {
    let (r, h) = (words(reference), words(hypothesis));
    let mut row: Vec<usize> = (0..=h.len()).collect();
    for (i, rw) in r.iter().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, hw) in h.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if rw == hw { prev } else { 1 + prev.min(row[j]).min(row[j + 1]) };
            prev = cur;
        }
    }
    (row[h.len()], r.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_and_punctuation_do_not_count() {
        assert_eq!(errors("My order number is one zero zero four.", "my order number is 1004"), (0, 8));
        assert_eq!(errors("Call-Forward on Busy.", "call forward on busy"), (0, 4));
        assert_eq!(errors("Thank you for calling Parley Demo Store.", "Thank you for calling Parley DemoStore."), (0, 7));
    }

    #[test]
    fn edits_are_counted() {
        assert_eq!(errors("please hold the line", "please hold line now"), (2, 4));
        assert_eq!(errors("yes", ""), (1, 1));
    }
}
