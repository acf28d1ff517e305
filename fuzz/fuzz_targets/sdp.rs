//! Any bytes into SDP parsing, negotiation and answering (with and without an SRTP key), and as
//! a re-offer against a previous answer (hold, resume, codec change): no panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use parley_sip::{sdp, session};

const PREVIOUS: &[u8] = b"v=0\r\no=parley 7 7 IN IP4 127.0.0.1\r\ns=parley\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 20000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n";

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = sdp::parse(data) {
        if let Ok(n) = sdp::negotiate(&s) {
            let _ = sdp::answer(&n, "127.0.0.1:4000".parse().unwrap(), 1, None);
            let _ = sdp::answer(&n, "127.0.0.1:4000".parse().unwrap(), 1, Some(&[7u8; 30]));
        }
    }
    let _ = session::reanswer(PREVIOUS, data);
});
