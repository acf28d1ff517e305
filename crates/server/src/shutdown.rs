//! Stopping `parley serve` without dropping calls: the first SIGTERM (or Ctrl-C) starts a
//! drain, in which new INVITEs and OPTIONS health checks get 503 with `Retry-After`, while the
//! calls in progress go on; when the last one has finished its post-call work, or the drain
//! limit passes, or a second signal comes, the calls still up are hung up (BYE), their
//! documents and records written, and the server exits.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::Shared;

/// What `Retry-After` says while draining: a restart or another node should be ready by then.
pub const RETRY_AFTER_S: u32 = 30;

/// SIGTERM and Ctrl-C, registered when this is made (so a signal that comes early is not lost
/// to the default action, which would end the process on the spot).
pub struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Signals {
    /// Registers the handlers.
    pub fn register() -> std::io::Result<Signals> {
        Ok(Signals {
            #[cfg(unix)]
            term: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?,
        })
    }

    /// The next SIGTERM or Ctrl-C.
    pub async fn next(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Drains (see the module docs); returns when no call task is left, or after a last bounded
/// wait for the ones hung up.
pub async fn drain(shared: &Shared, signals: &mut Signals, limit: Duration) {
    shared.draining.store(true, Ordering::Release);
    let active = shared.metrics.calls_active.load(Ordering::Acquire);
    tracing::info!(active, drain_seconds = limit.as_secs(), "draining: new calls get 503");
    let finished = tokio::select! {
        done = wait_for_calls(shared, limit) => done,
        _ = signals.next() => false,
    };
    if finished {
        return;
    }
    let active = shared.metrics.calls_active.load(Ordering::Acquire);
    tracing::warn!(active, "drain over: hanging up the calls still in progress");
    shared.hang_up_all.notify_one();
    shared.streams_hang_up.send_replace(true);
    if !wait_for_calls(shared, Duration::from_secs(15)).await {
        tracing::warn!(active = shared.metrics.calls_active.load(Ordering::Acquire), "shutting down with calls still finishing");
    }
}

/// Waits until no call task is left (each delivers its document and stores its record), for at
/// most `limit`; whether none is left.
async fn wait_for_calls(shared: &Shared, limit: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let notified = shared.call_finished.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if shared.metrics.calls_active.load(Ordering::Acquire) == 0 {
            return true;
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            return false;
        }
    }
}
