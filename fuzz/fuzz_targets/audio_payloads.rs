//! Any RTP payload into the audio decoders a call negotiates (G.711 mu-law and A-law, G.722):
//! no panic (overflow checks on), one sample per octet, and the decoder's state carried from
//! packet to packet as in a call.
#![no_main]
use libfuzzer_sys::fuzz_target;
use parley_media::{g711::G711, g722};

fuzz_target!(|data: &[u8]| {
    let mut out = Vec::new();
    for law in [G711::Ulaw, G711::Alaw] {
        out.clear();
        law.decode(data, &mut out);
        assert_eq!(out.len(), data.len());
    }
    let mut decoder = g722::Decoder::default();
    for packet in data.chunks(160) {
        out.clear();
        decoder.decode(packet, &mut out);
        assert_eq!(out.len(), packet.len());
    }
});
