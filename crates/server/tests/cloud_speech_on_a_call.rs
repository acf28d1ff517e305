//! A tenant whose agent listens with Deepgram and speaks with ElevenLabs takes a real SIP call
//! (baresip) against in-repo fakes of both providers (`parley-fakes`, documented wire formats):
//! the caller's audio reaches the recognizer, the agent answers what it heard, and the caller
//! hears the provider's voice. When both providers fail mid-call the embedded engines take over
//! (the caller is still understood and answered); and an agent naming a provider the tenant's
//! data policy does not allow never reaches it. Usage is metered under the provider that served.
//!
//! Needs `scripts/setup.sh --test-peers` (baresip, sox, espeak-ng, the speech engines).

use crate::common;

use std::path::Path;

use common::{baresip_call, baresip_dir, caller_wav, files_under, free_port, Api, Part, WebhookReceiver};
use parley_fakes::deepgram::FakeDeepgram;
use parley_fakes::elevenlabs::{FakeElevenLabs, VOICE_HZ};
use parley_fakes::{tone_share, Behaviour, KEY};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const NUMBER: &str = "+15550177001";

/// Sets up tenant `t-cloud`: an agent on Deepgram and ElevenLabs, its integrations, a webhook,
/// and a policy allowing `providers`.
async fn tenant(api: &Api, op: &str, deepgram: &str, elevenlabs: &str, hook: &str, providers: &[&str]) {
    assert_eq!(api.call(Method::POST, "/v1/tenants", Some(op), Some(json!({"id": "t-cloud", "name": "Cloud"}))).await.0, StatusCode::CREATED);
    let agent = json!({"business": "Acme", "greeting": "Hello, this is Acme.", "hours": "nine to five, Monday to Friday", "recognizer": "deepgram", "voice": "elevenlabs"});
    let (s, v) = api.call(Method::PUT, "/v1/tenants/t-cloud/agents/front", Some(op), Some(agent)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(api.call(Method::POST, "/v1/tenants/t-cloud/numbers", Some(op), Some(json!({"number": NUMBER, "agent": "front"}))).await.0, StatusCode::CREATED);
    for integration in [
        json!({"kind": "deepgram", "name": "asr", "config": {"api_base": deepgram}, "secret": KEY}),
        json!({"kind": "elevenlabs", "name": "voice", "config": {"api_base": elevenlabs, "voice_id": "acme-voice"}, "secret": KEY}),
        json!({"kind": "webhook", "name": "documents", "config": {"url": hook}, "secret": "hook-secret"}),
    ] {
        let (s, v) = api.call(Method::POST, "/v1/tenants/t-cloud/integrations", Some(op), Some(integration)).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let policy = json!({"recording_days": 0, "transcript_days": 0, "call_metadata_days": 365, "operational_log_days": 30, "redact_pii": false, "allowed_providers": providers});
    assert_eq!(api.call(Method::PUT, "/v1/tenants/t-cloud/data-policy", Some(op), Some(policy)).await.0, StatusCode::OK);
}

/// One baresip call asking for the opening hours; returns what the caller heard and the
/// post-call document.
async fn call(dir: &Path, name: &str, sip_port: u16, hook: WebhookReceiver) -> (Vec<i16>, Value) {
    let dir = dir.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let wav = caller_wav(&dir, &[Part::Silence(4), Part::Say("What are your opening hours?"), Part::Silence(9)]);
    let rec = dir.join("rec");
    std::fs::create_dir_all(&rec).unwrap();
    let bs = baresip_dir(&dir, "baresip", free_port(), &wav, "+15550100009", Some(&rec));
    let log = baresip_call(bs, format!("sip:{NUMBER}@127.0.0.1:{sip_port}"), 16, dir.join("baresip.log")).await;
    assert!(log.contains("Call established"), "answered:\n{log}");
    let heard = files_under(&rec).into_iter().find(|p| p.to_string_lossy().ends_with("-dec.wav")).expect("baresip recorded the call");
    let (_, body) = hook.document().await;
    (common::wav_pcm(&heard), serde_json::from_slice(&body).unwrap())
}

fn said(doc: &Value, who: &str) -> String {
    doc["transcript"].as_array().unwrap().iter().filter(|t| t["speaker"] == who).filter_map(|t| t["text"].as_str()).collect::<Vec<_>>().join(" | ")
}

/// How much of the agent's answer the caller heard (the loud part after the question, which
/// ends 6.5 s into the call) is the fake voice's tone. (The greeting before it may come from the
/// greeting cache, in the voice it was first synthesized with.)
fn voice_share(heard: &[i16]) -> f32 {
    let answer = &heard[(6500 * 8).min(heard.len())..];
    let loud: Vec<i16> = answer.chunks(160).filter(|f| f.iter().map(|s| i64::from(*s).abs()).sum::<i64>() / 160 > 300).flatten().copied().collect();
    assert!(loud.len() > 8000, "the caller heard the agent ({} loud samples)", loud.len());
    tone_share(&loud, VOICE_HZ, 8000)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_on_cloud_engines_answers_and_falls_back_when_they_fail() {
    let deepgram = FakeDeepgram::start("What are your opening hours?").await;
    let elevenlabs = FakeElevenLabs::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let (server, api, op) = common::operated(tmp.path(), &[]);
    let hook = WebhookReceiver::start().await;
    tenant(&api, &op, &deepgram.url, &elevenlabs.url, &hook.url, &["embedded", "deepgram", "elevenlabs"]).await;

    // Both providers work: Deepgram hears the caller, ElevenLabs speaks every line.
    let (heard, doc) = call(tmp.path(), "working", server.sip_port, hook).await;
    assert!(said(&doc, "agent").contains("nine to five"), "the agent answered what Deepgram heard: {}", said(&doc, "agent"));
    assert!(said(&doc, "caller").contains("What are your opening hours?"), "{}", said(&doc, "caller"));
    let streams = deepgram.listened();
    assert!(!streams.is_empty() && streams.iter().all(|s| s.query.get("encoding").map(String::as_str) == Some("linear16")));
    assert!(streams.iter().any(|s| s.rms > 300.0 && s.samples > 8000), "the caller's words reached Deepgram: {streams:?}");
    let spoken: Vec<String> = elevenlabs.spoken().into_iter().map(|s| s.text).collect();
    assert!(spoken.iter().any(|t| t.contains("Hello, this is Acme.")), "{spoken:?}");
    assert!(spoken.iter().any(|t| t.contains("nine to five")), "{spoken:?}");
    assert!(elevenlabs.spoken().iter().all(|s| s.voice_id == "acme-voice"));
    let share = voice_share(&heard);
    assert!(share > 0.5, "the caller heard ElevenLabs' voice (tone share {share})");

    // Both providers fail: the embedded engines take over within the call.
    deepgram.behave(Behaviour::Fail(1011));
    elevenlabs.behave(Behaviour::Fail(1011));
    let asked_before = deepgram.listened().len();
    let hook = WebhookReceiver::start().await;
    let hook_json = json!({"kind": "webhook", "name": "documents-2", "config": {"url": hook.url}, "secret": "hook-secret"});
    let (_, list) = api.call(Method::GET, "/v1/tenants/t-cloud/integrations", Some(&op), None).await;
    let old = list["integrations"].as_array().unwrap().iter().find(|i| i["kind"] == "webhook").unwrap()["id"].as_str().unwrap().to_string();
    assert_eq!(api.call(Method::DELETE, &format!("/v1/tenants/t-cloud/integrations/{old}"), Some(&op), None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(api.call(Method::POST, "/v1/tenants/t-cloud/integrations", Some(&op), Some(hook_json)).await.0, StatusCode::CREATED);
    let (heard, doc) = call(tmp.path(), "failing", server.sip_port, hook).await;
    assert!(deepgram.listened().len() > asked_before, "Deepgram was tried");
    let caller = said(&doc, "caller").to_lowercase();
    assert!(caller.contains("hours"), "Whisper heard the caller when Deepgram failed: {caller}");
    assert!(said(&doc, "agent").contains("nine to five"), "{}", said(&doc, "agent"));
    let share = voice_share(&heard);
    assert!(share < 0.2, "the embedded voice spoke when ElevenLabs failed (tone share {share})");

    // Usage names the providers that received the data.
    let (s, usage) = api.call(Method::GET, "/v1/tenants/t-cloud/usage", Some(&op), None).await;
    assert_eq!(s, StatusCode::OK, "{usage}");
    let text = usage.to_string();
    assert!(text.contains("deepgram") && text.contains("elevenlabs"), "{text}");
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_the_policy_does_not_allow_is_never_reached() {
    let deepgram = FakeDeepgram::start("What are your opening hours?").await;
    let elevenlabs = FakeElevenLabs::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let (server, api, op) = common::operated(tmp.path(), &[]);
    let hook = WebhookReceiver::start().await;
    tenant(&api, &op, &deepgram.url, &elevenlabs.url, &hook.url, &["embedded"]).await;
    let (_, doc) = call(tmp.path(), "embedded-only", server.sip_port, hook).await;
    assert!(said(&doc, "caller").to_lowercase().contains("hours"), "the embedded recognizer heard the caller");
    assert!(said(&doc, "agent").contains("nine to five"));
    assert!(deepgram.listened().is_empty(), "no audio went to Deepgram");
    assert!(elevenlabs.spoken().is_empty(), "no text went to ElevenLabs");
    drop(server);
}
