//! Server settings: defaults, then `--config FILE` (TOML), then flags and `PARLEY_*` variables.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

/// Settings of `parley serve`.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServeConfig {
    /// SIP listen address (UDP and TCP).
    pub sip_listen: SocketAddr,
    /// HTTP listen address (API, health, metrics).
    pub http_listen: SocketAddr,
    /// Data directory (SQLite database, keys).
    pub data_dir: PathBuf,
    /// Database URL (`postgres://...`); without one, SQLite in the data directory.
    pub database_url: Option<String>,
    /// Where the demo agent's post-call documents go.
    pub demo_webhook: Option<String>,
    /// SIP URI the demo agent transfers callers to when they ask for a person (REFER);
    /// without one it takes a message.
    pub demo_transfer_to: Option<String>,
    /// Longest retention window a tenant may set, in days.
    pub max_retention_days: i64,
    /// Most concurrent calls; more get 503.
    pub max_calls: usize,
    /// Where `scripts/setup.sh` installed the speech engines.
    pub speech_dir: PathBuf,
    /// Where `scripts/setup.sh` installed the embedded language model (`llama-server` and its
    /// weights).
    pub llm_dir: PathBuf,
    /// Calls the embedded language model answers at once (more wait their turn).
    pub llm_slots: u32,
    /// CPU threads for a recognition that runs alone (side by side, each gets one).
    pub asr_threads: usize,
    /// Recognitions run side by side, one model shared (0: one per CPU).
    pub asr_decoders: usize,
    /// On SIGTERM, how long calls in progress may go on before they are hung up, in seconds.
    pub drain_seconds: u64,
    /// The caller's pause that ends their turn, ms.
    pub end_of_turn_ms: u64,
    /// The first pause at which recognition starts, before the turn is known to have ended,
    /// ms (0: wait for the end of the turn). 100: a question's text is then mostly ready by the
    /// end of a finished answer's 300 ms pause (Whisper tiny.en takes 100-250 ms here); an early decode
    /// the caller talks past is stopped, a busy recognizer declines early decodes, and
    /// `turn_taking_bench` counted 1 more cut-in in 76 from the words than at 160 (BENCHMARKS.md,
    /// session 23).
    pub speculate_after_ms: u64,
    /// The pause that ends a turn the recognizer closed as a sentence (full stop, question
    /// mark), ms (0: the same as `end_of_turn_ms`).
    pub closed_sentence_ms: u64,
    /// Synthesize answers to early text during the caller's pause (embedded voices).
    pub prepare_replies: bool,
    /// Ask the language model for its answer to early text during the caller's pause: unset,
    /// the embedded model only (it costs nothing); true, a provider's too (its tokens are spent
    /// on each answer the caller then talks past); false, never.
    pub ask_model_ahead: Option<bool>,
    /// The URL Twilio reaches this server at (Media Streams).
    pub public_url: Option<String>,
    /// SIP over TLS listen address.
    pub sip_tls_listen: Option<SocketAddr>,
    /// PEM certificate chain for SIP over TLS.
    pub sip_tls_cert: Option<PathBuf>,
    /// PEM private key for SIP over TLS.
    pub sip_tls_key: Option<PathBuf>,
    /// PEM certificates trusted, besides the Mozilla roots, when connecting out over TLS.
    pub sip_tls_ca: Option<PathBuf>,
    /// PEM certificates trusted, besides the Mozilla roots, for tenants' mail servers.
    pub smtp_tls_ca: Option<PathBuf>,
    /// New SIP requests per second per source address (0: no limit).
    pub sip_rate_limit: u32,
    /// Authentication failures within `sip_ban_window_seconds` that ban a source (0: never).
    pub sip_ban_after: u32,
    /// The window of those failures, in seconds.
    pub sip_ban_window_seconds: u64,
    /// How long a ban lasts, in seconds.
    pub sip_ban_seconds: u64,
    /// New SIP requests per second from a source that a trunk admits by network (0: no limit).
    pub sip_trunk_rate_limit: u32,
    /// Networks tenant URLs may reach although they are internal (`--egress-allow`).
    pub egress_allow: Vec<String>,
    /// HTTP connections at once.
    pub http_max_connections: usize,
    /// Where `/metrics` is served instead of the API port, if anywhere.
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// The address browsers send a console call's media to (default: the HTTP listen IP).
    #[serde(default)]
    pub webrtc_ip: Option<std::net::IpAddr>,
}

impl Default for ServeConfig {
    fn default() -> Self {
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
        ServeConfig {
            sip_listen: "127.0.0.1:5060".parse().expect("literal"),
            http_listen: "127.0.0.1:8080".parse().expect("literal"),
            data_dir: PathBuf::from("parley-data"),
            database_url: None,
            demo_webhook: None,
            demo_transfer_to: None,
            max_retention_days: parley_store::policy::DEFAULT_MAX_DAYS,
            max_calls: 100,
            speech_dir: home.join(".local/share/parley/speech"),
            llm_dir: home.join(".local/share/parley/llm"),
            llm_slots: 4,
            asr_threads: 2,
            asr_decoders: 0,
            drain_seconds: 120,
            end_of_turn_ms: 600,
            speculate_after_ms: 100,
            prepare_replies: true,
            ask_model_ahead: None,
            closed_sentence_ms: 0,
            public_url: None,
            sip_tls_listen: None,
            sip_tls_cert: None,
            sip_tls_key: None,
            sip_tls_ca: None,
            smtp_tls_ca: None,
            sip_rate_limit: 100,
            sip_ban_after: 5,
            sip_ban_window_seconds: 120,
            sip_ban_seconds: 600,
            sip_trunk_rate_limit: 2000,
            egress_allow: Vec::new(),
            http_max_connections: 1024,
            metrics_listen: None,
            webrtc_ip: None,
        }
    }
}

impl ServeConfig {
    /// The SIP guard's limits.
    pub fn guard(&self) -> parley_sip::guard::GuardConfig {
        parley_sip::guard::GuardConfig {
            rate_per_s: self.sip_rate_limit,
            burst: self.sip_rate_limit.saturating_mul(2),
            max_failures: self.sip_ban_after,
            find_window: std::time::Duration::from_secs(self.sip_ban_window_seconds),
            ban_for: std::time::Duration::from_secs(self.sip_ban_seconds),
            trunk_rate_per_s: self.sip_trunk_rate_limit,
        }
    }

    /// Reads a TOML file over the defaults.
    pub fn from_file(path: &std::path::Path) -> anyhow::Result<ServeConfig> {
        let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }
}

impl ServeConfig {
    /// End-of-turn detection as configured.
    pub fn endpointer(&self) -> parley_speech::vad::EndpointerConfig {
        let end_of_turn = self.end_of_turn_ms.clamp(200, 5000);
        let closed = if self.closed_sentence_ms == 0 { end_of_turn } else { self.closed_sentence_ms.clamp(200, 5000) };
        parley_speech::vad::EndpointerConfig {
            end_silence: std::time::Duration::from_millis(end_of_turn),
            closed_silence: std::time::Duration::from_millis(closed),
            speculate_after: (self.speculate_after_ms > 0 && self.speculate_after_ms < self.end_of_turn_ms).then(|| std::time::Duration::from_millis(self.speculate_after_ms)),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn speculation_is_off_at_zero_or_at_the_end_of_turn_and_the_pause_is_bounded() {
        let cfg = |end_of_turn_ms, speculate_after_ms| ServeConfig { end_of_turn_ms, speculate_after_ms, ..Default::default() }.endpointer();
        assert_eq!((cfg(600, 240).end_silence, cfg(600, 240).speculate_after), (Duration::from_millis(600), Some(Duration::from_millis(240))));
        assert_eq!(cfg(600, 0).speculate_after, None);
        assert_eq!(cfg(600, 600).speculate_after, None, "a speculation as long as the turn's end is no speculation");
        assert_eq!(cfg(10, 0).end_silence, Duration::from_millis(200));
        assert_eq!(cfg(60_000, 0).end_silence, Duration::from_millis(5000));
        assert_eq!(cfg(800, 240).closed_silence, Duration::from_millis(800), "a closed sentence waits the usual pause unless configured");
        let closed = ServeConfig { end_of_turn_ms: 800, closed_sentence_ms: 450, ..Default::default() }.endpointer();
        assert_eq!((closed.end_silence, closed.closed_silence), (Duration::from_millis(800), Duration::from_millis(450)));
    }
}
