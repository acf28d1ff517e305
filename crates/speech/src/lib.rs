//! # parley-speech
//!
//! Speech for Parley calls, behind small traits so engines are plugins:
//!
//! - [`vad::Endpointer`]: sans-IO voice activity detection and end-of-turn detection over 20 ms
//!   frames (input plus `now` in, events out).
//!   [`silero::SileroStream`] (Silero VAD through ONNX Runtime) tells speech from breathing and
//!   noise; the endpointer takes a frame as voiced only when both agree.
//! - [`Recognizer`]: turns one [`Utterance`] (8 kHz PCM) into text. The embedded engine is
//!   [`whisper_cpp::WhisperCppRecognizer`]: whisper.cpp in process, one model shared by all
//!   calls through a queue ([`asr_queue`]) with a budget of CPU threads ([`thread_budget`]) and
//!   guarded against decoder loops ([`whisper_guard`]); audio never leaves memory.
//! - [`Synthesizer`]: streams 8 kHz PCM for a text as it is produced. The embedded voice is
//!   [`hibari`] and [`piper`] ([`neural::NeuralVoice`]s in process through ONNX Runtime,
//!   sentence by sentence); [`espeak::EspeakSynthesizer`] (espeak-ng from Debian) is the
//!   fallback.
//! - [`cloud`]: Deepgram, OpenAI-compatible and ElevenLabs engines behind the same traits, and
//!   [`failover`], which puts the embedded engine behind a cloud one for when the provider fails.
//!
//! Choice and measurements: see this crate's README.md. Test with `cargo test -p parley-speech`
//! (the engine tests need `scripts/setup.sh` to have run).
#![deny(missing_docs)]
// One `unsafe` in the crate: whisper.cpp's abort callback (`whisper_cpp::nobody_waits`).
#![deny(unsafe_code)]

use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

use tokio::sync::mpsc;

pub mod asr_queue;
pub mod job_queue;
pub mod cloud;
pub mod espeak;
pub mod failover;
pub mod hibari;
pub mod log_mel;
pub mod minilm;
pub mod onnx;
pub mod neural;
pub mod piper;
pub mod resample;
pub mod sentences;
pub mod thread_budget;
pub mod silero;
pub mod smart_turn;
pub mod vad;
pub mod wer;
pub mod whisper_cpp;
pub mod whisper_guard;
pub mod wordpiece;

pub use asr_queue::Urgency;

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
    /// An early (speculative) decode was declined because turns are waiting: the turn is
    /// recognized when it ends instead.
    #[error("speech engine busy: early decode declined")]
    Busy,
}

impl SpeechError {
    /// Whether an early decode was declined under load (no failure).
    pub fn is_busy(&self) -> bool {
        matches!(self, SpeechError::Busy)
    }
}

/// A boxed future, so the traits stay object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One utterance for a recognizer.
#[derive(Clone, Copy, Debug)]
pub struct Utterance<'a> {
    /// 8 kHz mono PCM.
    pub pcm: &'a [i16],
    /// When the caller stopped speaking (who has waited longest goes first).
    pub speech_end: Instant,
    /// Whether the turn has ended or recognition started early at a pause.
    pub urgency: Urgency,
    /// What the caller is expected to say (e.g. "My order number is 1004."): recognizers that
    /// take a prompt are biased towards its words and its way of writing numbers.
    pub hint: Option<&'a str>,
}

impl<'a> Utterance<'a> {
    /// A finished turn that ended now, without a hint.
    pub fn ended(pcm: &'a [i16]) -> Utterance<'a> {
        Utterance { pcm, speech_end: Instant::now(), urgency: Urgency::TurnEnded, hint: None }
    }
}

/// Speech to text for one utterance.
pub trait Recognizer: Send + Sync {
    /// Transcribes an utterance. The text is the caller's words: never log it. Dropping the
    /// future gives the utterance up (a queued one is not decoded).
    fn transcribe<'a>(&'a self, utterance: Utterance<'a>) -> BoxFuture<'a, Result<String, SpeechError>>;

    /// Who receives the audio (a data-policy provider name): `embedded` for engines on this
    /// machine.
    fn provider(&self) -> &'static str {
        "embedded"
    }

    /// Every decoder is at work or utterances wait for one: the machine's cores are taken, and
    /// optional work (the end-of-turn model) should give way. `false` for engines elsewhere.
    fn busy(&self) -> bool {
        false
    }
}

/// Text to speech, streamed.
pub trait Synthesizer: Send + Sync {
    /// Starts synthesizing `text`; 8 kHz mono PCM chunks arrive on the receiver as they are made,
    /// and the channel closes at the end.
    fn synthesize(&self, text: &str) -> Result<mpsc::Receiver<Vec<i16>>, SpeechError>;

    /// Which voice this is (so audio cached for one voice is not played in another).
    fn voice_name(&self) -> &str;

    /// Who receives the text (a data-policy provider name): `embedded` for engines on this
    /// machine.
    fn provider(&self) -> &'static str {
        "embedded"
    }
}
