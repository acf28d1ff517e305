//! The post-call document (shared/DESIGN.md, Interfaces): one JSON object per call.

use serde_json::{json, Value};

use crate::transcript::Transcript;

/// Facts about a call that go in its document (no transcript text here).
#[derive(Clone, Debug)]
pub struct CallFacts {
    /// Parley's call id.
    pub call_id: String,
    /// Tenant id.
    pub tenant: String,
    /// Agent name.
    pub agent: String,
    /// Caller number or SIP user.
    pub caller: String,
    /// Number or user dialled.
    pub callee: String,
    /// Start, unix milliseconds.
    pub started_ms: i64,
    /// End, unix milliseconds.
    pub ended_ms: i64,
    /// Outcome name.
    pub outcome: String,
    /// Summary for the business.
    pub summary: String,
    /// Tools used: name, argument, result.
    pub tool_calls: Vec<(String, String, String)>,
    /// The message the caller left, in their words (redacted like the transcript).
    pub message: Option<String>,
}

fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

fn turns(transcript: &Transcript) -> Vec<Value> {
    transcript
        .turns
        .iter()
        .map(|t| {
            let mut turn = json!({"speaker": t.speaker.as_str(), "text": t.text, "start_ms": t.start_ms, "end_ms": t.end_ms});
            if t.interrupted {
                turn["interrupted"] = json!(true);
            }
            turn
        })
        .collect()
}

/// The transcript alone, as the JSON array the document carries: what a tenant whose policy
/// keeps transcripts gets sealed into the store. With [`render`], the only ways transcript text
/// leaves the call's memory.
pub fn transcript_json(transcript: &Transcript) -> Vec<u8> {
    serde_json::to_vec(&turns(transcript)).unwrap_or_default()
}

/// The transcript as lines (`Caller: ...`, `Agent: ...`) for the agent's own language model to
/// summarize: the one other way transcript text leaves the call's memory, taken only when the
/// agent has an `llm` node and the tenant's data policy allows its provider (which heard the
/// same conversation during the call).
pub fn transcript_for_model(transcript: &Transcript) -> String {
    transcript.turns.iter().map(|t| format!("{}: {}", if t.speaker == crate::transcript::Speaker::Caller { "Caller" } else { "Agent" }, t.text)).collect::<Vec<_>>().join("\n")
}

/// Renders the document. This, [`transcript_json`] and [`transcript_for_model`] are the only
/// ways transcript text leaves the call's memory.
pub fn render(facts: &CallFacts, transcript: &Transcript) -> Vec<u8> {
    let turns = turns(transcript);
    let tools: Vec<Value> = facts
        .tool_calls
        .iter()
        .map(|(n, a, r)| json!({"name": n, "argument": a, "result": r}))
        .collect();
    let mut doc = json!({
        "call_id": facts.call_id,
        "tenant": facts.tenant,
        "agent": facts.agent,
        "caller": facts.caller,
        "callee": facts.callee,
        "started_at": rfc3339(facts.started_ms),
        "ended_at": rfc3339(facts.ended_ms),
        "duration_seconds": (facts.ended_ms - facts.started_ms).max(0) as f64 / 1000.0,
        "outcome": facts.outcome,
        "transcript": turns,
        "summary": facts.summary,
        "tool_calls": tools,
    });
    if let Some(m) = &facts.message {
        doc["message"] = json!(m);
    }
    serde_json::to_vec(&doc).unwrap_or_default()
}
