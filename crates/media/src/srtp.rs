//! SRTP and SRTCP (RFC 3711) with the SDES suites of RFC 4568, `AES_CM_128_HMAC_SHA1_80` and
//! `AES_CM_128_HMAC_SHA1_32`, sans-IO.
//!
//! A [`Context`] holds the session keys derived from one master key and salt (key derivation
//! rate 0) and protects or unprotects packets of one direction: build one from the key we
//! offered for what we send, one from the peer's key for what we receive. Receiving estimates
//! the rollover counter (Appendix A), checks the authentication tag in constant time before
//! anything else, and refuses replays within a 64-packet window. SRTCP always carries an
//! 80-bit tag and encrypts (E bit set).

use std::collections::HashMap;

use aes::cipher::{KeyIvInit, StreamCipher};
use hmac::{Hmac, Mac};
use sha1::Sha1;

type Aes128Ctr = ctr::Ctr128BE<aes::Aes128>;
type HmacSha1 = Hmac<Sha1>;

/// An SDES crypto suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Suite {
    /// AES-128 counter mode, HMAC-SHA1 with an 80-bit tag.
    AesCm128HmacSha1_80,
    /// The same with a 32-bit SRTP tag (SRTCP keeps 80 bits).
    AesCm128HmacSha1_32,
}

impl Suite {
    /// From its SDP name.
    pub fn parse(name: &str) -> Option<Suite> {
        match name {
            "AES_CM_128_HMAC_SHA1_80" => Some(Suite::AesCm128HmacSha1_80),
            "AES_CM_128_HMAC_SHA1_32" => Some(Suite::AesCm128HmacSha1_32),
            _ => None,
        }
    }

    /// Its SDP name.
    pub fn name(self) -> &'static str {
        match self {
            Suite::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            Suite::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
        }
    }

    fn rtp_tag_len(self) -> usize {
        match self {
            Suite::AesCm128HmacSha1_80 => 10,
            Suite::AesCm128HmacSha1_32 => 4,
        }
    }
}

/// Master key (16 bytes) then master salt (14 bytes), as `inline:` carries them.
pub const MASTER_LEN: usize = 30;
const RTCP_TAG_LEN: usize = 10;
const REPLAY_WINDOW: u64 = 64;

/// Why a packet was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SrtpError {
    /// Too short or not RTP/RTCP.
    #[error("malformed packet")]
    Malformed,
    /// The authentication tag does not match.
    #[error("authentication failed")]
    Auth,
    /// Seen before, or too old for the replay window.
    #[error("replayed packet")]
    Replay,
}

#[derive(Clone)]
struct SessionKeys {
    enc: [u8; 16],
    salt: [u8; 14],
    auth: [u8; 20],
}

/// Per-SSRC receive state: highest index seen and the replay bitmap below it.
#[derive(Clone, Copy, Default)]
struct Stream {
    /// Highest packet index (ROC << 16 | SEQ) accepted, once one was.
    highest: Option<u64>,
    window: u64,
    /// SRTP: sending side's ROC and last sequence number.
    roc: u32,
    last_seq: Option<u16>,
}

/// One direction's SRTP and SRTCP state. See the module docs.
pub struct Context {
    suite: Suite,
    rtp: SessionKeys,
    rtcp: SessionKeys,
    streams: HashMap<u32, Stream>,
    rtcp_streams: HashMap<u32, Stream>,
    rtcp_index: u32,
}

/// AES-CM keystream XOR for `data`, counter block from `iv`.
fn aes_cm(key: &[u8; 16], iv: &[u8; 16], data: &mut [u8]) {
    let mut cipher = Aes128Ctr::new(key.into(), iv.into());
    cipher.apply_keystream(data);
}

/// The key derivation of RFC 3711 §4.3.1 with kdr 0: AES-CM of zeros under the master key,
/// IV = (master salt XOR label at byte 7) || 0x0000.
fn derive(master_key: &[u8; 16], master_salt: &[u8; 14], label: u8, out: &mut [u8]) {
    let mut iv = [0u8; 16];
    iv[..14].copy_from_slice(master_salt);
    iv[7] ^= label;
    out.fill(0);
    aes_cm(master_key, &iv, out);
}

fn session_keys(master: &[u8; MASTER_LEN], base: u8) -> SessionKeys {
    let key: [u8; 16] = master[..16].try_into().unwrap_or([0; 16]);
    let salt: [u8; 14] = master[16..].try_into().unwrap_or([0; 14]);
    let mut k = SessionKeys { enc: [0; 16], salt: [0; 14], auth: [0; 20] };
    derive(&key, &salt, base, &mut k.enc);
    derive(&key, &salt, base + 1, &mut k.auth);
    derive(&key, &salt, base + 2, &mut k.salt);
    k
}

/// IV = (salt << 16) XOR (SSRC << 64) XOR (index << 16).
fn packet_iv(salt: &[u8; 14], ssrc: u32, index: u64) -> [u8; 16] {
    let mut iv = [0u8; 16];
    iv[..14].copy_from_slice(salt);
    for (i, b) in ssrc.to_be_bytes().iter().enumerate() {
        iv[4 + i] ^= b;
    }
    for (i, b) in index.to_be_bytes()[2..].iter().enumerate() {
        iv[8 + i] ^= b;
    }
    iv
}

fn tag(auth: &[u8; 20], parts: &[&[u8]]) -> HmacSha1 {
    let mut mac = HmacSha1::new_from_slice(auth).expect("HMAC takes any key length");
    for p in parts {
        mac.update(p);
    }
    mac
}

/// Length of the RTP header with CSRCs and extension, if `pkt` is long enough to hold it.
fn rtp_header_len(pkt: &[u8]) -> Option<usize> {
    if pkt.len() < 12 || pkt[0] >> 6 != 2 {
        return None;
    }
    let mut len = 12 + 4 * usize::from(pkt[0] & 0x0f);
    if pkt[0] & 0x10 != 0 {
        let ext = pkt.get(len + 2..len + 4)?;
        len += 4 + 4 * usize::from(u16::from_be_bytes([ext[0], ext[1]]));
    }
    (len <= pkt.len()).then_some(len)
}

impl Stream {
    /// Whether `index` is new (not seen, not older than the window).
    fn fresh(&self, index: u64) -> bool {
        match self.highest {
            None => true,
            Some(h) if index > h => true,
            Some(h) => {
                let back = h - index;
                back < REPLAY_WINDOW && self.window & (1 << back) == 0
            }
        }
    }

    fn accept(&mut self, index: u64) {
        match self.highest {
            Some(h) if index <= h => self.window |= 1 << (h - index),
            Some(h) => {
                let shift = index - h;
                self.window = if shift >= REPLAY_WINDOW { 1 } else { (self.window << shift) | 1 };
                self.highest = Some(index);
            }
            None => {
                self.window = 1;
                self.highest = Some(index);
            }
        }
    }
}

impl Context {
    /// A context for `suite` from a 30-byte master key and salt.
    pub fn new(suite: Suite, master: &[u8; MASTER_LEN]) -> Context {
        Context { suite, rtp: session_keys(master, 0), rtcp: session_keys(master, 3), streams: HashMap::new(), rtcp_streams: HashMap::new(), rtcp_index: 0 }
    }

    /// Encrypts and authenticates an RTP packet into `out`.
    pub fn protect_rtp(&mut self, pkt: &[u8], out: &mut Vec<u8>) -> Result<(), SrtpError> {
        let header = rtp_header_len(pkt).ok_or(SrtpError::Malformed)?;
        let seq = u16::from_be_bytes([pkt[2], pkt[3]]);
        let ssrc = u32::from_be_bytes([pkt[8], pkt[9], pkt[10], pkt[11]]);
        let s = self.streams.entry(ssrc).or_default();
        if let Some(last) = s.last_seq {
            if seq < last && last - seq > 0x8000 {
                s.roc = s.roc.wrapping_add(1);
            }
        }
        s.last_seq = Some(seq);
        let roc = s.roc;
        let index = (u64::from(roc) << 16) | u64::from(seq);
        out.clear();
        out.extend_from_slice(pkt);
        aes_cm(&self.rtp.enc, &packet_iv(&self.rtp.salt, ssrc, index), &mut out[header..]);
        let mac = tag(&self.rtp.auth, &[out, &roc.to_be_bytes()]).finalize().into_bytes();
        out.extend_from_slice(&mac[..self.suite.rtp_tag_len()]);
        Ok(())
    }

    /// Checks, decrypts and replay-checks an SRTP packet into `out` (plain RTP).
    pub fn unprotect_rtp(&mut self, pkt: &[u8], out: &mut Vec<u8>) -> Result<(), SrtpError> {
        let tag_len = self.suite.rtp_tag_len();
        let body = pkt.len().checked_sub(tag_len).ok_or(SrtpError::Malformed)?;
        let header = rtp_header_len(&pkt[..body]).ok_or(SrtpError::Malformed)?;
        let seq = u16::from_be_bytes([pkt[2], pkt[3]]);
        let ssrc = u32::from_be_bytes([pkt[8], pkt[9], pkt[10], pkt[11]]);
        let s = self.streams.get(&ssrc).copied().unwrap_or_default();
        let roc = estimate_roc(&s, seq);
        let index = (u64::from(roc) << 16) | u64::from(seq);
        tag(&self.rtp.auth, &[&pkt[..body], &roc.to_be_bytes()]).verify_truncated_left(&pkt[body..]).map_err(|_| SrtpError::Auth)?;
        if !s.fresh(index) {
            return Err(SrtpError::Replay);
        }
        out.clear();
        out.extend_from_slice(&pkt[..body]);
        aes_cm(&self.rtp.enc, &packet_iv(&self.rtp.salt, ssrc, index), &mut out[header..]);
        let s = self.streams.entry(ssrc).or_default();
        s.accept(index);
        if s.highest == Some(index) {
            s.roc = roc;
            s.last_seq = Some(seq);
        }
        Ok(())
    }

    /// Encrypts and authenticates an RTCP compound packet into `out`.
    pub fn protect_rtcp(&mut self, pkt: &[u8], out: &mut Vec<u8>) -> Result<(), SrtpError> {
        if pkt.len() < 8 {
            return Err(SrtpError::Malformed);
        }
        let ssrc = u32::from_be_bytes([pkt[4], pkt[5], pkt[6], pkt[7]]);
        let index = self.rtcp_index;
        self.rtcp_index = (self.rtcp_index + 1) & 0x7fff_ffff;
        out.clear();
        out.extend_from_slice(pkt);
        aes_cm(&self.rtcp.enc, &packet_iv(&self.rtcp.salt, ssrc, u64::from(index)), &mut out[8..]);
        out.extend_from_slice(&(0x8000_0000 | index).to_be_bytes());
        let mac = tag(&self.rtcp.auth, &[out]).finalize().into_bytes();
        out.extend_from_slice(&mac[..RTCP_TAG_LEN]);
        Ok(())
    }

    /// Checks, decrypts and replay-checks an SRTCP packet into `out` (plain RTCP).
    pub fn unprotect_rtcp(&mut self, pkt: &[u8], out: &mut Vec<u8>) -> Result<(), SrtpError> {
        let body = pkt.len().checked_sub(RTCP_TAG_LEN + 4).filter(|&b| b >= 8).ok_or(SrtpError::Malformed)?;
        let authed = &pkt[..body + 4];
        tag(&self.rtcp.auth, &[authed]).verify_truncated_left(&pkt[body + 4..]).map_err(|_| SrtpError::Auth)?;
        let e_index = u32::from_be_bytes([pkt[body], pkt[body + 1], pkt[body + 2], pkt[body + 3]]);
        let index = u64::from(e_index & 0x7fff_ffff);
        let ssrc = u32::from_be_bytes([pkt[4], pkt[5], pkt[6], pkt[7]]);
        let s = self.rtcp_streams.entry(ssrc).or_default();
        if !s.fresh(index) {
            return Err(SrtpError::Replay);
        }
        s.accept(index);
        out.clear();
        out.extend_from_slice(&pkt[..body]);
        if e_index & 0x8000_0000 != 0 {
            aes_cm(&self.rtcp.enc, &packet_iv(&self.rtcp.salt, ssrc, index), &mut out[8..]);
        }
        Ok(())
    }
}

/// The rollover counter a received `seq` most likely belongs to (RFC 3711 Appendix A).
fn estimate_roc(s: &Stream, seq: u16) -> u32 {
    let Some(last) = s.last_seq else { return s.roc };
    let (roc, last, seq) = (s.roc, i32::from(last), i32::from(seq));
    if last < 0x8000 {
        if seq - last > 0x8000 { roc.wrapping_sub(1) } else { roc }
    } else if last - 0x8000 > seq {
        roc.wrapping_add(1)
    } else {
        roc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn rfc3711_b2_keystream() {
        let key: [u8; 16] = unhex("2B7E151628AED2A6ABF7158809CF4F3C").try_into().unwrap();
        let salt: [u8; 14] = unhex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD").try_into().unwrap();
        let mut stream = vec![0u8; 32];
        aes_cm(&key, &packet_iv(&salt, 0, 0), &mut stream);
        assert_eq!(stream[..16], unhex("E03EAD0935C95E80E166B16DD92B4EB4")[..]);
        assert_eq!(stream[16..], unhex("D23513162B02D0F72A43A2FE4A5F97AB")[..]);
    }

    #[test]
    fn rfc3711_b3_key_derivation() {
        let mut master = [0u8; MASTER_LEN];
        master[..16].copy_from_slice(&unhex("E1F97A0D3E018BE0D64FA32C06DE4139"));
        master[16..].copy_from_slice(&unhex("0EC675AD498AFEEBB6960B3AABE6"));
        let k = session_keys(&master, 0);
        assert_eq!(k.enc[..], unhex("C61E7A93744F39EE10734AFE3FF7A087")[..]);
        assert_eq!(k.salt[..], unhex("30CBBC08863D8C85D49DB34A9AE1")[..]);
        assert_eq!(k.auth[..], unhex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4")[..]);
    }

    fn rtp(seq: u16) -> Vec<u8> {
        let mut p = vec![0x80, 0, (seq >> 8) as u8, seq as u8, 0, 0, 0, 160, 0xde, 0xad, 0xbe, 0xef];
        p.extend(std::iter::repeat_n(0x55, 160));
        p
    }

    #[test]
    fn round_trip_tampering_replay_and_rollover() {
        let master = [7u8; MASTER_LEN];
        for suite in [Suite::AesCm128HmacSha1_80, Suite::AesCm128HmacSha1_32] {
            let (mut tx, mut rx) = (Context::new(suite, &master), Context::new(suite, &master));
            let (mut wire, mut plain) = (Vec::new(), Vec::new());
            // Across the 16-bit wrap, with one packet delivered late.
            let seqs: Vec<u16> = (0xfff0..=0xffff).chain(0..16).collect();
            let mut held = None;
            for (i, &seq) in seqs.iter().enumerate() {
                tx.protect_rtp(&rtp(seq), &mut wire).unwrap();
                assert_eq!(wire.len(), 172 + suite.rtp_tag_len());
                assert_ne!(wire[12..172], rtp(seq)[12..], "the payload is encrypted");
                if i == 10 {
                    held = Some(wire.clone());
                    continue;
                }
                rx.unprotect_rtp(&wire, &mut plain).unwrap();
                assert_eq!(plain, rtp(seq));
                assert_eq!(rx.unprotect_rtp(&wire, &mut plain), Err(SrtpError::Replay));
            }
            rx.unprotect_rtp(held.as_ref().unwrap(), &mut plain).unwrap();
            assert_eq!(plain, rtp(seqs[10]), "a late packet inside the window is accepted once");
            tx.protect_rtp(&rtp(16), &mut wire).unwrap();
            let mut bad = wire.clone();
            bad[20] ^= 1;
            assert_eq!(rx.unprotect_rtp(&bad, &mut plain), Err(SrtpError::Auth));
            let other = Context::new(suite, &[8u8; MASTER_LEN]).unprotect_rtp(&wire, &mut plain);
            assert_eq!(other, Err(SrtpError::Auth), "another key cannot read it");
            assert_eq!(rx.unprotect_rtp(&wire[..8], &mut plain), Err(SrtpError::Malformed));
        }
    }

    #[test]
    fn srtcp_round_trip() {
        let master = [9u8; MASTER_LEN];
        let (mut tx, mut rx) = (Context::new(Suite::AesCm128HmacSha1_32, &master), Context::new(Suite::AesCm128HmacSha1_32, &master));
        let sr: Vec<u8> = [0x80, 200, 0, 6, 1, 2, 3, 4].into_iter().chain(std::iter::repeat_n(0x11, 20)).collect();
        let (mut wire, mut plain) = (Vec::new(), Vec::new());
        tx.protect_rtcp(&sr, &mut wire).unwrap();
        assert_eq!(wire.len(), sr.len() + 4 + 10);
        assert_eq!(wire[..8], sr[..8], "the first eight bytes stay clear");
        assert_ne!(wire[8..sr.len()], sr[8..]);
        rx.unprotect_rtcp(&wire, &mut plain).unwrap();
        assert_eq!(plain, sr);
        assert_eq!(rx.unprotect_rtcp(&wire, &mut plain), Err(SrtpError::Replay));
        let mut bad = wire.clone();
        bad[9] ^= 0x80;
        assert_eq!(rx.unprotect_rtcp(&bad, &mut plain), Err(SrtpError::Auth));
    }

    #[test]
    fn any_bytes_are_refused_without_a_panic() {
        let mut rx = Context::new(Suite::AesCm128HmacSha1_80, &[1u8; MASTER_LEN]);
        let mut out = Vec::new();
        let mut sample = rtp(1);
        sample[0] = 0x9f; // extension bit and 15 CSRCs claimed
        for len in 0..sample.len() {
            assert!(rx.unprotect_rtp(&sample[..len], &mut out).is_err());
            assert!(rx.unprotect_rtcp(&sample[..len], &mut out).is_err());
        }
    }
}
