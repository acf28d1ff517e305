//! Counters and histograms exposed at `/metrics` in Prometheus text format.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds of the turn histograms' buckets, ms.
const TURN_BUCKETS_MS: [u64; 12] = [50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 10_000];

/// A histogram of durations with [`TURN_BUCKETS_MS`] buckets.
#[derive(Default)]
pub struct Histogram {
    /// Observations at or under each bound (cumulative, as Prometheus wants them).
    buckets: [AtomicU64; TURN_BUCKETS_MS.len()],
    count: AtomicU64,
    sum_ms: AtomicU64,
}

impl Histogram {
    /// Counts one duration.
    pub fn observe_ms(&self, ms: u64) {
        for (bound, bucket) in TURN_BUCKETS_MS.iter().zip(&self.buckets) {
            if ms <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_ms.fetch_add(ms, Ordering::Relaxed);
    }

    fn render(&self, name: &str, labels: &str, out: &mut String) {
        for (bound, bucket) in TURN_BUCKETS_MS.iter().zip(&self.buckets) {
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{}\"}} {}", *bound as f64 / 1000.0, bucket.load(Ordering::Relaxed));
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum_ms.load(Ordering::Relaxed) as f64 / 1000.0);
        let _ = writeln!(out, "{name}_count{{{labels}}} {count}");
    }
}

/// Where the time of the caller's turns went: from the end of their speech to the first audio
/// of the reply, and its parts.
#[derive(Default)]
pub struct TurnTimes {
    /// The pause waited for before the turn was taken as ended.
    pub end_of_turn: Histogram,
    /// The end of the turn to recognized text.
    pub recognition: Histogram,
    /// The agent's answer.
    pub agent: Histogram,
    /// The answer to its first audio.
    pub synthesis: Histogram,
    /// End of speech to first audio.
    pub voice_to_voice: Histogram,
}

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
    /// Turns taken back: the caller went on at once, so the end of turn came too early.
    pub turns_taken_back: AtomicU64,
    /// Sentences the end-of-turn model judged finished / not finished by their sound.
    pub turns_judged_finished: AtomicU64,
    /// See `turns_judged_finished`.
    pub turns_judged_unfinished: AtomicU64,
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
    /// Turn latencies.
    pub turns: TurnTimes,
}

impl Metrics {
    /// Counts one RTP packet sent `late` after its slot.
    pub fn rtp_sent(&self, late: std::time::Duration) {
        self.rtp_packets_sent.fetch_add(1, Ordering::Relaxed);
        if late > std::time::Duration::from_millis(5) {
            self.rtp_packets_late.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts one turn's timings.
    pub fn turn(&self, t: &parley_call::TurnLatency) {
        self.turns.end_of_turn.observe_ms(t.eot_ms);
        self.turns.recognition.observe_ms(t.asr_ms);
        self.turns.agent.observe_ms(t.agent_ms);
        self.turns.synthesis.observe_ms(t.tts_ms);
        self.turns.voice_to_voice.observe_ms(t.total_ms);
    }

    /// Prometheus exposition text.
    pub fn render(&self) -> String {
        let mut out = self.render_counters();
        out.push_str("# TYPE parley_turn_seconds histogram\n");
        let t = &self.turns;
        for (part, h) in [("end_of_turn", &t.end_of_turn), ("recognition", &t.recognition), ("agent", &t.agent), ("synthesis", &t.synthesis), ("voice_to_voice", &t.voice_to_voice)] {
            h.render("parley_turn_seconds", &format!("part=\"{part}\""), &mut out);
        }
        out
    }

    fn render_counters(&self) -> String {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        format!(
            "# TYPE parley_calls_total counter\nparley_calls_total {}\n\
             # TYPE parley_calls_active gauge\nparley_calls_active {}\n\
             # TYPE parley_calls_rejected_total counter\nparley_calls_rejected_total {}\n\
             # TYPE parley_turns_total counter\nparley_turns_total {}\n\
             # TYPE parley_turns_taken_back_total counter\nparley_turns_taken_back_total {}\n\
             # TYPE parley_turns_judged_total counter\nparley_turns_judged_total{{sounded=\"finished\"}} {}\n\
             parley_turns_judged_total{{sounded=\"unfinished\"}} {}\n\
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
            g(&self.turns_taken_back),
            g(&self.turns_judged_finished),
            g(&self.turns_judged_unfinished),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turn_histograms_are_cumulative_with_sum_and_count() {
        let m = Metrics::default();
        m.turn(&parley_call::TurnLatency { at_ms: 0, eot_ms: 600, asr_ms: 0, agent_ms: 0, tts_ms: 20, total_ms: 640, ..Default::default() });
        m.turn(&parley_call::TurnLatency { at_ms: 0, eot_ms: 600, asr_ms: 450, agent_ms: 0, tts_ms: 30, total_ms: 1080, ..Default::default() });
        let text = m.render();
        for line in [
            "parley_turn_seconds_bucket{part=\"voice_to_voice\",le=\"0.5\"} 0",
            "parley_turn_seconds_bucket{part=\"voice_to_voice\",le=\"0.75\"} 1",
            "parley_turn_seconds_bucket{part=\"voice_to_voice\",le=\"1.5\"} 2",
            "parley_turn_seconds_bucket{part=\"voice_to_voice\",le=\"+Inf\"} 2",
            "parley_turn_seconds_sum{part=\"voice_to_voice\"} 1.72",
            "parley_turn_seconds_count{part=\"recognition\"} 2",
            "parley_turn_seconds_bucket{part=\"recognition\",le=\"0.05\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing from\n{text}");
        }
        assert_eq!(text.matches("# TYPE parley_turn_seconds histogram").count(), 1);
    }
}
