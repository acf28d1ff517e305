//! hibari (PyPI `hibari-tts` 0.2.1, Apache-2.0): a 7.9 MB voice distilled from one Kokoro-82M
//! voice (af_heart: American English, female), run in process by ONNX Runtime. The network
//! reads misaki phonemes and predicts a spectrum; [`vocoder`] makes it audio at 24 kHz.
//! Measured here (`../shared/SPEECH.md`): about 25 ms to the first audio of a sentence and 1.4%
//! intelligibility WER through mu-law, against Piper's 108 ms and 1.8%.
//!
//! The phonemes are espeak-ng's, put into misaki's alphabet ([`misaki`]) the way misaki itself
//! reads words its dictionaries lack; hibari's own text front end (misaki's dictionaries, a
//! part-of-speech tagger, a letter-to-sound network) is not ported. Streaming and scheduling:
//! [`crate::neural`].

pub mod misaki;
pub mod vocoder;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use ort::session::Session;
use ort::value::Tensor;

use crate::neural::{single_char, Model, NeuralVoice};
use crate::SpeechError;
use vocoder::{Frames, Vocoder, BINS, SAMPLE_RATE};

/// The voice in the wheel.
pub const VOICE: &str = "heart";

/// Sentences with more phonemes than this are made in parts split at a clause mark (hibari's
/// `MAX_PHONEMES`).
const MAX_PHONEMES: usize = 400;

/// Applied to the vocoder's output (+8 dB).
const GAIN: f32 = 2.5;

/// Where `scripts/setup.sh` puts hibari: `hibari/<voice>.onnx` and `hibari/vocab.json`.
#[derive(Clone, Debug)]
pub struct HibariPaths {
    /// ONNX Runtime's shared library.
    pub onnxruntime: PathBuf,
    /// The voice model.
    pub model: PathBuf,
    /// The phoneme alphabet (character to input id).
    pub vocab: PathBuf,
}

impl HibariPaths {
    /// The layout under the speech directory for `voice` ([`VOICE`]).
    pub fn under(speech_dir: &Path, voice: &str) -> HibariPaths {
        HibariPaths {
            onnxruntime: crate::onnx::library_under(speech_dir),
            model: speech_dir.join("hibari").join(format!("{voice}.onnx")),
            vocab: speech_dir.join("hibari").join("vocab.json"),
        }
    }

    /// Whether all three files are there.
    pub fn installed(&self) -> bool {
        self.onnxruntime.is_file() && self.model.is_file() && self.vocab.is_file()
    }
}

/// Loads the runtime and the voice and starts `sessions` session threads, each running on
/// `threads` CPU threads. Blocking (well under a second).
pub fn load(paths: &HibariPaths, sessions: usize, threads: usize) -> Result<NeuralVoice, SpeechError> {
    let vocab: HashMap<String, i64> = serde_json::from_slice(&std::fs::read(&paths.vocab)?).map_err(|e| SpeechError::Unavailable(format!("hibari vocab: {e}")))?;
    let vocab: HashMap<char, i64> = vocab.into_iter().filter_map(|(k, v)| Some((single_char(&k)?, v))).collect();
    let clause_marks: Vec<i64> = [',', ';', ':'].iter().filter_map(|c| vocab.get(c).copied()).collect();
    crate::onnx::init(&paths.onnxruntime)?;
    // Each session's noise starts elsewhere; the noise is a texture, not a secret.
    static SEED: AtomicU64 = AtomicU64::new(0x5EED);
    let mut runs: Vec<crate::neural::Session> = Vec::new();
    for _ in 0..sessions.max(1) {
        let mut session = crate::onnx::session(&paths.model, threads, "hibari model")?;
        let mut vocoder = Vocoder::new(SEED.fetch_add(0x9E37_79B9, Ordering::Relaxed));
        let marks = clause_marks.clone();
        runs.push(Box::new(move |ids| {
            let mut audio = Vec::new();
            for part in parts(&ids, &marks) {
                audio.extend(infer(&mut session, &mut vocoder, part)?);
            }
            trim_lead(&mut audio);
            Ok(audio)
        }));
    }
    let model = Model {
        name: format!("hibari:{}", paths.model.file_stem().map(|s| s.to_string_lossy()).unwrap_or_default()),
        sample_rate: SAMPLE_RATE,
        espeak_voice: "en-us".into(),
        tie: true,
        ids: Box::new(move |ipa| phoneme_ids(&vocab, &misaki::from_espeak(ipa))),
    };
    NeuralVoice::start(model, runs)
}

/// Quieter than this is silence (about -46 dBFS).
const QUIET: u16 = 160;
/// Silence kept before a sentence's first sound (10 ms at 24 kHz): what is quieter than
/// [`QUIET`] before it is not heard over a phone line, and every millisecond of it is heard as
/// wait for the reply.
const LEAD: usize = 240;

/// Drops a sentence's leading silence but [`LEAD`]: the model begins each sentence with about
/// 300 ms of it (the opening pad's duration), which a caller hears as that much more wait for
/// the reply. Later sentences keep the silence that ends the one before them.
fn trim_lead(audio: &mut Vec<i16>) {
    if let Some(first) = audio.iter().position(|s| s.unsigned_abs() > QUIET) {
        audio.drain(..first.saturating_sub(LEAD));
    }
}

/// The pad 0, each known phoneme's id, the pad 0 (hibari's `ids`).
fn phoneme_ids(vocab: &HashMap<char, i64>, phonemes: &str) -> Vec<i64> {
    let mut ids = vec![0];
    ids.extend(phonemes.chars().filter_map(|c| vocab.get(&c).copied()));
    ids.push(0);
    ids
}

/// A sentence's ids in parts of at most [`MAX_PHONEMES`], each padded: cut after the last
/// clause mark that fits, or at the limit when there is none.
fn parts(ids: &[i64], clause_marks: &[i64]) -> Vec<Vec<i64>> {
    let inner = ids.get(1..ids.len().saturating_sub(1)).unwrap_or_default();
    let mut out = Vec::new();
    let mut rest = inner;
    while !rest.is_empty() {
        let cut = if rest.len() <= MAX_PHONEMES { rest.len() } else { rest[..MAX_PHONEMES].iter().rposition(|id| clause_marks.contains(id)).map_or(MAX_PHONEMES, |i| i + 1) };
        let mut part = vec![0];
        part.extend(&rest[..cut]);
        part.push(0);
        out.push(part);
        rest = &rest[cut..];
    }
    out
}

/// One part's audio at 24 kHz (hibari's `from_ids` at speed 1.0).
fn infer(session: &mut Session, vocoder: &mut Vocoder, ids: Vec<i64>) -> Result<Vec<i16>, SpeechError> {
    if ids.len() < 3 {
        return Ok(Vec::new());
    }
    let err = |e: ort::Error| SpeechError::Protocol(format!("onnxruntime: {e}"));
    let n = ids.len();
    let input = Tensor::from_array(([1usize, n], ids)).map_err(err)?;
    let speed = Tensor::from_array(([1usize], vec![1.0f32])).map_err(err)?;
    let outputs = session.run(ort::inputs!["ids" => input, "speed" => speed]).map_err(err)?;
    if outputs.len() != 6 {
        return Err(SpeechError::Protocol(format!("hibari: {} outputs, not 6", outputs.len())));
    }
    let mut parts = Vec::with_capacity(6);
    for i in 0..6 {
        let (_, values) = outputs[i].try_extract_tensor::<f32>().map_err(err)?;
        parts.push(values);
    }
    let frames = parts[5].len();
    if parts[..5].iter().any(|p| p.len() != BINS * frames) {
        return Err(SpeechError::Protocol(format!("hibari: outputs do not hold {BINS} bins for {frames} frames")));
    }
    let audio = vocoder
        .synthesize(&Frames { lh: parts[0], th: parts[1], ln: parts[2], lr: parts[3], phi: parts[4], f0: parts[5] })
        .map_err(|e| SpeechError::Protocol(format!("hibari: {}", e.0)))?;
    // The model speaks at about -27 dBFS (RMS); 8 dB more puts it near Piper's level on the line.
    Ok(audio.iter().map(|s| (s * GAIN).clamp(-1.0, 1.0) * 32767.0).map(|s| s as i16).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sentence_starts_10_ms_before_its_first_sound() {
        let mut audio = vec![0i16; 7200];
        audio.extend([3000, -3000, 0, 0]);
        trim_lead(&mut audio);
        assert_eq!(audio.len(), LEAD + 4);
        assert_eq!(audio[LEAD], 3000);
        let mut short = vec![0i16, 5, 4000];
        trim_lead(&mut short);
        assert_eq!(short, [0, 5, 4000], "less than the lead is kept");
        let mut silent = vec![0i16; 100];
        trim_lead(&mut silent);
        assert_eq!(silent.len(), 100);
    }

    #[test]
    fn phonemes_become_ids_between_pads() {
        let vocab: HashMap<char, i64> = [('h', 50), ('ə', 83), ('l', 54), ('ˈ', 156), ('O', 31), ('.', 4)].into_iter().collect();
        assert_eq!(phoneme_ids(&vocab, "həlˈO.?"), [0, 50, 83, 54, 156, 31, 4, 0], "unknown characters are left out");
    }

    #[test]
    fn a_long_sentence_is_made_in_parts_cut_at_a_clause_mark() {
        let comma = 3;
        let mut ids = vec![0];
        ids.extend(std::iter::repeat_n(50, 300));
        ids.push(comma);
        ids.extend(std::iter::repeat_n(51, 300));
        ids.push(0);
        let p = parts(&ids, &[comma]);
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].len(), p[0][301], p[0][302]), (303, comma, 0), "cut after the comma");
        assert_eq!(p[1].len(), 302);
        let mut no_marks = vec![0];
        no_marks.extend(std::iter::repeat_n(50, 900));
        no_marks.push(0);
        assert_eq!(parts(&no_marks, &[comma]).iter().map(Vec::len).collect::<Vec<_>>(), [402, 402, 102]);
        assert_eq!(parts(&[0, 0], &[comma]), Vec::<Vec<i64>>::new());
    }
}
