//! Any bytes into the RTCP parser and a call's RTCP session: no panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use parley_media::rtcp::{parse, RtcpSession};

fuzz_target!(|data: &[u8]| {
    let _ = parse(data);
    let mut s = RtcpSession::new(1, "fuzz".into());
    s.on_rtcp(data, u64::MAX / 2);
    let _ = s.quality();
});
