//! A caller's turn, from the pause to the agent: early recognition at the first pause, the
//! words deciding how long a pause ends the turn, the end-of-turn model's judgement, a turn that
//! sounds cut off parked for the rest, and the turn taken.

use super::*;

/// An utterance with the recognizer. A speculative one was sent at the first pause; it
/// becomes the turn when the pause turns out to be its end, and is dropped when the caller
/// goes on.
pub(super) struct PendingTurn {
    pub(super) speech_end: Instant,
    pub(super) start_ms: u64,
    pub(super) end_ms: u64,
    /// When the turn was known to have ended (`None`: still speculative).
    pub(super) confirmed: Option<Instant>,
    /// When the recognizer was asked for its text.
    pub(super) asked: Instant,
    /// The text, if it came before the turn was confirmed, and when.
    pub(super) text: Option<(String, Instant)>,
    /// The audio of an early turn, kept for the end-of-turn model while its words are
    /// recognized (asked only if they do not decide).
    pub(super) audio: Option<Vec<i16>>,
    /// The end-of-turn model was asked about this turn (its words did not decide).
    pub(super) judging: bool,
}

/// A turn the pause ended before its text came, whose text then sounded cut off ("my order
/// number is"): it waits until `until` for the caller to go on, and the next turn is added to it.
pub(super) struct Parked {
    pub(super) text: String,
    pub(super) start_ms: u64,
    pub(super) end_ms: u64,
    pub(super) speech_end: Instant,
    pub(super) asked: Instant,
    pub(super) until: Instant,
}

impl CallPipeline {
    /// The recognizer's text for `turn` (empty when it heard nothing or failed). A confirmed
    /// turn goes to the agent now; a speculative one waits for its confirmation. Returns
    /// whether the turn reached the agent.
    pub fn handle_recognized(&mut self, now: Instant, turn: u64, text: &str) -> bool {
        let Some(t) = self.turns.get_mut(&turn) else { return false };
        if t.confirmed.is_some() {
            return self.deliver(now, turn, text, now);
        }
        t.text = Some((text.to_string(), now));
        if self.speculative != Some(turn) {
            return false;
        }
        // The caller is still pausing: their words say how long a pause ends the turn.
        let shape = self.convo.turn_shape(text);
        match shape {
            TurnShape::Complete => self.vad.end_after(self.finished_silence),
            TurnShape::Unfinished => self.vad.end_after(self.unfinished_silence),
            TurnShape::Closed => self.vad.end_after(self.closed_silence),
            TurnShape::Open => {}
        }
        // Words that do not decide it: the sound of the sentence may.
        let undecided = matches!(shape, TurnShape::Closed | TurnShape::Open);
        if let Some(t) = self.turns.get_mut(&turn) {
            if let Some(audio) = t.audio.take().filter(|_| undecided) {
                t.judging = true;
                self.out.push_back(Output::JudgeTurn { turn, audio });
            }
        }
        if shape != TurnShape::Unfinished && self.turns.get(&turn).is_some_and(|t| t.confirmed.is_none()) {
            self.prepare_reply(now, text);
        }
        false
    }

    /// The end-of-turn model's probability that the caller finished with `turn` (asked with
    /// [`Output::JudgeTurn`]): a sentence that sounds finished ends after the short pause of a
    /// judged one (`judged_silence`), if the caller is still pausing after it. Only a turn that
    /// was asked about counts: words that decide are not overruled.
    pub fn handle_turn_judged(&mut self, _now: Instant, turn: u64, probability: f32) {
        let pausing = self.speculative == Some(turn) && self.turns.get(&turn).is_some_and(|t| t.judging && t.confirmed.is_none());
        if pausing && probability >= SOUNDS_FINISHED {
            self.vad.end_after(self.judged_silence);
        }
    }

    /// The recognizer had no text for `turn` (it failed, or declined an early decode under
    /// load). An early turn is forgotten: when the pause ends the turn, the whole utterance is
    /// recognized then. A turn that had ended is given to the agent as heard nothing.
    pub fn handle_recognition_failed(&mut self, now: Instant, turn: u64) {
        let Some(t) = self.turns.get(&turn) else { return };
        if t.confirmed.is_some() {
            self.deliver(now, turn, "", now);
            return;
        }
        self.turns.remove(&turn);
        if self.speculative == Some(turn) {
            self.speculative = None;
        }
    }

    /// Gives a confirmed turn's text (heard at `heard`) to the agent.
    pub(super) fn deliver(&mut self, now: Instant, turn: u64, text: &str, heard: Instant) -> bool {
        let Some(t) = self.turns.remove(&turn) else { return false };
        self.deliver_turn(now, t, text.trim().to_string(), heard)
    }

    pub(super) fn deliver_turn(&mut self, now: Instant, t: PendingTurn, text: String, heard: Instant) -> bool {
        let taken = self.take_turn(now, t, text, heard);
        // An answer asked ahead that the turn did not adopt is stopped.
        self.drop_ahead();
        taken
    }

    pub(super) fn take_turn(&mut self, now: Instant, mut t: PendingTurn, mut text: String, heard: Instant) -> bool {
        if self.held.is_some() {
            // What the caller said over the agent: a continuer or nothing lets it go on.
            if text.is_empty() || (!self.continuers_interrupt && parley_agent::turn::backchannel(&text)) {
                self.resume();
                return false;
            }
            self.interrupt();
        }
        // "Um." alone: nothing said yet; the agent waits as for silence.
        if parley_agent::turn::hesitation(&text) {
            text.clear();
        }
        // The turn before this one sounded cut off: this is the rest of it.
        if let Some(before) = self.parked.take() {
            text = if text.is_empty() { before.text } else { format!("{} {text}", before.text) };
            t.start_ms = before.start_ms;
        }
        if text.is_empty() || self.convo.done() || self.paying.is_some() {
            return false;
        }
        // The pause ended the turn before its words were known, and they sound cut off: wait
        // the rest of the pause they call for (the caller may go on) before the agent takes it.
        let confirmed = t.confirmed.unwrap_or(now);
        let until = t.speech_end + self.unfinished_silence;
        if heard > confirmed && now < until && self.convo.turn_shape(&text) == TurnShape::Unfinished {
            self.parked = Some(Parked { text, start_ms: t.start_ms, end_ms: t.end_ms, speech_end: t.speech_end, asked: t.asked, until });
            return false;
        }
        self.transcript.push(Speaker::Caller, &text, t.start_ms, t.end_ms);
        // The caller went on right after the agent took their last turn: the two are one.
        if let Some(taken) = self.taken.take() {
            self.out.push_back(Output::TurnTakenBack);
            self.withdraw_reply(now);
            let (stop, whole) = taken.take_back(&mut self.convo, &text);
            self.apply(now, stop);
            text = whole;
        }
        // An agent that may not be talked over finishes its reply: its turns stand (and need no copy).
        let earlier = (self.barge_in_after != Duration::MAX).then(|| self.convo.clone());
        let actions = self.convo.handle(now, Input::Said(text.clone()));
        self.taken = earlier.map(|earlier| TakenTurn::new(earlier, text, now));
        self.end_reply();
        if actions.iter().any(|a| matches!(a, Action::Say(_) | Action::CallTool(_) | Action::Complete(_))) {
            self.reply = Some(Reply { speech_end: t.speech_end, eot_ms: ms(confirmed - t.speech_end), asr_ms: ms(heard.saturating_duration_since(confirmed)), asked_ms: ms(t.asked.saturating_duration_since(t.speech_end)), heard_ms: ms(heard.saturating_duration_since(t.speech_end)), answered: now, said_at: None, filler: None, answer: None, first: None });
        }
        self.out.push_back(Output::TurnTaken);
        let said = self.apply(now, actions);
        self.first_words(now, said);
        self.replay_ahead(now);
        self.settle(now);
        true
    }

    /// A parked turn whose caller said no more within its pause goes to the agent as it is.
    pub(super) fn release_parked(&mut self, now: Instant) {
        let due = self.parked.as_ref().is_some_and(|p| now >= p.until) && !self.vad.speaking() && self.turns.is_empty();
        if !due {
            return;
        }
        let Some(p) = self.parked.take() else { return };
        let t = PendingTurn { speech_end: p.speech_end, start_ms: p.start_ms, end_ms: p.end_ms, confirmed: Some(p.until), asked: p.asked, text: None, audio: None, judging: false };
        self.deliver_turn(now, t, p.text, p.until);
    }

    /// Sends an utterance to the recognizer; `confirmed`: the turn has ended (else it is
    /// speculative), heard until `now`. Returns its turn number.
    pub(super) fn recognize(&mut self, audio: Vec<i16>, speech_end: Instant, now: Instant, confirmed: bool) -> u64 {
        let end_ms = ms(speech_end.saturating_duration_since(self.t0));
        let len_ms = audio.len() as u64 / 8;
        // The audio runs past the end of speech by the pause that was waited for.
        let spoken_ms = len_ms.saturating_sub(ms(now.saturating_duration_since(speech_end)));
        self.recognized_ms += len_ms;
        self.next_turn += 1;
        // Judging every pause beside its recognition was measured no faster on one call and
        // slower under load (the two compete for the cores): the sound is asked only about
        // words that do not decide.
        let kept = (self.judge_turns && !confirmed).then(|| audio.clone());
        let turn = PendingTurn { speech_end, start_ms: end_ms.saturating_sub(spoken_ms), end_ms, confirmed: confirmed.then_some(now), asked: now, text: None, audio: kept, judging: false };
        self.turns.insert(self.next_turn, turn);
        let urgency = if confirmed { Urgency::TurnEnded } else { Urgency::Speculative };
        let hint = self.convo.listening_for();
        self.out.push_back(Output::Recognize { turn: self.next_turn, audio, speech_end, urgency, hint });
        self.next_turn
    }

    /// One frame from the caller, in order.
    pub(super) fn caller_frame(&mut self, now: Instant, samples: &[i16]) {
        // In payment mode the caller's audio reaches neither the recording nor the recognizer.
        if self.paying.is_some() {
            if let Some(r) = self.recorder.as_mut() {
                r.caller(&[0; FRAME_SAMPLES]);
            }
            return;
        }
        if let Some(r) = self.recorder.as_mut() {
            r.caller(samples);
        }
        let event = self.vad.push_frame(now, samples);
        self.barge_in(now);
        match event {
            None => {}
            // Speech that starts later than just after the agent took the last turn is a turn
            // of its own.
            Some(VadEvent::SpeechStarted) if self.taken.as_ref().is_some_and(|t| !t.open_at(now)) => self.taken = None,
            Some(VadEvent::SpeechStarted) => {}
            // A pause: recognition starts now, the turn is decided later.
            Some(VadEvent::Paused { audio, speech_end }) => {
                let turn = self.recognize(audio, speech_end, now, false);
                self.speculative = Some(turn);
            }
            // The caller went on: the early text would be half the turn.
            Some(VadEvent::Resumed) => {
                if let Some(turn) = self.speculative.take() {
                    self.turns.remove(&turn);
                    self.out.push_back(Output::CancelRecognition(turn));
                }
                self.playout.discard_prepared();
                self.cancel_prepared();
                self.drop_ahead();
            }
            Some(VadEvent::TurnEnded { audio, speech_end }) => {
                let early = self.speculative.take().filter(|turn| self.turns.get(turn).is_some_and(|t| t.speech_end == speech_end));
                let Some(turn) = early else {
                    self.recognize(audio, speech_end, now, true);
                    return;
                };
                let Some(t) = self.turns.get_mut(&turn) else { return };
                t.confirmed = Some(now);
                if let Some((text, heard)) = t.text.take() {
                    self.deliver(now, turn, &text, heard);
                }
            }
        }
    }
}
