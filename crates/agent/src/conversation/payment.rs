//! Card payments in the conversation: offering a balance, entering payment mode, and what the
//! agent says about the result. The card itself never reaches the conversation: the call task
//! captures it from the keypad and reports only a [`PaymentResult`].

use super::{spaced, Action, Conversation, State, ToolCall, ANYTHING_ELSE};

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
    /// Order it pays.
    pub order: u32,
    /// Amount in cents.
    pub amount_cents: u64,
    /// ISO 4217, lowercase.
    pub currency: String,
}

impl Conversation {
    /// What is still due on an order (nothing once paid in this call).
    pub(super) fn balance(&self, number: u32) -> u64 {
        match self.spec.order(number) {
            Some(o) if !self.payments.iter().any(|(n, _, _)| *n == number) => o.balance_cents,
            _ => 0,
        }
    }

    /// "Pay order n": look it up first if it was not read out yet.
    pub(super) fn pay(&mut self, number: u32) -> Vec<Action> {
        if self.spec.order(number).is_none() {
            return self.lookup(number);
        }
        if self.balance(number) == 0 {
            self.retries = 0;
            self.state = State::Main;
            self.current_order = Some(number);
            return vec![Action::Say(format!("There is nothing to pay on order {}. {ANYTHING_ELSE}", spaced(number)))];
        }
        self.start_payment(number)
    }

    pub(super) fn start_payment(&mut self, order: u32) -> Vec<Action> {
        self.retries = 0;
        self.state = State::Paying(order);
        self.current_order = Some(order);
        let amount_cents = self.balance(order);
        vec![
            Action::Say(format!(
                "To pay {} for order {}, I will take your card details on the keypad. They are not recorded, and I will not hear them.",
                amount_words(amount_cents, &self.spec.currency),
                spaced(order)
            )),
            Action::CollectPayment(PaymentRequest { order, amount_cents, currency: self.spec.currency.clone() }),
        ]
    }

    pub(super) fn on_payment(&mut self, order: u32, result: PaymentResult) -> Vec<Action> {
        self.state = State::Main;
        let amount = self.balance(order);
        let (said, tool_result) = match result {
            PaymentResult::Approved(reference) => {
                self.payments.push((order, amount, reference));
                (format!("Thank you. Your payment of {} for order {} was approved.", amount_words(amount, &self.spec.currency), spaced(order)), "approved")
            }
            PaymentResult::Declined(code) => {
                self.declined.push((order, code));
                ("Sorry, your card was declined, and no payment was taken. To try another card, say pay.".to_string(), "declined")
            }
            PaymentResult::Unavailable => ("Sorry, I cannot take card payments right now, and no payment was taken.".to_string(), "unavailable"),
            PaymentResult::Cancelled(why) => (why.to_string(), "cancelled"),
        };
        self.tool_calls.push(ToolCall { name: "take_payment", argument: order.to_string(), result: tool_result });
        vec![Action::Say(format!("{said} {ANYTHING_ELSE}"))]
    }

}

/// An amount as said: "49 dollars and 90 cents".
pub(crate) fn amount_words(cents: u64, currency: &str) -> String {
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
pub(crate) fn amount_figures(cents: u64, currency: &str) -> String {
    format!("{}.{:02} {}", cents / 100, cents % 100, currency.to_uppercase())
}

#[cfg(test)]
mod tests {
    use super::super::tests::{say, text};
    use super::*;
    use crate::conversation::Input;
    use crate::spec::AgentSpec;

    #[test]
    fn a_balance_is_offered_and_paid_on_the_keypad() {
        let mut c = Conversation::new(AgentSpec::demo());
        c.start();
        let t = text(&say(&mut c, "order 1002 please"));
        assert!(t.contains("There is 49 dollars and 90 cents due on this order. To pay it now by card, press the hash key"), "{t}");
        let a = c.handle(Input::Key('#'));
        let request = PaymentRequest { order: 1002, amount_cents: 4990, currency: "usd".into() };
        assert_eq!(a.last(), Some(&Action::CollectPayment(request)));
        assert!(c.handle(Input::Key('4')).is_empty(), "keys in payment mode never reach the conversation");
        assert!(say(&mut c, "four two four two").is_empty(), "nor does speech");
        let t = text(&c.handle(Input::Payment(PaymentResult::Approved("pi_123".into()))));
        assert!(t.contains("payment of 49 dollars and 90 cents for order 1 0 0 2 was approved"), "{t}");
        assert!(c.summary().contains("Caller paid 49.90 USD for order 1002 by card (reference pi_123)."), "{}", c.summary());
        assert!(text(&say(&mut c, "I want to pay for order 1002")).contains("nothing to pay"), "paid once");
    }

    #[test]
    fn after_an_offer_a_typed_order_number_is_still_an_order_number() {
        let mut c = Conversation::new(AgentSpec::demo());
        c.start();
        say(&mut c, "order 1002");
        let mut a = Vec::new();
        for k in "1009".chars() {
            a.extend(c.handle(Input::Key(k)));
        }
        assert!(text(&a).contains("for Ivan Petrov"), "{a:?}");
    }

    #[test]
    fn pay_asks_which_order_and_reports_declines() {
        let mut c = Conversation::new(AgentSpec::demo());
        c.start();
        assert!(text(&say(&mut c, "I'd like to make a payment")).contains("Which order"));
        let a = say(&mut c, "1008");
        assert!(matches!(a.last(), Some(Action::CollectPayment(r)) if r.amount_cents == 12900), "{a:?}");
        let t = text(&c.handle(Input::Payment(PaymentResult::Declined("insufficient_funds".into()))));
        assert!(t.contains("declined"), "{t}");
        assert!(c.summary().contains("declined (insufficient_funds)"));
        let a = say(&mut c, "pay");
        assert!(matches!(a.last(), Some(Action::CollectPayment(r)) if r.order == 1008), "retry pays the current order");
        let t = text(&c.handle(Input::Payment(PaymentResult::Cancelled("You cancelled the payment, so no payment was taken."))));
        assert!(t.starts_with("You cancelled"), "{t}");
        assert_eq!(c.tool_calls.iter().filter(|t| t.name == "take_payment").map(|t| t.result).collect::<Vec<_>>(), ["declined", "cancelled"]);
        assert!(text(&say(&mut c, "pay for order 1004")).contains("nothing to pay"));
    }
}
