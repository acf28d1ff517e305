//! Voice activity and end-of-turn detection, sans-IO.
//!
//! [`Endpointer::push_frame`] takes one 20 ms frame of 8 kHz PCM and the frame's `now`. It tracks
//! the noise floor, reports when the caller starts speaking (for barge-in) and, once the caller
//! has been silent for `end_silence` after enough speech, hands over the utterance with the
//! instant speech ended (so the end-of-turn wait can be measured). At the first shorter pause
//! (`speculate_after`) it hands over the utterance so far ([`VadEvent::Paused`]), so that
//! recognition can start before the turn is confirmed; [`VadEvent::Resumed`] says the caller
//! went on and that audio is stale.
//!
//! A frame is voiced when it stands out of the noise floor by `margin_db`; with a
//! [`SileroStream`] ([`Endpointer::with_model`]) it must also sound like speech to Silero VAD
//! (above `speech_threshold` to start, above `speech_release` to go on, the hysteresis Silero's
//! own iterator uses), so breathing, hum and background noise neither start a turn nor hold one
//! open.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::silero::SileroStream;

/// Tuning of the endpointer.
#[derive(Clone, Debug)]
pub struct EndpointerConfig {
    /// Consecutive voiced frames before speech counts as started.
    pub start_frames: u32,
    /// Silence after speech that ends the caller's turn.
    pub end_silence: Duration,
    /// Speech shorter than this is a noise burst, not a turn.
    pub min_speech: Duration,
    /// A pause this long hands over the utterance so far for early recognition (`None`: wait
    /// for the end of the turn).
    pub speculate_after: Option<Duration>,
    /// Voiced audio the caller must have produced before the agent stops talking (a cough or a
    /// click is shorter; [`Endpointer::voiced`]).
    pub barge_in_after: Duration,
    /// The silence that ends an utterance whose words sound finished ([`Endpointer::end_after`]):
    /// a short answer, a whole order number, a question the recognizer closed with a question
    /// mark.
    pub finished_silence: Duration,
    /// The silence that ends an utterance whose words do not decide it but whose sound the
    /// end-of-turn model judged finished: longer than `finished_silence`, because the model
    /// also hears a fragment said with a falling voice as finished.
    pub judged_silence: Duration,
    /// The silence that ends an utterance whose words sound cut off.
    pub unfinished_silence: Duration,
    /// The silence that ends an utterance the recognizer closed as a sentence (likely, not
    /// surely, over).
    pub closed_silence: Duration,
    /// A turn longer than this is cut and handed over.
    pub max_utterance: Duration,
    /// How far above the noise floor a frame must be to count as voiced (dB).
    pub margin_db: f32,
    /// Frames kept from before speech started, so the first syllable is not lost.
    pub pre_roll_frames: usize,
    /// Silero's speech probability a frame needs to start speech (with a model).
    pub speech_threshold: f32,
    /// The probability below which speech counts as paused (with a model).
    pub speech_release: f32,
}

impl Default for EndpointerConfig {
    fn default() -> Self {
        EndpointerConfig {
            start_frames: 3,
            end_silence: Duration::from_millis(600),
            min_speech: Duration::from_millis(200),
            speculate_after: Some(Duration::from_millis(240)),
            barge_in_after: Duration::from_millis(160),
            finished_silence: Duration::from_millis(300),
            judged_silence: Duration::from_millis(360),
            unfinished_silence: Duration::from_millis(1200),
            closed_silence: Duration::from_millis(600),
            max_utterance: Duration::from_secs(15),
            margin_db: 12.0,
            pre_roll_frames: 15,
            speech_threshold: 0.5,
            speech_release: 0.35,
        }
    }
}

/// What the endpointer reports.
#[derive(Debug, PartialEq)]
pub enum VadEvent {
    /// The caller started speaking.
    SpeechStarted,
    /// The caller paused for `speculate_after`: the utterance so far, which the turn will end
    /// with (same `speech_end`) unless the caller goes on.
    Paused {
        /// The utterance audio so far (8 kHz), pre-roll included.
        audio: Vec<i16>,
        /// When the last voiced frame was heard.
        speech_end: Instant,
    },
    /// The caller went on after a [`VadEvent::Paused`]: that audio is not the whole turn.
    Resumed,
    /// The caller's turn ended.
    TurnEnded {
        /// The utterance audio (8 kHz), pre-roll included.
        audio: Vec<i16>,
        /// When the last voiced frame was heard.
        speech_end: Instant,
    },
}

#[derive(Debug)]
enum State {
    /// `loud_run`: frames above the floor in a row, which Silero may not have agreed to yet.
    Idle { voiced_run: u32, loud_run: u32 },
    /// `end_after`: the silence that ends this utterance (`end_silence` unless its words said
    /// otherwise).
    /// `voiced`: voiced frames so far.
    Speaking { started: Instant, last_voiced: Instant, paused: bool, end_after: Duration, voiced: u32 },
}

/// See the module docs.
#[derive(Debug)]
pub struct Endpointer {
    cfg: EndpointerConfig,
    noise_db: f32,
    state: State,
    pre_roll: VecDeque<Vec<i16>>,
    utterance: Vec<i16>,
    model: Option<SileroStream>,
}

/// The most frames Silero is taken to lag behind a voice's level at its start: it agreed 20-80
/// ms after the level on short answers said by the neural voices (BENCHMARKS.md, session 34).
const MODEL_ONSET_FRAMES: u32 = 4;

/// Frames quieter than this are silence whatever the noise floor (dBFS).
const ABSOLUTE_FLOOR_DB: f32 = -50.0;

/// Level of a frame in dBFS.
pub fn level_db(frame: &[i16]) -> f32 {
    if frame.is_empty() {
        return -100.0;
    }
    let sum: f64 = frame.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    let rms = (sum / frame.len() as f64).sqrt();
    if rms < 1.0 {
        -100.0
    } else {
        (20.0 * (rms / 32768.0).log10()) as f32
    }
}

impl Endpointer {
    /// A new endpointer.
    pub fn new(cfg: EndpointerConfig) -> Endpointer {
        Endpointer { cfg, noise_db: -70.0, state: State::Idle { voiced_run: 0, loud_run: 0 }, pre_roll: VecDeque::new(), utterance: Vec::new(), model: None }
    }

    /// An endpointer that also asks Silero VAD whether a frame is speech.
    pub fn with_model(cfg: EndpointerConfig, model: Option<SileroStream>) -> Endpointer {
        Endpointer { model, ..Endpointer::new(cfg) }
    }

    /// Whether the caller is speaking now.
    pub fn speaking(&self) -> bool {
        matches!(self.state, State::Speaking { .. })
    }

    /// Voiced audio in the utterance in progress (20 ms per voiced frame; zero between
    /// utterances).
    pub fn voiced(&self) -> Duration {
        match self.state {
            State::Speaking { voiced, .. } => Duration::from_millis(20 * u64::from(voiced)),
            State::Idle { .. } => Duration::ZERO,
        }
    }

    /// Drops any partial utterance (for example when the agent starts a new prompt).
    pub fn reset(&mut self) {
        self.state = State::Idle { voiced_run: 0, loud_run: 0 };
        self.utterance.clear();
        self.pre_roll.clear();
    }

    /// The words of the utterance in progress say how long a pause ends it (shorter when they
    /// sound finished, longer when they sound cut off). A pause already that long ends it with
    /// the next frame.
    pub fn end_after(&mut self, silence: Duration) {
        if let State::Speaking { end_after, .. } = &mut self.state {
            *end_after = silence;
        }
    }

    /// Feeds one 20 ms frame heard at `now`.
    pub fn push_frame(&mut self, now: Instant, frame: &[i16]) -> Option<VadEvent> {
        let db = level_db(frame);
        let loud = db > (self.noise_db + self.cfg.margin_db).max(ABSOLUTE_FLOOR_DB);
        let speaking = self.speaking();
        let voiced = match self.model.as_mut() {
            None => loud,
            // A quiet line between turns is not worth a model run (most of a call is that): the
            // model starts afresh on the next loud frame.
            Some(model) if !loud && !speaking => {
                model.reset();
                false
            }
            Some(model) => {
                let p = model.push(frame);
                let needed = if speaking { self.cfg.speech_release } else { self.cfg.speech_threshold };
                loud && p >= needed
            }
        };
        match &mut self.state {
            State::Idle { voiced_run, loud_run } => {
                if !voiced {
                    // Track the floor: fast down, slow up.
                    let rate = if db < self.noise_db { 0.3 } else { 0.02 };
                    self.noise_db += (db.max(-90.0) - self.noise_db) * rate;
                }
                self.pre_roll.push_back(frame.to_vec());
                if self.pre_roll.len() > self.cfg.pre_roll_frames {
                    self.pre_roll.pop_front();
                }
                *voiced_run = if voiced { *voiced_run + 1 } else { 0 };
                *loud_run = if loud { *loud_run + 1 } else { 0 };
                if *voiced_run >= self.cfg.start_frames {
                    self.utterance.clear();
                    for f in self.pre_roll.drain(..) {
                        self.utterance.extend_from_slice(&f);
                    }
                    let voiced = *voiced_run;
                    // Silero hears a voice up to a few frames after its level rises: the voice
                    // began with the loud frames it had not yet agreed to (at most
                    // MODEL_ONSET_FRAMES of them, so that a loud line does not count). Else a quick
                    // "Right." measures short of `min_speech` and is dropped as a noise burst.
                    let onset = loud_run.saturating_sub(voiced).min(MODEL_ONSET_FRAMES);
                    let started = now.checked_sub(Duration::from_millis(20 * u64::from(onset))).unwrap_or(now);
                    self.state = State::Speaking { started, last_voiced: now, paused: false, end_after: self.cfg.end_silence, voiced };
                    return Some(VadEvent::SpeechStarted);
                }
                None
            }
            State::Speaking { started, last_voiced, paused, end_after, voiced: voiced_frames } => {
                self.utterance.extend_from_slice(frame);
                if voiced {
                    *last_voiced = now;
                    *voiced_frames += 1;
                    if std::mem::take(paused) {
                        // What the words before the pause said about its length ("yes": short,
                        // "my order number is": long) no longer holds: the words to come decide.
                        *end_after = self.cfg.end_silence;
                        return Some(VadEvent::Resumed);
                    }
                }
                let (started, last_voiced) = (*started, *last_voiced);
                let silent_for = now.duration_since(last_voiced);
                let too_long = now.duration_since(started) >= self.cfg.max_utterance;
                let long_enough = last_voiced.duration_since(started) + Duration::from_millis(60) >= self.cfg.min_speech;
                if silent_for >= *end_after || too_long {
                    self.state = State::Idle { voiced_run: 0, loud_run: 0 };
                    let audio = std::mem::take(&mut self.utterance);
                    if !long_enough {
                        return None;
                    }
                    return Some(VadEvent::TurnEnded { audio, speech_end: last_voiced });
                }
                if !*paused && long_enough && self.cfg.speculate_after.is_some_and(|after| silent_for >= after) {
                    *paused = true;
                    return Some(VadEvent::Paused { audio: self.utterance.clone(), speech_end: last_voiced });
                }
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(amp: f32) -> Vec<i16> {
        (0..160).map(|i| ((i as f32 * 0.3).sin() * amp) as i16).collect()
    }

    fn run(ep: &mut Endpointer, t0: Instant, frames: &[Vec<i16>]) -> Vec<(usize, VadEvent)> {
        frames.iter().enumerate().filter_map(|(i, f)| ep.push_frame(t0 + Duration::from_millis(20 * i as u64), f).map(|e| (i, e))).collect()
    }

    /// Runs of frames of a tone at an amplitude: (amplitude, frames).
    fn line(runs: &[(f32, usize)]) -> Vec<Vec<i16>> {
        runs.iter().flat_map(|&(amp, n)| vec![tone(amp); n]).collect()
    }

    /// The frames at which `frames` end a turn, when the words heard at the pause at frame `i`
    /// say the pause that ends it is `said(i)`.
    fn turn_ends(frames: &[Vec<i16>], t0: Instant, said: impl Fn(usize) -> Option<Duration>) -> Vec<usize> {
        let mut ep = Endpointer::new(EndpointerConfig::default());
        let mut ended = Vec::new();
        for (i, f) in frames.iter().enumerate() {
            match ep.push_frame(t0 + Duration::from_millis(20 * i as u64), f) {
                Some(VadEvent::Paused { .. }) => {
                    if let Some(silence) = said(i) {
                        ep.end_after(silence);
                    }
                }
                Some(VadEvent::TurnEnded { .. }) => ended.push(i),
                _ => {}
            }
        }
        ended
    }

    #[test]
    fn speech_then_silence_ends_the_turn_after_end_silence() {
        let t0 = Instant::now();
        let mut frames = vec![tone(30.0); 25]; // quiet line noise
        frames.extend(vec![tone(8000.0); 50]); // one second of speech
        frames.extend(vec![tone(30.0); 40]);
        let mut ep = Endpointer::new(EndpointerConfig::default());
        let events = run(&mut ep, t0, &frames);
        assert_eq!(events.len(), 3);
        assert_eq!(events[0], (27, VadEvent::SpeechStarted));
        let (i, VadEvent::Paused { speech_end, .. }) = &events[1] else { panic!("{:?}", events[1]) };
        assert_eq!((*i, *speech_end), (74 + 12, t0 + Duration::from_millis(20 * 74)), "240 ms into the pause");
        let (i, VadEvent::TurnEnded { audio, speech_end }) = &events[2] else { panic!() };
        assert_eq!(*speech_end, t0 + Duration::from_millis(20 * 74));
        assert_eq!(*i, 74 + 30, "600 ms of silence after the last voiced frame");
        assert!(audio.len() >= 50 * 160, "utterance holds the speech and the pre-roll");
    }

    #[test]
    fn a_pause_hands_over_early_and_going_on_makes_it_stale() {
        let t0 = Instant::now();
        // Line noise, speech, a 400 ms pause, speech, silence.
        let frames = line(&[(30.0, 25), (8000.0, 40), (30.0, 20), (8000.0, 20), (30.0, 40)]);
        let mut ep = Endpointer::new(EndpointerConfig::default());
        let kinds: Vec<(usize, &str)> = run(&mut ep, t0, &frames)
            .iter()
            .map(|(i, e)| (*i, match e { VadEvent::SpeechStarted => "started", VadEvent::Paused { .. } => "paused", VadEvent::Resumed => "resumed", VadEvent::TurnEnded { .. } => "ended" }))
            .collect();
        assert_eq!(kinds, [(27, "started"), (64 + 12, "paused"), (85, "resumed"), (104 + 12, "paused"), (104 + 30, "ended")]);
        let mut ep = Endpointer::new(EndpointerConfig { speculate_after: None, ..Default::default() });
        assert_eq!(run(&mut ep, t0, &frames).len(), 2, "without speculation: started and ended only");
    }

    #[test]
    fn the_words_can_shorten_or_lengthen_the_pause_that_ends_a_turn() {
        let t0 = Instant::now();
        let mut frames = vec![tone(30.0); 25];
        frames.extend(vec![tone(8000.0); 40]);
        frames.extend(vec![tone(30.0); 80]);
        let ended_after = |silence: Duration| turn_ends(&frames, t0, |_| Some(silence));
        assert_eq!(ended_after(Duration::from_millis(1200)), [64 + 60], "cut off: 1200 ms of silence");
        assert_eq!(ended_after(Duration::from_millis(360)), [64 + 18], "finished: 360 ms");
        assert_eq!(ended_after(Duration::from_millis(100)), [64 + 13], "already past: the next frame");
    }

    #[test]
    fn going_on_after_a_pause_undoes_what_the_words_before_it_said_about_its_length() {
        let t0 = Instant::now();
        // Line noise, speech, a 260 ms pause, speech, silence.
        let frames = line(&[(30.0, 25), (8000.0, 40), (30.0, 13), (8000.0, 40), (30.0, 60)]);
        for said in [Duration::from_millis(300), Duration::from_millis(1200)] {
            // Only the first pause's words are known: "yes" (300 ms), or "my order number is" (1200).
            let ended = turn_ends(&frames, t0, |i| (i < 80).then_some(said));
            assert_eq!(ended, [117 + 30], "after {said:?} before the pause, the usual 600 ms after the last word");
        }
    }

    #[test]
    fn a_click_is_not_a_turn() {
        let t0 = Instant::now();
        let mut frames = vec![tone(30.0); 10];
        frames.extend(vec![tone(8000.0); 4]);
        frames.extend(vec![tone(30.0); 60]);
        let mut ep = Endpointer::new(EndpointerConfig::default());
        let events = run(&mut ep, t0, &frames);
        assert_eq!(events.iter().filter(|(_, e)| matches!(e, VadEvent::TurnEnded { .. })).count(), 0);
    }

    #[test]
    fn digital_silence_never_triggers() {
        let mut ep = Endpointer::new(EndpointerConfig::default());
        assert!(run(&mut ep, Instant::now(), &vec![vec![0; 160]; 100]).is_empty());
    }
}
