//! `parley`: the Parley server and its command-line tools.
//!
//! - `parley serve`: SIP on 127.0.0.1:5060 (UDP and TCP), HTTP on 127.0.0.1:8080, data in
//!   ./parley-data, a demo tenant with the demo store agent at `sip:demo@<sip address>`.
//! - `parley chat AGENT`: the agent as text in the terminal.

mod admin;
mod agent_cli;
mod cli;
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
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use parley_agent::spec::AgentSpec;
use parley_connect::webhook::WebhookSender;
use parley_store::Store;

use crate::cli::{AgentCommand, Cli, Command, ServeArgs};
use crate::config::ServeConfig;

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
    let cfg = args.settings()?;
    // A transfer target goes into Refer-To: exactly a sip:, sips: or tel: URI, or nothing starts.
    let demo_transfer_to = match &cfg.demo_transfer_to {
        Some(to) => Some(parley_sip::uri::Uri::parse(to.trim()).map_err(|e| anyhow::anyhow!("--demo-transfer-to must be a sip:, sips: or tel: URI: {e}"))?),
        None => None,
    };
    let mut allowed = Vec::new();
    for net in &cfg.egress_allow {
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
