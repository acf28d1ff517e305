//! Any text (a recognizer's output reaches the tokenizer unfiltered) through BERT's WordPiece
//! with a small vocabulary: no panic, `[CLS]` first and `[SEP]` last, never longer than asked.
#![no_main]
use libfuzzer_sys::fuzz_target;
use parley_speech::wordpiece::WordPiece;

const VOCAB: &str = r###"{"model": {"type": "WordPiece", "vocab": {"[PAD]": 0, "[UNK]": 100, "[CLS]": 101, "[SEP]": 102, "a": 1037, "##a": 2050, "order": 2344, "##s": 2015, "'": 1005, "?": 1029, "é": 1088}}}"###;

fuzz_target!(|data: &[u8]| {
    let Some((&max, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    let wp = WordPiece::from_tokenizer_json(VOCAB).expect("the fixed vocabulary loads");
    let max = usize::from(max).max(2);
    let ids = wp.encode(&text, max);
    assert!(ids.len() <= max && ids.len() >= 2);
    assert_eq!((ids[0], ids[ids.len() - 1]), (101, 102));
});
