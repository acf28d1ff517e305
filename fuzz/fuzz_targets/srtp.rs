//! Any bytes into SRTP and SRTCP unprotect (as they arrive from the network): no panic, and
//! nothing without a valid tag comes out.
#![no_main]
use libfuzzer_sys::fuzz_target;
use parley_media::srtp::{Context, Suite};

fuzz_target!(|data: &[u8]| {
    let mut out = Vec::new();
    for suite in [Suite::AesCm128HmacSha1_80, Suite::AesCm128HmacSha1_32] {
        let mut ctx = Context::new(suite, &[7u8; 30]);
        assert!(ctx.unprotect_rtp(data, &mut out).is_err() || data.len() >= 12);
        let _ = ctx.unprotect_rtcp(data, &mut out);
    }
});
