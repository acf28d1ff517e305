//! `/v1/tenants/{tenant}/data-subject-requests`: access and portability (export with a signed
//! manifest), correction, deletion and restriction, by the caller's phone number. The number is only hashed (with the
//! installation's key, as the call path does) and never stored or logged; each request is
//! audited under the hash.

use axum::extract::State;
use parley_store::privacy::{caller_hash, mask_number};
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
    /// Correct the number their records are filed under (`corrected_phone`).
    Correct,
}

/// A data-subject request: `kind` and the subject's phone number as callers present it
/// (`+15550100004`); a correction also gives the right number.
#[derive(Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum SubjectRequest {
    /// A copy of everything stored about them (also serves portability).
    Access {
        /// Their number.
        #[schema(pattern = "^[+]?[0-9]{3,20}$")]
        phone: String,
    },
    /// Delete everything stored about them.
    Delete {
        /// Their number.
        #[schema(pattern = "^[+]?[0-9]{3,20}$")]
        phone: String,
    },
    /// Keep answering their calls, but store and deliver nothing about them.
    Restrict {
        /// Their number.
        #[schema(pattern = "^[+]?[0-9]{3,20}$")]
        phone: String,
    },
    /// Lift a restriction.
    Unrestrict {
        /// Their number.
        #[schema(pattern = "^[+]?[0-9]{3,20}$")]
        phone: String,
    },
    /// Re-file what is stored under their number under the right one.
    Correct {
        /// The number records are filed under now.
        #[schema(pattern = "^[+]?[0-9]{3,20}$")]
        phone: String,
        /// The right number.
        #[schema(pattern = "^[+]?[0-9]{3,20}$")]
        corrected_phone: String,
    },
}

impl SubjectRequest {
    fn kind(&self) -> RequestKind {
        match self {
            SubjectRequest::Access { .. } => RequestKind::Access,
            SubjectRequest::Delete { .. } => RequestKind::Delete,
            SubjectRequest::Restrict { .. } => RequestKind::Restrict,
            SubjectRequest::Unrestrict { .. } => RequestKind::Unrestrict,
            SubjectRequest::Correct { .. } => RequestKind::Correct,
        }
    }

    fn phone(&self) -> &str {
        match self {
            SubjectRequest::Access { phone }
            | SubjectRequest::Delete { phone }
            | SubjectRequest::Restrict { phone }
            | SubjectRequest::Unrestrict { phone }
            | SubjectRequest::Correct { phone, .. } => phone,
        }
    }
}

/// A transcript kept under the tenant's policy, in the export.
#[derive(Serialize, ToSchema)]
pub struct ExportedTranscript {
    /// The call.
    pub call_id: String,
    /// The transcript text.
    pub text: String,
}

/// Signature over the export, so the subject can show it came from this installation.
#[derive(Serialize, ToSchema)]
pub struct Manifest {
    /// SHA-256 of `{"calls": …, "transcripts": …}` as compact JSON with object keys sorted, hex.
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
    /// Access: transcripts kept under the tenant's policy (none by default).
    pub transcripts: Option<Vec<ExportedTranscript>>,
    /// Access: the signed manifest.
    pub manifest: Option<Manifest>,
    /// Delete: call records removed.
    pub calls_deleted: Option<u64>,
    /// Delete: undelivered documents shredded.
    pub documents_shredded: Option<u64>,
    /// Delete: kept transcripts and recordings shredded.
    pub artifacts_shredded: Option<u64>,
    /// Correct: call records re-filed under the corrected number.
    pub calls_corrected: Option<u64>,
    /// Whether processing is now restricted.
    pub restricted: bool,
}

#[utoipa::path(post, path = "/v1/tenants/{tenant}/data-subject-requests", tag = "data-subjects", request_body = SubjectRequest,
    security(("bearer" = [])), params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, body = SubjectResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// Carries out a data-subject request (access: admin; correction, deletion and restriction: owner).
pub async fn create(State(s): State<ApiState>, caller: Caller, Path(tenant): Path<String>, Json(req): Json<SubjectRequest>) -> Result<axum::Json<SubjectResult>, ApiError> {
    let kind = req.kind();
    let min = if kind == RequestKind::Access { Role::Admin } else { Role::Owner };
    let scope = caller.tenant(&s, &tenant, min).await?;
    check_phone(req.phone())?;
    let hash = caller_hash(&s.hash_key, scope.id(), req.phone());
    let object = format!("caller:{hash}");
    let mut result = SubjectResult {
        kind,
        caller_hash: hash.clone(),
        calls: None,
        transcripts: None,
        manifest: None,
        calls_deleted: None,
        documents_shredded: None,
        artifacts_shredded: None,
        calls_corrected: None,
        restricted: false,
    };
    match &req {
        SubjectRequest::Access { .. } => {
            let records = scope.calls_of_caller(&hash).await?;
            let mut transcripts = Vec::new();
            for r in &records {
                match scope.open_artifact(&s.master, &r.id, "transcript").await {
                    Ok((_, text)) => transcripts.push(ExportedTranscript { call_id: r.id.clone(), text: String::from_utf8_lossy(&text).into_owned() }),
                    Err(parley_store::StoreError::NotFound) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            let calls: Vec<CallView> = records.into_iter().map(Into::into).collect();
            // Canonical form: compact JSON with object keys sorted (serde_json's Value map).
            let value = serde_json::json!({"calls": &calls, "transcripts": &transcripts});
            let body = serde_json::to_vec(&value).map_err(|_| ApiError::Internal)?;
            let sha256 = hex::encode(Sha256::digest(&body));
            let signed_ms = now_ms();
            let message = format!("parley/dsr-export/v1|{}|{hash}|{signed_ms}|{sha256}", scope.id());
            result.manifest = Some(Manifest { sha256, signed_ms, public_key: s.signer.public_key_hex(), signature: s.signer.sign_hex(message.as_bytes()) });
            result.calls = Some(calls);
            result.transcripts = Some(transcripts);
            caller.audit(&scope, "data_subject.access", &object).await?;
        }
        SubjectRequest::Delete { .. } => {
            let erased = scope.erase_caller(&hash).await?;
            result.calls_deleted = Some(erased.calls);
            result.documents_shredded = Some(erased.documents);
            result.artifacts_shredded = Some(erased.artifacts);
            caller.audit(&scope, "data_subject.delete", &object).await?;
        }
        SubjectRequest::Correct { corrected_phone: to, .. } => {
            check_phone(to)?;
            let to_hash = caller_hash(&s.hash_key, scope.id(), to);
            result.calls_corrected = Some(scope.correct_caller(&hash, &mask_number(to), &to_hash).await?);
            caller.audit(&scope, "data_subject.correct", &object).await?;
        }
        SubjectRequest::Restrict { .. } | SubjectRequest::Unrestrict { .. } => {
            scope.restrict_caller(&hash, kind == RequestKind::Restrict, now_ms()).await?;
            caller.audit(&scope, if kind == RequestKind::Restrict { "data_subject.restrict" } else { "data_subject.unrestrict" }, &object).await?;
        }
    }
    result.restricted = scope.is_restricted(&hash).await?;
    Ok(axum::Json(result))
}

fn check_phone(p: &str) -> Result<(), ApiError> {
    let digits = p.strip_prefix('+').unwrap_or(p);
    if !(3..=20).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::BadRequest("phone numbers must be 3 to 20 digits, optionally after +".into()));
    }
    Ok(())
}
