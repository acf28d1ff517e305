//! Bearer-key authentication and the role/tenant check every tenant route makes.

use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts};
use parley_store::audit::Event;
use parley_store::{ApiKey, Role, TenantScope};
use secrecy::SecretString;

use super::{now_ms, ApiError, ApiState};

/// The authenticated caller.
pub struct Caller(pub ApiKey);

impl FromRequestParts<ApiState> for Caller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ApiError::Unauthorized)?;
        let key = state.store.platform().authenticate(&SecretString::from(token.trim().to_string())).await?;
        key.map(Caller).ok_or(ApiError::Unauthorized)
    }
}

impl Caller {
    /// The audit actor: `key:<id>`.
    pub fn actor(&self) -> String {
        format!("key:{}", self.0.id)
    }

    /// The key's role.
    pub fn role(&self) -> Role {
        self.0.role
    }

    /// Operator keys only.
    pub fn platform(&self) -> Result<(), ApiError> {
        if self.0.role == Role::PlatformAdmin {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }

    /// The tenant's scope, if this key may act on it with at least `min`. A tenant key asking
    /// for another tenant gets 404, as if it did not exist.
    pub async fn tenant(&self, state: &ApiState, tenant: &str, min: Role) -> Result<TenantScope, ApiError> {
        match (&self.0.tenant_id, self.0.role) {
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
