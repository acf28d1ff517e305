//! Comfort noise (RFC 3389) for what arrives: a peer that stops sending audio in silence sends
//! a CN packet with the noise level (and optionally its spectrum); we play white noise at that
//! level, as the RFC allows a receiver that ignores the spectral coefficients to do.

/// Noise at the level of the last CN packet.
#[derive(Debug)]
pub struct ComfortNoise {
    /// Peak amplitude of the uniform noise.
    amplitude: f32,
    state: u32,
}

impl Default for ComfortNoise {
    fn default() -> ComfortNoise {
        ComfortNoise { amplitude: 0.0, state: 0x2545_f491 }
    }
}

impl ComfortNoise {
    /// A CN payload: its first byte is the level in -dBov (0 to 127); the rest, the spectrum,
    /// is ignored. Empty payloads keep the level.
    pub fn on_packet(&mut self, payload: &[u8]) {
        if let Some(&level) = payload.first() {
            let rms = 32767.0 * 10f32.powf(-f32::from(level & 0x7f) / 20.0);
            // Uniform noise in [-a, a] has an RMS of a / sqrt(3).
            self.amplitude = rms * 3f32.sqrt();
        }
    }

    /// `n` samples of noise at the current level.
    pub fn frame(&mut self, n: usize) -> Vec<i16> {
        (0..n)
            .map(|_| {
                // xorshift32: cheap, deterministic, good enough for noise.
                self.state ^= self.state << 13;
                self.state ^= self.state >> 17;
                self.state ^= self.state << 5;
                let unit = (self.state as f32 / u32::MAX as f32) * 2.0 - 1.0;
                (unit * self.amplitude).clamp(-32768.0, 32767.0) as i16
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rms(f: &[i16]) -> f32 {
        (f.iter().map(|&s| f32::from(s).powi(2)).sum::<f32>() / f.len() as f32).sqrt()
    }

    #[test]
    fn noise_follows_the_level() {
        let mut cn = ComfortNoise::default();
        assert!(cn.frame(160).iter().all(|&s| s == 0), "silence before any CN packet");
        cn.on_packet(&[40, 1, 2, 3]);
        let r = rms(&cn.frame(8000));
        let want = 32767.0 * 10f32.powf(-2.0);
        assert!((r - want).abs() < want * 0.1, "-40 dBov: rms {r}, want {want}");
        cn.on_packet(&[70]);
        assert!(rms(&cn.frame(8000)) < want / 20.0, "quieter at -70 dBov");
        cn.on_packet(&[]);
        assert!(rms(&cn.frame(160)) > 0.0, "an empty update keeps the level");
    }
}
