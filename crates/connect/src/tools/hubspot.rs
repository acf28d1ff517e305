//! `hubspot.add_note`: a note about the call on the caller's contact in the tenant's HubSpot.
//! The contact is found by phone number with the CRM search API
//! (`POST /crm/v3/objects/contacts/search`, a `filterGroups` filter `phone EQ`,
//! <https://developers.hubspot.com/docs/api/crm/search>), and the note created with its
//! association to the contact (`POST /crm/v3/objects/notes`, properties `hs_note_body` and
//! `hs_timestamp`, association type 202 note to contact,
//! <https://developers.hubspot.com/docs/api/crm/notes>). A private app's token is the Bearer
//! token. `429` (`errorType: RATE_LIMIT`) fails the tool.

use parley_agent::tools::ToolOutcome;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Map, Value};

/// HubSpot's API address.
pub const API_BASE: &str = "https://api.hubapi.com";

/// A HubSpot account.
pub struct HubSpot {
    http: reqwest::Client,
    base: String,
    token: SecretString,
}

/// Why a note could not be added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HubSpotError {
    /// The token was refused.
    #[error("hubspot refused the token ({0})")]
    Unauthorized(u16),
    /// Another status (429 included).
    #[error("hubspot answered {0}")]
    Status(u16),
    /// No answer.
    #[error("hubspot could not be reached")]
    Unreachable,
    /// An answer not understood.
    #[error("hubspot's answer was not understood")]
    Malformed,
}


impl HubSpot {
    /// The account behind `token`, at `base` (HubSpot's [`API_BASE`]).
    pub fn new(http: reqwest::Client, base: &str, token: SecretString) -> HubSpot {
        HubSpot { http, base: base.trim_end_matches('/').to_string(), token }
    }

    async fn post(&self, path: &str, body: &Value) -> Result<Value, HubSpotError> {
        let response = self.http.post(format!("{}{path}", self.base)).bearer_auth(self.token.expose_secret()).json(body).send().await.map_err(|_| HubSpotError::Unreachable)?;
        match response.status().as_u16() {
            200 | 201 => response.json().await.map_err(|_| HubSpotError::Malformed),
            s @ (401 | 403) => Err(HubSpotError::Unauthorized(s)),
            s => Err(HubSpotError::Status(s)),
        }
    }

    /// `add_note` with `phone` and `note`, at unix ms `now_ms`.
    pub async fn add_note(&self, args: &Map<String, Value>, now_ms: i64) -> Result<ToolOutcome, HubSpotError> {
        let phone = super::arg_text(args, "phone");
        if phone.chars().filter(char::is_ascii_digit).count() < 7 {
            return Ok(ToolOutcome::Done { outcome: "no_contact".into(), data: json!({}) });
        }
        let search = json!({"filterGroups": [{"filters": [{"propertyName": "phone", "operator": "EQ", "value": phone}]}], "properties": ["firstname", "lastname", "phone"], "limit": 1});
        let found = self.post("/crm/v3/objects/contacts/search", &search).await?;
        let Some(contact) = found.pointer("/results/0/id").and_then(Value::as_str).map(String::from) else {
            return Ok(ToolOutcome::Done { outcome: "no_contact".into(), data: json!({}) });
        };
        let at = jiff::Timestamp::from_millisecond(now_ms).map_err(|_| HubSpotError::Malformed)?;
        let note = json!({
            "properties": {"hs_note_body": super::arg_text(args, "note"), "hs_timestamp": at.to_string()},
            "associations": [{"to": {"id": contact}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 202}]}],
        });
        let created = self.post("/crm/v3/objects/notes", &note).await?;
        let id = created.get("id").and_then(Value::as_str).ok_or(HubSpotError::Malformed)?.to_string();
        let first = found.pointer("/results/0/properties/firstname").and_then(Value::as_str).unwrap_or_default();
        Ok(ToolOutcome::Done { outcome: "noted".into(), data: json!({"note": id, "contact": contact, "first_name": first, "summary": "note added to the caller's contact"}) })
    }
}
