//! The call's summary for the business, built only from what the flow did: the intents asked
//! for, what tools found, payments, and the outcome. No sentence the call did not support, and
//! none of the caller's own words (those are in the transcript, where the policy keeps one).

use super::{Conversation, Outcome};
use crate::vars::amount_figures;

impl Conversation {
    /// A short summary of the call for the business.
    pub fn summary(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        let asked: Vec<&str> = self.intents_heard.iter().map(String::as_str).filter(|i| !matches!(*i, "yes" | "no" | "repeat" | "goodbye")).collect();
        let mut unique: Vec<&str> = Vec::new();
        for a in asked {
            if !unique.contains(&a) {
                unique.push(a);
            }
        }
        if !unique.is_empty() {
            parts.push(format!("Caller asked for: {}.", unique.join(", ").replace('_', " ")));
        }
        parts.extend(self.tool_summaries.iter().cloned());
        for (what, cents, reference) in &self.payments {
            parts.push(format!("Caller paid {} for {what} by card (reference {reference}).", amount_figures(*cents, &self.spec.currency)));
        }
        for (what, code) in &self.declined {
            parts.push(format!("A card payment for {what} was declined ({code})."));
        }
        match self.outcome {
            Outcome::Transferred => parts.push("Caller asked for a person and was transferred.".into()),
            Outcome::MessageTaken => parts.push("Caller left a message.".into()),
            Outcome::NotUnderstood => parts.push(format!("The agent could not understand the caller after {} attempts.", self.spec.max_retries)),
            _ => {}
        }
        if parts.is_empty() {
            parts.push("Caller did not make a request.".into());
        }
        parts.join(" ")
    }
}
