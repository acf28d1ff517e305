//! ONNX Runtime, loaded once per process from the shared library that `scripts/setup.sh`
//! unpacks from the PyPI `onnxruntime` wheel (nothing is downloaded at build or run time).
//! The neural voice and the voice-activity model share it.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;

use crate::SpeechError;

static LOADED: Mutex<bool> = Mutex::new(false);

/// Where `scripts/setup.sh` puts the runtime's library under the speech directory.
pub fn library_under(speech_dir: &Path) -> PathBuf {
    speech_dir.join("libonnxruntime.so")
}

/// Loads the runtime from `library` unless it is loaded already.
pub fn init(library: &Path) -> Result<(), SpeechError> {
    let mut loaded = LOADED.lock().unwrap_or_else(|p| p.into_inner());
    if *loaded {
        return Ok(());
    }
    if !library.is_file() {
        return Err(SpeechError::Unavailable(format!("onnxruntime: no library at {}", library.display())));
    }
    ort::init_from(library.display().to_string()).with_name("parley").commit().map_err(|e| SpeechError::Unavailable(format!("onnxruntime: {e}")))?;
    *loaded = true;
    Ok(())
}

/// A session of the model at `model` (`what` names it in errors) on one thread that sleeps
/// when idle: for the small models that run inline on a call's task. Blocking (tens of ms).
pub fn single_thread_session(onnxruntime: &Path, model: &Path, what: &str) -> Result<Session, SpeechError> {
    init(onnxruntime)?;
    session(model, 1, what)
}

/// A session of the model at `model` on `threads` CPU threads (the runtime loaded with
/// [`init`]). Idle threads sleep instead of spinning: on a small machine the calls' media
/// timers need those cores between runs. Blocking.
pub fn session(model: &Path, threads: usize, what: &str) -> Result<Session, SpeechError> {
    Session::builder()
        .and_then(|b| b.with_optimization_level(GraphOptimizationLevel::Level3))
        .and_then(|b| b.with_intra_threads(threads.max(1)))
        .and_then(|b| b.with_inter_threads(1))
        .and_then(|b| b.with_intra_op_spinning(false))
        .and_then(|b| b.commit_from_file(model))
        .map_err(|e| SpeechError::Unavailable(format!("{what}: {e}")))
}
