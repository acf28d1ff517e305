//! The voice's pitch where the words stop (`turn_taking_bench --pitch`): does the speaker's voice
//! fall at a pause inside a turn as it falls at the end of one? A voice that goes on often stays
//! up or rises before its pause; if it falls to where finished turns end, nothing in the sound
//! at that pause tells the two apart.

/// Samples in one analysis window (40 ms at 8 kHz) and between windows (10 ms).
const WINDOW: usize = 320;
const HOP: usize = 80;
/// Pitch periods searched, in samples: 350 Hz down to 60 Hz at 8 kHz.
const LAGS: std::ops::Range<usize> = 23..134;

/// The fundamental frequency of one window by normalised autocorrelation (Hz); `None` where the
/// window is quiet (RMS under about -38 dBFS) or not voiced (best correlation under 0.5).
fn f0(window: &[i16]) -> Option<f32> {
    let mean = window.iter().map(|&s| f64::from(s)).sum::<f64>() / window.len() as f64;
    let x: Vec<f64> = window.iter().map(|&s| f64::from(s) - mean).collect();
    let energy = x.iter().map(|v| v * v).sum::<f64>();
    if (energy / x.len() as f64).sqrt() < 400.0 {
        return None;
    }
    let mut best = (0.5, None);
    for lag in LAGS {
        let (a, b) = (&x[..x.len() - lag], &x[lag..]);
        let cross: f64 = a.iter().zip(b).map(|(p, q)| p * q).sum();
        let norm = (a.iter().map(|v| v * v).sum::<f64>() * b.iter().map(|v| v * v).sum::<f64>()).sqrt();
        if norm > 0.0 && cross / norm > best.0 {
            best = (cross / norm, Some(lag));
        }
    }
    best.1.map(|lag| 8000.0 / lag as f32)
}

/// The voiced pitches of `pcm[from..to]`, window by window.
fn voiced(pcm: &[i16], from: usize, to: usize) -> Vec<f32> {
    (from..to.saturating_sub(WINDOW)).step_by(HOP).filter_map(|s| f0(&pcm[s..s + WINDOW])).collect()
}

/// The pitch where the words before sample `end` stop (the last three voiced windows of the
/// 400 ms before it), over the speaker's median pitch in all of `pcm`. About 0.65 is where this
/// speaker's finished prompts end; 1.0 is her middle.
pub fn fall_at(pcm: &[i16], end: usize) -> Option<f32> {
    let mut all = voiced(pcm, 0, pcm.len());
    all.sort_by(f32::total_cmp);
    let median = *all.get(all.len() / 2)?;
    let last = voiced(pcm, end.saturating_sub(3200), end);
    let tail = last.get(last.len().checked_sub(3)?..)?;
    Some(tail.iter().sum::<f32>() / 3.0 / median)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tone whose pitch glides from `from` to `to` Hz over `ms`.
    fn glide(from: f32, to: f32, ms: usize) -> Vec<i16> {
        let n = ms * 8;
        let mut phase = 0f32;
        (0..n)
            .map(|i| {
                phase += 2.0 * std::f32::consts::PI * (from + (to - from) * i as f32 / n as f32) / 8000.0;
                (8000.0 * phase.sin()) as i16
            })
            .collect()
    }

    #[test]
    fn a_steady_tone_has_its_pitch() {
        let hz = f0(&glide(200.0, 200.0, 40)).expect("voiced");
        assert!((hz - 200.0).abs() < 8.0, "{hz}");
        assert_eq!(f0(&[0; WINDOW]), None);
    }

    #[test]
    fn a_falling_end_reads_under_one() {
        let mut pcm = glide(200.0, 200.0, 1000);
        pcm.extend(glide(200.0, 120.0, 400));
        let fall = fall_at(&pcm, pcm.len()).expect("voiced");
        assert!(fall < 0.8, "{fall}");
        let level = fall_at(&pcm, 8000).expect("voiced");
        assert!((level - 1.0).abs() < 0.05, "{level}");
    }
}
