//! `/v1/tenants/{tenant}/data-subject-requests`: access (export with a signed manifest),
//! deletion and restriction, by the caller's phone number. The number is only hashed (with the
//! installation's key, as the call path does) and never stored or logged; each request is
//! audited under the hash.

use axum::extract::State;
use parley_store::privacy::hash_number;
use parley_store::Role;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::auth::Caller;
use super::calls::CallView;
use super::error::ErrorBody;
use super::extract::{Json, Path};
use super::{now_ms, ApiError, ApiState};

/// What the data subject asks for.
#[derive(Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RequestKind {
    /// A copy of everything stored about them (also serves portability).
    Access,
    /// Delete everything stored about them.
    Delete,
    /// Keep answering their calls, but store and deliver nothing about them.
    Restrict,
    /// Lift a restriction.
    Unrestrict,
}

/// A data-subject request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubjectRequest {
    /// What they ask for.
    pub kind: RequestKind,
    /// Their phone number as callers present it (`+15550100004`).
    #[schema(pattern = "^[+]?[0-9]{3,20}$")]
    pub phone: String,
}

/// Signature over the export, so the subject can show it came from this installation.
#[derive(Serialize, ToSchema)]
pub struct Manifest {
    /// SHA-256 of `calls` as compact JSON with object keys sorted, hex.
    pub sha256: String,
    /// Signing time, unix ms.
    pub signed_ms: i64,
    /// ed25519 public key, hex.
    pub public_key: String,
    /// ed25519 signature over `parley/dsr-export/v1|<tenant>|<caller_hash>|<signed_ms>|<sha256>`, hex.
    pub signature: String,
}

/// What was done.
#[derive(Serialize, ToSchema)]
pub struct SubjectResult {
    /// The request kind.
    pub kind: RequestKind,
    /// The keyed hash the records carry.
    pub caller_hash: String,
    /// Access: the records.
    pub calls: Option<Vec<CallView>>,
    /// Access: the signed manifest.
    pub manifest: Option<Manifest>,
    /// Delete: call records removed.
    pub calls_deleted: Option<u64>,
    /// Delete: undelivered documents shredded.
    pub documents_shredded: Option<u64>,
    /// Whether processing is now restricted.
    pub restricted: bool,
}

#[utoipa::path(post, path = "/v1/tenants/{tenant}/data-subject-requests", tag = "data-subjects", request_body = SubjectRequest,
    security(("bearer" = [])), params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, body = SubjectResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// Carries out a data-subject request (access: admin; delete and restriction: owner).
pub async fn create(State(s): State<ApiState>, caller: Caller, Path(tenant): Path<String>, Json(req): Json<SubjectRequest>) -> Result<axum::Json<SubjectResult>, ApiError> {
    let min = if req.kind == RequestKind::Access { Role::Admin } else { Role::Owner };
    let scope = caller.tenant(&s, &tenant, min).await?;
    let digits = req.phone.strip_prefix('+').unwrap_or(&req.phone);
    if !(3..=20).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::BadRequest("phone must be 3 to 20 digits, optionally after +".into()));
    }
    let hash = hash_number(&s.hash_key, &req.phone);
    let object = format!("caller:{hash}");
    let mut result = SubjectResult { kind: req.kind, caller_hash: hash.clone(), calls: None, manifest: None, calls_deleted: None, documents_shredded: None, restricted: false };
    match req.kind {
        RequestKind::Access => {
            let calls: Vec<CallView> = scope.calls_of_caller(&hash).await?.into_iter().map(Into::into).collect();
            // Canonical form: compact JSON with object keys sorted (serde_json's Value map).
            let value = serde_json::to_value(&calls).map_err(|_| ApiError::Internal)?;
            let body = serde_json::to_vec(&value).map_err(|_| ApiError::Internal)?;
            let sha256 = hex::encode(Sha256::digest(&body));
            let signed_ms = now_ms();
            let message = format!("parley/dsr-export/v1|{}|{hash}|{signed_ms}|{sha256}", scope.id());
            result.manifest = Some(Manifest { sha256, signed_ms, public_key: s.signer.public_key_hex(), signature: s.signer.sign_hex(message.as_bytes()) });
            result.calls = Some(calls);
            caller.audit(&scope, "data_subject.access", &object).await?;
        }
        RequestKind::Delete => {
            let erased = scope.erase_caller(&hash).await?;
            result.calls_deleted = Some(erased.calls);
            result.documents_shredded = Some(erased.documents);
            caller.audit(&scope, "data_subject.delete", &object).await?;
        }
        RequestKind::Restrict | RequestKind::Unrestrict => {
            scope.restrict_caller(&hash, req.kind == RequestKind::Restrict, now_ms()).await?;
            caller.audit(&scope, if req.kind == RequestKind::Restrict { "data_subject.restrict" } else { "data_subject.unrestrict" }, &object).await?;
        }
    }
    result.restricted = scope.is_restricted(&hash).await?;
    Ok(axum::Json(result))
}
