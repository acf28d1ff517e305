//! The 44-byte header of a 16-bit PCM WAV file (RIFF `WAVE`, `fmt ` chunk of 16 bytes, then
//! `data`), for the recordings and the audio sent to recognizers.

/// The header for `data_bytes` bytes of 16-bit little-endian PCM, `channels` interleaved at `rate` Hz.
pub fn header(channels: u16, rate: u32, data_bytes: u32) -> [u8; 44] {
    let block = channels * 2;
    let mut h = [0u8; 44];
    let fields: [&[u8]; 12] = [
        b"RIFF",
        &(36 + data_bytes).to_le_bytes(),
        b"WAVEfmt ",
        &16u32.to_le_bytes(),
        &1u16.to_le_bytes(), // PCM
        &channels.to_le_bytes(),
        &rate.to_le_bytes(),
        &(rate * u32::from(block)).to_le_bytes(), // bytes per second
        &block.to_le_bytes(),
        &16u16.to_le_bytes(), // bits per sample
        b"data",
        &data_bytes.to_le_bytes(),
    ];
    let mut at = 0;
    for f in fields {
        h[at..at + f.len()].copy_from_slice(f);
        at += f.len();
    }
    h
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_stereo_8_khz_header() {
        let h = super::header(2, 8000, 400);
        assert_eq!(&h[..4], b"RIFF");
        assert_eq!(u32::from_le_bytes([h[4], h[5], h[6], h[7]]), 436);
        assert_eq!(&h[8..16], b"WAVEfmt ");
        assert_eq!(u16::from_le_bytes([h[22], h[23]]), 2);
        assert_eq!(u32::from_le_bytes([h[24], h[25], h[26], h[27]]), 8000);
        assert_eq!(u32::from_le_bytes([h[28], h[29], h[30], h[31]]), 32000);
        assert_eq!(u16::from_le_bytes([h[32], h[33]]), 4);
        assert_eq!(&h[36..40], b"data");
        assert_eq!(u32::from_le_bytes([h[40], h[41], h[42], h[43]]), 400);
    }
}
