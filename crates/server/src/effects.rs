//! The effects of a call that take time (recognizing an utterance, running a tool, charging a
//! card): each runs
//! as a task in one set, under a key the call's pipeline can cancel it by, and their results
//! come back through one cancel-safe [`Effects::next`], in the order they finish. One runner
//! instead of a channel and a handle table per kind of effect.

use std::collections::HashMap;
use std::future::Future;

use parley_agent::conversation::PaymentResult;
use tokio::task::{AbortHandle, JoinSet};

/// Which effect.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Key {
    /// Recognition of a turn.
    Recognition(u64),
    /// The card charge in progress.
    Charge,
    /// A tool call.
    Tool(u64),
    /// Whether a turn sounds finished (the end-of-turn model).
    TurnJudgement(u64),
}

/// A finished effect.
#[derive(Debug)]
pub enum Done {
    /// A turn's text (or why the recognizer had none).
    Recognized(u64, Result<String, parley_speech::SpeechError>),
    /// The processor's answer.
    Charged(PaymentResult),
    /// A tool's result.
    Tool(parley_agent::tools::ToolResult),
    /// The end-of-turn model's probability that a turn is over (`None`: it failed).
    TurnJudged(u64, Option<f32>),
}

impl Done {
    fn key(&self) -> Key {
        match self {
            Done::Recognized(turn, _) => Key::Recognition(*turn),
            Done::Charged(_) => Key::Charge,
            Done::Tool(r) => Key::Tool(r.id),
            Done::TurnJudged(turn, _) => Key::TurnJudgement(*turn),
        }
    }
}

/// See the module docs.
#[derive(Default)]
pub struct Effects {
    tasks: JoinSet<Done>,
    running: HashMap<Key, AbortHandle>,
}

impl Effects {
    /// Starts `effect` under `key` (an effect already running under it is cancelled).
    pub fn run(&mut self, key: Key, effect: impl Future<Output = Done> + Send + 'static) {
        self.cancel(key);
        let handle = self.tasks.spawn(effect);
        self.running.insert(key, handle);
    }

    /// Cancels the effect under `key`, if it runs: its result never comes (a queued utterance
    /// is never decoded).
    pub fn cancel(&mut self, key: Key) {
        if let Some(handle) = self.running.remove(&key) {
            handle.abort();
        }
    }

    /// The next finished effect; pending while none runs. Cancel-safe.
    pub async fn next(&mut self) -> Done {
        loop {
            match self.tasks.join_next().await {
                Some(Ok(done)) => {
                    self.running.remove(&done.key());
                    return done;
                }
                // Cancelled (or a panic, which has been reported): nothing to deliver.
                Some(Err(_)) => continue,
                None => std::future::pending::<()>().await,
            }
        }
    }

    /// Cancels everything (the call has ended).
    pub fn stop(&mut self) {
        self.running.clear();
        self.tasks.abort_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn results_come_in_the_order_they_finish_and_cancelled_ones_never() {
        let mut e = Effects::default();
        let later = |turn: u64, ms: u64| async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Done::Recognized(turn, Ok(format!("turn {turn}")))
        };
        e.run(Key::Recognition(1), later(1, 300));
        e.run(Key::Recognition(2), later(2, 100));
        e.run(Key::Recognition(3), later(3, 200));
        e.cancel(Key::Recognition(3));
        assert!(matches!(e.next().await, Done::Recognized(2, _)));
        assert!(matches!(e.next().await, Done::Recognized(1, _)));
        let nothing = tokio::time::timeout(Duration::from_secs(5), e.next()).await;
        assert!(nothing.is_err(), "the cancelled recognition never answers");
    }
}
