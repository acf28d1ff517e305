//! [`ModelAhead`]: the language model's answer asked for during the caller's pause.
//!
//! When the early text of a turn reaches an `llm` node, the pipeline runs it on a copy of the
//! conversation and asks the model now, while the pause may still be the end of the turn
//! (LiveKit Agents calls this preemptive generation). The parts that come are kept, and the
//! copy turns them into the answer's first sentence, which is synthesized ahead too. When the
//! turn is taken with the same words, the conversation asks for the same completion: it is
//! adopted instead of asked again, and the parts kept are replayed into it. When the caller
//! goes on, or the turn turns out different, the completion is stopped.
//!
//! A completion asked ahead goes to the driver under an id of its own ([`AHEAD`] set), never
//! one the conversation uses, so a part of a stopped one that was already on its way cannot be
//! taken for a part of the conversation's next completion.

use std::time::Instant;

use parley_agent::conversation::{Action, CompletionPart, CompletionRequest, Conversation, Input};

/// The bit that marks a completion's id as asked ahead.
pub const AHEAD: u64 = 1 << 63;

/// A completion asked ahead and not yet adopted.
struct Asked {
    /// Its id with the driver.
    wire: u64,
    /// The request as the conversation's copy made it (its id is the copy's).
    request: CompletionRequest,
    /// The copy of the conversation that heard the early text.
    trial: Conversation,
    /// The parts so far, in order.
    parts: Vec<CompletionPart>,
    /// Whether the copy has said its first sentence (it is synthesized ahead once).
    first_said: bool,
}

/// See the module docs.
#[derive(Default)]
pub struct ModelAhead {
    asked: u64,
    current: Option<Asked>,
    /// An adopted completion: its id with the driver and in the conversation.
    adopted: Option<(u64, u64)>,
}

/// What to do with a part that came from the driver.
pub enum Routed {
    /// A part of the conversation's completion `id`.
    Conversation(u64),
    /// A part kept for a completion asked ahead; the copy's first sentence, when this part
    /// completed it.
    Kept(Option<String>),
    /// A part of a completion no longer wanted.
    Stale,
}

impl ModelAhead {
    /// Asks `request` ahead, made by `trial` (the copy that heard the early text): the
    /// request for the driver, and the id of one asked before that is no longer wanted.
    pub fn ask(&mut self, request: CompletionRequest, trial: Conversation) -> (CompletionRequest, Option<u64>) {
        let dropped = self.drop_current();
        self.asked += 1;
        let wire = AHEAD | self.asked;
        let out = CompletionRequest { id: wire, ..request.clone() };
        self.current = Some(Asked { wire, request, trial, parts: Vec::new(), first_said: false });
        (out, dropped)
    }

    /// The completion asked ahead is no longer wanted: its id with the driver, to stop it.
    pub fn drop_current(&mut self) -> Option<u64> {
        self.current.take().map(|a| a.wire)
    }

    /// The conversation asks for `request`: when it is the one asked ahead, it is adopted and
    /// the parts kept for it are returned, to be replayed (`None`: ask the driver).
    pub fn adopt(&mut self, request: &CompletionRequest) -> Option<Vec<CompletionPart>> {
        let asked = self.current.take_if(|a| a.request == *request)?;
        self.adopted = Some((asked.wire, request.id));
        Some(asked.parts)
    }

    /// The id the driver knows the conversation's completion `id` by.
    pub fn wire_id(&self, id: u64) -> u64 {
        match self.adopted {
            Some((wire, adopted)) if adopted == id => wire,
            _ => id,
        }
    }

    /// Where a part of completion `id` (as the driver knows it) goes.
    pub fn route(&mut self, now: Instant, id: u64, part: &CompletionPart) -> Routed {
        if id & AHEAD == 0 {
            return Routed::Conversation(id);
        }
        if let Some((_, adopted)) = self.adopted.filter(|(wire, _)| *wire == id) {
            return Routed::Conversation(adopted);
        }
        let Some(a) = self.current.as_mut().filter(|a| a.wire == id) else { return Routed::Stale };
        a.parts.push(part.clone());
        if a.first_said {
            return Routed::Kept(None);
        }
        let actions = a.trial.handle(now, Input::Completion { id: a.request.id, part: part.clone() });
        let first = actions.into_iter().find_map(|action| match action {
            Action::Say(text) => Some(text),
            _ => None,
        });
        a.first_said = first.is_some();
        Routed::Kept(first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parley_agent::conversation::CallContext;
    use parley_agent::spec::AgentSpec;
    use serde_json::json;

    fn request(id: u64, words: &str) -> CompletionRequest {
        CompletionRequest { id, messages: vec![json!({"role": "user", "content": words})], tools: Vec::new(), max_tokens: 300 }
    }

    fn trial(now: Instant) -> Conversation {
        Conversation::new(AgentSpec::demo(), CallContext { caller: "+15550100004".into(), answered: now, answered_unix_ms: 0 })
    }

    #[test]
    fn each_completion_asked_ahead_has_an_id_of_its_own() {
        let now = Instant::now();
        let mut ahead = ModelAhead::default();
        let (first, dropped) = ahead.ask(request(1, "hours"), trial(now));
        assert_eq!(dropped, None);
        let (second, dropped) = ahead.ask(request(1, "hours please"), trial(now));
        assert_eq!(dropped, Some(first.id), "the one asked before is stopped");
        assert_ne!(first.id, second.id);
        assert!(first.id & AHEAD != 0 && second.id & AHEAD != 0);
        assert!(matches!(ahead.route(now, first.id, &CompletionPart::End), Routed::Stale), "a part of the stopped one is dropped");
    }

    #[test]
    fn only_the_same_request_is_adopted_and_its_parts_come_back_in_order() {
        let now = Instant::now();
        let mut ahead = ModelAhead::default();
        let (wire, _) = ahead.ask(request(1, "hours"), trial(now));
        let parts = [CompletionPart::Failed("one".into()), CompletionPart::End];
        for p in &parts {
            assert!(matches!(ahead.route(now, wire.id, p), Routed::Kept(_)));
        }
        assert_eq!(ahead.adopt(&request(1, "hours please")), None, "other words: asked again");
        let (wire, _) = ahead.ask(request(1, "hours"), trial(now));
        for p in &parts {
            ahead.route(now, wire.id, p);
        }
        assert_eq!(ahead.adopt(&request(1, "hours")), Some(parts.to_vec()));
        assert_eq!(ahead.drop_current(), None, "nothing left to stop");
        assert!(matches!(ahead.route(now, wire.id, &CompletionPart::End), Routed::Conversation(1)), "later parts go to the conversation's completion");
        assert_eq!(ahead.wire_id(1), wire.id, "which the driver knows by the id it was asked under");
        assert!(matches!(ahead.route(now, 7, &CompletionPart::End), Routed::Conversation(7)));
    }
}
