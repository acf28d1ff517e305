//! The OpenAPI 3.1 document, generated from the handlers' annotations so it cannot drift from
//! what the server does (the suite checks the two agree with schemathesis).

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{agents, audit, calls, error, integrations, keys, kept, policy, subjects, tenants, usage, users};

#[derive(OpenApi)]
#[openapi(
    info(title = "Parley API", description = "Tenants, users, API keys, agents, numbers, integrations, data policies, usage, call metadata and the audit log of a Parley installation."),
    paths(tenants::create, tenants::list, tenants::get_one, keys::create, keys::list, keys::revoke, policy::get_one, policy::put, subjects::create, calls::list, calls::get_one,
        kept::transcript, kept::recording, users::invite, users::invitations, users::users, users::disable, users::accept, users::sign_in, users::sign_out,
        agents::list, agents::get_one, agents::put, agents::delete, agents::numbers, agents::add_number, agents::delete_number,
        integrations::list, integrations::create, integrations::get_one, integrations::delete, usage::usage, usage::limits, usage::put_limits, usage::op_events,
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

/// `GET /v1/openapi.json`.
pub async fn document() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(spec())
}
