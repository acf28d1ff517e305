//! The language model's answers for one call: each completion the conversation asks for
//! ([`parley_call::Output::Complete`]) streams in a task of its own, its parts coming back
//! through one cancel-safe [`Completions::next`]; a cancelled one (the caller spoke over it)
//! is stopped at once and sends nothing more. A 429 with a short wait is retried once; longer
//! waits and other errors fail the completion (the flow's fallback takes over).

use std::sync::Arc;
use std::time::Duration;

use parley_agent::conversation::{CompletionPart, CompletionRequest};
use parley_connect::llm::{ChatClient, LlmError};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

/// The longest rate-limit wait worth a retry during a call.
const RETRY_WITHIN: Duration = Duration::from_secs(2);

/// A tenant's model, as the call uses it.
pub struct CallModel {
    /// The client (under the operator's egress policy).
    pub client: ChatClient,
    /// Who runs it, for usage (`openai`).
    pub provider: &'static str,
    /// For a model still starting (the embedded one): true once it answers.
    pub ready: Option<tokio::sync::watch::Receiver<bool>>,
}

/// The longest wait for a starting model before a completion fails.
const READY_WAIT: Duration = Duration::from_secs(60);

impl CallModel {
    /// A model that is up.
    pub fn new(client: ChatClient, provider: &'static str) -> CallModel {
        CallModel { client, provider, ready: None }
    }

    /// Waits until the model answers (at once for a provider's); false if it did not in time.
    pub async fn wait_ready(&self) -> bool {
        let Some(mut ready) = self.ready.clone() else { return true };
        let up = tokio::time::timeout(READY_WAIT, ready.wait_for(|up| *up)).await.is_ok_and(|r| r.is_ok());
        up
    }
}

/// See the module docs.
pub struct Completions {
    model: Option<Arc<CallModel>>,
    tx: mpsc::UnboundedSender<(u64, CompletionPart)>,
    rx: mpsc::UnboundedReceiver<(u64, CompletionPart)>,
    running: Vec<(u64, AbortHandle)>,
}

impl Completions {
    /// Completions with `model` (`None`: the tenant has none; each fails at once).
    pub fn new(model: Option<Arc<CallModel>>) -> Completions {
        let (tx, rx) = mpsc::unbounded_channel();
        Completions { model, tx, rx, running: Vec::new() }
    }

    /// Who runs the model, if there is one.
    pub fn provider(&self) -> Option<&'static str> {
        self.model.as_ref().map(|m| m.provider)
    }

    /// Starts `request` (a warm-up only on the embedded model: a provider would charge for it
    /// or refuse `max_tokens: 0`).
    pub fn start(&mut self, request: CompletionRequest) {
        if request.max_tokens == 0 && self.provider() != Some(crate::embedded_llm::PROVIDER) {
            return;
        }
        self.running.retain(|(_, h)| !h.is_finished());
        let tx = self.tx.clone();
        let id = request.id;
        let Some(model) = self.model.clone() else {
            let _ = tx.send((id, CompletionPart::Failed("no language model is set up for this tenant".into())));
            return;
        };
        let task = tokio::spawn(async move {
            if !model.wait_ready().await {
                let _ = tx.send((id, CompletionPart::Failed("the model did not start".into())));
                return;
            }
            let mut stream = match model.client.stream(&request.messages, &request.tools, request.max_tokens).await {
                Err(LlmError::RateLimited(wait)) if wait <= RETRY_WITHIN => {
                    tokio::time::sleep(wait).await;
                    model.client.stream(&request.messages, &request.tools, request.max_tokens).await
                }
                other => other,
            };
            let stream = match stream.as_mut() {
                Ok(s) => s,
                Err(e) => {
                    let _ = tx.send((id, CompletionPart::Failed(e.to_string())));
                    return;
                }
            };
            loop {
                match stream.next().await {
                    Some(Ok(events)) => {
                        if tx.send((id, CompletionPart::Events(events))).is_err() {
                            return;
                        }
                    }
                    Some(Err(e)) => {
                        let _ = tx.send((id, CompletionPart::Failed(e.to_string())));
                        return;
                    }
                    None => {
                        let _ = tx.send((id, CompletionPart::End));
                        return;
                    }
                }
            }
        });
        self.running.push((id, task.abort_handle()));
    }

    /// Stops completion `id`.
    pub fn cancel(&mut self, id: u64) {
        self.running.retain(|(i, h)| {
            if *i == id {
                h.abort();
            }
            *i != id
        });
    }

    /// The next part of a completion (one sent just before its completion was cancelled may
    /// still come: the conversation ignores parts of completions it no longer waits for).
    /// Cancel-safe.
    pub async fn next(&mut self) -> (u64, CompletionPart) {
        match self.rx.recv().await {
            Some(part) => part,
            None => std::future::pending().await,
        }
    }

    /// Stops everything (the call has ended).
    pub fn stop(&mut self) {
        for (_, h) in self.running.drain(..) {
            h.abort();
        }
    }
}

/// A whole completion's text and the tokens it used, or `None` when it fails or takes longer
/// than `limit` (for the post-call summary: nobody waits on the line).
pub async fn complete_text(model: &CallModel, request: &CompletionRequest, limit: std::time::Duration) -> Option<(String, u64)> {
    let work = async {
        model.wait_ready().await.then_some(())?;
        let mut stream = model.client.stream(&request.messages, &request.tools, request.max_tokens).await.ok()?;
        let (mut text, mut tokens) = (String::new(), 0u64);
        while let Some(events) = stream.next().await {
            for e in events.ok()? {
                match e {
                    parley_agent::llm::stream::StreamEvent::Text(t) => text.push_str(&t),
                    parley_agent::llm::stream::StreamEvent::Usage { prompt, completion } => tokens += prompt + completion,
                    _ => {}
                }
            }
        }
        Some((text, tokens))
    };
    tokio::time::timeout(limit, work).await.ok().flatten()
}
