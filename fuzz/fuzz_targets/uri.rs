//! Any text as a URI from the API, a config file or a flag: no panic; whatever is accepted
//! serializes to text that cannot leave its header (no whitespace, control characters, quotes,
//! angle brackets or `?`) and parses back to the same URI.
#![no_main]
use libfuzzer_sys::fuzz_target;
use parley_sip::uri::Uri;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(uri) = Uri::parse(text) else { return };
    let out = uri.to_string();
    assert!(out.bytes().all(|b| b.is_ascii_graphic() && !b"<>\"?".contains(&b)), "unsafe serialization {out:?}");
    assert_eq!(Uri::parse(&out).as_ref(), Ok(&uri), "not canonical: {out:?}");
    let _ = uri.e164();
});
