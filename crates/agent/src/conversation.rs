//! The flow interpreter, sans-IO.
//!
//! [`Conversation::start`] says the greeting and runs the flow up to the first thing it waits
//! for; [`Conversation::handle`] takes what the caller said or typed, a tool's result, a
//! payment's result; [`Conversation::handle_timeout`] is called when
//! [`Conversation::poll_timeout`] is due (no answer to a question, a tool taking long). Each
//! returns what the agent does next ([`Action`]s: say, call a tool, take a payment, transfer,
//! hang up). It never waits and never runs a tool itself, so a slow tool never holds up the
//! call's audio. It keeps counts and the outcome for the call's record, and no transcript (the
//! call task owns that).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::flow::{Expect, Node};
use crate::intent::IntentSet;
use crate::spec::{AgentSpec, TransferMode};
use crate::tools::{ToolCall, ToolOutcome, ToolResult};
use crate::vars::Vars;

mod gather;
mod llm;
mod payment;
mod summary;
mod transfer;
pub use gather::{number_heard, NUMBER_HINT};
pub use llm::{CompletionPart, CompletionRequest, MAX_ANSWER_TOKENS, WARM_UP};
pub use payment::{PaymentRequest, PaymentResult};

/// Input from the caller and from what the agent asked for.
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    /// A recognised utterance.
    Said(String),
    /// A keypad key (RFC 4733 or SIP INFO), outside payment mode.
    Key(char),
    /// How the card payment the agent asked for ([`Action::CollectPayment`]) went.
    Payment(PaymentResult),
    /// The person a transfer called did not answer (or could not be reached).
    TransferFailed,
    /// A tool's result ([`Action::CallTool`]).
    Tool(ToolResult),
    /// What the agent said has been played and the caller is silent: a question's wait for an
    /// answer starts now.
    PromptPlayed,
    /// A part of the completion [`Action::Complete`] asked for.
    Completion {
        /// The completion's id.
        id: u64,
        /// What arrived.
        part: CompletionPart,
    },
}

/// What the agent does.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Speak this text.
    Say(String),
    /// Run this tool and report with [`Input::Tool`] (concurrently: the call goes on).
    CallTool(ToolCall),
    /// Ask the language model, streaming its answer back as [`Input::Completion`] parts
    /// (concurrently: the call goes on).
    Complete(CompletionRequest),
    /// The completion with this id is no longer wanted (the caller spoke over it): stop it.
    CancelCompletion(u64),
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

/// A tool the agent used (or a step such as a payment), for the post-call document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolUse {
    /// Tool name.
    pub name: String,
    /// Its arguments, as `name value` pairs.
    pub argument: String,
    /// Its outcome: `found`, `not_found`, `error`, ...
    pub result: String,
}

/// Who is calling and when: what the interpreter is handed instead of reading clocks.
#[derive(Clone, Debug)]
pub struct CallContext {
    /// The caller's number (or `anonymous`).
    pub caller: String,
    /// When the call was answered.
    pub answered: Instant,
    /// The same moment as Unix ms (for opening hours).
    pub answered_unix_ms: i64,
}

impl CallContext {
    /// A call answered now (for a text chat and tests).
    pub fn now(caller: &str) -> CallContext {
        let unix_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        CallContext { caller: caller.to_string(), answered: Instant::now(), answered_unix_ms: unix_ms }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Listening at this gather node.
    Listening(usize),
    /// Waiting for tool call `id` of this node.
    Tool { node: usize, id: u64, since: Instant, filler_said: bool },
    /// Waiting for completion `id` of this `llm` node (`since`: its last part).
    Thinking { node: usize, id: u64, since: Instant, filler_said: bool },
    Paying(usize),
    /// Taking a message at this message node (`None`: a transfer nobody could take).
    TakingMessage(Option<usize>),
    /// A transfer from this node is under way.
    Transferring(usize),
    Done,
}

/// The steps one run may take without waiting for anything (a guard against loops the check
/// missed).
const MAX_STEPS: usize = 100;

/// See the module docs.
#[derive(Clone, Debug)]
pub struct Conversation {
    spec: Arc<AgentSpec>,
    flow: Arc<Vec<Node>>,
    index: Arc<HashMap<String, usize>>,
    intents: IntentSet,
    context: CallContext,
    vars: Vars,
    state: State,
    /// The gather last listened at, and its unanswered or unmatched tries.
    last_gather: Option<usize>,
    retries: u32,
    /// Digits typed so far.
    keys: String,
    next_tool: u64,
    /// Waiting for an answer since the prompt was played: until when.
    no_input_at: Option<Instant>,
    /// What was last said, for "can you repeat that".
    last_said: String,
    /// Input that came while a tool ran, handled once it is back.
    queued: Vec<Input>,
    /// Turns handled so far.
    pub turns: u32,
    /// Not-understood turns so far (all questions).
    pub total_retries: u32,
    /// Tools used.
    pub tool_calls: Vec<ToolUse>,
    /// Intents the caller asked for, in order.
    pub intents_heard: Vec<String>,
    /// The outcome so far.
    pub outcome: Outcome,
    /// Payments taken: what for, amount in cents, processor reference.
    pub payments: Vec<(String, u64, String)>,
    /// Payments declined: what for, decline code.
    pub declined: Vec<(String, String)>,
    /// The message the caller left, if any (their own words: it goes where the transcript may).
    pub message: Option<String>,
    tool_summaries: Vec<String>,
    /// The model's side of `llm` nodes.
    llm: llm::LlmSession,
    /// What this call has established, for what the model may say.
    grounding: crate::llm::guard::Grounding,
    /// What menus fall back on when no intent's words match ([`crate::intent::meaning`]).
    encoder: Option<Arc<dyn crate::intent::meaning::SentenceEncoder>>,
}

impl Conversation {
    /// A conversation with this agent, on a call answered as `context` says.
    pub fn new(spec: AgentSpec, context: CallContext) -> Conversation {
        let flow = if spec.flow.is_empty() { crate::flow::receptionist() } else { spec.flow.clone() };
        let index = flow.iter().enumerate().map(|(i, n)| (n.id().to_string(), i)).collect();
        let intents = IntentSet::new(&spec.intents);
        let mut vars = Vars::new(&spec.currency);
        vars.set("business", json!(spec.business));
        vars.set("hours", json!(spec.hours.trim()));
        vars.set("caller", json!(context.caller));
        // What a model must not repeat: its instructions and rules (fixed for the call).
        let mut grounding = crate::llm::guard::Grounding::new();
        if flow.iter().any(|n| matches!(n, Node::Llm(_))) {
            grounding.instructions(&spec.instructions);
            grounding.instructions(crate::llm::prompt::RULES);
        }
        Conversation {
            spec: Arc::new(spec),
            flow: Arc::new(flow),
            index: Arc::new(index),
            intents,
            context,
            vars,
            state: State::Done,
            last_gather: None,
            retries: 0,
            keys: String::new(),
            next_tool: 0,
            no_input_at: None,
            last_said: String::new(),
            queued: Vec::new(),
            turns: 0,
            total_retries: 0,
            tool_calls: Vec::new(),
            intents_heard: Vec::new(),
            outcome: Outcome::InProgress,
            payments: Vec::new(),
            declined: Vec::new(),
            message: None,
            tool_summaries: Vec::new(),
            llm: llm::LlmSession::default(),
            grounding,
            encoder: None,
        }
    }

    /// The same conversation, its menus also hearing what callers mean by sentence vectors
    /// when no intent's words match.
    pub fn with_encoder(mut self, encoder: Option<Arc<dyn crate::intent::meaning::SentenceEncoder>>) -> Conversation {
        self.encoder = encoder;
        self
    }

    /// The agent's definition.
    pub fn spec(&self) -> &AgentSpec {
        &self.spec
    }

    /// The node the conversation is at (waiting there), for `parley chat`.
    pub fn node(&self) -> Option<&str> {
        let i = match self.state {
            State::Listening(i) | State::Tool { node: i, .. } | State::Thinking { node: i, .. } | State::Paying(i) | State::Transferring(i) | State::TakingMessage(Some(i)) => i,
            State::TakingMessage(None) | State::Done => return None,
        };
        Some(self.flow[i].id())
    }

    /// A variable's value (`order.status`), for `parley chat` and tests.
    pub fn var(&self, name: &str) -> Option<&Value> {
        self.vars.get(name)
    }

    /// Whether the conversation is over.
    pub fn done(&self) -> bool {
        self.state == State::Done
    }

    /// The greeting, and the flow up to its first wait.
    pub fn start(&mut self, now: Instant) -> Vec<Action> {
        let mut out = vec![Action::Say(self.vars.render(self.spec.greeting.trim()))];
        out.extend(self.run(now, 0));
        self.reply(out)
    }

    /// Handles one input at `now`.
    pub fn handle(&mut self, now: Instant, input: Input) -> Vec<Action> {
        let out = self.input(now, input);
        let out = self.drain_queue(now, out);
        self.reply(out)
    }

    /// Goes back to `earlier`, a copy of this conversation from before the caller's last turn:
    /// the caller went on right after it (the agent cut in), and what they said is to be
    /// handled as one turn. The model's answer to the cut turn, if still coming, is stopped
    /// (the returned `CancelCompletion`); completion and tool ids and the tokens spent carry
    /// on from here, so a late part of that answer never passes for the next one's.
    pub fn take_back(&mut self, earlier: Conversation) -> Vec<Action> {
        let running = match self.state {
            State::Thinking { id, .. } => Some(id),
            _ => None,
        };
        let later = std::mem::replace(self, earlier);
        self.llm.keep_counting_from(&later.llm);
        self.next_tool = self.next_tool.max(later.next_tool);
        running.map(Action::CancelCompletion).into_iter().collect()
    }

    /// Whether the agent is working on an answer: a tool call or the model's completion is
    /// running (what it says meanwhile is a filler).
    pub fn waiting(&self) -> bool {
        matches!(self.state, State::Tool { .. } | State::Thinking { .. })
    }

    /// When [`Conversation::handle_timeout`] is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let limit = self.context.answered + Duration::from_secs(u64::from(self.spec.limits.call_seconds));
        let state = match self.state {
            State::Listening(_) => self.no_input_at,
            State::Tool { since, filler_said: false, .. } => Some(since + self.ms(self.spec.limits.filler_ms)),
            State::Tool { since, filler_said: true, .. } => Some(since + self.ms(self.spec.limits.tool_timeout_ms)),
            State::Thinking { since, filler_said: false, .. } => Some(since + self.ms(self.spec.limits.filler_ms)),
            State::Thinking { since, filler_said: true, .. } => Some(since + self.ms(self.spec.limits.tool_timeout_ms)),
            State::Done => return None,
            _ => None,
        };
        Some(state.map_or(limit, |s| s.min(limit)))
    }

    /// Something timed: no answer, a slow tool, the call's time limit.
    pub fn handle_timeout(&mut self, now: Instant) -> Vec<Action> {
        if self.poll_timeout().is_none_or(|t| now < t) {
            return Vec::new();
        }
        let limit = self.context.answered + Duration::from_secs(u64::from(self.spec.limits.call_seconds));
        if now >= limit {
            self.state = State::Done;
            return vec![Action::Say("I am sorry, this call has reached its time limit. Thank you for calling, goodbye!".into()), Action::Hangup];
        }
        let out = match self.state {
            State::Listening(i) => {
                self.no_input_at = None;
                match self.flow[i] {
                    Node::Llm(_) => self.llm_no_input(now, i),
                    _ => self.no_input(now, i),
                }
            }
            State::Tool { node, id, since, filler_said: false } => {
                self.state = State::Tool { node, id, since, filler_said: true };
                match &self.flow[node] {
                    Node::Tool(t) => vec![Action::Say(self.vars.render(&t.filler))],
                    _ => self.llm_filler(node).map(Action::Say).into_iter().collect(),
                }
            }
            State::Tool { id, .. } => self.input(now, Input::Tool(ToolResult { id, outcome: ToolOutcome::Failed("timed out".into()) })),
            State::Thinking { node, id, since, filler_said: false } => {
                self.state = State::Thinking { node, id, since, filler_said: true };
                self.llm_filler(node).map(Action::Say).into_iter().collect()
            }
            State::Thinking { node, id, .. } => self.llm_timed_out(now, node, id),
            _ => Vec::new(),
        };
        let out = self.drain_queue(now, out);
        self.reply(out)
    }

    /// The actions of one reply: what it says as one text, kept for "say that again".
    fn reply(&mut self, out: Vec<Action>) -> Vec<Action> {
        let out = merge_says(out);
        if let Some(Action::Say(t)) = out.iter().rev().find(|a| matches!(a, Action::Say(_))) {
            self.last_said = t.clone();
        }
        out
    }

    fn ms(&self, ms: u32) -> Duration {
        Duration::from_millis(u64::from(ms))
    }

    fn input(&mut self, now: Instant, input: Input) -> Vec<Action> {
        match (self.state, input) {
            (State::Done, _) => Vec::new(),
            (State::Paying(node), Input::Payment(result)) => self.paid(now, node, result),
            (State::Paying(_), _) => Vec::new(),
            (_, Input::TransferFailed) => self.transfer_failed(now),
            (State::Tool { node, id, .. }, Input::Tool(result)) if result.id == id => self.tool_done(now, node, result),
            (State::Thinking { node, id, since, .. }, Input::Completion { id: of, part }) if of == id => self.llm_part(now, node, id, since, part),
            (_, Input::Completion { .. }) => Vec::new(),
            (State::Thinking { node, id, .. }, Input::Said(text)) if !text.trim().is_empty() => self.llm_barge_in(now, node, id, text.trim()),
            (State::Thinking { .. }, _) => Vec::new(),
            (_, Input::Tool(_)) | (_, Input::Payment(_)) => Vec::new(),
            (State::Tool { .. }, input @ (Input::Said(_) | Input::Key(_))) => {
                self.queued.push(input);
                Vec::new()
            }
            (State::Listening(i), Input::PromptPlayed) => {
                let timeout = self.gather(i).and_then(|g| g.timeout_ms).unwrap_or(self.spec.limits.no_input_ms);
                self.no_input_at = Some(now + self.ms(timeout));
                Vec::new()
            }
            (_, Input::PromptPlayed) => Vec::new(),
            (State::TakingMessage(node), Input::Said(text)) if !text.trim().is_empty() => {
                self.turns += 1;
                self.message_taken(now, node, text.trim())
            }
            (State::Listening(i), Input::Said(text)) if !text.trim().is_empty() => {
                self.turns += 1;
                self.no_input_at = None;
                match self.flow[i] {
                    Node::Llm(_) => self.llm_heard(now, i, text.trim()),
                    _ => self.heard(now, i, text.trim()),
                }
            }
            // An `llm` node takes no keys.
            (State::Listening(i), Input::Key(_)) if matches!(self.flow[i], Node::Llm(_)) => Vec::new(),
            (State::Listening(i), Input::Key(k)) => {
                self.no_input_at = None;
                self.key(now, i, k)
            }
            _ => Vec::new(),
        }
    }

    /// Handles what came while a tool ran, once the flow listens again.
    fn drain_queue(&mut self, now: Instant, mut out: Vec<Action>) -> Vec<Action> {
        while matches!(self.state, State::Listening(_) | State::TakingMessage(_)) && !self.queued.is_empty() {
            let next = self.queued.remove(0);
            out.extend(self.input(now, next));
        }
        out
    }

    /// The node named `id` (a checked flow has it).
    fn at(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    fn gather(&self, i: usize) -> Option<&crate::flow::Gather> {
        match &self.flow[i] {
            Node::Gather(g) => Some(g),
            _ => None,
        }
    }

    /// The node after `i`: `next`, or the one after it in the list.
    fn next_index(&self, i: usize, next: &Option<String>) -> Option<usize> {
        next.as_deref().map_or(Some(i + 1), |n| self.at(n))
    }

    /// Goes to the node named `id`, or after node `from` when `id` is unset.
    fn go(&mut self, now: Instant, from: usize, id: Option<&str>) -> Vec<Action> {
        match id {
            Some(id) => match self.at(id) {
                Some(i) => self.run(now, i),
                None => self.give_up(),
            },
            None if from + 1 < self.flow.len() => self.run(now, from + 1),
            None => self.give_up(),
        }
    }

    /// Runs the flow from node `i` until it waits.
    fn run(&mut self, now: Instant, mut i: usize) -> Vec<Action> {
        let mut out = Vec::new();
        let flow = Arc::clone(&self.flow);
        for _ in 0..MAX_STEPS {
            let Some(node) = flow.get(i) else { break };
            let next = match node {
                Node::Say { text, next, .. } => {
                    out.push(self.say(text));
                    self.next_index(i, next)
                }
                Node::Set { values, next, .. } => {
                    for (k, v) in values {
                        let value = self.vars.value_of(v);
                        self.vars.set(k, value);
                    }
                    self.next_index(i, next)
                }
                Node::Route { cases, default, .. } => {
                    let to = cases.iter().find(|c| self.vars.holds(&c.when)).map_or(default, |c| &c.goto);
                    self.at(to)
                }
                Node::Hours { open, closed, .. } => {
                    let at_ms = self.context.answered_unix_ms + now.saturating_duration_since(self.context.answered).as_millis() as i64;
                    let is_open = self.spec.opening_hours.as_ref().is_none_or(|h| h.open_at(at_ms));
                    self.at(if is_open { open } else { closed })
                }
                Node::Gather(g) => {
                    let counts = self.last_gather == Some(i) && matches!(g.expect, Expect::Number | Expect::Text | Expect::Date);
                    if self.last_gather != Some(i) {
                        self.retries = 0;
                    }
                    self.last_gather = Some(i);
                    self.keys.clear();
                    if counts {
                        // Asked again for a value it just gave: that value did not do.
                        if let Some(fail) = self.count_retry(now, i) {
                            out.extend(fail);
                            return out;
                        }
                    }
                    if let Some(p) = &g.prompt {
                        out.push(self.say(p));
                    }
                    self.state = State::Listening(i);
                    return out;
                }
                Node::Llm(_) => {
                    out.extend(self.llm_enter(i));
                    return out;
                }
                Node::Tool(t) => {
                    self.next_tool += 1;
                    let args = t.args.iter().map(|(k, v)| (k.clone(), self.vars.value_of(v))).collect();
                    let operation = self.spec.tools.get(&t.tool).map(|d| d.operation.clone()).unwrap_or_default();
                    out.push(Action::CallTool(ToolCall { id: self.next_tool, tool: t.tool.clone(), operation, args }));
                    self.state = State::Tool { node: i, id: self.next_tool, since: now, filler_said: false };
                    return out;
                }
                Node::Transfer { to, mode, say, .. } => {
                    out.extend(self.transfer(now, i, to.as_deref(), *mode, say));
                    return out;
                }
                Node::Message { prompt, .. } => {
                    out.push(self.say(prompt));
                    self.state = State::TakingMessage(Some(i));
                    return out;
                }
                Node::Pay { .. } => {
                    out.extend(self.pay(now, i));
                    return out;
                }
                Node::End { say, outcome, .. } => {
                    let text = say.clone().unwrap_or_else(|| "Thank you for calling {business}. Goodbye!".into());
                    out.push(self.say(&text));
                    out.push(Action::Hangup);
                    self.state = State::Done;
                    if self.outcome == Outcome::InProgress || *outcome == crate::flow::EndOutcome::NotUnderstood {
                        self.outcome = match outcome {
                            crate::flow::EndOutcome::Resolved => Outcome::Resolved,
                            crate::flow::EndOutcome::NotUnderstood => Outcome::NotUnderstood,
                        };
                    }
                    return out;
                }
            };
            match next {
                Some(n) if n < flow.len() => i = n,
                _ => break,
            }
        }
        out.extend(self.give_up());
        out
    }

    fn say(&mut self, template: &str) -> Action {
        Action::Say(self.vars.render(template))
    }

    /// One more unanswered or unmatched try at gather `i`: `Some` with what is done when that
    /// was the last one.
    fn count_retry(&mut self, now: Instant, i: usize) -> Option<Vec<Action>> {
        self.retries += 1;
        self.total_retries += 1;
        if self.retries < self.spec.max_retries {
            return None;
        }
        let failed = self.gather(i).and_then(|g| g.failed.clone()).or_else(|| self.llm_node(i).and_then(|n| n.fallback));
        self.retries = 0;
        Some(match failed {
            Some(node) => {
                self.last_gather = None;
                self.go(now, i, Some(&node))
            }
            None => self.give_up(),
        })
    }

    /// The agent cannot help: it apologises and ends the call.
    fn give_up(&mut self) -> Vec<Action> {
        self.state = State::Done;
        self.outcome = Outcome::NotUnderstood;
        vec![Action::Say(format!("I am sorry I could not help you today. Please call again, or visit {} in person. Goodbye!", self.spec.business)), Action::Hangup]
    }

    fn tool_done(&mut self, now: Instant, node: usize, result: ToolResult) -> Vec<Action> {
        if let Node::Llm(_) = &self.flow[node] {
            return self.llm_tool_done(now, node, result);
        }
        let Node::Tool(t) = &self.flow[node] else { return Vec::new() };
        let t = t.clone();
        let argument = t.args.iter().map(|(k, v)| format!("{k} {}", self.vars.render(v))).collect::<Vec<_>>().join(", ");
        match result.outcome {
            ToolOutcome::Done { outcome, data } => {
                self.grounding.tool_result(&data);
                if let Some(s) = data.get("summary").and_then(Value::as_str) {
                    self.tool_summaries.push(format!("{}: {s}.", t.tool));
                } else {
                    self.tool_summaries.push(format!("{} ({argument}): {outcome}.", t.tool));
                }
                self.tool_calls.push(ToolUse { name: t.tool.clone(), argument, result: outcome.clone() });
                if let Some(v) = &t.save_as {
                    self.vars.set(v, data);
                }
                let to = t.on.get(&outcome).or(t.next.as_ref()).cloned();
                self.go(now, node, to.as_deref())
            }
            ToolOutcome::Failed(_) => {
                self.tool_summaries.push(format!("{} ({argument}) failed.", t.tool));
                self.tool_calls.push(ToolUse { name: t.tool.clone(), argument, result: "error".into() });
                if let Some(v) = &t.save_as {
                    self.vars.set(v, Value::Null);
                }
                let mut out = vec![Action::Say("Sorry, I could not check that right now.".into())];
                let to = t.on.get("error").or(t.error.as_ref()).or(t.next.as_ref()).cloned();
                out.extend(self.go(now, node, to.as_deref()));
                out
            }
        }
    }
}

/// Consecutive `Say`s as one (one synthesis, one reply).
fn merge_says(actions: Vec<Action>) -> Vec<Action> {
    let mut out: Vec<Action> = Vec::with_capacity(actions.len());
    for a in actions {
        match (out.last_mut(), a) {
            (Some(Action::Say(before)), Action::Say(text)) => {
                if !text.is_empty() {
                    before.push(' ');
                    before.push_str(&text);
                }
            }
            (_, Action::Say(text)) if text.is_empty() => {}
            (_, a) => out.push(a),
        }
    }
    out
}

#[cfg(test)]
mod tests;
