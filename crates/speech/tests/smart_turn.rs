//! Smart Turn v3.2 on recorded human speech through a mu-law line: whole prompts, with the
//! pause after them, sound finished; a sentence broken off before its last word ("if this is
//! correct, press" ... "one", "you have" ... "two new messages") does not. Needs `scripts/setup.sh` (ONNX Runtime and the model)
//! and `--test-peers` (the recorded prompts).

mod common;

use std::path::PathBuf;

use common::prompts;
use parley_speech::smart_turn::{self, SmartTurnModel};

fn model() -> SmartTurnModel {
    let dir = std::env::var("PARLEY_SPEECH_DIR").map(PathBuf::from).unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").expect("HOME")).join(".local/share/parley/speech"));
    SmartTurnModel::load(&dir.join("libonnxruntime.so"), &smart_turn::model_path(&dir)).expect("Smart Turn installed by scripts/setup.sh")
}

/// `pcm` trimmed to its speech (10 ms windows above -40 dBFS), half a second of silence in
/// front and 240 ms after it (the pause at which the pipeline has the recognizer's text).
fn as_paused(pcm: &[i16]) -> Vec<i16> {
    let loud: Vec<bool> = pcm.chunks(80).map(|w| (w.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / w.len() as f64).sqrt() > 328.0).collect();
    let first = loud.iter().position(|&l| l).unwrap_or(0) * 80;
    let last = (loud.iter().rposition(|&l| l).unwrap_or(0) + 1) * 80;
    let mut out = vec![0i16; 4000];
    out.extend_from_slice(&pcm[first..last.min(pcm.len())]);
    out.extend(std::iter::repeat_n(0i16, 1920));
    out
}

#[test]
fn finished_prompts_sound_finished_and_a_broken_off_one_does_not() {
    let model = model();
    let set = prompts::load(1.5, 6.0, 20);
    assert_eq!(set.len(), 20);
    let finished = set.iter().filter(|p| model.complete_probability(&as_paused(&p.pcm)).expect("judged") > 0.5).count();
    assert!(finished >= 18, "{finished} of 20 whole prompts judged finished");
    for name in ["if-correct-press", "vm-youhave"] {
        let p = model.complete_probability(&as_paused(&prompts::by_name(name))).expect("judged");
        assert!(p < 0.2, "{name}: {p:.3}");
    }
    // Silence alone, and audio longer than the model's 8 s window, are judged without error.
    assert!(model.complete_probability(&vec![0i16; 8000]).is_ok());
    let long: Vec<i16> = set.iter().take(5).flat_map(|p| p.pcm.iter().copied()).collect();
    assert!(long.len() > 8 * 8000 && model.complete_probability(&long).is_ok());
}
