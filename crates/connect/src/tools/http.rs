//! `http.request`: a tool an agent declares itself. Its arguments are checked against the JSON
//! Schema the agent gives (a call that does not fit is not sent), then posted as JSON to the
//! URL of the tenant's `http` integration, signed with its secret as Parley's webhooks are
//! (`Parley-Signature: t=UNIX,v1=HEX(HMAC-SHA256(secret, "t." + body))`, see
//! [`crate::webhook::signature`]), through the operator's egress policy (no private addresses
//! unless allowed, no redirects). The endpoint answers 2xx with a JSON object: its `outcome`
//! (one the agent declares) is the outcome, `done` otherwise, and the object is the data.

use parley_agent::tools::{ArgsSchema, ToolOutcome};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

/// Longest answer read.
const MAX_ANSWER: usize = 64 * 1024;

/// One declared HTTP tool.
pub struct HttpTool {
    http: reqwest::Client,
    url: String,
    secret: SecretString,
    schema: ArgsSchema,
    outcomes: Vec<String>,
}

/// Why an HTTP tool failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpToolError {
    /// The arguments do not fit the schema (nothing was sent).
    #[error("the arguments do not fit the tool's schema")]
    Arguments,
    /// The schema is not one.
    #[error("the tool's schema is not a JSON Schema")]
    Schema,
    /// A status other than 2xx (redirects are not followed).
    #[error("the endpoint answered {0}")]
    Status(u16),
    /// No answer.
    #[error("the endpoint could not be reached")]
    Unreachable,
    /// Not a JSON object, or too long.
    #[error("the endpoint's answer is not a JSON object")]
    Malformed,
}

impl HttpTool {
    /// A tool posting to `url` (already checked by the egress policy) through `http`, signing
    /// with `secret`; `schema` its arguments' JSON Schema, `outcomes` those it may answer.
    pub fn new(http: reqwest::Client, url: &str, secret: SecretString, schema: &Value, outcomes: &[String]) -> Result<HttpTool, HttpToolError> {
        let schema = ArgsSchema::compile(schema).map_err(|_| HttpToolError::Schema)?;
        Ok(HttpTool { http, url: url.to_string(), secret, schema, outcomes: outcomes.to_vec() })
    }

    /// Runs it with `args` at unix time `now_unix` (for the signature).
    pub async fn run(&self, args: &Map<String, Value>, now_unix: i64) -> Result<ToolOutcome, HttpToolError> {
        let args = Value::Object(args.clone());
        if !self.schema.is_valid(&args) {
            return Err(HttpToolError::Arguments);
        }
        let body = serde_json::to_vec(&args).map_err(|_| HttpToolError::Arguments)?;
        let signature = crate::webhook::signature(self.secret.expose_secret().as_bytes(), now_unix, &body);
        let response = self.http.post(&self.url).header("Content-Type", "application/json").header("Parley-Signature", signature).body(body).send().await.map_err(|_| HttpToolError::Unreachable)?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(HttpToolError::Status(status));
        }
        let bytes = response.bytes().await.map_err(|_| HttpToolError::Malformed)?;
        if bytes.len() > MAX_ANSWER {
            return Err(HttpToolError::Malformed);
        }
        let data: Value = serde_json::from_slice(&bytes).map_err(|_| HttpToolError::Malformed)?;
        if !data.is_object() {
            return Err(HttpToolError::Malformed);
        }
        let outcome = data.get("outcome").and_then(Value::as_str).filter(|o| self.outcomes.iter().any(|x| x == o)).unwrap_or("done").to_string();
        Ok(ToolOutcome::Done { outcome, data })
    }
}
