//! ONNX Runtime, loaded once per process from the shared library that `scripts/setup.sh`
//! unpacks from the PyPI `onnxruntime` wheel (nothing is downloaded at build or run time).
//! The neural voice and the voice-activity model share it.

use std::path::Path;
use std::sync::Mutex;

use crate::SpeechError;

static LOADED: Mutex<bool> = Mutex::new(false);

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
