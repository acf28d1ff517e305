//! Recorded human speech with its transcript: the Asterisk core prompts (Debian
//! `asterisk-core-sounds-en-wav`, 8 kHz WAV; the texts are in `asterisk-core-sounds-en`'s
//! `core-sounds-en.txt.gz`), installed by `scripts/setup.sh --test-peers`. Shared by the
//! recognizer's tests and `examples/asr_bench.rs`.

#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use parley_media::g711::{linear_to_ulaw, ulaw_to_linear};

const SOUNDS: &str = "/usr/share/asterisk/sounds/en";
const TEXTS: &str = "/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz";

/// One prompt.
pub struct Prompt {
    /// File name without `.wav`.
    pub name: String,
    /// What is said.
    pub text: String,
    /// 8 kHz audio after a mu-law round trip (what a phone line delivers).
    pub pcm: Vec<i16>,
}

impl Prompt {
    /// Length in seconds.
    pub fn seconds(&self) -> f32 {
        self.pcm.len() as f32 / 8000.0
    }
}

/// The transcript listing (`name: text` lines), read once.
fn listing() -> &'static str {
    static LISTING: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    LISTING.get_or_init(|| {
        let out = Command::new("zcat").arg(TEXTS).output().expect("zcat");
        assert!(out.status.success() && Path::new(SOUNDS).is_dir(), "recorded prompts missing: run scripts/setup.sh --test-peers");
        String::from_utf8_lossy(&out.stdout).into_owned()
    })
}

/// Prompts between `min_s` and `max_s` seconds long whose transcript is words only (no
/// `[tone]` descriptions, no ellipsis), in file-name order, at most `limit`.
pub fn load(min_s: f32, max_s: f32, limit: usize) -> Vec<Prompt> {
    let mut entries: Vec<(String, String)> = listing()
        .lines()
        .filter_map(|l| l.split_once(": "))
        .filter(|(name, text)| !name.contains('/') && !name.starts_with(';') && !text.contains('[') && !text.contains("...") && !text.contains('<'))
        .map(|(n, t)| (n.trim().to_string(), t.trim().to_string()))
        .collect();
    entries.sort();
    let mut prompts = Vec::new();
    for (name, text) in entries {
        let Some(pcm) = read(&name) else { continue };
        let p = Prompt { name, text, pcm };
        if (min_s..=max_s).contains(&p.seconds()) {
            prompts.push(p);
            if prompts.len() == limit {
                break;
            }
        }
    }
    prompts
}

/// What prompt `name` (e.g. `digits/4`, `followme/sorry`) says, from the transcript listing,
/// without the listing's ellipses.
pub fn text_of(name: &str) -> Option<String> {
    listing().lines().filter_map(|l| l.split_once(": ")).find(|(n, _)| n.trim() == name).map(|(_, t)| t.trim().replace("...", " ").trim().to_string())
}

/// One prompt by file name (e.g. `digits/4`), through a mu-law round trip, without its
/// transcript.
pub fn by_name(name: &str) -> Vec<i16> {
    read(name).unwrap_or_else(|| panic!("{name}: no 8 kHz 16-bit mono WAV (run scripts/setup.sh --test-peers)"))
}

/// A prompt's 8 kHz 16-bit mono audio after a mu-law round trip (`None`: missing or another format).
fn read(name: &str) -> Option<Vec<i16>> {
    let reader = hound::WavReader::open(format!("{SOUNDS}/{name}.wav")).ok()?;
    let spec = reader.spec();
    if spec.sample_rate != 8000 || spec.channels != 1 || spec.bits_per_sample != 16 {
        return None;
    }
    Some(reader.into_samples::<i16>().filter_map(Result::ok).map(|s| ulaw_to_linear(linear_to_ulaw(s))).collect())
}

/// `pcm` with white noise added at `snr_db` (deterministic: a fixed-seed generator).
pub fn with_noise(pcm: &[i16], snr_db: f32) -> Vec<i16> {
    let power = pcm.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / pcm.len().max(1) as f64;
    let noise_rms = (power / 10f64.powf(f64::from(snr_db) / 10.0)).sqrt();
    pcm.iter().zip(white_noise(noise_rms)).map(|(&s, n)| ulaw_to_linear(linear_to_ulaw((f64::from(s) + n).clamp(-32768.0, 32767.0) as i16))).collect()
}

/// `samples` of white noise of RMS `rms` alone, as a mu-law line delivers it (deterministic).
pub fn noise(samples: usize, rms: f64) -> Vec<i16> {
    white_noise(rms).take(samples).map(|n| ulaw_to_linear(linear_to_ulaw(n.clamp(-32768.0, 32767.0) as i16))).collect()
}

/// Near-Gaussian white noise of RMS `rms` from a fixed-seed xorshift generator.
fn white_noise(rms: f64) -> impl Iterator<Item = f64> {
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    std::iter::repeat_with(move || {
        // Sum of 4 uniforms: close enough to Gaussian, unit variance after scaling.
        let mut u = 0.0;
        for _ in 0..4 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            u += (seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
        }
        u * (12.0f64 / 4.0).sqrt() * rms
    })
}
