//! What [`CallPipeline`](super::CallPipeline) tells its driver: the outputs, the events it takes, a turn's timings and
//! what is left when the call ends.

use super::*;

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
    pub(super) fn outcome_word(outcome: &ToolOutcome) -> String {
        match outcome {
            ToolOutcome::Done { outcome, .. } if (1..=32).contains(&outcome.len()) && outcome.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') => outcome.clone(),
            ToolOutcome::Done { .. } => "done".into(),
            ToolOutcome::Failed(_) => "failed".into(),
        }
    }
}
