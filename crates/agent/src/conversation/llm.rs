//! `llm` nodes: a free conversation with a language model, still sans-IO.
//!
//! The interpreter asks for a completion ([`Action::Complete`]) with the node's system message,
//! the conversation so far and the node's functions; the driver streams the answer back as
//! [`Input::Completion`] parts. Sentences are said as soon as they are written, each checked
//! against what this call has established ([`crate::llm::guard`]). Tool calls the model makes
//! run like a `tool` node's (concurrently, with the filler when slow); their results go back to
//! the model, which then answers. An exit function moves the flow on. The caller talking over
//! the agent cancels the completion ([`Action::CancelCompletion`]) and starts the next one with
//! what they said. A failed or slow model, a spent token budget or too many turns go to the
//! node's `fallback`.

use std::collections::VecDeque;
use std::time::Instant;

use serde_json::{json, Map, Value};

use super::{Action, Conversation, State, ToolUse};
use crate::flow::{LlmNode, Node};
use crate::llm::sentences::Sentences;
use crate::llm::stream::StreamEvent;
use crate::tools::{ToolCall, ToolOutcome, ToolResult};

/// Longest answer one completion may write, in tokens.
pub const MAX_ANSWER_TOKENS: u32 = 300;
/// Completions in one caller turn (the model calling tool after tool).
const MAX_ROUNDS: u32 = 4;
/// The id of a warm-up: a request with `max_tokens: 0` that only reads the prompt into the
/// model's cache. No completion has it, so its parts are ignored.
pub const WARM_UP: u64 = 0;

/// A completion the agent asks for.
#[derive(Clone, Debug, PartialEq)]
pub struct CompletionRequest {
    /// Its number in this call (the parts name it).
    pub id: u64,
    /// Chat messages as OpenAI's API takes them, the system message first.
    pub messages: Vec<Value>,
    /// Functions the model may call (`tools` of the API).
    pub tools: Vec<Value>,
    /// Longest answer, tokens; 0 for a warm-up ([`WARM_UP`]), which a driver sends only to a
    /// model that keeps a prompt cache and takes no charge for it (the embedded one), and skips
    /// otherwise.
    pub max_tokens: u32,
}

/// A part of a streamed completion.
#[derive(Clone, Debug, PartialEq)]
pub enum CompletionPart {
    /// What arrived.
    Events(Vec<StreamEvent>),
    /// The answer is complete.
    End,
    /// It failed (the provider refused, timed out, cut off): a short reason for the record.
    Failed(String),
}

/// A tool call the model made: its id, the function and its arguments (JSON text).
#[derive(Clone, Debug)]
struct ModelCall {
    id: String,
    name: String,
    arguments: String,
}

/// The model's side of the call.
#[derive(Clone, Debug, Default)]
pub(super) struct LlmSession {
    /// The `llm` node the history belongs to.
    node: Option<usize>,
    /// The conversation so far (no system message).
    history: Vec<Value>,
    /// Caller turns at this node.
    turns: u32,
    next_completion: u64,
    /// The answer being written.
    sentences: Sentences,
    /// What it said so far.
    said: String,
    /// Its tool calls.
    calls: Vec<ModelCall>,
    /// Whether the provider reported usage for it.
    usage_seen: bool,
    /// Tool calls still to run, and the one running (its model id).
    pending: VecDeque<ModelCall>,
    running: Option<ModelCall>,
    /// Completions in this caller turn.
    rounds: u32,
    /// Whether the caller has heard something since their last words: a filler or the
    /// answer's own words (one filler a turn, however many completions and tools it takes).
    heard: bool,
    /// Whether this completion already said "I cannot confirm that".
    refused: bool,
    /// Tokens used in the call.
    pub(super) tokens: u64,
    /// Sentences held back by the guard.
    pub(super) withheld: u32,
}

impl LlmSession {
    /// Completion ids and tokens spent go on from `later`'s (see [`Conversation::take_back`]).
    pub(super) fn keep_counting_from(&mut self, later: &LlmSession) {
        self.next_completion = self.next_completion.max(later.next_completion);
        self.tokens = self.tokens.max(later.tokens);
    }
}

impl Conversation {
    /// Enters `llm` node `i`: its prompt, then it listens.
    pub(super) fn llm_enter(&mut self, i: usize) -> Vec<Action> {
        let Node::Llm(n) = &self.flow[i] else { return Vec::new() };
        let prompt = n.prompt.clone();
        if self.llm.node != Some(i) {
            self.llm.node = Some(i);
            self.llm.history.clear();
            self.llm.turns = 0;
        }
        self.state = State::Listening(i);
        let mut out = Vec::new();
        let fresh = self.llm.history.is_empty();
        if let Some(p) = prompt {
            let text = self.vars.render(&p);
            self.llm.history.push(json!({"role": "assistant", "content": text}));
            out.push(Action::Say(text));
        }
        if fresh {
            // While the caller speaks, a model on this machine reads the node's long system
            // message into its cache, so the first answer does not wait for it.
            let (messages, tools) = self.llm_prompt(i);
            out.push(Action::Complete(CompletionRequest { id: WARM_UP, messages, tools, max_tokens: 0 }));
        }
        out
    }

    pub(super) fn llm_node(&self, i: usize) -> Option<LlmNode> {
        match &self.flow[i] {
            Node::Llm(n) => Some(n.clone()),
            _ => None,
        }
    }

    /// The caller said `text` at `llm` node `i`.
    pub(super) fn llm_heard(&mut self, now: Instant, i: usize, text: &str) -> Vec<Action> {
        let Some(n) = self.llm_node(i) else { return Vec::new() };
        self.llm.turns += 1;
        self.retries = 0;
        self.grounding.caller_said(text);
        self.llm.history.push(json!({"role": "user", "content": text}));
        if self.llm.turns > n.max_turns {
            return self.llm_fallback(now, i, "turns");
        }
        if let Some((name, goto)) = n.exit_heard(&self.intents, text).map(|(name, e)| (name.to_string(), e.goto.clone())) {
            // The intent engine heard it: no need to ask the model.
            self.llm.history.push(json!({"role": "assistant", "content": Value::Null, "tool_calls": [{"id": "intent", "type": "function", "function": {"name": name, "arguments": "{}"}}]}));
            self.llm_tool_message("intent", json!({"result": "done"}));
            self.tool_summaries.push(format!("The conversation moved on: {}.", name.replace('_', " ")));
            self.last_gather = None;
            return self.go(now, i, Some(&goto));
        }
        self.llm.rounds = 0;
        self.llm.heard = false;
        self.llm_complete(now, i)
    }

    /// Asks the model to answer.
    fn llm_complete(&mut self, now: Instant, i: usize) -> Vec<Action> {
        if self.llm_node(i).is_none() {
            return Vec::new();
        }
        if self.llm.tokens >= u64::from(self.spec.limits.llm_tokens) {
            return self.llm_fallback(now, i, "token budget");
        }
        self.llm.rounds += 1;
        if self.llm.rounds > MAX_ROUNDS {
            self.state = State::Listening(i);
            return vec![Action::Say("Sorry, I could not work that out. Could you put it another way?".into())];
        }
        let (messages, tools) = self.llm_prompt(i);
        if let Some(system) = messages.first().and_then(|m| m["content"].as_str()) {
            self.grounding.business_text(system);
        }
        self.llm.next_completion += 1;
        let id = self.llm.next_completion;
        self.llm.sentences = Sentences::new();
        self.llm.said.clear();
        self.llm.calls.clear();
        self.llm.usage_seen = false;
        self.llm.refused = false;
        self.state = State::Thinking { node: i, id, since: now, filler_said: self.llm.heard };
        vec![Action::Complete(CompletionRequest { id, messages, tools, max_tokens: MAX_ANSWER_TOKENS })]
    }

    /// The messages (system message first, then the conversation so far) and functions of a
    /// completion at node `i`.
    fn llm_prompt(&self, i: usize) -> (Vec<Value>, Vec<Value>) {
        let Some(n) = self.llm_node(i) else { return (Vec::new(), Vec::new()) };
        let goal = self.vars.render(&n.goal);
        let context = crate::llm::prompt::Context {
            business: &self.spec.business,
            instructions: &self.spec.instructions,
            goal: &goal,
            hours: &self.spec.hours,
            began: self.spec.opening_hours.as_ref().and_then(|h| h.local_time(self.context.answered_unix_ms)),
            exits: n.exits.iter().filter(|(_, e)| !e.when.trim().is_empty()).map(|(k, e)| (k.as_str(), e.when.as_str())).collect(),
        };
        let mut messages = vec![json!({"role": "system", "content": crate::llm::prompt::system_message(&context)})];
        messages.extend(self.llm.history.iter().cloned());
        (messages, crate::llm::prompt::functions(&n, &self.spec.tools))
    }

    /// A part of completion `id` of node `i`.
    pub(super) fn llm_part(&mut self, now: Instant, i: usize, id: u64, since: Instant, part: CompletionPart) -> Vec<Action> {
        match part {
            CompletionPart::Events(events) => {
                let mut out = Vec::new();
                for e in events {
                    match e {
                        StreamEvent::Text(t) => {
                            for s in self.llm.sentences.push(&t) {
                                out.extend(self.llm_say(&s));
                            }
                        }
                        StreamEvent::ToolCall { id, name, arguments } => self.llm.calls.push(ModelCall { id, name, arguments }),
                        StreamEvent::Usage { prompt, completion } => {
                            self.llm.usage_seen = true;
                            self.llm.tokens += prompt + completion;
                        }
                        StreamEvent::Finished(_) => {}
                    }
                }
                // Once the caller heard something (a filler, its words: `llm_say`) the time-out
                // counts from the latest part. Parts without words (a tool call or a
                // constrained reply being written, usage) leave the filler due.
                let since = if self.llm.heard { now } else { since };
                self.state = State::Thinking { node: i, id, since, filler_said: self.llm.heard };
                out
            }
            CompletionPart::End => self.llm_answered(now, i),
            CompletionPart::Failed(reason) => {
                self.tool_calls.push(ToolUse { name: "llm".into(), argument: String::new(), result: "error".into() });
                self.tool_summaries.push(format!("The language model failed ({reason})."));
                let mut out = vec![Action::Say("I am sorry, I am having trouble right now.".into())];
                out.extend(self.llm_fallback(now, i, "error"));
                out
            }
        }
    }

    /// A sentence of the answer, if the guard lets it through.
    fn llm_say(&mut self, sentence: &str) -> Vec<Action> {
        let clean = spoken(sentence);
        if clean.is_empty() {
            return Vec::new();
        }
        if self.grounding.check(&clean).is_err() {
            self.llm.withheld += 1;
            if std::mem::replace(&mut self.llm.refused, true) {
                return Vec::new();
            }
            let instead = "I am sorry, I cannot confirm that.";
            self.llm.heard = true;
            self.llm.said.push_str(instead);
            self.llm.said.push(' ');
            return vec![Action::Say(instead.into())];
        }
        self.llm.said.push_str(&clean);
        self.llm.said.push(' ');
        // Its own words are as good as a filler.
        self.llm.heard = true;
        vec![Action::Say(clean)]
    }

    /// The answer is complete: listen, or run the tools it called.
    fn llm_answered(&mut self, now: Instant, i: usize) -> Vec<Action> {
        let mut out = Vec::new();
        if let Some(rest) = self.llm.sentences.finish() {
            out.extend(self.llm_say(&rest));
        }
        if !self.llm.usage_seen {
            // No usage reported: count about four characters a token.
            let chars: usize = self.llm.history.iter().map(|m| m.to_string().len()).sum::<usize>() + self.llm.said.len();
            self.llm.tokens += (chars / 4) as u64 + 200;
        }
        let said = self.llm.said.trim().to_string();
        let calls = std::mem::take(&mut self.llm.calls);
        let mut message = json!({"role": "assistant", "content": if said.is_empty() { Value::Null } else { json!(said) }});
        if !calls.is_empty() {
            message["tool_calls"] = json!(calls.iter().map(|c| json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}})).collect::<Vec<_>>());
        }
        self.llm.history.push(message);
        if calls.is_empty() {
            self.state = State::Listening(i);
            if said.is_empty() {
                out.push(Action::Say("Sorry, could you say that again?".into()));
            }
            return out;
        }
        self.llm.pending = calls.into();
        out.extend(self.llm_next_call(now, i));
        out
    }

    /// Runs the next tool call the model made; once none is left, asks it to go on.
    fn llm_next_call(&mut self, now: Instant, i: usize) -> Vec<Action> {
        let Some(n) = self.llm_node(i) else { return Vec::new() };
        while let Some(call) = self.llm.pending.pop_front() {
            if let Some(exit) = n.exits.get(&call.name).filter(|e| !e.when.trim().is_empty()) {
                self.llm_tool_message(&call.id, json!({"result": "done"}));
                for rest in std::mem::take(&mut self.llm.pending) {
                    self.llm_tool_message(&rest.id, json!({"error": "not run: the call moved on"}));
                }
                self.tool_summaries.push(format!("The conversation moved on: {}.", call.name.replace('_', " ")));
                self.last_gather = None;
                let to = exit.goto.clone();
                return self.go(now, i, Some(&to));
            }
            if !n.tools.contains(&call.name) {
                self.llm_tool_message(&call.id, json!({"error": format!("there is no function {}", call.name)}));
                continue;
            }
            let Some(def) = self.spec.tools.get(&call.name) else { continue };
            let operation = def.operation.clone();
            let Some(op) = crate::tools::operation(&operation) else { continue };
            // Only the arguments the tool takes; the flow's fixed ones win.
            let takes = def.arg_names();
            let given: Map<String, Value> = serde_json::from_str(&call.arguments).unwrap_or_default();
            let mut args: Map<String, Value> = given.into_iter().filter(|(k, v)| takes.contains(k) && !v.is_null()).collect();
            // What finds a record (an order number, a phone number) must come from the caller
            // or a tool: a made-up one would look up someone else's.
            args.retain(|k, v| {
                let text = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                !op.needs_one_of.contains(&k.as_str()) || self.grounding.figures_known(&text)
            });
            for (k, t) in n.fixed.get(&call.name).into_iter().flatten() {
                args.insert(k.clone(), self.vars.value_of(t));
            }
            if !op.needs_one_of.is_empty() && !op.needs_one_of.iter().any(|a| args.contains_key(*a)) {
                self.llm_tool_message(&call.id, json!({"error": format!("give one of: {}", op.needs_one_of.join(", "))}));
                continue;
            }
            // The call's record shows what the tool was asked, not what the model wrote.
            let used = Value::Object(args.clone()).to_string();
            self.next_tool += 1;
            let tool_call = ToolCall { id: self.next_tool, tool: call.name.clone(), operation, args };
            self.state = State::Tool { node: i, id: self.next_tool, since: now, filler_said: self.llm.heard };
            self.llm.running = Some(ModelCall { arguments: used, ..call });
            return vec![Action::CallTool(tool_call)];
        }
        self.llm_complete(now, i)
    }

    fn llm_tool_message(&mut self, call_id: &str, content: Value) {
        self.llm.history.push(json!({"role": "tool", "tool_call_id": call_id, "content": content.to_string()}));
    }

    /// A tool the model called at node `i` is back.
    pub(super) fn llm_tool_done(&mut self, now: Instant, i: usize, result: ToolResult) -> Vec<Action> {
        let Some(call) = self.llm.running.take() else { return Vec::new() };
        let argument = serde_json::from_str::<Map<String, Value>>(&call.arguments).unwrap_or_default().iter().map(|(k, v)| format!("{k} {}", v.as_str().map_or_else(|| v.to_string(), String::from))).collect::<Vec<_>>().join(", ");
        match result.outcome {
            ToolOutcome::Done { outcome, data } => {
                self.grounding.tool_result(&data);
                match data.get("summary").and_then(Value::as_str) {
                    Some(s) => self.tool_summaries.push(format!("{}: {s}.", call.name)),
                    None => self.tool_summaries.push(format!("{} ({argument}): {outcome}.", call.name)),
                }
                self.tool_calls.push(ToolUse { name: call.name.clone(), argument, result: outcome.clone() });
                self.llm_tool_message(&call.id, json!({"outcome": outcome, "data": data}));
                self.llm_next_call(now, i)
            }
            ToolOutcome::Failed(_) => {
                self.tool_summaries.push(format!("{} ({argument}) failed.", call.name));
                self.tool_calls.push(ToolUse { name: call.name.clone(), argument, result: "error".into() });
                self.llm_tool_message(&call.id, json!({"error": "the tool failed; the caller has been told that it could not be checked"}));
                for rest in std::mem::take(&mut self.llm.pending) {
                    self.llm_tool_message(&rest.id, json!({"error": "not run"}));
                }
                // Said plainly, by the flow, not by the model; the caller goes on.
                self.state = State::Listening(i);
                let text = "Sorry, I could not check that right now. Is there anything else I can help with?";
                self.llm.history.push(json!({"role": "assistant", "content": text}));
                vec![Action::Say(text.into())]
            }
        }
    }

    /// The caller spoke while the model was answering at node `i`: the answer stops where it
    /// is, and the model answers what they said.
    pub(super) fn llm_barge_in(&mut self, now: Instant, i: usize, id: u64, text: &str) -> Vec<Action> {
        let said = self.llm.said.trim().to_string();
        if !said.is_empty() {
            self.llm.history.push(json!({"role": "assistant", "content": said}));
        }
        self.llm.calls.clear();
        let mut out = vec![Action::CancelCompletion(id)];
        self.turns += 1;
        out.extend(self.llm_heard(now, i, text));
        out
    }

    /// The model took too long at node `i`.
    pub(super) fn llm_timed_out(&mut self, now: Instant, i: usize, id: u64) -> Vec<Action> {
        let mut out = vec![Action::CancelCompletion(id)];
        out.extend(self.llm_part(now, i, id, now, CompletionPart::Failed("timed out".into())));
        out
    }

    /// The node's `fallback`, or the end of the call.
    fn llm_fallback(&mut self, now: Instant, i: usize, why: &str) -> Vec<Action> {
        self.tool_summaries.push(format!("The conversation with the assistant ended early ({why})."));
        self.llm.node = None;
        match self.llm_node(i).and_then(|n| n.fallback) {
            Some(to) => self.go(now, i, Some(&to)),
            None => self.give_up(),
        }
    }

    /// Nothing said at `llm` node `i` in time.
    pub(super) fn llm_no_input(&mut self, now: Instant, i: usize) -> Vec<Action> {
        if let Some(fail) = self.count_retry(now, i) {
            return fail;
        }
        vec![Action::Say("Are you still there?".into())]
    }

    /// Tokens the model used in this call.
    pub fn llm_tokens(&self) -> u64 {
        self.llm.tokens
    }

    /// Sentences of the model the guard held back in this call.
    pub fn llm_withheld(&self) -> u32 {
        self.llm.withheld
    }

    /// The filler of `llm` node `i`, to be said now.
    pub(super) fn llm_filler(&mut self, i: usize) -> Option<String> {
        self.llm.heard = true;
        self.llm_node(i).map(|n| self.vars.render(&n.filler))
    }
}

/// A sentence as it is spoken: no markdown marks, bullets or links.
fn spoken(sentence: &str) -> String {
    let t: String = sentence.chars().filter(|c| !matches!(c, '*' | '#' | '`' | '_' | '~' | '>')).collect();
    let t = t.trim_start_matches(|c: char| c == '-' || c == '•' || c.is_whitespace());
    t.split_whitespace().filter(|w| !w.contains("://")).collect::<Vec<_>>().join(" ")
}
