//! A turn the agent took while the caller was only pausing, taken back.
//!
//! No end-of-turn rule is right every time: a caller who pauses mid-sentence ("Please check my
//! order, ... the one from Tuesday") is sometimes answered before they go on. When the caller's
//! next speech starts before the agent's reply has played for [`HEARD_WITHIN`] (and within
//! [`GOES_ON_WITHIN`] of the agent taking the turn), they cannot be answering the agent (they
//! have heard at most its first words): they are going on. The
//! agent then stops its reply (as for any barge-in), the conversation goes back to where it
//! was before that turn ([`parley_agent::conversation::Conversation::take_back`]), and both
//! parts go to it as one turn. The transcript keeps what was said as it was said: both caller
//! lines, and the agent's reply marked cut off.
//!
//! Only a turn whose answer had no effect can be taken back: a tool call, a transfer, a hangup,
//! a payment or a key press ends the chance (`TakenTurn::undoable`).

use std::time::{Duration, Instant};

use parley_agent::conversation::{Action, Conversation};

/// How soon after the agent took a turn the caller's next speech must start to go on with it,
/// when the reply has not started playing yet (a model still working on its answer).
pub const GOES_ON_WITHIN: Duration = Duration::from_millis(1500);

/// How long the reply may have played when the caller's speech starts, for that speech to go
/// on with the turn. A few words of the reply: an answer to it, or a new question about it,
/// takes longer than that to plan (about 600 ms from the idea to the first sound); speech that
/// starts sooner was under way before the reply could be understood.
pub const HEARD_WITHIN: Duration = Duration::from_millis(500);

/// The last turn the agent took, while the caller may still go on with it.
pub(crate) struct TakenTurn {
    /// The conversation before the turn.
    earlier: Conversation,
    /// What the conversation was told.
    text: String,
    /// Speech that starts after this is a new turn.
    until: Instant,
}

impl TakenTurn {
    /// The turn `text`, taken at `now` from the conversation `earlier`.
    pub(crate) fn new(earlier: Conversation, text: String, now: Instant) -> TakenTurn {
        TakenTurn { earlier, text, until: now + GOES_ON_WITHIN }
    }

    /// The reply's first audio went out at `now`.
    pub(crate) fn heard_from(&mut self, now: Instant) {
        self.until = self.until.min(now + HEARD_WITHIN);
    }

    /// Whether speech that started at `now` may go on with this turn.
    pub(crate) fn open_at(&self, now: Instant) -> bool {
        now <= self.until
    }

    /// Whether the agent may still take back a turn after doing `action`: saying something or
    /// asking the model may be undone, nothing else.
    pub(crate) fn undoable(action: &Action) -> bool {
        matches!(action, Action::Say(_) | Action::Complete(_) | Action::CancelCompletion(_))
    }

    /// What [`TakenTurn::take_back`] would make of `convo` and `rest`, on copies: to prepare the
    /// answer to the whole turn during the caller's pause.
    pub(crate) fn trial(&self, convo: &Conversation, rest: &str) -> (Conversation, String) {
        let mut trial = convo.clone();
        trial.take_back(self.earlier.clone());
        (trial, self.whole(rest))
    }

    /// Takes the turn back from `convo` (the actions that stop its answer) and returns the
    /// whole turn: this one's words, then `rest`.
    pub(crate) fn take_back(self, convo: &mut Conversation, rest: &str) -> (Vec<Action>, String) {
        let whole = self.whole(rest);
        (convo.take_back(self.earlier), whole)
    }

    /// This turn's words, then `rest`.
    fn whole(&self, rest: &str) -> String {
        format!("{} {rest}", self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parley_agent::conversation::{CallContext, Input};
    use parley_agent::spec::AgentSpec;

    fn demo(t0: Instant) -> Conversation {
        Conversation::new(AgentSpec::demo(), CallContext { caller: "+15550100004".into(), answered: t0, answered_unix_ms: 0 })
    }

    #[test]
    fn it_is_open_for_speech_that_starts_soon_after() {
        let t0 = Instant::now();
        let taken = TakenTurn::new(demo(t0), "Please check my order,".into(), t0);
        assert!(taken.open_at(t0 + Duration::from_millis(100)) && taken.open_at(t0 + GOES_ON_WITHIN));
        assert!(!taken.open_at(t0 + GOES_ON_WITHIN + Duration::from_millis(20)));
    }

    #[test]
    fn it_closes_once_the_reply_has_been_heard_a_while() {
        let t0 = Instant::now();
        let mut taken = TakenTurn::new(demo(t0), "Please check my order,".into(), t0);
        taken.heard_from(t0 + Duration::from_millis(40));
        assert!(taken.open_at(t0 + Duration::from_millis(40) + HEARD_WITHIN));
        assert!(!taken.open_at(t0 + Duration::from_millis(60) + HEARD_WITHIN));
        // A reply that starts late does not stretch the window.
        let mut slow = TakenTurn::new(demo(t0), "Please check my order,".into(), t0);
        slow.heard_from(t0 + Duration::from_millis(450));
        assert!(!slow.open_at(t0 + GOES_ON_WITHIN + Duration::from_millis(20)));
    }

    #[test]
    fn only_speech_and_the_model_can_be_undone() {
        assert!(TakenTurn::undoable(&Action::Say("Sure.".into())));
        assert!(TakenTurn::undoable(&Action::CancelCompletion(3)));
        for done in [Action::Hangup, Action::Transfer("sip:desk@example.com".into()), Action::WarmTransfer("sip:desk@example.com".into())] {
            assert!(!TakenTurn::undoable(&done), "{done:?}");
        }
    }

    #[test]
    fn the_whole_turn_goes_to_the_conversation_as_it_was() {
        let t0 = Instant::now();
        let mut convo = demo(t0);
        convo.start(t0);
        let earlier = convo.clone();
        convo.handle(t0, Input::Said("I have a question.".into()));
        assert_eq!(convo.turns, 1);
        let (stop, whole) = TakenTurn::new(earlier, "I have a question.".into(), t0).take_back(&mut convo, "What are your opening hours?");
        assert!(stop.is_empty(), "a flow has no completion to stop");
        assert_eq!(whole, "I have a question. What are your opening hours?");
        assert_eq!(convo.turns, 0, "the cut turn is undone");
    }
}
