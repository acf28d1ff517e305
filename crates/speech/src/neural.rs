//! What the embedded neural voices ([`crate::piper`], [`crate::hibari`]) share: a reply cut
//! into sentences ([`crate::sentences`]), each phonemized by espeak-ng (`--ipa`, text on stdin),
//! turned into the model's input ids, synthesized on a session thread and streamed at 8 kHz
//! while the next one is made, so the caller hears the first sentence before the last is done.
//! Dropping the receiver stops it.
//!
//! One model serves every call from a few session threads. Sentences wait for a session in
//! the order they are due ([`Due`]): a reply's first sentence at once, a later one shortly
//! before the audio ahead of it runs out, so under load every caller hears the start of their
//! answer before anyone's later sentences are made.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

use crate::job_queue::JobQueue;
use crate::resample::Resampler;
use crate::sentences::sentences;
use crate::{SpeechError, Synthesizer};

/// A model's side of a voice: how it reads espeak-ng's phonemes.
pub(crate) struct Model {
    /// What [`Synthesizer::voice_name`] says (`piper:en_US-joe-medium`, `hibari:heart`).
    pub name: String,
    /// The rate of the audio the sessions return.
    pub sample_rate: usize,
    /// espeak-ng's voice for the phonemes (`en-us`).
    pub espeak_voice: String,
    /// Whether espeak-ng marks the two halves of a diphthong or affricate with a tie (`a^ɪ`).
    pub tie: bool,
    /// A sentence's phonemes (espeak-ng's IPA, clauses joined with their punctuation) to the
    /// model's input ids.
    pub ids: ToIds,
}

/// A sentence's phonemes to a model's input ids.
pub(crate) type ToIds = Box<dyn Fn(&str) -> Vec<i64> + Send + Sync>;

/// One session of a model: a sentence's ids to its audio at the model's rate.
pub(crate) type Session = Box<dyn FnMut(Vec<i64>) -> Result<Vec<i16>, SpeechError> + Send>;

struct Voice {
    model: Model,
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

/// An embedded neural voice; see the module docs.
#[derive(Clone)]
pub struct NeuralVoice {
    voice: Arc<Voice>,
}

impl NeuralVoice {
    /// Starts one thread per session.
    pub(crate) fn start(model: Model, sessions: Vec<Session>) -> Result<NeuralVoice, SpeechError> {
        let shared = Arc::new(Shared::default());
        for (n, session) in sessions.into_iter().enumerate() {
            let shared = shared.clone();
            std::thread::Builder::new().name(format!("voice-{n}")).spawn(move || session_loop(&shared, session)).map_err(SpeechError::Io)?;
        }
        Ok(NeuralVoice { voice: Arc::new(Voice { model, shared }) })
    }
}

impl Synthesizer for NeuralVoice {
    fn voice_name(&self) -> &str {
        &self.voice.model.name
    }

    fn synthesize(&self, text: &str) -> Result<mpsc::Receiver<Vec<i16>>, SpeechError> {
        let mut sentences = sentences(text).into_iter();
        let voice = self.voice.clone();
        let (tx, rx) = mpsc::channel(16);
        let mut due = Due::new(Instant::now());
        tokio::spawn(async move {
            let model = &voice.model;
            let mut resampler = Resampler::new(model.sample_rate, 8000);
            let Some(first) = sentences.next() else { return };
            let mut phonemes = phonemize(&model.espeak_voice, model.tie, &first).await;
            loop {
                let Ok(p) = phonemes else { return };
                let (reply, answer) = oneshot::channel();
                if !voice.queue(due.next(), Job { ids: (model.ids)(&p), reply }) {
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
                            Some(s) => Some(phonemize(&model.espeak_voice, model.tie, &s).await),
                            None => None,
                        }
                    }
                );
                let Some(Ok(audio)) = audio else { return };
                due.delivered(Instant::now(), Duration::from_secs_f64(audio.len() as f64 / model.sample_rate as f64));
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

/// The character a one-character key of a voice's phoneme table names.
pub(crate) fn single_char(s: &str) -> Option<char> {
    let mut chars = s.chars();
    let c = chars.next()?;
    chars.next().is_none().then_some(c)
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
}

/// A session's thread: the sentence due soonest that someone still waits for, one at a time.
fn session_loop(shared: &Shared, mut session: Session) {
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
        let _ = job.reply.send(session(job.ids));
    }
}

/// espeak-ng's IPA for one sentence, its clauses joined with their punctuation, as Piper's
/// phonemizer gives them ("həlˈoʊ, θˈæŋks." for "Hello, thanks."); with `tie`, the halves of
/// a diphthong or affricate joined by `^` ("həlˈo^ʊ").
async fn phonemize(voice: &str, tie: bool, sentence: &str) -> Result<String, SpeechError> {
    let mut args = vec!["-q", "--ipa", "-v", voice];
    if tie {
        args.push("--tie=^");
    }
    let (mut child, mut stdin, mut stdout) = crate::espeak::spawn(&args)?;
    stdin.write_all(sentence.as_bytes()).await?;
    drop(stdin);
    let mut out = String::new();
    stdout.read_to_string(&mut out).await?;
    let _ = child.wait().await;
    Ok(join_clauses(&out, sentence))
}

/// espeak prints one line per clause and drops the punctuation; the voices' phonemes keep it,
/// so it is put back from the sentence (`,` between clauses unless the text says otherwise, and
/// the sentence's own end mark).
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
