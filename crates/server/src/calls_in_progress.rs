//! Calls a crash cut. Each answered call has a provisional record from its first moment
//! (`in_progress`, owned by this data directory's node id, its end moved forward every 10 s);
//! the finished record replaces it together with the call's usage. When a node starts, the
//! provisional records it owned are finished as `interrupted`, with the minutes up to their
//! last heartbeat (at least a second); every minute, so are those of any node silent for 90 s
//! (a node that never came back, behind a shared PostgreSQL).

use std::time::Duration;

use parley_store::Store;

/// Heartbeats older than this mean the call's node is gone.
const STALE_MS: i64 = 90_000;

/// Finishes the calls `node` left in progress and those of silent nodes; logs how many.
pub async fn finish_interrupted(store: &Store, node: &str) {
    match store.platform().finish_interrupted(node, crate::api::now_ms() - STALE_MS, "sip").await {
        Ok(done) if !done.is_empty() => tracing::warn!(calls = done.len(), "finished calls cut by a crash as interrupted"),
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "finishing interrupted calls failed"),
    }
}

/// Every minute, finishes the calls of nodes whose heartbeats stopped.
pub async fn sweep_every_minute(store: Store) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    tick.tick().await;
    loop {
        tick.tick().await;
        // No node id matches "": only stale heartbeats count.
        finish_interrupted(&store, "").await;
    }
}
