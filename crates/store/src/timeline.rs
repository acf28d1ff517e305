//! A call's timeline: when each reply came and where its time went, and each tool call with
//! its time and outcome word. Numbers and names the agent's document gives, never what was
//! said, so it is call metadata (kept, deleted and exported with the call's record). Stored as
//! JSON in the record's `timeline` column, at most [`MAX_ENTRIES`] of each kind.

use serde::{Deserialize, Serialize};

/// The most turns, and the most tool calls, a call's timeline keeps (the first ones).
pub const MAX_ENTRIES: usize = 200;

/// One reply: when the caller stopped speaking (ms after the answer) and where the time to
/// the agent's first audio went (ms).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TurnTiming {
    /// End of the caller's speech, after the answer.
    pub at_ms: i64,
    /// End-of-turn wait.
    pub end_of_turn_ms: i64,
    /// Recognition after the end of the turn.
    pub recognition_ms: i64,
    /// The agent (its tools and model included).
    pub agent_ms: i64,
    /// Synthesis to first audio.
    pub synthesis_ms: i64,
    /// End of speech to first audio.
    pub voice_to_voice_ms: i64,
    /// End of speech to the answer's own first audio, when a filler ("One moment.") came
    /// first; absent when the first audio was the answer or the answer was never played.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_ms: Option<i64>,
}

/// One tool call: when the agent called it (ms after the answer), for how long, and how it
/// ended (`found`, `booked`, `failed`...).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolStep {
    /// When the agent called it, after the answer.
    pub at_ms: i64,
    /// The tool's name in the agent.
    pub tool: String,
    /// How long it ran.
    pub ms: i64,
    /// Its outcome word.
    pub outcome: String,
}

/// A call's turns and tool calls, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallTimeline {
    /// The replies.
    pub turns: Vec<TurnTiming>,
    /// The tool calls.
    pub tools: Vec<ToolStep>,
}

impl CallTimeline {
    /// The column's value: `None` for an empty timeline.
    pub(crate) fn to_column(&self) -> Option<String> {
        if self.turns.is_empty() && self.tools.is_empty() {
            return None;
        }
        let kept = CallTimeline { turns: self.turns.iter().take(MAX_ENTRIES).copied().collect(), tools: self.tools.iter().take(MAX_ENTRIES).cloned().collect() };
        serde_json::to_string(&kept).ok()
    }

    /// From the column's value (empty for none, or for a value this version cannot read).
    pub(crate) fn from_column(v: Option<String>) -> CallTimeline {
        v.and_then(|v| serde_json::from_str(&v).ok()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeline_keeps_its_first_entries_and_an_empty_one_is_null() {
        assert_eq!(CallTimeline::default().to_column(), None);
        let long = CallTimeline { turns: (0..300).map(|i| TurnTiming { at_ms: i, ..Default::default() }).collect(), tools: vec![ToolStep { at_ms: 5, tool: "find_order".into(), ms: 40, outcome: "found".into() }] };
        let back = CallTimeline::from_column(long.to_column());
        assert_eq!((back.turns.len(), back.turns[199].at_ms, back.tools.len()), (MAX_ENTRIES, 199, 1));
        assert_eq!(CallTimeline::from_column(Some("not json".into())), CallTimeline::default());
    }
}
