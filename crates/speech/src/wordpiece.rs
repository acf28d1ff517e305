//! BERT's uncased WordPiece tokenizer, as the `tokenizer.json` of a sentence-transformers model
//! describes it (`BertNormalizer` with lowercasing, `BertPreTokenizer`, `WordPiece` with `##`
//! continuations, `[CLS] … [SEP]` around): text to the token ids the model was trained on.
//!
//! Written out rather than taken from Hugging Face's `tokenizers` crate: this one fixed
//! algorithm is 100 lines, the crate's build is most of a minute on 2 cores. The tests compare
//! with ids that `tokenizers` (Python, 0.22) gives for the same vocabulary.

use std::collections::HashMap;

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use crate::SpeechError;

/// Longest word split into pieces; a longer one is `[UNK]`.
const MAX_WORD_CHARS: usize = 100;

/// See the module docs.
#[derive(Debug, Clone)]
pub struct WordPiece {
    vocab: HashMap<String, i64>,
    unk: i64,
    cls: i64,
    sep: i64,
}

impl WordPiece {
    /// The vocabulary of a `tokenizer.json` (its `model.vocab`).
    pub fn from_tokenizer_json(text: &str) -> Result<WordPiece, SpeechError> {
        let bad = |why: &str| SpeechError::Unavailable(format!("tokenizer.json: {why}"));
        let json: serde_json::Value = serde_json::from_str(text).map_err(|e| bad(&e.to_string()))?;
        if json["model"]["type"] != "WordPiece" {
            return Err(bad("not a WordPiece model"));
        }
        let vocab: HashMap<String, i64> = json["model"]["vocab"].as_object().ok_or_else(|| bad("no vocabulary"))?.iter().filter_map(|(k, v)| Some((k.clone(), v.as_i64()?))).collect();
        let id = |t: &str| vocab.get(t).copied().ok_or_else(|| bad(&format!("no {t} token")));
        let (unk, cls, sep) = (id("[UNK]")?, id("[CLS]")?, id("[SEP]")?);
        Ok(WordPiece { vocab, unk, cls, sep })
    }

    /// The ids of `text`, `[CLS]` first and `[SEP]` last, at most `max_len` in all.
    pub fn encode(&self, text: &str, max_len: usize) -> Vec<i64> {
        let mut ids = vec![self.cls];
        for word in pre_tokenize(&normalize(text)) {
            self.word(&word, &mut ids);
        }
        ids.truncate(max_len.saturating_sub(1).max(1));
        ids.push(self.sep);
        ids
    }

    /// Greedy longest-match-first pieces of one word.
    fn word(&self, word: &str, ids: &mut Vec<i64>) {
        let chars: Vec<char> = word.chars().collect();
        if chars.len() > MAX_WORD_CHARS {
            ids.push(self.unk);
            return;
        }
        let mut pieces = Vec::new();
        let mut start = 0;
        while start < chars.len() {
            let mut end = chars.len();
            let found = loop {
                if end == start {
                    break None;
                }
                let piece: String = chars[start..end].iter().collect();
                let piece = if start > 0 { format!("##{piece}") } else { piece };
                if let Some(id) = self.vocab.get(&piece) {
                    break Some(*id);
                }
                end -= 1;
            };
            match found {
                Some(id) => pieces.push(id),
                None => {
                    ids.push(self.unk);
                    return;
                }
            }
            start = end;
        }
        ids.extend(pieces);
    }
}

/// Control characters dropped, whitespace as spaces, CJK ideographs set apart, lowercased,
/// accents stripped.
fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\0' || c == '\u{fffd}' || (c.is_control() && !c.is_whitespace()) {
            continue;
        }
        if c.is_whitespace() {
            out.push(' ');
        } else if is_cjk(c) {
            out.extend([' ', c, ' ']);
        } else {
            out.push(c);
        }
    }
    out.to_lowercase().nfd().filter(|c| !is_combining_mark(*c)).collect()
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2A6DF | 0x2A700..=0x2B73F | 0x2B740..=0x2B81F | 0x2B820..=0x2CEAF | 0xF900..=0xFAFF | 0x2F800..=0x2FA1F)
}

/// BERT's punctuation: ASCII symbols and Unicode punctuation.
fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation() || (!c.is_alphanumeric() && !c.is_whitespace() && !c.is_control() && is_unicode_punctuation(c))
}

/// Unicode general category P* for the characters callers' text has (dashes, quotes, marks).
fn is_unicode_punctuation(c: char) -> bool {
    matches!(c as u32, 0x2010..=0x2027 | 0x2030..=0x205E | 0x3001..=0x3003 | 0x3008..=0x3011 | 0x00A1 | 0x00A7 | 0x00AB | 0x00B6 | 0x00B7 | 0x00BB | 0x00BF | 0xFF01..=0xFF0F)
}

/// Words split at whitespace, each punctuation mark a word of its own.
fn pre_tokenize(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    for chunk in text.split_whitespace() {
        let mut word = String::new();
        for c in chunk.chars() {
            if is_punctuation(c) {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                words.push(c.to_string());
            } else {
                word.push(c);
            }
        }
        if !word.is_empty() {
            words.push(word);
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_split_and_mark_as_bert_does() {
        let vocab = r###"{"model": {"type": "WordPiece", "vocab": {"[PAD]": 0, "[UNK]": 100, "[CLS]": 101, "[SEP]": 102, "where": 2073, "'": 1005, "s": 1055, "my": 2026, "stuff": 4933, "?": 1029, "cafe": 7668, "un": 4895, "##aff": 10354, "##able": 3085, "—": 1517}}}"###;
        let wp = WordPiece::from_tokenizer_json(vocab).unwrap();
        assert_eq!(wp.encode("Where's my stuff?", 128), [101, 2073, 1005, 1055, 2026, 4933, 1029, 102]);
        assert_eq!(wp.encode("  CAFÉ\tunaffable —", 128), [101, 7668, 4895, 10354, 3085, 1517, 102]);
        assert_eq!(wp.encode("unknownword 你", 128), [101, 100, 100, 102], "a word without pieces and an ideograph missing from the vocabulary");
        assert_eq!(wp.encode("where where where", 3), [101, 2073, 102], "cut to fit");
        assert!(WordPiece::from_tokenizer_json(r#"{"model": {"type": "BPE"}}"#).is_err());
        assert!(WordPiece::from_tokenizer_json("not json").is_err());
    }

    /// Against the vocabulary `scripts/setup.sh` installs: ids from Python's `tokenizers`
    /// 0.22 for the same file.
    #[test]
    fn the_installed_vocabulary_gives_the_reference_ids() {
        let dir = std::env::var_os("PARLEY_SPEECH_DIR").map_or_else(|| std::path::Path::new(&std::env::var_os("HOME").unwrap_or_default()).join(".local/share/parley/speech"), std::path::PathBuf::from);
        let path = dir.join("minilm-tokenizer.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e} (run scripts/setup.sh)", path.display()));
        let wp = WordPiece::from_tokenizer_json(&text).unwrap();
        let cases: [(&str, &[i64]); 5] = [
            ("I'd like to pay order #1,004 — now!", &[101, 1045, 1005, 1040, 2066, 2000, 3477, 2344, 1001, 1015, 1010, 4002, 2549, 1517, 2085, 999, 102]),
            ("Café naïve RÉSUMÉ", &[101, 7668, 15743, 13746, 102]),
            ("unaffable xylophonist", &[101, 14477, 20961, 3468, 1060, 8516, 7361, 8747, 2923, 102]),
            ("tab\there  \u{a0}nbsp", &[101, 21628, 2182, 1050, 5910, 2361, 102]),
            ("你好 world", &[101, 100, 100, 2088, 102]),
        ];
        for (text, ids) in cases {
            assert_eq!(wp.encode(text, 128), ids, "{text:?}");
        }
    }
}
