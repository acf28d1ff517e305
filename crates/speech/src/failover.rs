//! A cloud engine with the embedded one behind it: when the provider fails mid-call, the
//! embedded engine takes over and the caller hears nothing odd.
//!
//! - [`FailoverRecognizer`]: a turn the provider cannot transcribe (an error, a refused key, a
//!   cut connection, no answer within its timeout) is transcribed by the embedded recognizer.
//! - [`FailoverVoice`]: the text is spoken sentence by sentence; a sentence the provider fails
//!   on before its first audio, or that stalls, is spoken by the embedded voice, and so is
//!   everything after it. A sentence cut off after some of its audio is said again from its start.
//! - After a failure the provider is left alone for a while ([`Breaker`]): the next turns go
//!   straight to the embedded engine instead of waiting out the same failure again.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::{BoxFuture, Recognizer, SpeechError, Synthesizer, Utterance};

/// How long a failed provider is left alone.
pub const COOL_DOWN: Duration = Duration::from_secs(60);

/// A voice that says when it fails (the cloud voices): audio arrives as `Ok` chunks, a failure
/// as one `Err`, and the channel closes at the end.
pub trait StreamingVoice: Send + Sync {
    /// Starts speaking `text`.
    fn stream(&self, text: &str) -> mpsc::Receiver<Result<Vec<i16>, SpeechError>>;
    /// Which voice this is.
    fn voice_name(&self) -> &str;
    /// Who receives the text (a data-policy provider name).
    fn provider(&self) -> &'static str;
}

/// Whether a provider may be tried now: closed (yes) until a failure, then open (no) for a
/// cool-down.
pub struct Breaker {
    open_until: Mutex<Option<Instant>>,
    cool_down: Duration,
}

impl Breaker {
    /// A closed breaker that stays open `cool_down` after each failure.
    pub fn new(cool_down: Duration) -> Breaker {
        Breaker { open_until: Mutex::new(None), cool_down }
    }

    /// Whether the provider may be tried.
    pub fn allows(&self) -> bool {
        let guard = self.open_until.lock().unwrap_or_else(|e| e.into_inner());
        guard.is_none_or(|until| Instant::now() >= until)
    }

    /// Records a failure.
    pub fn trip(&self) {
        *self.open_until.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now() + self.cool_down);
    }
}

/// See the module docs.
pub struct FailoverRecognizer {
    primary: Arc<dyn Recognizer>,
    fallback: Arc<dyn Recognizer>,
    breaker: Breaker,
}

impl FailoverRecognizer {
    /// `primary` (a cloud recognizer, with its own timeout), then `fallback`.
    pub fn new(primary: Arc<dyn Recognizer>, fallback: Arc<dyn Recognizer>, cool_down: Duration) -> FailoverRecognizer {
        FailoverRecognizer { primary, fallback, breaker: Breaker::new(cool_down) }
    }
}

impl Recognizer for FailoverRecognizer {
    fn transcribe<'a>(&'a self, utterance: Utterance<'a>) -> BoxFuture<'a, Result<String, SpeechError>> {
        Box::pin(async move {
            if self.breaker.allows() {
                match self.primary.transcribe(utterance).await {
                    Ok(text) => return Ok(text),
                    Err(e) => {
                        tracing::warn!(provider = self.primary.provider(), error = %e, "recognition provider failed; the embedded recognizer takes over");
                        self.breaker.trip();
                    }
                }
            }
            self.fallback.transcribe(utterance).await
        })
    }

    fn provider(&self) -> &'static str {
        self.primary.provider()
    }
}

/// See the module docs.
pub struct FailoverVoice {
    primary: Arc<dyn StreamingVoice>,
    fallback: Arc<dyn Synthesizer>,
    breaker: Arc<Breaker>,
    stall: Duration,
}

impl FailoverVoice {
    /// `primary` (a cloud voice), then `fallback`; a provider silent for `stall` (before the
    /// first audio of a sentence, or between chunks) has failed.
    pub fn new(primary: Arc<dyn StreamingVoice>, fallback: Arc<dyn Synthesizer>, stall: Duration, cool_down: Duration) -> FailoverVoice {
        FailoverVoice { primary, fallback, breaker: Arc::new(Breaker::new(cool_down)), stall }
    }
}

impl Synthesizer for FailoverVoice {
    fn synthesize(&self, text: &str) -> Result<mpsc::Receiver<Vec<i16>>, SpeechError> {
        let (tx, rx) = mpsc::channel(16);
        let (primary, fallback, breaker, stall) = (self.primary.clone(), self.fallback.clone(), self.breaker.clone(), self.stall);
        let sentences = crate::sentences::sentences(text);
        tokio::spawn(async move {
            for sentence in sentences {
                if breaker.allows() {
                    match forward(primary.stream(&sentence), &tx, stall).await {
                        Forwarded::Whole => continue,
                        Forwarded::Hung => return,
                        Forwarded::Failed(why) => {
                            tracing::warn!(provider = primary.provider(), error = %why, "voice provider failed; the embedded voice takes over");
                            breaker.trip();
                        }
                    }
                }
                let Ok(mut audio) = fallback.synthesize(&sentence) else { return };
                while let Some(pcm) = audio.recv().await {
                    if tx.send(pcm).await.is_err() {
                        return;
                    }
                }
            }
        });
        Ok(rx)
    }

    fn voice_name(&self) -> &str {
        if self.breaker.allows() { self.primary.voice_name() } else { self.fallback.voice_name() }
    }

    fn provider(&self) -> &'static str {
        self.primary.provider()
    }
}

/// How forwarding one sentence of a provider's audio went.
enum Forwarded {
    /// All of it.
    Whole,
    /// The listener went away.
    Hung,
    /// The provider failed or stalled.
    Failed(SpeechError),
}

async fn forward(mut stream: mpsc::Receiver<Result<Vec<i16>, SpeechError>>, tx: &mpsc::Sender<Vec<i16>>, stall: Duration) -> Forwarded {
    loop {
        match tokio::time::timeout(stall, stream.recv()).await {
            Ok(Some(Ok(pcm))) => {
                if tx.send(pcm).await.is_err() {
                    return Forwarded::Hung;
                }
            }
            Ok(None) => return Forwarded::Whole,
            Ok(Some(Err(e))) => return Forwarded::Failed(e),
            Err(_) => return Forwarded::Failed(SpeechError::Unavailable("no audio in time".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A voice that speaks `chunks` chunks of each sentence and then fails, or never answers.
    struct Flaky {
        chunks_before_failing: Option<usize>,
        silent: bool,
        asked: Mutex<Vec<String>>,
    }

    impl StreamingVoice for Flaky {
        fn stream(&self, text: &str) -> mpsc::Receiver<Result<Vec<i16>, SpeechError>> {
            self.asked.lock().unwrap().push(text.to_string());
            let (tx, rx) = mpsc::channel(16);
            let (fail_after, silent) = (self.chunks_before_failing, self.silent);
            tokio::spawn(async move {
                if silent {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                }
                for i in 0..3 {
                    if fail_after == Some(i) {
                        let _ = tx.send(Err(SpeechError::Unavailable("test: cut".into()))).await;
                        return;
                    }
                    let _ = tx.send(Ok(vec![1000; 80])).await;
                }
            });
            rx
        }
        fn voice_name(&self) -> &str {
            "flaky"
        }
        fn provider(&self) -> &'static str {
            "elevenlabs"
        }
    }

    /// The embedded voice stand-in: one chunk of -1000s per sentence, recording what it said.
    #[derive(Default)]
    struct Steady(Mutex<Vec<String>>);

    impl Synthesizer for Steady {
        fn synthesize(&self, text: &str) -> Result<mpsc::Receiver<Vec<i16>>, SpeechError> {
            self.0.lock().unwrap().push(text.to_string());
            let (tx, rx) = mpsc::channel(1);
            let _ = tx.try_send(vec![-1000; 40]);
            Ok(rx)
        }
        fn voice_name(&self) -> &str {
            "steady"
        }
    }

    async fn speak(voice: &FailoverVoice, text: &str) -> Vec<i16> {
        let mut rx = voice.synthesize(text).unwrap();
        let mut all = Vec::new();
        while let Some(c) = rx.recv().await {
            all.extend(c);
        }
        all
    }

    fn flaky(chunks_before_failing: Option<usize>, silent: bool) -> Arc<Flaky> {
        Arc::new(Flaky { chunks_before_failing, silent, asked: Mutex::default() })
    }

    const TWO: &str = "Your order has shipped. It arrives on Friday.";

    #[tokio::test]
    async fn a_working_provider_speaks_everything() {
        let (primary, fallback) = (flaky(None, false), Arc::new(Steady::default()));
        let voice = FailoverVoice::new(primary.clone(), fallback.clone(), Duration::from_secs(1), COOL_DOWN);
        assert_eq!(speak(&voice, TWO).await, vec![1000; 480]);
        assert_eq!(primary.asked.lock().unwrap().len(), 2);
        assert!(fallback.0.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_failure_before_audio_hands_the_sentence_and_the_rest_to_the_embedded_voice() {
        let (primary, fallback) = (flaky(Some(0), false), Arc::new(Steady::default()));
        let voice = FailoverVoice::new(primary.clone(), fallback.clone(), Duration::from_secs(1), COOL_DOWN);
        assert_eq!(speak(&voice, TWO).await, vec![-1000; 80]);
        assert_eq!(*primary.asked.lock().unwrap(), vec!["Your order has shipped."], "not asked again while cooling down");
        assert_eq!(*fallback.0.lock().unwrap(), vec!["Your order has shipped.", "It arrives on Friday."]);
        assert_eq!(voice.voice_name(), "steady");
    }

    #[tokio::test]
    async fn a_sentence_cut_off_is_said_again_from_its_start() {
        let (primary, fallback) = (flaky(Some(2), false), Arc::new(Steady::default()));
        let voice = FailoverVoice::new(primary.clone(), fallback.clone(), Duration::from_secs(1), COOL_DOWN);
        let audio = speak(&voice, TWO).await;
        assert_eq!(&audio[..160], &[1000; 160][..], "two chunks from the provider");
        assert_eq!(&audio[160..], &[-1000; 80][..], "then the embedded voice, from the start of that sentence");
        assert_eq!(fallback.0.lock().unwrap()[0], "Your order has shipped.");
    }

    #[tokio::test(start_paused = true)]
    async fn a_provider_that_stalls_is_given_up_on() {
        let (primary, fallback) = (flaky(None, true), Arc::new(Steady::default()));
        let voice = FailoverVoice::new(primary, fallback.clone(), Duration::from_millis(1500), COOL_DOWN);
        assert_eq!(speak(&voice, "Hello there.").await, vec![-1000; 40]);
    }

    struct Failing;
    impl Recognizer for Failing {
        fn transcribe<'a>(&'a self, _: Utterance<'a>) -> BoxFuture<'a, Result<String, SpeechError>> {
            Box::pin(async { Err(SpeechError::Unavailable("deepgram: unauthorized (401)".into())) })
        }
        fn provider(&self) -> &'static str {
            "deepgram"
        }
    }
    struct Local(Mutex<usize>);
    impl Recognizer for Local {
        fn transcribe<'a>(&'a self, _: Utterance<'a>) -> BoxFuture<'a, Result<String, SpeechError>> {
            *self.0.lock().unwrap() += 1;
            Box::pin(async { Ok("local words".to_string()) })
        }
    }

    #[tokio::test]
    async fn a_turn_the_provider_fails_is_recognized_here() {
        let local = Arc::new(Local(Mutex::new(0)));
        let r = FailoverRecognizer::new(Arc::new(Failing), local.clone(), COOL_DOWN);
        assert_eq!(r.transcribe(Utterance::ended(&[0; 800])).await.unwrap(), "local words");
        assert_eq!(r.transcribe(Utterance::ended(&[0; 800])).await.unwrap(), "local words");
        assert_eq!(*local.0.lock().unwrap(), 2);
        assert_eq!(r.provider(), "deepgram");
    }
}
