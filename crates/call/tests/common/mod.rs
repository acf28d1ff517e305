//! A call in simulated time: 20 ms ticks, a caller who speaks (a loud tone) or is silent, a
//! synthesizer that answers at once (or when told) with 10 ms of audio per character, and a
//! record of everything the pipeline asked for.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use parley_agent::spec::AgentSpec;
use parley_call::{CallPipeline, Config, Output};

/// 20 ms.
pub const TICK: Duration = Duration::from_millis(20);

/// A frame of caller speech: a loud 440 Hz tone (the endpointer goes by level).
pub fn speech() -> Vec<i16> {
    (0..160).map(|i| ((i as f32 * 2.0 * std::f32::consts::PI * 440.0 / 8000.0).sin() * 8000.0) as i16).collect()
}

/// A call and its simulated clock.
pub struct Sim {
    pub p: CallPipeline,
    pub now: Instant,
    seq: u16,
    /// Synthesize texts as soon as they are asked for.
    pub synthesize_at_once: bool,
    /// Texts asked for and not answered yet (id, text).
    pub waiting: Vec<(u64, String)>,
    /// Every output so far, except audio frames, which are counted in `frames_out`.
    pub outputs: Vec<Output>,
    /// Frames sent to the caller: (non-silent, marker).
    pub frames_out: Vec<(bool, bool)>,
    /// Keep tool calls in `tools_waiting` instead of running them at once.
    pub hold_tools: bool,
    /// Tool calls not answered yet.
    pub tools_waiting: Vec<parley_agent::tools::ToolCall>,
}

impl Sim {
    pub fn new(agent: AgentSpec) -> Sim {
        Sim::with(agent, false)
    }

    pub fn with(agent: AgentSpec, record: bool) -> Sim {
        Sim::tuned(agent, record, Default::default())
    }

    /// A call with this end-of-turn tuning.
    pub fn tuned(agent: AgentSpec, record: bool, endpointer: parley_speech::vad::EndpointerConfig) -> Sim {
        Sim::configured(Config { agent, caller: "+15550100004".into(), answered_unix_ms: 1_796_000_000_000, record, endpointer, voice_model: None, prepare_replies: false, ask_model_ahead: false, local_tools: None, encoder: None, judge_turns: false })
    }

    /// A call whose replies are synthesized ahead of the end of the turn.
    pub fn preparing(agent: AgentSpec) -> Sim {
        Sim::configured(Config { agent, caller: "+15550100004".into(), answered_unix_ms: 1_796_000_000_000, record: false, endpointer: Default::default(), voice_model: None, prepare_replies: true, ask_model_ahead: true, local_tools: Some(parley_connect::tools::run_built_in), encoder: None, judge_turns: false })
    }

    /// A call whose driver judges from the sound whether a sentence is over
    /// ([`Output::JudgeTurn`]).
    pub fn judging(agent: AgentSpec) -> Sim {
        Sim::configured(Config { agent, caller: "+15550100004".into(), answered_unix_ms: 1_796_000_000_000, record: false, endpointer: Default::default(), voice_model: None, prepare_replies: false, ask_model_ahead: false, local_tools: None, encoder: None, judge_turns: true })
    }

    fn configured(config: Config) -> Sim {
        let now = Instant::now();
        Sim { p: CallPipeline::new(config, now), now, seq: 0, synthesize_at_once: true, waiting: Vec::new(), outputs: Vec::new(), frames_out: Vec::new(), hold_tools: false, tools_waiting: Vec::new() }
    }

    /// One 20 ms tick; `speaking`: the caller sends a loud frame, else silence.
    pub fn tick(&mut self, speaking: bool) {
        self.seq = self.seq.wrapping_add(1);
        let frame = if speaking { speech() } else { vec![0; 160] };
        self.p.handle_audio(self.now, self.seq, frame);
        self.p.handle_timeout(self.now, None);
        self.drain();
        self.now += TICK;
    }

    /// `ms` of caller speech or silence.
    pub fn run(&mut self, ms: u64, speaking: bool) {
        for _ in 0..ms / 20 {
            self.tick(speaking);
        }
    }

    /// Collects outputs; runs tools at once (the sample data ships with Parley); answers
    /// synthesis at once when so configured.
    pub fn drain(&mut self) {
        while let Some(o) = self.p.poll_output() {
            match o {
                Output::RunTool(call) if self.hold_tools => {
                    self.tools_waiting.push(call.clone());
                    self.outputs.push(Output::RunTool(call));
                }
                Output::RunTool(call) => {
                    let result = parley_connect::tools::run_built_in(&call).expect("a built-in tool");
                    self.outputs.push(Output::RunTool(call));
                    self.p.handle_tool_result(self.now, result);
                }
                Output::Audio { samples, marker, .. } => self.frames_out.push((samples.iter().any(|s| *s != 0), marker)),
                Output::Synthesize(prompt) => {
                    self.waiting.push((prompt.id, prompt.text.clone()));
                    self.outputs.push(Output::Synthesize(prompt));
                }
                other => self.outputs.push(other),
            }
        }
        if self.synthesize_at_once {
            self.synthesize_waiting();
        }
    }

    /// Answers every waiting synthesis: 10 ms of tone per character.
    pub fn synthesize_waiting(&mut self) {
        for (id, text) in std::mem::take(&mut self.waiting) {
            let audio: Vec<i16> = speech().into_iter().cycle().take(text.len() * 80).collect();
            self.p.handle_synthesized(id, audio.into());
            self.p.handle_synthesis_done(id);
        }
    }

    /// Runs the tool calls held so far.
    pub fn run_tools(&mut self) {
        for call in std::mem::take(&mut self.tools_waiting) {
            let result = parley_connect::tools::run_built_in(&call).expect("a built-in tool");
            self.p.handle_tool_result(self.now, result);
        }
        self.drain();
    }

    /// Runs silent ticks until the agent has nothing left to say (at most `limit_ms`).
    pub fn until_quiet(&mut self, limit_ms: u64) {
        let mut quiet = 0;
        for _ in 0..limit_ms / 20 {
            self.tick(false);
            quiet = if self.frames_out.last().is_some_and(|f| f.0) { 0 } else { quiet + 1 };
            if quiet > 5 && self.waiting.is_empty() {
                return;
            }
        }
    }

    /// The turns handed to the recognizer so far.
    pub fn recognize_requests(&self) -> Vec<u64> {
        self.outputs.iter().filter_map(|o| if let Output::Recognize { turn, .. } = o { Some(*turn) } else { None }).collect()
    }

    /// Texts the agent asked to synthesize.
    pub fn said(&self) -> Vec<String> {
        self.outputs.iter().filter_map(|o| if let Output::Synthesize(p) = o { Some(p.text.clone()) } else { None }).collect()
    }

    /// Whether the pipeline asked for `pred`.
    pub fn asked(&self, pred: impl Fn(&Output) -> bool) -> bool {
        self.outputs.iter().any(pred)
    }

    /// Once the agent is quiet, the caller speaks for 800 ms and pauses for 800 ms, and the
    /// recognizer hears `text`; whether it reached the agent.
    pub fn caller_says(&mut self, text: &str) -> bool {
        self.until_quiet(60_000);
        self.run(800, true);
        self.run(800, false);
        self.recognized(text)
    }

    /// Runs silent ticks until the pipeline asks for one more recognition; its turn.
    pub fn next_recognize_request(&mut self) -> u64 {
        let before = self.recognize_requests().len();
        while self.recognize_requests().len() == before {
            self.tick(false);
        }
        *self.recognize_requests().last().unwrap()
    }

    /// After the agent has finished, the caller speaks for `ms` and pauses until recognition
    /// starts; the recognizer hears `text` then. Returns the turn.
    pub fn pause_with(&mut self, ms: u64, text: &str) -> u64 {
        self.until_quiet(60_000);
        self.run(ms, true);
        let turn = self.next_recognize_request();
        let now = self.now;
        self.p.handle_recognized(now, turn, text);
        self.drain();
        turn
    }

    /// Feeds recognized text for the latest turn.
    pub fn recognized(&mut self, text: &str) -> bool {
        let turn = *self.recognize_requests().last().expect("a turn was sent to the recognizer");
        let ok = self.p.handle_recognized(self.now, turn, text);
        self.drain();
        ok
    }
}

/// An agent whose one node is a language model's conversation.
pub fn llm_agent() -> AgentSpec {
    AgentSpec::from_yaml(
        r#"
name: shop
business: Acme Outdoor
greeting: Hello.
flow:
  - id: chat
    type: llm
    goal: Help the caller.
    exits:
      done: { when: the caller is done, goto: bye }
  - id: bye
    type: end
"#,
    )
    .expect("the agent parses")
}

/// A part of the model's answer that writes `t`.
pub fn model_text(t: &str) -> parley_agent::conversation::CompletionPart {
    parley_agent::conversation::CompletionPart::Events(vec![parley_agent::llm::stream::StreamEvent::Text(t.into())])
}

/// The transcript's turns as the post-call document has them: (speaker, text, start, end).
pub fn turns(t: &parley_connect::transcript::Transcript) -> Vec<(String, String, u64, u64)> {
    let v: serde_json::Value = serde_json::from_slice(&parley_connect::document::transcript_json(t)).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|e| (e["speaker"].as_str().unwrap().to_string(), e["text"].as_str().unwrap().to_string(), e["start_ms"].as_u64().unwrap(), e["end_ms"].as_u64().unwrap()))
        .collect()
}

/// For each of the agent's lines in the transcript, whether it is marked as cut off.
pub fn agent_interrupted(t: &parley_connect::transcript::Transcript) -> Vec<bool> {
    let v: serde_json::Value = serde_json::from_slice(&parley_connect::document::transcript_json(t)).unwrap();
    v.as_array().unwrap().iter().filter(|e| e["speaker"] == "agent").map(|e| e["interrupted"] == true).collect()
}

/// Ends the call: what the transcript has the caller saying.
pub fn caller_lines(sim: Sim) -> Vec<String> {
    let finished = sim.p.finish(sim.now);
    turns(&finished.transcript).into_iter().filter(|t| t.0 == "caller").map(|t| t.1).collect()
}
