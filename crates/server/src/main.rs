//! `parley`: the Parley server and its command-line tools.
//!
//! - `parley serve`: SIP on 127.0.0.1:5060 (UDP and TCP), HTTP on 127.0.0.1:8080, data in
//!   ./parley-data, a demo tenant with the demo store agent at `sip:demo@<sip address>`.
//! - `parley chat AGENT`: the agent as text in the terminal.

mod admin;
mod agent_cli;
mod agent_eval;
mod intent_eval;
mod api;
mod call;
mod call_engines;
mod calls_in_progress;
mod codec;
mod completion;
mod config;
mod console;
mod consult;
mod delivery;
mod dialer;
mod embedded_llm;
mod directory;
mod effects;
mod http;
mod leg;
mod media_io;
mod metrics;
mod outbound;
mod payment;
mod resolve;
mod shutdown;
mod sip_driver;
mod speech;
mod tls;
mod twilio;
mod twilio_rest;
mod voice;
mod webrtc;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use parley_agent::spec::AgentSpec;
use parley_connect::webhook::WebhookSender;
use parley_store::Store;

use crate::config::ServeConfig;

#[derive(Parser)]
#[command(name = "parley", version, about = "Privacy-first AI voice agents")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
enum AgentCommand {
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
struct ModelArgs {
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
    fn chat_model(self) -> agent_cli::ChatModel {
        match self.llm_base {
            Some(base) => agent_cli::ChatModel::Remote(parley_connect::llm::ChatClient::direct(&base, secrecy::SecretString::from(std::env::var("OPENAI_API_KEY").unwrap_or_default()), &self.llm_model)),
            None => agent_cli::ChatModel::Embedded(self.llm_dir.unwrap_or_else(|| ServeConfig::default().llm_dir)),
        }
    }
}

#[derive(clap::Args)]
struct ServeArgs {
    /// SIP listen address (UDP and TCP).
    #[arg(long, env = "PARLEY_SIP_LISTEN")]
    sip_listen: Option<std::net::SocketAddr>,
    /// HTTP listen address.
    #[arg(long, env = "PARLEY_HTTP_LISTEN")]
    http_listen: Option<std::net::SocketAddr>,
    /// Data directory.
    #[arg(long, env = "PARLEY_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Database URL (`postgres://...`); without it, SQLite in the data directory.
    #[arg(long, env = "PARLEY_DATABASE_URL")]
    database_url: Option<String>,
    /// TOML settings file.
    #[arg(long, env = "PARLEY_CONFIG")]
    config: Option<PathBuf>,
    /// URL that receives the demo agent's signed post-call documents.
    #[arg(long, env = "PARLEY_DEMO_WEBHOOK")]
    demo_webhook: Option<String>,
    /// SIP URI the demo agent transfers to when a caller asks for a person.
    #[arg(long, env = "PARLEY_DEMO_TRANSFER_TO")]
    demo_transfer_to: Option<String>,
    /// Longest retention window a tenant may set, in days (default 365).
    #[arg(long, env = "PARLEY_MAX_RETENTION_DAYS")]
    max_retention_days: Option<i64>,
    /// Most concurrent calls.
    #[arg(long, env = "PARLEY_MAX_CALLS")]
    max_calls: Option<usize>,
    /// Speech engines directory (from scripts/setup.sh).
    #[arg(long, env = "PARLEY_SPEECH_DIR")]
    speech_dir: Option<PathBuf>,
    /// Where `scripts/setup.sh` installed the embedded language model.
    #[arg(long, env = "PARLEY_LLM_DIR")]
    llm_dir: Option<PathBuf>,
    /// On SIGTERM, how long calls in progress may go on before they are hung up (default 120).
    #[arg(long, env = "PARLEY_DRAIN_SECONDS")]
    drain_seconds: Option<u64>,
    /// The caller's pause that ends their turn, in ms (default 600; 200 to 5000).
    #[arg(long, env = "PARLEY_END_OF_TURN_MS")]
    end_of_turn_ms: Option<u64>,
    /// Recognition starts at the caller's first pause this long, and its text is used only if
    /// the pause turns out to end the turn: replies come sooner, the recognizer works more. In
    /// ms; 0 waits for the end of the turn (default 100).
    #[arg(long, env = "PARLEY_SPECULATE_AFTER_MS")]
    speculate_after_ms: Option<u64>,
    /// The pause that ends a turn the recognizer closed as a sentence (a full stop or question
    /// mark), in ms: shorter replies sooner, but Whisper also closes fragments said with a
    /// falling voice (see BENCHMARKS.md, turn taking). Default: the end-of-turn pause. One the
    /// end-of-turn model (Smart Turn, where installed) hears as finished ends after 360 ms (a
    /// question the recognizer closed with a question mark, after 300 ms).
    #[arg(long, env = "PARLEY_CLOSED_SENTENCE_MS")]
    closed_sentence_ms: Option<u64>,
    /// Synthesize the agent's answer to a turn's early text during the caller's pause, so it
    /// starts as soon as the turn is taken (embedded voices only; default true).
    #[arg(long, env = "PARLEY_PREPARE_REPLIES")]
    prepare_replies: Option<bool>,
    /// Ask the language model for its answer to a turn's early text during the caller's pause,
    /// so the answer is being written when the turn is taken (stopped if the caller goes on).
    /// Default: the embedded model only; true: a provider's too, whose tokens are then spent
    /// on answers the caller talks past; false: never.
    #[arg(long, env = "PARLEY_ASK_MODEL_AHEAD")]
    ask_model_ahead: Option<bool>,
    /// SIP over TLS listen address (needs --sip-tls-cert and --sip-tls-key).
    #[arg(long, env = "PARLEY_SIP_TLS_LISTEN")]
    sip_tls_listen: Option<std::net::SocketAddr>,
    /// PEM certificate chain for SIP over TLS.
    #[arg(long, env = "PARLEY_SIP_TLS_CERT")]
    sip_tls_cert: Option<PathBuf>,
    /// PEM private key for SIP over TLS.
    #[arg(long, env = "PARLEY_SIP_TLS_KEY")]
    sip_tls_key: Option<PathBuf>,
    /// PEM certificates to trust, besides the Mozilla roots, when calling or registering with a
    /// gateway over TLS (a provider with a private CA).
    #[arg(long, env = "PARLEY_SIP_TLS_CA")]
    sip_tls_ca: Option<PathBuf>,
    /// PEM certificates to trust, besides the Mozilla roots, for tenants' mail servers (a
    /// private CA).
    #[arg(long, env = "PARLEY_SMTP_TLS_CA")]
    smtp_tls_ca: Option<PathBuf>,
    /// The URL Twilio reaches this server at (`https://parley.example.com`), for the Media
    /// Streams webhook's signature and stream URL (default http://HTTP-LISTEN).
    #[arg(long, env = "PARLEY_PUBLIC_URL")]
    public_url: Option<String>,
    /// New SIP requests per second per source address; 0 turns the limit off (default 100).
    #[arg(long, env = "PARLEY_SIP_RATE_LIMIT")]
    sip_rate_limit: Option<u32>,
    /// Wrong digest answers in 2 minutes that ban a source from that tenant's numbers for 10
    /// minutes (from everything once 3 tenants ban it, unless a trunk admits it); 0: never
    /// (default 5).
    #[arg(long, env = "PARLEY_SIP_BAN_AFTER")]
    sip_ban_after: Option<u32>,
    /// New SIP requests per second from a source a trunk admits by network (a carrier); 0
    /// turns the limit off (default 2000, burst twice that).
    #[arg(long, env = "PARLEY_SIP_TRUNK_RATE_LIMIT")]
    sip_trunk_rate_limit: Option<u32>,
    /// Networks (CIDR) that tenant-configured URLs (webhooks, API bases) may reach although
    /// they are loopback, private or link-local; repeat or separate with commas (default: none).
    #[arg(long, env = "PARLEY_EGRESS_ALLOW")]
    egress_allow: Vec<String>,
    /// HTTP connections at once; more are closed at once (default 1024).
    #[arg(long, env = "PARLEY_HTTP_MAX_CONNECTIONS")]
    http_max_connections: Option<usize>,
    /// Serve `/metrics` on this address (the operator's network) instead of to loopback clients
    /// of the API port.
    #[arg(long, env = "PARLEY_METRICS_LISTEN")]
    metrics_listen: Option<std::net::SocketAddr>,
    /// The address browsers reach this server at for calls from the console (WebRTC media,
    /// one UDP port per call; default the HTTP listen address's).
    #[arg(long, env = "PARLEY_WEBRTC_IP")]
    webrtc_ip: Option<std::net::IpAddr>,
}

/// What every task shares.
pub struct Shared {
    /// Agents by the SIP user they answer.
    pub agents: HashMap<String, AgentSpec>,
    /// The tenant of those agents.
    pub tenant: String,
    /// Recognizers and voices, chosen per agent.
    pub speech: speech::Speech,
    /// The language model of `llm` nodes whose tenant has no provider of its own.
    pub llm: embedded_llm::OnDemand,
    /// Call records.
    pub store: Store,
    /// Counters.
    pub metrics: Arc<metrics::Metrics>,
    /// Where the demo agent's post-call documents go, if anywhere.
    pub webhook_url: Option<String>,
    /// Seals post-call documents (with per-tenant and per-item keys under it).
    pub master: Arc<parley_store::crypto::MasterKey>,
    /// Wakes the delivery worker after an enqueue.
    pub delivery_wake: Arc<tokio::sync::Notify>,
    /// Key for hashing phone numbers.
    pub hash_key: Vec<u8>,
    /// Capacity.
    pub max_calls: usize,
    /// Numbers, agents, limits and policies of every tenant.
    pub directory: Arc<directory::Directory>,
    /// Signalled each time a call task has finished its post-call work.
    pub call_finished: tokio::sync::Notify,
    /// Set on SIGTERM: new calls get 503 with Retry-After.
    pub draining: std::sync::atomic::AtomicBool,
    /// Tells the SIP task to hang up every call (the drain limit passed).
    pub hang_up_all: tokio::sync::Notify,
    /// Keys the digest nonces of trunk authentication (share it between nodes).
    pub digest_key: [u8; 32],
    /// Scanner, rate and ban limits of the SIP edge.
    pub guard: parley_sip::guard::GuardConfig,
    /// Synthesized greetings.
    pub prompts: voice::PromptCache,
    /// The SIP listen address's IP (its family picks among a gateway proxy's addresses).
    pub sip_ip: std::net::IpAddr,
    /// The outgoing-HTTP policy for tenant-configured URLs.
    pub egress: parley_connect::egress::Egress,
    /// Inbound calls in progress per tenant (SIP and Twilio streams).
    pub active: Arc<directory::ActiveCalls>,
    /// Set when the drain limit passes: Twilio streams say goodbye and close.
    pub streams_hang_up: tokio::sync::watch::Sender<bool>,
    /// This data directory's node id: it owns the provisional records of its calls.
    pub node: String,
    /// End-of-turn detection for calls.
    pub endpointer: parley_speech::vad::EndpointerConfig,
    /// Answers are synthesized during the caller's pause (embedded voices).
    pub prepare_replies: bool,
    /// See [`config::ServeConfig::ask_model_ahead`].
    pub ask_model_ahead: Option<bool>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => {
            tracing_subscriber::fmt()
                .json()
                .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("PARLEY_LOG").unwrap_or_else(|_| "info".into()))
                .with_writer(std::io::stderr)
                .init();
            let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            rt.block_on(serve(*args))
        }
        Command::Chat { agent, model } => agent_cli::chat(&agent, model.chat_model()),
        Command::Agent(AgentCommand::Eval { agent, cases, min_percent, model }) => {
            if !agent_eval::eval(&agent, &cases, model.chat_model(), min_percent)? {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Agent(AgentCommand::Intents { agent, cases, min_percent, words_only, speech_dir }) => {
            let speech_dir = speech_dir.unwrap_or_else(|| ServeConfig::default().speech_dir);
            if !intent_eval::eval(&agent, &cases, &speech_dir, words_only, min_percent)? {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Agent(AgentCommand::Check { files }) => {
            if !agent_cli::check(&files)? {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Admin(cmd) => tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(admin::admin(cmd)),
        Command::Audit(cmd) => tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(admin::audit(cmd)),
        Command::Retention(cmd) => tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(admin::retention(cmd)),
    }
}

/// A random secret kept in a file of the data dir (created 0600 on first start).
pub(crate) fn secret_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    if let Ok(text) = std::fs::read_to_string(path) {
        return hex::decode(text.trim()).with_context(|| format!("{} is not hex", path.display()));
    }
    let secret: [u8; 32] = rand::random();
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    write_secret(opts, path, &hex::encode(secret))?;
    Ok(secret.to_vec())
}

/// Writes `hex` to `path` (mode 0600 when created), replacing what was there, and syncs it.
pub(crate) fn write_secret_file(path: &Path, hex: &str) -> anyhow::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    write_secret(opts, path, hex)
}

fn write_secret(mut opts: std::fs::OpenOptions, path: &Path, hex: &str) -> anyhow::Result<()> {
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path).with_context(|| format!("creating {}", path.display()))?;
    writeln!(f, "{hex}")?;
    f.sync_all()?;
    Ok(())
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mut cfg = match &args.config {
        Some(p) => ServeConfig::from_file(p)?,
        None => ServeConfig::default(),
    };
    if let Some(v) = args.sip_listen { cfg.sip_listen = v; }
    if let Some(v) = args.http_listen { cfg.http_listen = v; }
    if let Some(v) = args.data_dir { cfg.data_dir = v; }
    if let Some(v) = args.database_url { cfg.database_url = Some(v); }
    if let Some(v) = args.demo_webhook { cfg.demo_webhook = Some(v); }
    if let Some(v) = args.max_calls { cfg.max_calls = v; }
    if let Some(v) = args.max_retention_days { cfg.max_retention_days = v; }
    if let Some(v) = args.demo_transfer_to { cfg.demo_transfer_to = Some(v); }
    if let Some(v) = args.speech_dir { cfg.speech_dir = v; }
    if let Some(v) = args.llm_dir { cfg.llm_dir = v; }
    if let Some(v) = args.drain_seconds { cfg.drain_seconds = v; }
    if let Some(v) = args.end_of_turn_ms { cfg.end_of_turn_ms = v; }
    if let Some(v) = args.speculate_after_ms { cfg.speculate_after_ms = v; }
    if let Some(v) = args.prepare_replies { cfg.prepare_replies = v; }
    if let Some(v) = args.ask_model_ahead { cfg.ask_model_ahead = Some(v); }
    if let Some(v) = args.closed_sentence_ms { cfg.closed_sentence_ms = v; }
    if let Some(v) = args.sip_rate_limit { cfg.sip_rate_limit = v; }
    if let Some(v) = args.sip_trunk_rate_limit { cfg.sip_trunk_rate_limit = v; }
    if let Some(v) = args.http_max_connections { cfg.http_max_connections = v; }
    if let Some(v) = args.metrics_listen { cfg.metrics_listen = Some(v); }
    if let Some(v) = args.webrtc_ip { cfg.webrtc_ip = Some(v); }
    if let Some(v) = args.public_url { cfg.public_url = Some(v); }
    if let Some(v) = args.sip_tls_listen { cfg.sip_tls_listen = Some(v); }
    if let Some(v) = args.sip_tls_cert { cfg.sip_tls_cert = Some(v); }
    if let Some(v) = args.sip_tls_key { cfg.sip_tls_key = Some(v); }
    if let Some(v) = args.sip_tls_ca { cfg.sip_tls_ca = Some(v); }
    if let Some(v) = args.smtp_tls_ca { cfg.smtp_tls_ca = Some(v); }
    if let Some(v) = args.sip_ban_after { cfg.sip_ban_after = v; }
    // A transfer target goes into Refer-To: exactly a sip:, sips: or tel: URI, or nothing starts.
    let demo_transfer_to = match &cfg.demo_transfer_to {
        Some(to) => Some(parley_sip::uri::Uri::parse(to.trim()).map_err(|e| anyhow::anyhow!("--demo-transfer-to must be a sip:, sips: or tel: URI: {e}"))?),
        None => None,
    };
    let mut allowed = Vec::new();
    for net in args.egress_allow.iter().flat_map(|v| v.split(',')).map(str::trim).filter(|v| !v.is_empty()).chain(cfg.egress_allow.iter().map(String::as_str)) {
        allowed.push(net.parse::<ipnet::IpNet>().or_else(|_| net.parse::<std::net::IpAddr>().map(ipnet::IpNet::from)).map_err(|_| anyhow::anyhow!("--egress-allow takes networks such as 10.1.0.0/16, got {net:?}"))?);
    }
    let egress = parley_connect::egress::Egress::allowing(allowed);
    let mut signals = shutdown::Signals::register().context("registering signal handlers")?;

    std::fs::create_dir_all(&cfg.data_dir).with_context(|| format!("creating {}", cfg.data_dir.display()))?;
    let webhook_secret = secret_file(&cfg.data_dir.join("webhook-secret"))?;
    let hash_key = secret_file(&cfg.data_dir.join("number-hash-key"))?;
    let digest_key: [u8; 32] = secret_file(&cfg.data_dir.join("sip-digest-key"))?.as_slice().try_into().context("sip-digest-key must hold 32 bytes")?;
    let audit_signer = admin::audit_signer(&cfg.data_dir)?;
    let master = admin::master_key(&cfg.data_dir)?;
    let delivery_wake = Arc::new(tokio::sync::Notify::new());
    let store = Store::open(&admin::target(cfg.database_url.as_deref(), &cfg.data_dir)).await.context("opening the store")?;
    // Caller hashes are keyed per tenant; rows from before are re-keyed once, here.
    let rekeyed = store.platform().key_caller_hashes_per_tenant(&hash_key, api::now_ms()).await.context("keying caller hashes per tenant")?;
    if rekeyed > 0 {
        tracing::info!(callers = rekeyed, "caller hashes re-keyed per tenant");
    }
    store.platform().ensure_tenant("demo", "Demo tenant", api::now_ms()).await?;

    // Calls a crash cut on this node get their records and minutes now; a sweep finishes those
    // of nodes that never came back.
    let node = hex::encode(&secret_file(&cfg.data_dir.join("node-id"))?[..8]);
    calls_in_progress::finish_interrupted(&store, &node).await;
    tokio::spawn(calls_in_progress::sweep_every_minute(store.clone()));
    let directory = Arc::new(directory::Directory::default());
    directory.reload(&store, &master, api::now_ms()).await.context("loading numbers and agents")?;
    tokio::spawn(directory::reload_every_30s(directory.clone(), store.clone(), master.clone()));

    let speech = speech::Speech::load(&cfg)?;
    let mut demo = AgentSpec::demo();
    if let Some(uri) = demo_transfer_to {
        demo.transfer_to = uri.to_string();
    }
    let mut agents = HashMap::new();
    agents.insert(demo.name.clone(), demo);
    let metrics = Arc::new(metrics::Metrics::default());
    let shared = Arc::new(Shared {
        agents,
        tenant: "demo".into(),
        speech,
        llm: embedded_llm::OnDemand::new(&cfg.llm_dir, cfg.llm_slots.min(cfg.max_calls as u32)),
        store,
        metrics: metrics.clone(),
        webhook_url: cfg.demo_webhook.clone(),
        master: master.clone(),
        delivery_wake: delivery_wake.clone(),
        hash_key,
        max_calls: cfg.max_calls,
        directory: directory.clone(),
        call_finished: tokio::sync::Notify::new(),
        draining: std::sync::atomic::AtomicBool::new(false),
        hang_up_all: tokio::sync::Notify::new(),
        digest_key,
        guard: cfg.guard(),
        prompts: voice::PromptCache::default(),
        sip_ip: cfg.sip_listen.ip(),
        egress: egress.clone(),
        active: Default::default(),
        streams_hang_up: tokio::sync::watch::Sender::new(false),
        node: node.clone(),
        endpointer: cfg.endpointer(),
        prepare_replies: cfg.prepare_replies,
        ask_model_ahead: cfg.ask_model_ahead,
    });

    let (sip_requests, sip_requests_rx) = tokio::sync::mpsc::channel(256);
    let sip_ready = Arc::new(AtomicBool::new(false));
    let http_listener = tokio::net::TcpListener::bind(cfg.http_listen).await.with_context(|| format!("binding HTTP {}", cfg.http_listen))?;
    let api_state = api::ApiState {
        store: shared.store.clone(),
        signer: audit_signer.clone(),
        hash_key: Arc::new(shared.hash_key.clone()),
        max_retention_days: cfg.max_retention_days,
        master: shared.master.clone(),
        directory: directory.clone(),
        sip: sip_requests,
        sip_ip: cfg.sip_listen.ip(),
        throttle: Arc::new(std::sync::Mutex::new(api::throttle::Throttle::new(api::throttle::Limits::default()))),
    };
    let retention = tokio::spawn(admin::retention_every_hour(shared.store.clone()));
    let twilio_state = twilio::TwilioState {
        shared: shared.clone(),
        public_url: cfg.public_url.clone().unwrap_or_else(|| format!("http://{}", cfg.http_listen)).trim_end_matches('/').to_string(),
        key: Arc::new(secret_file(&cfg.data_dir.join("twilio-stream-key"))?),
        used: Default::default(),
    };
    let router = http::router(http::HttpState { sip_ready: sip_ready.clone(), metrics, metrics_elsewhere: cfg.metrics_listen.is_some() }).merge(console::router(api_state.clone(), shared.clone(), cfg.webrtc_ip.unwrap_or(cfg.http_listen.ip()))).merge(api::router(api_state)).merge(twilio::router(twilio_state));
    let signing = tokio::spawn(admin::sign_audit_heads(shared.store.clone(), audit_signer.clone(), cfg.data_dir.clone()));
    let (stop_delivery, delivery_stopped) = tokio::sync::watch::channel(false);
    let delivery = Arc::new(delivery::Delivery {
        store: shared.store.clone(),
        master,
        sender: WebhookSender::new(webhook_secret.clone(), egress.clone()),
        egress: egress.clone(),
        smtp_roots: tls::pem_blocks(cfg.smtp_tls_ca.as_deref())?,
        wake: delivery_wake,
        metrics: shared.metrics.clone(),
    });
    let delivery_task = tokio::spawn(delivery.run(delivery_stopped));
    tokio::spawn(http::serve(http_listener, router, cfg.http_max_connections));
    if let Some(addr) = cfg.metrics_listen {
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding metrics {addr}"))?;
        tokio::spawn(http::serve(listener, http::metrics_router(shared.metrics.clone()), 64));
    }
    let tls = tls::listen(&cfg)?;
    let (mut transports, inbound) = parley_sip::transport::Transports::bind_with_tls(cfg.sip_listen, tls).await.with_context(|| format!("binding SIP {}", cfg.sip_listen))?;
    transports.trust(&tls::trusted(&cfg)?);
    let sip_addr = transports.udp_addr;
    sip_ready.store(true, Ordering::Release);

    println!("Parley is running.");
    println!("  SIP  udp+tcp {sip_addr}    HTTP http://{}", cfg.http_listen);
    if let Some(tls_addr) = transports.tls_addr {
        println!("  SIP  tls {tls_addr}");
    }
    println!("  data {}", cfg.data_dir.display());
    println!("  API  http://{}/v1 (first operator key: parley admin create-key --role platform-admin)", cfg.http_listen);
    println!("  Call the demo store agent from a softphone: sip:demo@{sip_addr}");
    println!("    e.g. baresip, then: /dial sip:demo@{sip_addr}");
    // Where the signing secret is kept, never the secret itself (terminals and logs keep output).
    let secret_path = cfg.data_dir.join("webhook-secret");
    match &cfg.demo_webhook {
        Some(url) => println!("  Post-call documents go to {url}, signed with the secret in {}", secret_path.display()),
        None => println!("  No --demo-webhook: post-call documents are not sent (their signing secret is in {})", secret_path.display()),
    }
    let _ = std::io::stdout().flush();

    let sip_task = tokio::spawn(sip_driver::run(transports, inbound, sip_requests_rx, shared.clone()));
    tokio::select! {
        _ = signals.next() => {}
        _ = sip_task => {}
    }
    shutdown::drain(&shared, &mut signals, std::time::Duration::from_secs(cfg.drain_seconds)).await;
    tracing::info!("shutting down");
    // The worker makes one last pass over what is due (the last calls' documents), bounded;
    // whatever is left waits, sealed, for the next start.
    let _ = stop_delivery.send(true);
    if tokio::time::timeout(std::time::Duration::from_secs(12), delivery_task).await.is_err() {
        tracing::warn!("delivery still in flight at shutdown; it resumes on the next start");
    }
    signing.abort();
    retention.abort();
    if let Err(e) = admin::sign_and_anchor(&shared.store, &audit_signer, &cfg.data_dir).await {
        tracing::error!(error = %e, "signing audit heads at shutdown failed");
    }
    Ok(())
}
