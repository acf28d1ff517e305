//! Prints what Whisper (tiny.en, or base with `MODEL=base`) hears in 8 kHz WAV files after a mu-law round trip, without and
//! with a hint (`HINT`, default "My order number is 1004."), and how long each decode took.
//! Usage: `[HINT=TEXT] [MODEL=base] cargo run --release -p parley-speech --example transcribe_files -- FILE...`

use parley_speech::whisper_cpp::{WhisperCppConfig, WhisperCppRecognizer, WhisperModel};
use parley_speech::{Recognizer, Urgency, Utterance};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let dir = std::env::var("PARLEY_SPEECH_DIR").unwrap_or_else(|_| format!("{}/.local/share/parley/speech", std::env::var("HOME").unwrap_or_default()));
    let model = if std::env::var("MODEL").is_ok_and(|m| m == "base") { WhisperModel::Base } else { WhisperModel::TinyEn };
    let config = WhisperCppConfig { model_path: model.path_under(std::path::Path::new(&dir)), decoders: 1, threads: 2 };
    let r = WhisperCppRecognizer::load(&config).expect("the model installed by scripts/setup.sh");
    let hint = std::env::var("HINT").unwrap_or_else(|_| "My order number is 1004.".into());
    for path in std::env::args().skip(1) {
        let pcm: Vec<i16> = hound::WavReader::open(&path).expect("a WAV file").samples::<i16>().map(|s| s.unwrap_or(0)).collect();
        let pcm: Vec<i16> = pcm.iter().map(|&s| parley_media::g711::ulaw_to_linear(parley_media::g711::linear_to_ulaw(s))).collect();
        for hint in [None, Some(hint.as_str())] {
            let started = std::time::Instant::now();
            let text = r.transcribe(Utterance { pcm: &pcm, speech_end: std::time::Instant::now(), urgency: Urgency::TurnEnded, hint }).await.expect("decodes");
            println!("{path} hint={} {} ms: {text}", hint.is_some(), started.elapsed().as_millis());
        }
    }
}
