//! The callflow interpreter for the store agent, sans-IO.
//!
//! [`Conversation::start`] gives the greeting; [`Conversation::handle`] takes what the caller said
//! or typed and returns what the agent does next. It keeps counts and the outcome for the call's
//! record; it keeps no transcript (the call task owns that).

use crate::intent::{classify, extract_number, Intent};
use crate::spec::{AgentSpec, TransferMode};

mod payment;
pub use payment::{PaymentRequest, PaymentResult};
use payment::{amount_figures, amount_words};

/// Input from the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A recognised utterance.
    Said(String),
    /// A keypad key (RFC 4733 or SIP INFO), outside payment mode.
    Key(char),
    /// How the card payment the agent asked for ([`Action::CollectPayment`]) went.
    Payment(PaymentResult),
    /// The person a warm transfer called did not answer (or could not be reached).
    TransferFailed,
}

/// What the agent does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Speak this text.
    Say(String),
    /// Transfer the caller (blind REFER) to this SIP URI.
    Transfer(String),
    /// Call this SIP URI, brief the person who answers ([`Conversation::briefing`]) and bridge
    /// the caller to them; report a failure with [`Input::TransferFailed`].
    WarmTransfer(String),
    /// End the call (after what was said has been played).
    Hangup,
    /// Enter payment mode: keys go to card capture (not to the conversation, the transcript or
    /// the log), the recording and the recognizer pause; the result comes back as
    /// [`Input::Payment`].
    CollectPayment(PaymentRequest),
}

/// How the call went, for the call record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Still in progress.
    InProgress,
    /// The caller got what they asked for and said goodbye.
    Resolved,
    /// The caller was transferred to a person.
    Transferred,
    /// A message was taken for the business.
    MessageTaken,
    /// The agent gave up after too many misunderstandings.
    NotUnderstood,
}

impl Outcome {
    /// A stable name for records and webhooks.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::InProgress => "in_progress",
            Outcome::Resolved => "resolved",
            Outcome::Transferred => "transferred",
            Outcome::MessageTaken => "message_taken",
            Outcome::NotUnderstood => "not_understood",
        }
    }
}

/// A tool the agent used, for the post-call document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolCall {
    /// Tool name.
    pub name: &'static str,
    /// Its argument.
    pub argument: String,
    /// `found`, `not_found`, ...
    pub result: &'static str,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Main,
    /// Waiting for an order number; `pay`: to pay it.
    AwaitOrderNumber { pay: bool },
    /// An order with a balance was just read out; `#` (no digits before it) or "pay" pays it.
    OfferPayment(u32),
    /// Payment mode for this order.
    Paying(u32),
    TakingMessage,
    Done,
}

/// See the module docs.
#[derive(Clone, Debug)]
pub struct Conversation {
    spec: AgentSpec,
    state: State,
    retries: u32,
    keys: String,
    /// Turns handled so far.
    pub turns: u32,
    /// Not-understood turns so far (all states).
    pub total_retries: u32,
    /// Tools used.
    pub tool_calls: Vec<ToolCall>,
    /// Orders the caller was told about.
    pub orders_found: Vec<u32>,
    /// The outcome so far.
    pub outcome: Outcome,
    /// Payments taken: order, amount in cents, processor reference.
    pub payments: Vec<(u32, u64, String)>,
    /// Payments declined: order, decline code.
    pub declined: Vec<(u32, String)>,
    asked_hours: bool,
    /// The order last read out.
    current_order: Option<u32>,
}

pub(crate) const ANYTHING_ELSE: &str = "Is there anything else I can help you with?";

impl Conversation {
    /// A conversation with this agent.
    pub fn new(spec: AgentSpec) -> Conversation {
        Conversation {
            spec,
            state: State::Main,
            retries: 0,
            keys: String::new(),
            turns: 0,
            total_retries: 0,
            tool_calls: Vec::new(),
            orders_found: Vec::new(),
            outcome: Outcome::InProgress,
            payments: Vec::new(),
            declined: Vec::new(),
            asked_hours: false,
            current_order: None,
        }
    }

    /// The agent's definition.
    pub fn spec(&self) -> &AgentSpec {
        &self.spec
    }

    /// Whether `text`, heard while the caller pauses, sounds like a finished turn
    /// ([`crate::turn`]): numbers count as finished when they name an order.
    pub fn turn_shape(&self, text: &str) -> crate::turn::TurnShape {
        crate::turn::shape(text, matches!(self.state, State::AwaitOrderNumber { .. }), |n| self.spec.order(n).is_some())
    }

    /// A hint for the recognizer about what the caller is about to say, in the way it should be
    /// written: while an order number is awaited, that numbers come as digits. Worded so that
    /// a caller would not say it all (a decoder that heard nothing may echo its prompt).
    pub fn listening_for(&self) -> Option<&'static str> {
        match self.state {
            State::AwaitOrderNumber { .. } => Some("The caller reads out an order number, for example 1004 or 2057."),
            _ => None,
        }
    }

    /// Whether the conversation is over.
    pub fn done(&self) -> bool {
        self.state == State::Done
    }

    /// The greeting.
    pub fn start(&mut self) -> Vec<Action> {
        vec![Action::Say(self.spec.greeting.trim().to_string())]
    }

    /// Handles one caller input.
    pub fn handle(&mut self, input: Input) -> Vec<Action> {
        if input == Input::TransferFailed {
            return self.transfer_failed();
        }
        if self.state == State::Done {
            return Vec::new();
        }
        if let State::Paying(order) = self.state {
            return match input {
                Input::Payment(result) => self.on_payment(order, result),
                _ => Vec::new(),
            };
        }
        match input {
            Input::Payment(_) | Input::TransferFailed => Vec::new(),
            Input::Key('#') if matches!(self.state, State::OfferPayment(_)) && self.keys.is_empty() => {
                self.turns += 1;
                let State::OfferPayment(order) = self.state else { return Vec::new() };
                self.start_payment(order)
            }
            Input::Key(k) => self.on_key(k),
            Input::Said(text) => {
                if text.trim().is_empty() {
                    return Vec::new();
                }
                self.turns += 1;
                self.on_said(&text)
            }
        }
    }

    fn on_key(&mut self, k: char) -> Vec<Action> {
        match k {
            '0'..='9' => {
                self.keys.push(k);
                if self.keys.len() < 4 {
                    return Vec::new();
                }
            }
            '#' if !self.keys.is_empty() => {}
            '*' => {
                self.keys.clear();
                return Vec::new();
            }
            _ => return Vec::new(),
        }
        self.turns += 1;
        let number = std::mem::take(&mut self.keys).parse().ok();
        match number {
            Some(n) if self.state == (State::AwaitOrderNumber { pay: true }) => self.pay(n),
            Some(n) => self.lookup(n),
            None => self.not_understood("Sorry, I did not get that number."),
        }
    }

    fn on_said(&mut self, text: &str) -> Vec<Action> {
        let intent = classify(text);
        match self.state {
            State::TakingMessage => {
                self.outcome = Outcome::MessageTaken;
                self.state = State::Done;
                self.tool_calls.push(ToolCall { name: "take_message", argument: String::new(), result: "taken" });
                vec![
                    Action::Say(format!("Thank you. I have passed your message on to the {} team, and someone will get back to you. Goodbye!", self.spec.business)),
                    Action::Hangup,
                ]
            }
            State::Paying(_) => Vec::new(),
            State::OfferPayment(order) if matches!(intent, Intent::Pay | Intent::Yes) => self.start_payment(order),
            State::AwaitOrderNumber { pay: true } if extract_number(text).is_some() => {
                let n = extract_number(text).unwrap_or_default();
                self.pay(n)
            }
            State::AwaitOrderNumber { .. } => match (extract_number(text), intent) {
                (Some(n), _) => self.lookup(n),
                (None, Intent::Goodbye) => self.goodbye(),
                (None, Intent::Human) => self.human(),
                (None, Intent::Hours) => self.hours(),
                _ => self.not_understood("Sorry, I did not catch the order number. Please say it digit by digit, or type it on your keypad."),
            },
            State::Main | State::OfferPayment(_) | State::Done => match intent {
                Intent::Pay => match extract_number(text).or(self.current_order) {
                    Some(n) => self.pay(n),
                    None => {
                        self.state = State::AwaitOrderNumber { pay: true };
                        vec![Action::Say("Which order would you like to pay for? You can say the order number, or type it on your keypad.".into())]
                    }
                },
                Intent::Order => match extract_number(text) {
                    Some(n) => self.lookup(n),
                    None => {
                        self.state = State::AwaitOrderNumber { pay: false };
                        vec![Action::Say("Sure. What is your order number? You can say it, or type it on your keypad.".into())]
                    }
                },
                Intent::Hours => self.hours(),
                Intent::Human => self.human(),
                Intent::Goodbye | Intent::No => self.goodbye(),
                Intent::Yes => vec![Action::Say("What can I help you with? I can check an order, tell you our opening hours, or put you through to a person.".into())],
                Intent::Unknown => self.not_understood("Sorry, I did not understand that. I can check the status of an order, tell you our opening hours, or put you through to a person."),
            },
        }
    }

    fn lookup(&mut self, number: u32) -> Vec<Action> {
        let found = self.spec.order(number).cloned();
        self.tool_calls.push(ToolCall {
            name: "order_lookup",
            argument: number.to_string(),
            result: if found.is_some() { "found" } else { "not_found" },
        });
        match found {
            Some(o) => {
                self.retries = 0;
                self.state = State::Main;
                self.current_order = Some(number);
                self.orders_found.push(number);
                let items = o.items.join(" and ");
                let details = format!("Order {}, for {}, is {}. It has {}, placed on {}, and is {}.", spaced(number), o.customer, o.status, items, o.placed, o.detail);
                let due = self.balance(number);
                if due == 0 {
                    return vec![Action::Say(format!("{details} {ANYTHING_ELSE}"))];
                }
                self.state = State::OfferPayment(number);
                vec![Action::Say(format!(
                    "{details} There is {} due on this order. To pay it now by card, press the hash key or say pay. Or ask me anything else.",
                    amount_words(due, &self.spec.currency)
                ))]
            }
            None => {
                self.state = State::AwaitOrderNumber { pay: false };
                self.not_understood(&format!(
                    "I could not find an order with the number {}. Please say the order number again, digit by digit, or type it on your keypad.",
                    spaced(number)
                ))
            }
        }
    }

    fn hours(&mut self) -> Vec<Action> {
        self.retries = 0;
        self.asked_hours = true;
        self.state = State::Main;
        vec![Action::Say(format!("{} {ANYTHING_ELSE}", self.spec.hours.trim()))]
    }

    fn human(&mut self) -> Vec<Action> {
        self.retries = 0;
        if self.spec.transfer_to.trim().is_empty() {
            self.state = State::TakingMessage;
            return vec![Action::Say("No one is available to take your call right now, so I will take a message. Please say your name, your number, and your message.".into())];
        }
        self.state = State::Done;
        self.outcome = Outcome::Transferred;
        self.tool_calls.push(ToolCall { name: "transfer", argument: String::new(), result: "requested" });
        let target = self.spec.transfer_to.clone();
        let transfer = match self.spec.transfer_mode {
            TransferMode::Blind => Action::Transfer(target),
            TransferMode::Warm => Action::WarmTransfer(target),
        };
        vec![Action::Say("Let me put you through to a person. One moment, please.".into()), transfer]
    }

    /// A warm transfer found no one: take a message instead.
    fn transfer_failed(&mut self) -> Vec<Action> {
        if self.outcome != Outcome::Transferred {
            return Vec::new();
        }
        self.outcome = Outcome::InProgress;
        self.state = State::TakingMessage;
        if let Some(t) = self.tool_calls.iter_mut().rev().find(|t| t.name == "transfer") {
            t.result = "no_answer";
        }
        vec![Action::Say("I am sorry, no one could take your call right now, so I will take a message. Please say your name, your number, and your message.".into())]
    }

    /// What the agent tells the person a warm transfer reached: who is calling (`caller`, a
    /// number or name) and why.
    pub fn briefing(&self, caller: &str) -> String {
        let who = if caller.chars().any(|c| c.is_ascii_digit()) { format!("a caller on {}", spaced_number(caller)) } else { "a caller".to_string() };
        let why = match self.orders_found.last() {
            Some(order) => format!("They asked about order {} and would like to speak to a person.", spaced(*order)),
            None => "They would like to speak to a person.".to_string(),
        };
        format!("Hello, this is the {} assistant. I have {who}. {why} I am connecting you now.", self.spec.business)
    }

    fn goodbye(&mut self) -> Vec<Action> {
        self.state = State::Done;
        if self.outcome == Outcome::InProgress {
            self.outcome = Outcome::Resolved;
        }
        vec![Action::Say(format!("Thank you for calling {}. Goodbye!", self.spec.business)), Action::Hangup]
    }

    fn not_understood(&mut self, prompt: &str) -> Vec<Action> {
        self.retries += 1;
        self.total_retries += 1;
        if self.retries >= self.spec.max_retries {
            self.state = State::Done;
            self.outcome = Outcome::NotUnderstood;
            return vec![
                Action::Say(format!("I am sorry I could not help you today. Please call again, or visit {} in person. Goodbye!", self.spec.business)),
                Action::Hangup,
            ];
        }
        vec![Action::Say(prompt.to_string())]
    }

    /// A short summary of the call for the business (no transcript text).
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        for n in &self.orders_found {
            if let Some(o) = self.spec.order(*n) {
                parts.push(format!("Caller asked about order {n} ({}): {}.", o.customer, o.status));
            }
        }
        let missing: Vec<_> = self.tool_calls.iter().filter(|t| t.result == "not_found").map(|t| t.argument.clone()).collect();
        if !missing.is_empty() {
            parts.push(format!("No order found for: {}.", missing.join(", ")));
        }
        for (n, cents, reference) in &self.payments {
            parts.push(format!("Caller paid {} for order {n} by card (reference {reference}).", amount_figures(*cents, &self.spec.currency)));
        }
        for (n, code) in &self.declined {
            parts.push(format!("A card payment for order {n} was declined ({code})."));
        }
        if self.asked_hours {
            parts.push("Caller asked for opening hours.".into());
        }
        match self.outcome {
            Outcome::Transferred => parts.push("Caller asked for a person and was transferred.".into()),
            Outcome::MessageTaken => parts.push("Caller left a message (see transcript).".into()),
            Outcome::NotUnderstood => parts.push(format!("The agent could not understand the caller after {} attempts.", self.spec.max_retries)),
            _ => {}
        }
        if parts.is_empty() {
            parts.push("Caller did not make a request.".into());
        }
        parts.join(" ")
    }
}

/// Digits spaced out so TTS reads them one by one ("1 0 0 4").
pub(crate) fn spaced(n: u32) -> String {
    spaced_number(&n.to_string())
}

/// The digits of a phone number, spaced out ("+1 555" becomes "1 5 5 5").
fn spaced_number(number: &str) -> String {
    number.chars().filter(char::is_ascii_digit).map(String::from).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn say(c: &mut Conversation, s: &str) -> Vec<Action> {
        c.handle(Input::Said(s.into()))
    }

    pub(super) fn text(a: &[Action]) -> String {
        a.iter().filter_map(|a| if let Action::Say(s) = a { Some(s.as_str()) } else { None }).collect()
    }

    #[test]
    fn order_by_spoken_number_is_confirmed_with_its_details() {
        let mut c = Conversation::new(AgentSpec::demo());
        assert!(text(&c.start()).contains("How can I help"));
        let a = say(&mut c, "Hi, my order number is one zero zero four.");
        let t = text(&a);
        assert!(t.contains("Order 1 0 0 4, for Dana Smith, is shipped"), "{t}");
        assert!(t.contains("desk lamp"));
        assert_eq!(c.orders_found, vec![1004]);
        let bye = say(&mut c, "No, that's all. Goodbye.");
        assert_eq!(bye.last(), Some(&Action::Hangup));
        assert_eq!(c.outcome, Outcome::Resolved);
        assert!(c.summary().contains("order 1004 (Dana Smith): shipped"));
    }

    #[test]
    fn order_number_asked_for_then_typed_on_the_keypad() {
        let mut c = Conversation::new(AgentSpec::demo());
        c.start();
        assert!(text(&say(&mut c, "I want to check on my order")).contains("What is your order number"));
        for k in ['1', '0', '0'] {
            assert!(c.handle(Input::Key(k)).is_empty());
        }
        assert!(text(&c.handle(Input::Key('7'))).contains("George Lee"));
    }

    #[test]
    fn never_invents_an_order_and_counts_retries() {
        let mut c = Conversation::new(AgentSpec::demo());
        c.start();
        let t = text(&say(&mut c, "order 2099"));
        assert!(t.contains("could not find an order with the number 2 0 9 9"), "{t}");
        assert!(!t.contains(" for "), "no customer named for an unknown order");
        say(&mut c, "banana");
        let last = say(&mut c, "banana");
        assert_eq!(last.last(), Some(&Action::Hangup));
        assert_eq!(c.outcome, Outcome::NotUnderstood);
        assert_eq!(c.total_retries, 3);
    }

    #[test]
    fn hours_and_person_without_transfer_target_takes_a_message() {
        let mut c = Conversation::new(AgentSpec::demo());
        c.start();
        assert!(text(&say(&mut c, "When are you open?")).contains("Monday to Friday"));
        assert!(text(&say(&mut c, "Can I speak to a person?")).contains("take a message"));
        let end = say(&mut c, "This is Sam, please call me back about a return.");
        assert_eq!(end.last(), Some(&Action::Hangup));
        assert_eq!(c.outcome, Outcome::MessageTaken);
    }

    #[test]
    fn warm_transfer_briefs_and_falls_back_to_a_message() {
        let mut spec = AgentSpec::demo();
        spec.transfer_to = "sip:frontdesk@127.0.0.1:5080".into();
        spec.transfer_mode = TransferMode::Warm;
        let mut c = Conversation::new(spec);
        c.start();
        say(&mut c, "Where is my order 1004?");
        let a = say(&mut c, "Can I speak to a person?");
        assert_eq!(a.last(), Some(&Action::WarmTransfer("sip:frontdesk@127.0.0.1:5080".into())));
        let brief = c.briefing("+15550100004");
        assert!(brief.contains("1 5 5 5 0 1 0 0 0 0 4") && brief.contains("order 1 0 0 4"), "{brief}");
        assert!(!c.briefing("anonymous").contains("anonymous"));
        // Nobody answered: the agent takes a message instead.
        let a = c.handle(Input::TransferFailed);
        assert!(text(&a).contains("take a message"), "{a:?}");
        assert_eq!(c.outcome, Outcome::InProgress);
        say(&mut c, "This is Dana, please call me back on 555 0100.");
        assert_eq!(c.outcome, Outcome::MessageTaken);
        assert_eq!(c.tool_calls.iter().find(|t| t.name == "transfer").map(|t| t.result), Some("no_answer"));
        assert!(c.handle(Input::TransferFailed).is_empty(), "only after a transfer");
    }

    #[test]
    fn person_with_transfer_target_transfers() {
        let mut spec = AgentSpec::demo();
        spec.transfer_to = "sip:frontdesk@127.0.0.1:5080".into();
        let mut c = Conversation::new(spec);
        c.start();
        let a = say(&mut c, "I'd like to talk to a human");
        assert_eq!(a.last(), Some(&Action::Transfer("sip:frontdesk@127.0.0.1:5080".into())));
        assert_eq!(c.outcome, Outcome::Transferred);
    }

    #[test]
    fn bad_agent_yaml_is_refused_with_a_reason() {
        assert!(AgentSpec::from_yaml("name: x\ngreeting: ''\nbusiness: b\nhours: h").is_err());
        assert!(AgentSpec::from_yaml("not: [valid").is_err());
    }
}
