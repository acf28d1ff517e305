//! The OpenAPI 3.1 document, generated from the handlers' annotations so it cannot drift from
//! what the server does (the suite checks the two agree with schemathesis).

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{agent_versions, agents, audit, calls, error, integrations, keys, kept, operators, outbound, policy, subjects, tenants, trunks, usage, users};

#[derive(OpenApi)]
#[openapi(
    info(title = "Parley API", description = "Tenants, users, API keys, agents, numbers, trunks, gateways and outbound calls, integrations, data policies, usage, call metadata and the audit log of a Parley installation."),
    paths(tenants::create, tenants::list, tenants::get_one, keys::create, keys::list, keys::revoke, policy::get_one, policy::put, subjects::create, calls::list, calls::get_one, calls::latency,
        kept::transcript, kept::recording, users::invite, users::invitations, users::users, users::disable, users::accept, users::sign_in, users::sign_out, operators::sign_in,
        agents::list, agents::get_one, agents::put, agents::delete, agent_versions::list, agent_versions::get_one, agent_versions::restore, agents::numbers, agents::add_number, agents::delete_number,
        integrations::list, integrations::create, integrations::get_one, integrations::delete, trunks::list, trunks::create, trunks::delete,
        outbound::get_policy, outbound::put_policy, outbound::list_gateways, outbound::create_gateway, outbound::delete_gateway, outbound::place_call, usage::usage, usage::limits, usage::put_limits, usage::op_events,
        audit::entries, audit::heads),
    components(schemas(error::ErrorBody, error::ErrorDetail)),
    modifiers(&BearerAuth),
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// The document.
pub fn spec() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The document for an installation whose retention ceiling is `max_days`: the data policy's
/// day fields say that maximum (365 unless the operator raised it).
pub fn spec_with_ceiling(max_days: i64) -> serde_json::Value {
    let mut doc = serde_json::to_value(spec()).unwrap_or_default();
    if let Some(props) = doc.pointer_mut("/components/schemas/PolicyView/properties").and_then(|p| p.as_object_mut()) {
        for field in ["recording_days", "transcript_days", "call_metadata_days", "operational_log_days"] {
            if let Some(f) = props.get_mut(field).and_then(|f| f.as_object_mut()) {
                f.insert("maximum".into(), max_days.into());
            }
        }
    }
    doc
}

/// `GET /v1/openapi.json`.
pub async fn document(axum::extract::State(s): axum::extract::State<super::ApiState>) -> axum::Json<serde_json::Value> {
    axum::Json(spec_with_ceiling(s.max_retention_days))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_maximum_follows_the_ceiling() {
        let doc = spec_with_ceiling(730);
        let props = &doc["components"]["schemas"]["PolicyView"]["properties"];
        for field in ["recording_days", "transcript_days", "call_metadata_days", "operational_log_days"] {
            assert_eq!(props[field]["maximum"], 730, "{field}");
        }
        assert_eq!(spec_with_ceiling(365)["components"]["schemas"]["PolicyView"]["properties"]["recording_days"]["maximum"], 365);
    }
}
