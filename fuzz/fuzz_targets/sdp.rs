//! Any bytes into SDP parsing and negotiation: no panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use parley_sip::sdp;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = sdp::parse(data) {
        if let Ok(n) = sdp::negotiate(&s) {
            let _ = sdp::answer(&n, "127.0.0.1:4000".parse().unwrap(), 1);
        }
    }
});
