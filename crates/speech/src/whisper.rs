//! The embedded recognizer: Whisper base run by faster-whisper (CTranslate2, int8) in a worker
//! process. The worker script is compiled into this crate and passed with `python -c`; audio
//! goes over its stdin and text comes back on its stdout, so nothing reaches disk.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::Mutex;

use crate::{BoxFuture, Recognizer, SpeechError};

/// The worker program (see `worker/whisper_worker.py`).
pub const WORKER_SCRIPT: &str = include_str!("../worker/whisper_worker.py");

/// Where the setup script puts the engine: `<dir>/venv/bin/python` and `<dir>/whisper-base/`.
#[derive(Clone, Debug)]
pub struct WhisperPaths {
    /// The Python interpreter of the venv that has faster-whisper.
    pub python: PathBuf,
    /// The CTranslate2 model directory.
    pub model: PathBuf,
}

impl WhisperPaths {
    /// The layout `scripts/setup.sh` installs under `speech_dir`.
    pub fn under(speech_dir: &Path) -> WhisperPaths {
        WhisperPaths { python: speech_dir.join("venv/bin/python"), model: speech_dir.join("whisper-base") }
    }

    /// Whether both exist.
    pub fn installed(&self) -> bool {
        self.python.exists() && self.model.join("model.bin").exists()
    }
}

struct Worker {
    _child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Worker {
    async fn start(paths: &WhisperPaths, threads: usize) -> Result<Worker, SpeechError> {
        let mut child = Command::new(&paths.python)
            .arg("-u")
            .arg("-c")
            .arg(WORKER_SCRIPT)
            .arg(&paths.model)
            .arg(threads.to_string())
            .env("HF_HUB_OFFLINE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| SpeechError::Unavailable(format!("{}: {e}", paths.python.display())))?;
        let stdin = child.stdin.take().ok_or_else(|| SpeechError::Unavailable("no stdin".into()))?;
        let stdout = child.stdout.take().ok_or_else(|| SpeechError::Unavailable("no stdout".into()))?;
        let mut w = Worker { _child: child, stdin, stdout: BufReader::new(stdout) };
        let hello = w.read_frame().await?;
        if hello != b"ready" {
            return Err(SpeechError::Protocol("worker did not say ready".into()));
        }
        Ok(w)
    }

    async fn read_frame(&mut self) -> Result<Vec<u8>, SpeechError> {
        let n = self.stdout.read_u32_le().await.map_err(|e| SpeechError::Unavailable(format!("worker exited: {e}")))?;
        if n > 1 << 20 {
            return Err(SpeechError::Protocol("oversized reply".into()));
        }
        let mut buf = vec![0; n as usize];
        self.stdout.read_exact(&mut buf).await?;
        Ok(buf)
    }

    async fn transcribe(&mut self, pcm: &[i16]) -> Result<String, SpeechError> {
        let mut msg = Vec::with_capacity(4 + pcm.len() * 2);
        msg.extend_from_slice(&(pcm.len() as u32).to_le_bytes());
        for s in pcm {
            msg.extend_from_slice(&s.to_le_bytes());
        }
        self.stdin.write_all(&msg).await?;
        self.stdin.flush().await?;
        let text = self.read_frame().await?;
        String::from_utf8(text).map_err(|_| SpeechError::Protocol("reply not UTF-8".into()))
    }
}

/// See the module docs. One worker, one utterance at a time; it is restarted if it dies.
pub struct WhisperRecognizer {
    paths: WhisperPaths,
    threads: usize,
    worker: Mutex<Option<Worker>>,
}

impl WhisperRecognizer {
    /// Starts the worker and waits until the model is loaded.
    pub async fn start(paths: WhisperPaths, threads: usize) -> Result<WhisperRecognizer, SpeechError> {
        let worker = Worker::start(&paths, threads).await?;
        Ok(WhisperRecognizer { paths, threads, worker: Mutex::new(Some(worker)) })
    }
}

impl Recognizer for WhisperRecognizer {
    fn transcribe<'a>(&'a self, pcm: &'a [i16]) -> BoxFuture<'a, Result<String, SpeechError>> {
        Box::pin(async move {
            let mut guard = self.worker.lock().await;
            if guard.is_none() {
                *guard = Some(Worker::start(&self.paths, self.threads).await?);
            }
            let Some(worker) = guard.as_mut() else { return Err(SpeechError::Unavailable("no worker".into())) };
            match worker.transcribe(pcm).await {
                Ok(text) => Ok(text),
                Err(e) => {
                    *guard = None;
                    Err(e)
                }
            }
        })
    }
}
