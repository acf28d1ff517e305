//! Any bytes into the RTP parser and the RFC 4733 receiver: no panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use parley_media::{dtmf::DtmfReceiver, rtp::RtpPacket};

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = RtpPacket::parse(data) {
        let _ = DtmfReceiver::default().on_packet(p.timestamp, p.payload);
    }
});
