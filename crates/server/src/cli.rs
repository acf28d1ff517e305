//! The command line: `parley serve` and its flags (each also a `PARLEY_*` variable, over the
//! settings file), `parley chat`, `parley agent`, and the operator's commands.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::admin;
use crate::agent_cli;
use crate::config::ServeConfig;

#[derive(Parser)]
#[command(name = "parley", version, about = "Privacy-first AI voice agents")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the server (SIP, media, agents, HTTP).
    Serve(Box<ServeArgs>),
    /// Talk to an agent as text in the terminal (its nodes and tool calls shown).
    Chat {
        /// Agent name (`demo`) or a YAML file.
        agent: String,
        #[command(flatten)]
        model: ModelArgs,
    },
    /// Agent documents.
    #[command(subcommand)]
    Agent(AgentCommand),
    /// Operator tasks on the store.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// The audit log.
    #[command(subcommand)]
    Audit(admin::AuditCommand),
    /// The retention job.
    #[command(subcommand)]
    Retention(admin::RetentionCommand),
}

#[derive(Subcommand)]
pub enum AgentCommand {
    /// Check agent files: every problem with its file, line and node.
    Check {
        /// YAML files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Measure how often the agent's llm node does what callers' words call for: each line of
    /// CASES is `what the caller says<TAB>function [name=value...]`, or `-` for words only.
    Eval {
        /// Agent name or YAML file.
        agent: String,
        /// The cases (tab-separated).
        cases: PathBuf,
        /// Fail (exit 1) below this share right, in percent.
        #[arg(long, default_value_t = 0.0)]
        min_percent: f64,
        #[command(flatten)]
        model: ModelArgs,
    },
    /// Measure how often the agent's first menu goes where callers' words call for, the intent
    /// engine's words first and the sentence's meaning when no intent's words match: each line
    /// of CASES is `intent<TAB>what the caller says` (`none`: nothing the menu offers).
    Intents {
        /// Agent name or YAML file.
        agent: String,
        /// The cases (tab-separated).
        cases: PathBuf,
        /// Fail (exit 1) below this share right, in percent.
        #[arg(long, default_value_t = 0.0)]
        min_percent: f64,
        /// The words alone, without the sentence model.
        #[arg(long)]
        words_only: bool,
        /// Where `scripts/setup.sh` installed the speech models.
        #[arg(long, env = "PARLEY_SPEECH_DIR")]
        speech_dir: Option<PathBuf>,
    },
}

/// The language model of `parley chat` and `parley agent eval`.
#[derive(clap::Args)]
pub struct ModelArgs {
    /// The OpenAI-compatible chat-completions API the agent's `llm` nodes use (its key in
    /// `OPENAI_API_KEY`); without it they use the embedded model, where it is installed.
    #[arg(long, env = "PARLEY_LLM_BASE")]
    llm_base: Option<String>,
    /// The model.
    #[arg(long, env = "PARLEY_LLM_MODEL", default_value = "gpt-4o-mini")]
    llm_model: String,
    /// Where `scripts/setup.sh` installed the embedded language model.
    #[arg(long, env = "PARLEY_LLM_DIR")]
    llm_dir: Option<PathBuf>,
}

impl ModelArgs {
    /// The API at `llm_base` (key in `OPENAI_API_KEY`), else the embedded model.
    pub fn chat_model(self) -> agent_cli::ChatModel {
        match self.llm_base {
            Some(base) => agent_cli::ChatModel::Remote(parley_connect::llm::ChatClient::direct(&base, secrecy::SecretString::from(std::env::var("OPENAI_API_KEY").unwrap_or_default()), &self.llm_model)),
            None => agent_cli::ChatModel::Embedded(self.llm_dir.unwrap_or_else(|| ServeConfig::default().llm_dir)),
        }
    }
}

#[derive(clap::Args)]
pub struct ServeArgs {
    /// SIP listen address (UDP and TCP).
    #[arg(long, env = "PARLEY_SIP_LISTEN")]
    pub sip_listen: Option<std::net::SocketAddr>,
    /// HTTP listen address.
    #[arg(long, env = "PARLEY_HTTP_LISTEN")]
    pub http_listen: Option<std::net::SocketAddr>,
    /// Data directory.
    #[arg(long, env = "PARLEY_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL (`postgres://...`); without it, SQLite in the data directory.
    #[arg(long, env = "PARLEY_DATABASE_URL")]
    pub database_url: Option<String>,
    /// TOML settings file.
    #[arg(long, env = "PARLEY_CONFIG")]
    pub config: Option<PathBuf>,
    /// URL that receives the demo agent's signed post-call documents.
    #[arg(long, env = "PARLEY_DEMO_WEBHOOK")]
    pub demo_webhook: Option<String>,
    /// SIP URI the demo agent transfers to when a caller asks for a person.
    #[arg(long, env = "PARLEY_DEMO_TRANSFER_TO")]
    pub demo_transfer_to: Option<String>,
    /// Longest retention window a tenant may set, in days (default 365).
    #[arg(long, env = "PARLEY_MAX_RETENTION_DAYS")]
    pub max_retention_days: Option<i64>,
    /// Most concurrent calls.
    #[arg(long, env = "PARLEY_MAX_CALLS")]
    pub max_calls: Option<usize>,
    /// Speech engines directory (from scripts/setup.sh).
    #[arg(long, env = "PARLEY_SPEECH_DIR")]
    pub speech_dir: Option<PathBuf>,
    /// Where `scripts/setup.sh` installed the embedded language model.
    #[arg(long, env = "PARLEY_LLM_DIR")]
    pub llm_dir: Option<PathBuf>,
    /// On SIGTERM, how long calls in progress may go on before they are hung up (default 120).
    #[arg(long, env = "PARLEY_DRAIN_SECONDS")]
    pub drain_seconds: Option<u64>,
    /// The caller's pause that ends their turn, in ms (default 600; 200 to 5000).
    #[arg(long, env = "PARLEY_END_OF_TURN_MS")]
    pub end_of_turn_ms: Option<u64>,
    /// Recognition starts at the caller's first pause this long, and its text is used only if
    /// the pause turns out to end the turn: replies come sooner, the recognizer works more. In
    /// ms; 0 waits for the end of the turn (default 100).
    #[arg(long, env = "PARLEY_SPECULATE_AFTER_MS")]
    pub speculate_after_ms: Option<u64>,
    /// The pause that ends a turn the recognizer closed as a sentence (a full stop or question
    /// mark), in ms: shorter replies sooner, but Whisper also closes fragments said with a
    /// falling voice (see BENCHMARKS.md, turn taking). Default: the end-of-turn pause. One the
    /// end-of-turn model (Smart Turn, where installed) hears as finished ends after 360 ms (a
    /// question the recognizer closed with a question mark, after 300 ms).
    #[arg(long, env = "PARLEY_CLOSED_SENTENCE_MS")]
    pub closed_sentence_ms: Option<u64>,
    /// Synthesize the agent's answer to a turn's early text during the caller's pause, so it
    /// starts as soon as the turn is taken (embedded voices only; default true).
    #[arg(long, env = "PARLEY_PREPARE_REPLIES")]
    pub prepare_replies: Option<bool>,
    /// Ask the language model for its answer to a turn's early text during the caller's pause,
    /// so the answer is being written when the turn is taken (stopped if the caller goes on).
    /// Default: the embedded model only; true: a provider's too, whose tokens are then spent
    /// on answers the caller talks past; false: never.
    #[arg(long, env = "PARLEY_ASK_MODEL_AHEAD")]
    pub ask_model_ahead: Option<bool>,
    /// SIP over TLS listen address (needs --sip-tls-cert and --sip-tls-key).
    #[arg(long, env = "PARLEY_SIP_TLS_LISTEN")]
    pub sip_tls_listen: Option<std::net::SocketAddr>,
    /// PEM certificate chain for SIP over TLS.
    #[arg(long, env = "PARLEY_SIP_TLS_CERT")]
    pub sip_tls_cert: Option<PathBuf>,
    /// PEM private key for SIP over TLS.
    #[arg(long, env = "PARLEY_SIP_TLS_KEY")]
    pub sip_tls_key: Option<PathBuf>,
    /// PEM certificates to trust, besides the Mozilla roots, when calling or registering with a
    /// gateway over TLS (a provider with a private CA).
    #[arg(long, env = "PARLEY_SIP_TLS_CA")]
    pub sip_tls_ca: Option<PathBuf>,
    /// PEM certificates to trust, besides the Mozilla roots, for tenants' mail servers (a
    /// private CA).
    #[arg(long, env = "PARLEY_SMTP_TLS_CA")]
    pub smtp_tls_ca: Option<PathBuf>,
    /// The URL Twilio reaches this server at (`https://parley.example.com`), for the Media
    /// Streams webhook's signature and stream URL (default http://HTTP-LISTEN).
    #[arg(long, env = "PARLEY_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// New SIP requests per second per source address; 0 turns the limit off (default 100).
    #[arg(long, env = "PARLEY_SIP_RATE_LIMIT")]
    pub sip_rate_limit: Option<u32>,
    /// Wrong digest answers in 2 minutes that ban a source from that tenant's numbers for 10
    /// minutes (from everything once 3 tenants ban it, unless a trunk admits it); 0: never
    /// (default 5).
    #[arg(long, env = "PARLEY_SIP_BAN_AFTER")]
    pub sip_ban_after: Option<u32>,
    /// New SIP requests per second from a source a trunk admits by network (a carrier); 0
    /// turns the limit off (default 2000, burst twice that).
    #[arg(long, env = "PARLEY_SIP_TRUNK_RATE_LIMIT")]
    pub sip_trunk_rate_limit: Option<u32>,
    /// Networks (CIDR) that tenant-configured URLs (webhooks, API bases) may reach although
    /// they are loopback, private or link-local; repeat or separate with commas (default: none).
    #[arg(long, env = "PARLEY_EGRESS_ALLOW")]
    pub egress_allow: Vec<String>,
    /// HTTP connections at once; more are closed at once (default 1024).
    #[arg(long, env = "PARLEY_HTTP_MAX_CONNECTIONS")]
    pub http_max_connections: Option<usize>,
    /// Serve `/metrics` on this address (the operator's network) instead of to loopback clients
    /// of the API port.
    #[arg(long, env = "PARLEY_METRICS_LISTEN")]
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// The address browsers reach this server at for calls from the console (WebRTC media,
    /// one UDP port per call; default the HTTP listen address's).
    #[arg(long, env = "PARLEY_WEBRTC_IP")]
    pub webrtc_ip: Option<std::net::IpAddr>,
}

impl ServeArgs {
    /// The settings file (or the defaults) with the flags and `PARLEY_*` variables over it
    /// (networks given to `--egress-allow` join those of the file).
    pub fn settings(self) -> anyhow::Result<ServeConfig> {
        let mut cfg = match &self.config {
            Some(p) => ServeConfig::from_file(p)?,
            None => ServeConfig::default(),
        };
        if let Some(v) = self.sip_listen { cfg.sip_listen = v; }
        if let Some(v) = self.http_listen { cfg.http_listen = v; }
        if let Some(v) = self.data_dir { cfg.data_dir = v; }
        if let Some(v) = self.database_url { cfg.database_url = Some(v); }
        if let Some(v) = self.demo_webhook { cfg.demo_webhook = Some(v); }
        if let Some(v) = self.max_calls { cfg.max_calls = v; }
        if let Some(v) = self.max_retention_days { cfg.max_retention_days = v; }
        if let Some(v) = self.demo_transfer_to { cfg.demo_transfer_to = Some(v); }
        if let Some(v) = self.speech_dir { cfg.speech_dir = v; }
        if let Some(v) = self.llm_dir { cfg.llm_dir = v; }
        if let Some(v) = self.drain_seconds { cfg.drain_seconds = v; }
        if let Some(v) = self.end_of_turn_ms { cfg.end_of_turn_ms = v; }
        if let Some(v) = self.speculate_after_ms { cfg.speculate_after_ms = v; }
        if let Some(v) = self.prepare_replies { cfg.prepare_replies = v; }
        if let Some(v) = self.ask_model_ahead { cfg.ask_model_ahead = Some(v); }
        if let Some(v) = self.closed_sentence_ms { cfg.closed_sentence_ms = v; }
        if let Some(v) = self.sip_rate_limit { cfg.sip_rate_limit = v; }
        if let Some(v) = self.sip_trunk_rate_limit { cfg.sip_trunk_rate_limit = v; }
        if let Some(v) = self.http_max_connections { cfg.http_max_connections = v; }
        if let Some(v) = self.metrics_listen { cfg.metrics_listen = Some(v); }
        if let Some(v) = self.webrtc_ip { cfg.webrtc_ip = Some(v); }
        if let Some(v) = self.public_url { cfg.public_url = Some(v); }
        if let Some(v) = self.sip_tls_listen { cfg.sip_tls_listen = Some(v); }
        if let Some(v) = self.sip_tls_cert { cfg.sip_tls_cert = Some(v); }
        if let Some(v) = self.sip_tls_key { cfg.sip_tls_key = Some(v); }
        if let Some(v) = self.sip_tls_ca { cfg.sip_tls_ca = Some(v); }
        if let Some(v) = self.smtp_tls_ca { cfg.smtp_tls_ca = Some(v); }
        if let Some(v) = self.sip_ban_after { cfg.sip_ban_after = v; }
        let flagged = self.egress_allow.iter().flat_map(|v| v.split(',')).map(str::trim).filter(|v| !v.is_empty()).map(String::from);
        cfg.egress_allow = flagged.chain(cfg.egress_allow).collect();
        Ok(cfg)
    }
}
