//! Flow nodes: what an agent does, step by step. A flow is a list of nodes with unique ids;
//! the first runs after the greeting, and each names the node that follows it (`next`, or a
//! branch), or runs on into the node after it in the list.
//!
//! Texts are templates: `{business}`, `{caller}`, `{order.status}`, `{order.number|digits}`
//! (digits read one by one), `{amount|money}` (cents as said in the agent's currency); see
//! [`crate::vars`]. Conditions (`route`) compare a variable with a value: `order.balance_cents
//! > 0`, `order.status == 'shipped'`, or test that it is set: `order_number`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::spec::TransferMode;

mod check;
pub use check::{Problem, Problems};
pub(crate) use check::check;

/// One step of a flow, tagged by `type`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Node {
    /// Say something, then go on.
    Say {
        /// Node id.
        id: String,
        /// What is said (a template).
        text: String,
        /// The node after it (unset: the next in the list).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<String>,
    },
    /// Ask, and listen for an answer (speech or keypad).
    Gather(Gather),
    /// Go one way or another on a condition.
    Route {
        /// Node id.
        id: String,
        /// Tried in order; the first whose condition holds is taken.
        cases: Vec<Case>,
        /// Where to go when none holds.
        default: String,
    },
    /// Call one tool; go on by its outcome.
    Tool(ToolNode),
    /// A free conversation with the language model toward a goal, with tools it may call and
    /// exits it takes when the goal is met (or the caller wants something else).
    Llm(LlmNode),
    /// Set variables (templates).
    Set {
        /// Node id.
        id: String,
        /// Variable name to template.
        values: BTreeMap<String, String>,
        /// The node after it (unset: the next in the list).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<String>,
    },
    /// Go one way while the business is open (its `opening_hours`), another while closed.
    Hours {
        /// Node id.
        id: String,
        /// Where to go while open.
        open: String,
        /// Where to go while closed (a holiday, or outside the hours).
        closed: String,
    },
    /// Hand the caller to a person.
    Transfer {
        /// Node id.
        id: String,
        /// A `sip:`, `sips:` or `tel:` URI (unset: the agent's `transfer_to`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<String>,
        /// `blind` or `warm` (unset: the agent's `transfer_mode`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mode: Option<TransferMode>,
        /// What is said first.
        #[serde(default = "default_transfer_say")]
        say: String,
        /// Where to go when no one can take the call (unset: take a message).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        failed: Option<String>,
    },
    /// Take a message for the business: the caller's name, number, reason and a good time to
    /// call back, asked in one go.
    Message {
        /// Node id.
        id: String,
        /// The question.
        #[serde(default = "default_message_prompt")]
        prompt: String,
        /// What is said once it is taken.
        #[serde(default = "default_message_thanks")]
        thanks: String,
        /// The node after it (unset: the call ends).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<String>,
    },
    /// Take a card payment on the keypad (the agent never hears the card).
    Pay {
        /// Node id.
        id: String,
        /// The amount in cents (a template, such as `{order.balance_cents}`).
        amount_cents: String,
        /// What the payment is for, for the processor and the summary (a template).
        reference: String,
        /// Where to go once paid.
        paid: String,
        /// Where to go when declined, cancelled or unavailable.
        failed: String,
    },
    /// End the call.
    End {
        /// Node id.
        id: String,
        /// What is said last (a template; unset: a goodbye naming the business).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        say: Option<String>,
        /// How the call went.
        #[serde(default)]
        outcome: EndOutcome,
    },
}

fn default_transfer_say() -> String {
    "Let me put you through to a person. One moment, please.".into()
}

fn default_message_prompt() -> String {
    "I will take a message. Please say your name, your number, and your message.".into()
}

fn default_message_thanks() -> String {
    "Thank you. I have passed your message on to the {business} team, and someone will get back to you. Goodbye!".into()
}

/// How a call that reaches an `end` node went.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum EndOutcome {
    /// The caller got what they asked for.
    #[default]
    Resolved,
    /// The agent could not help.
    NotUnderstood,
}

/// A `route` case.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Case {
    /// The condition.
    pub when: String,
    /// Where to go when it holds.
    pub goto: String,
}

/// What a `gather` listens for.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Expect {
    /// One of the agent's intents; `routes` says where each goes.
    #[default]
    Intent,
    /// A number (spoken or typed), saved as `save_as`.
    Number,
    /// Yes or no; `routes` has `yes` and `no`.
    YesNo,
    /// Whatever the caller says, saved as `save_as`.
    Text,
    /// A day, and a time if one is said ("tomorrow at 3 pm", "Friday morning"), saved as
    /// `save_as` with `date` (`2026-12-04`), `time` (`15:00` or unset), `part` (`morning`...)
    /// and `spoken` ("Friday, December 4 at 3 PM"), at the business's time zone.
    Date,
}

/// A `gather` node.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Gather {
    /// Node id.
    pub id: String,
    /// The question (unset: the agent listens, for instance after the greeting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// What it listens for.
    #[serde(default)]
    pub expect: Expect,
    /// The intents it listens for (`expect: intent`; unset: those in `routes`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub intents: Vec<String>,
    /// Where each intent (or `yes`/`no`) goes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub routes: BTreeMap<String, String>,
    /// Keypad keys that stand for an intent (`"1": order_status`, `"#": pay`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub keys: BTreeMap<String, String>,
    /// A number said or typed on its own is this intent, and fills its number slot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_number: Option<String>,
    /// Digits a number has (`expect: number`, and `on_number`): typing stops at `max`.
    #[serde(default)]
    pub digits: Digits,
    /// The variable the answer is saved as (`expect: number` and `text`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub save_as: Option<String>,
    /// Where to go once answered (`expect: number` and `text`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// Said when nothing is heard (unset: the prompt again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_input: Option<String>,
    /// Said when the answer does not fit (unset: a generic "Sorry, I did not get that").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_match: Option<String>,
    /// How long to wait for an answer, ms, 1000 to 60000 (unset: the agent's
    /// `limits.no_input_ms`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1000, maximum = 60000))]
    pub timeout_ms: Option<u32>,
    /// Where to go after `max_retries` unanswered or unmatched tries (unset: the agent
    /// apologises and ends the call).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
    /// A hint for the recognizer (how answers are written, such as "order numbers like 1004").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// How many digits a number has.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Digits {
    /// Fewest digits (3 to 8).
    #[cfg_attr(feature = "openapi", schema(minimum = 3, maximum = 8))]
    pub min: u8,
    /// Most digits (3 to 8, at least `min`).
    #[cfg_attr(feature = "openapi", schema(minimum = 3, maximum = 8))]
    pub max: u8,
}

impl Default for Digits {
    fn default() -> Digits {
        Digits { min: 3, max: 8 }
    }
}

/// A `tool` node.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ToolNode {
    /// Node id.
    pub id: String,
    /// The tool (a name in the agent's `tools`).
    pub tool: String,
    /// Arguments, by name (templates).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub args: BTreeMap<String, String>,
    /// The variable the result's data is saved as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub save_as: Option<String>,
    /// Where each outcome (`found`, `not_found`, `booked`, ...) goes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub on: BTreeMap<String, String>,
    /// Where other outcomes go (unset: the next in the list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// Where a failed call goes, after the agent said so (unset: `next`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Said when the tool takes longer than `limits.filler_ms`.
    #[serde(default = "default_filler")]
    pub filler: String,
}

fn default_filler() -> String {
    "One moment, let me check.".into()
}

/// An `llm` node: the model talks with the caller until it takes one of the `exits`.
///
/// The model sees the agent's `instructions`, this node's `goal`, the business's hours and
/// the exits' conditions; what the caller says reaches it as the caller's words only, never as
/// instructions. It may call the tools listed here (with `fixed` arguments it cannot change,
/// such as `phone: "{caller}"`). What it says is spoken sentence by sentence as it is written;
/// a sentence stating a figure, a time or a status that no tool returned in this call is not
/// said (see `parley_agent::llm::guard`).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LlmNode {
    /// Node id.
    pub id: String,
    /// What the conversation is for, in a sentence or two (a template).
    pub goal: String,
    /// Said when the node starts (unset: the node listens; the caller speaks first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// Tools the model may call (names in the agent's `tools`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<String>,
    /// Arguments the flow sets and the model cannot: tool name to argument to template.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fixed: BTreeMap<String, BTreeMap<String, String>>,
    /// Ways out: a name (offered to the model as a function) to when it is taken and where it
    /// goes.
    pub exits: BTreeMap<String, LlmExit>,
    /// The most caller turns the node takes before `fallback` (1 to 100).
    #[serde(default = "default_llm_turns")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 100))]
    pub max_turns: u32,
    /// Where to go when the model fails, the call's token budget is spent or `max_turns` is
    /// reached (unset: the agent apologises and ends the call).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
    /// Said when the model (or a tool it called) takes longer than `limits.filler_ms`.
    #[serde(default = "default_llm_filler")]
    pub filler: String,
}

impl LlmNode {
    /// The exit whose intent the caller clearly asked for in `text`, if any: classified among
    /// all the agent's `intents`, so that a question about something else is not pushed into
    /// an exit.
    pub fn exit_heard<'a>(&'a self, intents: &crate::intent::IntentSet, text: &str) -> Option<(&'a str, &'a LlmExit)> {
        self.exits.values().any(|e| e.intent.is_some()).then_some(())?;
        let all: Vec<&str> = intents.names().collect();
        let heard = intents.classify(text, &all)?;
        self.exits.iter().find(|(_, e)| e.intent.as_deref() == Some(heard.intent.as_str())).map(|(name, e)| (name.as_str(), e))
    }
}

/// An `llm` node's way out.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LlmExit {
    /// When the model takes it ("the caller has no more questions"); without one (and with an
    /// `intent`) the model is not offered it.
    #[serde(default)]
    pub when: String,
    /// The node it goes to.
    pub goto: String,
    /// An intent of the agent (`person`, `goodbye`, or one it declares) that takes this exit
    /// at once when the intent engine hears it clearly, before the model is asked: faster, and
    /// surer than a small model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<String>,
}

fn default_llm_turns() -> u32 {
    20
}

fn default_llm_filler() -> String {
    "One moment.".into()
}

impl Gather {
    /// The intents a menu (`expect: intent`) listens for: its `intents`, or else those it routes.
    pub fn listens_for(&self) -> Vec<&str> {
        match self.intents.is_empty() {
            true => self.routes.keys().map(String::as_str).collect(),
            false => self.intents.iter().map(String::as_str).collect(),
        }
    }

    /// Whether intents `a` and `b` lead to the same node here (so they are no ambiguity).
    pub fn same_route(&self, a: &str, b: &str) -> bool {
        self.routes.contains_key(a) && self.routes.get(a) == self.routes.get(b)
    }
}

impl Node {
    /// The node's id.
    pub fn id(&self) -> &str {
        match self {
            Node::Say { id, .. } | Node::Route { id, .. } | Node::Set { id, .. } | Node::Hours { id, .. } | Node::Transfer { id, .. } | Node::Message { id, .. } | Node::Pay { id, .. } | Node::End { id, .. } => id,
            Node::Gather(g) => &g.id,
            Node::Tool(t) => &t.id,
            Node::Llm(n) => &n.id,
        }
    }

    /// The node's type, as written.
    pub fn kind(&self) -> &'static str {
        match self {
            Node::Say { .. } => "say",
            Node::Gather(_) => "gather",
            Node::Route { .. } => "route",
            Node::Tool(_) => "tool",
            Node::Llm(_) => "llm",
            Node::Set { .. } => "set",
            Node::Hours { .. } => "hours",
            Node::Transfer { .. } => "transfer",
            Node::Message { .. } => "message",
            Node::Pay { .. } => "pay",
            Node::End { .. } => "end",
        }
    }

    /// The nodes this one may go to by name.
    pub fn targets(&self) -> Vec<&str> {
        let mut t: Vec<&str> = Vec::new();
        match self {
            Node::Say { next, .. } | Node::Set { next, .. } | Node::Message { next, .. } => t.extend(next.as_deref()),
            Node::Gather(g) => {
                t.extend(g.next.as_deref());
                t.extend(g.failed.as_deref());
                t.extend(g.routes.values().map(String::as_str));
            }
            Node::Route { cases, default, .. } => {
                t.extend(cases.iter().map(|c| c.goto.as_str()));
                t.push(default);
            }
            Node::Tool(n) => {
                t.extend(n.next.as_deref());
                t.extend(n.error.as_deref());
                t.extend(n.on.values().map(String::as_str));
            }
            Node::Llm(n) => {
                t.extend(n.exits.values().map(|e| e.goto.as_str()));
                t.extend(n.fallback.as_deref());
            }
            Node::Hours { open, closed, .. } => t.extend([open.as_str(), closed.as_str()]),
            Node::Transfer { failed, .. } => t.extend(failed.as_deref()),
            Node::Pay { paid, failed, .. } => t.extend([paid.as_str(), failed.as_str()]),
            Node::End { .. } => {}
        }
        t
    }

    /// Whether the node runs on into the next one in the list when it names none.
    pub(crate) fn falls_through(&self) -> bool {
        match self {
            Node::Say { next, .. } | Node::Set { next, .. } => next.is_none(),
            Node::Gather(g) => g.next.is_none() && matches!(g.expect, Expect::Number | Expect::Text | Expect::Date),
            Node::Tool(n) => n.next.is_none(),
            _ => false,
        }
    }
}

/// The flow an agent without one gets: it answers questions about the opening hours, hands
/// the caller to a person (or takes a message) and says goodbye.
pub fn receptionist() -> Vec<Node> {
    let menu = |id: &str, prompt: Option<&str>| {
        Node::Gather(Gather {
            id: id.into(),
            prompt: prompt.map(String::from),
            expect: Expect::Intent,
            intents: Vec::new(),
            routes: [("hours", "hours"), ("person", "person"), ("goodbye", "goodbye"), ("no", "goodbye"), ("yes", "what")].into_iter().map(|(a, b)| (a.to_string(), b.to_string())).collect(),
            keys: BTreeMap::new(),
            on_number: None,
            digits: Digits::default(),
            save_as: None,
            next: None,
            no_input: None,
            no_match: Some("Sorry, I did not understand that. I can tell you our opening hours, or put you through to a person.".into()),
            timeout_ms: None,
            failed: None,
            hint: None,
        })
    };
    vec![
        menu("menu", None),
        Node::Say { id: "hours".into(), text: "{hours}".into(), next: Some("anything_else".into()) },
        Node::Say { id: "what".into(), text: "What can I help you with? I can tell you our opening hours, or put you through to a person.".into(), next: Some("menu".into()) },
        menu("anything_else", Some("Is there anything else I can help you with?")),
        Node::Transfer { id: "person".into(), to: None, mode: None, say: default_transfer_say(), failed: None },
        Node::End { id: "goodbye".into(), say: None, outcome: EndOutcome::Resolved },
    ]
}
