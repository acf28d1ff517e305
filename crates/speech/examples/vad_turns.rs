//! Whether the endpointer takes each 8 kHz WAV file for a turn, wherever it falls on Silero's 32
//! ms chunks: each file is played after 1 s of quiet line plus 0 to 300 ms (16 offsets), through
//! a mu-law round trip, with 2 s of quiet line after it. Prints, per file, the offsets that made
//! a turn, or with `--events` the frames of each event (S: speech started, P: paused, E: turn
//! ended). `--level` uses the level gate alone; `--min-speech MS` changes `min_speech`.
//! Usage: `cargo run --release -p parley-speech --example vad_turns -- [--level] [--events]
//! [--min-speech MS] FILE...` (needs `scripts/setup.sh` for Silero VAD).

use std::time::{Duration, Instant};

use parley_media::g711::{linear_to_ulaw, ulaw_to_linear};
use parley_speech::silero::{self, SileroModel};
use parley_speech::vad::{Endpointer, EndpointerConfig, VadEvent};

/// A quiet line: small deterministic noise (about -62 dBFS).
fn line(samples: usize) -> impl Iterator<Item = i16> {
    let mut x: u32 = 12345;
    (0..samples).map(move |_| {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        ((x >> 16) % 21) as i16 - 10
    })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| args.iter().any(|a| a == name);
    let min_speech = args.iter().position(|a| a == "--min-speech").and_then(|i| args.get(i + 1)).and_then(|m| m.parse().ok());
    let files: Vec<&String> = args.iter().enumerate().filter(|(i, a)| !a.starts_with("--") && (*i == 0 || args[i - 1] != "--min-speech")).map(|(_, a)| a).collect();
    let dir = std::path::PathBuf::from(std::env::var("PARLEY_SPEECH_DIR").unwrap_or_else(|_| format!("{}/.local/share/parley/speech", std::env::var("HOME").unwrap_or_default())));
    let model = (!flag("--level")).then(|| SileroModel::load(&dir.join("libonnxruntime.so"), &silero::model_path(&dir)).expect("Silero VAD installed by scripts/setup.sh"));
    let mut cfg = EndpointerConfig::default();
    if let Some(ms) = min_speech {
        cfg.min_speech = Duration::from_millis(ms);
    }
    let (mut turns, mut all) = (0, 0);
    for path in files {
        let pcm: Vec<i16> = hound::WavReader::open(path).expect("a WAV file").samples::<i16>().map(|s| s.unwrap_or(0)).collect();
        let mut rows = Vec::new();
        let mut made = 0;
        for offset in (0..320).step_by(20) {
            let audio: Vec<i16> = line(8000 + offset).chain(pcm.iter().zip(line(pcm.len())).map(|(&s, n)| s.saturating_add(n))).chain(line(16000)).map(|s| ulaw_to_linear(linear_to_ulaw(s))).collect();
            let mut ep = Endpointer::with_model(cfg.clone(), model.as_ref().map(SileroModel::stream));
            let t0 = Instant::now();
            let mut events = Vec::new();
            for (i, f) in audio.chunks_exact(160).enumerate() {
                match ep.push_frame(t0 + Duration::from_millis(20 * i as u64), f) {
                    Some(VadEvent::SpeechStarted) => events.push(format!("S{i}")),
                    Some(VadEvent::Paused { .. }) => events.push(format!("P{i}")),
                    Some(VadEvent::Resumed) => events.push(format!("R{i}")),
                    Some(VadEvent::TurnEnded { .. }) => events.push(format!("E{i}")),
                    None => {}
                }
            }
            let turn = events.iter().any(|e| e.starts_with('E'));
            made += usize::from(turn);
            rows.push(if flag("--events") { format!("{offset}: {}", events.join(" ")) } else if turn { offset.to_string() } else { format!("({offset})") });
        }
        turns += made;
        all += 16;
        println!("{path}: {made}/16 turns  {}", rows.join(" | "));
    }
    println!("all: {turns}/{all} turns");
}
