//! HTTP: `/healthz` (200 once SIP and HTTP listen) and `/metrics`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::{extract::State, http::StatusCode, routing::get, Router};

use crate::metrics::Metrics;

/// Shared state of the HTTP handlers.
#[derive(Clone)]
pub struct HttpState {
    /// Set once the SIP transports are bound.
    pub sip_ready: Arc<AtomicBool>,
    /// Counters.
    pub metrics: Arc<Metrics>,
}

/// The router.
pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn healthz(State(s): State<HttpState>) -> (StatusCode, &'static str) {
    if s.sip_ready.load(Ordering::Acquire) {
        (StatusCode::OK, "ok\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "starting\n")
    }
}

async fn metrics(State(s): State<HttpState>) -> String {
    s.metrics.render()
}
