//! HTTP: `/healthz` (200 once SIP and HTTP listen) and `/metrics`, and the server loop every
//! route runs under ([`serve`]): a cap on connections, deadlines for request heads and bodies.
//!
//! `/metrics` answers loopback clients on the API port; with `--metrics-listen` it moves to its
//! own address (the operator's network) and the API port no longer serves it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::{extract::State, http::StatusCode, routing::get, Router};
use tower::Service;

use crate::api::ClientAddr;
use crate::metrics::Metrics;

/// How long a client may take to send a request's head (slow-header clients are cut).
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take to send a request's body.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves `router` on `listener` until the process ends: at most `max_connections` at once
/// (a connection over the cap is closed at once), each request's head within 10 s and its body
/// within 30 s; handlers see the peer address as `ConnectInfo`. WebSocket upgrades keep their
/// connection's place until they close.
pub async fn serve(listener: tokio::net::TcpListener, router: Router, max_connections: usize) {
    let router = router.layer(tower_http::timeout::RequestBodyTimeoutLayer::new(BODY_TIMEOUT));
    let places = Arc::new(tokio::sync::Semaphore::new(max_connections.max(1)));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(error = %e, "accepting an HTTP connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(place) = places.clone().try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let router = router.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
                router.clone().call(req)
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .with_upgrades();
            let _ = conn.await;
            drop(place);
        });
    }
}

/// `/metrics` alone, for `--metrics-listen`.
pub fn metrics_router(metrics: Arc<Metrics>) -> Router {
    Router::new().route("/metrics", get(move || async move { metrics.render() }))
}

/// Shared state of the HTTP handlers.
#[derive(Clone)]
pub struct HttpState {
    /// Set once the SIP transports are bound.
    pub sip_ready: Arc<AtomicBool>,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// `/metrics` is served on its own address instead (the API port then has none).
    pub metrics_elsewhere: bool,
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

/// Counts are the operator's: loopback clients only on the API port.
async fn metrics(State(s): State<HttpState>, ClientAddr(addr): ClientAddr) -> Result<String, StatusCode> {
    let local = addr.is_some_and(|a| a.to_canonical().is_loopback());
    if s.metrics_elsewhere || !local {
        return Err(StatusCode::NOT_FOUND);
    }
    Ok(s.metrics.render())
}
