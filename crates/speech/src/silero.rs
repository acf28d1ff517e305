//! Silero VAD (v6, MIT, the ONNX file in the PyPI package `silero-vad`): the probability that a
//! stretch of telephone audio is speech, run in process through ONNX Runtime.
//!
//! At 8 kHz the model takes 256 new samples (32 ms) at a time, preceded by the last 32 samples
//! of the chunk before, and carries a recurrent state `[2, 1, 128]` from chunk to chunk. One
//! [`SileroModel`] (the ONNX session) serves every call; each call keeps its own state in a
//! [`SileroStream`], which takes 20 ms frames and gives the latest chunk's probability. About
//! 0.1 ms per chunk on one thread (`../shared/SPEECH.md`), so it runs inline on the call's task.
//!
//! Where it helps: the energy gate alone takes breathing, line hum and background noise above
//! the floor for speech, which holds a turn open; Silero tells them apart. The endpointer
//! ([`crate::vad::Endpointer`]) requires both.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ort::session::Session;
use ort::value::Tensor;

use crate::SpeechError;

/// Samples per chunk at 8 kHz.
pub const CHUNK: usize = 256;
/// Samples of the previous chunk put in front of each chunk at 8 kHz.
const CONTEXT: usize = 32;
const STATE: usize = 2 * 128;

/// Where `scripts/setup.sh` puts the model: `silero_vad.onnx` under the speech directory.
pub fn model_path(speech_dir: &Path) -> PathBuf {
    speech_dir.join("silero_vad.onnx")
}

/// The loaded model, shared by all calls (cheap to clone).
#[derive(Clone)]
pub struct SileroModel {
    session: Arc<Mutex<Session>>,
}

impl std::fmt::Debug for SileroModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SileroModel")
    }
}

impl SileroModel {
    /// Loads ONNX Runtime from `onnxruntime` (the shared library) and the model from `model`.
    /// Blocking (tens of ms).
    pub fn load(onnxruntime: &Path, model: &Path) -> Result<SileroModel, SpeechError> {
        let session = crate::onnx::single_thread_session(onnxruntime, model, "silero vad model")?;
        Ok(SileroModel { session: Arc::new(Mutex::new(session)) })
    }

    /// A fresh state for one call.
    pub fn stream(&self) -> SileroStream {
        SileroStream { model: self.clone(), state: vec![0.0; STATE], context: vec![0.0; CONTEXT], pending: Vec::with_capacity(CHUNK * 2), probability: 0.0, fresh: true }
    }

    /// Runs one chunk: `input` is the context followed by the chunk, `state` is updated.
    fn run(&self, input: Vec<f32>, state: &mut Vec<f32>) -> Result<f32, SpeechError> {
        let err = |e: ort::Error| SpeechError::Protocol(format!("silero vad: {e}"));
        let n = input.len();
        let input = Tensor::from_array(([1usize, n], input)).map_err(err)?;
        let state_in = Tensor::from_array(([2usize, 1, 128], std::mem::take(state))).map_err(err)?;
        let sr = Tensor::from_array(([0usize; 0], vec![8000i64])).map_err(err)?;
        let mut session = self.session.lock().unwrap_or_else(|p| p.into_inner());
        let outputs = session.run(ort::inputs!["input" => input, "state" => state_in, "sr" => sr]).map_err(err)?;
        let (_, p) = outputs["output"].try_extract_tensor::<f32>().map_err(err)?;
        let (_, s) = outputs["stateN"].try_extract_tensor::<f32>().map_err(err)?;
        if s.len() != STATE || p.is_empty() {
            return Err(SpeechError::Protocol("silero vad: unexpected output shape".into()));
        }
        *state = s.to_vec();
        Ok(p[0])
    }
}

/// One call's voice activity: feed 20 ms frames, read the probability that the latest 32 ms
/// were speech.
pub struct SileroStream {
    model: SileroModel,
    state: Vec<f32>,
    context: Vec<f32>,
    pending: Vec<f32>,
    probability: f32,
    /// Nothing fed since the last reset.
    fresh: bool,
}

impl std::fmt::Debug for SileroStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SileroStream").field("probability", &self.probability).finish()
    }
}

impl SileroStream {
    /// Takes one frame of 8 kHz PCM; returns the speech probability of the latest complete
    /// chunk (unchanged until 256 samples have come in). A model error leaves the last value
    /// (the energy gate still works).
    pub fn push(&mut self, frame: &[i16]) -> f32 {
        self.fresh = false;
        self.pending.extend(frame.iter().map(|&s| f32::from(s) / 32768.0));
        while self.pending.len() >= CHUNK {
            let mut input = Vec::with_capacity(CONTEXT + CHUNK);
            input.extend_from_slice(&self.context);
            input.extend(self.pending.drain(..CHUNK));
            self.context.copy_from_slice(&input[CHUNK..]);
            let mut state = std::mem::take(&mut self.state);
            match self.model.run(input, &mut state) {
                Ok(p) => {
                    self.state = state;
                    self.probability = p;
                }
                Err(_) => self.state = vec![0.0; STATE],
            }
        }
        self.probability
    }

    /// The latest probability.
    pub fn probability(&self) -> f32 {
        self.probability
    }

    /// Forgets the audio so far, as a fresh stream (cheap when already fresh).
    pub fn reset(&mut self) {
        if std::mem::replace(&mut self.fresh, true) {
            return;
        }
        self.state.iter_mut().for_each(|s| *s = 0.0);
        self.context.iter_mut().for_each(|s| *s = 0.0);
        self.pending.clear();
        self.probability = 0.0;
    }
}
