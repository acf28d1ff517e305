//! G.711 mu-law and A-law (ITU-T G.711), sample by sample.

/// A G.711 variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum G711 {
    /// mu-law, RTP payload type 0 (PCMU).
    Ulaw,
    /// A-law, RTP payload type 8 (PCMA).
    Alaw,
}

impl G711 {
    /// The codec for an SDP encoding name.
    pub fn from_encoding(name: &str) -> Option<G711> {
        match name.to_ascii_uppercase().as_str() {
            "PCMU" => Some(G711::Ulaw),
            "PCMA" => Some(G711::Alaw),
            _ => None,
        }
    }

    /// Encodes 16-bit linear samples.
    pub fn encode(self, pcm: &[i16], out: &mut Vec<u8>) {
        out.extend(pcm.iter().map(|&s| match self {
            G711::Ulaw => linear_to_ulaw(s),
            G711::Alaw => linear_to_alaw(s),
        }));
    }

    /// Decodes to 16-bit linear samples.
    pub fn decode(self, data: &[u8], out: &mut Vec<i16>) {
        out.extend(data.iter().map(|&b| match self {
            G711::Ulaw => ulaw_to_linear(b),
            G711::Alaw => alaw_to_linear(b),
        }));
    }
}

const BIAS: i32 = 0x84;
const CLIP: i32 = 32635;

/// One linear sample to mu-law.
pub fn linear_to_ulaw(sample: i16) -> u8 {
    let mut s = i32::from(sample);
    let sign = if s < 0 { 0x80 } else { 0 };
    if s < 0 {
        s = -s;
    }
    s = s.min(CLIP) + BIAS;
    let exponent = (7 - (s.leading_zeros() as i32 - 17)).clamp(0, 7);
    let mantissa = (s >> (exponent + 3)) & 0x0F;
    !(sign | (exponent << 4) as u8 as i32 | mantissa) as u8
}

/// One mu-law byte to linear.
pub fn ulaw_to_linear(b: u8) -> i16 {
    let b = !b;
    let sign = b & 0x80;
    let exponent = i32::from((b >> 4) & 0x07);
    let mantissa = i32::from(b & 0x0F);
    let magnitude = (((mantissa << 3) + BIAS) << exponent) - BIAS;
    (if sign != 0 { -magnitude } else { magnitude }) as i16
}

/// One linear sample to A-law.
pub fn linear_to_alaw(sample: i16) -> u8 {
    let mut s = i32::from(sample) >> 3;
    let mask = if s >= 0 { 0xD5 } else { s = -s - 1; 0x55 };
    let s = s.min(0xFFF);
    let byte = if s < 32 {
        s >> 1
    } else {
        let exponent = 31 - (s as u32).leading_zeros() as i32 - 4;
        (exponent << 4) | ((s >> exponent) & 0x0F)
    };
    (byte ^ mask) as u8
}

/// One A-law byte to linear.
pub fn alaw_to_linear(b: u8) -> i16 {
    let b = b ^ 0x55;
    let exponent = i32::from((b >> 4) & 0x07);
    let mantissa = i32::from(b & 0x0F);
    let magnitude = if exponent == 0 { (mantissa << 4) + 8 } else { ((mantissa << 4) + 0x108) << (exponent - 1) };
    (if b & 0x80 != 0 { magnitude } else { -magnitude }) as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_code_points() {
        assert_eq!(linear_to_ulaw(0), 0xFF);
        assert_eq!(ulaw_to_linear(0xFF), 0);
        assert_eq!(ulaw_to_linear(0x00), -32124);
        assert_eq!(ulaw_to_linear(0x80), 32124);
        assert_eq!(linear_to_alaw(0), 0xD5);
        assert_eq!(alaw_to_linear(0xD5), 8);
        assert_eq!(alaw_to_linear(0x55), -8);
        assert_eq!(alaw_to_linear(0xAA), 32256);
    }

    #[test]
    fn every_code_round_trips() {
        for b in 0..=255u8 {
            // 0x7F is mu-law's negative zero; it decodes to 0, which encodes as 0xFF.
            if b != 0x7F {
                assert_eq!(linear_to_ulaw(ulaw_to_linear(b)), b, "ulaw {b:#x}");
            }
            assert_eq!(linear_to_alaw(alaw_to_linear(b)), b, "alaw {b:#x}");
        }
    }

    #[test]
    fn quantization_error_is_bounded() {
        for s in (-32000i32..32000).step_by(7) {
            let s = s as i16;
            let u = ulaw_to_linear(linear_to_ulaw(s));
            let a = alaw_to_linear(linear_to_alaw(s));
            let tol = (i32::from(s).abs() / 16).max(16);
            assert!((i32::from(u) - i32::from(s)).abs() <= tol, "ulaw {s} -> {u}");
            assert!((i32::from(a) - i32::from(s)).abs() <= tol, "alaw {s} -> {a}");
        }
    }
}
