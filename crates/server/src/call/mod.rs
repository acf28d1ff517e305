//! One call's task: RTP in and out on a 20 ms clock, VAD and end-of-turn, recognition, the agent,
//! synthesis and playout, then the post-call document and the call record.
//!
//! The transcript lives only here. It leaves this task once, rendered into the post-call
//! document for the tenant's webhook, and is zeroized when the task ends.
//!
//! Here the task and its loop; `record.rs` what is left when the call ends (the record, the
//! document, what the tenant's policy keeps).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parley_agent::conversation::Conversation;
use parley_agent::spec::AgentSpec;
use parley_call::{CallPipeline, Config, Event, Finished, Output, ToolTiming, TurnLatency};
use parley_connect::document::{render, transcript_json, CallFacts};
use parley_connect::transcript::Transcript;
use parley_sip::uri::Uri;
use parley_store::privacy::{caller_hash, mask_number};
use parley_store::artifacts::Recipient;
use parley_store::policy::DataPolicy;
use parley_store::calls::CallLatency;
use parley_store::timeline::{CallTimeline, ToolStep, TurnTiming};
use parley_store::CallRecord;
use parley_speech::Utterance;
use tokio::sync::mpsc;
use tokio::time::Instant;

use parley_call::recording::Recorder;

use crate::completion::Completions;
use crate::consult::{Consult, Phase};
use crate::media_io::{Media, MediaIn};
use crate::payment;
use crate::effects::{Done, Effects, Key};
use crate::leg::{CallEnd, LegCommand};
use crate::voice::{Synthesized, Voice};
use crate::Shared;

mod record;

pub use record::{record_id, rejected_record, store_record};
use record::{base_record, call_record_id, finish, heartbeats, latency_of, timeline_of, write_provisional, Ended, Parties, Usage};

/// Events from the SIP layer for this call.
#[derive(Debug)]
pub enum CallEvent {
    /// ACK received.
    Established,
    /// A key pressed (SIP INFO).
    Key(char),
    /// REFER progress (response or NOTIFY sipfrag code).
    ReferStatus(u16),
    /// A re-offer was answered: the new offer (its address) and whether we may send.
    Reoffer(Vec<u8>, parley_sip::sdp::Direction),
    /// The dialog is over.
    Ended(CallEnd),
    /// A warm transfer's consult leg was placed.
    ConsultStarted,
    /// The person answered the consult leg: its media.
    ConsultAnswered(Box<Media>),
    /// The consult leg failed before the answer, or the person hung up.
    ConsultEnded,
}

/// Everything a call task starts with.
pub struct CallSetup {
    /// The call's number (logs, record ids), unique on this node.
    pub call: u64,
    /// How the audio travels (RTP, or a Twilio Media Stream).
    pub media: Media,
    /// The agent answering.
    pub agent: AgentSpec,
    /// Caller user/number.
    pub caller: String,
    /// Dialled user/number.
    pub callee: String,
    /// `udp` or `tcp`.
    pub transport: String,
    /// The tenant the dialled number belongs to.
    pub tenant: String,
    /// That tenant's data policy when the call came in.
    pub policy: DataPolicy,
    /// For a call we placed: when it was dialled (unix ms; its record id was given out with
    /// it). Such a call's record says `outbound:<agent>`, and its caller fields hold the
    /// person called (the party whose number data-subject requests find).
    pub placed_ms: Option<i64>,
    /// The call's place in its tenant's concurrent-call count (inbound calls), freed when the
    /// task ends.
    pub admitted: Option<crate::directory::ActiveGuard>,
}

fn unix_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Runs the call to its end: drives the call's [`CallPipeline`] (turn-taking, playout, keys,
/// payment mode, the agent) and carries out what it asks for.
pub async fn run(setup: CallSetup, mut events: mpsc::Receiver<CallEvent>, leg: mpsc::Sender<LegCommand>, shared: Arc<Shared>) {
    // `_admitted` holds the call's place in its tenant's count until this task ends.
    let CallSetup { call, mut media, agent, caller, callee, transport, tenant, policy, placed_ms, admitted: _admitted } = setup;
    shared.metrics.calls_total.fetch_add(1, Ordering::Relaxed);
    shared.metrics.calls_active.fetch_add(1, Ordering::Relaxed);
    let answered_ms = unix_ms();
    let started_ms = placed_ms.unwrap_or(answered_ms);
    let engines = crate::call_engines::for_call(&shared, &tenant, &agent, &policy).await;
    let (recognizer, synthesizer) = (engines.recognizer.clone(), engines.synthesizer.clone());
    tracing::info!(call = call, agent = %agent.name, transport = %transport, srtp = media.srtp(), voice = synthesizer.voice_name(), "call answered");
    // A provisional record at answer, kept current, so a crash loses no call (see
    // `finish_interrupted`).
    let provisional = {
        let who = Parties { tenant: &tenant, caller: &caller, callee: &callee, transport: &transport };
        let mut r = base_record(&shared, call, &agent, who, started_ms, answered_ms, placed_ms.is_some());
        r.ended_ms = answered_ms;
        r
    };
    let heartbeat = match write_provisional(&shared, &provisional).await {
        true => Some(tokio::spawn(heartbeats(shared.clone(), provisional.tenant_id, provisional.id))),
        false => None,
    };

    // Asked during the caller's pause: by default only what costs nothing (the embedded model);
    // a provider would charge for each answer the caller then talks past.
    let ask_model_ahead = engines.llm.as_ref().is_some_and(|m| shared.ask_model_ahead.unwrap_or(m.provider == crate::embedded_llm::PROVIDER));
    let config = Config { agent: agent.clone(), caller: caller.clone(), answered_unix_ms: answered_ms, record: policy.recording_days > 0, endpointer: shared.endpointer.clone(), voice_model: shared.speech.voice_model.clone(), prepare_replies: shared.prepare_replies && synthesizer.provider() == "embedded", ask_model_ahead, local_tools: Some(parley_connect::tools::run_built_in), encoder: shared.speech.meaning.clone(), judge_turns: shared.speech.turn_model.is_some() };
    // The agent's example phrases encoded before the caller's first turn needs them (kept by
    // the sentence model, so only an agent's first call does the work).
    if let Some(encoder) = shared.speech.meaning.clone() {
        let intents = parley_agent::intent::IntentSet::new(&agent.intents);
        tokio::task::spawn_blocking(move || parley_agent::intent::meaning::prepare(encoder.as_ref(), &intents));
    }
    let mut pipeline = CallPipeline::new(config, Instant::now().into_std());
    let mut voice = Voice::new(synthesizer.clone(), &tenant, Arc::new(crate::voice::fixed_sentences(&agent)));
    let mut effects = Effects::default();
    let mut completions = Completions::new(engines.llm.clone());
    // Tool calls by provider, for usage.
    let mut tool_calls: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
    // A warm transfer in progress.
    let mut consult: Option<Consult> = None;
    let mut end_reason = None;

    while end_reason.is_none() {
        while let Some(output) = pipeline.poll_output() {
            match output {
                Output::Audio { samples, ts, marker, due } => {
                    if media.send(&samples, ts, marker).await {
                        shared.metrics.rtp_sent(Instant::now().saturating_duration_since(Instant::from_std(due)));
                    }
                }
                Output::Bridge { from_caller, ts, marker, due } => {
                    let Some(c) = consult.as_mut() else { continue };
                    let frame = c.tick(&shared, Instant::from_std(due), from_caller).await;
                    if media.send(&frame, ts, marker).await {
                        shared.metrics.rtp_sent(Instant::now().saturating_duration_since(Instant::from_std(due)));
                    }
                }
                Output::ClearAudio => media.barge_in(),
                Output::Synthesize(prompt) => voice.start(&shared.prompts, prompt),
                Output::CancelSynthesis(id) => voice.cancel(id),
                Output::Recognize { turn, audio, speech_end, urgency, hint } => {
                    let asr = recognizer.clone();
                    effects.run(Key::Recognition(turn), async move {
                        let utterance = Utterance { pcm: &audio, speech_end, urgency, hint: hint.as_deref() };
                        Done::Recognized(turn, asr.transcribe(utterance).await)
                    });
                }
                // Cancelling drops the wait, so a queued utterance is never decoded.
                Output::CancelRecognition(turn) => {
                    effects.cancel(Key::Recognition(turn));
                    effects.cancel(Key::TurnJudgement(turn));
                }
                Output::JudgeTurn { turn, audio } => {
                    // An optimisation only: when the recognizer has the cores, the closed
                    // sentence's usual pause decides (judging beside the decodes of 20 calls
                    // made the p90 twice as long).
                    let Some(model) = shared.speech.turn_model.clone().filter(|_| !recognizer.busy()) else { continue };
                    effects.run(Key::TurnJudgement(turn), async move {
                        let judged = tokio::task::spawn_blocking(move || model.complete_probability(&audio)).await;
                        Done::TurnJudged(turn, judged.ok().and_then(|r| r.map_err(|e| tracing::warn!(error = %e, "end-of-turn model failed")).ok()))
                    });
                }
                Output::TurnTaken => {
                    shared.metrics.turns_total.fetch_add(1, Ordering::Relaxed);
                }
                Output::TurnTakenBack => {
                    shared.metrics.turns_taken_back.fetch_add(1, Ordering::Relaxed);
                }
                Output::Turn(t) => {
                    shared.metrics.turn(&t);
                    // Numbers only: this line is what bench/turn_latency.sh reads.
                    tracing::info!(call = call, eot_ms = t.eot_ms, asr_ms = t.asr_ms, asked_ms = t.asked_ms, heard_ms = t.heard_ms, agent_ms = t.agent_ms, tts_ms = t.tts_ms, total_ms = t.total_ms, answer_ms = t.answer_ms, "turn latency");
                }
                Output::Hangup => {
                    let _ = leg.send(LegCommand::Hangup).await;
                }
                Output::Transfer(target) => match transfer_target(call, &target) {
                    Some(uri) => {
                        tracing::info!(call = call, "transfer requested");
                        let _ = leg.send(LegCommand::Transfer(uri)).await;
                    }
                    None => pipeline.handle_event(Instant::now().into_std(), Event::TransferFailed),
                },
                Output::WarmTransfer { target, briefing } => {
                    tracing::info!(call = call, "warm transfer requested");
                    consult = Some(Consult::new(briefing, shared.speech.synthesizer(parley_agent::spec::VoiceChoice::default()).await));
                    tokio::spawn(consult_through_gate(shared.clone(), leg.clone(), call, tenant.clone(), target));
                }
                Output::RunTool(tool_call) => {
                    let provider = tool_call.operation.split('.').next().unwrap_or_default().to_string();
                    *tool_calls.entry(provider).or_default() += 1;
                    let tools = engines.tools.clone();
                    effects.run(Key::Tool(tool_call.id), async move { Done::Tool(tools.run(tool_call).await) });
                }
                Output::Complete(request) => completions.start(request),
                Output::CancelCompletion(id) => completions.cancel(id),
                Output::Charge(request, card) => {
                    let (shared, tenant) = (shared.clone(), tenant.clone());
                    let (call_id, business) = (call_record_id(started_ms, call), agent.business.clone());
                    effects.run(Key::Charge, async move { Done::Charged(payment::charge(shared, tenant, call_id, business, request, card).await) });
                }
            }
        }
        let next_tick = Instant::from_std(pipeline.poll_timeout());
        tokio::select! {
            m = media.recv() => match m {
                MediaIn::Audio(seq, pcm) => pipeline.handle_audio(Instant::now().into_std(), seq, pcm),
                MediaIn::Key(k) => key(&mut pipeline, consult.as_mut(), k),
                MediaIn::Closed => end_reason = Some(CallEnd::CallerHungUp),
            },
            m = consult_recv(&mut consult) => match (m, consult.as_mut()) {
                (MediaIn::Audio(seq, pcm), Some(c)) => c.push(Instant::now(), seq, pcm),
                // The person's keys go to the caller once they talk.
                (MediaIn::Key(k), Some(c)) if c.phase() == Phase::Bridged => {
                    // Which key stays unlogged: it may be part of a card or account number.
                    let sent = media.send_key(k);
                    tracing::info!(call = call, sent, "a key from the person passed on to the caller");
                }
                _ => {}
            },
            _ = tokio::time::sleep_until(next_tick) => {
                let now = Instant::now();
                pipeline.handle_timeout(now.into_std(), media.comfort_frame(now));
            }
            s = voice.recv(&shared.prompts) => match s {
                Synthesized::Audio(id, audio) => pipeline.handle_synthesized(id, audio),
                Synthesized::Done(id) => pipeline.handle_synthesis_done(id),
            },
            (id, part) = completions.next() => pipeline.handle_completion(Instant::now().into_std(), id, part),
            done = effects.next() => match done {
                Done::Charged(result) => pipeline.handle_payment_result(Instant::now().into_std(), result),
                Done::Tool(result) => pipeline.handle_tool_result(Instant::now().into_std(), result),
                Done::TurnJudged(turn, Some(p)) => {
                    let counter = if p >= parley_call::SOUNDS_FINISHED { &shared.metrics.turns_judged_finished } else { &shared.metrics.turns_judged_unfinished };
                    counter.fetch_add(1, Ordering::Relaxed);
                    pipeline.handle_turn_judged(Instant::now().into_std(), turn, p);
                }
                Done::TurnJudged(_, None) => {}
                Done::Recognized(turn, Ok(text)) => {
                    pipeline.handle_recognized(Instant::now().into_std(), turn, &text);
                }
                Done::Recognized(turn, Err(e)) => {
                    if !e.is_busy() {
                        tracing::warn!(call = call, error = %e, "recognition failed");
                    }
                    pipeline.handle_recognition_failed(Instant::now().into_std(), turn);
                }
            },
            ev = events.recv() => {
                let now = Instant::now().into_std();
                match ev {
                    Some(CallEvent::Established) => {}
                    Some(CallEvent::Key(k)) => key(&mut pipeline, consult.as_mut(), k),
                    Some(CallEvent::ReferStatus(code)) => {
                        tracing::info!(call = call, code, "transfer progress");
                        pipeline.handle_event(now, Event::TransferProgress(code));
                    }
                    Some(CallEvent::Reoffer(sdp, direction)) => media.reoffer(&sdp, direction),
                    Some(CallEvent::Ended(reason)) => end_reason = Some(reason),
                    Some(CallEvent::ConsultStarted) => {
                        if let Some(c) = consult.as_mut() {
                            c.placed = true;
                        }
                    }
                    Some(CallEvent::ConsultAnswered(leg_media)) => {
                        tracing::info!(call = call, "the person answered the transfer");
                        if let Some(c) = consult.as_mut() {
                            c.answered(*leg_media);
                            pipeline.handle_event(now, Event::ConsultAnswered);
                        }
                    }
                    Some(CallEvent::ConsultEnded) => {
                        if consult.as_ref().is_some_and(|c| c.phase() == Phase::Dialing) {
                            tracing::info!(call = call, "no one answered the transfer; taking a message");
                            consult = None;
                        }
                        pipeline.handle_event(now, Event::ConsultEnded);
                    }
                    None => end_reason = Some(CallEnd::AgentHungUp),
                }
            }
        }
    }
    if consult.as_ref().is_some_and(|c| c.placed) {
        let _ = leg.send(LegCommand::EndConsult).await;
    }
    // Nobody waits for the text of a call that has ended.
    effects.stop();
    completions.stop();
    let Finished { conversation: convo, transcript, recorder, recognized_ms, latencies, tools } = pipeline.finish(Instant::now().into_std());
    let ended_ms = unix_ms();
    let reason = end_reason.unwrap_or(CallEnd::AgentHungUp);
    let (packets_received, packets_lost, jitter_ms, rtt_ms) = media.quality();
    tracing::info!(
        call = call,
        reason = reason.name(),
        turns = convo.turns,
        outcome = convo.outcome.as_str(),
        packets_received,
        packets_lost,
        jitter_ms,
        rtt_ms = rtt_ms.unwrap_or(-1.0),
        "call ended"
    );
    if let Some(h) = heartbeat {
        h.abort();
    }
    let usage = Usage { asr_ms: recognized_ms, tts_chars: voice.characters(), llm: completions.provider(), tool_calls };
    let ended = Ended { started_ms, answered_ms, outbound: placed_ms.is_some(), ended_ms, reason, usage, engines: engines.providers(), recorder, latency: latency_of(&latencies), timeline: timeline_of(&latencies, &tools), llm: engines.llm.clone() };
    let who = Parties { tenant: &tenant, caller: &caller, callee: &callee, transport: &transport };
    finish(&shared, call, &agent, who, &policy, ended, &convo, transcript).await;
    // Only now is the call's work done (document delivered, record stored): shutdown waits for this.
    shared.metrics.calls_active.fetch_sub(1, Ordering::Relaxed);
    shared.call_finished.notify_waiters();
}

/// A key the caller pressed: to the person once a warm transfer is bridged, else to the
/// pipeline (the agent, or card capture in payment mode).
fn key(pipeline: &mut CallPipeline, consult: Option<&mut Consult>, k: char) {
    match consult.filter(|c| c.phase() == Phase::Bridged) {
        Some(c) => {
            c.forward_key(k);
        }
        None => pipeline.handle_key(Instant::now().into_std(), k),
    }
}

/// The agent's transfer target as a checked URI. A stored target that does not parse (one
/// written before targets were checked) is not sent anywhere: the agent takes a message.
fn transfer_target(call: u64, target: &str) -> Option<Uri> {
    match Uri::parse(target) {
        Ok(uri) => Some(uri),
        Err(e) => {
            tracing::warn!(call = call, error = %e, "the agent's transfer target is not a usable URI; taking a message");
            None
        }
    }
}

/// A warm transfer's call to the person goes through the outbound gate like every call Parley
/// places: the target must be an E.164 number the tenant's policy allows, dialled through the
/// tenant's gateway. When the gate says no, nothing leaves the host and the agent takes a
/// message (the SIP task answers `ConsultEnded`).
async fn consult_through_gate(shared: Arc<Shared>, leg: mpsc::Sender<LegCommand>, call: u64, tenant: String, target: String) {
    let number = transfer_target(call, &target).and_then(|u| u.e164());
    let prepared = match number {
        Some(to) => crate::outbound::prepare(&shared.store, &shared.master, shared.sip_ip, &tenant, &to, None).await,
        None => Err(crate::outbound::GateError::NotANumber),
    };
    let prepared = match prepared {
        Ok(p) => Some(Box::new(p)),
        Err(e) => {
            tracing::info!(call = call, reason = e.detail(), "the outbound gate refused the warm transfer's call; taking a message");
            if let Err(e) = shared.store.op_event(&tenant, "outbound.refused", 403, e.detail(), crate::api::now_ms()).await {
                tracing::warn!(error = %e, "recording an operational event failed");
            }
            None
        }
    };
    let _ = leg.send(LegCommand::Consult(prepared)).await;
}

/// The next thing from a warm transfer's person (pending while there is none).
async fn consult_recv(consult: &mut Option<Consult>) -> MediaIn {
    match consult.as_mut() {
        Some(c) => c.recv().await,
        None => std::future::pending().await,
    }
}
