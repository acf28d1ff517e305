//! Bearer authentication (an API key `pk_…` or a dashboard session `ses_…`) and the
//! role/tenant check every tenant route makes.

use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts};
use parley_store::audit::Event;
use parley_store::{ApiKey, Role, TenantScope};
use secrecy::{ExposeSecret, SecretString};

use super::{now_ms, ApiError, ApiState};

/// The authenticated caller: an API key or a signed-in user.
#[derive(Clone)]
pub struct Caller {
    /// Audit actor: `key:<id>` or `user:<id>`.
    actor: String,
    /// The tenant (none for operator keys).
    tenant_id: Option<String>,
    /// The role.
    role: Role,
    /// The session, when the caller is a signed-in user.
    pub session_id: Option<String>,
}

impl From<ApiKey> for Caller {
    fn from(k: ApiKey) -> Caller {
        Caller { actor: format!("key:{}", k.id), tenant_id: k.tenant_id, role: k.role, session_id: None }
    }
}

impl FromRequestParts<ApiState> for Caller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ApiError::Unauthorized)?;
        Caller::from_token(state, &SecretString::from(token.trim().to_string())).await
    }
}

impl Caller {
    /// The caller a token opens (an API key, or a session's token: the console's cookie
    /// holds one), or 401 with an operational event.
    pub async fn from_token(state: &ApiState, token: &SecretString) -> Result<Caller, ApiError> {
        if token.expose_secret().starts_with("ses_") {
            let Some(session) = state.store.platform().authenticate_session(token, now_ms()).await? else {
                return Err(refused(state, "session").await);
            };
            return Ok(Caller { actor: format!("user:{}", session.user_id), tenant_id: Some(session.tenant_id), role: session.role, session_id: Some(session.id) });
        }
        if token.expose_secret().starts_with("ops_") {
            let Some(session) = state.store.platform().authenticate_operator_session(token, now_ms()).await? else {
                return Err(refused(state, "operator_session").await);
            };
            return Ok(Caller { actor: format!("operator:{}", session.operator_id), tenant_id: None, role: Role::PlatformAdmin, session_id: Some(session.id) });
        }
        match state.store.platform().authenticate(token).await? {
            Some(key) => Ok(Caller::from(key)),
            None => Err(refused(state, "api_key").await),
        }
    }
}

/// A bearer token that opens nothing: an operational event (under `_platform`, as the token
/// names no tenant we can trust), then 401.
async fn refused(state: &ApiState, what: &str) -> ApiError {
    if let Err(e) = state.store.op_event("_platform", "auth.failed", 401, what, now_ms()).await {
        tracing::warn!(error = %e, "recording an operational event failed");
    }
    ApiError::Unauthorized
}

impl Caller {
    /// The audit actor: `key:<id>`, `user:<id>` or `operator:<id>`.
    pub fn actor(&self) -> String {
        self.actor.clone()
    }

    /// The caller's tenant (none for operator keys).
    pub fn tenant_id(&self) -> Option<&str> {
        self.tenant_id.as_deref()
    }

    /// The key's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Operator keys only.
    pub fn platform(&self) -> Result<(), ApiError> {
        if self.role == Role::PlatformAdmin {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }

    /// The tenant's scope, if this key may act on it with at least `min`. A tenant key asking
    /// for another tenant gets 404, as if it did not exist.
    pub async fn tenant(&self, state: &ApiState, tenant: &str, min: Role) -> Result<TenantScope, ApiError> {
        match (&self.tenant_id, self.role) {
            (_, Role::PlatformAdmin) => {
                let scope = state.store.tenant(tenant).map_err(|_| ApiError::NotFound)?;
                scope.get().await?;
                Ok(scope)
            }
            (Some(own), role) if own == tenant => {
                if role.includes(min) {
                    Ok(state.store.tenant(tenant)?)
                } else {
                    Err(ApiError::Forbidden)
                }
            }
            _ => Err(ApiError::NotFound),
        }
    }

    /// Appends this caller's action to the tenant's audit chain.
    pub async fn audit(&self, scope: &TenantScope, action: &str, object_id: &str) -> Result<(), ApiError> {
        scope.audit(&Event { actor: &self.actor(), action, object_id, at_ms: now_ms() }).await?;
        Ok(())
    }
}
