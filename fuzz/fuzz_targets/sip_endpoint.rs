//! Any datagrams into the UA endpoint, with time moving, while it also places a call and keeps
//! a registration with the sender (so responses reach the UAC and REGISTER paths): no panic,
//! bounded output.
#![no_main]
use libfuzzer_sys::fuzz_target;
use parley_sip::endpoint::{Config, Credentials, Dial, Endpoint, Registration, Transport};
use parley_sip::transaction::Peer;
use std::time::{Duration, Instant};

fuzz_target!(|data: &[u8]| {
    let mut ep = Endpoint::new(Config::new("127.0.0.1:5060".parse().unwrap()), 1);
    let mut now = Instant::now();
    let peer = Peer { transport: Transport::Udp, addr: "127.0.0.1:5070".parse().unwrap() };
    let credentials = Some(Credentials { username: "u".into(), password: "p".into() });
    ep.dial(now, Dial { target: "sip:+15550100@127.0.0.1:5070".parse().unwrap(), from: "sip:p@127.0.0.1".parse().unwrap(), next_hop: peer, offer: b"v=0\r\n".to_vec(), credentials: credentials.clone() });
    ep.register(now, Registration { aor: "sip:p@127.0.0.1".into(), registrar: "sip:127.0.0.1".into(), next_hop: peer, contact_user: "p".into(), expires: 60, credentials });
    while ep.poll_output().is_some() {}
    for chunk in data.split(|&b| b == 0xff) {
        ep.handle_datagram(now, Transport::Udp, "127.0.0.1:5070".parse().unwrap(), chunk);
        while ep.poll_output().is_some() {}
        now += Duration::from_millis(700);
        ep.handle_timeout(now);
        while ep.poll_output().is_some() {}
    }
});
