//! Tools a flow calls: what an agent declares ([`ToolDef`]), the operations Parley has
//! ([`CATALOGUE`]: their arguments and outcomes, so `parley agent check` catches a wrong one),
//! and the call and result the interpreter exchanges with whoever runs them
//! ([`ToolCall`], [`ToolResult`]). The interpreter never runs a tool: the call's driver does
//! (`parley_connect::tools`), concurrently with the audio.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A tool as an agent declares it.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ToolDef {
    /// The operation, `provider.operation` (see [`CATALOGUE`]).
    #[serde(rename = "use")]
    pub operation: String,
}

/// An operation Parley can run.
#[derive(Debug)]
pub struct Operation {
    /// `provider.operation`.
    pub name: &'static str,
    /// What it does.
    pub about: &'static str,
    /// Arguments it takes (a call passes some of them).
    pub args: &'static [&'static str],
    /// What each argument is, in the order of `args` (for a language model's function list).
    pub arg_about: &'static [&'static str],
    /// Arguments it needs at least one of.
    pub needs_one_of: &'static [&'static str],
    /// Outcomes it reports besides `error`.
    pub outcomes: &'static [&'static str],
}

/// The operations Parley has.
pub const CATALOGUE: &[Operation] = &[
    Operation {
        name: "sample_orders.find_order",
        about: "Finds an order in the sample store data shipped with Parley (orders 1001 to 1010), by its number or by the phone number on it.",
        args: &["number", "phone"],
        arg_about: &["The order number, digits only", "A phone number the order was placed with, to find the latest order on it"],
        needs_one_of: &["number", "phone"],
        outcomes: &["found", "not_found"],
    },
    Operation {
        name: "shopify.find_order",
        about: "Finds an order in the tenant's Shopify store, by its number or by the phone number of the customer (their latest order): status, items, tracking, balance, and the customer's last name and postcode for an identity check.",
        args: &["number", "phone"],
        arg_about: &["The order number, digits only", "The customer's phone number, to find their latest order"],
        needs_one_of: &["number", "phone"],
        outcomes: &["found", "not_found"],
    },
    Operation {
        name: "calendar.find_slots",
        about: "Finds free appointment times on a day in the tenant's calendar (its caldav integration), within the agent's opening hours: the time asked for if it is free, else the nearest free ones.",
        args: &["date", "time", "part", "minutes"],
        arg_about: &["The day, YYYY-MM-DD", "The time asked for, HH:MM (24 hours), if any", "morning, afternoon or evening, if said instead of a time", "The appointment's length in minutes (default 30)"],
        needs_one_of: &["date"],
        outcomes: &["free", "other_times", "full", "closed"],
    },
    Operation {
        name: "calendar.book",
        about: "Books an appointment at a free time find_slots gave, in the tenant's calendar; never over another booking.",
        args: &["start", "minutes", "name", "phone"],
        arg_about: &["The slot's start as find_slots gave it", "The appointment's length in minutes (default 30)", "The caller's name", "The caller's phone number"],
        needs_one_of: &["start"],
        outcomes: &["booked", "taken"],
    },
];

/// The operation named `name`.
pub fn operation(name: &str) -> Option<&'static Operation> {
    CATALOGUE.iter().find(|o| o.name == name)
}

/// A tool call the interpreter asks for.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolCall {
    /// Its number in this call (the result names it).
    pub id: u64,
    /// The tool's name in the agent.
    pub tool: String,
    /// The operation it uses.
    pub operation: String,
    /// Its arguments.
    pub args: Map<String, Value>,
}

/// What a tool did.
#[derive(Clone, Debug, PartialEq)]
pub enum ToolOutcome {
    /// It ran: an outcome word (`found`, `not_found`, `booked`...) and its data.
    Done {
        /// The outcome.
        outcome: String,
        /// What it returned (an object, saved under the node's `save_as`).
        data: Value,
    },
    /// It failed (unreachable, refused, too slow): a short reason for the record, never said
    /// to the caller as is.
    Failed(String),
}

/// The result of a [`ToolCall`].
#[derive(Clone, Debug, PartialEq)]
pub struct ToolResult {
    /// The call's id.
    pub id: u64,
    /// What happened.
    pub outcome: ToolOutcome,
}
