//! The language model's answers for one call: each completion the conversation asks for
//! ([`parley_call::Output::Complete`]) streams in a task of its own, its parts coming back
//! through one cancel-safe [`Completions::next`]; a cancelled one (the caller spoke over it)
//! is stopped at once and sends nothing more. A 429 with a short wait is retried once; longer
//! waits and other errors fail the completion (the flow's fallback takes over).

use std::sync::Arc;
use std::time::Duration;

use parley_agent::conversation::{CompletionPart, CompletionRequest};
use parley_connect::llm::{ChatClient, LlmError};
use tokio::sync::{mpsc, watch};
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
    /// True once the last warm-up is over (its sender dropped: over too).
    warmed: Option<watch::Receiver<bool>>,
}

impl Completions {
    /// Completions with `model` (`None`: the tenant has none; each fails at once).
    pub fn new(model: Option<Arc<CallModel>>) -> Completions {
        let (tx, rx) = mpsc::unbounded_channel();
        Completions { model, tx, rx, running: Vec::new(), warmed: None }
    }

    /// Who runs the model, if there is one.
    pub fn provider(&self) -> Option<&'static str> {
        self.model.as_ref().map(|m| m.provider)
    }

    /// Starts `request` (a warm-up only on the embedded model: a provider would charge for it
    /// or refuse `max_tokens: 0`). A completion asked for while a warm-up still reads the
    /// prompt is sent once it is over: the model server then finds the prompt in its cache,
    /// where sent at once it would go to another slot and read the whole prompt again, beside
    /// the warm-up, on the same cores.
    pub fn start(&mut self, request: CompletionRequest) {
        let warm_up = request.max_tokens == 0;
        if warm_up && self.provider() != Some(crate::embedded_llm::PROVIDER) {
            return;
        }
        let (warmed_tx, wait_for) = match warm_up {
            true => {
                let (tx, rx) = watch::channel(false);
                self.warmed = Some(rx);
                (Some(tx), None)
            }
            false => (None, self.warmed.clone()),
        };
        self.running.retain(|(_, h)| !h.is_finished());
        let tx = self.tx.clone();
        let id = request.id;
        let Some(model) = self.model.clone() else {
            let _ = tx.send((id, CompletionPart::Failed("no language model is set up for this tenant".into())));
            return;
        };
        let task = tokio::spawn(async move {
            // Dropped when this task ends, however it ends: what waits on it goes on.
            let _warmed = warmed_tx;
            if let Some(mut warmed) = wait_for {
                let _ = warmed.wait_for(|done| *done).await;
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use parley_fakes::openai_chat::{FakeChat, Reply};
    use secrecy::SecretString;
    use serde_json::json;

    fn request(id: u64, max_tokens: u32) -> CompletionRequest {
        CompletionRequest { id, messages: vec![json!({"role": "system", "content": "You are Sam."}), json!({"role": "user", "content": "hello"})], tools: Vec::new(), max_tokens }
    }

    /// A completion asked for during the warm-up is sent when the warm-up is over.
    #[tokio::test]
    async fn the_first_answer_waits_for_the_warm_up_to_read_the_prompt() {
        let fake = FakeChat::start(vec![Reply::Text("Hello there.".into())]).await;
        fake.pace(400, 1);
        let client = ChatClient::direct(&fake.url, SecretString::from(parley_fakes::KEY), "embedded");
        let mut c = Completions::new(Some(Arc::new(CallModel::new(client, crate::embedded_llm::PROVIDER))));
        c.start(request(parley_agent::conversation::WARM_UP, 0));
        c.start(request(1, 50));
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(fake.seen().len(), 1, "only the warm-up is with the model");
        loop {
            match c.next().await {
                (1, CompletionPart::End) => break,
                (1, CompletionPart::Failed(e)) => panic!("{e}"),
                _ => {}
            }
        }
        let seen = fake.seen();
        assert_eq!(seen.len(), 2);
        assert_eq!((seen[0]["max_tokens"].as_u64(), seen[1]["max_tokens"].as_u64()), (Some(0), Some(50)));

        // A warm-up that fails holds nothing up.
        fake.behave(parley_fakes::Behaviour::Fail(500));
        c.start(request(parley_agent::conversation::WARM_UP, 0));
        assert!(matches!(c.next().await, (parley_agent::conversation::WARM_UP, CompletionPart::Failed(_))));
        fake.behave(parley_fakes::Behaviour::Work);
        c.start(request(2, 50));
        loop {
            match c.next().await {
                (2, CompletionPart::End) => break,
                (2, CompletionPart::Failed(e)) => panic!("{e}"),
                _ => {}
            }
        }
    }
}
