//! Shared by the tool tests: arguments from JSON, and a tool's outcome and data.
#![allow(dead_code)] // each test uses what it needs

use parley_agent::tools::ToolOutcome;
use serde_json::{Map, Value};

/// A JSON object as a call's arguments.
pub fn args(v: Value) -> Map<String, Value> {
    v.as_object().expect("an object").clone()
}

/// A tool that ran: its outcome and data.
pub fn done(o: ToolOutcome) -> (String, Value) {
    match o {
        ToolOutcome::Done { outcome, data } => (outcome, data),
        other => panic!("{other:?}"),
    }
}
