//! Taking a card payment over the phone without the card touching the transcript, the log,
//! the recording or the store.
//!
//! [`capture::CardCapture`] collects the details from keypad presses (sans-IO);
//! [`stripe::Stripe`] charges them with a PaymentIntent. What comes back, a
//! [`ChargeOutcome`], carries only the processor's reference or decline code.

pub mod capture;
pub mod stripe;

/// What to charge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChargeRequest {
    /// Amount in the currency's smallest unit (cents).
    pub amount_cents: u64,
    /// ISO 4217 code, lowercase (`usd`).
    pub currency: String,
    /// What the payment is for (shown on the business's dashboard).
    pub description: String,
    /// Key-value pairs stored with the payment (order number, call id).
    pub metadata: Vec<(String, String)>,
    /// Makes a retried request charge at most once.
    pub idempotency_key: String,
}

/// How a charge went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChargeOutcome {
    /// Paid (or accepted and processing): the processor's reference.
    Approved {
        /// Processor reference (`pi_...`).
        reference: String,
    },
    /// The card was declined: the processor's code (`card_declined`, `insufficient_funds`, ...).
    Declined {
        /// Decline or error code.
        code: String,
    },
    /// The processor could not be asked or gave no clear answer; nothing is known to be charged.
    Failed {
        /// Why, without card data.
        reason: String,
    },
}

impl ChargeOutcome {
    /// `approved`, `declined` or `failed`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ChargeOutcome::Approved { .. } => "approved",
            ChargeOutcome::Declined { .. } => "declined",
            ChargeOutcome::Failed { .. } => "failed",
        }
    }
}
