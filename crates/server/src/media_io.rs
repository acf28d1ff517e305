//! How a call's audio travels: RTP over UDP for SIP calls, or the messages of a Twilio Media
//! Stream. The call task sees only 20 ms frames of PCM and keypad keys coming in, and 20 ms
//! frames going out; each transport does its own framing, DTMF and statistics.

use parley_media::cn::ComfortNoise;
use parley_media::dtmf::{Digit, DtmfReceiver, DtmfSender};
use crate::codec::Codec;
use parley_media::rtcp::{Ntp, RtcpSession};
use parley_media::rtp::{is_rtcp, RtpPacket};
use parley_media::srtp;
use parley_sip::sdp::{Direction, Negotiated};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// What arrives from the caller.
#[derive(Debug)]
pub enum MediaIn {
    /// 20 ms of audio with its sequence number.
    Audio(u16, Vec<i16>),
    /// A keypad key.
    Key(char),
    /// The transport is gone (the stream stopped).
    Closed,
}

/// Call quality as the transport measured it: packets received, lost, jitter (ms), round trip (ms).
pub type Quality = (u32, i64, f64, Option<f64>);

/// A call's transport.
pub enum Media {
    /// RTP over UDP (SIP calls).
    Rtp(Box<RtpLeg>),
    /// A Twilio Media Stream (WebSocket).
    Stream(crate::twilio::StreamLeg),
    /// A browser's WebRTC connection (the console's "Call").
    Browser(crate::webrtc::BrowserLeg),
}

impl std::fmt::Debug for Media {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Media::Rtp(_) => "Media::Rtp",
            Media::Stream(_) => "Media::Stream",
            Media::Browser(_) => "Media::Browser",
        })
    }
}

impl Media {
    /// The next thing from the caller (cancel-safe).
    pub async fn recv(&mut self) -> MediaIn {
        match self {
            Media::Rtp(leg) => leg.recv().await,
            Media::Stream(leg) => leg.recv().await,
            Media::Browser(leg) => leg.recv().await,
        }
    }

    /// Sends one 20 ms frame with RTP timestamp offset `ts`; `marker`: the start of a talk spurt.
    /// Returns whether it was sent (not on hold).
    pub async fn send(&mut self, frame: &[i16], ts: u32, marker: bool) -> bool {
        match self {
            Media::Rtp(leg) => leg.send(frame, ts, marker).await,
            Media::Stream(leg) => leg.send(frame),
            Media::Browser(leg) => leg.send(frame),
        }
    }

    /// The caller started talking over the agent: drop what the far end has buffered.
    pub fn barge_in(&mut self) {
        if let Media::Stream(leg) = self {
            leg.clear();
        }
    }

    /// A re-offer was answered in `direction`.
    pub fn reoffer(&mut self, sdp: &[u8], direction: Direction) {
        if let Media::Rtp(leg) = self {
            leg.reoffer(sdp, direction);
        }
    }

    /// Sends a keypad key to the far end (RFC 4733, when it accepted telephone-event); false
    /// when it cannot be sent.
    pub fn send_key(&mut self, key: char) -> bool {
        match (self, Digit::from_char(key)) {
            (Media::Rtp(leg), Some(d)) if leg.negotiated.telephone_event.is_some() => {
                leg.keys_out.push(d);
                true
            }
            _ => false,
        }
    }

    /// A frame of comfort noise when the peer has gone quiet after a CN packet (RFC 3389) and
    /// nothing newer has come for 60 ms; `None` otherwise.
    pub fn comfort_frame(&mut self, now: Instant) -> Option<Vec<i16>> {
        match self {
            Media::Rtp(leg) if leg.in_comfort_noise.is_some_and(|since| now.saturating_duration_since(since) >= std::time::Duration::from_millis(60)) => {
                Some(leg.comfort_noise.frame(160))
            }
            _ => None,
        }
    }

    /// Whether the media is SRTP.
    pub fn srtp(&self) -> bool {
        matches!(self, Media::Rtp(leg) if leg.srtp.is_some())
    }

    /// Quality figures for the call-ended log.
    pub fn quality(&self) -> Quality {
        match self {
            Media::Rtp(leg) => leg.rtcp.quality(),
            Media::Stream(leg) => leg.quality(),
            Media::Browser(leg) => leg.quality(),
        }
    }
}

/// Microseconds since `t0`.
fn micros(t0: Instant) -> u64 {
    Instant::now().saturating_duration_since(t0).as_micros() as u64
}

/// The wall clock as an NTP time, for RTCP.
fn ntp_now() -> Ntp {
    let us = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0);
    parley_media::rtcp::ntp_from_unix_micros(us)
}

/// RTP over UDP: symmetric RTP (latching), RFC 4733 keys, RTCP reports.
pub struct RtpLeg {
    socket: UdpSocket,
    negotiated: Negotiated,
    codec: Codec,
    remote: std::net::SocketAddr,
    /// Where the SDP said media comes from (latching may have moved `remote` since).
    offered_remote: std::net::SocketAddr,
    latched: bool,
    /// On hold (our direction recvonly or inactive): nothing is sent.
    sending: bool,
    ssrc: u32,
    seq: u16,
    ts_base: u32,
    rtcp: RtcpSession,
    dtmf: DtmfReceiver,
    /// Keys we send (RFC 4733), taking the place of audio frames.
    keys_out: DtmfSender,
    /// The noise a peer that stops sending in silence asks for (RFC 3389).
    comfort_noise: ComfortNoise,
    /// When the last packet, a CN one, arrived (cleared by audio).
    in_comfort_noise: Option<Instant>,
    t0: Instant,
    buf: Vec<u8>,
    out: Vec<u8>,
    payload: Vec<u8>,
    /// SRTP (SDES): the peer's context for what arrives, ours for what we send.
    srtp: Option<Box<SrtpPair>>,
    /// Plain or sealed packets passing through SRTP.
    crypt: Vec<u8>,
}

/// The two directions of an SRTP session.
struct SrtpPair {
    inbound: srtp::Context,
    outbound: srtp::Context,
}

impl RtpLeg {
    /// A leg on `socket` for the negotiated media, with the call's start `t0`.
    pub fn new(socket: UdpSocket, negotiated: Negotiated, t0: Instant) -> RtpLeg {
        let clock_rate = negotiated.clock_rate.max(8000);
        let ssrc: u32 = rand::random();
        let cname = format!("parley@{}", socket.local_addr().map(|a| a.ip().to_string()).unwrap_or_default());
        RtpLeg {
            codec: Codec::for_encoding(&negotiated.encoding),
            remote: negotiated.remote,
            offered_remote: negotiated.remote,
            negotiated,
            socket,
            latched: false,
            sending: true,
            ssrc,
            seq: rand::random(),
            ts_base: rand::random(),
            rtcp: RtcpSession::new(ssrc, cname).with_clock_rate(clock_rate),
            dtmf: DtmfReceiver::default(),
            keys_out: DtmfSender::default(),
            comfort_noise: ComfortNoise::default(),
            in_comfort_noise: None,
            t0,
            buf: vec![0u8; 2048],
            out: Vec::with_capacity(200),
            payload: Vec::with_capacity(160),
            srtp: None,
            crypt: Vec::with_capacity(220),
        }
    }

    /// Encrypts the leg (SRTP with SDES): the peer sends with the key in its offer, we with
    /// `our_key` (the one in our answer). No-op when the offer had no key.
    pub fn with_srtp(mut self, our_key: Option<&[u8; srtp::MASTER_LEN]>) -> RtpLeg {
        let theirs = self.negotiated.srtp.as_ref().and_then(|s| Some((srtp::Suite::parse(&s.suite)?, s.key)));
        if let (Some((suite, their_key)), Some(ours)) = (theirs, our_key) {
            self.srtp = Some(Box::new(SrtpPair { inbound: srtp::Context::new(suite, &their_key), outbound: srtp::Context::new(suite, ours) }));
        }
        self
    }

    async fn recv(&mut self) -> MediaIn {
        loop {
            let Ok((n, from)) = self.socket.recv_from(&mut self.buf).await else { continue };
            let mut data = &self.buf[..n];
            if let Some(keys) = self.srtp.as_mut() {
                // Nothing unauthenticated is read, latched onto or counted.
                let opened = if is_rtcp(data) { keys.inbound.unprotect_rtcp(data, &mut self.crypt) } else { keys.inbound.unprotect_rtp(data, &mut self.crypt) };
                if opened.is_err() {
                    continue;
                }
                data = &self.crypt;
            }
            if is_rtcp(data) {
                self.rtcp.on_rtcp(data, ntp_now());
                continue;
            }
            let Ok(pkt) = RtpPacket::parse(data) else { continue };
            self.rtcp.on_received(pkt.ssrc, pkt.sequence, pkt.timestamp, micros(self.t0));
            if !self.latched || from != self.remote {
                // Symmetric RTP: send to where the caller's media really comes from.
                self.remote = from;
                self.latched = true;
            }
            if Some(pkt.payload_type) == self.negotiated.telephone_event {
                if let Some(d) = self.dtmf.on_packet(pkt.timestamp, pkt.payload) {
                    return MediaIn::Key(d.as_char());
                }
            } else if Some(pkt.payload_type) == self.negotiated.comfort_noise {
                // Silence from here on: one frame of noise at the peer's level, which the
                // jitter buffer repeats over the gap until audio resumes.
                self.comfort_noise.on_packet(pkt.payload);
                self.in_comfort_noise = Some(Instant::now());
                return MediaIn::Audio(pkt.sequence, self.comfort_noise.frame(160));
            } else if pkt.payload_type == self.negotiated.payload_type {
                self.in_comfort_noise = None;
                let mut pcm = Vec::with_capacity(160);
                self.codec.decode(pkt.payload, &mut pcm);
                if pcm.is_empty() {
                    continue;
                }
                return MediaIn::Audio(pkt.sequence, pcm);
            }
        }
    }

    async fn send(&mut self, frame: &[i16], ts: u32, marker: bool) -> bool {
        if !self.sending {
            return false;
        }
        self.payload.clear();
        let timestamp = self.ts_base.wrapping_add(ts.wrapping_mul(self.codec.clock_factor()));
        // A key being sent takes the slot of the audio frame.
        let event = self.negotiated.telephone_event.and_then(|pt| self.keys_out.next(timestamp).map(|e| (pt, e)));
        let (payload_type, marker, timestamp) = match event {
            Some((pt, e)) => {
                self.payload.extend_from_slice(&e.payload);
                (pt, e.marker, e.timestamp)
            }
            None => {
                self.codec.encode(frame, &mut self.payload);
                (self.negotiated.payload_type, marker, timestamp)
            }
        };
        let pkt = RtpPacket { marker, payload_type, sequence: self.seq, timestamp, ssrc: self.ssrc, payload: &self.payload };
        pkt.write(&mut self.out);
        let wire = match self.srtp.as_mut().map(|keys| keys.outbound.protect_rtp(&self.out, &mut self.crypt)) {
            Some(Ok(())) => &self.crypt,
            Some(Err(_)) => return false,
            None => &self.out,
        };
        let _ = self.socket.send_to(wire, self.remote).await;
        self.seq = self.seq.wrapping_add(1);
        self.rtcp.on_sent(self.payload.len());
        let now_us = micros(self.t0);
        if self.rtcp.report_due(now_us) {
            if let Some(report) = self.rtcp.poll_report(now_us, ntp_now(), timestamp, 0.5 + rand::random::<f64>()) {
                let to = if self.negotiated.rtcp_mux { self.remote } else { self.negotiated.rtcp };
                let wire = match self.srtp.as_mut().map(|keys| keys.outbound.protect_rtcp(&report, &mut self.crypt)) {
                    Some(Ok(())) => &self.crypt[..],
                    Some(Err(_)) => return true,
                    None => &report[..],
                };
                let _ = self.socket.send_to(wire, to).await;
            }
        }
        true
    }

    fn reoffer(&mut self, sdp: &[u8], direction: Direction) {
        self.sending = matches!(direction, Direction::SendRecv | Direction::SendOnly);
        // A new address (a PBX re-routing the media) is followed, and latched again.
        let offer = parley_sip::sdp::parse(sdp);
        let ours = (self.negotiated.encoding.clone(), self.negotiated.clock_rate);
        let still_ours = offer.as_ref().is_ok_and(|o| {
            o.media.iter().filter(|m| m.kind == "audio" && m.port != 0).any(|m| m.formats.iter().any(|&p| m.encoding(p).as_ref() == Some(&ours)))
        });
        if let Ok(n) = offer.and_then(|s| parley_sip::sdp::negotiate(&s)) {
            // A codec change (the re-offer dropped ours; our answer took its codec): encode and
            // decode with the new one.
            if !still_ours {
                tracing::info!("codec changed by a re-offer");
                self.codec = Codec::for_encoding(&n.encoding);
                self.negotiated.payload_type = n.payload_type;
                self.negotiated.encoding.clone_from(&n.encoding);
                self.negotiated.clock_rate = n.clock_rate;
                self.negotiated.telephone_event = n.telephone_event;
                self.negotiated.comfort_noise = n.comfort_noise;
            }
            if n.remote != self.offered_remote {
                self.offered_remote = n.remote;
                self.remote = n.remote;
                self.latched = false;
            }
        }
        tracing::info!(sending = self.sending, "media re-offered");
    }
}

/// Forwards `MediaIn` from a transport task; `Closed` once the task is gone.
pub async fn recv_from(rx: &mut mpsc::Receiver<MediaIn>) -> MediaIn {
    rx.recv().await.unwrap_or(MediaIn::Closed)
}
