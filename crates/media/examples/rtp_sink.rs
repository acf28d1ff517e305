//! The far end of many calls' media, for `bench/concurrent_calls.sh`: receives every call's RTP
//! on one port, answers each packet with a PCMU packet of its own (so media flows both ways and
//! the server latches onto this port), and measures how late each received packet is against
//! its stream's ideal 20 ms schedule (first arrival plus timestamp difference, shifted so the
//! earliest packet of the stream is on time).
//!
//! `cargo run --release -p parley-media --example rtp_sink -- PORT SECONDS [SKIP_SECONDS]`:
//! listens for SECONDS, ignores lateness in the first SKIP_SECONDS (calls still being set up),
//! then prints one line of figures.

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use parley_media::rtp::RtpPacket;

struct Stream {
    /// Arrival minus ideal time of the first packet, and the first RTP timestamp.
    first: (Instant, u32),
    /// Offsets (arrival - ideal) in microseconds of the packets measured.
    offsets: Vec<i64>,
    reply_seq: u16,
    reply_ts: u32,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = args.get(1).and_then(|a| a.parse().ok()).expect("PORT");
    let seconds: u64 = args.get(2).and_then(|a| a.parse().ok()).expect("SECONDS");
    let skip: u64 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(0);
    let sock = UdpSocket::bind(("127.0.0.1", port)).expect("bind");
    sock.set_read_timeout(Some(Duration::from_millis(100))).expect("timeout");
    let start = Instant::now();
    let measure_from = start + Duration::from_secs(skip);
    let end = start + Duration::from_secs(seconds);
    let mut streams: HashMap<(SocketAddr, u32), Stream> = HashMap::new();
    let mut buf = [0u8; 2048];
    let mut reply = vec![0x80u8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    reply.extend_from_slice(&[0xFFu8; 160]);
    let mut received = 0u64;
    while Instant::now() < end {
        let Ok((n, from)) = sock.recv_from(&mut buf) else { continue };
        let now = Instant::now();
        let Ok(pkt) = RtpPacket::parse(&buf[..n]) else { continue };
        received += 1;
        let s = streams.entry((from, pkt.ssrc)).or_insert(Stream { first: (now, pkt.timestamp), offsets: Vec::new(), reply_seq: 0, reply_ts: 0 });
        let ideal = s.first.0 + Duration::from_micros(u64::from(pkt.timestamp.wrapping_sub(s.first.1)) * 125);
        if now >= measure_from {
            s.offsets.push(now.saturating_duration_since(ideal).as_micros() as i64 - ideal.saturating_duration_since(now).as_micros() as i64);
        }
        // One packet back per packet received: PCMU silence from a fixed SSRC per stream.
        s.reply_seq = s.reply_seq.wrapping_add(1);
        s.reply_ts = s.reply_ts.wrapping_add(160);
        reply[2..4].copy_from_slice(&s.reply_seq.to_be_bytes());
        reply[4..8].copy_from_slice(&s.reply_ts.to_be_bytes());
        reply[8..12].copy_from_slice(&(pkt.ssrc ^ 0x5A5A_5A5A).to_be_bytes());
        let _ = sock.send_to(&reply, from);
    }
    // Lateness per packet: its offset minus the stream's smallest offset.
    let mut late: Vec<i64> = Vec::new();
    for s in streams.values() {
        let Some(min) = s.offsets.iter().min().copied() else { continue };
        late.extend(s.offsets.iter().map(|o| o - min));
    }
    late.sort_unstable();
    let pct = |p: f64| late.get(((late.len() as f64 - 1.0) * p) as usize).copied().unwrap_or(0) as f64 / 1000.0;
    let over5 = late.iter().filter(|l| **l > 5_000).count();
    println!(
        "streams {} packets {} measured {} late>5ms {:.3}% lateness p50 {:.2} ms p99 {:.2} ms max {:.2} ms",
        streams.len(),
        received,
        late.len(),
        100.0 * over5 as f64 / late.len().max(1) as f64,
        pct(0.5),
        pct(0.99),
        late.last().copied().unwrap_or(0) as f64 / 1000.0
    );
}
