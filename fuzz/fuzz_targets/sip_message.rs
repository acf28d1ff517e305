//! Any bytes into the SIP parsers (datagram and stream framing) and the validator: no panic,
//! and what parses serializes to something that parses again.
#![no_main]
use libfuzzer_sys::fuzz_target;
use parley_sip::{parse, validate::Summary};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = parse::parse_datagram(data) {
        let _ = Summary::of(&m);
        assert!(parse::parse_datagram(&m.to_bytes()).is_ok());
    }
    let _ = parse::parse_stream(data);
    let _ = parse::parse_for_reply(data);
});
