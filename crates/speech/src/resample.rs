//! Streaming sample-rate conversion (rubato's FFT resampler) for i16 mono audio.

use rubato::{FftFixedIn, Resampler as _};

/// Converts a stream of samples from one rate to another.
pub struct Resampler {
    inner: FftFixedIn<f32>,
    pending: Vec<f32>,
    chunk: usize,
}

impl Resampler {
    /// A resampler from `from` Hz to `to` Hz.
    pub fn new(from: usize, to: usize) -> Resampler {
        let chunk = 1024;
        let inner = FftFixedIn::new(from, to, chunk, 2, 1).expect("valid fixed rates");
        Resampler { inner, pending: Vec::new(), chunk }
    }

    /// Adds input; returns whatever output is ready.
    pub fn push(&mut self, input: &[i16]) -> Vec<i16> {
        self.pending.extend(input.iter().map(|&s| f32::from(s) / 32768.0));
        let mut out = Vec::new();
        while self.pending.len() >= self.chunk {
            let block: Vec<f32> = self.pending.drain(..self.chunk).collect();
            if let Ok(res) = self.inner.process(&[block], None) {
                out.extend(to_i16(&res[0]));
            }
        }
        out
    }

    /// Flushes the remaining input (padding with silence).
    pub fn finish(&mut self) -> Vec<i16> {
        let mut out = Vec::new();
        let rest: Vec<f32> = std::mem::take(&mut self.pending);
        if let Ok(res) = self.inner.process_partial(Some(&[rest]), None) {
            out.extend(to_i16(&res[0]));
        }
        if let Ok(res) = self.inner.process_partial::<Vec<f32>>(None, None) {
            out.extend(to_i16(&res[0]));
        }
        out
    }
}

/// 8 kHz telephone audio as 16 kHz float samples in [-1, 1] (what Whisper takes), aligned with
/// the input (the resampler's delay removed) and exactly twice as long.
pub fn to_16k_f32(pcm: &[i16]) -> Vec<f32> {
    let mut r = Resampler::new(8000, 16000);
    let delay = r.inner.output_delay();
    let mut out = r.push(pcm);
    out.extend(r.finish());
    let mut f: Vec<f32> = out.into_iter().skip(delay).map(|s| f32::from(s) / 32768.0).collect();
    f.resize(pcm.len() * 2, 0.0);
    f
}

fn to_i16(s: &[f32]) -> impl Iterator<Item = i16> + '_ {
    s.iter().map(|&v| (v * 32768.0).clamp(-32768.0, 32767.0) as i16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_duration_and_frequency() {
        // One second of 440 Hz at 22050 Hz becomes about one second at 8000 Hz.
        let input: Vec<i16> = (0..22050).map(|i| ((i as f32 * 440.0 * std::f32::consts::TAU / 22050.0).sin() * 10000.0) as i16).collect();
        let mut r = Resampler::new(22050, 8000);
        let mut out = r.push(&input);
        out.extend(r.finish());
        assert!((7900..8700).contains(&out.len()), "{}", out.len());
        // Count zero crossings in the middle: 440 Hz gives about 880 per second.
        let mid = &out[1000..5000];
        let crossings = mid.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
        assert!((420..460).contains(&crossings), "{crossings}");
    }

    #[test]
    fn telephone_audio_doubles_in_rate_without_shifting() {
        // A click at 0.5 s stays at 0.5 s.
        let mut input = vec![0i16; 8000];
        input[4000] = 20000;
        let out = to_16k_f32(&input);
        assert_eq!(out.len(), 16000);
        let peak = out.iter().enumerate().max_by(|a, b| a.1.abs().total_cmp(&b.1.abs())).map(|(i, _)| i);
        assert!(peak.is_some_and(|i| (7990..8010).contains(&i)), "{peak:?}");
    }
}

