//! Any bytes as a streamed chat-completions body, split anywhere: no panic, and after an
//! error the decoder stays quiet.
#![no_main]
use libfuzzer_sys::fuzz_target;
use parley_agent::llm::sentences::Sentences;
use parley_agent::llm::stream::{StreamDecoder, StreamEvent};

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(1, |b| usize::from(*b).max(1));
    let mut d = StreamDecoder::new();
    let mut s = Sentences::new();
    for piece in data.chunks(split) {
        match d.push(piece) {
            Ok(events) => {
                for e in events {
                    if let StreamEvent::Text(t) = e {
                        let _ = s.push(&t);
                    }
                }
            }
            Err(_) => assert!(d.push(b"data: [DONE]\n\n").map_or(true, |e| e.is_empty())),
        }
    }
    let _ = d.end();
    let _ = s.finish();
});
