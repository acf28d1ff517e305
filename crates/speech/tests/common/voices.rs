//! The speech directory `scripts/setup.sh` fills, and the embedded neural voices in it.

use std::path::PathBuf;

use parley_speech::hibari::{self, HibariPaths};
use parley_speech::neural::NeuralVoice;
use parley_speech::piper::{self, PiperPaths};
use parley_speech::Synthesizer;

/// `PARLEY_SPEECH_DIR`, else where `scripts/setup.sh` installs.
pub fn speech_dir() -> PathBuf {
    std::env::var("PARLEY_SPEECH_DIR").map(PathBuf::from).unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").expect("HOME")).join(".local/share/parley/speech"))
}

/// Piper's joe (a man's voice).
pub fn piper() -> NeuralVoice {
    piper::load(&PiperPaths::under(&speech_dir(), "en_US-joe-medium"), 1, 1).expect("Piper installed by scripts/setup.sh")
}

/// Every embedded neural voice.
pub fn voices() -> [NeuralVoice; 2] {
    [piper(), hibari::load(&HibariPaths::under(&speech_dir(), hibari::VOICE), 1, 1).expect("hibari installed by scripts/setup.sh")]
}

/// All of a synthesis (8 kHz), and how many chunks it came in.
pub async fn speak(voice: &NeuralVoice, text: &str) -> (Vec<i16>, usize) {
    let mut rx = voice.synthesize(text).expect("starts");
    let (mut pcm, mut chunks) = (Vec::new(), 0);
    while let Some(chunk) = rx.recv().await {
        pcm.extend(chunk);
        chunks += 1;
    }
    (pcm, chunks)
}
