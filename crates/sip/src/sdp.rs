//! SDP (RFC 4566) parsing and the answerer side of offer/answer (RFC 3264) for one audio stream.
//!
//! Parley answers audio with G.711 (PCMU or PCMA), G.722 or Opus (RFC 7587), in the offerer's
//! order of preference,
//! RFC 3389 comfort noise and RFC 4733 telephone-event when offered. Other media lines are answered with port 0. Offers of
//! `RTP/SAVP` with an SDES key (RFC 4568 `a=crypto`, `AES_CM_128_HMAC_SHA1_80` or `_32`, no
//! MKI) are answered with our own key for the same suite ([`answer`] takes it).

use std::net::{IpAddr, SocketAddr};

/// Why an SDP body cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum SdpError {
    /// A line is not `x=value`, or a field does not parse.
    #[error("malformed SDP line {0}")]
    Syntax(usize),
    /// No connection address for the audio stream.
    #[error("no connection address")]
    NoConnection,
    /// No audio stream with a codec Parley supports (answer 488).
    #[error("no acceptable audio codec")]
    NoCodec,
}

/// Media direction attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// a=sendrecv (the default)
    SendRecv,
    /// a=sendonly
    SendOnly,
    /// a=recvonly
    RecvOnly,
    /// a=inactive
    Inactive,
}

impl Direction {
    pub(crate) fn answer(self) -> Direction {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            d => d,
        }
    }

    pub(crate) fn attr(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }
}

/// One `m=` line with its attributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Media {
    /// `audio`, `video`, ...
    pub kind: String,
    /// Transport port.
    pub port: u16,
    /// `RTP/AVP`, `RTP/SAVP`, ...
    pub proto: String,
    /// Payload types in offer order.
    pub formats: Vec<u8>,
    /// `a=rtpmap` entries: payload type, encoding name, clock rate.
    pub rtpmaps: Vec<(u8, String, u32)>,
    /// Media-level `c=` address, if any.
    pub connection: Option<IpAddr>,
    /// Direction attribute.
    pub direction: Direction,
    /// `a=ptime`, if given.
    pub ptime: Option<u32>,
    /// `a=rtcp-mux` (RFC 5761): RTCP on the RTP port.
    pub rtcp_mux: bool,
    /// `a=rtcp:PORT` (RFC 3605): where RTCP goes when not muxed.
    pub rtcp_port: Option<u16>,
    /// Usable `a=crypto` lines (RFC 4568), in offer order.
    pub crypto: Vec<Sdes>,
}

/// An SDES key: `a=crypto:<tag> <suite> inline:<key||salt base64>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Sdes {
    /// The crypto attribute's tag (the answer uses the same).
    pub tag: u32,
    /// `AES_CM_128_HMAC_SHA1_80` or `AES_CM_128_HMAC_SHA1_32`.
    pub suite: String,
    /// 16 bytes of master key, then 14 of master salt.
    pub key: [u8; 30],
}

impl std::fmt::Debug for Sdes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sdes").field("tag", &self.tag).field("suite", &self.suite).finish_non_exhaustive()
    }
}

/// Suites Parley answers.
pub const SDES_SUITES: &[&str] = &["AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32"];

/// An `a=crypto` value we can use: a known suite, one inline key of 30 bytes, no MKI and no
/// session parameters.
fn parse_crypto(arg: &str) -> Option<Sdes> {
    use base64::Engine;
    let mut f = arg.split_ascii_whitespace();
    let tag = f.next()?.parse().ok()?;
    let suite = f.next()?;
    let params = f.next()?;
    if f.next().is_some() || !SDES_SUITES.contains(&suite) || params.contains(';') {
        return None;
    }
    let mut parts = params.strip_prefix("inline:")?.split('|');
    let key = base64::engine::general_purpose::STANDARD.decode(parts.next()?).ok()?;
    // A lifetime may follow; an MKI (`n:len`) may not.
    if parts.any(|p| p.contains(':')) {
        return None;
    }
    Some(Sdes { tag, suite: suite.to_string(), key: key.try_into().ok()? })
}

impl Media {
    /// Encoding name and clock rate of a payload type (static types per RFC 3551).
    pub fn encoding(&self, pt: u8) -> Option<(String, u32)> {
        if let Some((_, name, rate)) = self.rtpmaps.iter().find(|(p, _, _)| *p == pt) {
            return Some((name.to_ascii_uppercase(), *rate));
        }
        match pt {
            0 => Some(("PCMU".into(), 8000)),
            8 => Some(("PCMA".into(), 8000)),
            9 => Some(("G722".into(), 8000)),
            13 => Some(("CN".into(), 8000)),
            _ => None,
        }
    }
}

/// A parsed session description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// Session-level `c=` address.
    pub connection: Option<IpAddr>,
    /// Media lines in order.
    pub media: Vec<Media>,
}

/// Parses an SDP body.
pub fn parse(body: &[u8]) -> Result<Session, SdpError> {
    let text = std::str::from_utf8(body).map_err(|_| SdpError::Syntax(0))?;
    let mut session = Session { connection: None, media: Vec::new() };
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        let (key, value) = line.split_once('=').ok_or(SdpError::Syntax(n + 1))?;
        match key {
            "c" => {
                let addr = parse_connection(value).ok_or(SdpError::Syntax(n + 1))?;
                match session.media.last_mut() {
                    Some(m) => m.connection = Some(addr),
                    None => session.connection = Some(addr),
                }
            }
            "m" => {
                let mut f = value.split_ascii_whitespace();
                let kind = f.next().ok_or(SdpError::Syntax(n + 1))?.to_string();
                let port = f.next().and_then(|p| p.split('/').next()?.parse().ok());
                let port = port.ok_or(SdpError::Syntax(n + 1))?;
                let proto = f.next().ok_or(SdpError::Syntax(n + 1))?.to_string();
                let formats = f.filter_map(|p| p.parse().ok()).collect();
                session.media.push(Media {
                    kind,
                    port,
                    proto,
                    formats,
                    rtpmaps: Vec::new(),
                    connection: None,
                    direction: Direction::SendRecv,
                    ptime: None,
                    rtcp_mux: false,
                    rtcp_port: None,
                    crypto: Vec::new(),
                });
            }
            "a" => {
                let Some(m) = session.media.last_mut() else { continue };
                let (name, arg) = value.split_once(':').unwrap_or((value, ""));
                match name {
                    "rtpmap" => {
                        let (pt, enc) = arg.split_once(' ').ok_or(SdpError::Syntax(n + 1))?;
                        let pt = pt.parse().map_err(|_| SdpError::Syntax(n + 1))?;
                        let mut enc = enc.trim().split('/');
                        let name = enc.next().unwrap_or_default().to_string();
                        let rate = enc.next().and_then(|r| r.parse().ok()).unwrap_or(8000);
                        m.rtpmaps.push((pt, name, rate));
                    }
                    "ptime" => m.ptime = arg.trim().parse().ok(),
                    "rtcp-mux" => m.rtcp_mux = true,
                    "rtcp" => m.rtcp_port = arg.split_ascii_whitespace().next().and_then(|p| p.parse().ok()),
                    "crypto" => m.crypto.extend(parse_crypto(arg)),
                    "sendrecv" => m.direction = Direction::SendRecv,
                    "sendonly" => m.direction = Direction::SendOnly,
                    "recvonly" => m.direction = Direction::RecvOnly,
                    "inactive" => m.direction = Direction::Inactive,
                    _ => {}
                }
            }
            _ => {}
        }
    }
    Ok(session)
}

fn parse_connection(value: &str) -> Option<IpAddr> {
    let mut f = value.split_ascii_whitespace();
    let (_net, _family, addr) = (f.next()?, f.next()?, f.next()?);
    addr.split('/').next()?.parse().ok()
}

/// The result of negotiating an audio offer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Negotiated {
    /// Where to send RTP.
    pub remote: SocketAddr,
    /// Chosen codec's payload type.
    pub payload_type: u8,
    /// Chosen codec's encoding name (`PCMU`, `PCMA`, `G722` or `OPUS`).
    pub encoding: String,
    /// Its RTP clock rate: 8000 (G.722 too, RFC 3551 §4.5.2), or 48000 for Opus (RFC 7587).
    pub clock_rate: u32,
    /// Telephone-event payload type, when the offer has one at 8000 Hz.
    pub telephone_event: Option<u8>,
    /// Comfort noise (RFC 3389) payload type, when the offer has `CN/8000` (static 13).
    pub comfort_noise: Option<u8>,
    /// Our direction in the answer.
    pub direction: Direction,
    /// Where to send RTCP: the RTP address when muxed, else `a=rtcp` or the RTP port + 1.
    pub rtcp: SocketAddr,
    /// RTCP shares the RTP port (the offer had `a=rtcp-mux`; the answer says so too).
    pub rtcp_mux: bool,
    /// SRTP: the key the offerer sends with (we answer with our own for its suite and tag).
    pub srtp: Option<Sdes>,
    /// Index of the audio `m=` line in the offer.
    media_index: usize,
    /// Number of `m=` lines in the offer (all must be answered).
    media_kinds: Vec<(String, String, u8)>,
}

/// Chooses the codec and remote address for the first usable audio stream of an offer.
pub fn negotiate(offer: &Session) -> Result<Negotiated, SdpError> {
    for (i, m) in offer.media.iter().enumerate() {
        let srtp = match m.proto.as_str() {
            "RTP/AVP" => None,
            "RTP/SAVP" => match m.crypto.first() {
                Some(c) => Some(c.clone()),
                None => continue,
            },
            _ => continue,
        };
        if m.kind != "audio" || m.port == 0 {
            continue;
        }
        let Some(pt) = m.formats.iter().copied().find(|&pt| {
            matches!(m.encoding(pt), Some((ref e, 8000)) if e == "PCMU" || e == "PCMA" || e == "G722") || matches!(m.encoding(pt), Some((ref e, 48000)) if e == "OPUS")
        }) else {
            continue;
        };
        let addr = m.connection.or(offer.connection).ok_or(SdpError::NoConnection)?;
        let comfort_noise = m.formats.iter().copied().find(|&p| matches!(m.encoding(p), Some((ref e, 8000)) if e == "CN"));
        let telephone_event = m.formats.iter().copied().find(|&p| {
            matches!(m.encoding(p), Some((ref e, 8000)) if e == "TELEPHONE-EVENT")
        });
        let (encoding, clock_rate) = m.encoding(pt).unwrap_or_default();
        let media_kinds = offer
            .media
            .iter()
            .map(|m| (m.kind.clone(), m.proto.clone(), m.formats.first().copied().unwrap_or(0)))
            .collect();
        let rtcp_port = if m.rtcp_mux { m.port } else { m.rtcp_port.unwrap_or(m.port.wrapping_add(1)) };
        return Ok(Negotiated {
            srtp,
            rtcp: SocketAddr::new(addr, rtcp_port),
            rtcp_mux: m.rtcp_mux,
            remote: SocketAddr::new(addr, m.port),
            payload_type: pt,
            encoding,
            clock_rate,
            telephone_event,
            comfort_noise,
            direction: m.direction.answer(),
            media_index: i,
            media_kinds,
        });
    }
    Err(SdpError::NoCodec)
}

/// Builds the SDP answer for a negotiated offer, answering other streams with port 0. An SRTP
/// offer is answered `RTP/SAVP` with `our_key` (30 bytes of master key and salt); without a
/// key it cannot be answered (`None`: answer 488).
pub fn answer(neg: &Negotiated, local: SocketAddr, session_id: u64, our_key: Option<&[u8; 30]>) -> Option<Vec<u8>> {
    use base64::Engine;
    let crypto = match (&neg.srtp, our_key) {
        (None, _) => None,
        (Some(theirs), Some(key)) => Some(format!("a=crypto:{} {} inline:{}\r\n", theirs.tag, theirs.suite, base64::engine::general_purpose::STANDARD.encode(key))),
        (Some(_), None) => return None,
    };
    let family = if local.is_ipv4() { "IP4" } else { "IP6" };
    let ip = local.ip();
    let mut s = format!(
        "v=0\r\no=parley {session_id} {session_id} IN {family} {ip}\r\ns=parley\r\nc=IN {family} {ip}\r\nt=0 0\r\n"
    );
    for (i, (kind, proto, first_pt)) in neg.media_kinds.iter().enumerate() {
        if i != neg.media_index {
            s.push_str(&format!("m={kind} 0 {proto} {first_pt}\r\n"));
            continue;
        }
        let pt = neg.payload_type;
        let proto = if crypto.is_some() { "RTP/SAVP" } else { "RTP/AVP" };
        let mut formats = pt.to_string();
        for extra in [neg.comfort_noise, neg.telephone_event].into_iter().flatten() {
            formats.push_str(&format!(" {extra}"));
        }
        s.push_str(&format!("m=audio {} {proto} {formats}\r\n", local.port()));
        if neg.encoding == "OPUS" {
            // RFC 7587: always opus/48000/2; we send mono and take mono.
            s.push_str(&format!("a=rtpmap:{pt} opus/48000/2\r\na=fmtp:{pt} useinbandfec=1; stereo=0; sprop-stereo=0\r\n"));
        } else {
            s.push_str(&format!("a=rtpmap:{pt} {}/8000\r\n", neg.encoding));
        }
        if let Some(cn) = neg.comfort_noise {
            s.push_str(&format!("a=rtpmap:{cn} CN/8000\r\n"));
        }
        if let Some(te) = neg.telephone_event {
            s.push_str(&format!("a=rtpmap:{te} telephone-event/8000\r\na=fmtp:{te} 0-16\r\n"));
        }
        s.push_str(&format!("a=ptime:20\r\na={}\r\n", neg.direction.attr()));
        if neg.rtcp_mux {
            s.push_str("a=rtcp-mux\r\n");
        }
        if let Some(c) = &crypto {
            s.push_str(c);
        }
    }
    Some(s.into_bytes())
}

/// Our offer for a call we place: PCMU, PCMA, comfort noise and telephone-event (0-16),
/// sendrecv, 20 ms;
/// with `srtp_key`, `RTP/SAVP` and that key (`AES_CM_128_HMAC_SHA1_80`, tag 1). The answer is
/// read with [`parse`] and [`negotiate`] like an offer (it names one codec and one key).
pub fn offer(local: SocketAddr, session_id: u64, srtp_key: Option<&[u8; 30]>) -> Vec<u8> {
    use base64::Engine;
    let family = if local.is_ipv4() { "IP4" } else { "IP6" };
    let ip = local.ip();
    let proto = if srtp_key.is_some() { "RTP/SAVP" } else { "RTP/AVP" };
    let mut s = format!(
        "v=0\r\no=parley {session_id} {session_id} IN {family} {ip}\r\ns=parley\r\nc=IN {family} {ip}\r\nt=0 0\r\n\
         m=audio {} {proto} 0 8 13 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:13 CN/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n",
        local.port()
    );
    if let Some(key) = srtp_key {
        s.push_str(&format!("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{}\r\n", base64::engine::general_purpose::STANDARD.encode(key)));
    }
    s.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BARESIP_OFFER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
        m=audio 10000 RTP/AVP 9 0 8 101\r\na=rtpmap:9 G722/8000\r\na=rtpmap:0 PCMU/8000\r\n\
        a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\n\
        m=video 10002 RTP/AVP 96\r\n";

    #[test]
    fn answers_first_supported_codec_in_offer_order_with_telephone_event() {
        let offer = parse(BARESIP_OFFER.as_bytes()).unwrap();
        let neg = negotiate(&offer).unwrap();
        assert_eq!((neg.payload_type, neg.encoding.as_str(), neg.clock_rate), (9, "G722", 8000), "G.722 first in the offer");
        let offer = parse(BARESIP_OFFER.replace("RTP/AVP 9 0 8 101", "RTP/AVP 0 8 101").as_bytes()).unwrap();
        let neg = negotiate(&offer).unwrap();
        assert_eq!((neg.payload_type, neg.encoding.as_str()), (0, "PCMU"));
        assert_eq!(neg.telephone_event, Some(101));
        assert_eq!(neg.remote, "127.0.0.1:10000".parse().unwrap());
        let ans = String::from_utf8(answer(&neg, "127.0.0.1:20000".parse().unwrap(), 7, None).unwrap()).unwrap();
        assert!(ans.contains("m=audio 20000 RTP/AVP 0 101\r\n"));
        assert!(ans.contains("a=rtpmap:101 telephone-event/8000\r\n"));
        assert!(ans.contains("m=video 0 RTP/AVP 96\r\n"), "every offered stream is answered");
        assert_eq!(parse(ans.as_bytes()).unwrap().media.len(), 2);
    }

    #[test]
    fn pcma_only_offer_and_direction_mirroring() {
        let offer = "v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 8\r\na=sendonly\r\n";
        let neg = negotiate(&parse(offer.as_bytes()).unwrap()).unwrap();
        assert_eq!(neg.encoding, "PCMA");
        assert_eq!(neg.direction, Direction::RecvOnly);
        assert_eq!(neg.telephone_event, None);
    }

    #[test]
    fn rtcp_goes_where_the_offer_says() {
        let neg = negotiate(&parse(BARESIP_OFFER.as_bytes()).unwrap()).unwrap();
        assert_eq!((neg.rtcp, neg.rtcp_mux), ("127.0.0.1:10001".parse().unwrap(), false), "RTP port + 1 by default");
        let explicit = "v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\na=rtcp:4005 IN IP4 10.0.0.1\r\n";
        assert_eq!(negotiate(&parse(explicit.as_bytes()).unwrap()).unwrap().rtcp, "10.0.0.1:4005".parse().unwrap());
        let muxed = "v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\na=rtcp-mux\r\n";
        let neg = negotiate(&parse(muxed.as_bytes()).unwrap()).unwrap();
        assert_eq!((neg.rtcp, neg.rtcp_mux), ("10.0.0.1:4000".parse().unwrap(), true));
        assert!(String::from_utf8(answer(&neg, "10.0.0.2:20000".parse().unwrap(), 1, None).unwrap()).unwrap().contains("a=rtcp-mux\r\n"));
    }

    #[test]
    fn our_offer_and_an_answer_to_it() {
        let ours = parse(&offer("127.0.0.1:30000".parse().unwrap(), 9, None)).unwrap();
        let neg = negotiate(&ours).unwrap();
        assert_eq!((neg.payload_type, neg.telephone_event, neg.remote.port()), (0, Some(101), 30000));
        let secure = negotiate(&parse(&offer("127.0.0.1:30000".parse().unwrap(), 9, Some(&[5u8; 30]))).unwrap()).unwrap();
        assert_eq!(secure.srtp.map(|c| (c.tag, c.suite, c.key)), Some((1, "AES_CM_128_HMAC_SHA1_80".to_string(), [5u8; 30])));
        // The callee picks PCMA: that is what we send.
        let answer = "v=0\r\nc=IN IP4 10.0.0.7\r\nm=audio 7000 RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\n";
        let neg = negotiate(&parse(answer.as_bytes()).unwrap()).unwrap();
        assert_eq!((neg.encoding.as_str(), neg.remote), ("PCMA", "10.0.0.7:7000".parse().unwrap()));
    }

    #[test]
    fn opus_is_answered_at_48000_when_it_comes_first() {
        let offer = "v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 96 0 101\r\na=rtpmap:96 opus/48000/2\r\na=fmtp:96 stereo=1\r\na=rtpmap:101 telephone-event/8000\r\n";
        let neg = negotiate(&parse(offer.as_bytes()).unwrap()).unwrap();
        assert_eq!((neg.payload_type, neg.encoding.as_str(), neg.clock_rate), (96, "OPUS", 48000));
        let ans = String::from_utf8(answer(&neg, "10.0.0.2:5000".parse().unwrap(), 1, None).unwrap()).unwrap();
        assert!(ans.contains("m=audio 5000 RTP/AVP 96 101\r\na=rtpmap:96 opus/48000/2\r\n"), "{ans}");
        let g711_first = "v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 8 96\r\na=rtpmap:96 opus/48000/2\r\n";
        assert_eq!(negotiate(&parse(g711_first.as_bytes()).unwrap()).unwrap().clock_rate, 8000);
    }

    #[test]
    fn comfort_noise_is_accepted_when_offered() {
        let offer = "v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 8 13 101\r\na=rtpmap:101 telephone-event/8000\r\n";
        let neg = negotiate(&parse(offer.as_bytes()).unwrap()).unwrap();
        assert_eq!((neg.payload_type, neg.comfort_noise, neg.telephone_event), (8, Some(13), Some(101)));
        let ans = String::from_utf8(answer(&neg, "10.0.0.2:5000".parse().unwrap(), 1, None).unwrap()).unwrap();
        assert!(ans.contains("m=audio 5000 RTP/AVP 8 13 101\r\n") && ans.contains("a=rtpmap:13 CN/8000\r\n"), "{ans}");
        let plain = negotiate(&parse(b"v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\n").unwrap()).unwrap();
        assert_eq!(plain.comfort_noise, None);
    }

    #[test]
    fn sdes_offers_are_answered_with_our_key() {
        // baresip's srtp-mand offer (RFC 4568 §4 form).
        let offer = "v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 4000 RTP/SAVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n\
            a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20\r\n\
            a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj\r\n";
        let neg = negotiate(&parse(offer.as_bytes()).unwrap()).unwrap();
        let theirs = neg.srtp.clone().unwrap();
        assert_eq!((theirs.tag, theirs.suite.as_str()), (1, "AES_CM_128_HMAC_SHA1_80"));
        assert!(!format!("{theirs:?}").contains("PS1u"), "keys stay out of debug output");
        assert_eq!(answer(&neg, "127.0.0.1:20000".parse().unwrap(), 1, None), None, "no key, no answer");
        let ans = String::from_utf8(answer(&neg, "127.0.0.1:20000".parse().unwrap(), 1, Some(&[3u8; 30])).unwrap()).unwrap();
        assert!(ans.contains("m=audio 20000 RTP/SAVP 0 101\r\n"), "{ans}");
        assert!(ans.contains("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMD\r\n"), "{ans}");
        // Keys with an MKI, wrong lengths or unknown suites are not usable: no stream to answer.
        for bad in ["AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4", "AES_256_CM_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR", "AES_CM_128_HMAC_SHA1_80 inline:AAAA"] {
            let offer = format!("v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 4000 RTP/SAVP 0\r\na=crypto:1 {bad}\r\n");
            assert_eq!(negotiate(&parse(offer.as_bytes()).unwrap()), Err(SdpError::NoCodec), "{bad}");
        }
    }

    #[test]
    fn offer_without_a_known_codec_is_refused() {
        let offer = "v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 18 3\r\n";
        assert_eq!(negotiate(&parse(offer.as_bytes()).unwrap()), Err(SdpError::NoCodec));
    }
}
