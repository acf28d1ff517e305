//! Running the tools an agent's flow calls ([`parley_agent::tools::ToolCall`] in,
//! [`parley_agent::tools::ToolResult`] out). Each provider is its own module behind
//! [`ToolRunner`]; the call's driver runs tools concurrently with the audio and hands the
//! result back to the interpreter.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use parley_agent::tools::{ToolCall, ToolOutcome, ToolResult};

pub mod caldav;
pub mod google_calendar;
pub mod calendar;
pub mod http;
pub mod hubspot;
pub mod sample_orders;
pub mod shopify;
pub mod zendesk;

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

/// An argument as text (a number as its digits; unset or null: empty), trimmed.
pub(crate) fn arg_text(args: &serde_json::Map<String, serde_json::Value>, name: &str) -> String {
    args.get(name).filter(|v| !v.is_null()).map(|v| v.as_str().map_or_else(|| v.to_string(), String::from)).unwrap_or_default().trim().to_string()
}

/// A failed result for `call`.
pub fn failed(call: &ToolCall, reason: &str) -> ToolResult {
    ToolResult { id: call.id, outcome: ToolOutcome::Failed(reason.to_string()) }
}

/// One tenant's tools: the built-in ones, and those of the integrations it has (and its data
/// policy allows). An operation whose integration is missing fails with that reason.
#[derive(Clone, Default)]
pub struct TenantTools {
    /// The tenant's Shopify store.
    pub shopify: Option<Arc<shopify::Shopify>>,
    /// The tenant's appointment calendar, bounded by the agent's opening hours.
    pub calendar: Option<Arc<calendar::Calendar>>,
    /// The tenant's Zendesk.
    pub zendesk: Option<Arc<zendesk::Zendesk>>,
    /// The tenant's HubSpot.
    pub hubspot: Option<Arc<hubspot::HubSpot>>,
    /// The agent's own `http.request` tools, by tool name.
    pub http: std::collections::HashMap<String, Arc<http::HttpTool>>,
}

impl ToolRunner for TenantTools {
    fn run(&self, call: ToolCall) -> ToolFuture {
        if let Some(result) = run_built_in(&call) {
            return Box::pin(std::future::ready(result));
        }
        let this = self.clone();
        Box::pin(async move {
            let now = jiff::Timestamp::now();
            let done = |r: Result<ToolOutcome, String>| match r {
                Ok(outcome) => ToolResult { id: call.id, outcome },
                Err(e) => failed(&call, &e),
            };
            match call.operation.as_str() {
                "shopify.find_order" => match &this.shopify {
                    Some(shop) => done(shop.find_order(&call.args).await.map_err(|e| e.to_string())),
                    None => failed(&call, "no usable shopify integration"),
                },
                "zendesk.create_ticket" => match &this.zendesk {
                    Some(z) => done(z.create_ticket(&call.args).await.map_err(|e| e.to_string())),
                    None => failed(&call, "no usable zendesk integration"),
                },
                "hubspot.add_note" => match &this.hubspot {
                    Some(h) => done(h.add_note(&call.args, now.as_millisecond()).await.map_err(|e| e.to_string())),
                    None => failed(&call, "no usable hubspot integration"),
                },
                parley_agent::tools::HTTP_REQUEST => match this.http.get(&call.tool) {
                    Some(h) => done(h.run(&call.args, now.as_second()).await.map_err(|e| e.to_string())),
                    None => failed(&call, "no usable http integration"),
                },
                "calendar.find_slots" | "calendar.book" => match &this.calendar {
                    Some(cal) if call.operation == "calendar.book" => done(cal.book(&call.args, now).await.map_err(|e| e.to_string())),
                    Some(cal) => done(cal.find_slots(&call.args, now).await.map_err(|e| e.to_string())),
                    None => failed(&call, "no usable calendar integration"),
                },
                _ => failed(&call, "not available"),
            }
        })
    }
}
