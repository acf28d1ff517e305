//! Counters exposed at `/metrics` in Prometheus text format.

use std::sync::atomic::{AtomicU64, Ordering};

/// Process-wide counters.
#[derive(Default)]
pub struct Metrics {
    /// INVITEs that reached an agent.
    pub calls_total: AtomicU64,
    /// Calls in progress.
    pub calls_active: AtomicU64,
    /// Calls refused (404, 503, 488).
    pub calls_rejected: AtomicU64,
    /// Caller turns answered.
    pub turns_total: AtomicU64,
    /// Post-call webhooks delivered / failed.
    pub webhooks_delivered: AtomicU64,
    /// Post-call webhooks that failed after retries.
    pub webhooks_failed: AtomicU64,
}

impl Metrics {
    /// Prometheus exposition text.
    pub fn render(&self) -> String {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        format!(
            "# TYPE parley_calls_total counter\nparley_calls_total {}\n\
             # TYPE parley_calls_active gauge\nparley_calls_active {}\n\
             # TYPE parley_calls_rejected_total counter\nparley_calls_rejected_total {}\n\
             # TYPE parley_turns_total counter\nparley_turns_total {}\n\
             # TYPE parley_webhooks_delivered_total counter\nparley_webhooks_delivered_total {}\n\
             # TYPE parley_webhooks_failed_total counter\nparley_webhooks_failed_total {}\n",
            g(&self.calls_total),
            g(&self.calls_active),
            g(&self.calls_rejected),
            g(&self.turns_total),
            g(&self.webhooks_delivered),
            g(&self.webhooks_failed)
        )
    }
}
