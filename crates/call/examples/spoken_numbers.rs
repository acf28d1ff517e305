//! Spoken order numbers, as an agent hears them: each phrase said in an embedded voice, after
//! 0, 0.1 or 0.3 s of silence, through a mu-law round trip, recognized by Whisper tiny.en with
//! the hint a number question gives it, and read as a 4-digit `gather` reads it.
//!
//! Usage: `cargo run --release -p parley-call --example spoken_numbers -- [VOICE...] [-v]
//! [--model base]`, VOICE among `joe` (Piper), `heart` (hibari, the agents' voice) and `espeak`;
//! all three by default; the recognizer tiny.en unless `--model` names another. Needs
//! `scripts/setup.sh`.

use std::path::PathBuf;

use parley_agent::conversation::{number_heard, NUMBER_HINT};
use parley_agent::flow::Gather;
use parley_speech::espeak::EspeakSynthesizer;
use parley_speech::hibari::{self, HibariPaths};
use parley_speech::piper::{self, PiperPaths};
use parley_speech::whisper_cpp::{WhisperCppConfig, WhisperCppRecognizer, WhisperModel};
use parley_speech::{Recognizer, Synthesizer, Urgency, Utterance};

/// What a caller says when asked for an order number, and the number it is: digit by digit,
/// in pairs, as a whole, with words around it.
const PHRASES: &[(&str, &str)] = &[
    ("one zero zero four", "1004"),
    ("It is one zero zero two.", "1002"),
    ("ten oh nine", "1009"),
    ("one thousand and six", "1006"),
    ("My order number is one zero zero seven.", "1007"),
    ("ten oh three, please", "1003"),
    ("one thousand five", "1005"),
    ("It's ten ten.", "1010"),
    ("twenty fifty seven", "2057"),
    ("ten forty two", "1042"),
    ("a thousand and eight", "1008"),
    ("one oh oh one", "1001"),
];

const LEADS_MS: [usize; 3] = [0, 100, 300];

fn voice(name: &str, dir: &std::path::Path) -> Box<dyn Synthesizer> {
    match name {
        "joe" => Box::new(piper::load(&PiperPaths::under(dir, "en_US-joe-medium"), 1, 2).expect("Piper joe (run scripts/setup.sh)")),
        "heart" => Box::new(hibari::load(&HibariPaths::under(dir, hibari::VOICE), 1, 2).expect("hibari (run scripts/setup.sh)")),
        "espeak" => Box::new(EspeakSynthesizer::default()),
        other => panic!("unknown voice {other:?}: joe, heart or espeak"),
    }
}

async fn said(synthesizer: &dyn Synthesizer, text: &str) -> Vec<i16> {
    let mut chunks = synthesizer.synthesize(text).expect("synthesis starts");
    let mut pcm = Vec::new();
    while let Some(chunk) = chunks.recv().await {
        pcm.extend(chunk);
    }
    pcm
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let verbose = args.iter().any(|a| a == "-v");
    let model: WhisperModel = args.iter().position(|a| a == "--model").and_then(|i| args.get(i + 1)).map_or(Ok(WhisperModel::TinyEn), |m| m.parse()).expect("--model tiny.en or base");
    let mut voices: Vec<&str> = args.iter().enumerate().filter(|(i, a)| !a.starts_with('-') && (*i == 0 || args[i - 1] != "--model")).map(|(_, a)| a.as_str()).collect();
    if voices.is_empty() {
        voices = vec!["joe", "heart", "espeak"];
    }
    let dir = std::env::var("PARLEY_SPEECH_DIR").map(PathBuf::from).unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".local/share/parley/speech"));
    let asr = WhisperCppRecognizer::load(&WhisperCppConfig { model_path: model.path_under(&dir), decoders: 1, threads: 2 }).expect("the model installed by scripts/setup.sh");
    let gather: Gather = serde_json::from_value(serde_json::json!({"id": "order", "expect": "number", "digits": {"min": 4, "max": 4}})).expect("a gather");
    for name in voices {
        let synthesizer = voice(name, &dir);
        let (mut right, mut takes) = (0, 0);
        for (text, number) in PHRASES {
            let speech = said(synthesizer.as_ref(), text).await;
            for lead in LEADS_MS {
                let pcm: Vec<i16> = std::iter::repeat_n(0, lead * 8).chain(speech.iter().copied()).map(|s| parley_media::g711::ulaw_to_linear(parley_media::g711::linear_to_ulaw(s))).collect();
                let heard = asr.transcribe(Utterance { pcm: &pcm, speech_end: std::time::Instant::now(), urgency: Urgency::TurnEnded, hint: Some(NUMBER_HINT) }).await.unwrap_or_default();
                let read = number_heard(&gather, &heard);
                takes += 1;
                right += usize::from(read.as_deref() == Some(*number));
                if verbose || read.as_deref() != Some(*number) {
                    println!("  {name:<6} {lead:>3} ms  {text:<42} heard {heard:<40} read {}", read.as_deref().unwrap_or("-"));
                }
            }
        }
        println!("{name}: {right} of {takes} right");
    }
}
