//! Handing the caller to a person: a blind or warm transfer, the briefing a warm transfer
//! gives, and the message taken when no one answers.

use super::*;

impl Conversation {
    pub(super) fn transfer(&mut self, now: Instant, i: usize, to: Option<&str>, mode: Option<TransferMode>, say: &str) -> Vec<Action> {
        let target = to.map(String::from).unwrap_or_else(|| self.spec.transfer_to.trim().to_string());
        if target.is_empty() {
            return self.transfer_failed_at(now, Some(i), "No one is available to take your call right now, so I will take a message. Please say your name, your number, and your message.");
        }
        self.state = State::Transferring(i);
        self.outcome = Outcome::Transferred;
        self.tool_calls.push(ToolUse { name: "transfer".into(), argument: String::new(), result: "requested".into() });
        let action = match mode.unwrap_or(self.spec.transfer_mode) {
            TransferMode::Blind => Action::Transfer(target),
            TransferMode::Warm => Action::WarmTransfer(target),
        };
        vec![self.say(say), action]
    }

    /// A transfer found no one: its `failed` node, or a message taken.
    pub(super) fn transfer_failed(&mut self, now: Instant) -> Vec<Action> {
        let State::Transferring(i) = self.state else { return Vec::new() };
        self.outcome = Outcome::InProgress;
        if let Some(t) = self.tool_calls.iter_mut().rev().find(|t| t.name == "transfer") {
            t.result = "no_answer".into();
        }
        self.transfer_failed_at(now, Some(i), "I am sorry, no one could take your call right now, so I will take a message. Please say your name, your number, and your message.")
    }

    pub(super) fn transfer_failed_at(&mut self, now: Instant, i: Option<usize>, take_message: &str) -> Vec<Action> {
        let failed = i.and_then(|i| match &self.flow[i] {
            Node::Transfer { failed, .. } => failed.clone(),
            _ => None,
        });
        if let (Some(i), Some(node)) = (i, failed) {
            return self.go(now, i, Some(&node));
        }
        self.state = State::TakingMessage(None);
        vec![self.say(take_message)]
    }

    pub(super) fn message_taken(&mut self, now: Instant, node: Option<usize>, text: &str) -> Vec<Action> {
        self.message = Some(text.to_string());
        self.outcome = Outcome::MessageTaken;
        self.tool_calls.push(ToolUse { name: "take_message".into(), argument: String::new(), result: "taken".into() });
        let (thanks, next) = match node.map(|i| &self.flow[i]) {
            Some(Node::Message { thanks, next, .. }) => (thanks.clone(), next.clone()),
            _ => ("Thank you. I have passed your message on to the {business} team, and someone will get back to you. Goodbye!".to_string(), None),
        };
        let mut out = vec![self.say(&thanks)];
        match (node, next) {
            (Some(i), Some(next)) => out.extend(self.go(now, i, Some(&next))),
            _ => {
                self.state = State::Done;
                out.push(Action::Hangup);
            }
        }
        out
    }

    /// What the agent tells the person a warm transfer reached: who is calling (`caller`, a
    /// number or name) and what they asked about.
    pub fn briefing(&self, caller: &str) -> String {
        let who = if caller.chars().any(|c| c.is_ascii_digit()) { format!("a caller on {}", crate::vars::spaced_digits(caller)) } else { "a caller".to_string() };
        let asked: Vec<&str> = self.intents_heard.iter().map(String::as_str).filter(|i| !matches!(*i, "person" | "yes" | "no" | "repeat" | "goodbye")).collect();
        let why = match asked.as_slice() {
            [] => "They would like to speak to a person.".to_string(),
            a => format!("They asked about {} and would like to speak to a person.", a.join(" and ").replace('_', " ")),
        };
        format!("Hello, this is the {} assistant. I have {who}. {why} I am connecting you now.", self.spec.business)
    }
}
