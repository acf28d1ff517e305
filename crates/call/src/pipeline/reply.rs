//! The agent's reply: prepared during the caller's pause, the model's completions and tools,
//! the conversation's own timers, and when the reply's first audio went out (its timings).

use super::*;

/// A reply waiting for its first audio.
pub(super) struct Reply {
    pub(super) speech_end: Instant,
    pub(super) eot_ms: u64,
    pub(super) asr_ms: u64,
    pub(super) asked_ms: u64,
    pub(super) heard_ms: u64,
    pub(super) answered: Instant,
    /// When the agent had its first words, a filler's or the answer's (after a tool or the
    /// model; else `answered`).
    pub(super) said_at: Option<Instant>,
    /// The synthesis of a filler said while the answer was being worked out.
    pub(super) filler: Option<u64>,
    /// The synthesis of the answer's first words.
    pub(super) answer: Option<u64>,
    /// The timings up to the first audio, once it was played (a filler's: the answer is still
    /// to come).
    pub(super) first: Option<TurnLatency>,
}

impl CallPipeline {
    /// Synthesizes ahead what the agent would answer to `text` (on a copy of the conversation:
    /// nothing is decided until the turn is taken), when the agent is silent; when the model
    /// answers, asks it now ([`crate::ahead`]).
    pub(super) fn prepare_reply(&mut self, now: Instant, text: &str) {
        let text = text.trim();
        if !(self.prepare_replies || self.ask_model_ahead) || text.is_empty() || self.held.is_some() || self.parked.is_some() || self.paying.is_some() || self.convo.done() {
            return;
        }
        // When the caller is going on with the turn the agent took last, the answer to prepare
        // is the one to the whole turn.
        let (mut trial, text) = match self.taken.as_ref() {
            Some(taken) => taken.trial(&self.convo, text),
            None => (self.convo.clone(), text.to_string()),
        };
        let mut actions = trial.handle(now, Input::Said(text));
        // A lookup that needs no I/O is run on the copy too, so its answer can be prepared.
        while let (Some(Action::CallTool(call)), Some(local)) = (actions.first(), self.local_tools) {
            let Some(result) = local(call) else { return };
            actions = trial.handle(now, Input::Tool(result));
        }
        match actions.into_iter().next() {
            Some(Action::Say(first)) => self.prepare_first_sentence(first),
            // The model answers: it is asked now, its answer's first sentence synthesized as it comes.
            Some(Action::Complete(request)) if self.ask_model_ahead && request.max_tokens > 0 => {
                let (request, dropped) = self.ahead.ask(request, trial);
                self.out.extend(dropped.map(Output::CancelCompletion));
                self.out.push_back(Output::Complete(request));
            }
            _ => {}
        }
    }

    pub(super) fn prepare_first_sentence(&mut self, first: String) {
        if !self.prepare_replies {
            return;
        }
        if let Some(prompt) = self.playout.prepare(first) {
            self.out.push_back(Output::Synthesize(prompt));
        }
    }

    /// The model's answer asked during the pause is not the turn's: it is stopped.
    pub(super) fn drop_ahead(&mut self) {
        if let Some(wire) = self.ahead.drop_current() {
            self.out.push_back(Output::CancelCompletion(wire));
        }
    }

    /// The parts of an answer asked ahead that came before the turn adopted it go to the
    /// conversation, in order.
    pub(super) fn replay_ahead(&mut self, now: Instant) {
        let Some((id, parts)) = self.replay.take() else { return };
        for part in parts {
            self.completion_part(now, id, part);
        }
    }

    /// A tool's result ([`Output::RunTool`]).
    pub fn handle_tool_result(&mut self, now: Instant, result: ToolResult) {
        if let Some((tool, started)) = self.tools_running.remove(&result.id) {
            let outcome = ToolTiming::outcome_word(&result.outcome);
            self.tools.push(ToolTiming { at_ms: ms(started.saturating_duration_since(self.t0)), tool, ms: ms(now.saturating_duration_since(started)), outcome });
        }
        let actions = self.convo.handle(now, Input::Tool(result));
        let said = self.apply(now, actions);
        self.first_words(now, said);
        self.settle(now);
    }

    /// The reply waiting for its answer has the answer's first words now, in synthesis `said`.
    pub(super) fn first_words(&mut self, now: Instant, said: Option<u64>) {
        if let (Some(r), Some(id)) = (self.reply.as_mut(), said) {
            if r.answer.is_none() {
                r.said_at.get_or_insert(now);
                r.answer = Some(id);
            }
        }
    }

    /// The reply is over without its answer played (the caller went on, the call ended): its
    /// first audio's timings, if any, are all there is.
    pub(super) fn end_reply(&mut self) {
        if let Some(first) = self.reply.take().and_then(|r| r.first) {
            self.latencies.push(first);
            self.out.push_back(Output::Turn(first));
        }
    }

    /// A frame of the reply's audio went out: the first one gives the turn's timings, the
    /// first of the answer (after a filler) its `answer_ms`.
    pub(super) fn reply_audio(&mut self, now: Instant, first_frame: bool) {
        let playing = self.playout.playing();
        let Some(r) = self.reply.as_mut() else { return };
        if r.first.is_none() {
            if !first_frame {
                return;
            }
            let said_at = r.said_at.unwrap_or(r.answered);
            r.first = Some(TurnLatency {
                at_ms: ms(r.speech_end.saturating_duration_since(self.t0)),
                eot_ms: r.eot_ms,
                asr_ms: r.asr_ms,
                asked_ms: r.asked_ms,
                heard_ms: r.heard_ms,
                agent_ms: ms(said_at.saturating_duration_since(r.answered)),
                tts_ms: ms(now.saturating_duration_since(said_at)),
                total_ms: ms(now.saturating_duration_since(r.speech_end)),
                answer_ms: None,
            });
        }
        let answer_heard = match (r.filler, r.answer) {
            (None, _) => true,
            (Some(_), Some(answer)) => playing.is_some_and(|p| p >= answer),
            (Some(_), None) => false,
        };
        if answer_heard {
            let answer_ms = ms(now.saturating_duration_since(r.speech_end));
            if let Some(first) = r.first.as_mut() {
                first.answer_ms = Some(answer_ms);
            }
            self.end_reply();
        }
    }

    /// A part of completion `id` ([`Output::Complete`]): its sentences are spoken as they come.
    pub fn handle_completion(&mut self, now: Instant, id: u64, part: CompletionPart) {
        match self.ahead.route(now, id, &part) {
            Routed::Conversation(id) => self.completion_part(now, id, part),
            Routed::Kept(Some(first)) => self.prepare_first_sentence(first),
            Routed::Kept(None) | Routed::Stale => {}
        }
    }

    pub(super) fn completion_part(&mut self, now: Instant, id: u64, part: CompletionPart) {
        let actions = self.convo.handle(now, Input::Completion { id, part });
        let said = self.apply(now, actions);
        self.first_words(now, said);
        self.settle(now);
    }

    /// The conversation's own timers (no answer to a question, a slow tool, the call's time
    /// limit), held while the caller is talking or their words are with the recognizer.
    pub(super) fn conversation_timers(&mut self, now: Instant) {
        let due = self.convo.poll_timeout().is_some_and(|t| now >= t);
        if !due || self.vad.speaking() || !self.turns.is_empty() || self.parked.is_some() || self.held.is_some() || self.paying.is_some() {
            return;
        }
        let actions = self.convo.handle_timeout(now);
        let said = self.apply(now, actions);
        match self.reply.as_mut() {
            // Said while the agent still works on the answer: a filler.
            Some(r) if self.convo.waiting() && r.answer.is_none() && said.is_some() => {
                r.said_at.get_or_insert(now);
                r.filler = r.filler.or(said);
            }
            _ => self.first_words(now, said),
        }
    }

    /// Queues what the agent says; hangup and transfer wait until it has been played; payment
    /// mode starts at once. Returns the synthesis of the first text said, if any.
    pub(super) fn apply(&mut self, now: Instant, actions: Vec<Action>) -> Option<u64> {
        let mut said = None;
        for a in actions {
            if !TakenTurn::undoable(&a) {
                self.taken = None;
            }
            match a {
                Action::Say(text) => {
                    self.spoken.push(text.clone());
                    said = said.or(Some(self.playout.say(text, false)));
                    self.cancel_prepared();
                }
                Action::CollectPayment(request) => self.playout.payment = Some(request),
                Action::CallTool(call) => {
                    self.tools_running.insert(call.id, (call.tool.clone(), now));
                    self.out.push_back(Output::RunTool(call));
                }
                Action::Complete(request) => match self.ahead.adopt(&request) {
                    Some(parts) => self.replay = Some((request.id, parts)),
                    None => self.out.push_back(Output::Complete(request)),
                },
                Action::CancelCompletion(id) => self.out.push_back(Output::CancelCompletion(self.ahead.wire_id(id))),
                other => self.playout.after = Some(other),
            }
        }
        said
    }

    /// Stops a prepared synthesis the agent did not use.
    pub(super) fn cancel_prepared(&mut self) {
        if let Some(id) = self.playout.take_cancelled() {
            self.out.push_back(Output::CancelSynthesis(id));
        }
    }
}
