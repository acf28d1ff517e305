//! `pay` nodes: the agent states the amount, asks for payment mode with
//! [`Action::CollectPayment`], and hears back only a [`PaymentResult`]: the card itself never
//! reaches the conversation (the call task captures it from the keypad).

use std::time::Instant;

use serde_json::json;

use super::{Action, Conversation, State, ToolUse};
use crate::flow::Node;
use crate::vars::amount_words;

/// The result of a card payment, as the call task reports it (never the card itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PaymentResult {
    /// Charged: the processor's reference.
    Approved(String),
    /// The card was declined: the processor's code.
    Declined(String),
    /// The tenant takes no card payments, or the processor could not be reached.
    Unavailable,
    /// The caller cancelled, timed out or mistyped; the sentence says which.
    Cancelled(&'static str),
}

/// A payment the agent wants taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentRequest {
    /// What it pays ("order 1002"), for the processor and the summary.
    pub reference: String,
    /// Amount in cents.
    pub amount_cents: u64,
    /// ISO 4217, lowercase.
    pub currency: String,
}

impl Conversation {
    /// The amount and reference of `pay` node `i`.
    fn payment_of(&self, i: usize) -> Option<(u64, String)> {
        let Node::Pay { amount_cents, reference, .. } = &self.flow[i] else { return None };
        let amount = self.vars.value_of(amount_cents);
        let cents = amount.as_u64().or_else(|| amount.as_str().and_then(|s| s.trim().parse().ok())).unwrap_or(0);
        Some((cents, self.vars.render(reference)))
    }

    pub(super) fn pay(&mut self, now: Instant, i: usize) -> Vec<Action> {
        let Some((amount_cents, reference)) = self.payment_of(i) else { return Vec::new() };
        if amount_cents == 0 || self.payments.iter().any(|(r, _, _)| *r == reference) {
            self.vars.set("payment", json!({"status": "nothing_due"}));
            let failed = match &self.flow[i] {
                Node::Pay { failed, .. } => failed.clone(),
                _ => return Vec::new(),
            };
            let mut out = vec![Action::Say("There is nothing to pay.".into())];
            out.extend(self.go(now, i, Some(&failed)));
            return out;
        }
        self.state = State::Paying(i);
        let currency = self.spec.currency.clone();
        vec![
            Action::Say(format!("To pay {}, I will take your card details on the keypad. They are not recorded, and I will not hear them.", amount_words(amount_cents, &currency))),
            Action::CollectPayment(PaymentRequest { reference, amount_cents, currency }),
        ]
    }

    pub(super) fn paid(&mut self, now: Instant, i: usize, result: PaymentResult) -> Vec<Action> {
        let Some((amount, reference)) = self.payment_of(i) else { return Vec::new() };
        let Node::Pay { paid, failed, .. } = self.flow[i].clone() else { return Vec::new() };
        let currency = self.spec.currency.clone();
        let (said, status, next) = match result {
            PaymentResult::Approved(processor_ref) => {
                self.payments.push((reference.clone(), amount, processor_ref));
                (format!("Thank you. Your payment of {} was approved.", amount_words(amount, &currency)), "approved", paid)
            }
            PaymentResult::Declined(code) => {
                self.declined.push((reference.clone(), code));
                ("Sorry, your card was declined, and no payment was taken.".to_string(), "declined", failed)
            }
            PaymentResult::Unavailable => ("Sorry, I cannot take card payments right now, and no payment was taken.".to_string(), "unavailable", failed),
            PaymentResult::Cancelled(why) => (why.to_string(), "cancelled", failed),
        };
        self.vars.set("payment", json!({"status": status}));
        self.tool_calls.push(ToolUse { name: "take_payment".into(), argument: reference, result: status.into() });
        let mut out = vec![Action::Say(said)];
        out.extend(self.go(now, i, Some(&next)));
        out
    }
}
