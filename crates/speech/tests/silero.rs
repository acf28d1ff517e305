//! Silero VAD on recorded human speech through a mu-law line: it hears the speech, not the
//! silence around it and not loud noise; with it, the endpointer neither starts a turn on a
//! noise burst nor lets one run on through noise after the caller stops, and a one-word answer
//! is a turn however it falls on the model's 32 ms chunks. Needs `scripts/setup.sh` (ONNX
//! Runtime, the model and the voices) and `--test-peers` (the recorded prompts).

mod common;

use std::time::{Duration, Instant};

use common::prompts;
use common::voices::{speak, speech_dir, voices};
use parley_media::g711::{linear_to_ulaw, ulaw_to_linear};
use parley_speech::silero::{self, SileroModel};
use parley_speech::vad::{Endpointer, EndpointerConfig, VadEvent};
use parley_speech::Synthesizer;

fn model() -> SileroModel {
    let dir = speech_dir();
    SileroModel::load(&dir.join("libonnxruntime.so"), &silero::model_path(&dir)).expect("Silero VAD installed by scripts/setup.sh")
}

fn frames(pcm: &[i16]) -> impl Iterator<Item = &[i16]> {
    pcm.chunks_exact(160)
}

#[test]
fn speech_scores_high_and_silence_and_noise_low() {
    let model = model();
    let set = prompts::load(1.5, 6.0, 10);
    assert_eq!(set.len(), 10);
    for p in &set {
        let mut vad = model.stream();
        let probs: Vec<f32> = frames(&p.pcm).map(|f| vad.push(f)).collect();
        let speechy = probs.iter().filter(|&&p| p > 0.5).count() as f32 / probs.len() as f32;
        assert!(speechy > 0.4, "{}: {speechy:.2} of frames scored as speech", p.name);
        let mut vad = model.stream();
        let quiet: Vec<f32> = frames(&vec![0i16; 16000]).map(|f| vad.push(f)).collect();
        assert!(quiet.iter().all(|&p| p < 0.2), "silence");
    }
    let mut vad = model.stream();
    let hiss = prompts::noise(16000, 3000.0);
    let probs: Vec<f32> = frames(&hiss).map(|f| vad.push(f)).collect();
    let speechy = probs.iter().filter(|&&p| p > 0.5).count();
    assert!(speechy <= 2, "white noise scored as speech in {speechy} of {} frames", probs.len());
}

/// Runs frames through an endpointer from `t0`; the events with their frame index.
fn events(ep: &mut Endpointer, pcm: &[i16]) -> Vec<(usize, VadEvent)> {
    let t0 = Instant::now();
    frames(pcm).enumerate().filter_map(|(i, f)| ep.push_frame(t0 + Duration::from_millis(20 * i as u64), f).map(|e| (i, e))).collect()
}

#[test]
fn with_the_model_noise_neither_starts_a_turn_nor_holds_one_open() {
    let model = model();
    let cfg = EndpointerConfig { speculate_after: None, ..Default::default() };
    // Quiet line, a second of loud hiss (a door, a car going by), quiet line.
    let mut pcm = vec![0i16; 8000];
    pcm.extend(prompts::noise(8000, 3000.0));
    pcm.extend(vec![0i16; 16000]);
    let level_only = events(&mut Endpointer::new(cfg.clone()), &pcm);
    assert!(level_only.iter().any(|(_, e)| matches!(e, VadEvent::TurnEnded { .. })), "the level alone takes the hiss for a turn");
    let with_model = events(&mut Endpointer::with_model(cfg.clone(), Some(model.stream())), &pcm);
    assert!(with_model.is_empty(), "Silero hears no speech in hiss: {with_model:?}");

    // A prompt, then the line stays noisy (a fan at the caller's end) after the words end.
    let prompt = &prompts::load(2.0, 4.0, 1)[0];
    let mut pcm = vec![0i16; 4000];
    pcm.extend_from_slice(&prompt.pcm);
    let end_of_words = pcm.len() / 160;
    pcm.extend(prompts::noise(24000, 2000.0));
    let ended = |evs: Vec<(usize, VadEvent)>| evs.into_iter().find_map(|(i, e)| matches!(e, VadEvent::TurnEnded { .. }).then_some(i));
    assert_eq!(ended(events(&mut Endpointer::new(cfg.clone()), &pcm)), None, "by level alone the fan holds the turn open");
    let at = ended(events(&mut Endpointer::with_model(cfg.clone(), Some(model.stream())), &pcm)).expect("with Silero the turn ends");
    assert!(at <= end_of_words + 30 + 15, "the turn ended {} ms after the file's end", (at - end_of_words) * 20);
}

/// A one-word answer said quickly is a turn wherever its first sample falls. Silero hears the
/// voice some 40-80 ms after it starts and loses it before it ends, so joe's "Right." (about 250
/// ms of voice) measured 120-180 ms, under the 200 ms `min_speech` of before: half the
/// alignments dropped it as a noise burst, and a caller on a real line got no answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quick_one_word_answer_is_a_turn_at_any_alignment() {
    let model = model();
    for voice in voices() {
        for word in ["Right.", "Sure.", "No.", "Yep."] {
            let (pcm, _) = speak(&voice, word).await;
            let mut dropped = Vec::new();
            for offset in (0..320).step_by(20) {
                let mut line = prompts::noise(8000 + offset, 30.0);
                line.extend(pcm.iter().map(|&s| ulaw_to_linear(linear_to_ulaw(s))));
                line.extend(prompts::noise(16000, 30.0));
                let evs = events(&mut Endpointer::with_model(EndpointerConfig::default(), Some(model.stream())), &line);
                if !evs.iter().any(|(_, e)| matches!(e, VadEvent::TurnEnded { .. })) {
                    dropped.push(offset);
                }
            }
            assert!(dropped.is_empty(), "{} {word}: no turn when it starts {dropped:?} samples later", voice.voice_name());
        }
    }
}
