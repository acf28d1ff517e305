//! Smart Turn v3.2 (Daily, BSD-2-Clause; the ONNX file in the PyPI package `pipecat-ai`): the
//! probability that a caller has finished their turn, judged from the sound of the last 8 s of
//! what they said (intonation, the way a sentence winds down), not from its words.
//!
//! The call pipeline asks it while the caller pauses after an early text whose words do not
//! decide the end of the turn: a sentence the recognizer closed with a full stop has usually
//! ended, but a fragment said with a falling voice is closed too ("The person at extension.").
//! What the words decide (a short answer, a question, a word that leads on) is not asked. One [`SmartTurnModel`] serves every call; a judgement
//! takes about 50 ms on one core here, so it runs off the call's task.
//!
//! Input as Pipecat's `LocalSmartTurnAnalyzerV3` prepares it: 16 kHz audio, the last 8 s kept
//! (shorter audio padded with silence in front), Whisper log-mel features
//! ([`crate::log_mel`]) of shape `[1, 80, 800]`; the output is already a probability.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ort::session::Session;
use ort::value::Tensor;

use crate::log_mel::{self, LogMel};
use crate::SpeechError;

/// Seconds of audio the model looks at.
const WINDOW_S: usize = 8;

/// Where `scripts/setup.sh` puts the model: `smart-turn-v3.2-cpu.onnx` under the speech
/// directory.
pub fn model_path(speech_dir: &Path) -> PathBuf {
    speech_dir.join("smart-turn-v3.2-cpu.onnx")
}

/// The loaded model, shared by all calls (cheap to clone).
#[derive(Clone)]
pub struct SmartTurnModel {
    session: Arc<Mutex<Session>>,
    features: Arc<LogMel>,
}

impl std::fmt::Debug for SmartTurnModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SmartTurnModel")
    }
}

impl SmartTurnModel {
    /// Loads ONNX Runtime from `onnxruntime` (the shared library) and the model from `model`.
    /// Blocking (about 100 ms).
    pub fn load(onnxruntime: &Path, model: &Path) -> Result<SmartTurnModel, SpeechError> {
        let session = crate::onnx::single_thread_session(onnxruntime, model, "smart turn model")?;
        Ok(SmartTurnModel { session: Arc::new(Mutex::new(session)), features: Arc::new(LogMel::new(WINDOW_S * log_mel::SAMPLE_RATE)) })
    }

    /// The probability (0 to 1) that the caller's turn is over after `audio` (8 kHz telephone
    /// audio, the utterance so far with the pause after it). Blocking (tens of ms).
    pub fn complete_probability(&self, audio: &[i16]) -> Result<f32, SpeechError> {
        let err = |e: ort::Error| SpeechError::Protocol(format!("smart turn: {e}"));
        let wide = crate::resample::to_16k_f32(audio);
        let window = WINDOW_S * log_mel::SAMPLE_RATE;
        // The last 8 s, silence in front of a shorter utterance.
        let mut x = vec![0f32; window.saturating_sub(wide.len())];
        x.extend_from_slice(&wide[wide.len().saturating_sub(window)..]);
        let features = self.features.features(&x);
        let input = Tensor::from_array(([1usize, log_mel::N_MELS, self.features.frames()], features)).map_err(err)?;
        let mut session = self.session.lock().unwrap_or_else(|p| p.into_inner());
        let outputs = session.run(ort::inputs!["input_features" => input]).map_err(err)?;
        let (_, p) = outputs[0].try_extract_tensor::<f32>().map_err(err)?;
        p.first().copied().filter(|p| p.is_finite()).ok_or_else(|| SpeechError::Protocol("smart turn: empty output".into()))
    }
}
