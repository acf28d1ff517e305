//! [`CallPipeline`]: one answered call's turn-taking, sans-IO.
//!
//! The driver feeds it what arrives (caller audio with its sequence number, keys, recognized
//! text, synthesized audio, payment results, transfer progress) and the time, calls
//! [`CallPipeline::handle_timeout`] when [`CallPipeline::poll_timeout`] is due (every 20 ms),
//! and carries out what [`CallPipeline::poll_output`] returns: send a frame, recognize an
//! utterance, synthesize a text, hang up, transfer, charge a card. Nothing here reads a clock,
//! spawns a task or does I/O, so every behaviour is tested in simulated time.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parley_agent::conversation::{Action, CallContext, CompletionPart, CompletionRequest, Conversation, Input, PaymentRequest, PaymentResult};
use parley_agent::intent::meaning::SentenceEncoder;
use parley_agent::tools::{ToolCall, ToolOutcome, ToolResult};
use parley_agent::spec::AgentSpec;
use parley_agent::turn::TurnShape;
use parley_connect::payment::capture::CardDetails;
use parley_connect::transcript::{Speaker, Transcript};
use parley_media::jitter::{Frame, JitterBuffer};
use parley_media::pacer::{Pacer, FRAME_SAMPLES};
use parley_speech::silero::SileroModel;
use parley_speech::vad::{Endpointer, EndpointerConfig, VadEvent};
use parley_speech::Urgency;

use crate::ahead::{ModelAhead, Routed};
use crate::payment::{self, PaymentMode, PaymentStep};
use crate::playout::{Playout, Prompt};
use crate::recording::Recorder;
use crate::taken_back::TakenTurn;

/// How a pipeline starts.
#[derive(Debug, Clone)]
pub struct Config {
    /// The agent answering.
    pub agent: AgentSpec,
    /// Who called (for a warm transfer's briefing and the flow's `{caller}`).
    pub caller: String,
    /// When the call was answered, as Unix ms (for the flow's opening hours).
    pub answered_unix_ms: i64,
    /// Keep a recording (the tenant's policy).
    pub record: bool,
    /// End-of-turn tuning.
    pub endpointer: EndpointerConfig,
    /// Silero VAD, when installed: frames count as speech only when it agrees.
    pub voice_model: Option<SileroModel>,
    /// Synthesize the agent's answer to the early text of a turn while the caller's pause may
    /// still be its end, so the answer starts as soon as the turn is taken (the synthesis is
    /// wasted when the caller goes on: a cost with a paid voice).
    pub prepare_replies: bool,
    /// Ask the language model for its answer to the early text of a turn during the pause too
    /// ([`crate::ahead`]): the completion is stopped when the caller goes on, so its tokens are
    /// spent for nothing (a cost with a paid model).
    pub ask_model_ahead: bool,
    /// Tools that need no I/O and change nothing (a lookup in data shipped with Parley), which a
    /// prepared answer may run ahead: `None` for any other.
    pub local_tools: Option<fn(&ToolCall) -> Option<ToolResult>>,
    /// Sentence vectors, for menus to hear what callers mean when no intent's words match.
    pub encoder: Option<Arc<dyn SentenceEncoder>>,
    /// The driver can judge from its sound whether a sentence is over ([`Output::JudgeTurn`],
    /// an end-of-turn model is installed).
    pub judge_turns: bool,
}

/// A sentence whose words do not decide it (closed with a full stop, or unpunctuated) ends
/// after the short pause of a finished one when the end-of-turn model gives it at least this
/// probability of being over (Pipecat's threshold for Smart Turn).
pub const SOUNDS_FINISHED: f32 = 0.5;

/// What the driver does next.
#[derive(Debug)]
pub enum Output {
    /// Send these 20 ms to the caller (RTP timestamp offset `ts`; `marker`: a talk spurt starts).
    Audio {
        /// 160 samples, 8 kHz.
        samples: Vec<i16>,
        /// Timestamp offset in samples.
        ts: u32,
        /// First frame of a talk spurt.
        marker: bool,
        /// When the frame was due (to measure how late it leaves).
        due: Instant,
    },
    /// The caller started talking over the agent: drop the audio the far end still holds.
    ClearAudio,
    /// Recognize this utterance, then call [`CallPipeline::handle_recognized`] with `turn`.
    Recognize {
        /// Turn number.
        turn: u64,
        /// 8 kHz audio, pre-roll included.
        audio: Vec<i16>,
        /// When the caller stopped speaking.
        speech_end: Instant,
        /// Whether the turn has ended (else recognition starts early, at a pause).
        urgency: Urgency,
        /// What the agent expects to hear (a prompt for the recognizer).
        hint: Option<String>,
    },
    /// The caller went on talking: the early recognition of `turn` is no longer wanted.
    CancelRecognition(u64),
    /// Judge from its sound whether the caller has finished (`audio`: the utterance so far and
    /// the pause after it), then call [`CallPipeline::handle_turn_judged`] with `turn`. Asked
    /// while the caller pauses after an early text whose words do not decide the end of the
    /// turn (a full stop, no punctuation); dropped with [`Output::CancelRecognition`] of the
    /// same turn.
    JudgeTurn {
        /// Turn number.
        turn: u64,
        /// 8 kHz audio, pre-roll included.
        audio: Vec<i16>,
    },
    /// Synthesize this text, then feed its audio to [`CallPipeline::handle_synthesized`].
    Synthesize(Prompt),
    /// Synthesis `id` is no longer wanted (the caller interrupted).
    CancelSynthesis(u64),
    /// End the call.
    Hangup,
    /// Hand the call over to `target` (a blind transfer).
    Transfer(String),
    /// Call `target`, brief them, then bridge the caller ([`Event::ConsultAnswered`]).
    WarmTransfer {
        /// Who to call.
        target: String,
        /// What to tell them first.
        briefing: String,
    },
    /// A bridged warm transfer: the caller's next frame for the person (`None`: nothing due),
    /// and where the person's frame for the caller goes.
    Bridge {
        /// The caller's audio for the person.
        from_caller: Option<Vec<i16>>,
        /// Timestamp offset of the frame to the caller.
        ts: u32,
        /// First frame of a talk spurt.
        marker: bool,
        /// When it was due.
        due: Instant,
    },
    /// Run this tool (concurrently), then call [`CallPipeline::handle_tool_result`].
    RunTool(ToolCall),
    /// Ask the language model (concurrently), streaming its answer into
    /// [`CallPipeline::handle_completion`].
    Complete(CompletionRequest),
    /// Stop completion `id` (the caller spoke over it); its late parts are ignored.
    CancelCompletion(u64),
    /// Charge this card, then call [`CallPipeline::handle_payment_result`].
    Charge(PaymentRequest, CardDetails),
    /// A caller's turn reached the agent.
    TurnTaken,
    /// The turn the agent took last was taken back: the caller went on with it at once
    /// ([`crate::taken_back`]), so its end was decided too early. The whole turn follows as a
    /// new [`Output::TurnTaken`].
    TurnTakenBack,
    /// A turn's timings, from the end of the caller's speech to the first audio of the reply.
    Turn(TurnLatency),
}

/// Where the time of one turn went (ms).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TurnLatency {
    /// When the caller's speech ended, after the answer.
    pub at_ms: u64,
    /// End of speech to end of turn (the silence waited for).
    pub eot_ms: u64,
    /// End of turn to recognized text (0 when speculative recognition had it ready).
    pub asr_ms: u64,
    /// End of speech to when the recognizer was asked for the text that was taken (the pause
    /// of an early recognition, else the end of the turn).
    pub asked_ms: u64,
    /// End of speech to that text: `asked_ms` plus the decode and its wait for a decoder.
    pub heard_ms: u64,
    /// Recognized text to the agent's answer.
    pub agent_ms: u64,
    /// The answer to its first audio.
    pub tts_ms: u64,
    /// End of speech to first audio: voice to voice.
    pub total_ms: u64,
    /// End of speech to the first audio of the answer itself: `total_ms` when the first audio
    /// was the answer, later when it was a filler ("One moment.") said while a tool or the
    /// model worked; `None` when the answer was never played (the caller went on or hung up).
    pub answer_ms: Option<u64>,
}

/// What happened around the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A blind transfer's progress (a REFER response or NOTIFY code).
    TransferProgress(u16),
    /// The transfer could not be made (unusable target, refused, no answer).
    TransferFailed,
    /// The person a warm transfer called answered: the agent leaves the conversation.
    ConsultAnswered,
    /// The warm transfer's call ended: before the answer, the agent takes a message; after,
    /// the call is over.
    ConsultEnded,
}

/// What is left when the call ends.
pub struct Finished {
    /// The conversation, for the summary and outcome.
    pub conversation: Conversation,
    /// Who said what, with offsets from the answer.
    pub transcript: Transcript,
    /// The recording, when kept.
    pub recorder: Option<Recorder>,
    /// Caller speech sent to the recognizer, ms.
    pub recognized_ms: u64,
    /// Each reply's latency, in order.
    pub latencies: Vec<TurnLatency>,
    /// Each tool call that ended, in order of its end.
    pub tools: Vec<ToolTiming>,
}

/// A tool call's time and how it ended: the tool's name in the agent and an outcome word
/// (`found`, `booked`, `failed`...), never its arguments or data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolTiming {
    /// When the agent called it, after the answer.
    pub at_ms: u64,
    /// The tool's name in the agent.
    pub tool: String,
    /// How long it ran.
    pub ms: u64,
    /// Its outcome word, `failed`, or `done` for a word that is not a plain lowercase name.
    pub outcome: String,
}

impl ToolTiming {
    fn outcome_word(outcome: &ToolOutcome) -> String {
        match outcome {
            ToolOutcome::Done { outcome, .. } if (1..=32).contains(&outcome.len()) && outcome.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') => outcome.clone(),
            ToolOutcome::Done { .. } => "done".into(),
            ToolOutcome::Failed(_) => "failed".into(),
        }
    }
}

/// An utterance with the recognizer. A speculative one was sent at the first pause; it
/// becomes the turn when the pause turns out to be its end, and is dropped when the caller
/// goes on.
struct PendingTurn {
    speech_end: Instant,
    start_ms: u64,
    end_ms: u64,
    /// When the turn was known to have ended (`None`: still speculative).
    confirmed: Option<Instant>,
    /// When the recognizer was asked for its text.
    asked: Instant,
    /// The text, if it came before the turn was confirmed, and when.
    text: Option<(String, Instant)>,
    /// The audio of an early turn, kept for the end-of-turn model while its words are
    /// recognized (asked only if they do not decide).
    audio: Option<Vec<i16>>,
    /// The end-of-turn model was asked about this turn (its words did not decide).
    judging: bool,
}

/// A turn the pause ended before its text came, whose text then sounded cut off ("my order
/// number is"): it waits until `until` for the caller to go on, and the next turn is added to it.
struct Parked {
    text: String,
    start_ms: u64,
    end_ms: u64,
    speech_end: Instant,
    asked: Instant,
    until: Instant,
}

/// A reply waiting for its first audio.
struct Reply {
    speech_end: Instant,
    eot_ms: u64,
    asr_ms: u64,
    asked_ms: u64,
    heard_ms: u64,
    answered: Instant,
    /// When the agent had its first words, a filler's or the answer's (after a tool or the
    /// model; else `answered`).
    said_at: Option<Instant>,
    /// The synthesis of a filler said while the answer was being worked out.
    filler: Option<u64>,
    /// The synthesis of the answer's first words.
    answer: Option<u64>,
    /// The timings up to the first audio, once it was played (a filler's: the answer is still
    /// to come).
    first: Option<TurnLatency>,
}

/// See the module docs.
pub struct CallPipeline {
    t0: Instant,
    caller: String,
    pacer: Pacer,
    jitter: JitterBuffer,
    vad: Endpointer,
    convo: Conversation,
    transcript: Transcript,
    playout: Playout,
    paying: Option<PaymentMode>,
    turns: HashMap<u64, PendingTurn>,
    next_turn: u64,
    /// The speculative turn of the current utterance, if one was sent.
    speculative: Option<u64>,
    /// The replies' latencies so far.
    latencies: Vec<TurnLatency>,
    /// Tool calls running: their tool's name and when they started.
    tools_running: HashMap<u64, (String, Instant)>,
    /// Tool calls that ended.
    tools: Vec<ToolTiming>,
    /// Voiced audio over the agent that stops it.
    barge_in_after: Duration,
    /// The agent stops for a continuer said over it too.
    continuers_interrupt: bool,
    /// See [`Config::prepare_replies`].
    prepare_replies: bool,
    /// See [`Config::ask_model_ahead`].
    ask_model_ahead: bool,
    /// The model's answer asked during the pause, and one adopted with its turn.
    ahead: ModelAhead,
    /// The parts of a completion asked ahead that came before it was adopted, to replay.
    replay: Option<(u64, Vec<CompletionPart>)>,
    /// See [`Config::local_tools`].
    local_tools: Option<fn(&ToolCall) -> Option<ToolResult>>,
    /// The pauses that end a turn whose words sound finished, whose sound does, or whose words
    /// sound cut off.
    finished_silence: Duration,
    judged_silence: Duration,
    unfinished_silence: Duration,
    closed_silence: Duration,
    /// See [`Config::judge_turns`].
    judge_turns: bool,
    reply: Option<Reply>,
    /// The agent is held because the caller talked over it (since when): their words decide
    /// whether it goes on (a continuer, a noise) or stops (anything else).
    held: Option<Instant>,
    /// A turn that sounded cut off once its late text came, waiting for the rest.
    parked: Option<Parked>,
    /// The last turn taken, while the caller may go on with it ([`crate::taken_back`]).
    taken: Option<TakenTurn>,
    /// When the agent started its current talk spurt (ms since answer), and its texts.
    speaking_since: Option<u64>,
    spoken: Vec<String>,
    marker: bool,
    hangup_sent: bool,
    /// A warm transfer's person answered: audio is bridged, the agent is out.
    bridged: bool,
    /// Waiting for a warm transfer's call to be answered.
    consulting: bool,
    recognized_ms: u64,
    recorder: Option<Recorder>,
    out: VecDeque<Output>,
    frames: Vec<Vec<i16>>,
}

/// The server's end-of-turn settings with the agent's own (`turn_taking`) put over them; an
/// agent that may not be talked over gets a barge-in threshold no caller reaches.
fn for_agent(mut e: EndpointerConfig, t: &parley_agent::spec::TurnTaking) -> EndpointerConfig {
    let ms = |v: Option<u32>, d: Duration| v.map_or(d, |v| Duration::from_millis(u64::from(v)));
    // The closed-sentence pause follows the end-of-turn pause unless set on its own.
    let closed_follows = e.closed_silence == e.end_silence;
    e.end_silence = ms(t.end_of_turn_ms, e.end_silence);
    e.closed_silence = ms(t.closed_sentence_ms.or(t.end_of_turn_ms.filter(|_| closed_follows)), e.closed_silence);
    e.finished_silence = ms(t.finished_ms, e.finished_silence);
    // A sentence judged by its sound never ends sooner than one its words decide.
    e.judged_silence = e.judged_silence.max(e.finished_silence);
    e.unfinished_silence = ms(t.unfinished_ms, e.unfinished_silence);
    if !t.barge_in {
        e.barge_in_after = Duration::MAX;
    }
    e
}

fn ms(d: Duration) -> u64 {
    d.as_millis() as u64
}

impl CallPipeline {
    /// A call answered at `now`; the agent's greeting is queued.
    pub fn new(config: Config, now: Instant) -> CallPipeline {
        let endpointer = for_agent(config.endpointer, &config.agent.turn_taking);
        let continuers_interrupt = config.agent.turn_taking.continuers_interrupt;
        let judge_turns = config.judge_turns && config.agent.turn_taking.end_of_turn_model;
        let e = &endpointer;
        let (finished_silence, judged_silence, unfinished_silence, closed_silence, barge_in_after) = (e.finished_silence, e.judged_silence, e.unfinished_silence, e.closed_silence, e.barge_in_after);
        let context = CallContext { caller: config.caller.clone(), answered: now, answered_unix_ms: config.answered_unix_ms };
        let mut convo = Conversation::new(config.agent, context).with_encoder(config.encoder);
        let start = convo.start(now);
        let mut p = CallPipeline {
            t0: now,
            caller: config.caller,
            pacer: Pacer::new(now),
            // Waits 20 to 200 ms for a missing packet, following the jitter of this call.
            jitter: JitterBuffer::adaptive(Duration::from_millis(20), Duration::from_millis(200)),
            vad: Endpointer::with_model(endpointer, config.voice_model.map(|m| m.stream())),
            convo,
            transcript: Transcript::new(),
            playout: Playout::default(),
            paying: None,
            turns: HashMap::new(),
            next_turn: 0,
            speculative: None,
            latencies: Vec::new(),
            tools_running: HashMap::new(),
            tools: Vec::new(),
            finished_silence,
            judged_silence,
            unfinished_silence,
            closed_silence,
            judge_turns,
            barge_in_after,
            continuers_interrupt,
            prepare_replies: config.prepare_replies,
            ask_model_ahead: config.ask_model_ahead,
            ahead: ModelAhead::default(),
            replay: None,
            local_tools: config.local_tools,
            reply: None,
            held: None,
            parked: None,
            taken: None,
            speaking_since: None,
            spoken: Vec::new(),
            marker: true,
            hangup_sent: false,
            bridged: false,
            consulting: false,
            recognized_ms: 0,
            recorder: config.record.then(Recorder::default),
            out: VecDeque::new(),
            frames: Vec::with_capacity(4),
        };
        for action in start {
            match action {
                Action::Say(text) => {
                    p.spoken.push(text.clone());
                    p.playout.say(text, true);
                }
                other => {
                    p.apply(now, vec![other]);
                }
            }
        }
        p.settle(now);
        p
    }

    /// The next thing to do, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When [`CallPipeline::handle_timeout`] is next due (the next 20 ms frame).
    pub fn poll_timeout(&self) -> Instant {
        self.pacer.next_deadline()
    }

    /// Whether the agent's conversation has ended (nothing more to recognize).
    pub fn conversation_done(&self) -> bool {
        self.convo.done()
    }

    /// A frame of caller audio arrived (sequence number, 20 ms of 8 kHz PCM).
    pub fn handle_audio(&mut self, now: Instant, seq: u16, pcm: Vec<i16>) {
        self.jitter.push(now, seq, pcm);
    }

    /// A key the caller pressed (RFC 4733 or SIP INFO): to card capture in payment mode, to the
    /// agent otherwise.
    pub fn handle_key(&mut self, now: Instant, key: char) {
        self.settle(now);
        self.taken = None;
        let at = ms(now - self.t0);
        let Some(mode) = self.paying.as_mut() else {
            let actions = self.convo.handle(now, Input::Key(key));
            self.apply(now, actions);
            self.settle(now);
            return;
        };
        match mode.key(key, at) {
            Some(PaymentStep::Charge(request, card)) => {
                self.transcript.push(Speaker::Caller, payment::TRANSCRIPT_LINE, at, at);
                self.apply(now, vec![Action::Say("Thank you. One moment while I take the payment.".into())]);
                self.out.push_back(Output::Charge(request, card));
            }
            Some(step) => self.payment_step(now, step),
            None => {}
        }
        self.settle(now);
    }

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

    /// Synthesizes ahead what the agent would answer to `text` (on a copy of the conversation:
    /// nothing is decided until the turn is taken), when the agent is silent; when the model
    /// answers, asks it now ([`crate::ahead`]).
    fn prepare_reply(&mut self, now: Instant, text: &str) {
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

    fn prepare_first_sentence(&mut self, first: String) {
        if !self.prepare_replies {
            return;
        }
        if let Some(prompt) = self.playout.prepare(first) {
            self.out.push_back(Output::Synthesize(prompt));
        }
    }

    /// The model's answer asked during the pause is not the turn's: it is stopped.
    fn drop_ahead(&mut self) {
        if let Some(wire) = self.ahead.drop_current() {
            self.out.push_back(Output::CancelCompletion(wire));
        }
    }

    /// The parts of an answer asked ahead that came before the turn adopted it go to the
    /// conversation, in order.
    fn replay_ahead(&mut self, now: Instant) {
        let Some((id, parts)) = self.replay.take() else { return };
        for part in parts {
            self.completion_part(now, id, part);
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
    fn deliver(&mut self, now: Instant, turn: u64, text: &str, heard: Instant) -> bool {
        let Some(t) = self.turns.remove(&turn) else { return false };
        self.deliver_turn(now, t, text.trim().to_string(), heard)
    }

    fn deliver_turn(&mut self, now: Instant, t: PendingTurn, text: String, heard: Instant) -> bool {
        let taken = self.take_turn(now, t, text, heard);
        // An answer asked ahead that the turn did not adopt is stopped.
        self.drop_ahead();
        taken
    }

    fn take_turn(&mut self, now: Instant, mut t: PendingTurn, mut text: String, heard: Instant) -> bool {
        if self.held.is_some() {
            // What the caller said over the agent: a continuer or nothing lets it go on.
            if text.is_empty() || (!self.continuers_interrupt && parley_agent::turn::backchannel(&text)) {
                self.resume();
                return false;
            }
            self.interrupt();
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
    fn release_parked(&mut self, now: Instant) {
        let due = self.parked.as_ref().is_some_and(|p| now >= p.until) && !self.vad.speaking() && self.turns.is_empty();
        if !due {
            return;
        }
        let Some(p) = self.parked.take() else { return };
        let t = PendingTurn { speech_end: p.speech_end, start_ms: p.start_ms, end_ms: p.end_ms, confirmed: Some(p.until), asked: p.asked, text: None, audio: None, judging: false };
        self.deliver_turn(now, t, p.text, p.until);
    }

    /// Audio of synthesis `id` (shared: a cached greeting is not copied per call).
    pub fn handle_synthesized(&mut self, id: u64, chunk: std::sync::Arc<[i16]>) {
        self.playout.synthesized(id, chunk);
    }

    /// Synthesis `id` is complete (or failed: what came is played).
    pub fn handle_synthesis_done(&mut self, id: u64) {
        self.playout.synthesis_done(id);
    }

    /// The processor's answer to a [`Output::Charge`].
    pub fn handle_payment_result(&mut self, now: Instant, result: PaymentResult) {
        self.paying = None;
        let actions = self.convo.handle(now, Input::Payment(result));
        self.apply(now, actions);
        self.settle(now);
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
    fn first_words(&mut self, now: Instant, said: Option<u64>) {
        if let (Some(r), Some(id)) = (self.reply.as_mut(), said) {
            if r.answer.is_none() {
                r.said_at.get_or_insert(now);
                r.answer = Some(id);
            }
        }
    }

    /// The reply is over without its answer played (the caller went on, the call ended): its
    /// first audio's timings, if any, are all there is.
    fn end_reply(&mut self) {
        if let Some(first) = self.reply.take().and_then(|r| r.first) {
            self.latencies.push(first);
            self.out.push_back(Output::Turn(first));
        }
    }

    /// A frame of the reply's audio went out: the first one gives the turn's timings, the
    /// first of the answer (after a filler) its `answer_ms`.
    fn reply_audio(&mut self, now: Instant, first_frame: bool) {
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

    fn completion_part(&mut self, now: Instant, id: u64, part: CompletionPart) {
        let actions = self.convo.handle(now, Input::Completion { id, part });
        let said = self.apply(now, actions);
        self.first_words(now, said);
        self.settle(now);
    }

    /// The conversation's own timers (no answer to a question, a slow tool, the call's time
    /// limit), held while the caller is talking or their words are with the recognizer.
    fn conversation_timers(&mut self, now: Instant) {
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

    /// Something happened to the call around the conversation.
    pub fn handle_event(&mut self, now: Instant, event: Event) {
        match event {
            // A final answer other than 202 Accepted: the transferor leaves (RFC 5589).
            Event::TransferProgress(code) if code >= 200 && code != 202 => self.hang_up(),
            Event::TransferProgress(_) => {}
            Event::TransferFailed => {
                self.consulting = false;
                let actions = self.convo.handle(now, Input::TransferFailed);
                self.apply(now, actions);
            }
            Event::ConsultAnswered if self.consulting => {
                self.consulting = false;
                self.bridged = true;
            }
            Event::ConsultAnswered => {}
            Event::ConsultEnded if self.bridged => self.hang_up(),
            Event::ConsultEnded if self.consulting => {
                self.consulting = false;
                let actions = self.convo.handle(now, Input::TransferFailed);
                self.apply(now, actions);
            }
            Event::ConsultEnded => {}
        }
        self.settle(now);
    }

    /// The 20 ms tick: the next frame for the caller, then what the caller sent, in order.
    /// `comfort` is a frame of comfort noise for when the caller's side sends nothing in
    /// silence (RFC 3389), so the end of a turn is still heard.
    pub fn handle_timeout(&mut self, now: Instant, comfort: Option<Vec<i16>>) {
        let due = self.pacer.next_deadline();
        let Some(ts) = self.pacer.poll(now) else { return };
        if self.bridged {
            let from_caller = self.jitter.pop(now).map(|f| match f {
                Frame::Audio(p) | Frame::Concealed(p) => p,
            });
            self.out.push_back(Output::Bridge { from_caller, ts, marker: std::mem::take(&mut self.marker), due });
            return;
        }
        // Send path first, so the frame leaves on time.
        if let Some(prompt) = self.playout.refill(FRAME_SAMPLES) {
            self.out.push_back(Output::Synthesize(prompt));
        }
        let next = self.playout.next_frame(FRAME_SAMPLES);
        let speaking = next.is_some();
        let frame = match next {
            Some(f) => {
                let first_frame = self.speaking_since.is_none();
                if first_frame {
                    self.speaking_since = Some(ms(now - self.t0));
                    if let Some(t) = self.taken.as_mut() {
                        t.heard_from(now);
                    }
                }
                self.reply_audio(now, first_frame);
                f
            }
            None => vec![0; FRAME_SAMPLES],
        };
        if let Some(r) = self.recorder.as_mut() {
            r.agent(&frame);
        }
        self.out.push_back(Output::Audio { samples: frame, ts, marker: std::mem::take(&mut self.marker), due });
        // Receive path: ordered frames into the endpointer.
        let at = ms(now - self.t0);
        if let Some(step) = self.paying.as_mut().and_then(|p| p.poll_timeout(at)) {
            self.payment_step(now, step);
        }
        let mut frames = std::mem::take(&mut self.frames);
        frames.extend(std::iter::from_fn(|| self.jitter.pop(now)).map(|f| match f {
            Frame::Audio(p) | Frame::Concealed(p) => p,
        }));
        if frames.is_empty() {
            frames.extend(comfort);
        }
        for samples in frames.drain(..) {
            self.caller_frame(now, &samples);
        }
        self.frames = frames;
        self.release_hold();
        self.release_parked(now);
        self.conversation_timers(now);
        if !speaking && !self.playout.busy() {
            self.after_playout(now);
        }
        self.settle(now);
    }

    /// The call is over at `now`: what is left of it.
    pub fn finish(mut self, now: Instant) -> Finished {
        self.interrupt();
        if let Some(p) = self.parked.take() {
            self.transcript.push(Speaker::Caller, &p.text, p.start_ms, p.end_ms);
        }
        self.flush_spoken(now, false);
        self.end_reply();
        Finished { conversation: self.convo, transcript: self.transcript, recorder: self.recorder, recognized_ms: self.recognized_ms, latencies: self.latencies, tools: self.tools }
    }

    /// One frame from the caller, in order.
    fn caller_frame(&mut self, now: Instant, samples: &[i16]) {
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

    /// Barge-in: the agent falls silent once the caller has spoken over it for
    /// `barge_in_after` (a cough or a click is shorter), unless it is saying goodbye, and the
    /// far end drops what it holds. What is left of the reply is kept until the caller's words
    /// are known: a continuer ("uh-huh", "okay") or a sound that is no turn lets the agent go on
    /// from there; anything else interrupts it ([`CallPipeline::interrupt`]).
    fn barge_in(&mut self, now: Instant) {
        if self.held.is_some() || !self.playout.busy() || self.playout.after.is_some() || self.vad.voiced() < self.barge_in_after {
            return;
        }
        self.playout.pause();
        self.held = Some(now);
        self.out.push_back(Output::ClearAudio);
    }

    /// The caller's words over the agent were more than a continuer: the rest of the reply is
    /// dropped and the transcript shows it cut off where it fell silent.
    fn interrupt(&mut self) {
        let Some(at) = self.held.take() else { return };
        if let Some(id) = self.playout.barge_in() {
            self.out.push_back(Output::CancelSynthesis(id));
        }
        self.cancel_prepared();
        self.flush_spoken(at, true);
    }

    /// The agent's reply to a turn taken back stops, whether or not the caller's speech held
    /// it: what it had started saying is marked cut off, the rest is dropped.
    fn withdraw_reply(&mut self, now: Instant) {
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
    fn resume(&mut self) {
        if self.held.take().is_some() {
            self.playout.resume();
            self.marker = true;
        }
    }

    /// A held agent whose caller fell silent without a turn to recognize (a sound too short to
    /// be one) goes on.
    fn release_hold(&mut self) {
        if self.held.is_some() && !self.vad.speaking() && self.turns.is_empty() {
            self.resume();
        }
    }

    /// Sends an utterance to the recognizer; `confirmed`: the turn has ended (else it is
    /// speculative), heard until `now`. Returns its turn number.
    fn recognize(&mut self, audio: Vec<i16>, speech_end: Instant, now: Instant, confirmed: bool) -> u64 {
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

    /// Everything queued has been played: end the talk spurt, then do what was to follow it.
    fn after_playout(&mut self, now: Instant) {
        if self.speaking_since.is_some() {
            self.flush_spoken(now, false);
            self.marker = true;
            // The question has been heard: the wait for its answer starts now.
            let actions = self.convo.handle(now, Input::PromptPlayed);
            self.apply(now, actions);
        }
        match self.playout.after.take() {
            Some(Action::Hangup) => self.hang_up(),
            Some(Action::Transfer(target)) => self.out.push_back(Output::Transfer(target)),
            Some(Action::WarmTransfer(target)) => {
                self.consulting = true;
                let briefing = self.convo.briefing(&self.caller);
                self.out.push_back(Output::WarmTransfer { target, briefing });
            }
            _ => {}
        }
    }

    fn hang_up(&mut self) {
        if !self.hangup_sent {
            self.hangup_sent = true;
            self.out.push_back(Output::Hangup);
        }
    }

    /// Queues what the agent says; hangup and transfer wait until it has been played; payment
    /// mode starts at once. Returns the synthesis of the first text said, if any.
    fn apply(&mut self, now: Instant, actions: Vec<Action>) -> Option<u64> {
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
    fn cancel_prepared(&mut self) {
        if let Some(id) = self.playout.take_cancelled() {
            self.out.push_back(Output::CancelSynthesis(id));
        }
    }

    /// Enters payment mode if the agent just asked for a payment.
    fn settle(&mut self, now: Instant) {
        if let Some(request) = self.playout.payment.take() {
            let (mode, prompt) = PaymentMode::start(request, ms(now - self.t0));
            self.paying = Some(mode);
            self.apply(now, vec![Action::Say(prompt.into())]);
        }
    }

    /// A prompt of the card capture, or the end of payment mode without a charge.
    fn payment_step(&mut self, now: Instant, step: PaymentStep) {
        match step {
            PaymentStep::Say(text) => {
                self.apply(now, vec![Action::Say(text.into())]);
            }
            PaymentStep::Done(result) => {
                self.paying = None;
                let actions = self.convo.handle(now, Input::Payment(result));
                self.apply(now, actions);
            }
            PaymentStep::Charge(..) => {}
        }
    }

    /// Moves what the agent has started saying into the transcript, with its offsets.
    /// What the agent said since `speaking_since` goes into the transcript; `interrupted`: the
    /// caller talked over it, so the last of it is marked as cut off.
    fn flush_spoken(&mut self, now: Instant, interrupted: bool) {
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
