//! RTCP (RFC 3550 §6), sans-IO: receiver statistics kept as RTP arrives (sequence tracking and
//! interarrival jitter, Appendix A.1 and A.8), sender reports with reception report blocks and
//! an SDES CNAME as one compound packet, and a parser for what the peer sends (SR, RR, SDES,
//! BYE, anything else skipped) that gives the round-trip time from the peer's report about us.
//!
//! Time comes in as NTP timestamps (64-bit, RFC 3550 §4) computed by the caller from its clock.

use crate::rtp::RtpError;

/// NTP time (seconds since 1900 in the high 32 bits, fraction in the low 32).
pub type Ntp = u64;

/// NTP time of a Unix time in microseconds.
pub fn ntp_from_unix_micros(us: u64) -> Ntp {
    const UNIX_TO_NTP: u64 = 2_208_988_800;
    let secs = us / 1_000_000 + UNIX_TO_NTP;
    let frac = ((us % 1_000_000) << 32) / 1_000_000;
    (secs << 32) | frac
}

/// The middle 32 bits of an NTP time (the LSR / DLSR unit: 1/65536 s).
fn middle(ntp: Ntp) -> u32 {
    (ntp >> 16) as u32
}

/// One reception report block (RFC 3550 §6.4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReportBlock {
    /// The source this block is about.
    pub ssrc: u32,
    /// Fraction lost since the previous report, in 1/256.
    pub fraction_lost: u8,
    /// Packets lost since the start (24-bit signed).
    pub cumulative_lost: i32,
    /// Extended highest sequence number received.
    pub highest_seq: u32,
    /// Interarrival jitter, in timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the last SR received from that source (0: none).
    pub lsr: u32,
    /// Delay since that SR, in 1/65536 s.
    pub dlsr: u32,
}

/// What one received RTCP packet said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RtcpPacket {
    /// Sender report.
    SenderReport {
        /// Sender.
        ssrc: u32,
        /// Its NTP time when sent.
        ntp: Ntp,
        /// The RTP timestamp matching it.
        rtp_timestamp: u32,
        /// Packets sent.
        packets: u32,
        /// Payload octets sent.
        octets: u32,
        /// Reports about sources it receives.
        blocks: Vec<ReportBlock>,
    },
    /// Receiver report.
    ReceiverReport {
        /// Reporter.
        ssrc: u32,
        /// Reports about sources it receives.
        blocks: Vec<ReportBlock>,
    },
    /// Goodbye from these sources.
    Bye(Vec<u32>),
    /// SDES or another type (skipped).
    Other(u8),
}

/// Receiver statistics for one source (RFC 3550 Appendix A.1 and A.8).
#[derive(Clone, Debug, Default)]
pub struct ReceiverStats {
    ssrc: u32,
    started: bool,
    base_seq: u32,
    max_seq: u16,
    cycles: u32,
    received: u32,
    expected_prior: u32,
    received_prior: u32,
    /// Jitter estimate in timestamp units, times 16 (A.8's integer form).
    jitter_q4: u32,
    last_transit: Option<i64>,
    /// The last SR from this source: its middle NTP bits and when we got it.
    last_sr: Option<(u32, Ntp)>,
}

impl ReceiverStats {
    /// Counts one RTP packet: its SSRC, sequence number and timestamp, and its arrival time in
    /// timestamp units (8 kHz: arrival microseconds × 8 / 1000).
    pub fn on_rtp(&mut self, ssrc: u32, seq: u16, rtp_ts: u32, arrival_ts: u32) {
        if !self.started || ssrc != self.ssrc {
            *self = ReceiverStats { ssrc, started: true, base_seq: u32::from(seq), max_seq: seq, ..ReceiverStats::default() };
        } else {
            let delta = seq.wrapping_sub(self.max_seq);
            if delta < 0x8000 {
                if seq < self.max_seq {
                    self.cycles += 1 << 16;
                }
                self.max_seq = seq;
            }
        }
        self.received += 1;
        let transit = i64::from(arrival_ts) - i64::from(rtp_ts);
        if let Some(last) = self.last_transit {
            let d = (transit - last).unsigned_abs().min(u64::from(u32::MAX)) as u32;
            // J += (|D| - J) / 16, kept times 16.
            self.jitter_q4 = self.jitter_q4.wrapping_add(d).wrapping_sub((self.jitter_q4 + 8) >> 4);
        }
        self.last_transit = Some(transit);
    }

    /// Notes a sender report from this source, received at `now`.
    pub fn on_sender_report(&mut self, ntp: Ntp, now: Ntp) {
        self.last_sr = Some((middle(ntp), now));
    }

    /// Packets received and lost so far.
    pub fn totals(&self) -> (u32, i64) {
        let expected = self.extended_max().wrapping_sub(self.base_seq).wrapping_add(1);
        (self.received, i64::from(expected) - i64::from(self.received))
    }

    /// Interarrival jitter in timestamp units.
    pub fn jitter(&self) -> u32 {
        self.jitter_q4 >> 4
    }

    fn extended_max(&self) -> u32 {
        self.cycles + u32::from(self.max_seq)
    }

    /// A report block about this source as of `now`, and the start of the next interval.
    pub fn report(&mut self, now: Ntp) -> Option<ReportBlock> {
        if !self.started {
            return None;
        }
        let expected = self.extended_max().wrapping_sub(self.base_seq).wrapping_add(1);
        let lost = i64::from(expected) - i64::from(self.received);
        let expected_interval = expected.wrapping_sub(self.expected_prior);
        let received_interval = self.received.wrapping_sub(self.received_prior);
        self.expected_prior = expected;
        self.received_prior = self.received;
        let lost_interval = i64::from(expected_interval) - i64::from(received_interval);
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 { 0 } else { ((lost_interval << 8) / i64::from(expected_interval)).min(255) as u8 };
        let (lsr, dlsr) = match self.last_sr {
            Some((lsr, at)) => (lsr, middle(now.saturating_sub(at))),
            None => (0, 0),
        };
        Some(ReportBlock {
            ssrc: self.ssrc,
            fraction_lost,
            cumulative_lost: lost.clamp(-0x80_0000, 0x7F_FFFF) as i32,
            highest_seq: self.extended_max(),
            jitter: self.jitter(),
            lsr,
            dlsr,
        })
    }
}

/// What we have sent, for the sender info of an SR.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SenderInfo {
    /// NTP time now.
    pub ntp: Ntp,
    /// The RTP timestamp of that instant.
    pub rtp_timestamp: u32,
    /// Packets sent.
    pub packets: u32,
    /// Payload octets sent.
    pub octets: u32,
}

fn push_block(out: &mut Vec<u8>, b: &ReportBlock) {
    out.extend_from_slice(&b.ssrc.to_be_bytes());
    let lost = (b.cumulative_lost as u32) & 0x00FF_FFFF;
    out.extend_from_slice(&((u32::from(b.fraction_lost) << 24) | lost).to_be_bytes());
    for v in [b.highest_seq, b.jitter, b.lsr, b.dlsr] {
        out.extend_from_slice(&v.to_be_bytes());
    }
}

/// A compound packet: an SR (when `sender` is given) or RR with `block`, then SDES CNAME.
pub fn compound(ssrc: u32, sender: Option<SenderInfo>, block: Option<ReportBlock>, cname: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(80);
    let count = u8::from(block.is_some());
    let pt = if sender.is_some() { 200 } else { 201 };
    let words = 1 + if sender.is_some() { 5 } else { 0 } + 6 * usize::from(count);
    out.extend_from_slice(&[0x80 | count, pt]);
    out.extend_from_slice(&(words as u16).to_be_bytes());
    out.extend_from_slice(&ssrc.to_be_bytes());
    if let Some(s) = sender {
        out.extend_from_slice(&s.ntp.to_be_bytes());
        for v in [s.rtp_timestamp, s.packets, s.octets] {
            out.extend_from_slice(&v.to_be_bytes());
        }
    }
    if let Some(b) = block {
        push_block(&mut out, &b);
    }
    // SDES with one chunk: SSRC, CNAME item, end, padded to 32 bits.
    let cname = &cname.as_bytes()[..cname.len().min(255)];
    let mut chunk = ssrc.to_be_bytes().to_vec();
    chunk.extend_from_slice(&[1, cname.len() as u8]);
    chunk.extend_from_slice(cname);
    chunk.push(0);
    while !chunk.len().is_multiple_of(4) {
        chunk.push(0);
    }
    out.extend_from_slice(&[0x81, 202]);
    out.extend_from_slice(&((chunk.len() / 4) as u16).to_be_bytes());
    out.extend_from_slice(&chunk);
    out
}

fn blocks(data: &[u8], count: usize) -> Result<Vec<ReportBlock>, RtpError> {
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let b = data.get(i * 24..i * 24 + 24).ok_or(RtpError::Truncated)?;
        let w = |n: usize| u32::from_be_bytes([b[n], b[n + 1], b[n + 2], b[n + 3]]);
        let lost = w(4) & 0x00FF_FFFF;
        out.push(ReportBlock {
            ssrc: w(0),
            fraction_lost: b[4],
            cumulative_lost: ((lost << 8) as i32) >> 8,
            highest_seq: w(8),
            jitter: w(12),
            lsr: w(16),
            dlsr: w(20),
        });
    }
    Ok(out)
}

/// Parses a compound RTCP packet.
pub fn parse(data: &[u8]) -> Result<Vec<RtcpPacket>, RtpError> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        if rest.len() < 4 {
            return Err(RtpError::Truncated);
        }
        if rest[0] >> 6 != 2 {
            return Err(RtpError::Version);
        }
        let count = usize::from(rest[0] & 0x1F);
        let pt = rest[1];
        let len = (usize::from(u16::from_be_bytes([rest[2], rest[3]])) + 1) * 4;
        let body = rest.get(4..len).ok_or(RtpError::Truncated)?;
        let word = |n: usize| body.get(n..n + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]])).ok_or(RtpError::Truncated);
        out.push(match pt {
            200 => RtcpPacket::SenderReport {
                ssrc: word(0)?,
                ntp: (u64::from(word(4)?) << 32) | u64::from(word(8)?),
                rtp_timestamp: word(12)?,
                packets: word(16)?,
                octets: word(20)?,
                blocks: blocks(body.get(24..).unwrap_or_default(), count)?,
            },
            201 => RtcpPacket::ReceiverReport { ssrc: word(0)?, blocks: blocks(body.get(4..).unwrap_or_default(), count)? },
            203 => RtcpPacket::Bye((0..count).map(|i| word(i * 4)).collect::<Result<_, _>>()?),
            other => RtcpPacket::Other(other),
        });
        rest = &rest[len..];
    }
    Ok(out)
}

/// Round-trip time in microseconds from a report block about us received at `now` (RFC 3550
/// §6.4.1: now - LSR - DLSR), if the block refers to an SR of ours.
pub fn round_trip_micros(block: &ReportBlock, now: Ntp) -> Option<u64> {
    if block.lsr == 0 {
        return None;
    }
    let rtt = middle(now).wrapping_sub(block.lsr).wrapping_sub(block.dlsr);
    (rtt < 0x8000_0000).then(|| u64::from(rtt) * 1_000_000 / 65_536)
}

/// Reports every this many microseconds (RFC 3550 §6.2's minimum of 5 s; one peer).
const REPORT_INTERVAL_US: u64 = 5_000_000;

/// One call's RTCP: what we sent, what we received, when to report, and the round-trip time
/// the peer's reports give. Times are microseconds since the call started; NTP times for the
/// wire come from the caller.
#[derive(Clone, Debug)]
pub struct RtcpSession {
    ssrc: u32,
    cname: String,
    packets: u32,
    octets: u32,
    stats: ReceiverStats,
    next_report_us: u64,
    rtt_us: Option<u64>,
    /// The stream's RTP clock in kHz (8 for G.711, 48 for Opus).
    clock_khz: u64,
}

impl RtcpSession {
    /// A session for our `ssrc` and `cname`; the first report goes out after half an interval.
    pub fn new(ssrc: u32, cname: String) -> RtcpSession {
        RtcpSession { ssrc, cname, packets: 0, octets: 0, stats: ReceiverStats::default(), next_report_us: REPORT_INTERVAL_US / 2, rtt_us: None, clock_khz: 8 }
    }

    /// The stream's RTP clock rate in Hz (8000 unless set; 48000 for Opus), for jitter.
    pub fn with_clock_rate(mut self, hz: u32) -> RtcpSession {
        self.clock_khz = u64::from((hz / 1000).max(1));
        self
    }

    /// We sent an RTP packet with this much payload.
    pub fn on_sent(&mut self, payload_len: usize) {
        self.packets = self.packets.wrapping_add(1);
        self.octets = self.octets.wrapping_add(payload_len as u32);
    }

    /// An RTP packet arrived at `now_us`.
    pub fn on_received(&mut self, ssrc: u32, seq: u16, rtp_ts: u32, now_us: u64) {
        let arrival_ts = (now_us * self.clock_khz / 1000) as u32;
        self.stats.on_rtp(ssrc, seq, rtp_ts, arrival_ts);
    }

    /// An RTCP packet arrived at NTP time `now`; malformed ones are ignored.
    pub fn on_rtcp(&mut self, data: &[u8], now: Ntp) {
        let Ok(packets) = parse(data) else { return };
        for p in packets {
            let blocks = match p {
                RtcpPacket::SenderReport { ntp, blocks, .. } => {
                    self.stats.on_sender_report(ntp, now);
                    blocks
                }
                RtcpPacket::ReceiverReport { blocks, .. } => blocks,
                _ => continue,
            };
            if let Some(rtt) = blocks.iter().filter(|b| b.ssrc == self.ssrc).find_map(|b| round_trip_micros(b, now)) {
                self.rtt_us = Some(rtt);
            }
        }
    }

    /// Whether a report is due at `now_us` (cheap; check it before computing the clock and
    /// randomness [`RtcpSession::poll_report`] takes).
    pub fn report_due(&self, now_us: u64) -> bool {
        now_us >= self.next_report_us
    }

    /// The compound report to send now, if one is due: an SR (we always send) with a block
    /// about the peer once it has sent. `factor` (0.5 to 1.5, random) spreads the intervals.
    pub fn poll_report(&mut self, now_us: u64, now: Ntp, rtp_timestamp: u32, factor: f64) -> Option<Vec<u8>> {
        if now_us < self.next_report_us {
            return None;
        }
        self.next_report_us = now_us + (REPORT_INTERVAL_US as f64 * factor.clamp(0.5, 1.5)) as u64;
        let sender = SenderInfo { ntp: now, rtp_timestamp, packets: self.packets, octets: self.octets };
        Some(compound(self.ssrc, Some(sender), self.stats.report(now), &self.cname))
    }

    /// Packets received, packets lost, jitter (ms), and the last round-trip time (ms).
    pub fn quality(&self) -> (u32, i64, f64, Option<f64>) {
        let (received, lost) = self.stats.totals();
        (received, lost, f64::from(self.stats.jitter()) / self.clock_khz as f64, self.rtt_us.map(|us| us as f64 / 1000.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_and_sequence_wrap_are_counted() {
        let mut s = ReceiverStats::default();
        // 65530..=65535, then 0..=9 skipping 3, 4, 5: 16 expected... minus 3 lost.
        let seqs: Vec<u16> = (65530..=65535).chain((0..10).filter(|n| !(3..6).contains(n))).collect();
        for (i, seq) in seqs.iter().enumerate() {
            s.on_rtp(7, *seq, i as u32 * 160, i as u32 * 160);
        }
        let b = s.report(0).unwrap();
        assert_eq!(b.highest_seq, (1 << 16) + 9, "one wrap");
        assert_eq!(b.cumulative_lost, 3);
        assert_eq!(b.fraction_lost, (3 * 256 / 16) as u8);
        assert_eq!(s.totals(), (13, 3));
        assert_eq!(s.report(0).unwrap().fraction_lost, 0, "nothing lost in the next interval");
    }

    #[test]
    fn jitter_follows_the_transit_time_variation() {
        let mut s = ReceiverStats::default();
        for i in 0..200u32 {
            let wobble = if i % 2 == 0 { 0 } else { 40 }; // 5 ms late every other packet
            s.on_rtp(1, i as u16, i * 160, i * 160 + wobble);
        }
        assert!((36..=40).contains(&s.jitter()), "converges to |D| = 40: {}", s.jitter());
    }

    #[test]
    fn compound_reports_round_trip_and_give_the_rtt() {
        let t = ntp_from_unix_micros(1_796_000_000_000_000);
        let mut stats = ReceiverStats::default();
        stats.on_rtp(0xCAFE, 100, 0, 0);
        stats.on_sender_report(t, t);
        let block = stats.report(t + (1 << 30)).unwrap(); // a quarter second later
        let sender = SenderInfo { ntp: t, rtp_timestamp: 8000, packets: 50, octets: 8000 };
        let bytes = compound(0xBEEF, Some(sender), Some(block), "parley@example");
        let parsed = parse(&bytes).unwrap();
        assert_eq!(parsed.len(), 2);
        let RtcpPacket::SenderReport { ssrc, ntp, packets, blocks, .. } = &parsed[0] else { panic!("{parsed:?}") };
        assert_eq!((*ssrc, *ntp, *packets), (0xBEEF, t, 50));
        assert_eq!(blocks[0], block);
        assert_eq!(parsed[1], RtcpPacket::Other(202));
        // The peer got our SR at t, reported 0.25 s later; we hear back 0.35 s after t: 100 ms.
        let rtt = round_trip_micros(&block, t + (1 << 30) + ((1u64 << 32) / 10)).unwrap();
        assert!((99_900..=100_100).contains(&rtt), "{rtt}");
        let rr = compound(1, None, None, "x");
        assert!(matches!(parse(&rr).unwrap()[0], RtcpPacket::ReceiverReport { ssrc: 1, ref blocks } if blocks.is_empty()));
    }

    #[test]
    fn a_session_reports_every_interval_and_learns_the_rtt() {
        let t0 = ntp_from_unix_micros(1_796_000_000_000_000);
        let at = |us: u64| t0 + (us << 32) / 1_000_000;
        let mut ours = RtcpSession::new(0xAAAA, "parley@127.0.0.1".into());
        assert!(!ours.report_due(2_000_000) && ours.poll_report(2_000_000, at(2_000_000), 0, 1.0).is_none(), "not before 2.5 s");
        assert!(ours.report_due(2_500_000));
        for i in 0..150u32 {
            ours.on_sent(160);
            ours.on_received(0xBBBB, i as u16, i * 160, u64::from(i) * 20_000);
        }
        let sr = ours.poll_report(3_000_000, at(3_000_000), 24_000, 1.0).unwrap();
        assert!(ours.poll_report(4_000_000, at(4_000_000), 0, 1.0).is_none(), "next one 5 s later");
        let parsed = parse(&sr).unwrap();
        let RtcpPacket::SenderReport { packets, octets, ref blocks, .. } = parsed[0] else { panic!() };
        assert_eq!((packets, octets), (150, 24_000));
        assert_eq!((blocks[0].ssrc, blocks[0].highest_seq, blocks[0].cumulative_lost), (0xBBBB, 149, 0));
        // The peer answers 40 ms later with an RR about us, holding our SR 10 ms: RTT 30 ms.
        let RtcpPacket::SenderReport { ntp, .. } = parsed[0] else { panic!() };
        let mut theirs = ReceiverStats::default();
        theirs.on_rtp(0xAAAA, 1, 0, 0);
        theirs.on_sender_report(ntp, at(3_000_000 + 10_000));
        let rr = compound(0xBBBB, None, theirs.report(at(3_000_000 + 20_000)), "peer");
        ours.on_rtcp(&rr, at(3_000_000 + 40_000));
        let (received, lost, jitter_ms, rtt_ms) = ours.quality();
        assert_eq!((received, lost), (150, 0));
        assert!(jitter_ms < 0.5, "{jitter_ms}");
        assert!((29.0..31.0).contains(&rtt_ms.unwrap()), "{rtt_ms:?}");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bad in [&[0x80u8, 200, 0, 6, 1, 2][..], &[0x40, 201, 0, 0], &[0x81, 201, 0, 1, 0, 0, 0, 1], &[0x80], &[0x9F, 203, 0, 1, 0, 0, 0, 1]] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse(&[0x80, 204, 0, 0]).unwrap(), vec![RtcpPacket::Other(204)]);
        // Every truncation and every single-byte change of a real compound packet.
        let block = ReportBlock { ssrc: 9, fraction_lost: 3, cumulative_lost: -2, highest_seq: 70_000, jitter: 12, lsr: 5, dlsr: 6 };
        let good = compound(7, Some(SenderInfo { ntp: 1 << 40, rtp_timestamp: 8, packets: 9, octets: 10 }), Some(block), "cname");
        for n in 0..good.len() {
            let _ = parse(&good[..n]);
            for bit in [0x01u8, 0x80, 0xFF] {
                let mut bad = good.clone();
                bad[n] ^= bit;
                let _ = parse(&bad);
            }
        }
    }
}
