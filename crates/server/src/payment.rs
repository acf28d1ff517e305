//! Payment mode of a call: after the agent asks for a payment, keys go to a card capture
//! instead of the conversation, the recording gets silence for the caller and the recognizer
//! hears nothing, until the charge is decided. The card is sent only to the tenant's `stripe`
//! integration; the transcript gets one neutral line, the log only the outcome.

use std::sync::Arc;

use parley_agent::conversation::{PaymentRequest, PaymentResult};
use parley_connect::payment::capture::{today_utc, CaptureEvent, CardCapture, CardDetails, START_PROMPT};
use parley_connect::payment::stripe::{Stripe, API_BASE};
use parley_connect::payment::{ChargeOutcome, ChargeRequest};
use secrecy::ExposeSecret;

use crate::Shared;

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

/// Charges `card` with the tenant's `stripe` integration (config `api_base`, default Stripe's
/// API; secret: the secret key). No integration, or no answer: [`PaymentResult::Unavailable`].
pub async fn charge(shared: Arc<Shared>, tenant: String, call_id: String, business: String, request: PaymentRequest, card: CardDetails) -> PaymentResult {
    let Ok(scope) = shared.store.tenant(&tenant) else { return PaymentResult::Unavailable };
    let integration = match scope.list_integrations().await {
        Ok(list) => list.into_iter().find(|i| i.kind == "stripe"),
        Err(e) => {
            tracing::error!(error = %e, "looking up the tenant's payment integration failed");
            None
        }
    };
    let Some(integration) = integration else {
        tracing::info!(call = %call_id, outcome = "unavailable", "payment not taken: no stripe integration");
        return PaymentResult::Unavailable;
    };
    let base = integration.config.get("api_base").and_then(|v| v.as_str()).unwrap_or(API_BASE).to_string();
    let client = match Stripe::new(&base, &shared.egress) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(call = %call_id, error = %e, "payment integration misconfigured");
            return PaymentResult::Unavailable;
        }
    };
    let secret = match scope.integration_secret(&shared.master, &integration.id).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(call = %call_id, error = %e, "opening the payment integration's secret failed");
            return PaymentResult::Unavailable;
        }
    };
    let attempt = hex::encode(rand::random::<[u8; 4]>());
    let req = ChargeRequest {
        amount_cents: request.amount_cents,
        currency: request.currency.clone(),
        description: format!("{business} order {} (phone payment)", request.order),
        metadata: vec![("order".into(), request.order.to_string()), ("parley_call".into(), call_id.clone())],
        idempotency_key: format!("parley-{call_id}-{}-{attempt}", request.order),
    };
    let outcome = client.charge(secret.expose_secret(), &req, &card).await;
    drop(card);
    tracing::info!(call = %call_id, outcome = outcome.as_str(), "payment");
    match outcome {
        ChargeOutcome::Approved { reference } => PaymentResult::Approved(reference),
        ChargeOutcome::Declined { code } => PaymentResult::Declined(code),
        ChargeOutcome::Failed { reason } => {
            tracing::warn!(call = %call_id, reason = %reason, "payment processor failed");
            PaymentResult::Unavailable
        }
    }
}
