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
    /// SIP messages dropped: from banned sources, scanners, over the rate.
    pub sip_dropped_banned: AtomicU64,
    /// See `sip_dropped_banned`.
    pub sip_dropped_scanner: AtomicU64,
    /// See `sip_dropped_banned`.
    pub sip_dropped_rate: AtomicU64,
    /// Sources banned now.
    pub sip_bans_active: AtomicU64,
    /// RTP packets sent to callers.
    pub rtp_packets_sent: AtomicU64,
    /// Of those, sent more than 5 ms after their 20 ms slot was due.
    pub rtp_packets_late: AtomicU64,
    /// Outbound calls placed.
    pub outbound_placed: AtomicU64,
    /// Of those, answered.
    pub outbound_answered: AtomicU64,
    /// Gateway registrations in force now.
    pub registrations_active: AtomicU64,
    /// Registration attempts refused or unanswered.
    pub registrations_failed: AtomicU64,
}

impl Metrics {
    /// Counts one RTP packet sent `late` after its slot.
    pub fn rtp_sent(&self, late: std::time::Duration) {
        self.rtp_packets_sent.fetch_add(1, Ordering::Relaxed);
        if late > std::time::Duration::from_millis(5) {
            self.rtp_packets_late.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Prometheus exposition text.
    pub fn render(&self) -> String {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        format!(
            "# TYPE parley_calls_total counter\nparley_calls_total {}\n\
             # TYPE parley_calls_active gauge\nparley_calls_active {}\n\
             # TYPE parley_calls_rejected_total counter\nparley_calls_rejected_total {}\n\
             # TYPE parley_turns_total counter\nparley_turns_total {}\n\
             # TYPE parley_webhooks_delivered_total counter\nparley_webhooks_delivered_total {}\n\
             # TYPE parley_webhooks_failed_total counter\nparley_webhooks_failed_total {}\n\
             # TYPE parley_sip_dropped_total counter\nparley_sip_dropped_total{{reason=\"banned\"}} {}\n\
             parley_sip_dropped_total{{reason=\"scanner\"}} {}\nparley_sip_dropped_total{{reason=\"rate\"}} {}\n\
             # TYPE parley_sip_bans_active gauge\nparley_sip_bans_active {}\n\
             # TYPE parley_rtp_packets_sent_total counter\nparley_rtp_packets_sent_total {}\n\
             # TYPE parley_rtp_packets_late_total counter\nparley_rtp_packets_late_total {}\n\
             # TYPE parley_outbound_calls_total counter\nparley_outbound_calls_total{{result=\"placed\"}} {}\n\
             parley_outbound_calls_total{{result=\"answered\"}} {}\n\
             # TYPE parley_sip_registrations_active gauge\nparley_sip_registrations_active {}\n\
             # TYPE parley_sip_registrations_failed_total counter\nparley_sip_registrations_failed_total {}\n",
            g(&self.calls_total),
            g(&self.calls_active),
            g(&self.calls_rejected),
            g(&self.turns_total),
            g(&self.webhooks_delivered),
            g(&self.webhooks_failed),
            g(&self.sip_dropped_banned),
            g(&self.sip_dropped_scanner),
            g(&self.sip_dropped_rate),
            g(&self.sip_bans_active),
            g(&self.rtp_packets_sent),
            g(&self.rtp_packets_late),
            g(&self.outbound_placed),
            g(&self.outbound_answered),
            g(&self.registrations_active),
            g(&self.registrations_failed)
        )
    }
}
