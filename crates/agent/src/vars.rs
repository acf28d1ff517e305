//! A call's variables, the templates that say them, and the conditions `route` nodes test.
//!
//! - Variables are JSON values by name: `business`, `hours`, `caller` (the caller's number),
//!   the slots an intent filled, what `gather` and `set` saved, and the data a `tool` returned
//!   (`order.status`: a field of the object saved as `order`).
//! - A template is text with `{name}` or `{name.field}` in it, optionally with a format:
//!   `{order.number|digits}` reads the digits one by one, `{due|money}` says cents as an amount
//!   in the agent's currency. `{{` and `}}` are braces. An unset variable says nothing.
//! - A condition is `name`, `not name` (set and not empty, zero or false), or `name OP value`
//!   with OP one of `== != > >= < <= has sounds_like` and value a number, a quoted string or
//!   another variable. Text compares by its words, ignoring case and punctuation; `has` holds
//!   when the words of the value are among those of the variable (`said_name has
//!   order.last_name` for "It's Smith."); `sounds_like` also takes words a recognizer may have
//!   written for them (a name heard as "smooth" for Smith: same Soundex code, at most two
//!   letters apart).

use serde_json::{Map, Value};

/// Why a template or condition is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyntaxError {
    /// A `{` without its `}`.
    #[error("a `{{` is not closed")]
    Unclosed,
    /// An unknown `|format`.
    #[error("unknown format `{0}` (digits or money)")]
    Format(String),
    /// A variable name with characters other than letters, digits, `_` and `.`.
    #[error("`{0}` is not a variable name")]
    Name(String),
    /// A condition that does not parse.
    #[error("`{0}` is not a condition (name, not name, or name OP value)")]
    Condition(String),
}

/// A call's variables.
#[derive(Clone, Debug, Default)]
pub struct Vars {
    values: Map<String, Value>,
    currency: String,
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.split('.').all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

/// One piece of a template.
enum Piece<'a> {
    Text(&'a str),
    Var { name: &'a str, format: Option<&'a str> },
}

fn pieces(template: &str) -> Result<Vec<Piece<'_>>, SyntaxError> {
    let mut out = Vec::new();
    let mut rest = template;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("{{") {
            out.push(Piece::Text("{"));
            rest = r;
        } else if let Some(r) = rest.strip_prefix("}}") {
            out.push(Piece::Text("}"));
            rest = r;
        } else if let Some(r) = rest.strip_prefix('{') {
            let end = r.find('}').ok_or(SyntaxError::Unclosed)?;
            let inner = r[..end].trim();
            let (name, format) = match inner.split_once('|') {
                Some((n, f)) => (n.trim(), Some(f.trim())),
                None => (inner, None),
            };
            if !valid_name(name) {
                return Err(SyntaxError::Name(name.to_string()));
            }
            if let Some(f) = format.filter(|f| !matches!(*f, "digits" | "money")) {
                return Err(SyntaxError::Format(f.to_string()));
            }
            out.push(Piece::Var { name, format });
            rest = &r[end + 1..];
        } else {
            let end = rest.find(['{', '}']).map(|i| if i == 0 { 1 } else { i }).unwrap_or(rest.len());
            out.push(Piece::Text(&rest[..end]));
            rest = &rest[end..];
        }
    }
    Ok(out)
}

/// The variables a template uses (checks its syntax).
pub fn template_names(template: &str) -> Result<Vec<String>, SyntaxError> {
    Ok(pieces(template)?.into_iter().filter_map(|p| if let Piece::Var { name, .. } = p { Some(name.to_string()) } else { None }).collect())
}

/// The right side of a comparison.
#[derive(Debug, PartialEq)]
enum Operand<'a> {
    Value(Value),
    Var(&'a str),
}

/// A parsed condition.
#[derive(Debug, PartialEq)]
struct Condition<'a> {
    negated: bool,
    name: &'a str,
    test: Option<(&'a str, Operand<'a>)>,
}

fn condition(text: &str) -> Result<Condition<'_>, SyntaxError> {
    let bad = || SyntaxError::Condition(text.to_string());
    let t = text.trim();
    for op in ["==", "!=", ">=", "<=", ">", "<", " has ", " sounds_like "] {
        if let Some((name, value)) = t.split_once(op) {
            let op = op.trim();
            let (name, value) = (name.trim(), value.trim());
            if !valid_name(name) {
                return Err(bad());
            }
            let value = if let Some(s) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
                Operand::Value(Value::String(s.to_string()))
            } else if let Ok(n) = value.parse::<f64>() {
                Operand::Value(serde_json::Number::from_f64(n).map(Value::Number).ok_or_else(bad)?)
            } else if matches!(value, "true" | "false") {
                Operand::Value(Value::Bool(value == "true"))
            } else if valid_name(value) {
                Operand::Var(value)
            } else {
                return Err(bad());
            };
            return Ok(Condition { negated: false, name, test: Some((op, value)) });
        }
    }
    let (negated, name) = match t.strip_prefix("not ") {
        Some(n) => (true, n.trim()),
        None => (false, t),
    };
    if !valid_name(name) {
        return Err(bad());
    }
    Ok(Condition { negated, name, test: None })
}

/// The variable a condition tests (checks its syntax).
pub fn condition_name(text: &str) -> Result<String, SyntaxError> {
    condition(text).map(|c| c.name.to_string())
}

fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
    }
}

fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

impl Vars {
    /// Variables for amounts in `currency`.
    pub fn new(currency: &str) -> Vars {
        Vars { values: Map::new(), currency: currency.to_string() }
    }

    /// Sets `name` (a top-level name).
    pub fn set(&mut self, name: &str, value: Value) {
        self.values.insert(name.to_string(), value);
    }

    /// The value at `name` (`a.b` looks into objects).
    pub fn get(&self, name: &str) -> Option<&Value> {
        let mut parts = name.split('.');
        let mut v = self.values.get(parts.next()?)?;
        for p in parts {
            v = match v {
                Value::Object(o) => o.get(p)?,
                Value::Array(a) => a.get(p.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(v)
    }

    /// A value as said.
    fn say(&self, v: &Value, format: Option<&str>) -> String {
        let plain = match v {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            Value::Array(items) => {
                let items: Vec<String> = items.iter().map(|i| self.say(i, None)).filter(|s| !s.is_empty()).collect();
                match items.as_slice() {
                    [] => String::new(),
                    [one] => one.clone(),
                    [init @ .., last] => format!("{} and {last}", init.join(", ")),
                }
            }
            other => other.to_string(),
        };
        match format {
            Some("digits") => spaced_digits(&plain),
            Some("money") => as_number(v).map(|c| amount_words(c.max(0.0).round() as u64, &self.currency)).unwrap_or(plain),
            _ => plain,
        }
    }

    /// `template` with its variables filled in (a malformed template is said as written).
    pub fn render(&self, template: &str) -> String {
        let Ok(pieces) = pieces(template) else { return template.to_string() };
        let mut out = String::new();
        for p in pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Var { name, format } => {
                    if let Some(v) = self.get(name) {
                        out.push_str(&self.say(v, format));
                    }
                }
            }
        }
        // A variable that said nothing leaves doubled spaces behind.
        out.split(' ').filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
    }

    /// `template` as a JSON value: a template that is just one variable keeps its type
    /// (number, object); anything else is its text.
    pub fn value_of(&self, template: &str) -> Value {
        if let Ok(pieces) = pieces(template) {
            if let [Piece::Var { name, format: None }] = pieces.as_slice() {
                return self.get(name).cloned().unwrap_or(Value::Null);
            }
        }
        Value::String(self.render(template))
    }

    /// Whether a condition holds (a malformed one does not).
    pub fn holds(&self, text: &str) -> bool {
        let Ok(c) = condition(text) else { return false };
        let v = self.get(c.name);
        let Some((op, want)) = c.test else { return truthy(v) != c.negated };
        let want = match want {
            Operand::Value(w) => w,
            Operand::Var(name) => match self.get(name) {
                Some(w) => w.clone(),
                None => return op == "!=",
            },
        };
        let Some(v) = v else { return op == "!=" };
        if op == "has" || op == "sounds_like" {
            let (have, need) = (words_of(&self.say(v, None)), words_of(&self.say(&want, None)));
            let same = |a: &String, b: &String| a == b || (op == "sounds_like" && sounds_alike(a, b));
            return !need.is_empty() && have.windows(need.len()).any(|w| w.iter().zip(&need).all(|(a, b)| same(a, b)));
        }
        match (as_number(v), as_number(&want), &want) {
            (Some(a), Some(b), Value::Number(_)) => match op {
                "==" => a == b,
                "!=" => a != b,
                ">" => a > b,
                ">=" => a >= b,
                "<" => a < b,
                _ => a <= b,
            },
            _ => {
                let (a, b) = (words_of(&self.say(v, None)), words_of(&self.say(&want, None)));
                match op {
                    "==" => a == b,
                    "!=" => a != b,
                    _ => false,
                }
            }
        }
    }
}

/// Whether two words sound alike as a recognizer may write a name: the same Soundex code
/// (<https://www.archives.gov/research/census/soundex>) and at most two letters apart (one for
/// short words), so "smooth" is heard as "Smith" but "Snead" is not.
fn sounds_alike(a: &str, b: &str) -> bool {
    let limit = if a.chars().count().min(b.chars().count()) >= 4 { 2 } else { 1 };
    soundex(a).is_some_and(|x| soundex(b) == Some(x)) && levenshtein(a, b) <= limit
}

/// American Soundex: the first letter and three digits.
fn soundex(word: &str) -> Option<String> {
    let code = |c: char| match c {
        'b' | 'f' | 'p' | 'v' => Some('1'),
        'c' | 'g' | 'j' | 'k' | 'q' | 's' | 'x' | 'z' => Some('2'),
        'd' | 't' => Some('3'),
        'l' => Some('4'),
        'm' | 'n' => Some('5'),
        'r' => Some('6'),
        _ => None,
    };
    let letters: Vec<char> = word.chars().filter(char::is_ascii_alphabetic).map(|c| c.to_ascii_lowercase()).collect();
    let first = *letters.first()?;
    let mut out = String::from(first.to_ascii_uppercase());
    let mut last = code(first);
    for &c in &letters[1..] {
        let d = code(c);
        if d.is_some() && d != last {
            out.push(d.unwrap_or('0'));
        }
        // h and w do not separate equal codes; vowels do.
        if !matches!(c, 'h' | 'w') {
            last = d;
        }
        if out.len() == 4 {
            break;
        }
    }
    while out.len() < 4 {
        out.push('0');
    }
    Some(out)
}

/// Edits (insert, delete, substitute) from `a` to `b`.
fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// Text as lowercase words, without punctuation.
fn words_of(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric() && c != '\'').filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

/// Digits spaced out so a voice reads them one by one ("1004" is "1 0 0 4"); other characters
/// are dropped.
pub fn spaced_digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).map(String::from).collect::<Vec<_>>().join(" ")
}

/// An amount as said: "49 dollars and 90 cents".
pub fn amount_words(cents: u64, currency: &str) -> String {
    let (major, minor) = (cents / 100, cents % 100);
    let (one, many, sub) = match currency {
        "usd" | "cad" | "aud" => ("dollar", "dollars", "cents"),
        "eur" => ("euro", "euros", "cents"),
        "gbp" => ("pound", "pounds", "pence"),
        _ => return amount_figures(cents, currency),
    };
    let unit = if major == 1 { one } else { many };
    match minor {
        0 => format!("{major} {unit}"),
        m => format!("{major} {unit} and {m} {sub}"),
    }
}

/// An amount as written: "49.90 USD".
pub fn amount_figures(cents: u64, currency: &str) -> String {
    format!("{}.{:02} {}", cents / 100, cents % 100, currency.to_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars() -> Vars {
        let mut v = Vars::new("usd");
        v.set("business", json!("Acme"));
        v.set("order", json!({"number": 1004, "status": "shipped", "balance_cents": 4990, "items": ["a lamp", "two bulbs", "a shade"]}));
        v
    }

    #[test]
    fn templates_say_values_and_formats() {
        let v = vars();
        assert_eq!(v.render("Order {order.number|digits} from {business} is {order.status}."), "Order 1 0 0 4 from Acme is shipped.");
        assert_eq!(v.render("{order.balance_cents|money} due"), "49 dollars and 90 cents due");
        assert_eq!(v.render("It has {order.items}."), "It has a lamp, two bulbs and a shade.");
        assert_eq!(v.render("Hello {nobody} there {{literally}}"), "Hello there {literally}");
        assert_eq!(v.value_of("{order.balance_cents}"), json!(4990));
        assert_eq!(v.value_of("n{order.number}"), json!("n1004"));
        assert_eq!(template_names("a {b.c|digits} {d}").unwrap(), ["b.c", "d"]);
        assert_eq!(template_names("a {b"), Err(SyntaxError::Unclosed));
        assert_eq!(template_names("{b|loud}"), Err(SyntaxError::Format("loud".into())));
        assert_eq!(template_names("{b c}"), Err(SyntaxError::Name("b c".into())));
    }

    #[test]
    fn conditions_compare_and_test() {
        let v = vars();
        assert!(v.holds("order.balance_cents > 0"));
        assert!(!v.holds("order.balance_cents <= 4989"));
        assert!(v.holds("order.status == 'Shipped'"));
        assert!(v.holds("order.status != 'delivered'"));
        assert!(v.holds("order"));
        assert!(v.holds("not order_number"));
        assert!(!v.holds("order.missing > 1"));
        let mut v = v;
        v.set("said", json!("It's Smith, Dana."));
        v.set("surname", json!("smith"));
        assert!(v.holds("said has surname") && v.holds("said has 'dana'") && !v.holds("said has 'smit'"));
        assert!(v.holds("surname == 'Smith.'") && !v.holds("said == surname"));
        assert!(!v.holds("said has nobody"), "an unset variable is not had");
        v.set("heard", json!("My last name is smooth."));
        assert!(v.holds("heard sounds_like surname") && !v.holds("heard has surname"));
        for (heard, holds) in [("it's Smyth", true), ("Schmidt", false), ("Snead", false), ("moved", false), ("", false), ("S.", false)] {
            v.set("heard", json!(heard));
            assert_eq!(v.holds("heard sounds_like surname"), holds, "{heard}");
        }
        assert_eq!((soundex("Robert"), soundex("Rupert"), soundex("Ashcraft"), soundex("Tymczak"), soundex("Pfister")), (Some("R163".into()), Some("R163".into()), Some("A261".into()), Some("T522".into()), Some("P236".into())));
        assert!(condition_name("x >").is_err());
        assert!(condition_name("x y").is_err());
        assert_eq!(condition_name("not a.b").unwrap(), "a.b");
    }
}
