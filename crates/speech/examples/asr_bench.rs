//! Recognizer benchmark: word error rate, real-time factor and the time from end of audio to
//! text, on recorded human prompts through a mu-law line, clean and with noise at 15 dB SNR.
//!
//! Usage: `cargo run --release -p parley-speech --example asr_bench -- [tiny.en|base] [count]`
//! (needs `scripts/setup.sh --test-peers`). Prints one line per set and the misheard prompts.

#[path = "../tests/common/prompts.rs"]
mod prompts;

use std::time::Instant;

use parley_speech::whisper_cpp::{WhisperCppConfig, WhisperCppRecognizer, WhisperModel};
use parley_speech::{wer, Recognizer, Urgency, Utterance};

fn peak_rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok()).unwrap_or(0) / 1024
}

fn percentile(sorted: &[u64], p: f32) -> u64 {
    sorted.get(((sorted.len() as f32 - 1.0) * p).round() as usize).copied().unwrap_or(0)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let model: WhisperModel = args.get(1).map_or("tiny.en", |s| s.as_str()).parse().expect("model");
    let count: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(40);
    let dir = std::env::var("PARLEY_SPEECH_DIR").unwrap_or_else(|_| format!("{}/.local/share/parley/speech", std::env::var("HOME").unwrap_or_default()));
    let config = WhisperCppConfig { model_path: model.path_under(std::path::Path::new(&dir)), decoders: 1, threads: 2 };
    let r = WhisperCppRecognizer::load(&config).expect("model installed by scripts/setup.sh");
    let set = prompts::load(1.5, 6.0, count);
    let audio_s: f32 = set.iter().map(prompts::Prompt::seconds).sum();
    println!("model {} | {} prompts, {:.0} s of speech | 2 threads", model.name(), set.len(), audio_s);
    for (label, noisy) in [("clean", false), ("noisy 15 dB", true)] {
        let (mut edits, mut words, mut busy) = (0, 0, 0.0f32);
        let mut short_ms = Vec::new();
        let mut misheard = Vec::new();
        for p in &set {
            let pcm = if noisy { prompts::with_noise(&p.pcm, 15.0) } else { p.pcm.clone() };
            let started = Instant::now();
            let text = r.transcribe(Utterance { pcm: &pcm, speech_end: started, urgency: Urgency::TurnEnded, hint: None }).await.expect("decodes");
            let took = started.elapsed();
            busy += took.as_secs_f32();
            if (2.0..=3.0).contains(&p.seconds()) {
                short_ms.push(took.as_millis() as u64);
            }
            let (e, n) = wer::errors(&p.text, &text);
            if e > 0 {
                misheard.push(format!("  {}: {:?} -> {:?}", p.name, p.text, text));
            }
            edits += e;
            words += n;
        }
        short_ms.sort_unstable();
        println!(
            "{label}: WER {:.1}% ({edits}/{words}) | RTF {:.3} | end of audio to text, 2-3 s utterances (n={}): median {} ms, max {} ms | peak RSS {} MiB",
            100.0 * edits as f32 / words as f32,
            busy / audio_s,
            short_ms.len(),
            percentile(&short_ms, 0.5),
            short_ms.last().copied().unwrap_or(0),
            peak_rss_mib()
        );
        for m in misheard {
            println!("{m}");
        }
    }
}
