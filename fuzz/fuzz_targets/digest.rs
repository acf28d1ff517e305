//! Any text as an `Authorization` header into digest verification: no panic, never accepted.
#![no_main]
use libfuzzer_sys::fuzz_target;
use parley_sip::digest::{DigestAuth, Verdict};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = parley_sip::digest::parse_params(text);
    let mut auth = DigestAuth::new("parley", [3; 32]);
    let verdict = auth.verify(1_000, "INVITE", "sip:a@b", text, std::net::Ipv4Addr::LOCALHOST.into(), |_, _| Some("password-1234".into()));
    assert!(!matches!(verdict, Verdict::Ok(_)), "forged credentials accepted");
});
