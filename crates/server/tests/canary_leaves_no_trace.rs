//! The canary suite: a real softphone calls with a unique spoken phrase and a tone pattern,
//! and the API is used with the same phrase in places it must not stick (a failed sign-in, a
//! malformed body, a filter); then the database files (the WAL and shared-memory files
//! included), the data directory, the server's debug-level log and its temp directory are
//! scanned. The default policy keeps no transcript and no audio, so none of them may hold the
//! phrase, the caller's full number, or any run of the tone's audio, as G.711 bytes or as PCM.
//! The document did reach the business with the phrase in it (so the phrase was really there
//! to leak), and a positive control shows the scanner finds the tone where it is.
//!
//! Run again under a policy that keeps the transcript and the recording: the tenant gets both
//! back through the API (the phrase in the transcript, the tone in the recording), and the same
//! scan still finds nothing, because they are kept only sealed.
//!
//! Needs `scripts/setup.sh --test-peers` (baresip, sox, espeak-ng, the speech engines).

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{baresip_call, baresip_dir, caller_wav, files_under, free_port, run, Part, Server, WebhookReceiver};
use parley_media::g711::G711;
use serde_json::json;

const PHRASE: &str = "canary";
const CALLER: &str = "+15550177331";

/// 32-sample windows of the tone as the server would hold it: PCMU bytes, and PCM16 after decoding.
fn tone_needles(tone_wav: &Path) -> Vec<Vec<u8>> {
    let data = std::fs::read(tone_wav).unwrap();
    let pcm: Vec<i16> = data[44..].chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]])).collect();
    let mut ulaw = Vec::new();
    G711::Ulaw.encode(&pcm, &mut ulaw);
    let mut decoded = Vec::new();
    G711::Ulaw.decode(&ulaw, &mut decoded);
    let pcm_bytes: Vec<u8> = decoded.iter().flat_map(|s| s.to_le_bytes()).collect();
    let mut needles = Vec::new();
    for start in (800..ulaw.len().saturating_sub(800)).step_by(997).take(8) {
        needles.push(ulaw[start..start + 32].to_vec());
        needles.push(pcm_bytes[2 * start..2 * start + 64].to_vec());
    }
    needles
}

/// Every (file, what) where a needle occurs.
fn scan(files: &[PathBuf], needles: &[(String, Vec<u8>)]) -> Vec<String> {
    let mut hits = Vec::new();
    for f in files {
        let Ok(bytes) = std::fs::read(f) else { continue };
        let lower = bytes.to_ascii_lowercase();
        for (what, n) in needles {
            let hay = if what.starts_with("text") { &lower } else { &bytes };
            if hay.windows(n.len()).any(|w| w == n.as_slice()) {
                hits.push(format!("{}: {what}", f.display()));
            }
        }
    }
    hits
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_and_api_use_leave_no_trace_under_the_default_policy() {
    canary(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_that_keeps_transcripts_and_recordings_keeps_them_only_sealed() {
    let keep = json!({"recording_days": 7, "transcript_days": 7, "call_metadata_days": 365, "operational_log_days": 30, "redact_pii": false, "allowed_providers": ["embedded"]});
    canary(Some(keep)).await;
}

/// One canary run; with `policy`, the demo tenant keeps what it allows, and gets it back.
async fn canary(policy: Option<serde_json::Value>) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let hook = WebhookReceiver::start().await;
    let mut server = Server::start(dir, &["--demo-webhook", &hook.url]);
    let base = format!("http://127.0.0.1:{}", server.http_port);
    let http = reqwest::Client::new();
    let op = common::create_key(&server.data_dir, &["--role", "platform-admin"]);
    if let Some(p) = &policy {
        let set = http.put(format!("{base}/v1/tenants/demo/data-policy")).bearer_auth(&op).json(p).send().await.unwrap();
        assert_eq!(set.status(), 200);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }

    // The caller says the phrase and plays a two-tone chord (1234 + 2345 Hz).
    let inputs = dir.join("inputs");
    std::fs::create_dir_all(&inputs).unwrap();
    let tone = inputs.join("tone.wav");
    run(Command::new("sox").args(["-n", "-r", "8000", "-c", "1", "-b", "16"]).arg(&tone).args(["synth", "1.2", "sine", "1234", "synth", "1.2", "sine", "mix", "2345", "vol", "0.5"]));
    let speech = caller_wav(&inputs, &[Part::Silence(2), Part::Say("The code word is canary. Canary."), Part::Silence(1)]);
    let wav = inputs.join("with-tone.wav");
    let tail = inputs.join("tail.wav");
    run(Command::new("sox").args(["-n", "-r", "8000", "-c", "1", "-b", "16"]).arg(&tail).args(["trim", "0", "8"]));
    run(Command::new("sox").arg(&speech).arg(&tone).arg(&tail).arg(&wav));
    let bs = baresip_dir(&inputs, "baresip", free_port(), &wav, CALLER, None);
    let log = baresip_call(bs, format!("sip:demo@127.0.0.1:{}", server.sip_port), 16, inputs.join("baresip.log")).await;
    assert!(log.contains("Call established"), "answered");

    // The phrase was really there: the business got it in the delivered document.
    let (_, body) = hook.document().await;
    let doc = String::from_utf8_lossy(&body).to_lowercase();
    assert!(doc.contains(PHRASE), "the recogniser heard the phrase: {doc}");

    // API use carrying the phrase where it must not stick.
    let sign_in = json!({"tenant": "demo", "email": "canary@example.com", "password": "canary canary canary"});
    assert_eq!(http.post(format!("{base}/v1/sessions")).json(&sign_in).send().await.unwrap().status(), 401);
    let bad = http.post(format!("{base}/v1/tenants")).bearer_auth(&op).header("content-type", "application/json").body("{\"canary\": ").send().await.unwrap();
    assert_eq!(bad.status(), 400);
    let list = http.get(format!("{base}/v1/tenants/demo/calls?agent=canary")).bearer_auth(&op).send().await.unwrap();
    assert_eq!(list.status(), 200);
    let dsr = http.post(format!("{base}/v1/tenants/demo/data-subject-requests")).bearer_auth(&op).json(&json!({"kind": "access", "phone": CALLER})).send().await.unwrap();
    assert_eq!(dsr.status(), 200);

    let mut needles: Vec<(String, Vec<u8>)> = vec![("text: phrase".into(), PHRASE.as_bytes().to_vec()), ("text: caller number".into(), CALLER.as_bytes()[1..].to_vec())];
    needles.extend(tone_needles(&tone).into_iter().enumerate().map(|(i, n)| (format!("audio: tone window {i}"), n)));

    // Positive control: the scanner finds the tone where it is.
    let control = inputs.join("control.ulaw");
    let data = std::fs::read(&tone).unwrap();
    let pcm: Vec<i16> = data[44..].chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]])).collect();
    let mut ulaw = Vec::new();
    G711::Ulaw.encode(&pcm, &mut ulaw);
    std::fs::write(&control, &ulaw).unwrap();
    assert!(!scan(&[control], &needles).is_empty(), "the scanner finds the tone in a file that holds it");

    // What the policy keeps, the tenant gets back: the phrase in the transcript, the tone in
    // the recording (so both were really in the store, sealed).
    if policy.is_some() {
        let calls: serde_json::Value = http.get(format!("{base}/v1/tenants/demo/calls")).bearer_auth(&op).send().await.unwrap().json().await.unwrap();
        let id = calls["calls"][0]["id"].as_str().unwrap().to_string();
        let kept = http.get(format!("{base}/v1/tenants/demo/calls/{id}/transcript")).bearer_auth(&op).send().await.unwrap().text().await.unwrap();
        assert!(kept.to_lowercase().contains(PHRASE), "{kept}");
        let recording = http.get(format!("{base}/v1/tenants/demo/calls/{id}/recording")).bearer_auth(&op).send().await.unwrap().bytes().await.unwrap();
        let caller: Vec<u8> = recording[44..].chunks_exact(4).flat_map(|f| [f[0], f[1]]).collect();
        let kept_file = inputs.join("kept-caller.pcm");
        std::fs::write(&kept_file, &caller).unwrap();
        assert!(!scan(&[kept_file], &needles).is_empty(), "the tone is in the recording the tenant got back");
    }

    // Scanned while the server runs (its WAL and shared-memory files are there), then again
    // after it stopped (a clean stop checkpoints the WAL into the database file).
    let log_text = std::fs::read_to_string(&server.log).unwrap();
    assert!(log_text.contains("call ended"), "the log is the server's");
    let everything = |server: &Server| {
        let mut files = files_under(&server.data_dir);
        files.extend(files_under(&dir.join("tmp")));
        files.push(server.log.clone());
        files
    };
    let running = everything(&server);
    assert!(running.iter().any(|f| f.to_string_lossy().ends_with("parley.db-wal")), "the WAL is scanned: {running:?}");
    let hits = scan(&running, &needles);
    assert!(hits.is_empty(), "found while running, where the policy allows nothing: {hits:#?}");
    server.stop();
    let hits = scan(&everything(&server), &needles);
    assert!(hits.is_empty(), "found after the stop, where the policy allows nothing: {hits:#?}");
}
