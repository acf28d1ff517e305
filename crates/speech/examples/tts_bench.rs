//! Synthesis benchmark: time to first audio, real-time factor, and intelligibility (the word
//! error rate of the Whisper recognizer on the voice after a mu-law round trip), for the Piper
//! voice and for espeak-ng.
//!
//! Usage: `cargo run --release -p parley-speech --example tts_bench` (needs `scripts/setup.sh`).

use std::path::PathBuf;
use std::time::Instant;

use parley_media::g711::{linear_to_ulaw, ulaw_to_linear};
use parley_speech::espeak::EspeakSynthesizer;
use parley_speech::hibari::{self, HibariPaths};
use parley_speech::piper::{self, PiperPaths};
use parley_speech::whisper_cpp::{WhisperCppConfig, WhisperCppRecognizer, WhisperModel};
use parley_speech::{wer, Recognizer, Synthesizer, Utterance};

const LINES: [&str; 12] = [
    "Thanks for calling. How can I help you today?",
    "Your order has shipped and should arrive on Thursday.",
    "We are open from nine to five, Monday to Friday.",
    "I will put you through to a colleague now.",
    "Could you tell me your order number, please?",
    "I could not find that order. Could you say the number again?",
    "Your payment was received. Is there anything else I can help with?",
    "The balance on this order is twenty four dollars.",
    "I have taken a message, and someone will call you back.",
    "Sorry, I did not catch that.",
    "Our store is closed on Sundays and public holidays.",
    "Thank you for calling. Goodbye!",
];

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v[v.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = std::env::var("PARLEY_SPEECH_DIR").map(PathBuf::from).unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".local/share/parley/speech"));
    let asr = WhisperCppRecognizer::load(&WhisperCppConfig { model_path: WhisperModel::Base.path_under(&dir), decoders: 1, threads: 2 }).expect("whisper base");
    let piper = piper::load(&PiperPaths::under(&dir, "en_US-joe-medium"), 1, 2).expect("piper voice");
    let hibari = hibari::load(&HibariPaths::under(&dir, hibari::VOICE), 1, 2).expect("hibari voice");
    let voices: [(&str, Box<dyn Synthesizer>); 3] = [("hibari heart", Box::new(hibari)), ("piper en_US-joe-medium", Box::new(piper)), ("espeak-ng en-us", Box::new(EspeakSynthesizer::default()))];
    println!("{} lines, intelligibility judged by Whisper base after mu-law; 2 cores", LINES.len());
    for (name, voice) in voices {
        let _ = voice.synthesize("Warm up.").expect("starts").recv().await;
        let (mut first_ms, mut edits, mut words, mut busy, mut audio_s) = (Vec::new(), 0, 0, 0.0, 0.0);
        for line in LINES {
            let started = Instant::now();
            let mut rx = voice.synthesize(line).expect("starts");
            let mut pcm = Vec::new();
            while let Some(chunk) = rx.recv().await {
                if pcm.is_empty() && !chunk.is_empty() {
                    first_ms.push(started.elapsed().as_millis() as u64);
                }
                pcm.extend(chunk);
            }
            busy += started.elapsed().as_secs_f32();
            audio_s += pcm.len() as f32 / 8000.0;
            let heard_pcm: Vec<i16> = pcm.iter().map(|&s| ulaw_to_linear(linear_to_ulaw(s))).collect();
            let text = asr.transcribe(Utterance::ended(&heard_pcm)).await.expect("recognized");
            let (e, n) = wer::errors(line, &text);
            if e > 0 {
                println!("  {line:?} -> {text:?}");
            }
            edits += e;
            words += n;
        }
        println!(
            "{name}: first audio median {} ms (max {} ms) | RTF {:.3} | intelligibility WER {:.1}% ({edits}/{words})",
            median(first_ms.clone()),
            first_ms.iter().max().copied().unwrap_or(0),
            busy / audio_s,
            100.0 * edits as f32 / words as f32
        );
    }
}
