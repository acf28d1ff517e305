//! The caller over the agent: the agent falls silent and is held until their words are known,
//! then goes on (a continuer) or is interrupted; what it said goes into the transcript, the
//! last of it marked cut off.

use super::*;

impl CallPipeline {
    /// Barge-in: the agent falls silent once the caller has spoken over it for
    /// `barge_in_after` (a cough or a click is shorter), unless it is saying goodbye, and the
    /// far end drops what it holds. What is left of the reply is kept until the caller's words
    /// are known: a continuer ("uh-huh", "okay") or a sound that is no turn lets the agent go on
    /// from there; anything else interrupts it ([`CallPipeline::interrupt`]).
    pub(super) fn barge_in(&mut self, now: Instant) {
        if self.held.is_some() || !self.playout.busy() || self.playout.after.is_some() || self.vad.voiced() < self.barge_in_after {
            return;
        }
        self.playout.pause();
        self.held = Some(now);
        self.out.push_back(Output::ClearAudio);
    }

    /// The caller's words over the agent were more than a continuer: the rest of the reply is
    /// dropped and the transcript shows it cut off where it fell silent.
    pub(super) fn interrupt(&mut self) {
        let Some(at) = self.held.take() else { return };
        if let Some(id) = self.playout.barge_in() {
            self.out.push_back(Output::CancelSynthesis(id));
        }
        self.cancel_prepared();
        self.flush_spoken(at, true);
    }

    /// The agent's reply to a turn taken back stops, whether or not the caller's speech held
    /// it: what it had started saying is marked cut off, the rest is dropped.
    pub(super) fn withdraw_reply(&mut self, now: Instant) {
        if self.playout.busy() {
            self.out.push_back(Output::ClearAudio);
        }
        if let Some(id) = self.playout.barge_in() {
            self.out.push_back(Output::CancelSynthesis(id));
        }
        self.cancel_prepared();
        if self.speaking_since.is_some() {
            self.flush_spoken(now, true);
        } else {
            self.spoken.clear();
        }
    }

    /// The agent goes on from where it fell silent (a new talk spurt).
    pub(super) fn resume(&mut self) {
        if self.held.take().is_some() {
            self.playout.resume();
            self.marker = true;
        }
    }

    /// A held agent whose caller fell silent without a turn to recognize (a sound too short to
    /// be one) goes on.
    pub(super) fn release_hold(&mut self) {
        if self.held.is_some() && !self.vad.speaking() && self.turns.is_empty() {
            self.resume();
        }
    }

    /// Moves what the agent has started saying into the transcript, with its offsets.
    /// What the agent said since `speaking_since` goes into the transcript; `interrupted`: the
    /// caller talked over it, so the last of it is marked as cut off.
    pub(super) fn flush_spoken(&mut self, now: Instant, interrupted: bool) {
        let Some(start) = self.speaking_since.take() else { return };
        let end = ms(now - self.t0);
        let last = self.spoken.len().saturating_sub(1);
        for (i, text) in self.spoken.drain(..).enumerate() {
            if interrupted && i == last {
                self.transcript.push_interrupted(&text, start, end);
            } else {
                self.transcript.push(Speaker::Agent, &text, start, end);
            }
        }
    }
}
