//! Opus (RFC 7587): a softphone (baresip) that offers only Opus calls the demo agent. Parley
//! answers opus/48000/2, the phone decodes the agent's greeting, and Parley decodes the
//! caller's question well enough for the recognizer: the document's transcript has it.

mod common;

use common::{caller_wav, files_under, free_port, Part, Server, WebhookReceiver};
use std::process::{Command, Stdio};

fn wav_rms(path: &std::path::Path) -> f64 {
    let data = std::fs::read(path).unwrap();
    let pcm: Vec<i16> = data[44..].chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]])).collect();
    (pcm.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / pcm.len().max(1) as f64).sqrt()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_that_speaks_only_opus() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let hook = WebhookReceiver::start().await;
    let server = Server::start(dir, &["--demo-webhook", &hook.url]);
    let wav8k = caller_wav(dir, &[Part::Silence(9), Part::Say("What are your opening hours?"), Part::Silence(10)]);
    // baresip plays a file in the codec's format: 48 kHz stereo for Opus.
    let wav = dir.join("caller48k.wav");
    common::run(Command::new("sox").arg(&wav8k).args(["-r", "48000", "-c", "2"]).arg(&wav));
    let rec = dir.join("rec");
    std::fs::create_dir_all(&rec).unwrap();
    let phone = dir.join("phone");
    std::fs::create_dir_all(&phone).unwrap();
    let port = free_port();
    std::fs::write(
        phone.join("config"),
        format!(
            "sip_listen 127.0.0.1:{port}\nnet_interface 127.0.0.1\naudio_source aufile,{}\naudio_player aufile,/dev/null\naudio_alert aufile,/dev/null\n\
             module_path /usr/lib/baresip/modules\nmodule stdio.so\nmodule opus.so\nmodule aufile.so\nmodule sndfile.so\nsnd_path {}\n\
             module account.so\nmodule menu.so\n",
            wav.display(),
            rec.display()
        ),
    )
    .unwrap();
    std::fs::write(phone.join("accounts"), format!("<sip:+15550100031@127.0.0.1:{port}>;auth_pass=none;regint=0\n")).unwrap();
    let log = dir.join("phone.log");
    let out = std::fs::File::create(&log).unwrap();
    let target = format!("sip:demo@127.0.0.1:{}", server.sip_port);
    let status = tokio::task::spawn_blocking(move || {
        Command::new("baresip").arg("-f").arg(&phone).args(["-e", &format!("/dial {target}"), "-t", "26"]).stdout(out).stderr(Stdio::null()).status().unwrap()
    })
    .await
    .unwrap();
    assert!(status.success());
    let phone_log = std::fs::read_to_string(&log).unwrap();
    assert!(phone_log.contains("Call established"), "{phone_log}\n{}", server.log_text());
    assert!(phone_log.contains("Set audio decoder: opus 48000Hz"), "the call ran on Opus: {phone_log}");
    let heard = files_under(&rec).into_iter().find(|p| p.to_string_lossy().ends_with("-dec.wav")).expect("baresip recorded the call");
    assert!(wav_rms(&heard) > 300.0, "the phone decoded the agent's Opus, rms {}", wav_rms(&heard));

    let (_, body) = hook.document().await;
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let caller_text: String = doc["transcript"].as_array().unwrap().iter().filter(|t| t["speaker"] == "caller").filter_map(|t| t["text"].as_str()).collect::<Vec<_>>().join(" ");
    assert!(caller_text.to_lowercase().contains("hours"), "Parley decoded the caller's Opus: {caller_text:?}");
}
