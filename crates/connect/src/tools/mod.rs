//! Running the tools an agent's flow calls ([`parley_agent::tools::ToolCall`] in,
//! [`parley_agent::tools::ToolResult`] out). Each provider is its own module behind
//! [`ToolRunner`]; the call's driver runs tools concurrently with the audio and hands the
//! result back to the interpreter.

use std::future::Future;
use std::pin::Pin;

use parley_agent::tools::{ToolCall, ToolOutcome, ToolResult};

pub mod sample_orders;

/// A boxed tool future.
pub type ToolFuture = Pin<Box<dyn Future<Output = ToolResult> + Send>>;

/// Runs tool calls (one tenant's, with its integrations).
pub trait ToolRunner: Send + Sync {
    /// Runs `call`.
    fn run(&self, call: ToolCall) -> ToolFuture;
}

/// The operations that need nothing of the tenant: the sample data shipped with Parley. Any
/// other operation fails with a reason (`not available`).
#[derive(Clone, Debug, Default)]
pub struct BuiltInTools;

impl ToolRunner for BuiltInTools {
    fn run(&self, call: ToolCall) -> ToolFuture {
        let result = run_built_in(&call).unwrap_or_else(|| failed(&call, "not available"));
        Box::pin(std::future::ready(result))
    }
}

/// Runs `call` if it is a built-in operation.
pub fn run_built_in(call: &ToolCall) -> Option<ToolResult> {
    match call.operation.as_str() {
        "sample_orders.find_order" => Some(ToolResult { id: call.id, outcome: sample_orders::find_order(&call.args) }),
        _ => None,
    }
}

/// A failed result for `call`.
pub fn failed(call: &ToolCall, reason: &str) -> ToolResult {
    ToolResult { id: call.id, outcome: ToolOutcome::Failed(reason.to_string()) }
}
