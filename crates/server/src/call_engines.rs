//! The recognizer and the voice one call uses: the agent's choice, where it names a cloud
//! provider only if the tenant's data policy allows that provider and the tenant has an
//! integration for it; then the provider with the embedded engine behind it
//! ([`parley_speech::failover`]), so a provider failing mid-call is not heard. Otherwise the
//! embedded engines.
//!
//! Integrations (`/v1/tenants/{t}/integrations`, secret = the API key):
//! - `deepgram`: config `model` (default `nova-3`), `api_base` (default Deepgram's).
//! - `openai`: `transcription_model` (default `gpt-4o-mini-transcribe`), `speech_model`
//!   (`gpt-4o-mini-tts`), `voice` (`alloy`), `api_base` (default `https://api.openai.com/v1`;
//!   any OpenAI-compatible server).
//! - `elevenlabs`: `voice_id` (required), `model` (`eleven_flash_v2_5`), `api_base`.
//! - `openai` also serves the agent's `llm` nodes: `chat_model` (`gpt-4o-mini`). Without it
//!   (or where the policy refuses it), the embedded model on this machine does.
//! - `shopify` serves `shopify.*` tools: `shop` (`acme.myshopify.com`) or `api_base`,
//!   `api_version` (default `2025-01`); secret: the Admin API access token.
//! - `zendesk` serves `zendesk.*` tools: `subdomain` (or `api_base`), `email`; secret: an API
//!   token. `hubspot` serves `hubspot.*`: secret: a private app's token. `http` serves the
//!   agent's `http.request` tools (named by the tool's `integration`): `url`; secret: the
//!   signing key.
//! - `caldav` serves `calendar.*` tools: `url` (the calendar collection), `username`; secret:
//!   the password. Bookings fall within the agent's `opening_hours`. Without one,
//!   `google_calendar` serves them: `calendar_id` (default `primary`); secret: an OAuth access
//!   token, or with `client_id` (the OAuth client; `token_url`, default Google's) the JSON
//!   `{"client_secret": ..., "refresh_token": ...}`, from which access tokens are fetched as
//!   needed.
//!
//! An `api_base` goes through the operator's egress policy like every tenant URL: https, or
//! http only to a host the operator allows, and never to a refused address.

use std::sync::Arc;
use std::time::Duration;

use parley_agent::spec::AgentSpec;
use parley_connect::egress::Egress;
use parley_connect::llm::ChatClient;
use parley_connect::tools::caldav::CalDav;
use parley_connect::tools::calendar::{Calendar, CalendarStore};
use parley_connect::tools::google_calendar::GoogleCalendar;
use parley_connect::tools::http::HttpTool;
use parley_connect::tools::hubspot::HubSpot;
use parley_connect::tools::shopify::{Shopify, DEFAULT_API_VERSION};
use parley_connect::tools::zendesk::Zendesk;
use parley_connect::tools::{TenantTools, ToolRunner};
use parley_speech::cloud::deepgram::DeepgramRecognizer;
use parley_speech::cloud::elevenlabs::ElevenLabsVoice;
use parley_speech::cloud::openai::{OpenAiRecognizer, OpenAiVoice};
use parley_speech::cloud::{Account, Dial};
use parley_speech::failover::{FailoverRecognizer, FailoverVoice, StreamingVoice, COOL_DOWN};
use parley_speech::{Recognizer, Synthesizer};
use parley_store::policy::DataPolicy;

use crate::completion::CallModel;
use crate::Shared;

/// A cloud recognizer that has no text this long after the turn has failed.
const RECOGNITION_TIMEOUT: Duration = Duration::from_secs(3);
/// A cloud voice silent this long (before a sentence's first audio, or between chunks) has failed.
const VOICE_STALL: Duration = Duration::from_secs(2);
/// Longest HTTP request to a provider.
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest request of a tool (the flow's `tool_timeout_ms` usually ends the wait sooner).
const TOOL_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest streamed completion (the client also stops one silent for 10 s).
const LLM_TIMEOUT: Duration = Duration::from_secs(60);
/// The chat model of an `openai` integration that names none.
const DEFAULT_CHAT_MODEL: &str = "gpt-4o-mini";

/// What a call listens and speaks with.
pub struct CallEngines {
    /// The recognizer.
    pub recognizer: Arc<dyn Recognizer>,
    /// The voice.
    pub synthesizer: Arc<dyn Synthesizer>,
    /// What runs the tools the agent's flow calls.
    pub tools: Arc<dyn ToolRunner>,
    /// The language model of the agent's `llm` nodes: the tenant's `openai` integration
    /// (config `chat_model`, default `gpt-4o-mini`; `api_base` for any OpenAI-compatible
    /// server) when the data policy allows `openai`; else the embedded model
    /// ([`crate::embedded_llm`]) where it is installed; `None` otherwise (the nodes' fallback).
    pub llm: Option<Arc<CallModel>>,
}

impl CallEngines {
    /// Who received the call's audio and text (for usage).
    pub fn providers(&self) -> [&'static str; 2] {
        [self.recognizer.provider(), self.synthesizer.provider()]
    }
}

/// See the module docs.
pub async fn for_call(shared: &Shared, tenant: &str, agent: &AgentSpec, policy: &DataPolicy) -> CallEngines {
    let embedded_recognizer = shared.speech.recognizer(agent.recognizer).await;
    let embedded_voice = shared.speech.synthesizer(agent.voice).await;
    let recognizer = match agent.recognizer.provider() {
        Some(provider) => match account(shared, tenant, policy, provider).await {
            Some((config, account)) => {
                let model = |k: &str| config.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_string();
                let cloud: Arc<dyn Recognizer> = match provider {
                    "deepgram" => Arc::new(DeepgramRecognizer::new(account, &model("model"), dial(&shared.egress), RECOGNITION_TIMEOUT).warm()),
                    _ => Arc::new(OpenAiRecognizer::new(shared.egress.client(HTTP_TIMEOUT), account, &model("transcription_model"), RECOGNITION_TIMEOUT)),
                };
                Arc::new(FailoverRecognizer::new(cloud, embedded_recognizer, COOL_DOWN)) as Arc<dyn Recognizer>
            }
            None => embedded_recognizer,
        },
        None => embedded_recognizer,
    };
    let synthesizer = match agent.voice.provider() {
        Some(provider) => match account(shared, tenant, policy, provider).await {
            Some((config, account)) => {
                let setting = |k: &str| config.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_string();
                let cloud: Option<Arc<dyn StreamingVoice>> = match provider {
                    "elevenlabs" if setting("voice_id").is_empty() => {
                        tracing::warn!("the elevenlabs integration names no voice_id; the embedded voice speaks");
                        None
                    }
                    "elevenlabs" => Some(Arc::new(ElevenLabsVoice::new(account, &setting("voice_id"), &setting("model"), dial(&shared.egress)))),
                    _ => Some(Arc::new(OpenAiVoice::new(shared.egress.client(HTTP_TIMEOUT), account, &setting("speech_model"), &setting("voice")))),
                };
                match cloud {
                    Some(cloud) => Arc::new(FailoverVoice::new(cloud, embedded_voice, VOICE_STALL, COOL_DOWN)) as Arc<dyn Synthesizer>,
                    None => embedded_voice,
                }
            }
            None => embedded_voice,
        },
        None => embedded_voice,
    };
    let (tools, llm) = agent_engines(shared, tenant, agent, policy).await;
    CallEngines { recognizer, synthesizer, tools, llm }
}

/// What runs an agent's tools and its `llm` nodes for `tenant` (a call's, or the console's test
/// chat's): see [`CallEngines::tools`] and [`CallEngines::llm`].
pub async fn agent_engines(shared: &Shared, tenant: &str, agent: &AgentSpec, policy: &DataPolicy) -> (Arc<dyn ToolRunner>, Option<Arc<CallModel>>) {
    let uses_llm = agent.flow.iter().any(|n| matches!(n, parley_agent::flow::Node::Llm(_)));
    let llm = match uses_llm {
        true => match account(shared, tenant, policy, "openai").await {
            Some((config, account)) => {
                let model = config.get("chat_model").and_then(|v| v.as_str()).filter(|m| !m.is_empty()).unwrap_or(DEFAULT_CHAT_MODEL);
                let client = ChatClient::new(shared.egress.client(LLM_TIMEOUT), &account.api_base, account.key, model);
                Some(Arc::new(CallModel::new(client, "openai")))
            }
            None => shared.llm.model(),
        },
        false => None,
    };
    let mut tools = TenantTools::default();
    if agent.tools.values().any(|t| t.operation.starts_with("shopify.")) {
        tools.shopify = account(shared, tenant, policy, "shopify").await.map(|(config, account)| {
            let version = config.get("api_version").and_then(|v| v.as_str()).filter(|v| !v.is_empty()).unwrap_or(DEFAULT_API_VERSION);
            Arc::new(Shopify::new(shared.egress.client(TOOL_TIMEOUT), &account.api_base, version, account.key))
        });
    }
    if agent.tools.values().any(|t| t.operation.starts_with("calendar.")) {
        if let Some(hours) = agent.opening_hours.clone() {
            // The tenant's CalDAV calendar, else its Google Calendar.
            let store: Option<(Arc<dyn CalendarStore>, String)> = match account(shared, tenant, policy, "caldav").await {
                Some((config, account)) => {
                    let user = config.get("username").and_then(|v| v.as_str()).unwrap_or_default();
                    Some((Arc::new(CalDav::new(shared.egress.client(TOOL_TIMEOUT), &account.api_base, user, account.key)), account.api_base))
                }
                None => account(shared, tenant, policy, "google_calendar").await.map(|(config, account)| {
                    let id = config.get("calendar_id").and_then(|v| v.as_str()).unwrap_or("primary").to_string();
                    let key = format!("{}/{id}", account.api_base);
                    let http = shared.egress.client(TOOL_TIMEOUT);
                    let calendar = match google_grant(&config, &account.key, parley_connect::tools::google_calendar::TOKEN_URL) {
                        Some(grant) => GoogleCalendar::with_grant(http, &account.api_base, &id, grant),
                        None => GoogleCalendar::new(http, &account.api_base, &id, account.key),
                    };
                    (Arc::new(calendar) as Arc<dyn CalendarStore>, key)
                }),
            };
            tools.calendar = store.map(|(store, key)| Arc::new(Calendar::new(store, hours, &key)));
        }
    }
    let uses = |prefix: &str| agent.tools.values().any(|t| t.operation.starts_with(prefix));
    if uses("zendesk.") {
        tools.zendesk = account(shared, tenant, policy, "zendesk").await.map(|(config, account)| {
            let email = config.get("email").and_then(|v| v.as_str()).unwrap_or_default();
            Arc::new(Zendesk::new(shared.egress.client(TOOL_TIMEOUT), &account.api_base, email, account.key))
        });
    }
    if uses("hubspot.") {
        tools.hubspot = account(shared, tenant, policy, "hubspot").await.map(|(_, account)| Arc::new(HubSpot::new(shared.egress.client(TOOL_TIMEOUT), &account.api_base, account.key)));
    }
    for (name, def) in agent.tools.iter().filter(|(_, d)| d.operation == parley_agent::tools::HTTP_REQUEST) {
        let Some((_, account)) = account_named(shared, tenant, policy, "http", def.integration.as_deref()).await else { continue };
        let schema = def.args.clone().unwrap_or_else(|| serde_json::json!({"type": "object"}));
        match HttpTool::new(shared.egress.client(TOOL_TIMEOUT), &account.api_base, account.key, &schema, &def.outcomes) {
            Ok(tool) => {
                tools.http.insert(name.clone(), Arc::new(tool));
            }
            Err(e) => tracing::warn!(error = %e, "an http tool of the agent cannot be used"),
        }
    }
    (Arc::new(tools), llm)
}

/// The tenant's account with `provider` (its integration's config and the opened key), if the
/// policy allows the provider and the integration is usable.
async fn account(shared: &Shared, tenant: &str, policy: &DataPolicy, provider: &'static str) -> Option<(serde_json::Value, Account)> {
    account_named(shared, tenant, policy, provider, None).await
}

/// [`account`], of the integration called `name` when one is given.
async fn account_named(shared: &Shared, tenant: &str, policy: &DataPolicy, provider: &'static str, name: Option<&str>) -> Option<(serde_json::Value, Account)> {
    if !policy.allows(provider) {
        tracing::info!(provider, "the agent names a provider the tenant's data policy does not allow; it is not used");
        return None;
    }
    let scope = shared.store.tenant(tenant).ok()?;
    let integration = match scope.list_integrations().await {
        Ok(list) => list.into_iter().find(|i| i.kind == provider && name.is_none_or(|n| i.name == n)),
        Err(e) => {
            tracing::error!(provider, error = %e, "looking up the tenant's integration failed; it is not used");
            return None;
        }
    };
    let Some(integration) = integration else {
        tracing::warn!(provider, "the agent names a provider the tenant has no integration for; it is not used");
        return None;
    };
    let shop = integration.config.get("shop").and_then(|v| v.as_str()).map(|s| format!("https://{}", s.trim_start_matches("https://")));
    let shop = shop.or_else(|| integration.config.get("subdomain").and_then(|v| v.as_str()).map(|s| format!("https://{s}.zendesk.com")));
    let url = integration.config.get("url").and_then(|v| v.as_str()).map(String::from);
    let Some(base) = integration.config.get("api_base").and_then(|v| v.as_str()).map(String::from).or(url).or(shop).or(default_base(provider).map(String::from)) else {
        tracing::warn!(provider, "the integration names no address (url, shop or api_base); it is not used");
        return None;
    };
    let base = base.as_str();
    let api_base = match shared.egress.api_base(base) {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(provider, error = %e, "the integration's api_base is refused; it is not used");
            return None;
        }
    };
    let key = match scope.integration_secret(&shared.master, &integration.id).await {
        Ok(k) => k,
        Err(e) => {
            tracing::error!(provider, error = %e, "opening the integration's key failed; it is not used");
            return None;
        }
    };
    Some((integration.config, Account { api_base, key }))
}

/// The OAuth grant of a `google_calendar` integration with a `client_id` (and `token_url`,
/// default `default_token_url`): its secret is `{"client_secret": ..., "refresh_token": ...}`.
/// `None` for one whose secret is an access token.
pub fn google_grant(config: &serde_json::Value, secret: &secrecy::SecretString, default_token_url: &str) -> Option<parley_connect::tools::google_calendar::OAuthGrant> {
    use secrecy::ExposeSecret;
    let client_id = config.get("client_id")?.as_str()?.to_string();
    let token_url = config.get("token_url").and_then(|v| v.as_str()).unwrap_or(default_token_url).to_string();
    let secret: serde_json::Value = serde_json::from_str(secret.expose_secret()).ok()?;
    let field = |k: &str| secret.get(k).and_then(|v| v.as_str()).filter(|v| !v.is_empty()).map(|v| secrecy::SecretString::from(v.to_string()));
    Some(parley_connect::tools::google_calendar::OAuthGrant { token_url, client_id, client_secret: field("client_secret")?, refresh_token: field("refresh_token")? })
}

/// A provider's own API address (a store has none: its integration names it).
fn default_base(provider: &str) -> Option<&'static str> {
    match provider {
        "deepgram" => Some("https://api.deepgram.com"),
        "elevenlabs" => Some("https://api.elevenlabs.io"),
        "openai" => Some("https://api.openai.com/v1"),
        "hubspot" => Some(parley_connect::tools::hubspot::API_BASE),
        "google_calendar" => Some(parley_connect::tools::google_calendar::API_BASE),
        _ => None,
    }
}

/// WebSocket connections under the egress policy.
struct EgressDial(Egress);

impl Dial for EgressDial {
    fn dial<'a>(&'a self, host: &'a str, port: u16) -> std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<tokio::net::TcpStream>> + Send + 'a>> {
        Box::pin(self.0.connect(host, port))
    }
}

fn dial(egress: &Egress) -> Arc<dyn Dial> {
    Arc::new(EgressDial(egress.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::{ExposeSecret, SecretString};

    #[test]
    fn a_google_grant_needs_a_client_id_and_both_secrets() {
        let secret = SecretString::from(r#"{"client_secret": "s", "refresh_token": "1//r"}"#.to_string());
        let grant = google_grant(&serde_json::json!({"client_id": "c", "calendar_id": "primary"}), &secret, "https://oauth2.googleapis.com/token").unwrap();
        assert_eq!((grant.client_id.as_str(), grant.token_url.as_str(), grant.refresh_token.expose_secret()), ("c", "https://oauth2.googleapis.com/token", "1//r"));
        assert_eq!(google_grant(&serde_json::json!({"client_id": "c", "token_url": "http://127.0.0.1:9/token"}), &secret, "x").unwrap().token_url, "http://127.0.0.1:9/token");
        assert!(google_grant(&serde_json::json!({"calendar_id": "primary"}), &secret, "x").is_none(), "no client: the secret is an access token");
        for bad in ["ya29.access-token", r#"{"client_secret": "s"}"#, r#"{"client_secret": "", "refresh_token": "r"}"#] {
            assert!(google_grant(&serde_json::json!({"client_id": "c"}), &SecretString::from(bad.to_string()), "x").is_none(), "{bad}");
        }
    }
}
