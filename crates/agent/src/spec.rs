//! Agent definitions (YAML) and the demo agent.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// An agent as a tenant defines it.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct AgentSpec {
    /// Agent name (the SIP user it answers).
    pub name: String,
    /// Business name.
    pub business: String,
    /// First thing said.
    pub greeting: String,
    /// Opening hours, as said (`{hours}` in the flow's texts).
    #[serde(default)]
    pub hours: String,
    /// Persona and instructions for the language model in `llm` nodes (who the agent is, what
    /// it may help with, the tone): at most 4000 characters.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub instructions: String,
    /// SIP URI for transfers; empty means take a message.
    #[serde(default)]
    pub transfer_to: String,
    /// How callers are handed to `transfer_to`.
    #[serde(default)]
    pub transfer_mode: TransferMode,
    /// Not-understood turns before the agent gives up on a question.
    #[serde(default = "default_retries")]
    pub max_retries: u32,
    /// Currency of amounts the agent takes payments in (ISO 4217, lowercase).
    #[serde(default = "default_currency")]
    pub currency: String,
    /// The voice the agent speaks with.
    #[serde(default)]
    pub voice: VoiceChoice,
    /// The model the agent's calls are recognized with.
    #[serde(default)]
    pub recognizer: RecognizerChoice,
    /// How the agent takes turns (unset fields: the server's settings).
    #[serde(default, skip_serializing_if = "TurnTaking::is_default")]
    pub turn_taking: TurnTaking,
    /// When the business is open, for `hours` nodes (unset: always open).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opening_hours: Option<crate::hours::OpeningHours>,
    /// What callers may ask for, by name: example phrases and slots (the built-in `yes`, `no`,
    /// `goodbye`, `person`, `hours` and `repeat` need no declaration; declaring one replaces
    /// its examples).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub intents: BTreeMap<String, crate::intent::IntentDef>,
    /// The tools the flow may call, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tools: BTreeMap<String, crate::tools::ToolDef>,
    /// What the agent does, node by node; the first node runs after the greeting. Empty: the
    /// receptionist flow (hours, a person, goodbye).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flow: Vec<crate::flow::Node>,
    /// Limits of one call.
    #[serde(default, skip_serializing_if = "Limits::is_default")]
    pub limits: Limits,
    /// Who gets a mail after a call, through the tenant's `smtp` integration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailOutput>,
}

/// The mail the business gets after a call: the outcome, the summary, the message the caller
/// left, and the transcript if asked for.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmailOutput {
    /// Addresses (1 to 10).
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 10))]
    pub to: Vec<String>,
    /// Only calls where the caller left a message (default: every call).
    #[serde(default, skip_serializing_if = "is_false")]
    pub only_messages: bool,
    /// Put the transcript in the mail too (default: no; mail passes through servers the tenant
    /// may not control).
    #[serde(default, skip_serializing_if = "is_false")]
    pub transcript: bool,
}

impl EmailOutput {
    fn check(&self) -> Result<(), SpecError> {
        let address = |a: &str| {
            let (local, domain) = a.rsplit_once('@').unwrap_or_default();
            a.len() <= 254 && !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.') && !a.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';' | '"'))
        };
        if self.to.is_empty() || self.to.len() > 10 || !self.to.iter().all(|a| address(a)) {
            return Err(SpecError::Invalid("email.to: 1 to 10 addresses such as frontdesk@example.com"));
        }
        Ok(())
    }
}

/// Limits of one call.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Limits {
    /// The longest call, in seconds (30 to 14400): the agent says goodbye and hangs up then.
    #[serde(default = "default_call_seconds")]
    #[cfg_attr(feature = "openapi", schema(minimum = 30, maximum = 14400))]
    pub call_seconds: u32,
    /// How long a question waits for an answer before its no-input prompt, in ms (1000 to 60000).
    #[serde(default = "default_no_input_ms")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1000, maximum = 60000))]
    pub no_input_ms: u32,
    /// How long a tool may take before the agent says its filler ("One moment..."), in ms (200
    /// to 10000).
    #[serde(default = "default_filler_ms")]
    #[cfg_attr(feature = "openapi", schema(minimum = 200, maximum = 10000))]
    pub filler_ms: u32,
    /// How long a tool may take at all, in ms (1000 to 60000): then it counts as failed.
    #[serde(default = "default_tool_timeout_ms")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1000, maximum = 60000))]
    pub tool_timeout_ms: u32,
    /// Language-model tokens one call may use in all (prompt and answers, 1000 to 1000000):
    /// then its `llm` nodes go to their fallback.
    #[serde(default = "default_llm_tokens")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1000, maximum = 1000000))]
    pub llm_tokens: u32,
}

fn default_call_seconds() -> u32 {
    1800
}
fn default_no_input_ms() -> u32 {
    7000
}
fn default_filler_ms() -> u32 {
    700
}
fn default_tool_timeout_ms() -> u32 {
    8000
}
fn default_llm_tokens() -> u32 {
    30000
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { call_seconds: default_call_seconds(), no_input_ms: default_no_input_ms(), filler_ms: default_filler_ms(), tool_timeout_ms: default_tool_timeout_ms(), llm_tokens: default_llm_tokens() }
    }
}

impl Limits {
    fn is_default(&self) -> bool {
        *self == Limits::default()
    }

    fn check(&self) -> Result<(), SpecError> {
        let ok = (30..=14400).contains(&self.call_seconds) && (1000..=60000).contains(&self.no_input_ms) && (200..=10000).contains(&self.filler_ms) && (1000..=60000).contains(&self.tool_timeout_ms) && (1000..=1_000_000).contains(&self.llm_tokens);
        if !ok {
            return Err(SpecError::Invalid("limits: call_seconds 30 to 14400, no_input_ms 1000 to 60000, filler_ms 200 to 10000, tool_timeout_ms 1000 to 60000, llm_tokens 1000 to 1000000"));
        }
        Ok(())
    }
}

/// How an agent takes turns with the caller. Pauses in ms; an unset pause is the server's
/// (`--end-of-turn-ms`, `--closed-sentence-ms`, 300 ms finished, 1200 ms cut off; a sentence
/// the end-of-turn model judged finished by its sound waits 360 ms, or `finished_ms` if longer).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TurnTaking {
    /// The caller's pause that ends their turn when their words do not decide it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_of_turn_ms: Option<u32>,
    /// The pause after words the recognizer closed with a full stop or question mark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_sentence_ms: Option<u32>,
    /// The pause after words that sound finished ("yes", a whole order number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_ms: Option<u32>,
    /// The pause after words that sound cut off ("my number is", "and").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unfinished_ms: Option<u32>,
    /// `false`: the caller cannot talk over the agent (it finishes every line).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub barge_in: bool,
    /// `true`: a continuer ("uh-huh", "okay") said over the agent stops it too, instead of
    /// letting it go on.
    #[serde(default, skip_serializing_if = "is_false")]
    pub continuers_interrupt: bool,
    /// `false`: the end-of-turn model does not judge from its sound whether a sentence whose
    /// words do not decide it is over; the pause alone does.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub end_of_turn_model: bool,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The range every turn-taking pause must be in (ms).
pub const TURN_PAUSE_MS: std::ops::RangeInclusive<u32> = 100..=5000;

impl Default for TurnTaking {
    fn default() -> TurnTaking {
        TurnTaking { end_of_turn_ms: None, closed_sentence_ms: None, finished_ms: None, unfinished_ms: None, barge_in: true, continuers_interrupt: false, end_of_turn_model: true }
    }
}

impl TurnTaking {
    fn is_default(&self) -> bool {
        *self == TurnTaking::default()
    }

    fn check(&self) -> Result<(), SpecError> {
        let pauses = [self.end_of_turn_ms, self.closed_sentence_ms, self.finished_ms, self.unfinished_ms];
        if pauses.iter().flatten().any(|ms| !TURN_PAUSE_MS.contains(ms)) {
            return Err(SpecError::Invalid("turn_taking pauses must be 100 to 5000 ms"));
        }
        Ok(())
    }
}

/// The voice an agent speaks with.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum VoiceChoice {
    /// The embedded natural voice: hibari (Kokoro-82M's af_heart, a woman's voice), or Piper's
    /// joe where hibari is not installed.
    #[default]
    Neural,
    /// The embedded Piper voice en_US joe (a man's voice; a little slower than hibari).
    Joe,
    /// espeak-ng: robotic, but instant.
    Espeak,
    /// The tenant's ElevenLabs account (its `elevenlabs` integration: `voice_id`, `model`),
    /// where the tenant's data policy allows it; the embedded voice otherwise, and whenever
    /// ElevenLabs fails.
    Elevenlabs,
    /// The tenant's OpenAI-compatible speech endpoint (its `openai` integration:
    /// `speech_model`, `voice`), with the same conditions.
    Openai,
}

/// The recognizer model an agent listens with.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq, Hash)]
pub enum RecognizerChoice {
    /// Whisper tiny.en: fastest (about 140 ms a turn on 2 cores).
    #[default]
    #[serde(rename = "tiny.en")]
    TinyEn,
    /// Whisper base: fewer errors, about twice the time.
    #[serde(rename = "base")]
    Base,
    /// The tenant's Deepgram account (its `deepgram` integration: `model`), where the tenant's
    /// data policy allows it; Whisper tiny.en otherwise, and for any turn Deepgram fails.
    #[serde(rename = "deepgram")]
    Deepgram,
    /// The tenant's OpenAI-compatible transcription endpoint (its `openai` integration:
    /// `transcription_model`), with the same conditions.
    #[serde(rename = "openai")]
    Openai,
}

impl RecognizerChoice {
    /// The cloud provider this choice sends audio to, if any.
    pub fn provider(self) -> Option<&'static str> {
        match self {
            RecognizerChoice::Deepgram => Some("deepgram"),
            RecognizerChoice::Openai => Some("openai"),
            RecognizerChoice::TinyEn | RecognizerChoice::Base => None,
        }
    }
}

impl VoiceChoice {
    /// The cloud provider this choice sends text to, if any.
    pub fn provider(self) -> Option<&'static str> {
        match self {
            VoiceChoice::Elevenlabs => Some("elevenlabs"),
            VoiceChoice::Openai => Some("openai"),
            VoiceChoice::Neural | VoiceChoice::Joe | VoiceChoice::Espeak => None,
        }
    }
}

/// How a caller who asks for a person is handed over.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum TransferMode {
    /// REFER: the caller's phone calls the person itself (RFC 3515).
    #[default]
    Blind,
    /// The agent calls the person, says who is calling and why, then bridges the two; when
    /// no one answers it takes a message instead.
    Warm,
}

fn default_retries() -> u32 {
    3
}

fn default_currency() -> String {
    "usd".into()
}

/// Why an agent definition was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpecError {
    /// Not valid YAML for an agent.
    #[error("invalid agent definition: {0}")]
    Yaml(#[from] serde_yaml_ng::Error),
    /// A field is empty or inconsistent.
    #[error("invalid agent definition: {0}")]
    Invalid(&'static str),
    /// The flow, its intents or tools have problems (each naming its node, and its line when
    /// read from YAML).
    #[error("invalid agent definition: {0}")]
    Flow(crate::flow::Problems),
}

impl SpecError {
    /// Each problem, with its line and node where known (one for a YAML error).
    pub fn problems(&self) -> Vec<crate::flow::Problem> {
        let plain = |line: Option<usize>, message: String| crate::flow::Problem { node: None, line, message };
        match self {
            SpecError::Flow(problems) => problems.0.clone(),
            SpecError::Yaml(y) => vec![plain(y.location().map(|l| l.line()), y.to_string())],
            SpecError::Invalid(why) => vec![plain(None, why.to_string())],
        }
    }
}

impl AgentSpec {
    /// Parses and checks a YAML definition.
    pub fn from_yaml(text: &str) -> Result<AgentSpec, SpecError> {
        let spec: AgentSpec = serde_yaml_ng::from_str(text)?;
        spec.check().map_err(|e| match e {
            SpecError::Flow(p) => SpecError::Flow(p.locate(text)),
            e => e,
        })
    }

    /// The definition as YAML (what [`AgentSpec::from_yaml`] reads back).
    pub fn to_yaml(&self) -> Result<String, SpecError> {
        Ok(serde_yaml_ng::to_string(self)?)
    }

    /// Checks the fields every agent needs.
    pub fn check(self) -> Result<AgentSpec, SpecError> {
        let spec = self;
        if spec.name.trim().is_empty() {
            return Err(SpecError::Invalid("name is empty"));
        }
        if spec.greeting.trim().is_empty() {
            return Err(SpecError::Invalid("greeting is empty"));
        }
        if spec.max_retries == 0 {
            return Err(SpecError::Invalid("max_retries must be at least 1"));
        }
        if spec.currency.len() != 3 || !spec.currency.bytes().all(|b| b.is_ascii_lowercase()) {
            return Err(SpecError::Invalid("currency must be a lowercase ISO 4217 code such as usd"));
        }
        if spec.instructions.chars().count() > 4000 {
            return Err(SpecError::Invalid("instructions are at most 4000 characters"));
        }
        spec.turn_taking.check()?;
        spec.limits.check()?;
        if let Some(e) = &spec.email {
            e.check()?;
        }
        let problems = crate::flow::check(&spec);
        if !problems.is_empty() {
            return Err(SpecError::Flow(crate::flow::Problems(problems)));
        }
        Ok(spec)
    }

    /// The demo store agent shipped with Parley.
    pub fn demo() -> AgentSpec {
        AgentSpec::from_yaml(include_str!("../agents/demo.yaml")).expect("demo agent is valid")
    }

    /// The appointments example shipped with Parley (a clinic booking visits in a calendar).
    pub fn appointments() -> AgentSpec {
        AgentSpec::from_yaml(include_str!("../agents/appointments.yaml")).expect("the appointments agent is valid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turn_taking_is_optional_and_checked() {
        let demo = AgentSpec::demo();
        assert_eq!(demo.turn_taking, TurnTaking::default());
        assert!(demo.turn_taking.barge_in, "callers may talk over an agent unless it says otherwise");
        assert!(!demo.to_yaml().unwrap().contains("turn_taking"), "defaults are not written out");
        let yaml = demo.to_yaml().unwrap();
        let tuned = format!("{yaml}turn_taking:\n  end_of_turn_ms: 900\n  barge_in: false\n");
        let spec = AgentSpec::from_yaml(&tuned).unwrap();
        assert_eq!((spec.turn_taking.end_of_turn_ms, spec.turn_taking.barge_in), (Some(900), false));
        assert_eq!(AgentSpec::from_yaml(&spec.to_yaml().unwrap()).unwrap().turn_taking, spec.turn_taking, "round trip");
        assert!(AgentSpec::from_yaml(&format!("{yaml}turn_taking:\n  end_of_turn_ms: 20\n")).is_err());
        assert!(AgentSpec::from_yaml(&format!("{yaml}turn_taking:\n  end_of_turn: 900\n")).is_err(), "a misspelt field is an error");
    }
}
