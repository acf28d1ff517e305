//! The in-process recognizer on recorded human speech through a mu-law line: accuracy, a spoken
//! order number, short words, and several calls sharing one model. Needs `scripts/setup.sh
//! --test-peers` (the converted ggml weights and the Asterisk prompts).

mod common;

use std::sync::Arc;
use std::time::Instant;

use common::prompts::{self, Prompt};
use parley_speech::whisper_cpp::{WhisperCppConfig, WhisperCppRecognizer, WhisperModel};
use parley_speech::{wer, Recognizer, Urgency, Utterance};

/// One thread per decoder: the test binary runs its tests side by side on 2 cores, and
/// whisper.cpp's threads spin while they wait, so more threads than cores slow everything down.
fn recognizer(model: WhisperModel, decoders: usize) -> WhisperCppRecognizer {
    recognizer_on(model, decoders, 1)
}

fn recognizer_on(model: WhisperModel, decoders: usize, threads: usize) -> WhisperCppRecognizer {
    let home = std::env::var("HOME").expect("HOME");
    let dir = std::env::var("PARLEY_SPEECH_DIR").unwrap_or_else(|_| format!("{home}/.local/share/parley/speech"));
    let model_path = model.path_under(std::path::Path::new(&dir));
    WhisperCppRecognizer::load(&WhisperCppConfig { model_path, decoders, threads }).expect("model installed by scripts/setup.sh")
}

async fn transcribe(r: &WhisperCppRecognizer, pcm: &[i16], hint: Option<&str>) -> String {
    r.transcribe(Utterance { pcm, speech_end: Instant::now(), urgency: Urgency::TurnEnded, hint }).await.expect("decodes")
}

fn word_error_rate(pairs: &[(&Prompt, String)]) -> f32 {
    let (edits, words) = pairs.iter().map(|(p, heard)| wer::errors(&p.text, heard)).fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    edits as f32 / words as f32
}

/// An Asterisk digit recording with its silence trimmed.
fn digit(name: &str) -> Vec<i16> {
    let pcm: Vec<i16> = hound::WavReader::open(format!("/usr/share/asterisk/sounds/en/digits/{name}.wav")).expect("digit prompt").into_samples::<i16>().map(|s| s.expect("sample")).collect();
    let loud = |s: &i16| s.unsigned_abs() > 600;
    let (Some(a), Some(b)) = (pcm.iter().position(loud), pcm.iter().rposition(loud)) else { return Vec::new() };
    pcm[a.saturating_sub(400)..(b + 400).min(pcm.len())].to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_telephone_speech_is_recognized() {
    // The benchmark's set (examples/asr_bench.rs): 3.7% measured.
    let r = recognizer(WhisperModel::TinyEn, 1);
    let set = prompts::load(1.5, 6.0, 40);
    assert_eq!(set.len(), 40);
    let mut heard = Vec::new();
    for p in &set {
        heard.push((p, transcribe(&r, &p.pcm, None).await));
    }
    let rate = word_error_rate(&heard);
    assert!(rate < 0.06, "WER {rate}: {:?}", heard.iter().map(|(p, h)| (&p.text, h)).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spoken_order_number_comes_out_as_its_digits() {
    let r = recognizer(WhisperModel::TinyEn, 1);
    let gap = vec![0i16; 8 * 120];
    let mut pcm = vec![0i16; 8 * 300];
    for d in ["1", "0", "0", "4"] {
        pcm.extend(digit(d));
        pcm.extend(&gap);
    }
    let hint = "The caller reads out an order number, for example 1004 or 2057.";
    let text = transcribe(&r, &pcm, Some(hint)).await;
    assert_eq!(wer::words(&text), ["one", "zero", "zero", "four"], "{text:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_word_shorter_than_a_second_is_heard() {
    let r = recognizer(WhisperModel::TinyEn, 1);
    let set = prompts::load(0.5, 0.99, 200);
    let added = set.iter().find(|p| p.name == "added").expect("the prompt 'added' (0.7 s)");
    let text = transcribe(&r, &added.pcm, None).await;
    assert_eq!(wer::words(&text), ["added"], "{text:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_speaking_at_once_share_one_model() {
    // Two decoders side by side on one model hear exactly what one decoder hears alone.
    calls_at_once(recognizer(WhisperModel::TinyEn, 2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_at_once_share_the_threads_of_a_decode_alone() {
    // The server's shape: 2 decoders, 2 threads for a decode alone. The first utterance may take
    // both threads; the others wait for them, then go side by side on one each.
    calls_at_once(recognizer_on(WhisperModel::TinyEn, 2, 2)).await;
}

async fn calls_at_once(r: WhisperCppRecognizer) {
    let r = Arc::new(r);
    let set = Arc::new(prompts::load(1.5, 3.0, 6));
    let mut alone = Vec::new();
    for p in set.iter() {
        alone.push(transcribe(&r, &p.pcm, None).await);
    }
    let tasks: Vec<_> = (0..set.len())
        .map(|i| {
            let (r, set) = (r.clone(), set.clone());
            tokio::spawn(async move { transcribe(&r, &set[i].pcm, None).await })
        })
        .collect();
    let mut together = Vec::new();
    for t in tasks {
        together.push(t.await.expect("task"));
    }
    assert!(alone.iter().all(|t| !t.is_empty()));
    // The same words (the case of a first letter may differ between decoder states).
    let words = |texts: &[String]| texts.iter().map(|t| wer::words(t)).collect::<Vec<_>>();
    assert_eq!(words(&together), words(&alone));
    assert_eq!(r.queued(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_base_model_loads_and_recognizes() {
    let r = recognizer(WhisperModel::Base, 1);
    let set = prompts::load(1.5, 6.0, 10);
    let mut heard = Vec::new();
    for p in &set {
        heard.push((p, transcribe(&r, &p.pcm, None).await));
    }
    let rate = word_error_rate(&heard);
    assert!(rate < 0.05, "WER {rate}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn early_decodes_are_declined_while_ended_turns_wait() {
    let r = recognizer(WhisperModel::TinyEn, 1);
    let set = prompts::load(1.5, 3.0, 3);
    let ended: Vec<_> = set.iter().map(|p| r.transcribe(Utterance::ended(&p.pcm))).collect();
    let early = Utterance { urgency: Urgency::Speculative, ..Utterance::ended(&set[0].pcm) };
    assert!(r.transcribe(early).await.unwrap_err().is_busy(), "turns are waiting: the early decode is declined");
    for (text, p) in futures_join(ended).await.into_iter().zip(&set) {
        assert!(!text.unwrap().is_empty(), "{} was still recognized", p.name);
    }
    let early = Utterance { urgency: Urgency::Speculative, ..Utterance::ended(&set[0].pcm) };
    assert!(r.transcribe(early).await.is_ok(), "with nothing waiting, an early decode runs");
}

async fn futures_join<T>(futures: Vec<impl std::future::Future<Output = T>>) -> Vec<T> {
    let mut out = Vec::new();
    for f in futures {
        out.push(f.await);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decode_nobody_waits_for_stops_and_the_next_turn_goes_on() {
    // A long utterance (an early decode the caller talked past, a call that hung up) is dropped
    // while it is being decoded: the decoder stops it and takes the next turn, which is heard.
    let r = recognizer(WhisperModel::TinyEn, 1);
    let set = prompts::load(1.5, 6.0, 12);
    let long: Vec<i16> = set.iter().flat_map(|p| p.pcm.iter().copied()).take(8000 * 25).collect();
    let abandoned = r.transcribe(Utterance::ended(&long));
    while !r.busy() || r.queued() > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    drop(abandoned);
    let next = transcribe(&r, &set[0].pcm, None).await;
    assert_eq!(r.stopped(), 1, "the abandoned decode was stopped part-way");
    assert!(wer::errors(&set[0].text, &next).0 <= 1, "{next:?} for {:?}", set[0].text);
}
