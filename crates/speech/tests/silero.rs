//! Silero VAD on recorded human speech through a mu-law line: it hears the speech, not the
//! silence around it and not loud noise; with it, the endpointer neither starts a turn on a
//! noise burst nor lets one run on through noise after the caller stops. Needs
//! `scripts/setup.sh` (ONNX Runtime and the model) and `--test-peers` (the recorded prompts).

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::prompts;
use parley_speech::silero::{self, SileroModel};
use parley_speech::vad::{Endpointer, EndpointerConfig, VadEvent};

fn model() -> SileroModel {
    let dir = std::env::var("PARLEY_SPEECH_DIR").map(PathBuf::from).unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").expect("HOME")).join(".local/share/parley/speech"));
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
