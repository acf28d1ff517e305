//! Dates and times as callers say them, as a recognizer writes them: "tomorrow at 3 pm", "next
//! Tuesday morning", "December 4th at 10:30", "the 12th", "Friday at half past two", "noon".
//! [`understand`] reads them relative to the call's own day at the business (the interpreter is
//! handed the clock), for `gather` nodes with `expect: date`.
//!
//! A bare hour between 1 and 7 ("at 3") is taken as the afternoon, as people mean it when they
//! book during business hours; "morning", "afternoon" and "evening" are kept as a part of the
//! day when no time is said.

use jiff::civil::{Date, Weekday};
use jiff::ToSpan;

/// What was understood.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct When {
    /// The day.
    pub date: Date,
    /// The time, as hour and minute, if one was said.
    pub time: Option<(i8, i8)>,
    /// A part of the day said instead of a time: `morning`, `afternoon`, `evening`.
    pub part: Option<&'static str>,
}

impl When {
    /// As a flow variable: `{date: "2026-12-04", time: "15:00" (or null), part, spoken: "Friday,
    /// December 4 at 3 PM"}`.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::json!({
            "date": self.date.to_string(),
            "time": self.time.map(|(h, m)| format!("{h:02}:{m:02}")),
            "part": self.part,
            "spoken": self.spoken(),
        })
    }

    /// "Friday, December 4 at 3 PM".
    pub fn spoken(&self) -> String {
        let day = self.date.strftime("%A, %B %-d").to_string();
        match self.time {
            Some((h, m)) => format!("{day} at {}", spoken_time(h, m)),
            None => match self.part {
                Some(p) => format!("{day} in the {p}"),
                None => day,
            },
        }
    }
}

/// "3 PM", "10:30 AM", "noon".
pub fn spoken_time(h: i8, m: i8) -> String {
    match (h, m) {
        (12, 0) => "noon".into(),
        _ => {
            let (h12, half) = match h {
                0 => (12, "AM"),
                1..=11 => (h, "AM"),
                12 => (12, "PM"),
                _ => (h - 12, "PM"),
            };
            if m == 0 { format!("{h12} {half}") } else { format!("{h12}:{m:02} {half}") }
        }
    }
}

const MONTHS: [&str; 12] = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"];

fn month(w: &str) -> Option<i8> {
    MONTHS.iter().position(|m| *m == w || (w.len() >= 3 && m.starts_with(w))).map(|i| i as i8 + 1)
}

fn weekday(w: &str) -> Option<Weekday> {
    use Weekday::*;
    Some(match w.trim_end_matches('s') {
        "monday" | "mon" => Monday,
        "tuesday" | "tue" | "tues" => Tuesday,
        "wednesday" | "wed" => Wednesday,
        "thursday" | "thu" | "thur" | "thurs" => Thursday,
        "friday" | "fri" => Friday,
        "saturday" | "sat" => Saturday,
        "sunday" | "sun" => Sunday,
        _ => return None,
    })
}

/// 1 to 31 from "4", "4th", "fourth", "twenty-first".
fn day_number(w: &str) -> Option<i8> {
    let digits = w.trim_end_matches(|c: char| c.is_alphabetic());
    if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
        let suffix = &w[digits.len()..];
        if matches!(suffix, "" | "st" | "nd" | "rd" | "th") {
            return digits.parse().ok().filter(|d| (1..=31).contains(d));
        }
        return None;
    }
    const ORDINALS: [&str; 31] = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth", "eighteenth", "nineteenth", "twentieth", "twenty-first", "twenty-second", "twenty-third", "twenty-fourth", "twenty-fifth", "twenty-sixth", "twenty-seventh", "twenty-eighth", "twenty-ninth", "thirtieth", "thirty-first"];
    ORDINALS.iter().position(|o| *o == w).map(|i| i as i8 + 1)
}

fn hour_word(w: &str) -> Option<i8> {
    const WORDS: [&str; 12] = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"];
    WORDS.iter().position(|x| *x == w).map(|i| i as i8 + 1).or_else(|| w.parse().ok().filter(|h| (0..=23).contains(h)))
}

/// Words of the text: lowercase, "a.m." as "am", "3pm" as "3 pm", "3:30" kept.
fn words(text: &str) -> Vec<String> {
    let t = text.to_lowercase().replace("a.m.", " am ").replace("p.m.", " pm ").replace("o'clock", " oclock ");
    let mut out = Vec::new();
    for w in t.split(|c: char| !(c.is_alphanumeric() || c == ':' || c == '-' || c == '/')) {
        let w = w.trim_matches(|c| c == '-' || c == ':');
        if w.is_empty() {
            continue;
        }
        // "3pm", "10am"
        if let Some(n) = w.strip_suffix("pm").or_else(|| w.strip_suffix("am")).filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit() || c == ':')) {
            out.push(n.to_string());
            out.push(w[n.len()..].to_string());
            continue;
        }
        out.push(w.to_string());
    }
    out
}

/// What `text` says of a day and time, relative to `today`; `None` when it names no day or time.
/// A time alone is today's (tomorrow's when it has passed: `now` is the time of day at the
/// business).
pub fn understand(text: &str, today: Date, now: (i8, i8)) -> Option<When> {
    let w = words(text);
    let mut date: Option<Date> = None;
    let mut time: Option<(i8, i8)> = None;
    let mut part = None;
    let mut i = 0;
    while i < w.len() {
        let word = w[i].as_str();
        let next = w.get(i + 1).map(String::as_str);
        match word {
            "today" => date = Some(today),
            "tomorrow" if i >= 2 && w[i - 2] == "day" && w[i - 1] == "after" => date = Some(today + 2.days()),
            "tomorrow" => date = Some(today + 1.days()),
            "noon" | "midday" => time = Some((12, 0)),
            "morning" | "afternoon" | "evening" => part = Some(match word { "morning" => "morning", "afternoon" => "afternoon", _ => "evening" }),
            "half" | "quarter" if matches!(next, Some("past" | "after" | "to")) => {
                if let Some(h) = w.get(i + 2).and_then(|x| hour_word(x)).filter(|h| (1..=12).contains(h)).map(afternoon_guess) {
                    let m = if word == "half" { 30 } else { 15 };
                    time = Some(if next == Some("to") { (h - 1, 60 - m) } else { (h, m) });
                    i += 3;
                    continue;
                }
            }
            _ => {}
        }
        if let Some(wd) = weekday(word) {
            // The next such day: "Monday" said on a Monday is next week's.
            let mut d = today + 1.days();
            while d.weekday() != wd {
                d += 1.days();
            }
            date = Some(d);
        } else if let Some(m) = month(word) {
            // "December 4", "4th of December", "the 4th of December"
            let day = next.and_then(day_number).or_else(|| if i >= 1 { day_number(&w[i - 1]).or_else(|| if i >= 2 && w[i - 1] == "of" { day_number(&w[i - 2]) } else { None }) } else { None });
            if let Some(d) = day {
                date = future_date(today, m, d);
                if next.and_then(day_number).is_some() {
                    i += 2;
                    continue;
                }
            }
        } else if word == "the" && next.and_then(day_number).is_some() && !w.get(i + 2).is_some_and(|x| x == "of" || month(x).is_some()) {
            // "the 12th": this month, or next if it has passed.
            let d = next.and_then(day_number).unwrap_or(1);
            let this = Date::new(today.year(), today.month(), d).ok().filter(|x| *x >= today);
            date = this.or_else(|| {
                let n = today.first_of_month() + 1.month();
                Date::new(n.year(), n.month(), d).ok()
            });
            i += 2;
            continue;
        } else if let Some((m, d)) = word.split_once('/').and_then(|(a, b)| Some((a.parse::<i8>().ok()?, b.parse::<i8>().ok()?))) {
            // US "12/4"
            date = future_date(today, m, d);
        } else if let Some(t) = clock(word, next) {
            time = Some(t);
            if matches!(next, Some("am" | "pm" | "oclock")) {
                i += 2;
                continue;
            }
        } else if word == "at" || word == "around" || word == "by" {
            if let Some(t) = next.and_then(hour_word).filter(|_| w.get(i + 2).is_none_or(|x| !x.contains(':'))) {
                let half = w.get(i + 2).map(String::as_str);
                let (h, skip) = match half {
                    Some("pm") => (if t < 12 { t + 12 } else { t }, 3),
                    Some("am") => (if t == 12 { 0 } else { t }, 3),
                    Some("oclock") => (afternoon_guess(t), 3),
                    _ => (afternoon_guess(t), 2),
                };
                if t <= 12 && !w.get(i + 1).is_some_and(|x| x.contains(':')) {
                    time = Some((h, 0));
                    i += skip;
                    continue;
                }
            }
        }
        i += 1;
    }
    if let (Some((h, m)), Some(p)) = (time, part) {
        // "3 in the afternoon"
        if p != "morning" && h < 12 {
            time = Some((h + 12, m));
        }
    }
    if time.is_some() {
        part = None;
    }
    let date = match (date, time) {
        (Some(d), _) => d,
        (None, Some(t)) if t > now => today,
        (None, Some(_)) => today + 1.days(),
        (None, None) if part.is_some() => today,
        (None, None) => return None,
    };
    Some(When { date, time, part })
}

/// A bare hour: 1 to 7 is the afternoon.
fn afternoon_guess(h: i8) -> i8 {
    if (1..=7).contains(&h) { h + 12 } else { h }
}

/// "3:30" (with "pm" after it), "15:00", "3" followed by "pm".
fn clock(word: &str, next: Option<&str>) -> Option<(i8, i8)> {
    let (h, m) = match word.split_once(':') {
        Some((h, m)) => (h.parse::<i8>().ok()?, m.parse::<i8>().ok()?),
        None if matches!(next, Some("am" | "pm" | "oclock")) => (hour_word(word)?, 0),
        None => return None,
    };
    if !(0..=23).contains(&h) || !(0..=59).contains(&m) {
        return None;
    }
    Some(match next {
        Some("pm") if h < 12 => (h + 12, m),
        Some("am") if h == 12 => (0, m),
        Some("am" | "pm") => (h, m),
        _ if word.contains(':') && (1..=7).contains(&h) => (h + 12, m),
        Some("oclock") => (afternoon_guess(h), m),
        _ => (h, m),
    })
}

/// Month `m`, day `d` of this year, or next year's when it has passed.
fn future_date(today: Date, m: i8, d: i8) -> Option<Date> {
    let this = Date::new(today.year(), m, d).ok()?;
    if this >= today { Some(this) } else { Date::new(today.year() + 1, m, d).ok() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_times_as_callers_say_them() {
        // Tuesday 1 December 2026, 10:00 at the business.
        let today = Date::new(2026, 12, 1).unwrap();
        let u = |t: &str| understand(t, today, (10, 0)).map(|w| (w.date.to_string(), w.time, w.part));
        let d = |s: &str| s.to_string();
        assert_eq!(u("tomorrow at 3 pm"), Some((d("2026-12-02"), Some((15, 0)), None)));
        assert_eq!(u("Can I come in tomorrow at 3?"), Some((d("2026-12-02"), Some((15, 0)), None)));
        assert_eq!(u("the day after tomorrow in the morning"), Some((d("2026-12-03"), None, Some("morning"))));
        assert_eq!(u("Friday at 10:30 a.m."), Some((d("2026-12-04"), Some((10, 30)), None)));
        assert_eq!(u("How about Friday, December 4th at 2:15 p.m.?"), Some((d("2026-12-04"), Some((14, 15)), None)));
        assert_eq!(u("next Tuesday at noon"), Some((d("2026-12-08"), Some((12, 0)), None)));
        assert_eq!(u("on the 12th at half past two"), Some((d("2026-12-12"), Some((14, 30)), None)));
        assert_eq!(u("the fourth of January at 9 o'clock"), Some((d("2027-01-04"), Some((9, 0)), None)));
        assert_eq!(u("November 30"), Some((d("2027-11-30"), None, None)), "a day that has passed is next year's");
        assert_eq!(u("12/24 at 4pm"), Some((d("2026-12-24"), Some((16, 0)), None)));
        assert_eq!(u("at 9 am"), Some((d("2026-12-02"), Some((9, 0)), None)), "a time that has passed today is tomorrow's");
        assert_eq!(u("at 3 in the afternoon"), Some((d("2026-12-01"), Some((15, 0)), None)));
        assert_eq!(u("Wednesday afternoon"), Some((d("2026-12-02"), None, Some("afternoon"))));
        assert_eq!(u("a quarter to five on Thursday"), Some((d("2026-12-03"), Some((16, 45)), None)));
        assert_eq!(u("I'd like an appointment please"), None);
        assert_eq!(u("my number is 1004"), None);
        let w = understand("Friday at 3 pm", today, (10, 0)).unwrap();
        assert_eq!(w.spoken(), "Friday, December 4 at 3 PM");
        assert_eq!(w.to_value()["time"], "15:00");
    }

    #[test]
    fn any_run_of_such_words_is_read_without_a_panic() {
        let tokens = ["at", "the", "of", "half", "quarter", "to", "past", "next", "tomorrow", "day", "after", "31st", "february", "2/30", "13/45", "0", "12", "24:00", "7:60", "pm", "am", "o'clock", "noon", "morning", "sunday", "twelfth", "thirty-first", "may", "3pm", ":", "-"];
        let today = Date::new(2026, 12, 31).unwrap();
        for a in tokens {
            for b in tokens {
                for c in tokens {
                    let text = format!("{a} {b} {c}");
                    if let Some(w) = understand(&text, today, (23, 59)) {
                        assert!(w.date >= today, "{text}");
                        assert!(w.time.is_none_or(|(h, m)| (0..24).contains(&h) && (0..60).contains(&m)), "{text}: {w:?}");
                    }
                }
            }
        }
    }
}
