//! The embedded neural voices (Piper joe, hibari heart), heard the way a caller hears them:
//! synthesized, sent through a mu-law line, and understood by the recognizer. Needs
//! `scripts/setup.sh` (ONNX Runtime, both voices and the Whisper weights).

mod common;

use std::time::Instant;

use common::voices::{piper, speak, speech_dir, voices};
use parley_media::g711::{linear_to_ulaw, ulaw_to_linear};
use parley_speech::whisper_cpp::{WhisperCppConfig, WhisperCppRecognizer, WhisperModel};
use parley_speech::{wer, Recognizer, Synthesizer, Utterance};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_voice_is_understood_through_a_phone_line() {
    // Whisper base, as the synthesis bench judges intelligibility: tiny.en now and then repeats a
    // phrase at the end of an utterance, which is its own error, not the voice's.
    let asr = WhisperCppRecognizer::load(&WhisperCppConfig { model_path: WhisperModel::Base.path_under(&speech_dir()), decoders: 1, threads: 1 }).expect("whisper");
    let lines = [
        "Thanks for calling. How can I help you today?",
        "Your order has shipped and should arrive on Thursday.",
        "We are open from nine to five, Monday to Friday.",
        "I will put you through to a colleague now.",
    ];
    for voice in voices() {
        let (mut edits, mut words) = (0, 0);
        let mut heard = Vec::new();
        for line in lines {
            let (pcm, _) = speak(&voice, line).await;
            // About 150 words a minute: a few seconds, not silence and not minutes.
            let seconds = pcm.len() as f32 / 8000.0;
            assert!((1.0..8.0).contains(&seconds), "{line}: {seconds} s");
            let line_audio: Vec<i16> = pcm.iter().map(|&s| ulaw_to_linear(linear_to_ulaw(s))).collect();
            let text = asr.transcribe(Utterance::ended(&line_audio)).await.expect("recognized");
            let (e, n) = wer::errors(line, &text);
            edits += e;
            words += n;
            heard.push(text);
        }
        assert!((edits as f32) < 0.06 * words as f32, "{}: {edits}/{words}: {heard:?}", voice.voice_name());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_reply_streams_sentence_by_sentence() {
    for voice in voices() {
        let started = Instant::now();
        let mut rx = voice.synthesize("Your order number is 1004. It left our warehouse yesterday. It should reach you on Friday.").expect("starts");
        let first = rx.recv().await.expect("first sentence");
        let first_at = started.elapsed();
        let mut rest = 0;
        while let Some(chunk) = rx.recv().await {
            rest += chunk.len();
        }
        let total_at = started.elapsed();
        assert!(first.len() > 8000 / 2, "the first sentence is more than half a second: {}", first.len());
        assert!(rest > first.len(), "two more sentences follow");
        assert!(first_at < total_at, "the first sentence arrived before the reply was done");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_asked_for_later_starts_before_the_rest_of_longer_ones() {
    // One session, five long replies playing: a sixth caller's answer is made next, before the
    // others' later sentences (the one being made when it was asked, and one taken while its
    // text was being phonemized, may go first).
    let voice = piper();
    let long = "Order 1004 left our warehouse on Monday. It went by ground. It reached the depot on Tuesday. It is out for delivery now.";
    let (tx, mut heard) = tokio::sync::mpsc::unbounded_channel();
    let listen = |name: &'static str, mut rx: tokio::sync::mpsc::Receiver<Vec<i16>>| {
        let tx = tx.clone();
        tokio::spawn(async move {
            while let Some(chunk) = rx.recv().await {
                if !chunk.is_empty() {
                    let _ = tx.send(name);
                }
            }
        });
    };
    for _ in 0..5 {
        listen("long", voice.synthesize(long).expect("starts"));
    }
    let mut order = Vec::new();
    while order.len() < 5 {
        order.push(heard.recv().await.expect("long replies play"));
    }
    order.push("asked");
    listen("short", voice.synthesize("We are open until five.").expect("starts"));
    drop(tx);
    while let Some(name) = heard.recv().await {
        order.push(name);
    }
    assert!(order.len() >= 5 * 4 + 2, "{order:?}");
    let waited = order.iter().skip(6).position(|w| *w == "short").expect("the short reply was heard");
    assert!(waited <= 2, "the sixth caller waited for others' later sentences: {order:?}");
}
