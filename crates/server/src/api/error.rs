//! API errors: a status code and `{"error": {"code", "message"}}`. Database failures are
//! logged and answered with a generic 500 (no internals leak to the caller).

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use parley_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No or bad credentials.
    #[error("a valid API key is required (Authorization: Bearer pk_...)")]
    Unauthorized,
    /// The key's role is not enough.
    #[error("this API key's role may not do that")]
    Forbidden,
    /// No such object for this key.
    #[error("not found")]
    NotFound,
    /// Already exists.
    #[error("already exists")]
    Conflict,
    /// The request conflicts with the state of another object (it names one that does not exist).
    #[error("{0}")]
    ConflictWith(String),
    /// Bad input.
    #[error("{0}")]
    BadRequest(String),
    /// Not allowed by a policy (outbound calling off, a number outside the allowed prefixes).
    #[error("{0}")]
    NotAllowed(String),
    /// Over a pace or concurrency limit: try again later.
    #[error("{0}")]
    TooMany(String),
    /// The body is over the size limit.
    #[error("the request body is too large")]
    TooLarge,
    /// Too many password attempts: wait this many seconds.
    #[error("too many attempts; try again in {0} s")]
    Throttled(u64),
    /// The node takes no new work now.
    #[error("{0}")]
    Unavailable(String),
    /// Our fault.
    #[error("internal error")]
    Internal,
}

/// The error body.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Machine-readable code: `unauthorized`, `forbidden`, `not_found`, `conflict`, `bad_request`, `not_allowed`, `too_many`, `unavailable`, `internal`.
    pub code: String,
    /// Human-readable message.
    pub message: String,
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::NotFound => ApiError::NotFound,
            StoreError::Conflict => ApiError::Conflict,
            StoreError::InvalidTenantId(_) | StoreError::Invalid(_) => ApiError::BadRequest(e.to_string()),
            StoreError::Busy => ApiError::Unavailable("busy; try again shortly".into()),
            other => {
                tracing::error!(error = %other, "store error");
                ApiError::Internal
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = match self {
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict | ApiError::ConflictWith(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            ApiError::NotAllowed(_) => (StatusCode::FORBIDDEN, "not_allowed"),
            ApiError::TooMany(_) | ApiError::Throttled(_) => (StatusCode::TOO_MANY_REQUESTS, "too_many"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        let body = ErrorBody { error: ErrorDetail { code: code.into(), message: self.to_string() } };
        let retry_after = if let ApiError::Throttled(s) = self { s.max(1) } else { 1 };
        let mut resp = (status, axum::Json(body)).into_response();
        if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(retry_after));
        }
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        }
        resp
    }
}
