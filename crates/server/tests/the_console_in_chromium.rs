//! The console in a real browser: Debian's chromium driven by playwright-core
//! (`tests/browser/console.cjs`) signs in as an owner, reads the overview and calls, sees a
//! broken agent flow refused with its line and node, runs the test chat, rolls an agent back to
//! an earlier version after reading what that changes, changes the data policy, downloads a
//! data-subject access export and checks the audit log; a viewer sees no edit controls and is
//! refused the edit when it sends it anyway; an operator signs in on their own form, creates a
//! tenant and sets its limits. axe-core finds no serious or critical
//! accessibility violation on any page. Screenshots of each page are kept under the target
//! directory (`console-screenshots`). Needs `scripts/setup.sh --test-peers` (chromium and the
//! npm packages).
//!
//! A browser call (`tests/browser/call.cjs`): chromium's fake microphone asks the demo agent a
//! question over WebRTC; the page records what it plays, which Whisper must hear as the answer,
//! and finds the call on the Calls page with its turns in the timeline.

use crate::common;

use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_and_a_viewer_use_the_console_in_chromium() {
    let tmp = tempfile::tempdir().unwrap();
    let (_server, api, op) = common::operated(tmp.path(), &[]);
    api.tenant(&op, "t").await;
    for (email, role) in [("viewer@example.com", "viewer"), ("owner@example.com", "owner")] {
        api.user(&op, "t", email, role, "a long passphrase here").await;
    }
    let agent = json!({"business": "B", "greeting": "Hello there.", "hours": "always"});
    assert_eq!(api.call(Method::PUT, "/v1/tenants/t/agents/front", Some(&op), Some(agent)).await.0, StatusCode::OK);
    common::create_operator(&_server.data_dir, "ops@example.com", "an operator passphrase");
    // Two weeks of calls (as the call path records them), so the charts have something to draw.
    let store = parley_store::Store::open(&parley_store::Target::SqliteDir(_server.data_dir.clone())).await.unwrap();
    let scope = store.tenant("t").unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let today = now - now.rem_euclid(86_400_000);
    for i in 0..60i64 {
        let ended = if i < 12 { today + (now - today) * (i + 1) / 13 } else { today - (i / 4) * 86_400_000 + (i % 4) * 3_600_000 };
        let v2v = 480 + (i * 37) % 420;
        let mut call = common::sample_call("t", &format!("t-call-{i}"), ended);
        call.latency = Some(parley_store::calls::CallLatency { replies: 3, end_of_turn_ms: v2v - 160, recognition_ms: 40, agent_ms: 20, synthesis_ms: 100, voice_to_voice_ms: v2v, voice_to_voice_p90_ms: v2v + 300 });
        scope.record_call(&call).await.unwrap();
        scope.meter(ended, &[("call_seconds", "sip", 9)]).await.unwrap();
    }
    store.close().await;
    // The longest names the API takes, in one unbroken word: no page may scroll sideways.
    let long = "W".repeat(100);
    let agent = json!({"business": "B".repeat(200), "greeting": "Hello.", "hours": "always"});
    assert_eq!(api.call(Method::PUT, "/v1/tenants/t/agents/long", Some(&op), Some(agent)).await.0, StatusCode::OK);
    let integration = json!({"kind": "shopify", "name": long, "config": {"shop": "t.example"}, "secret": "shpat_x"});
    let (s, v) = api.call(Method::POST, "/v1/tenants/t/integrations", Some(&op), Some(integration)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = api.call(Method::POST, "/v1/tenants", Some(&op), Some(json!({"id": "long", "name": "N".repeat(200)}))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    let modules = common::test_peers_dir().join("browser/node_modules");
    assert!(modules.join("playwright-core").is_dir(), "playwright-core not installed: run scripts/setup.sh --test-peers");
    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/console.cjs");
    let out = tokio::process::Command::new("node")
        .arg(script)
        .env("NODE_PATH", &modules)
        .env("BASE", &api.base)
        .env("SHOTS", &shots)
        .output()
        .await
        .expect("node runs (scripts/setup.sh --test-peers)");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{report}\n{}", String::from_utf8_lossy(&out.stderr));
    println!("{report}");
    for page in ["sign-in", "overview", "calls", "agents", "agent-editor", "test-chat", "agent-version", "privacy", "audit-log", "usage", "settings", "privacy-viewer", "operator-tenants", "operator-tenant"] {
        assert!(shots.join(format!("{page}.png")).is_file(), "a screenshot of {page}");
    }
}

/// A caller's question as a WAV for chromium's fake microphone: silence, the question, silence.
fn question_wav(dir: &std::path::Path) -> std::path::PathBuf {
    let (speech, wav) = (dir.join("q.wav"), dir.join("caller.wav"));
    common::run(std::process::Command::new("espeak-ng").args(["-v", "en-us", "-s", "150", "-w"]).arg(&speech).arg("What are your opening hours?"));
    common::run(std::process::Command::new("sox").arg(&speech).args(["-r", "48000", "-c", "1", "-b", "16"]).arg(&wav).args(["pad", "4", "6"]));
    wav
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_calls_the_demo_agent_and_the_call_is_recorded_like_any_other() {
    let tmp = tempfile::tempdir().unwrap();
    let (_server, api, op) = common::operated(tmp.path(), &[]);
    api.tenant(&op, "t").await;
    api.user(&op, "t", "owner@example.com", "owner", "a long passphrase here").await;
    let mut demo = serde_json::to_value(parley_agent::spec::AgentSpec::demo()).unwrap();
    demo.as_object_mut().unwrap().remove("name");
    let (s, v) = api.call(Method::PUT, "/v1/tenants/t/agents/demo", Some(&op), Some(demo)).await;
    assert_eq!(s, StatusCode::OK, "{v}");

    let modules = common::test_peers_dir().join("browser/node_modules");
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/call.cjs");
    let (heard, shots) = (tmp.path().join("heard.wav"), std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots"));
    std::fs::create_dir_all(&shots).unwrap();
    let out = tokio::process::Command::new("node")
        .arg(script)
        .env("NODE_PATH", &modules)
        .env("BASE", &api.base)
        .env("WAV", question_wav(tmp.path()))
        .env("HEARD", &heard)
        .env("SHOTS", &shots)
        .output()
        .await
        .expect("node runs");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{report}\n{}\n{}", String::from_utf8_lossy(&out.stderr), _server.log_text());

    // The call's record, like a SIP call's: the agent heard a turn and answered it.
    let mut calls = serde_json::Value::Null;
    for _ in 0..50 {
        let (_, v) = api.call(Method::GET, "/v1/tenants/t/calls", Some(&op), None).await;
        if v["calls"].as_array().is_some_and(|c| c.iter().any(|c| c["transport"] == "webrtc" && c["ended_ms"].as_i64() > Some(0))) {
            calls = v;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let call = calls["calls"].as_array().and_then(|c| c.iter().find(|c| c["transport"] == "webrtc")).cloned().unwrap_or_else(|| panic!("no browser call recorded: {calls}\n{}", _server.log_text()));
    println!("{report}\n{call}");
    assert_eq!(call["agent"], "demo");
    assert!(call["turns"].as_i64() >= Some(1), "the agent heard the caller: {call}");
    assert!(call["latency"]["replies"].as_i64() >= Some(1), "and answered: {call}");

    // What the page heard: the agent's answer to the question, in words.
    let pcm = common::wav_pcm(&heard);
    let speech_dir = std::path::PathBuf::from(std::env::var("HOME").unwrap()).join(".local/share/parley/speech");
    let model_path = parley_speech::whisper_cpp::WhisperModel::Base.path_under(&speech_dir);
    let asr = parley_speech::whisper_cpp::WhisperCppRecognizer::load(&parley_speech::whisper_cpp::WhisperCppConfig { model_path, decoders: 1, threads: 1 }).unwrap();
    use parley_speech::Recognizer;
    let text = asr.transcribe(parley_speech::Utterance::ended(&pcm)).await.unwrap();
    println!("heard on the page: {text:?}");
    assert!(text.contains("Monday") && text.contains("Friday"), "the opening hours were answered: {text:?}");
}
