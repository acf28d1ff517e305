//! Whisper's log-mel features (80 mel bands, 25 ms windows every 10 ms, 16 kHz), the input of
//! the Smart Turn end-of-turn model ([`crate::smart_turn`]).
//!
//! The same arithmetic as Hugging Face's `WhisperFeatureExtractor` (and the numpy copy Pipecat
//! ships with Smart Turn, `pipecat/audio/turn/smart_turn/_whisper_features.py`): the waveform
//! normalised to zero mean and unit variance, a centred (reflect-padded) periodic-Hann power
//! spectrum, Slaney mel filters from 0 to 8 kHz, `log10` floored at 1e-10, the last frame
//! dropped, values held within 8 of the maximum and scaled `(x + 4) / 4`.

use std::sync::Arc;

use realfft::{RealFftPlanner, RealToComplex};

/// Sample rate the features are defined at.
pub const SAMPLE_RATE: usize = 16_000;
const N_FFT: usize = 400;
const HOP: usize = 160;
/// Mel bands.
pub const N_MELS: usize = 80;
const BINS: usize = N_FFT / 2 + 1;

/// One mel filter: its first frequency bin and its weights from there.
struct Filter {
    first: usize,
    weights: Vec<f64>,
}

/// A feature extractor for windows of a fixed length (its FFT plan and filters made once).
pub struct LogMel {
    samples: usize,
    fft: Arc<dyn RealToComplex<f64>>,
    window: Vec<f64>,
    filters: Vec<Filter>,
}

impl std::fmt::Debug for LogMel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogMel").field("samples", &self.samples).finish()
    }
}

fn hz_to_mel(f: f64) -> f64 {
    if f >= 1000.0 { 15.0 + (f / 1000.0).ln() * 27.0 / 6.4f64.ln() } else { 3.0 * f / 200.0 }
}

fn mel_to_hz(m: f64) -> f64 {
    if m >= 15.0 { 1000.0 * ((m - 15.0) * 6.4f64.ln() / 27.0).exp() } else { 200.0 * m / 3.0 }
}

/// Slaney-normalised triangular filters over `BINS` bins from 0 Hz to half the sample rate.
fn filters() -> Vec<Filter> {
    let (lo, hi) = (hz_to_mel(0.0), hz_to_mel(SAMPLE_RATE as f64 / 2.0));
    let edges: Vec<f64> = (0..N_MELS + 2).map(|i| mel_to_hz(lo + (hi - lo) * i as f64 / (N_MELS + 1) as f64)).collect();
    let bin_hz = |k: usize| (SAMPLE_RATE / 2) as f64 * k as f64 / (BINS - 1) as f64;
    (0..N_MELS)
        .map(|m| {
            let (left, centre, right) = (edges[m], edges[m + 1], edges[m + 2]);
            let norm = 2.0 / (right - left);
            let all: Vec<f64> = (0..BINS).map(|k| ((bin_hz(k) - left) / (centre - left)).min((right - bin_hz(k)) / (right - centre)).max(0.0) * norm).collect();
            let first = all.iter().position(|&w| w > 0.0).unwrap_or(0);
            let last = all.iter().rposition(|&w| w > 0.0).map_or(first, |i| i + 1);
            Filter { first, weights: all[first..last].to_vec() }
        })
        .collect()
}

impl LogMel {
    /// An extractor for `samples` samples at 16 kHz (Smart Turn: 8 s, 128 000).
    pub fn new(samples: usize) -> LogMel {
        let fft = RealFftPlanner::<f64>::new().plan_fft_forward(N_FFT);
        let window = (0..N_FFT).map(|n| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / N_FFT as f64).cos()).collect();
        LogMel { samples, fft, window, filters: filters() }
    }

    /// Frames the features hold (`samples / 160`).
    pub fn frames(&self) -> usize {
        self.samples / HOP
    }

    /// The features of `audio` (16 kHz, in [-1, 1]; zero-padded at the end or cut to the
    /// extractor's length), `N_MELS` rows of [`LogMel::frames`] values, row after row.
    pub fn features(&self, audio: &[f32]) -> Vec<f32> {
        let mut x = vec![0f32; self.samples];
        let n = audio.len().min(self.samples);
        x[..n].copy_from_slice(&audio[..n]);
        // Zero mean, unit variance, in f32 as the reference does.
        let mean = x.iter().sum::<f32>() / x.len() as f32;
        let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / x.len() as f32;
        let scale = (var + 1e-7).sqrt();
        let x: Vec<f64> = x.iter().map(|v| f64::from((v - mean) / scale)).collect();
        // Reflect padding by half a window on each side (the edge sample not repeated).
        let pad = N_FFT / 2;
        let len = x.len();
        let at = |i: isize| -> f64 {
            let j = if i < 0 { -i } else if i as usize >= len { 2 * (len as isize - 1) - i } else { i };
            x[j.clamp(0, len as isize - 1) as usize]
        };
        let frames = self.frames();
        let mut mel = vec![0f64; N_MELS * frames];
        let mut input = self.fft.make_input_vec();
        let mut spectrum = self.fft.make_output_vec();
        let mut power = vec![0f64; BINS];
        for f in 0..frames {
            let start = (f * HOP) as isize - pad as isize;
            for (i, v) in input.iter_mut().enumerate() {
                *v = at(start + i as isize) * self.window[i];
            }
            if self.fft.process(&mut input, &mut spectrum).is_err() {
                continue;
            }
            for (p, c) in power.iter_mut().zip(&spectrum) {
                *p = c.norm_sqr();
            }
            for (m, filter) in self.filters.iter().enumerate() {
                let e: f64 = filter.weights.iter().zip(&power[filter.first..]).map(|(w, p)| w * p).sum();
                mel[m * frames + f] = e.max(1e-10).log10();
            }
        }
        let top = mel.iter().copied().fold(f64::MIN, f64::max);
        mel.iter().map(|&v| ((v.max(top - 8.0) + 4.0) / 4.0) as f32).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values from Pipecat's numpy extractor
    /// (`compute_whisper_log_mel_features`, pipecat-ai 1.14.0) for one second of two tones
    /// (0.5 sin 440 Hz + 0.25 sin 1234 Hz) followed by silence, 8 s in all.
    #[test]
    fn matches_the_reference_extractor() {
        // Made in f64 and stored as f32, as numpy does it.
        let tone: Vec<f32> = (0..SAMPLE_RATE).map(|n| {
            let t = n as f64 / SAMPLE_RATE as f64;
            (0.5 * (2.0 * std::f64::consts::PI * 440.0 * t).sin() + 0.25 * (2.0 * std::f64::consts::PI * 1234.0 * t).sin()) as f32
        }).collect();
        let lm = LogMel::new(8 * SAMPLE_RATE);
        let f = lm.features(&tone);
        assert_eq!((f.len(), lm.frames()), (N_MELS * 800, 800));
        let at = |m: usize, t: usize| f[m * 800 + t];
        for (m, t, want) in REFERENCE {
            assert!((at(*m, *t) - want).abs() < 1e-3, "mel {m} frame {t}: {} against {want}", at(*m, *t));
        }
    }

    const REFERENCE: &[(usize, usize, f32)] = &[(0, 0, 1.44518), (10, 50, 1.77605), (13, 50, -0.13448), (20, 99, 0.52336), (30, 100, 1.47059), (40, 101, 0.46826), (60, 0, 0.72584), (79, 50, -0.13448), (25, 50, 0.08146), (9, 20, 1.58671), (11, 70, 1.86552), (10, 102, -0.13448), (5, 799, -0.13448)];
}
