//! Payment mode of a call: after the agent asks for a payment, keys go to a card capture
//! instead of the conversation, the recording gets silence for the caller and the recognizer
//! hears nothing, until the charge is decided. The card is sent only to the tenant's `stripe`
//! integration (the driver's `Charge` effect); the transcript gets one neutral line, the log only
//! the outcome.

use parley_agent::conversation::{PaymentRequest, PaymentResult};
use parley_connect::payment::capture::{today_utc, CaptureEvent, CardCapture, CardDetails, START_PROMPT};

/// What the transcript shows for the card details.
pub const TRANSCRIPT_LINE: &str = "[card details entered on the keypad]";

/// One payment in progress.
pub struct PaymentMode {
    capture: CardCapture,
    request: PaymentRequest,
    /// The card is with the processor; further keys are ignored.
    charging: bool,
}

/// What the call does next.
pub enum PaymentStep {
    /// Say this.
    Say(&'static str),
    /// Charge this card (then report the result).
    Charge(PaymentRequest, CardDetails),
    /// Payment mode is over with this result.
    Done(PaymentResult),
}

impl PaymentMode {
    /// Starts capturing at `now_ms` (any monotonic ms); returns the first prompt.
    pub fn start(request: PaymentRequest, now_ms: u64) -> (PaymentMode, &'static str) {
        (PaymentMode { capture: CardCapture::new(now_ms, today_utc()), request, charging: false }, START_PROMPT)
    }

    /// A key pressed in payment mode.
    pub fn key(&mut self, k: char, now_ms: u64) -> Option<PaymentStep> {
        if self.charging {
            return None;
        }
        let event = self.capture.key(k, now_ms)?;
        Some(self.step(event))
    }

    /// Ends the capture if the caller stopped typing.
    pub fn poll_timeout(&mut self, now_ms: u64) -> Option<PaymentStep> {
        if self.charging {
            return None;
        }
        let event = self.capture.poll_timeout(now_ms)?;
        Some(self.step(event))
    }

    fn step(&mut self, event: CaptureEvent) -> PaymentStep {
        match event {
            CaptureEvent::Say(text) => PaymentStep::Say(text),
            CaptureEvent::Complete(card) => {
                self.charging = true;
                PaymentStep::Charge(self.request.clone(), card)
            }
            CaptureEvent::Cancelled(why) => PaymentStep::Done(PaymentResult::Cancelled(why)),
        }
    }
}
