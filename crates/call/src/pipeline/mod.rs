//! [`CallPipeline`]: one answered call's turn-taking, sans-IO.
//!
//! The driver feeds it what arrives (caller audio with its sequence number, keys, recognized
//! text, synthesized audio, payment results, transfer progress) and the time, calls
//! [`CallPipeline::handle_timeout`] when [`CallPipeline::poll_timeout`] is due (every 20 ms),
//! and carries out what [`CallPipeline::poll_output`] returns: send a frame, recognize an
//! utterance, synthesize a text, hang up, transfer, charge a card. Nothing here reads a clock,
//! spawns a task or does I/O, so every behaviour is tested in simulated time.
//!
//! One file a concept: here the pipeline, its tick and what happens around the conversation
//! (keys, payment, transfers, hang-up); `output.rs` what it tells the driver; `turns.rs` a
//! caller's turn from the pause to the agent; `reply.rs` the agent's reply, prepared ahead,
//! with its completions, tools and timings; `barge_in.rs` the caller talking over the agent.

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

mod barge_in;
mod output;
mod reply;
mod turns;

pub use output::{Event, Finished, Output, ToolTiming, TurnLatency};
use reply::Reply;
use turns::{Parked, PendingTurn};

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
}
