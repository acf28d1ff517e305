//! The audio codec of an RTP leg: G.711 (mu-law or A-law, 8 kHz), G.722 (at its lower band's
//! 8 kHz, [`parley_media::g722`]) or Opus (RFC 7587, libopus through the `opus` crate, run at
//! 8 kHz mono so the call task's 20 ms frames of 160 samples go in and out unchanged; on the
//! wire its RTP clock is 48 kHz).

use parley_media::g711::G711;
use parley_media::g722;

/// Samples in one 20 ms frame at 8 kHz.
const FRAME: usize = 160;

/// See the module docs.
pub enum Codec {
    /// PCMU or PCMA.
    G711(G711),
    /// G.722.
    G722(Box<(g722::Encoder, g722::Decoder)>),
    /// Opus, mono, 8 kHz in and out.
    Opus {
        /// The encoder (VoIP mode).
        encoder: Box<opus::Encoder>,
        /// The decoder.
        decoder: Box<opus::Decoder>,
    },
}

impl Codec {
    /// The codec for a negotiated encoding name (`PCMU`, `PCMA`, `OPUS`); G.711 mu-law when the
    /// name is unknown or Opus cannot start.
    pub fn for_encoding(name: &str) -> Codec {
        if name.eq_ignore_ascii_case("OPUS") {
            let encoder = opus::Encoder::new(8000, opus::Channels::Mono, opus::Application::Voip);
            let decoder = opus::Decoder::new(8000, opus::Channels::Mono);
            match (encoder, decoder) {
                (Ok(encoder), Ok(decoder)) => return Codec::Opus { encoder: Box::new(encoder), decoder: Box::new(decoder) },
                (Err(e), _) | (_, Err(e)) => tracing::warn!(error = %e, "opus could not start; using PCMU"),
            }
        }
        if name.eq_ignore_ascii_case("G722") {
            return Codec::G722(Box::default());
        }
        Codec::G711(G711::from_encoding(name).unwrap_or(G711::Ulaw))
    }

    /// RTP timestamp units per 8 kHz sample (6 for Opus's 48 kHz clock).
    pub fn clock_factor(&self) -> u32 {
        match self {
            Codec::G711(_) | Codec::G722(_) => 1,
            Codec::Opus { .. } => 6,
        }
    }

    /// Encodes one 20 ms frame into `out` (cleared first).
    pub fn encode(&mut self, frame: &[i16], out: &mut Vec<u8>) {
        out.clear();
        match self {
            Codec::G711(g) => g.encode(frame, out),
            Codec::G722(c) => c.0.encode(frame, out),
            Codec::Opus { encoder, .. } => {
                out.resize(400, 0);
                match encoder.encode(frame, out) {
                    Ok(n) => out.truncate(n),
                    Err(_) => out.clear(),
                }
            }
        }
    }

    /// Decodes one packet's payload into 8 kHz samples (an Opus packet of more than 20 ms
    /// gives its first 20 ms).
    pub fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) {
        out.clear();
        match self {
            Codec::G711(g) => g.decode(payload, out),
            Codec::G722(c) => c.1.decode(payload, out),
            Codec::Opus { decoder, .. } => {
                // Up to 120 ms per packet at 8 kHz.
                out.resize(960, 0);
                match decoder.decode(payload, out, false) {
                    Ok(n) => out.truncate(n.min(FRAME)),
                    Err(_) => out.clear(),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opus_round_trip_keeps_a_tone() {
        let mut codec = Codec::for_encoding("opus");
        assert_eq!(codec.clock_factor(), 6);
        let (mut packet, mut pcm) = (Vec::new(), Vec::new());
        let mut energy = (0.0f64, 0.0f64);
        for n in 0..50 {
            let frame: Vec<i16> = (0..FRAME).map(|i| ((((n * FRAME + i) as f64) * 440.0 * std::f64::consts::TAU / 8000.0).sin() * 8000.0) as i16).collect();
            codec.encode(&frame, &mut packet);
            assert!(!packet.is_empty() && packet.len() < 200, "{} bytes", packet.len());
            codec.decode(&packet, &mut pcm);
            assert_eq!(pcm.len(), FRAME);
            if n > 10 {
                energy.0 += frame.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>();
                energy.1 += pcm.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>();
            }
        }
        let ratio = energy.1 / energy.0;
        assert!((0.5..2.0).contains(&ratio), "the tone comes back at about its level: {ratio}");
        assert!(matches!(Codec::for_encoding("PCMA"), Codec::G711(G711::Alaw)));
        assert!(matches!(Codec::for_encoding("G722"), Codec::G722(_)));
    }
}
