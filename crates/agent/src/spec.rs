//! Agent definitions (YAML) and the demo agent.

use serde::{Deserialize, Serialize};

/// An order in the demo store data.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct Order {
    /// Order number.
    pub number: u32,
    /// Customer name.
    pub customer: String,
    /// Customer phone (E.164).
    pub phone: String,
    /// Status word.
    pub status: String,
    /// Items ordered.
    pub items: Vec<String>,
    /// When it was placed.
    pub placed: String,
    /// A sentence completing "It was/is ...".
    pub detail: String,
    /// Amount still to pay, in cents of the agent's currency (0: nothing due).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub balance_cents: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// An agent as a tenant defines it.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct AgentSpec {
    /// Agent name (the SIP user it answers).
    pub name: String,
    /// Business name.
    pub business: String,
    /// First thing said.
    pub greeting: String,
    /// Opening hours, as said.
    pub hours: String,
    /// SIP URI for transfers; empty means take a message.
    #[serde(default)]
    pub transfer_to: String,
    /// How callers are handed to `transfer_to`.
    #[serde(default)]
    pub transfer_mode: TransferMode,
    /// Not-understood turns before the agent gives up on a question.
    #[serde(default = "default_retries")]
    pub max_retries: u32,
    /// Orders the agent can look up.
    #[serde(default)]
    pub orders: Vec<Order>,
    /// Currency of order balances (ISO 4217, lowercase).
    #[serde(default = "default_currency")]
    pub currency: String,
    /// The voice the agent speaks with.
    #[serde(default)]
    pub voice: VoiceChoice,
    /// The model the agent's calls are recognized with.
    #[serde(default)]
    pub recognizer: RecognizerChoice,
}

/// The voice an agent speaks with.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum VoiceChoice {
    /// The embedded neural voice (Piper en_US joe).
    #[default]
    Neural,
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
            VoiceChoice::Neural | VoiceChoice::Espeak => None,
        }
    }
}

/// How a caller who asks for a person is handed over.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
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
}

impl AgentSpec {
    /// Parses and checks a YAML definition.
    pub fn from_yaml(text: &str) -> Result<AgentSpec, SpecError> {
        let spec: AgentSpec = serde_yaml_ng::from_str(text)?;
        spec.check()
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
        Ok(spec)
    }

    /// The demo store agent shipped with Parley.
    pub fn demo() -> AgentSpec {
        AgentSpec::from_yaml(include_str!("../agents/demo.yaml")).expect("demo agent is valid")
    }

    /// Looks up an order by number.
    pub fn order(&self, number: u32) -> Option<&Order> {
        self.orders.iter().find(|o| o.number == number)
    }
}
