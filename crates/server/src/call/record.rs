//! What is left of a call when it ends: its record (figures, outcome, usage, the turns'
//! timings; never words), the post-call document for the tenant's webhook, and what the
//! tenant's data policy keeps, sealed. Also the provisional record a call in progress keeps
//! fresh, and the record of a call that was refused.

use super::*;

/// The record of a call to one of a tenant's agents that was refused (403, 486, 488, 503).
pub fn rejected_record(shared: &Shared, tenant: &str, call: u64, agent: &str, caller: Option<&str>, code: u16) -> CallRecord {
    let now = unix_ms();
    let caller = caller.unwrap_or("anonymous");
    CallRecord {
        id: call_record_id(now, call),
        tenant_id: tenant.to_string(),
        agent: agent.to_string(),
        caller_masked: mask_number(caller),
        caller_hash: caller_hash(&shared.hash_key, tenant, caller),
        callee: agent.to_string(),
        transport: String::new(),
        started_ms: now,
        answered_ms: None,
        ended_ms: now,
        outcome: "rejected".into(),
        end_reason: format!("rejected_{code}"),
        routing: format!("rejected:{code}"),
        turns: 0,
        retries: 0,
        webhook_status: "none".into(),
        latency: None,
        timeline: Default::default(),
    }
}

/// The id of a call's record.
pub fn record_id(started_ms: i64, call: u64) -> String {
    call_record_id(started_ms, call)
}

pub(super) fn call_record_id(started_ms: i64, call: u64) -> String {
    format!("{:016x}{:04x}", started_ms, call & 0xffff)
}

/// Work done for the call, metered for billing.
#[derive(Default)]
pub(super) struct Usage {
    /// Caller speech sent to the recognizer, ms.
    pub(super) asr_ms: u64,
    /// Characters synthesized.
    pub(super) tts_chars: u64,
    /// Who ran the language model, if the agent has one.
    pub(super) llm: Option<&'static str>,
    /// Tool calls by provider.
    pub(super) tool_calls: std::collections::BTreeMap<String, i64>,
}

/// Who the call was between.
#[derive(Clone, Copy)]
pub(super) struct Parties<'a> {
    pub(super) tenant: &'a str,
    pub(super) caller: &'a str,
    pub(super) callee: &'a str,
    pub(super) transport: &'a str,
}

/// How the call went.
pub(super) struct Ended {
    pub(super) started_ms: i64,
    pub(super) answered_ms: i64,
    /// A call we placed.
    pub(super) outbound: bool,
    pub(super) ended_ms: i64,
    pub(super) reason: CallEnd,
    pub(super) usage: Usage,
    /// Who received the audio and the text (recognizer, voice).
    pub(super) engines: [&'static str; 2],
    pub(super) recorder: Option<Recorder>,
    /// How fast the agent answered.
    pub(super) latency: Option<CallLatency>,
    /// Each reply's and tool call's time.
    pub(super) timeline: CallTimeline,
    /// The agent's language model, for the summary.
    pub(super) llm: Option<std::sync::Arc<crate::completion::CallModel>>,
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn finish(
    shared: &Shared,
    call: u64,
    agent: &AgentSpec,
    who: Parties<'_>,
    policy: &DataPolicy,
    ended: Ended,
    convo: &Conversation,
    mut transcript: Transcript,
) {
    let Ended { started_ms, answered_ms, outbound, ended_ms, reason, usage, engines, recorder, latency, timeline, llm } = ended;
    let call_id = call_record_id(started_ms, call);
    let tenant = who.tenant;
    let usage_items = usage_items(engines, answered_ms, ended_ms, &usage, convo);
    let mut usage_items: Vec<(&str, &str, i64)> = usage_items.iter().map(|(m, p, q)| (*m, p.as_str(), *q)).collect();
    shared.directory.add_call_seconds(tenant, usage_items[0].2);
    // A caller who restricted processing is answered, but nothing about the call is kept or sent.
    let caller_hash = caller_hash(&shared.hash_key, tenant, who.caller);
    if restricted(&shared.store, tenant, &caller_hash).await {
        tracing::info!(call = call, "caller restricted processing: no record, no document");
        let forgotten = match shared.store.tenant(tenant) {
            Ok(scope) => match scope.forget_call(&call_id).await {
                Ok(()) => scope.meter(ended_ms, &usage_items).await,
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        if let Err(e) = forgotten {
            tracing::error!(error = %e, "forgetting a restricted caller's call failed");
        }
        return;
    }
    let mut summary = convo.summary();
    // An agent with a language model has it write the summary; a sentence the call does not
    // support keeps the flow's own.
    if let Some(model) = llm.as_deref() {
        let lines = parley_connect::document::transcript_for_model(&transcript);
        if let Some(request) = convo.summary_request(&lines) {
            if let Some((text, tokens)) = crate::completion::complete_text(model, &request, SUMMARY_WAIT).await {
                usage_items.push(("llm_tokens", model.provider, tokens as i64));
                match convo.accept_summary(&text, &lines) {
                    Some(s) => summary = s,
                    None => tracing::info!(call = call, "the model's summary was not supported by the call; the flow's summary is used"),
                }
            }
        }
    }
    let mut message = convo.message.clone();
    if policy.redact_pii {
        transcript.redact();
        summary = parley_connect::redact::redact(&summary);
        message = message.map(|m| parley_connect::redact::redact(&m));
    }
    let facts = CallFacts {
        call_id: call_id.clone(),
        tenant: tenant.to_string(),
        agent: agent.name.clone(),
        caller: who.caller.to_string(),
        callee: who.callee.to_string(),
        started_ms,
        ended_ms,
        outcome: final_outcome(convo, reason).to_string(),
        summary,
        tool_calls: convo.tool_calls.iter().map(|t| (t.name.to_string(), t.argument.clone(), t.result.to_string())).collect(),
        message,
    };
    // The document exists in clear only here, until it is sealed into the outbox: for the
    // webhook, and for the agent's mail.
    let destination = destination(shared, tenant).await;
    let mailed = agent.email.as_ref().is_some_and(|e| !e.only_messages || convo.message.is_some());
    let rendered = (destination.is_some() || mailed).then(|| zeroize::Zeroizing::new(render(&facts, &transcript)));
    let kept_transcript = (policy.transcript_days > 0).then(|| zeroize::Zeroizing::new(transcript_json(&transcript)));
    drop(transcript);
    let webhook_status = if destination.is_some() { "pending" } else { "none" };
    let record = CallRecord {
        ended_ms,
        outcome: final_outcome(convo, reason).to_string(),
        end_reason: reason.name().to_string(),
        turns: i64::from(convo.turns),
        retries: i64::from(convo.total_retries),
        webhook_status: webhook_status.to_string(),
        latency,
        timeline,
        ..base_record(shared, call, agent, who, started_ms, answered_ms, outbound)
    };
    // The record and its usage together: a crash leaves the provisional record, finished on
    // restart, or both, never one without the other.
    let finished = match shared.store.tenant(&record.tenant_id) {
        Ok(scope) => scope.finish_call(&record, &usage_items).await,
        Err(e) => Err(e),
    };
    if let Err(e) = finished {
        tracing::error!(call = %record.id, error = %e, "storing call record failed");
    }
    keep(shared, &record, policy, kept_transcript, recorder).await;
    let Some(body) = rendered else { return };
    if mailed {
        let queued = match shared.store.tenant(&record.tenant_id) {
            Ok(scope) => scope.enqueue(&shared.master, &record.id, &format!("{}{}", crate::delivery::EMAIL, agent.name), &body, unix_ms()).await,
            Err(e) => Err(e),
        };
        match queued {
            Ok(_) => shared.delivery_wake.notify_one(),
            Err(e) => tracing::error!(call = %record.id, error = %e, "sealing the post-call mail into the outbox failed"),
        }
    }
    if let Some(url) = destination {
        let queued = match shared.store.tenant(&record.tenant_id) {
            Ok(scope) => scope.enqueue(&shared.master, &record.id, &url, &body, unix_ms()).await.map(|_| scope),
            Err(e) => Err(e),
        };
        match queued {
            Ok(_) => shared.delivery_wake.notify_one(),
            Err(e) => {
                tracing::error!(call = %record.id, error = %e, "sealing the post-call document into the outbox failed");
                shared.metrics.webhooks_failed.fetch_add(1, Ordering::Relaxed);
                if let Ok(scope) = shared.store.tenant(&record.tenant_id) {
                    let _ = scope.set_webhook_status(&record.id, "failed").await;
                }
            }
        }
    }
}

/// Where the tenant's post-call documents go: `--demo-webhook` for the demo tenant, otherwise
/// the tenant's webhook integration (`integration:<id>`), if it has one.
async fn destination(shared: &Shared, tenant: &str) -> Option<String> {
    if tenant == shared.tenant {
        return shared.webhook_url.clone();
    }
    let scope = shared.store.tenant(tenant).ok()?;
    match scope.list_integrations().await {
        Ok(list) => list.into_iter().find(|i| i.kind == "webhook").map(|i| format!("integration:{}", i.id)),
        Err(e) => {
            tracing::error!(error = %e, "looking up the tenant's webhook failed; the document is not sent");
            None
        }
    }
}

/// How a call that has ended went: the conversation's outcome, or for a conversation still
/// under way when the call ended, `abandoned` (the caller hung up) or `incomplete` (anything
/// else cut it), never `in_progress`, which marks live calls.
fn final_outcome(convo: &Conversation, reason: CallEnd) -> &'static str {
    match (convo.outcome, reason) {
        (parley_agent::conversation::Outcome::InProgress, r) if r.by_caller() => "abandoned",
        (parley_agent::conversation::Outcome::InProgress, _) => "incomplete",
        (o, _) => o.as_str(),
    }
}

/// The call's minutes (first) and engine work, for the tenant's usage.
fn usage_items(engines: [&'static str; 2], answered_ms: i64, ended_ms: i64, usage: &Usage, convo: &Conversation) -> Vec<(&'static str, String, i64)> {
    let call_seconds = ((ended_ms - answered_ms).max(0) as u64).div_ceil(1000) as i64;
    let mut items = vec![
        ("call_seconds", "sip".to_string(), call_seconds),
        ("asr_seconds", engines[0].to_string(), usage.asr_ms.div_ceil(1000) as i64),
        ("tts_characters", engines[1].to_string(), usage.tts_chars as i64),
        ("llm_turns", "embedded".to_string(), i64::from(convo.turns)),
    ];
    if let Some(provider) = usage.llm {
        items.push(("llm_tokens", provider.to_string(), convo.llm_tokens() as i64));
    }
    items.extend(usage.tool_calls.iter().map(|(p, n)| ("tool_calls", p.clone(), *n)));
    items
}

/// The longest wait for the model's summary of a call.
const SUMMARY_WAIT: std::time::Duration = std::time::Duration::from_secs(15);

/// A call's record as far as it is known at answer: `in_progress`, nothing said yet.
pub(super) fn base_record(shared: &Shared, call: u64, agent: &AgentSpec, who: Parties<'_>, started_ms: i64, answered_ms: i64, outbound: bool) -> CallRecord {
    CallRecord {
        id: call_record_id(started_ms, call),
        tenant_id: who.tenant.to_string(),
        agent: agent.name.clone(),
        caller_masked: mask_number(who.caller),
        caller_hash: caller_hash(&shared.hash_key, who.tenant, who.caller),
        callee: who.callee.to_string(),
        transport: who.transport.to_string(),
        started_ms,
        answered_ms: Some(answered_ms),
        ended_ms: answered_ms,
        outcome: "in_progress".into(),
        end_reason: "in_progress".into(),
        routing: format!("{}:{}", if outbound { "outbound" } else { "agent" }, agent.name),
        turns: 0,
        retries: 0,
        webhook_status: "none".into(),
        latency: None,
        timeline: Default::default(),
    }
}

/// The call record's latency: medians over the replies (nearest rank), and voice to voice's
/// 90th percentile; `None` when the agent answered nothing.
pub(super) fn latency_of(replies: &[TurnLatency]) -> Option<CallLatency> {
    let rank = |part: fn(&TurnLatency) -> u64, q: f64| -> i64 {
        let mut v: Vec<u64> = replies.iter().map(part).collect();
        v.sort_unstable();
        let i = ((v.len().saturating_sub(1)) as f64 * q).round() as usize;
        v.get(i).map_or(0, |&n| i64::try_from(n).unwrap_or(i64::MAX))
    };
    (!replies.is_empty()).then(|| CallLatency {
        replies: replies.len() as i64,
        end_of_turn_ms: rank(|t| t.eot_ms, 0.5),
        recognition_ms: rank(|t| t.asr_ms, 0.5),
        agent_ms: rank(|t| t.agent_ms, 0.5),
        synthesis_ms: rank(|t| t.tts_ms, 0.5),
        voice_to_voice_ms: rank(|t| t.total_ms, 0.5),
        voice_to_voice_p90_ms: rank(|t| t.total_ms, 0.9),
    })
}

/// The call record's timeline: each reply's and tool call's time, numbers and names only.
pub(super) fn timeline_of(replies: &[TurnLatency], tools: &[ToolTiming]) -> CallTimeline {
    let ms = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    CallTimeline {
        turns: replies.iter().map(|t| TurnTiming { at_ms: ms(t.at_ms), end_of_turn_ms: ms(t.eot_ms), recognition_ms: ms(t.asr_ms), agent_ms: ms(t.agent_ms), synthesis_ms: ms(t.tts_ms), voice_to_voice_ms: ms(t.total_ms), answer_ms: t.answer_ms.filter(|&a| a != t.total_ms).map(ms) }).collect(),
        tools: tools.iter().map(|t| ToolStep { at_ms: ms(t.at_ms), tool: t.tool.clone(), ms: ms(t.ms), outcome: t.outcome.clone() }).collect(),
    }
}

/// How often a call in progress moves its provisional record's end forward.
const HEARTBEAT: Duration = Duration::from_secs(10);

/// Writes the provisional record, unless the caller restricted processing; whether it did.
pub(super) async fn write_provisional(shared: &Shared, record: &CallRecord) -> bool {
    if restricted(&shared.store, &record.tenant_id, &record.caller_hash).await {
        return false;
    }
    let written = match shared.store.tenant(&record.tenant_id) {
        Ok(scope) => scope.start_call(record, &shared.node).await,
        Err(e) => Err(e),
    };
    match written {
        Ok(()) => true,
        Err(e) => {
            tracing::error!(call = %record.id, error = %e, "writing the provisional call record failed");
            false
        }
    }
}

/// Moves a provisional record's end forward until the call task aborts this.
pub(super) async fn heartbeats(shared: Arc<Shared>, tenant: String, call_id: String) {
    let Ok(scope) = shared.store.tenant(&tenant) else { return };
    let mut tick = tokio::time::interval(HEARTBEAT);
    tick.tick().await;
    loop {
        tick.tick().await;
        if let Err(e) = scope.heartbeat(&call_id, unix_ms()).await {
            tracing::warn!(call = %call_id, error = %e, "a call heartbeat failed");
        }
    }
}

/// Seals what the tenant's policy keeps: the transcript, the recording.
async fn keep(shared: &Shared, record: &CallRecord, policy: &DataPolicy, transcript: Option<zeroize::Zeroizing<Vec<u8>>>, recorder: Option<Recorder>) {
    let Ok(scope) = shared.store.tenant(&record.tenant_id) else { return };
    let now = unix_ms();
    if let Some(text) = transcript {
        if let Err(e) = scope.keep_artifact(&shared.master, &record.id, "transcript", &record.caller_hash, Recipient::Platform, &text, policy.transcript_days, now).await {
            tracing::error!(call = %record.id, error = %e, "keeping the transcript failed");
        }
    }
    if let Some(r) = recorder {
        let wav = r.into_wav();
        let key = policy.recording_public_key.as_deref().map(parley_store::recipient::parse_public_key);
        let kept = match &key {
            Some(Ok(pk)) => scope.keep_artifact(&shared.master, &record.id, "recording", &record.caller_hash, Recipient::TenantKey(pk), &wav, policy.recording_days, now).await,
            Some(Err(e)) => Err(parley_store::StoreError::Invalid(e.to_string())),
            None => scope.keep_artifact(&shared.master, &record.id, "recording", &record.caller_hash, Recipient::Platform, &wav, policy.recording_days, now).await,
        };
        if let Err(e) = kept {
            tracing::error!(call = %record.id, error = %e, "keeping the recording failed");
        }
    }
}

/// Whether the caller restricted processing with this tenant. Fails closed: if the store
/// cannot say, nothing is kept.
async fn restricted(store: &parley_store::Store, tenant: &str, caller_hash: &str) -> bool {
    let answer = match store.tenant(tenant) {
        Ok(scope) => scope.is_restricted(caller_hash).await,
        Err(e) => Err(e),
    };
    answer.unwrap_or_else(|e| {
        tracing::error!(error = %e, "checking a restriction failed; keeping nothing");
        true
    })
}

/// Stores a call record in its tenant's scope, unless the caller restricted processing; a
/// failure is logged (by call id only).
pub async fn store_record(store: &parley_store::Store, record: &CallRecord) {
    if restricted(store, &record.tenant_id, &record.caller_hash).await {
        return;
    }
    let stored = match store.tenant(&record.tenant_id) {
        Ok(scope) => scope.record_call(record).await,
        Err(e) => Err(e),
    };
    if let Err(e) = stored {
        tracing::error!(call = %record.id, error = %e, "storing call record failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(eot_ms: u64, total_ms: u64) -> TurnLatency {
        TurnLatency { at_ms: 0, eot_ms, agent_ms: 0, tts_ms: total_ms - eot_ms, total_ms, ..Default::default() }
    }

    #[test]
    fn the_record_keeps_medians_and_the_p90_of_voice_to_voice() {
        assert_eq!(latency_of(&[]), None, "no reply, no figures");
        let replies: Vec<TurnLatency> = (1..=10).map(|i| reply(400 + i, 600 + 10 * i)).collect();
        let l = latency_of(&replies).expect("figures");
        assert_eq!((l.replies, l.end_of_turn_ms, l.synthesis_ms), (10, 406, 254));
        assert_eq!((l.voice_to_voice_ms, l.voice_to_voice_p90_ms), (660, 690));
    }
}
