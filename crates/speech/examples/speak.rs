//! Writes a line in one of the embedded voices as an 8 kHz, 16-bit WAV (what a call carries):
//! the benches' callers speak with it.
//!
//! Usage: `cargo run --release -p parley-speech --example speak -- VOICE OUT.wav TEXT`, where
//! VOICE is `joe` (Piper), `heart` (hibari) or `espeak` (needs `scripts/setup.sh`).

use std::path::PathBuf;

use parley_speech::espeak::EspeakSynthesizer;
use parley_speech::hibari::{self, HibariPaths};
use parley_speech::piper::{self, PiperPaths};
use parley_speech::Synthesizer;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [voice, out, text] = args.as_slice() else {
        eprintln!("usage: speak joe|heart|espeak OUT.wav TEXT");
        std::process::exit(2);
    };
    let dir = std::env::var("PARLEY_SPEECH_DIR").map(PathBuf::from).unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".local/share/parley/speech"));
    let synthesizer: Box<dyn Synthesizer> = match voice.as_str() {
        "joe" => Box::new(piper::load(&PiperPaths::under(&dir, "en_US-joe-medium"), 1, 2).expect("Piper joe (run scripts/setup.sh)")),
        "heart" => Box::new(hibari::load(&HibariPaths::under(&dir, hibari::VOICE), 1, 2).expect("hibari (run scripts/setup.sh)")),
        "espeak" => Box::new(EspeakSynthesizer::default()),
        other => {
            eprintln!("unknown voice {other:?}: joe, heart or espeak");
            std::process::exit(2);
        }
    };
    let mut chunks = synthesizer.synthesize(text).expect("synthesis starts");
    let spec = hound::WavSpec { channels: 1, sample_rate: 8000, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut wav = hound::WavWriter::create(out, spec).expect("the WAV file can be written");
    while let Some(chunk) = chunks.recv().await {
        for s in chunk {
            wav.write_sample(s).expect("write");
        }
    }
    wav.finalize().expect("the WAV file is complete");
}
