//! Card details typed on the keypad, sans-IO.
//!
//! While the call is in payment mode, every key goes to a [`CardCapture`] instead of the
//! conversation: card number (12 to 19 digits, Luhn-checked), expiry (MMYY, not in the past),
//! security code (3 or 4 digits), each ended with `#`; `*` cancels. The digits live only in
//! zeroizing buffers here and in the [`CardDetails`] handed to the payment processor; they are
//! never part of the transcript, the log or the store, and `Debug` shows only the last four.

use zeroize::Zeroizing;

use crate::redact::luhn;

/// Invalid entries tolerated before the capture gives up.
const MAX_ERRORS: u32 = 3;
/// No key for this long cancels the capture.
pub const KEY_TIMEOUT_MS: u64 = 30_000;

/// Card details for one charge attempt.
pub struct CardDetails {
    /// Primary account number, digits only.
    pub number: Zeroizing<String>,
    /// 1 to 12.
    pub exp_month: u32,
    /// Four-digit year.
    pub exp_year: u32,
    /// Security code.
    pub cvc: Zeroizing<String>,
}

impl CardDetails {
    /// The last four digits (what may be said back or shown).
    pub fn last4(&self) -> &str {
        &self.number[self.number.len().saturating_sub(4)..]
    }
}

impl std::fmt::Debug for CardDetails {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CardDetails(**** {})", self.last4())
    }
}

/// What the capture asks of the call.
#[derive(Debug)]
pub enum CaptureEvent {
    /// Say this to the caller.
    Say(&'static str),
    /// All details entered and valid.
    Complete(CardDetails),
    /// The caller cancelled, timed out, or made too many mistakes.
    Cancelled(&'static str),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Number,
    Expiry,
    Cvc,
    Over,
}

/// See the module docs.
pub struct CardCapture {
    step: Step,
    digits: Zeroizing<String>,
    number: Zeroizing<String>,
    expiry: (u32, u32),
    errors: u32,
    last_key_ms: u64,
    /// (year, month) now, for the expiry check.
    today: (u32, u32),
}

impl std::fmt::Debug for CardCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CardCapture({:?})", self.step)
    }
}

/// First prompt of a capture.
pub const START_PROMPT: &str =
    "Please type your card number on your keypad, then press the hash key. To cancel, press the star key.";

impl CardCapture {
    /// A capture starting at `now_ms`; `today` is (year, month) for the expiry check.
    pub fn new(now_ms: u64, today: (u32, u32)) -> CardCapture {
        CardCapture {
            step: Step::Number,
            digits: Zeroizing::new(String::with_capacity(24)),
            number: Zeroizing::new(String::new()),
            expiry: (0, 0),
            errors: 0,
            last_key_ms: now_ms,
            today,
        }
    }

    /// Whether the capture is finished (completed or cancelled).
    pub fn over(&self) -> bool {
        self.step == Step::Over
    }

    /// When the capture times out if no key comes.
    pub fn deadline_ms(&self) -> u64 {
        self.last_key_ms + KEY_TIMEOUT_MS
    }

    /// Cancels the capture if `now_ms` is past the deadline.
    pub fn poll_timeout(&mut self, now_ms: u64) -> Option<CaptureEvent> {
        if self.over() || now_ms < self.deadline_ms() {
            return None;
        }
        self.cancel("I did not receive your card details, so no payment was taken.")
    }

    /// One key.
    pub fn key(&mut self, k: char, now_ms: u64) -> Option<CaptureEvent> {
        if self.over() {
            return None;
        }
        self.last_key_ms = now_ms;
        match k {
            '*' => self.cancel("You cancelled the payment, so no payment was taken."),
            '0'..='9' if self.digits.len() < 19 => {
                self.digits.push(k);
                None
            }
            '0'..='9' => self.invalid(),
            '#' => self.field_done(),
            _ => None,
        }
    }

    fn field_done(&mut self) -> Option<CaptureEvent> {
        let entered = std::mem::replace(&mut self.digits, Zeroizing::new(String::with_capacity(24)));
        match self.step {
            Step::Number if (12..=19).contains(&entered.len()) && luhn(entered.as_bytes()) => {
                self.number = entered;
                self.step = Step::Expiry;
                Some(CaptureEvent::Say("Thank you. Now type the expiry date as two digits for the month and two for the year, then press hash."))
            }
            Step::Expiry => match expiry(&entered, self.today) {
                Some(e) => {
                    self.expiry = e;
                    self.step = Step::Cvc;
                    Some(CaptureEvent::Say("Thank you. Now type the security code from the back of the card, then press hash."))
                }
                None => self.invalid(),
            },
            Step::Cvc if (3..=4).contains(&entered.len()) => {
                self.step = Step::Over;
                let number = std::mem::take(&mut self.number);
                Some(CaptureEvent::Complete(CardDetails { number, exp_month: self.expiry.1, exp_year: self.expiry.0, cvc: entered }))
            }
            _ => self.invalid(),
        }
    }

    fn invalid(&mut self) -> Option<CaptureEvent> {
        self.digits.clear();
        self.errors += 1;
        if self.errors >= MAX_ERRORS {
            return self.cancel("Those details were not valid, so no payment was taken.");
        }
        Some(CaptureEvent::Say(match self.step {
            Step::Number => "That card number is not valid. Please type it again, then press hash.",
            Step::Expiry => "That expiry date is not valid. Please type the month and year as four digits, then press hash.",
            _ => "That security code is not valid. Please type it again, then press hash.",
        }))
    }

    fn cancel(&mut self, why: &'static str) -> Option<CaptureEvent> {
        self.step = Step::Over;
        self.digits.clear();
        self.number.clear();
        Some(CaptureEvent::Cancelled(why))
    }
}

/// (year, month) now, in UTC, for [`CardCapture::new`].
pub fn today_utc() -> (u32, u32) {
    let now = time::OffsetDateTime::now_utc();
    (now.year().max(0) as u32, u32::from(u8::from(now.month())))
}

/// MMYY into (year, month) if the card has not expired by `today` (year, month).
fn expiry(mmyy: &str, today: (u32, u32)) -> Option<(u32, u32)> {
    if mmyy.len() != 4 {
        return None;
    }
    let month: u32 = mmyy[..2].parse().ok()?;
    let year = 2000 + mmyy[2..].parse::<u32>().ok()?;
    ((1..=12).contains(&month) && (year, month) >= today && year <= today.0 + 20).then_some((year, month))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(c: &mut CardCapture, keys: &str) -> Vec<CaptureEvent> {
        keys.chars().filter_map(|k| c.key(k, 1)).collect()
    }

    #[test]
    fn a_valid_card_completes_with_its_details() {
        let mut c = CardCapture::new(0, (2026, 11));
        let events = typed(&mut c, "4242424242424242#1227#123#");
        assert_eq!(events.len(), 3);
        let CaptureEvent::Complete(card) = &events[2] else { panic!("{events:?}") };
        assert_eq!((card.number.as_str(), card.exp_month, card.exp_year, card.cvc.as_str()), ("4242424242424242", 12, 2027, "123"));
        assert_eq!(format!("{card:?}"), "CardDetails(**** 4242)");
        assert!(c.over());
    }

    #[test]
    fn mistakes_are_asked_again_then_cancel() {
        let mut c = CardCapture::new(0, (2026, 11));
        let e = typed(&mut c, "4242424242424241#");
        assert!(matches!(e[0], CaptureEvent::Say(s) if s.contains("not valid")), "Luhn fails");
        let e = typed(&mut c, "4242424242424242#1026#");
        assert!(matches!(e[1], CaptureEvent::Say(s) if s.contains("expiry date is not valid")), "expired last month");
        let e = typed(&mut c, "1399#");
        assert!(matches!(e[0], CaptureEvent::Cancelled(_)), "third mistake");
        assert!(c.key('1', 2).is_none(), "nothing after the end");
    }

    #[test]
    fn star_cancels_and_silence_times_out() {
        let mut c = CardCapture::new(0, (2026, 11));
        assert!(matches!(typed(&mut c, "4242*")[0], CaptureEvent::Cancelled(s) if s.contains("cancelled")));
        let mut c = CardCapture::new(0, (2026, 11));
        assert!(c.poll_timeout(KEY_TIMEOUT_MS - 1).is_none());
        assert!(matches!(c.poll_timeout(KEY_TIMEOUT_MS), Some(CaptureEvent::Cancelled(_))));
    }
}
