//! `/v1/tenants/{tenant}/agents` (what each agent says and knows, written by agent editors) and
//! `/v1/tenants/{tenant}/numbers` (E.164 numbers admins route to an agent). A change takes
//! effect for the next call on this node at once, on other nodes within 30 s.

use axum::extract::State;
use axum::http::StatusCode;
use std::collections::BTreeMap;

use parley_agent::flow::Node;
use parley_agent::hours::OpeningHours;
use parley_agent::intent::IntentDef;
use parley_agent::spec::{AgentSpec, EmailOutput, Limits, RecognizerChoice, TransferMode, TurnTaking, VoiceChoice};
use parley_agent::tools::ToolDef;
use parley_sip::uri::Uri;
use parley_store::agent_versions::AgentChange;
use parley_store::directory::{PhoneNumber, StoredAgent};
use parley_store::Role;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Caller;
use super::error::ErrorBody;
use super::extract::{Json, Path};
use super::{now_ms, ApiError, ApiState};

/// What an agent says and knows (its name is the one in the path).
/// How a caller who asks for a person is handed over.
#[derive(Clone, Copy, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TransferModeView {
    /// REFER (RFC 3515).
    #[default]
    Blind,
    /// The agent calls, briefs and bridges.
    Warm,
}

/// The voice an agent speaks with.
#[derive(Clone, Copy, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum VoiceView {
    /// The embedded natural voice (hibari, a woman's voice).
    #[default]
    Neural,
    /// The embedded Piper voice en_US joe (a man's voice).
    Joe,
    /// espeak-ng (robotic, instant).
    Espeak,
    /// The tenant's `elevenlabs` integration, if its data policy allows `elevenlabs` (the
    /// embedded voice otherwise, and when ElevenLabs fails).
    Elevenlabs,
    /// The tenant's `openai` integration (speech), if its data policy allows `openai`.
    Openai,
}

/// The recognizer model an agent listens with.
#[derive(Clone, Copy, Default, Serialize, Deserialize, ToSchema)]
pub enum RecognizerView {
    /// Whisper tiny.en (fastest).
    #[default]
    #[serde(rename = "tiny.en")]
    TinyEn,
    /// Whisper base (fewer errors, about twice the time).
    #[serde(rename = "base")]
    Base,
    /// The tenant's `deepgram` integration, if its data policy allows `deepgram` (Whisper
    /// tiny.en otherwise, and for turns Deepgram fails).
    #[serde(rename = "deepgram")]
    Deepgram,
    /// The tenant's `openai` integration (transcription), if its data policy allows `openai`.
    #[serde(rename = "openai")]
    Openai,
}

#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentDefinition {
    /// The business, as the agent names it.
    #[schema(min_length = 1, max_length = 200, pattern = "[^\\s]")]
    pub business: String,
    /// The first thing the agent says.
    #[schema(min_length = 1, max_length = 2000, pattern = "[^\\s]")]
    pub greeting: String,
    /// Opening hours, as said.
    #[schema(max_length = 500)]
    pub hours: String,
    /// Persona and instructions for the language model in `llm` nodes (who the agent is, what
    /// it may help with, the tone). The model runs on the tenant's `openai` integration
    /// (config `chat_model`, default `gpt-4o-mini`; `api_base` for any OpenAI-compatible
    /// server), when the data policy allows `openai`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schema(max_length = 4000)]
    pub instructions: String,
    /// Where a caller who asks for a person goes: a `sip:`, `sips:` or `tel:` URI (no URI
    /// headers; stored canonical); empty: take a message. A `warm` transfer calls out, so it
    /// needs an E.164 number (`tel:+15551234567` or `sip:+15551234567@pbx.example`), which the
    /// tenant's outbound policy must allow and which is dialled through the tenant's first
    /// gateway.
    #[serde(default)]
    #[schema(schema_with = transfer_to_schema)]
    pub transfer_to: String,
    /// `blind` (default): REFER, the caller's phone calls the person; `warm`: the agent calls
    /// the person, says who is calling and why, then bridges them, or takes a message when no
    /// one answers.
    #[serde(default)]
    pub transfer_mode: TransferModeView,
    /// Not-understood turns before the agent gives up on a question (default 3).
    #[serde(default = "three", deserialize_with = "super::extract::whole_u32")]
    #[schema(minimum = 1, maximum = 20)]
    pub max_retries: u32,
    /// Currency of amounts the agent takes payments in (ISO 4217, lowercase; default usd).
    #[serde(default = "usd")]
    #[schema(pattern = "^[a-z]{3}$")]
    pub currency: String,
    /// `neural` (default), `espeak`, or a cloud provider (`elevenlabs`, `openai`) where the
    /// tenant's policy and integrations allow it.
    #[serde(default)]
    pub voice: VoiceView,
    /// `tiny.en` (default, fastest), `base` (fewer errors, about twice the time), or a cloud
    /// provider (`deepgram`, `openai`) where the tenant's policy and integrations allow it.
    #[serde(default)]
    pub recognizer: RecognizerView,
    /// How the agent takes turns (unset: the server's settings).
    #[serde(default, deserialize_with = "super::extract::object")]
    pub turn_taking: TurnTakingView,
    /// When the business is open, for the flow's `hours` nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opening_hours: Option<OpeningHours>,
    /// What callers may ask for: example phrases and slots, by intent name (besides the built-in
    /// `yes`, `no`, `goodbye`, `person`, `hours`, `repeat`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub intents: BTreeMap<String, IntentDef>,
    /// The tools the flow may call, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tools: BTreeMap<String, ToolDef>,
    /// What the agent does, node by node; the first node runs after the greeting. Empty: a
    /// receptionist (opening hours, a person or a message, goodbye).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 300)]
    pub flow: Vec<Node>,
    /// Limits of one call.
    #[serde(default)]
    pub limits: Limits,
    /// Who gets a mail after a call (through the tenant's `smtp` integration: config `host`,
    /// `port`, `security` `starttls` (default) or `tls`, `username`, `from`; secret: the
    /// password), delivered like the webhook: sealed in the outbox, retried, shredded after 72 h.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailOutput>,
}

/// How an agent takes turns with the caller (pauses in ms, 100 to 5000; unset: the server's).
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TurnTakingView {
    /// The caller's pause that ends their turn when their words do not decide it (server
    /// default 600).
    #[serde(default, deserialize_with = "super::extract::whole_u32_or_null", skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 100, maximum = 5000)]
    pub end_of_turn_ms: Option<u32>,
    /// The pause after words the recognizer closed with a full stop or question mark.
    #[serde(default, deserialize_with = "super::extract::whole_u32_or_null", skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 100, maximum = 5000)]
    pub closed_sentence_ms: Option<u32>,
    /// The pause after words that sound finished ("yes", a whole order number, a question; default 300).
    #[serde(default, deserialize_with = "super::extract::whole_u32_or_null", skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 100, maximum = 5000)]
    pub finished_ms: Option<u32>,
    /// The pause after words that sound cut off ("my number is"; default 1200).
    #[serde(default, deserialize_with = "super::extract::whole_u32_or_null", skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 100, maximum = 5000)]
    pub unfinished_ms: Option<u32>,
    /// `false`: the caller cannot talk over the agent (default true).
    #[serde(default = "yes")]
    pub barge_in: bool,
    /// `true`: a continuer ("uh-huh") said over the agent stops it too (default false: it goes on).
    #[serde(default)]
    pub continuers_interrupt: bool,
    /// `false`: a sentence whose words do not decide the end of the turn is never ended early
    /// because it sounds finished (the end-of-turn model; default true).
    #[serde(default = "yes")]
    pub end_of_turn_model: bool,
}

impl Default for TurnTakingView {
    fn default() -> TurnTakingView {
        TurnTakingView::of(TurnTaking::default())
    }
}

fn yes() -> bool {
    true
}

impl TurnTakingView {
    fn spec(self) -> TurnTaking {
        let TurnTakingView { end_of_turn_ms, closed_sentence_ms, finished_ms, unfinished_ms, barge_in, continuers_interrupt, end_of_turn_model } = self;
        TurnTaking { end_of_turn_ms, closed_sentence_ms, finished_ms, unfinished_ms, barge_in, continuers_interrupt, end_of_turn_model }
    }

    fn of(t: TurnTaking) -> TurnTakingView {
        let TurnTaking { end_of_turn_ms, closed_sentence_ms, finished_ms, unfinished_ms, barge_in, continuers_interrupt, end_of_turn_model } = t;
        TurnTakingView { end_of_turn_ms, closed_sentence_ms, finished_ms, unfinished_ms, barge_in, continuers_interrupt, end_of_turn_model }
    }
}

fn three() -> u32 {
    3
}

fn usd() -> String {
    "usd".into()
}

/// `transfer_to`'s schema: empty, or the grammar [`Uri::parse`] accepts.
fn transfer_to_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(parley_sip::uri::MAX_LEN))
        .pattern(Some(format!("^$|{}", parley_sip::uri::PATTERN)))
        .description(Some("Where a caller who asks for a person goes: a sip:, sips: or tel: URI (no URI headers; stored canonical); empty: take a message. A warm transfer calls out, so it needs an E.164 number (tel:+15551234567 or sip:+15551234567@pbx.example) that the tenant's outbound policy allows; it is dialled through the tenant's first gateway, and when the policy refuses it the agent takes a message."))
        .build()
}

impl AgentDefinition {
    /// Checks what the schema says, then builds the agent.
    pub(crate) fn into_spec(self, name: &str) -> Result<AgentSpec, ApiError> {
        let chars = |v: &str| v.chars().count();
        let blank = |v: &str| v.trim().is_empty();
        let bad = |m: &str| Err(ApiError::BadRequest(m.to_string()));
        if blank(&self.business) || chars(&self.business) > 200 || blank(&self.greeting) || chars(&self.greeting) > 2000 {
            return bad("business (1 to 200) and greeting (1 to 2000 characters) must not be blank");
        }
        if chars(&self.instructions) > 4000 {
            return bad("instructions are at most 4000 characters");
        }
        if chars(&self.hours) > 500 || chars(&self.transfer_to) > 500 || !(1..=20).contains(&self.max_retries) {
            return bad("hours and transfer_to are at most 500 characters, max_retries 1 to 20");
        }
        if self.flow.len() > 300 || self.intents.len() > 100 || self.tools.len() > 50 {
            return bad("at most 300 flow nodes, 100 intents and 50 tools");
        }
        if self.intents.values().any(|i| i.examples.len() > 200 || i.examples.iter().any(|e| chars(e) > 300)) {
            return bad("an intent has at most 200 examples of at most 300 characters");
        }
        if self.currency.len() != 3 || !self.currency.bytes().all(|b| b.is_ascii_lowercase()) {
            return bad("currency must be a lowercase ISO 4217 code such as usd");
        }
        let transfer_to = match self.transfer_to.as_str() {
            "" => None,
            t => Some(Uri::parse(t).map_err(|e| ApiError::BadRequest(format!("transfer_to: {e}")))?),
        };
        if matches!(self.transfer_mode, TransferModeView::Warm) && transfer_to.as_ref().is_some_and(|u| u.e164().is_none()) {
            return bad("transfer_to: a warm transfer calls out, so it needs an E.164 number (tel:+15551234567 or sip:+15551234567@host)");
        }
        let spec = AgentSpec {
            name: name.to_string(),
            business: self.business,
            greeting: self.greeting,
            hours: self.hours,
            instructions: self.instructions,
            transfer_to: transfer_to.map(|u| u.to_string()).unwrap_or_default(),
            transfer_mode: match self.transfer_mode {
                TransferModeView::Blind => TransferMode::Blind,
                TransferModeView::Warm => TransferMode::Warm,
            },
            max_retries: self.max_retries,
            currency: self.currency,
            voice: match self.voice {
                VoiceView::Neural => VoiceChoice::Neural,
                VoiceView::Joe => VoiceChoice::Joe,
                VoiceView::Espeak => VoiceChoice::Espeak,
                VoiceView::Elevenlabs => VoiceChoice::Elevenlabs,
                VoiceView::Openai => VoiceChoice::Openai,
            },
            recognizer: match self.recognizer {
                RecognizerView::TinyEn => RecognizerChoice::TinyEn,
                RecognizerView::Base => RecognizerChoice::Base,
                RecognizerView::Deepgram => RecognizerChoice::Deepgram,
                RecognizerView::Openai => RecognizerChoice::Openai,
            },
            turn_taking: self.turn_taking.spec(),
            opening_hours: self.opening_hours,
            intents: self.intents,
            tools: self.tools,
            flow: self.flow,
            limits: self.limits,
            email: self.email,
        };
        spec.check().map_err(|e| ApiError::BadRequest(e.to_string()))
    }

    pub(crate) fn of(spec: AgentSpec) -> AgentDefinition {
        AgentDefinition {
            business: spec.business,
            greeting: spec.greeting,
            hours: spec.hours,
            instructions: spec.instructions,
            transfer_to: spec.transfer_to,
            transfer_mode: match spec.transfer_mode {
                TransferMode::Blind => TransferModeView::Blind,
                TransferMode::Warm => TransferModeView::Warm,
            },
            max_retries: spec.max_retries,
            currency: spec.currency,
            voice: match spec.voice {
                VoiceChoice::Neural => VoiceView::Neural,
                VoiceChoice::Joe => VoiceView::Joe,
                VoiceChoice::Espeak => VoiceView::Espeak,
                VoiceChoice::Elevenlabs => VoiceView::Elevenlabs,
                VoiceChoice::Openai => VoiceView::Openai,
            },
            recognizer: match spec.recognizer {
                RecognizerChoice::TinyEn => RecognizerView::TinyEn,
                RecognizerChoice::Base => RecognizerView::Base,
                RecognizerChoice::Deepgram => RecognizerView::Deepgram,
                RecognizerChoice::Openai => RecognizerView::Openai,
            },
            turn_taking: TurnTakingView::of(spec.turn_taking),
            opening_hours: spec.opening_hours,
            intents: spec.intents,
            tools: spec.tools,
            flow: spec.flow,
            limits: spec.limits,
            email: spec.email,
        }
    }
}

/// An agent.
#[derive(Serialize, ToSchema)]
pub struct AgentView {
    /// Name, 1 to 63 of `a-z 0-9 -` (the SIP user it answers on local extensions).
    pub name: String,
    /// The definition.
    pub definition: AgentDefinition,
    /// Creation time, unix ms.
    pub created_ms: i64,
    /// Last change, unix ms.
    pub updated_ms: i64,
    /// The current version (see `GET .../agents/{name}/versions`).
    pub version: i64,
}

impl TryFrom<StoredAgent> for AgentView {
    type Error = ApiError;
    fn try_from(a: StoredAgent) -> Result<AgentView, ApiError> {
        let spec = AgentSpec::from_yaml(&a.spec).map_err(|e| {
            tracing::error!(error = %e, "a stored agent does not parse");
            ApiError::Internal
        })?;
        Ok(AgentView { name: a.name, definition: AgentDefinition::of(spec), created_ms: a.created_ms, updated_ms: a.updated_ms, version: a.version })
    }
}

/// Agents, by name.
#[derive(Serialize, ToSchema)]
pub struct AgentList {
    /// The agents.
    pub agents: Vec<AgentView>,
}

/// A phone number and its agent.
#[derive(Serialize, ToSchema)]
pub struct NumberView {
    /// E.164.
    pub number: String,
    /// The agent answering.
    pub agent: String,
    /// Creation time, unix ms.
    pub created_ms: i64,
}

impl From<PhoneNumber> for NumberView {
    fn from(n: PhoneNumber) -> NumberView {
        NumberView { number: n.number, agent: n.agent, created_ms: n.created_ms }
    }
}

/// A number to route.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNumber {
    /// E.164: `+` and 7 to 15 digits.
    #[schema(pattern = "^[+][1-9][0-9]{6,14}$")]
    pub number: String,
    /// An agent of this tenant.
    pub agent: String,
}

/// Numbers, in order.
#[derive(Serialize, ToSchema)]
pub struct NumberList {
    /// The numbers.
    pub numbers: Vec<NumberView>,
}

#[utoipa::path(get, path = "/v1/tenants/{tenant}/agents", tag = "agents", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, body = AgentList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// Lists agents (viewer).
pub async fn list(State(s): State<ApiState>, caller: Caller, Path(tenant): Path<String>) -> Result<axum::Json<AgentList>, ApiError> {
    let scope = caller.tenant(&s, &tenant, Role::Viewer).await?;
    let agents = scope.list_agents().await?;
    caller.audit(&scope, "agents.list", "-").await?;
    Ok(axum::Json(AgentList { agents: agents.into_iter().map(AgentView::try_from).collect::<Result<_, _>>()? }))
}

#[utoipa::path(get, path = "/v1/tenants/{tenant}/agents/{name}", tag = "agents", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), ("name" = String, Path, description = "Agent name")),
    responses((status = 200, body = AgentView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// One agent (viewer).
pub async fn get_one(State(s): State<ApiState>, caller: Caller, Path((tenant, name)): Path<(String, String)>) -> Result<axum::Json<AgentView>, ApiError> {
    let scope = caller.tenant(&s, &tenant, Role::Viewer).await?;
    let agent = scope.get_agent(&name).await?;
    caller.audit(&scope, "agents.read", &agent.name).await?;
    Ok(axum::Json(agent.try_into()?))
}

#[utoipa::path(put, path = "/v1/tenants/{tenant}/agents/{name}", tag = "agents", request_body = AgentDefinition, security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), ("name" = String, Path, description = "Agent name", pattern = "^[a-z0-9][a-z0-9-]{0,62}$")),
    responses((status = 200, body = AgentView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// Creates or replaces an agent (agent-editor). The definition is checked before it is stored:
/// besides its schema, its flow (every node named exists, intents and tools are declared, no
/// loop runs without the caller); a 400 names each problem and its node. Each change is kept as
/// the agent's next version (an unchanged definition adds none).
pub async fn put(State(s): State<ApiState>, caller: Caller, Path((tenant, name)): Path<(String, String)>, Json(body): Json<AgentDefinition>) -> Result<axum::Json<AgentView>, ApiError> {
    let scope = caller.tenant(&s, &tenant, Role::AgentEditor).await?;
    let spec = body.into_spec(&name)?;
    let yaml = spec.to_yaml().map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let actor = caller.actor();
    let agent = scope.put_agent(&name, &yaml, &AgentChange { author: &actor, restored_from: None }, now_ms()).await?;
    caller.audit(&scope, "agents.put", &agent.name).await?;
    s.routing_changed().await;
    Ok(axum::Json(agent.try_into()?))
}

#[utoipa::path(delete, path = "/v1/tenants/{tenant}/agents/{name}", tag = "agents", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), ("name" = String, Path, description = "Agent name")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
/// Deletes an agent (agent-editor); 409 while a number routes to it.
pub async fn delete(State(s): State<ApiState>, caller: Caller, Path((tenant, name)): Path<(String, String)>) -> Result<StatusCode, ApiError> {
    let scope = caller.tenant(&s, &tenant, Role::AgentEditor).await?;
    scope.delete_agent(&name).await?;
    caller.audit(&scope, "agents.delete", &name).await?;
    s.routing_changed().await;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/v1/tenants/{tenant}/numbers", tag = "numbers", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, body = NumberList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// Lists the tenant's numbers (viewer).
pub async fn numbers(State(s): State<ApiState>, caller: Caller, Path(tenant): Path<String>) -> Result<axum::Json<NumberList>, ApiError> {
    let scope = caller.tenant(&s, &tenant, Role::Viewer).await?;
    let numbers = scope.list_numbers().await?;
    caller.audit(&scope, "numbers.list", "-").await?;
    Ok(axum::Json(NumberList { numbers: numbers.into_iter().map(Into::into).collect() }))
}

#[utoipa::path(post, path = "/v1/tenants/{tenant}/numbers", tag = "numbers", request_body = NewNumber, security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 201, body = NumberView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
/// Routes a number to an agent (admin); 409 if the number is already assigned or the agent does not exist.
pub async fn add_number(State(s): State<ApiState>, caller: Caller, Path(tenant): Path<String>, Json(body): Json<NewNumber>) -> Result<(StatusCode, axum::Json<NumberView>), ApiError> {
    let scope = caller.tenant(&s, &tenant, Role::Admin).await?;
    // A number cannot route to an agent that does not exist (404 would say the tenant is missing).
    match scope.get_agent(&body.agent).await {
        Err(parley_store::StoreError::NotFound) => return Err(ApiError::ConflictWith(format!("no agent {:?} in this tenant", body.agent))),
        other => other?,
    };
    let n = scope.add_number(&body.number, &body.agent, now_ms()).await?;
    caller.audit(&scope, "numbers.add", &n.number).await?;
    s.routing_changed().await;
    Ok((StatusCode::CREATED, axum::Json(n.into())))
}

#[utoipa::path(delete, path = "/v1/tenants/{tenant}/numbers/{number}", tag = "numbers", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), ("number" = String, Path, description = "E.164 number (`+` as %2B)")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// Releases a number (admin).
pub async fn delete_number(State(s): State<ApiState>, caller: Caller, Path((tenant, number)): Path<(String, String)>) -> Result<StatusCode, ApiError> {
    let scope = caller.tenant(&s, &tenant, Role::Admin).await?;
    scope.delete_number(&number).await?;
    caller.audit(&scope, "numbers.delete", &number).await?;
    s.routing_changed().await;
    Ok(StatusCode::NO_CONTENT)
}
