//! A call's recording, for tenants whose policy turns recording on (off by default): the
//! caller on the left channel, the agent on the right, 8 kHz 16-bit PCM, in memory only until
//! the call ends, when it is sealed into the store as a WAV file. Capped at 30 minutes; the
//! buffers are zeroized when dropped.

use zeroize::Zeroizing;

/// 8 kHz.
pub const RATE: u32 = 8000;
/// The longest recording kept.
pub const MAX_SECONDS: usize = 30 * 60;

/// See the module docs.
pub struct Recorder {
    caller: Zeroizing<Vec<i16>>,
    agent: Zeroizing<Vec<i16>>,
}

impl Default for Recorder {
    fn default() -> Recorder {
        Recorder { caller: Zeroizing::new(Vec::new()), agent: Zeroizing::new(Vec::new()) }
    }
}

const LIMIT: usize = MAX_SECONDS * RATE as usize;

impl Recorder {
    /// Adds what the caller said (decoded, in order).
    pub fn caller(&mut self, samples: &[i16]) {
        let room = LIMIT.saturating_sub(self.caller.len());
        self.caller.extend_from_slice(&samples[..samples.len().min(room)]);
    }

    /// Adds what was sent to the caller.
    pub fn agent(&mut self, samples: &[i16]) {
        let room = LIMIT.saturating_sub(self.agent.len());
        self.agent.extend_from_slice(&samples[..samples.len().min(room)]);
    }

    /// The WAV file (RIFF, PCM, 2 channels, 8 kHz, 16 bit).
    pub fn into_wav(self) -> Zeroizing<Vec<u8>> {
        let frames = self.caller.len().max(self.agent.len());
        let data_len = (frames * 4) as u32;
        let mut out = Zeroizing::new(Vec::with_capacity(44 + frames * 4));
        out.extend_from_slice(&parley_media::wav::header(2, RATE, data_len));
        for i in 0..frames {
            out.extend_from_slice(&self.caller.get(i).copied().unwrap_or(0).to_le_bytes());
            out.extend_from_slice(&self.agent.get(i).copied().unwrap_or(0).to_le_bytes());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stereo_wav_with_the_caller_left() {
        let mut r = Recorder::default();
        r.caller(&[1, 2, 3]);
        r.agent(&[-1]);
        let wav = r.into_wav();
        assert_eq!(&wav[..4], b"RIFF");
        assert_eq!(u32::from_le_bytes(wav[40..44].try_into().unwrap()), 12, "3 frames of 4 bytes");
        let sample = |i: usize| i16::from_le_bytes([wav[44 + 2 * i], wav[45 + 2 * i]]);
        assert_eq!([sample(0), sample(1), sample(2), sample(3), sample(5)], [1, -1, 2, 0, 0]);
    }

    #[test]
    fn capped() {
        let mut r = Recorder::default();
        let minute = vec![7i16; 60 * RATE as usize];
        for _ in 0..31 {
            r.caller(&minute);
        }
        assert_eq!(r.caller.len(), LIMIT);
    }
}
