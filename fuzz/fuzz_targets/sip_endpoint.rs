//! Any datagrams into the UA endpoint, with time moving: no panic, bounded output.
#![no_main]
use libfuzzer_sys::fuzz_target;
use parley_sip::endpoint::{Config, Endpoint, Transport};
use std::time::{Duration, Instant};

fuzz_target!(|data: &[u8]| {
    let mut ep = Endpoint::new(Config::new("127.0.0.1:5060".parse().unwrap()), 1);
    let mut now = Instant::now();
    for chunk in data.split(|&b| b == 0xff) {
        ep.handle_datagram(now, Transport::Udp, "127.0.0.1:5070".parse().unwrap(), chunk);
        while ep.poll_output().is_some() {}
        now += Duration::from_millis(700);
        ep.handle_timeout(now);
        while ep.poll_output().is_some() {}
    }
});
