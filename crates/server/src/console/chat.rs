//! The test chat on an agent's page: the stored agent run as text, as `parley chat` runs it,
//! but with the tenant's own tools and language model (the same engines a call gets, under the
//! same data policy), so an agent editor sees what a caller would hear, which node it waits at,
//! and which tool ran with what result. Keys are typed as `#1004`.
//!
//! A chat lives in memory only, bound to the user's session: at most [`MAX_CHATS`] at once,
//! each gone after [`IDLE`] without a message. Nothing of it is logged or stored (what is typed
//! is the business's test text, not a caller's, but it is treated alike).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::{html, Markup};
use parley_agent::conversation::{Action, CallContext, CompletionPart, Conversation, Input, PaymentResult};
use parley_agent::tools::ToolOutcome;
use parley_connect::tools::ToolRunner;
use parley_store::Role;
use serde::Deserialize;

use super::session::Viewer;
use super::{agents, csrf_ok, page_status, refused, ConsoleState};
use crate::api::ApiError;
use crate::completion::{CallModel, Completions};

/// Chats kept at once (the oldest goes first).
pub const MAX_CHATS: usize = 64;
/// A chat not used for this long is gone.
pub const IDLE: Duration = Duration::from_secs(15 * 60);
/// The longest wait for a tool or the model within one message.
const STEP_LIMIT: Duration = Duration::from_secs(30);

/// Who said a line of the chat.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Who {
    Tester,
    Agent,
    /// What the agent did: a tool and its result, a transfer, the node it waits at.
    Note,
}

struct Chat {
    tenant: String,
    session: String,
    agent: String,
    convo: Conversation,
    tools: Arc<dyn ToolRunner>,
    llm: Option<Arc<CallModel>>,
    lines: Vec<(Who, String)>,
    ended: bool,
    used: Instant,
}

/// The chats in progress, by id.
#[derive(Default)]
pub struct Chats(Mutex<HashMap<String, Chat>>);

impl Chats {
    /// Takes chat `id` out (to run a message) if it is this session's and still fresh.
    fn take(&self, id: &str, tenant: &str, session: &str, agent: &str) -> Option<Chat> {
        let mut chats = self.0.lock().unwrap_or_else(|e| e.into_inner());
        chats.retain(|_, c| c.used.elapsed() < IDLE);
        let c = chats.remove(id)?;
        (c.tenant == tenant && c.session == session && c.agent == agent).then_some(c)
    }

    /// Puts a chat back under `id`, making room by dropping the oldest.
    fn put(&self, id: String, chat: Chat) {
        let mut chats = self.0.lock().unwrap_or_else(|e| e.into_inner());
        while chats.len() >= MAX_CHATS {
            let Some(oldest) = chats.iter().min_by_key(|(_, c)| c.used).map(|(k, _)| k.clone()) else { break };
            chats.remove(&oldest);
        }
        chats.insert(id, chat);
    }
}

/// Runs what the agent does until it waits for the tester again.
async fn run(chat: &mut Chat, actions: Vec<Action>) {
    let mut pending = actions;
    let mut completions = Completions::new(chat.llm.clone());
    while !pending.is_empty() {
        let mut next = Vec::new();
        for action in std::mem::take(&mut pending) {
            match action {
                Action::Say(text) => chat.lines.push((Who::Agent, text)),
                Action::CallTool(call) => {
                    let args: Vec<String> = call.args.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    let (tool, operation) = (call.tool.clone(), call.operation.clone());
                    let result = match tokio::time::timeout(STEP_LIMIT, chat.tools.run(call)).await {
                        Ok(r) => r,
                        Err(_) => {
                            chat.lines.push((Who::Note, format!("tool {tool} ({operation}) took longer than {} s", STEP_LIMIT.as_secs())));
                            chat.ended = true;
                            return;
                        }
                    };
                    let shown = match &result.outcome {
                        ToolOutcome::Done { outcome, .. } => outcome.clone(),
                        ToolOutcome::Failed(why) => format!("failed: {why}"),
                    };
                    chat.lines.push((Who::Note, format!("tool {tool} ({operation}) {}: {shown}", args.join(" "))));
                    next.extend(chat.convo.handle(Instant::now(), Input::Tool(result)));
                }
                Action::Complete(request) if request.max_tokens == 0 => {}
                Action::Complete(request) => {
                    let id = request.id;
                    completions.start(request);
                    loop {
                        let Ok((got, part)) = tokio::time::timeout(STEP_LIMIT, completions.next()).await else {
                            next.extend(chat.convo.handle(Instant::now(), Input::Completion { id, part: CompletionPart::Failed("the model took too long".into()) }));
                            break;
                        };
                        let last = matches!(part, CompletionPart::End | CompletionPart::Failed(_));
                        if let CompletionPart::Failed(why) = &part {
                            chat.lines.push((Who::Note, format!("the language model failed: {why}")));
                        }
                        next.extend(chat.convo.handle(Instant::now(), Input::Completion { id: got, part }));
                        if last && got == id {
                            break;
                        }
                    }
                }
                Action::CancelCompletion(id) => completions.cancel(id),
                Action::Transfer(to) | Action::WarmTransfer(to) => {
                    chat.lines.push((Who::Note, format!("transfer to {to}")));
                    chat.ended = true;
                }
                Action::Hangup => {
                    chat.lines.push((Who::Note, "the agent hung up".into()));
                    chat.ended = true;
                }
                Action::CollectPayment(_) => {
                    chat.lines.push((Who::Note, "card payments are taken on phone calls only".into()));
                    next.extend(chat.convo.handle(Instant::now(), Input::Payment(PaymentResult::Unavailable)));
                }
            }
        }
        pending = next;
    }
    completions.stop();
    chat.ended |= chat.convo.done();
    if let Some(node) = chat.convo.node().filter(|_| !chat.ended) {
        chat.lines.push((Who::Note, format!("waits at node {node}")));
    }
}

/// The chat panel: the lines so far and the form for the next message.
fn panel(v: &Viewer, agent: &str, id: &str, lines: &[(Who, String)], ended: bool) -> Markup {
    html! {
        section.chat aria-labelledby="chat-title" {
            h2 id="chat-title" { "Test chat" }
            p { "The saved agent, run as text with your tools and model under your data policy. Keys as #1004." }
            @if !lines.is_empty() {
                ol.chat-lines aria-live="polite" {
                    @for (who, text) in lines {
                        @match who {
                            Who::Tester => li.tester { strong { "You: " } bdi { (text) } },
                            Who::Agent => li.agent { strong { "Agent: " } bdi { (text) } },
                            Who::Note => li.note { "[" (text) "]" },
                        }
                    }
                }
            }
            form.filters method="post" action=(format!("/agents/{agent}/chat")) {
                input type="hidden" name="csrf" value=(v.csrf);
                @if !ended && !id.is_empty() {
                    input type="hidden" name="chat" value=(id);
                    label { "You say" input name="say" autocomplete="off" required; }
                    button type="submit" { "Send" }
                } @else {
                    button type="submit" { @if lines.is_empty() { "Start a test chat" } @else { "Start again" } }
                }
            }
        }
    }
}

/// The empty panel, before a chat starts.
pub fn empty_panel(v: &Viewer, agent: &str) -> Markup {
    panel(v, agent, "", &[], false)
}

#[derive(Deserialize)]
pub struct Message {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    chat: String,
    #[serde(default)]
    say: String,
}

pub async fn say(State(s): State<ConsoleState>, v: Viewer, headers: HeaderMap, Path(name): Path<String>, Form(m): Form<Message>) -> Response {
    if !csrf_ok(&s.api, &v, &headers, &m.csrf) {
        return page_status(StatusCode::FORBIDDEN, &v, "The form expired; reload the page and try again.");
    }
    // Tools may book, write tickets or send mail: an agent editor's test, not a viewer's.
    if !v.caller.role().includes(Role::AgentEditor) {
        return refused(&v, ApiError::Forbidden);
    }
    let session = v.caller.session_id.clone().unwrap_or_default();
    let (yaml, exists) = match agents::stored_yaml(&s.api, &v, &name).await {
        Ok(found) => found,
        Err(e) => return refused(&v, e),
    };
    let (id, chat) = match s.chats.take(&m.chat, &v.tenant, &session, &name) {
        Some(mut chat) => {
            let said = m.say.trim().to_string();
            chat.lines.push((Who::Tester, said.clone()));
            let now = Instant::now();
            let actions = match said.strip_prefix('#') {
                Some(keys) => keys.chars().flat_map(|k| chat.convo.handle(now, Input::Key(k))).collect(),
                None => chat.convo.handle(now, Input::Said(said)),
            };
            run(&mut chat, actions).await;
            (m.chat.clone(), chat)
        }
        None if exists => {
            let spec = match parley_agent::spec::AgentSpec::from_yaml(&yaml) {
                Ok(spec) => spec,
                Err(_) => return refused(&v, ApiError::Internal),
            };
            let policy = match s.api.store.tenant(&v.tenant) {
                Ok(scope) => match scope.policy().await {
                    Ok(p) => p,
                    Err(e) => return refused(&v, e.into()),
                },
                Err(e) => return refused(&v, e.into()),
            };
            let (tools, llm) = crate::call_engines::agent_engines(&s.shared, &v.tenant, &spec, &policy).await;
            let mut convo = Conversation::new(spec, CallContext::now("anonymous")).with_encoder(s.shared.speech.meaning.clone());
            let start = convo.start(Instant::now());
            let mut chat = Chat { tenant: v.tenant.clone(), session, agent: name.clone(), convo, tools, llm, lines: Vec::new(), ended: false, used: Instant::now() };
            run(&mut chat, start).await;
            (hex::encode(rand::random::<[u8; 16]>()), chat)
        }
        None => return page_status(StatusCode::BAD_REQUEST, &v, "Save the agent before you chat with it."),
    };
    let page = agents::page(&s.api, &v, &name, (&yaml, exists), &[], None, panel(&v, &name, &id, &chat.lines, chat.ended)).await;
    let mut chat = chat;
    chat.used = Instant::now();
    s.chats.put(id, chat);
    page
}
