//! A phone that suppresses silence (RFC 3389): it offers comfort noise, speaks, sends one CN
//! packet and then nothing. Parley answers with CN in its SDP and plays the noise to its
//! endpointer, so the caller's turn ends and the agent answers, although no audio packet
//! follows the question. The turn's latency lands in the `/metrics` histograms.

use crate::common;

use std::time::{Duration, Instant};

use common::{caller_wav, invite_with_formats, Part, Server};

#[test]
fn the_turn_ends_on_comfort_noise() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path(), &[]);
    let wav = caller_wav(tmp.path(), &[Part::Say("What are your opening hours?")]);
    let question = common::wav_pcm(&wav);

    let srv = format!("127.0.0.1:{}", server.sip_port);
    let (code, leg) = invite_with_formats(&srv, "cn-1", "+15550100021", "demo", "demo", "", "0 13 101", "a=rtpmap:13 CN/8000\r\n");
    assert_eq!(code, 200);
    let mut leg = leg.unwrap();
    // The greeting plays; we stay quiet (comfort noise) while it does.
    leg.comfort_noise(70);
    std::thread::sleep(Duration::from_secs(10));
    leg.speak(&question);
    leg.comfort_noise(70);

    // The agent's answer: loud packets within 15 s, with nothing more sent by us (what came
    // before, the greeting, is read away first).
    let (rtp, _) = leg.rtp_socket();
    rtp.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 2048];
    while rtp.recv(&mut buf).is_ok() {}
    rtp.set_nonblocking(false).unwrap();
    rtp.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    let start = Instant::now();
    let mut loud = 0;
    while start.elapsed() < Duration::from_secs(15) && loud < 50 {
        if let Ok(n) = rtp.recv(&mut buf) {
            if n > 12 && buf[1] & 0x7f == 0 {
                let e: f64 = buf[12..n].iter().map(|&b| f64::from(parley_media::g711::ulaw_to_linear(b)).powi(2)).sum::<f64>() / (n - 12) as f64;
                if e.sqrt() > 500.0 {
                    loud += 1;
                }
            }
        }
    }
    assert!(loud >= 50, "the agent answered the question after comfort noise: {loud} loud packets\n{}", server.log_text().lines().filter(|l| l.contains("turn")).collect::<Vec<_>>().join("\n"));
    assert!(server.log_text().contains("\"turn latency\""), "a turn was taken");
    let metrics = common::http_get(server.http_port, "/metrics");
    let count = |part: &str| metrics.lines().find_map(|l| l.strip_prefix(&format!("parley_turn_seconds_count{{part=\"{part}\"}} "))).and_then(|v| v.parse::<u64>().ok());
    assert!(count("voice_to_voice").is_some_and(|n| n >= 1), "{metrics}");
    assert_eq!(count("voice_to_voice"), count("end_of_turn"), "every part of every turn is counted");
}
