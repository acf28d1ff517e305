//! hibari's vocoder: the network predicts a spectrum per 12.5 ms frame in five parts; this turns
//! it into 24 kHz audio (a port of hibari 0.2.1 `dsp.py`, Apache-2.0). A band-limited pulse
//! train from the pitch curve, filtered by the harmonic branch, plus shaped noise, plus a
//! free-phase branch, then one inverse STFT (n_fft 1200, hop 300, periodic Hann):
//!
//! `S = exp(lh) e^{iπ tanh(th)} STFT(pulses(f0)) + exp(ln) Z + exp(lr) e^{iφ}`

use std::f64::consts::TAU;
use std::sync::Arc;

use realfft::num_complex::Complex32;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

/// The audio's sample rate.
pub const SAMPLE_RATE: usize = 24_000;
const N_FFT: usize = 1200;
const HOP: usize = 300;
/// Frequency bins per frame.
pub const BINS: usize = N_FFT / 2 + 1;
/// Below this pitch (Hz) a frame is unvoiced.
const VOICED_HZ: f32 = 40.0;
/// Harmonics stop below this frequency.
const MAX_HARMONIC_HZ: f32 = 11_000.0;

/// One sentence's network outputs: five `[BINS, frames]` arrays (bin-major, as the model
/// returns them) and the pitch per frame.
pub struct Frames<'a> {
    /// Harmonic magnitude (log).
    pub lh: &'a [f32],
    /// Harmonic phase shift (before `π tanh`).
    pub th: &'a [f32],
    /// Noise magnitude (log).
    pub ln: &'a [f32],
    /// Free-phase magnitude (log).
    pub lr: &'a [f32],
    /// Free phase.
    pub phi: &'a [f32],
    /// Pitch in Hz, one per frame (below 40: unvoiced).
    pub f0: &'a [f32],
}

/// See the module docs. One per session thread (it holds FFT plans and scratch).
pub struct Vocoder {
    window: Vec<f32>,
    forward: Arc<dyn RealToComplex<f32>>,
    inverse: Arc<dyn ComplexToReal<f32>>,
    noise: Noise,
}

/// Why a sentence's outputs cannot be vocoded.
#[derive(Debug, PartialEq, Eq)]
pub struct ShapeError(pub String);

impl Vocoder {
    /// A vocoder whose noise starts from `seed`.
    pub fn new(seed: u64) -> Vocoder {
        let mut planner = RealFftPlanner::<f32>::new();
        // Periodic Hann.
        let window = (0..N_FFT).map(|n| (0.5 - 0.5 * (TAU * n as f64 / N_FFT as f64).cos()) as f32).collect();
        Vocoder { window, forward: planner.plan_fft_forward(N_FFT), inverse: planner.plan_fft_inverse(N_FFT), noise: Noise(seed) }
    }

    /// The sentence's audio at [`SAMPLE_RATE`], `frames × 300` samples in [-1, 1] or near.
    pub fn synthesize(&mut self, out: &Frames) -> Result<Vec<f32>, ShapeError> {
        let frames = out.f0.len();
        for (name, part) in [("lh", out.lh), ("th", out.th), ("ln", out.ln), ("lr", out.lr), ("phi", out.phi)] {
            if part.len() != BINS * frames {
                return Err(ShapeError(format!("{name}: {} values for {frames} frames of {BINS} bins", part.len())));
            }
        }
        if frames == 0 {
            return Ok(Vec::new());
        }
        let source = reflect_pad(&pulses(out.f0), N_FFT / 2);
        let len = (frames - 1) * HOP + N_FFT;
        let (mut audio, mut weight) = (vec![0f32; len], vec![0f32; len]);
        let mut time = vec![0f32; N_FFT];
        let mut spectrum = vec![Complex32::default(); BINS];
        // A unit cosine peaks at sum(window) / 2 in the STFT, so exp(lh) is the harmonic's magnitude.
        let source_gain = 1.0 / (N_FFT as f32 / 4.0);
        let ex = |x: f32| x.min(7.0).exp();
        for k in 0..frames {
            for (n, t) in time.iter_mut().enumerate() {
                *t = source[k * HOP + n] * self.window[n] * source_gain;
            }
            self.forward.process(&mut time, &mut spectrum).map_err(|e| ShapeError(e.to_string()))?;
            for (b, s) in spectrum.iter_mut().enumerate() {
                let i = b * frames + k;
                let turn = std::f32::consts::PI * out.th[i].tanh();
                let harmonic = *s * Complex32::from_polar(ex(out.lh[i]), turn);
                let (re, im) = self.noise.pair();
                let noise = Complex32::new(re, im) * ex(out.ln[i]);
                let free = Complex32::from_polar(ex(out.lr[i]), out.phi[i]);
                *s = harmonic + noise + free;
            }
            // A real signal's DC and Nyquist bins have no imaginary part (numpy ignores it).
            spectrum[0].im = 0.0;
            spectrum[BINS - 1].im = 0.0;
            self.inverse.process(&mut spectrum, &mut time).map_err(|e| ShapeError(e.to_string()))?;
            for (n, t) in time.iter().enumerate() {
                let w = self.window[n];
                audio[k * HOP + n] += t / N_FFT as f32 * w;
                weight[k * HOP + n] += w * w;
            }
        }
        // torch.istft(center=True, length=frames × hop): the padding cut off, each sample divided
        // by the window's summed square there.
        let half = N_FFT / 2;
        Ok((half..half + frames * HOP).map(|i| audio[i] / weight[i].max(1e-11)).collect())
    }
}

/// A band-limited pulse train from a pitch curve given every 300 samples: every harmonic below
/// 11 kHz at unit amplitude, `Σ_{h≤H} cos(h t) = sin((H+½) t) / (2 sin(t/2)) − ½`, the pitch
/// interpolated linearly between frame centres; 0 where unvoiced.
fn pulses(f0: &[f32]) -> Vec<f32> {
    let last = f0.len() as isize - 1;
    let at = |k: isize| f0[k.clamp(0, last) as usize];
    let mut out = Vec::with_capacity(f0.len() * HOP);
    let mut cycles = 0f64;
    for k in 0..f0.len() as isize {
        for j in 0..HOP {
            let u = ((j as f32 + 0.5) / HOP as f32 - 0.5).rem_euclid(1.0);
            let hz = if j < HOP / 2 { at(k - 1) * (1.0 - u) + at(k) * u } else { at(k) * (1.0 - u) + at(k + 1) * u };
            let voiced = hz > VOICED_HZ;
            let hz = hz.max(VOICED_HZ);
            cycles += f64::from(hz) / SAMPLE_RATE as f64;
            let t = (cycles.fract() * TAU) as f32;
            let harmonics = (MAX_HARMONIC_HZ / hz).floor() + 0.5;
            let s = 2.0 * (t * 0.5).sin();
            let e = if s.abs() <= 2e-3 { harmonics } else { (harmonics * t).sin() / s };
            out.push(if voiced { e - 0.5 } else { 0.0 });
        }
    }
    out
}

/// `x` with `pad` samples mirrored on each side, the edge sample not repeated (numpy's "reflect").
fn reflect_pad(x: &[f32], pad: usize) -> Vec<f32> {
    let n = x.len() as isize;
    let index = |i: isize| -> usize {
        if n == 1 {
            return 0;
        }
        let period = 2 * (n - 1);
        let m = i.rem_euclid(period);
        (if m < n { m } else { period - m }) as usize
    };
    (-(pad as isize)..n + pad as isize).map(|i| x[index(i)]).collect()
}

/// Standard normal pairs (SplitMix64 and Box-Muller): the noise branch's excitation.
struct Noise(u64);

impl Noise {
    fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        // In (0, 1]: never 0, so the logarithm is finite.
        ((z >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }

    fn pair(&mut self) -> (f32, f32) {
        let r = (-2.0 * self.uniform().ln()).sqrt();
        let a = TAU * self.uniform();
        ((r * a.cos()) as f32, (r * a.sin()) as f32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The strongest bin of `audio`'s spectrum, in Hz.
    fn peak_hz(audio: &[f32]) -> f32 {
        let mut planner = RealFftPlanner::<f32>::new();
        let fft = planner.plan_fft_forward(audio.len());
        let (mut input, mut spectrum) = (audio.to_vec(), fft.make_output_vec());
        fft.process(&mut input, &mut spectrum).expect("fft");
        let (bin, _) = spectrum.iter().enumerate().skip(1).fold((0, 0f32), |best, (b, c)| if c.norm() > best.1 { (b, c.norm()) } else { best });
        bin as f32 * SAMPLE_RATE as f32 / audio.len() as f32
    }

    #[test]
    fn the_pulse_train_repeats_at_the_pitch_and_is_silent_when_unvoiced() {
        let p = pulses(&[200.0; 8]);
        assert_eq!(p.len(), 8 * HOP);
        // 200 Hz at 24 kHz: a pulse every 120 samples.
        let peaks: Vec<usize> = (1..p.len() - 1).filter(|&i| p[i] > p[i - 1] && p[i] >= p[i + 1] && p[i] > 20.0).collect();
        assert!(peaks.len() >= 19, "{peaks:?}");
        assert!(peaks.windows(2).all(|w| (w[1] - w[0]).abs_diff(120) <= 1), "{peaks:?}");
        assert!(pulses(&[0.0; 4]).iter().all(|&s| s == 0.0));
    }

    #[test]
    fn reflect_padding_mirrors_without_the_edge_sample() {
        assert_eq!(reflect_pad(&[1.0, 2.0, 3.0, 4.0], 2), [3.0, 2.0, 1.0, 2.0, 3.0, 4.0, 3.0, 2.0]);
        assert_eq!(reflect_pad(&[1.0, 2.0], 3), [2.0, 1.0, 2.0, 1.0, 2.0, 1.0, 2.0, 1.0]);
    }

    #[test]
    fn a_free_phase_partial_comes_out_as_a_tone_of_its_bin() {
        // Only the free-phase branch, at bin 20 (20 × 24000 / 1200 = 400 Hz), its phase
        // advancing by one hop a frame: a steady 400 Hz tone.
        let frames = 40;
        let silent = vec![-30.0f32; BINS * frames];
        let mut lr = silent.clone();
        let mut phi = vec![0f32; BINS * frames];
        for k in 0..frames {
            lr[20 * frames + k] = 5.0;
            phi[20 * frames + k] = (TAU * 400.0 * (k * HOP) as f64 / SAMPLE_RATE as f64) as f32;
        }
        let th = vec![0f32; BINS * frames];
        let audio = Vocoder::new(1)
            .synthesize(&Frames { lh: &silent, th: &th, ln: &silent, lr: &lr, phi: &phi, f0: &vec![0.0; frames] })
            .expect("shapes agree");
        assert_eq!(audio.len(), frames * HOP);
        assert!((peak_hz(&audio) - 400.0).abs() < 2.0, "{} Hz", peak_hz(&audio));
        let rms = (audio.iter().map(|s| s * s).sum::<f32>() / audio.len() as f32).sqrt();
        assert!(rms > 0.01 && audio.iter().all(|s| s.abs() < 1.0), "rms {rms}");
    }

    #[test]
    fn the_harmonic_branch_sounds_at_the_pitch() {
        let frames = 40;
        let loud = vec![0.0f32; BINS * frames];
        let silent = vec![-30.0f32; BINS * frames];
        let th = vec![0f32; BINS * frames];
        let audio = Vocoder::new(1)
            .synthesize(&Frames { lh: &loud, th: &th, ln: &silent, lr: &silent, phi: &th, f0: &vec![150.0; frames] })
            .expect("shapes agree");
        // Every harmonic at the same magnitude: the fundamental is (one of) the strongest.
        let peak = peak_hz(&audio);
        assert!((peak / 150.0 - (peak / 150.0).round()).abs() < 0.02, "{peak} Hz is not a harmonic of 150 Hz");
    }

    #[test]
    fn outputs_of_the_wrong_shape_are_refused() {
        let short = vec![0f32; 10];
        let err = Vocoder::new(1).synthesize(&Frames { lh: &short, th: &short, ln: &short, lr: &short, phi: &short, f0: &[100.0, 100.0] });
        assert!(err.is_err());
    }
}
