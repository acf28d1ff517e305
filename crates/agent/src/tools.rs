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
    /// `http.request` only: the tenant's `http` integration, by name, whose `url` the call is
    /// posted to and whose secret signs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration: Option<String>,
    /// `http.request` only: a JSON Schema (an object with `properties`) its arguments must
    /// fit; a call whose arguments do not fit is not sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub args: Option<Value>,
    /// `http.request` only: the outcomes the endpoint answers with (its answer's `outcome`);
    /// any other answer is `done`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outcomes: Vec<String>,
}

impl ToolDef {
    /// The arguments it takes: the operation's, or for `http.request` its schema's properties.
    pub fn arg_names(&self) -> Vec<String> {
        match (self.operation.as_str(), &self.args) {
            (HTTP_REQUEST, Some(schema)) => schema.get("properties").and_then(Value::as_object).map(|p| p.keys().cloned().collect()).unwrap_or_default(),
            (HTTP_REQUEST, None) => Vec::new(),
            (op, _) => operation(op).map(|o| o.args.iter().map(|a| a.to_string()).collect()).unwrap_or_default(),
        }
    }

    /// The outcomes it reports besides `error`.
    pub fn outcome_names(&self) -> Vec<String> {
        match self.operation.as_str() {
            HTTP_REQUEST => std::iter::once("done".to_string()).chain(self.outcomes.iter().cloned()).collect(),
            op => operation(op).map(|o| o.outcomes.iter().map(|a| a.to_string()).collect()).unwrap_or_default(),
        }
    }

    /// Why its declaration cannot be used, if it cannot (an `http.request` without its
    /// integration or with a schema that is not one).
    pub fn problem(&self) -> Option<String> {
        if self.operation != HTTP_REQUEST {
            return (self.integration.is_some() || self.args.is_some() || !self.outcomes.is_empty()).then(|| "integration, args and outcomes are for http.request tools".to_string());
        }
        if self.integration.as_deref().is_none_or(|i| i.trim().is_empty()) {
            return Some("an http.request tool names its http integration".into());
        }
        let schema = self.args.clone().unwrap_or_else(|| serde_json::json!({"type": "object", "properties": {}}));
        if schema.get("type").and_then(Value::as_str) != Some("object") {
            return Some("args: a JSON Schema of type object".into());
        }
        if let Err(e) = ArgsSchema::compile(&schema) {
            return Some(format!("args: not a valid JSON Schema ({e})"));
        }
        self.outcomes.iter().find(|o| o.is_empty() || !o.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')).map(|o| format!("outcome `{o}`: letters, digits and _"))
    }
}

/// The generic operation: a signed HTTPS request to the tenant's own endpoint.
pub const HTTP_REQUEST: &str = "http.request";

/// An `http.request` tool's arguments schema, compiled: JSON Schema 2020-12 unless it names
/// another draft in `$schema`. A `$ref` reaches only into the schema itself (and the drafts'
/// own meta-schemas): nothing a tenant writes makes Parley read a file or fetch a URL.
pub struct ArgsSchema {
    schemas: boon::Schemas,
    index: boon::SchemaIndex,
}

impl ArgsSchema {
    /// Compiles `schema`; the error says why it is not a JSON Schema.
    pub fn compile(schema: &Value) -> Result<ArgsSchema, String> {
        const LOCATION: &str = "https://parley.invalid/tool-args.json";
        let mut compiler = boon::Compiler::new();
        compiler.use_loader(Box::new(boon::SchemeUrlLoader::new()));
        let mut schemas = boon::Schemas::new();
        compiler.add_resource(LOCATION, schema.clone()).map_err(|e| e.to_string())?;
        let index = compiler.compile(LOCATION, &mut schemas).map_err(|e| e.to_string())?;
        Ok(ArgsSchema { schemas, index })
    }

    /// Whether `value` fits.
    pub fn is_valid(&self, value: &Value) -> bool {
        self.schemas.validate(value, self.index).is_ok()
    }
}

impl std::fmt::Debug for ArgsSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ArgsSchema")
    }
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
        // Said to the model as the function's description: it invites no made-up number (a
        // range here had a small model pass its first value for any question).
        about: "Looks up an order the caller placed (its status, items, tracking), by its order number or by their phone number, in the sample store data shipped with Parley. Only for questions about their order.",
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
        name: HTTP_REQUEST,
        about: "Posts its arguments (checked against the tool's JSON Schema) as JSON to the tenant's own HTTPS endpoint, signed like Parley's webhooks (Parley-Signature: t=..., v1=HMAC-SHA256); the endpoint's JSON answer is the result, its `outcome` field the outcome.",
        args: &[],
        arg_about: &[],
        needs_one_of: &[],
        outcomes: &["done"],
    },
    Operation {
        name: "zendesk.create_ticket",
        about: "Opens a ticket in the tenant's Zendesk with what the caller needs, for the support team to follow up: returns the ticket number.",
        args: &["subject", "description", "name", "phone"],
        arg_about: &["A short subject", "What the caller needs, in a few sentences", "The caller's name", "The caller's phone number"],
        needs_one_of: &["description"],
        outcomes: &["created"],
    },
    Operation {
        name: "hubspot.add_note",
        about: "Adds a note about this call to the caller's contact in the tenant's HubSpot (found by phone number).",
        args: &["phone", "note"],
        arg_about: &["The caller's phone number", "The note"],
        needs_one_of: &["note"],
        outcomes: &["noted", "no_contact"],
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

#[cfg(test)]
mod tests {
    use super::ArgsSchema;
    use serde_json::json;

    #[test]
    fn an_args_schema_checks_arguments() {
        let schema = ArgsSchema::compile(&json!({"type": "object", "properties": {"account": {"type": "string", "pattern": "^A-[0-9]{4}$"}}, "required": ["account"], "$defs": {"n": {"type": "integer"}}})).unwrap();
        assert!(schema.is_valid(&json!({"account": "A-1001"})));
        assert!(!schema.is_valid(&json!({"account": "B-1001"})));
        assert!(!schema.is_valid(&json!({})));
        let with_ref = ArgsSchema::compile(&json!({"type": "object", "properties": {"n": {"$ref": "#/$defs/n"}}, "$defs": {"n": {"type": "integer"}}})).unwrap();
        assert!(with_ref.is_valid(&json!({"n": 3})) && !with_ref.is_valid(&json!({"n": "3"})));
        assert!(ArgsSchema::compile(&json!({"type": "object", "required": 5})).is_err());
    }

    #[test]
    fn a_ref_reads_no_file_and_fetches_no_url() {
        let path = std::env::temp_dir().join(format!("parley-args-schema-{}.json", std::process::id()));
        std::fs::write(&path, r#"{"type": "integer"}"#).unwrap();
        let file_ref = ArgsSchema::compile(&json!({"type": "object", "properties": {"n": {"$ref": format!("file://{}", path.display())}}}));
        std::fs::remove_file(&path).unwrap();
        assert!(file_ref.is_err(), "a schema naming a local file is refused");
        assert!(ArgsSchema::compile(&json!({"type": "object", "properties": {"n": {"$ref": "http://127.0.0.1:9/n.json"}}})).is_err());
        assert!(ArgsSchema::compile(&json!({"type": "object", "properties": {"n": {"$ref": "other.json"}}})).is_err());
    }
}
