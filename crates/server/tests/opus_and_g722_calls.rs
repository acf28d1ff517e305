//! Codecs besides G.711, each with a softphone (baresip) that offers only that codec: Opus (RFC
//! 7587, answered opus/48000/2) and G.722 (answered G722/8000). The phone decodes the agent's
//! greeting, and Parley decodes the caller's question well enough for the recognizer: the
//! document's transcript has it.

use crate::common;

use common::{caller_wav, files_under, free_port, Part, Server, WebhookReceiver};
use std::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_that_speaks_only_opus() {
    call_with_codec("opus.so", "48000", "2", "Set audio decoder: opus 48000Hz").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_that_speaks_only_g722() {
    call_with_codec("g722.so", "16000", "1", "Set audio decoder: G722 16000Hz").await;
}

/// A call from baresip with only `module`, whose audio file must be at `rate` and `channels`.
async fn call_with_codec(module: &str, rate: &str, channels: &str, decoder_line: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let hook = WebhookReceiver::start().await;
    let server = Server::start(dir, &["--demo-webhook", &hook.url]);
    let wav8k = caller_wav(dir, &[Part::Silence(9), Part::Say("What are your opening hours?"), Part::Silence(10)]);
    // baresip plays a file in the codec's format (48 kHz stereo for Opus, 16 kHz for G.722).
    let wav = dir.join("caller-codec.wav");
    common::run(Command::new("sox").arg(&wav8k).args(["-r", rate, "-c", channels]).arg(&wav));
    let rec = dir.join("rec");
    std::fs::create_dir_all(&rec).unwrap();
    let phone = dir.join("phone");
    std::fs::create_dir_all(&phone).unwrap();
    let port = free_port();
    std::fs::write(
        phone.join("config"),
        format!(
            "sip_listen 127.0.0.1:{port}\nnet_interface 127.0.0.1\naudio_source aufile,{}\naudio_player aufile,/dev/null\naudio_alert aufile,/dev/null\n\
             module_path /usr/lib/baresip/modules\nmodule stdio.so\nmodule {module}\nmodule aufile.so\nmodule sndfile.so\nsnd_path {}\n\
             module account.so\nmodule menu.so\n",
            wav.display(),
            rec.display()
        ),
    )
    .unwrap();
    std::fs::write(phone.join("accounts"), format!("<sip:+15550100031@127.0.0.1:{port}>;auth_pass=none;regint=0\n")).unwrap();
    let target = format!("sip:demo@127.0.0.1:{}", server.sip_port);
    let phone_log = common::baresip_call(phone, target, 26, dir.join("phone.log")).await;
    assert!(phone_log.contains("Call established"), "{phone_log}\n{}", server.log_text());
    assert!(phone_log.contains(decoder_line), "the call ran on {module}: {phone_log}");
    let heard = files_under(&rec).into_iter().find(|p| p.to_string_lossy().ends_with("-dec.wav")).expect("baresip recorded the call");
    let rms = common::wav_rms(&heard);
    assert!(rms > 300.0 && rms < 12000.0, "the phone decoded the agent's audio at a speech level, rms {rms}");
    let data = std::fs::read(&heard).unwrap();
    let clipped = data[44..].chunks_exact(2).filter(|c| i16::from_le_bytes([c[0], c[1]]).unsigned_abs() > 32000).count();
    assert!(clipped * 1000 < data.len() / 2, "not noise from a broken bitstream: {clipped} clipped samples");

    let (_, body) = hook.document().await;
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let caller_text: String = doc["transcript"].as_array().unwrap().iter().filter(|t| t["speaker"] == "caller").filter_map(|t| t["text"].as_str()).collect::<Vec<_>>().join(" ");
    assert!(caller_text.to_lowercase().contains("hours"), "Parley decoded the caller's audio: {caller_text:?}");
}
