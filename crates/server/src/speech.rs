//! The speech engines calls use, chosen per agent: the recognizer model (Whisper tiny.en,
//! loaded at start; base, loaded the first time an agent asks for it) and the voice (hibari,
//! the natural voice, loaded at start; Piper's joe, loaded the first time an agent asks for it;
//! or espeak-ng, which is also the fallback when no neural voice is installed or loads); and
//! Silero VAD, which the calls' endpointers share.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use parley_agent::spec::{RecognizerChoice, VoiceChoice};
use parley_speech::espeak::EspeakSynthesizer;
use parley_speech::hibari::{self, HibariPaths};
use parley_speech::onnx;
use parley_speech::piper::{self, PiperPaths};
use parley_agent::intent::meaning::SentenceEncoder;
use parley_speech::minilm::SentenceModel;
use parley_speech::silero::{self, SileroModel};
use parley_speech::smart_turn::{self, SmartTurnModel};
use parley_speech::whisper_cpp::{WhisperCppConfig, WhisperCppRecognizer, WhisperModel};
use parley_speech::{Recognizer, Synthesizer};
use tokio::sync::OnceCell;

use crate::config::ServeConfig;

/// The Piper voice `scripts/setup.sh` installs (an agent's `voice: joe`).
pub const PIPER_VOICE: &str = "en_US-joe-medium";

/// See the module docs.
pub struct Speech {
    speech_dir: PathBuf,
    decoders: usize,
    threads: usize,
    tiny: Arc<dyn Recognizer>,
    base: OnceCell<Option<Arc<dyn Recognizer>>>,
    /// hibari (`voice: neural`).
    natural: Option<Arc<dyn Synthesizer>>,
    /// Piper's joe (`voice: joe`), loaded on first use.
    joe: OnceCell<Option<Arc<dyn Synthesizer>>>,
    espeak: Arc<dyn Synthesizer>,
    /// Silero VAD for the endpointer (the energy gate alone when it is not installed).
    pub voice_model: Option<SileroModel>,
    /// Smart Turn, which tells from its sound whether a sentence is over (the words and the
    /// pause alone when it is not installed).
    pub turn_model: Option<SmartTurnModel>,
    /// Sentence vectors for menus (the words alone when it is not installed).
    pub meaning: Option<Arc<dyn SentenceEncoder>>,
}

/// The sentence model as the agent's menus use it.
#[derive(Debug)]
pub struct Meaning(pub SentenceModel);

impl SentenceEncoder for Meaning {
    fn encode(&self, text: &str) -> Option<Arc<[f32]>> {
        self.0.embed(text).map_err(|e| tracing::warn!(error = %e, "sentence model failed")).ok()
    }

    fn encode_example(&self, example: &str) -> Option<Arc<[f32]>> {
        self.0.embed_kept(example).map_err(|e| tracing::warn!(error = %e, "sentence model failed")).ok()
    }
}

/// The sentence model installed in `speech_dir`, for the command line.
pub fn meaning_in(speech_dir: &std::path::Path) -> Option<Arc<dyn SentenceEncoder>> {
    load_meaning(&onnx::library_under(speech_dir), speech_dir)
}

/// The sentence model installed in `speech_dir` (ONNX Runtime from `onnxruntime`), if it is.
pub fn load_meaning(onnxruntime: &std::path::Path, speech_dir: &std::path::Path) -> Option<Arc<dyn SentenceEncoder>> {
    match SentenceModel::load(onnxruntime, speech_dir) {
        Ok(model) => Some(Arc::new(Meaning(model))),
        Err(e) => {
            tracing::warn!(error = %e, "sentence model unavailable (run scripts/setup.sh); menus understand callers by their words alone");
            None
        }
    }
}

impl Speech {
    /// Loads tiny.en and hibari (blocking, well under a second each).
    pub fn load(cfg: &ServeConfig) -> anyhow::Result<Speech> {
        let threads = cfg.asr_threads.max(1);
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        // One decoder per CPU: a decode alone uses `threads`, decodes side by side one each.
        let decoders = if cfg.asr_decoders > 0 { cfg.asr_decoders } else { cpus };
        let tiny = load_whisper(&cfg.speech_dir, WhisperModel::TinyEn, decoders, threads)?;
        let natural: Option<Arc<dyn Synthesizer>> = match hibari::load(&HibariPaths::under(&cfg.speech_dir, hibari::VOICE), cpus, threads) {
            Ok(voice) => Some(Arc::new(voice)),
            Err(e) => {
                tracing::warn!(error = %e, "natural voice (hibari) unavailable (run scripts/setup.sh); agents speak with Piper's joe or espeak-ng");
                None
            }
        };
        let onnxruntime = onnx::library_under(&cfg.speech_dir);
        let voice_model = match SileroModel::load(&onnxruntime, &silero::model_path(&cfg.speech_dir)) {
            Ok(model) => Some(model),
            Err(e) => {
                tracing::warn!(error = %e, "Silero VAD unavailable (run scripts/setup.sh); turns are taken by level alone");
                None
            }
        };
        let turn_model = match SmartTurnModel::load(&onnxruntime, &smart_turn::model_path(&cfg.speech_dir)) {
            Ok(model) => Some(model),
            Err(e) => {
                tracing::warn!(error = %e, "end-of-turn model (Smart Turn) unavailable (run scripts/setup.sh); turns are ended by their words and the pause");
                None
            }
        };
        let meaning = load_meaning(&onnxruntime, &cfg.speech_dir);
        Ok(Speech {
            voice_model,
            turn_model,
            meaning,
            speech_dir: cfg.speech_dir.clone(),
            decoders,
            threads,
            tiny: Arc::new(tiny),
            base: OnceCell::new(),
            natural,
            joe: OnceCell::new(),
            espeak: Arc::new(EspeakSynthesizer::default()),
        })
    }

    /// The embedded recognizer for an agent's choice (tiny.en behind a cloud choice). Whisper
    /// base loads on first use; if it cannot, tiny.en serves (and the failure is logged once).
    pub async fn recognizer(&self, choice: RecognizerChoice) -> Arc<dyn Recognizer> {
        if choice != RecognizerChoice::Base {
            return self.tiny.clone();
        }
        let (dir, decoders, threads) = (self.speech_dir.clone(), self.decoders, self.threads);
        let base = loaded_once(&self.base, "Whisper base unavailable; tiny.en serves", move || load_whisper(&dir, WhisperModel::Base, decoders, threads).map(|r| Arc::new(r) as Arc<dyn Recognizer>)).await;
        base.unwrap_or_else(|| self.tiny.clone())
    }

    /// The embedded voice for an agent's choice: hibari for `neural` and behind a cloud choice,
    /// Piper's joe for `joe` (loaded on first use); each stands in for the other when it is not
    /// installed, and espeak-ng when neither is.
    pub async fn synthesizer(&self, choice: VoiceChoice) -> Arc<dyn Synthesizer> {
        let voice = match choice {
            VoiceChoice::Espeak => None,
            VoiceChoice::Joe => self.joe().await.or_else(|| self.natural.clone()),
            VoiceChoice::Neural | VoiceChoice::Elevenlabs | VoiceChoice::Openai => match &self.natural {
                Some(voice) => Some(voice.clone()),
                None => self.joe().await,
            },
        };
        voice.unwrap_or_else(|| self.espeak.clone())
    }

    async fn joe(&self) -> Option<Arc<dyn Synthesizer>> {
        let (paths, threads) = (PiperPaths::under(&self.speech_dir, PIPER_VOICE), self.threads);
        let sessions = std::thread::available_parallelism().map_or(1, |n| n.get());
        loaded_once(&self.joe, "Piper voice joe unavailable (run scripts/setup.sh)", move || Ok(Arc::new(piper::load(&paths, sessions, threads)?) as Arc<dyn Synthesizer>)).await
    }

    /// Who receives callers' audio and agents' text from the embedded engines (this machine);
    /// a call with cloud engines adds its provider (`crate::call_engines`).
    pub fn providers(&self) -> [&'static str; 2] {
        [self.tiny.provider(), self.espeak.provider()]
    }
}

/// What `cell` holds, loaded by `load` off the runtime the first time it is asked for; a
/// failure is logged once as `unavailable` and kept as `None`.
async fn loaded_once<T: ?Sized + Send + Sync + 'static>(cell: &OnceCell<Option<Arc<T>>>, unavailable: &'static str, load: impl FnOnce() -> anyhow::Result<Arc<T>> + Send + 'static) -> Option<Arc<T>> {
    cell.get_or_init(|| async {
        match tokio::task::spawn_blocking(load).await {
            Ok(Ok(loaded)) => Some(loaded),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "{unavailable}");
                None
            }
            Err(_) => None,
        }
    })
    .await
    .clone()
}

fn load_whisper(dir: &std::path::Path, model: WhisperModel, decoders: usize, threads: usize) -> anyhow::Result<WhisperCppRecognizer> {
    let model_path = model.path_under(dir);
    if !model_path.is_file() {
        bail!("speech model {} not found (run scripts/setup.sh)", model_path.display());
    }
    WhisperCppRecognizer::load(&WhisperCppConfig { model_path, decoders, threads }).with_context(|| format!("loading Whisper {}", model.name()))
}
