//! A real softphone (baresip, Debian) calls `parley serve` on loopback, speaks recorded caller
//! phrases (espeak-ng, 8 kHz via sox), records what it hears; the test checks the call was
//! answered, agent audio came back, the signed post-call document holds the caller's words and
//! the right order, the call record was stored, and no audio or transcript is left behind.
//!
//! Needs `scripts/setup.sh --test-peers` (baresip, sox, espeak-ng, the speech engines).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::{body::Bytes, http::HeaderMap, routing::post, Router};

mod common;
use common::{free_port, Server};

fn run(cmd: &mut Command) {
    let st = cmd.status().unwrap_or_else(|e| panic!("{cmd:?}: {e} (run scripts/setup.sh --test-peers)"));
    assert!(st.success(), "{cmd:?} failed");
}

fn phrase(dir: &Path, name: &str, text: &str) -> String {
    let raw = dir.join(format!("{name}-raw.wav"));
    let out = dir.join(format!("{name}.wav"));
    run(Command::new("espeak-ng").args(["-v", "en-us", "-s", "140", "-w"]).arg(&raw).arg(text));
    run(Command::new("sox").arg(&raw).args(["-r", "8000", "-c", "1", "-b", "16"]).arg(&out));
    out.to_string_lossy().into_owned()
}

fn silence(dir: &Path, secs: u32) -> String {
    let out = dir.join(format!("sil{secs}.wav"));
    run(Command::new("sox").args(["-n", "-r", "8000", "-c", "1", "-b", "16"]).arg(&out).args(["trim", "0", &secs.to_string()]));
    out.to_string_lossy().into_owned()
}

fn wav_rms(path: &Path) -> f64 {
    let data = std::fs::read(path).unwrap();
    let pcm: Vec<i16> = data[44..].chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]])).collect();
    (pcm.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / pcm.len().max(1) as f64).sqrt()
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_softphone_asks_for_an_order_and_the_business_gets_the_transcript() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();

    // The webhook receiver: a real HTTP server that keeps what it gets.
    let got: Arc<Mutex<Option<(HeaderMap, Bytes)>>> = Arc::default();
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    let done_tx = Arc::new(Mutex::new(Some(done_tx)));
    let (g, d) = (got.clone(), done_tx.clone());
    let app = Router::new().route(
        "/hook",
        post(move |h: HeaderMap, b: Bytes| async move {
            *g.lock().unwrap() = Some((h, b));
            if let Some(tx) = d.lock().unwrap().take() {
                let _ = tx.send(());
            }
            "ok"
        }),
    );
    let hook = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/hook", hook.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(hook, app).await.unwrap() });

    // parley serve on free loopback ports.
    let mut server = Server::start(dir, &["--demo-webhook", &hook_url]);
    let (sip_port, http_port, data_dir, secret) = (server.sip_port, server.http_port, server.data_dir.clone(), server.secret.clone());
    let health = reqwest::get(format!("http://127.0.0.1:{http_port}/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);

    // The caller asks for order 1004, then says goodbye.
    let parts = [
        silence(dir, 3),
        phrase(dir, "order", "My order number is one zero zero four."),
        silence(dir, 14),
        phrase(dir, "bye", "No, that's all. Goodbye."),
        silence(dir, 10),
    ];
    let caller = dir.join("caller.wav");
    run(Command::new("sox").args(&parts).arg(&caller));
    let bs = dir.join("baresip");
    let rec = dir.join("rec");
    std::fs::create_dir_all(&bs).unwrap();
    std::fs::create_dir_all(&rec).unwrap();
    let bs_port = free_port();
    std::fs::write(
        bs.join("config"),
        format!(
            "sip_listen 127.0.0.1:{bs_port}\nnet_interface 127.0.0.1\naudio_source aufile,{}\naudio_player aufile,/dev/null\n\
             audio_alert aufile,/dev/null\nmodule_path /usr/lib/baresip/modules\nmodule stdio.so\nmodule g711.so\n\
             module aufile.so\nmodule sndfile.so\nmodule account.so\nmodule menu.so\nsnd_path {}\n",
            caller.display(),
            rec.display()
        ),
    )
    .unwrap();
    std::fs::write(bs.join("accounts"), format!("<sip:+15550100004@127.0.0.1:{bs_port}>;auth_pass=none\n")).unwrap();
    let bs_out = std::fs::File::create(dir.join("baresip.log")).unwrap();
    let status = tokio::task::spawn_blocking({
        let bs = bs.clone();
        move || {
            Command::new("baresip")
                .arg("-f")
                .arg(&bs)
                .args(["-e", &format!("/dial sip:demo@127.0.0.1:{sip_port}"), "-t", "45"])
                .stdout(bs_out)
                .stderr(Stdio::null())
                .status()
        }
    })
    .await
    .unwrap()
    .expect("baresip runs");
    assert!(status.success());
    let bs_log = std::fs::read_to_string(dir.join("baresip.log")).unwrap();
    assert!(bs_log.contains("Call established"), "answered");

    // Agent audio came back: baresip's recording of what it heard is not silence.
    let heard = files_under(&rec).into_iter().find(|p| p.to_string_lossy().ends_with("-dec.wav")).expect("baresip recorded the call");
    assert!(wav_rms(&heard) > 300.0, "agent speech received, rms {}", wav_rms(&heard));

    // The post-call document.
    tokio::time::timeout(Duration::from_secs(30), done_rx).await.expect("webhook arrives").unwrap();
    let (headers, body) = got.lock().unwrap().take().unwrap();
    let sig = headers.get("parley-signature").unwrap().to_str().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    assert!(parley_connect::webhook::verify(&hex::decode(&secret).unwrap(), sig, &body, now, 300), "signature verifies");
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let turns = doc["transcript"].as_array().unwrap();
    let said = |who: &str| {
        turns.iter().filter(|t| t["speaker"] == who).map(|t| t["text"].as_str().unwrap().to_lowercase()).collect::<Vec<_>>().join(" | ")
    };
    let caller_text = said("caller");
    let agent_text = said("agent");
    assert!(caller_text.contains("order"), "caller's words in transcript: {caller_text}");
    assert!(agent_text.contains("for dana smith, is shipped"), "agent answered about order 1004: {agent_text}");
    assert!(agent_text.contains("goodbye"), "{agent_text}");
    assert!(turns.iter().all(|t| t["end_ms"].as_u64() >= t["start_ms"].as_u64()));
    assert_eq!(doc["outcome"], "resolved");
    assert_eq!(doc["agent"], "demo");
    assert_eq!(doc["caller"], "+15550100004");
    assert!(doc["summary"].as_str().unwrap().contains("order 1004"));
    assert_eq!(doc["tool_calls"][0]["name"], "order_lookup");

    // Stop the server, then look at what it left.
    server.stop();
    let store = parley_store::Store::open(&data_dir).await.unwrap();
    let calls = store.calls("demo", 10).await.unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].outcome, "resolved");
    assert_eq!(calls[0].caller_masked, "+155******04");
    assert!(calls[0].turns >= 2);
    assert_eq!(calls[0].webhook_status, "delivered");

    // Privacy: no audio file, no transcript text and no full caller number in the data dir or log.
    let mut scanned = vec![("parley.log".to_string(), std::fs::read(&server.log).unwrap())];
    for f in files_under(&data_dir) {
        assert!(!f.to_string_lossy().ends_with(".wav"), "no audio in data dir");
        scanned.push((f.display().to_string(), std::fs::read(&f).unwrap()));
    }
    for (name, bytes) in scanned {
        let text = String::from_utf8_lossy(&bytes).to_lowercase();
        for needle in ["dana smith", "desk lamp", "order number is", "goodbye", "15550100004", "riff"] {
            assert!(!text.contains(needle), "{name} holds {needle:?}");
        }
    }
}
