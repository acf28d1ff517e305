//! HTTP: `/healthz` (200 once SIP and HTTP listen) and `/metrics`, and the server loop every
//! route runs under ([`serve`]): a cap on connections, deadlines for request heads and bodies,
//! and the headers no response goes without ([`baseline_headers`]).
//!
//! `/metrics` answers loopback clients on the API port; with `--metrics-listen` it moves to its
//! own address (the operator's network) and the API port no longer serves it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderValue};
use axum::response::Response;
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
/// connection's place until they close. Every response, a 404 for an unknown path too, gets
/// [`baseline_headers`].
pub async fn serve(listener: tokio::net::TcpListener, router: Router, max_connections: usize) {
    let router = router.layer(axum::middleware::map_response(baseline_headers)).layer(tower_http::timeout::RequestBodyTimeoutLayer::new(BODY_TIMEOUT));
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

/// What no response goes without: `X-Content-Type-Options: nosniff` (a JSON error or a
/// transcript is never run as a script or a page), and `Cache-Control: no-store` unless the
/// route chose its own (API keys, call records and tenants' settings stay out of shared and
/// browser caches; the console's style sheet and script say they may be cached).
pub async fn baseline_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    r
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
