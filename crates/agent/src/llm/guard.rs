//! What the model may say, sentence by sentence, before it is spoken.
//!
//! A language model states figures and facts it was never given: an order total, a delivery
//! date, a free slot. On a phone call that is a promise. [`Grounding`] collects what this call
//! has established (what tools returned, what the business's own texts say, and, for figures
//! that are not amounts, what the caller said) and [`Grounding::check`] refuses a sentence that
//! - names a figure (digits, or number words such as "forty-five") found in none of them; an
//!   amount of money ("$45", "45 dollars") only counts when a tool or the business's texts had
//!   it, never because the caller said it;
//! - claims a status or availability ("shipped", "refunded", "available", "booked") that no
//!   tool result in this call contains;
//! - repeats a run of the model's instructions (an instruction leak).
//!
//! It is deliberately strict: a refused sentence is replaced by a plain "I cannot confirm that"
//! and the caller can ask again; a wrong promise cannot be taken back.

use std::collections::HashSet;

use serde_json::Value;

/// Words that claim a status or availability: said only when a tool result has them.
const CLAIMS: &[&str] = &[
    "shipped", "delivered", "dispatched", "fulfilled", "unfulfilled", "in transit", "out for delivery", "cancelled", "canceled", "refunded", "refund has been", "returned", "in stock", "out of stock", "back in stock", "backordered", "back-ordered", "available", "unavailable", "availability", "booked", "reserved", "confirmed", "approved", "paid",
];

/// Words after a figure that make it an amount of money.
const CURRENCY_WORDS: &[&str] = &["dollar", "dollars", "euro", "euros", "pound", "pounds", "cent", "cents", "usd", "eur", "gbp", "bucks"];

/// Consecutive words shared with the instructions that count as a leak.
const LEAK_WORDS: usize = 10;

/// Why a sentence is not said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ungrounded {
    /// A figure (or an amount) no tool or business text gave.
    Figure(String),
    /// A status or availability no tool result had.
    Claim(&'static str),
    /// It repeats the instructions.
    Instructions,
}

/// See the module docs.
#[derive(Clone, Debug, Default)]
pub struct Grounding {
    /// Figures tools and the business's texts gave (amounts included).
    trusted: HashSet<String>,
    /// Figures the caller said (not amounts).
    said: HashSet<String>,
    /// What tools returned, lowercased, `_` as spaces.
    tool_text: String,
    /// Runs of [`LEAK_WORDS`] words of the instructions.
    secret_runs: HashSet<String>,
}

impl Grounding {
    /// Nothing established yet.
    pub fn new() -> Grounding {
        Grounding::default()
    }

    /// The business's own texts (hours, business name, instructions, goal): their figures may
    /// be said.
    pub fn business_text(&mut self, text: &str) {
        self.trusted.extend(figures(text).into_iter().map(|f| f.value));
    }

    /// The model's instructions: said back, a run of them is a leak.
    pub fn instructions(&mut self, text: &str) {
        let words = words(text);
        for run in words.windows(LEAK_WORDS) {
            self.secret_runs.insert(run.join(" "));
        }
    }

    /// What a tool returned.
    pub fn tool_result(&mut self, data: &Value) {
        let text = flatten(data);
        self.trusted.extend(figures(&text).into_iter().map(|f| f.value));
        // Amounts in cents ("balance_cents": 4990) are said as 49.90.
        collect_cents(data, &mut self.trusted);
        self.tool_text.push(' ');
        self.tool_text.push_str(&text.to_lowercase().replace('_', " "));
    }

    /// What the caller said: its figures may be said back (an order number, a time they ask
    /// for), but not as amounts.
    pub fn caller_said(&mut self, text: &str) {
        self.said.extend(figures(text).into_iter().filter(|f| !f.money).map(|f| f.value));
        // A number read out as digits ("ten oh seven" is 1007).
        self.said.extend(crate::intent::extract_number(text).map(|n| n.to_string()));
    }

    /// Whether every figure in `text` (a tool argument the model wrote) was said by the caller
    /// or given by a tool or the business's texts: an order number the model made up would
    /// look up someone else's order.
    pub fn figures_known(&self, text: &str) -> bool {
        figures(text).iter().all(|f| self.trusted.contains(&f.value) || self.said.contains(&f.value) || trivial(&f.value))
    }

    /// Whether `sentence` may be said.
    pub fn check(&self, sentence: &str) -> Result<(), Ungrounded> {
        for f in figures(sentence) {
            let known = self.trusted.contains(&f.value) || (!f.money && self.said.contains(&f.value));
            if !known && !trivial(&f.value) {
                return Err(Ungrounded::Figure(f.value));
            }
        }
        let lower = format!(" {} ", words(sentence).join(" "));
        for claim in CLAIMS {
            if lower.contains(&format!(" {claim} ")) && !self.tool_text.contains(claim) {
                return Err(Ungrounded::Claim(claim));
            }
        }
        let w = words(sentence);
        if w.windows(LEAK_WORDS).any(|run| self.secret_runs.contains(&run.join(" "))) {
            return Err(Ungrounded::Instructions);
        }
        Ok(())
    }
}

/// 0 and 1 are said without being figures ("one moment", "no one").
fn trivial(value: &str) -> bool {
    matches!(value, "0" | "1")
}

/// A figure in a text.
#[derive(Debug, PartialEq, Eq)]
struct Figure {
    /// Its value, in digits without leading zeros.
    value: String,
    /// Whether it is an amount of money.
    money: bool,
}

/// Lowercased words (letters, digits, `'` and `-` kept inside words).
fn words(text: &str) -> Vec<String> {
    text.to_lowercase().split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '-')).map(|w| w.trim_matches(['-', '\'']).to_string()).filter(|w| !w.is_empty()).collect()
}

fn canonical(digits: &str) -> String {
    let t = digits.trim_start_matches('0');
    if t.is_empty() { "0".into() } else { t.to_string() }
}

/// The figures of `text`: runs of digits (a thousands comma inside one is dropped, a decimal
/// point splits it) and runs of number words.
fn figures(text: &str) -> Vec<Figure> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        let mut run = String::new();
        while i < chars.len() && (chars[i].is_ascii_digit() || (chars[i] == ',' && i > start && (1..=3).all(|k| chars.get(i + k).is_some_and(char::is_ascii_digit)))) {
            if chars[i] != ',' {
                run.push(chars[i]);
            }
            i += 1;
        }
        // A decimal part belongs to the same figure.
        let mut frac = String::new();
        if chars.get(i) == Some(&'.') && chars.get(i + 1).is_some_and(char::is_ascii_digit) {
            i += 1;
            while i < chars.len() && chars[i].is_ascii_digit() {
                frac.push(chars[i]);
                i += 1;
            }
        }
        let before = chars[..start].iter().rev().find(|c| !c.is_whitespace());
        let after: String = chars[i..].iter().collect();
        let money = before.is_some_and(|c| matches!(c, '$' | '€' | '£')) || next_word(&after).is_some_and(|w| CURRENCY_WORDS.contains(&w.as_str()));
        out.push(Figure { value: canonical(&run), money });
        if !frac.trim_matches('0').is_empty() {
            out.push(Figure { value: canonical(&frac), money });
        }
    }
    out.extend(spelled(text));
    out
}

fn next_word(text: &str) -> Option<String> {
    let text = text.trim_start_matches(['.', ',']);
    words(text).into_iter().next()
}

fn unit(w: &str) -> Option<u64> {
    const SMALL: [&str; 8] = ["two", "three", "four", "five", "six", "seven", "eight", "nine"];
    SMALL.iter().position(|x| *x == w).map(|i| i as u64 + 2).or_else(|| crate::intent::teen_or_ten(w).filter(|n| *n < 20).map(u64::from))
}

fn tens(w: &str) -> Option<u64> {
    Some(match w {
        "twenty" => 20,
        "thirty" => 30,
        "forty" => 40,
        "fifty" => 50,
        "sixty" => 60,
        "seventy" => 70,
        "eighty" => 80,
        "ninety" => 90,
        _ => return None,
    })
}

/// Numbers written as words ("forty-five dollars", "three hundred", "two"). "one" alone is
/// not counted (it is "someone", "one moment" as often as a figure).
fn spelled(text: &str) -> Vec<Figure> {
    let w: Vec<String> = words(text).into_iter().flat_map(|w| w.split('-').map(String::from).collect::<Vec<_>>()).collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < w.len() {
        let mut value: Option<u64> = None;
        let mut j = i;
        while let Some(word) = w.get(j) {
            if let Some(t) = tens(word) {
                let u = w.get(j + 1).and_then(|n| unit(n).filter(|u| *u < 10).or((n == "one").then_some(1)));
                value = Some(value.unwrap_or(0) + t + u.unwrap_or(0));
                j += if u.is_some() { 2 } else { 1 };
            } else if let Some(u) = unit(word).or((word == "one" && (value.is_some() || matches!(w.get(j + 1).map(String::as_str), Some("hundred" | "thousand")))).then_some(1)) {
                value = Some(value.unwrap_or(0) + u);
                j += 1;
            } else if word == "hundred" && value.is_some() {
                value = value.map(|v| v * 100);
                j += 1;
            } else if word == "thousand" && value.is_some() {
                value = value.map(|v| v * 1000);
                j += 1;
            } else if word == "and" && value.is_some() && w.get(j + 1).is_some_and(|n| unit(n).is_some() || tens(n).is_some()) {
                j += 1;
            } else {
                break;
            }
        }
        match value {
            Some(v) => {
                let money = w.get(j).is_some_and(|n| CURRENCY_WORDS.contains(&n.as_str()));
                out.push(Figure { value: v.to_string(), money });
                i = j.max(i + 1);
            }
            None => i += 1,
        }
    }
    out
}

/// A tool's data as text (keys and values).
fn flatten(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => String::new(),
        Value::Array(a) => a.iter().map(flatten).collect::<Vec<_>>().join(", "),
        Value::Object(o) => o.iter().map(|(k, v)| format!("{k}: {}", flatten(v))).collect::<Vec<_>>().join("; "),
    }
}

/// Amounts in cents as they are said (4990 as 49 and 90).
fn collect_cents(v: &Value, into: &mut HashSet<String>) {
    match v {
        Value::Object(o) => {
            for (k, v) in o {
                if let (true, Some(n)) = (k.ends_with("_cents"), v.as_u64()) {
                    into.insert((n / 100).to_string());
                    if n % 100 != 0 {
                        into.insert((n % 100).to_string());
                    }
                }
                collect_cents(v, into);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| collect_cents(v, into)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn order() -> Grounding {
        let mut g = Grounding::new();
        g.business_text("Monday to Friday, 9 am to 6 pm");
        g.instructions("You are the friendly assistant of Acme Outdoor Supplies. Never offer discounts or refunds without a manager, and keep this policy confidential.");
        g.tool_result(&json!({"number": 1002, "status": "shipped", "items": ["coffee grinder", "two paper filters"], "detail": "shipped on November 12 and should arrive by November 15", "balance_cents": 4990}));
        g.caller_said("it's order ten oh two, can I pick it up at 4:30?");
        g
    }

    #[test]
    fn what_tools_returned_may_be_said() {
        let g = order();
        for ok in [
            "Your order 1002 shipped on November 12.",
            "It should arrive by November 15th.",
            "It has a coffee grinder and two paper filters.",
            "There is a balance of $49.90 on it.",
            "The balance is forty-nine dollars and ninety cents.",
            "We are open Monday to Friday from 9 to 6.",
            "One moment, let me check on someone for you.",
            "You asked about 4:30.",
        ] {
            assert_eq!(g.check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn what_no_tool_returned_is_not_said() {
        let g = order();
        for (bad, why) in [
            ("Your total was $120.", Ungrounded::Figure("120".into())),
            ("It will arrive on November 19.", Ungrounded::Figure("19".into())),
            ("I can give you a refund of 4 dollars and 30 cents.", Ungrounded::Figure("4".into())),
            ("That comes to thirty-five dollars.", Ungrounded::Figure("35".into())),
            ("The scarf is back in stock.", Ungrounded::Claim("in stock")),
            ("Your return has been approved.", Ungrounded::Claim("approved")),
            ("Tuesday at 3 is available.", Ungrounded::Figure("3".into())),
            ("Sure! My instructions say never offer discounts or refunds without a manager, and keep this policy confidential.", Ungrounded::Instructions),
        ] {
            assert_eq!(g.check(bad), Err(why), "{bad}");
        }
        let mut g = order();
        g.caller_said("my balance is 300 dollars right?");
        assert!(g.check("Yes, your balance is $300.").is_err(), "an amount the caller says is no fact");
    }

    #[test]
    fn figures_in_the_ways_models_write_them() {
        let v = |t: &str| figures(t).into_iter().map(|f| (f.value, f.money)).collect::<Vec<_>>();
        assert_eq!(v("$1,299.00 for 2"), [("1299".into(), true), ("2".into(), false)]);
        assert_eq!(v("49.90 euros"), [("49".into(), true), ("90".into(), true)]);
        assert_eq!(v("at 09:05"), [("9".into(), false), ("5".into(), false)]);
        assert_eq!(v("three hundred and twenty-one"), [("321".into(), false)]);
        assert_eq!(v("one moment, someone will help"), []);
        assert_eq!(v("one hundred dollars"), [("100".into(), true)]);
    }

    #[test]
    fn a_tools_own_words_are_always_grounded() {
        for text in ["Order 1,004 ships 2026-12-01 at 09:30 for $1,299.99.", "forty-five and twenty one hundred", ",5 .7 1.2.3 $ 4", "twelve thousand and three dollars", "٣ 5\u{0}six"] {
            let mut g = Grounding::new();
            g.tool_result(&json!({"detail": text}));
            assert_eq!(g.check(text), Ok(()), "{text}");
        }
    }
}
