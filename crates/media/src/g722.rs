//! G.722 (ITU-T G.722, 64 kbit/s sub-band ADPCM) at the rate of its lower sub-band: the call
//! pipeline runs at 8 kHz, which is exactly the lower band's sample rate, so each 8 kHz sample
//! becomes one G.722 octet (6 bits of lower-band ADPCM; the upper band is sent as its quietest
//! code) and each received octet gives one 8 kHz sample (the lower band, decoded; the upper band,
//! above 4 kHz, is dropped). The bitstream is standard G.722: a wideband peer decodes it, and we
//! decode its speech band. The RTP clock of G.722 is 8000 (RFC 3551 §4.5.2), so 20 ms is 160
//! octets and 160 timestamp units, as for G.711.
//!
//! The blocks follow the recommendation's names: SUBTRA, QUANTL, INVQAL/INVQBL, LOGSCL, SCALEL,
//! and the adaptive predictor (RECONS, PARREC, UPPOL1/2, UPZERO, DELAYA, FILTEP, FILTEZ,
//! PREDIC); the tables are the recommendation's.

/// QUANTL decision levels (multiples of the scale factor, Q12).
const Q6: [i32; 32] = [
    0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714, 786, 858, 940, 1023, 1121, 1219, 1339, 1458, 1612, 1765, 1980, 2195, 2557,
    2919, 0, 0,
];
/// 6-bit codes for negative and positive differences, by quantizer interval.
const ILN: [u8; 32] = [0, 63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 0];
const ILP: [u8; 32] = [0, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32, 0];
/// Log scale factor adaptation by 4-bit magnitude.
const WL: [i32; 8] = [-60, -30, 58, 172, 334, 538, 1198, 3042];
const RL42: [usize; 16] = [0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0];
/// Inverse log table for the scale factor.
const ILB: [i32; 32] = [
    2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834, 2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371,
    3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008,
];
/// INVQAL: 4-bit inverse quantizer (feeds the predictor).
const QM4: [i32; 16] = [0, -20456, -12896, -8968, -6288, -4240, -2584, -1200, 20456, 12896, 8968, 6288, 4240, 2584, 1200, 0];
/// INVQBL: 6-bit inverse quantizer (the decoder's output at 64 kbit/s).
const QM6: [i32; 64] = [
    -136, -136, -136, -136, -24808, -21904, -19008, -16704, -14984, -13512, -12280, -11192, -10232, -9360, -8576, -7856, -7192, -6576, -6000,
    -5456, -4944, -4464, -4008, -3576, -3168, -2776, -2400, -2032, -1688, -1360, -1040, -728, 24808, 21904, 19008, 16704, 14984, 13512, 12280,
    11192, 10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456, 4944, 4464, 4008, 3576, 3168, 2776, 2400, 2032, 1688, 1360, 1040, 728, 432, 136, -432,
    -136,
];
/// The upper band's 2-bit code sent with every octet (its smallest positive step).
const QUIET_HIGH_BAND: u8 = 0xC0;

fn sat(v: i32) -> i32 {
    v.clamp(-32768, 32767)
}

/// The lower band's ADPCM state (shared by encoder and decoder, which stay in step).
#[derive(Clone, Debug)]
struct Band {
    /// Predicted signal (PREDIC).
    s: i32,
    sp: i32,
    sz: i32,
    /// Reconstructed signal, partial reconstruction, quantized differences (delay lines).
    r: [i32; 3],
    p: [i32; 3],
    d: [i32; 7],
    /// Pole and zero predictor coefficients.
    a: [i32; 3],
    b: [i32; 7],
    /// Log scale factor and scale factor.
    nb: i32,
    det: i32,
}

impl Band {
    fn new() -> Band {
        Band { s: 0, sp: 0, sz: 0, r: [0; 3], p: [0; 3], d: [0; 7], a: [0; 3], b: [0; 7], nb: 0, det: 32 }
    }

    /// LOGSCL and SCALEL after a code with 4-bit magnitude index `ril`.
    fn adapt_scale(&mut self, ril: usize) {
        self.nb = ((self.nb * 127) >> 7) + WL[RL42[ril]];
        self.nb = self.nb.clamp(0, 18432);
        let wd1 = ((self.nb >> 6) & 31) as usize;
        let shift = 8 - (self.nb >> 11);
        let wd3 = if shift < 0 { ILB[wd1] << -shift } else { ILB[wd1] >> shift };
        self.det = wd3 << 2;
    }

    /// The adaptive predictor, updated with the quantized difference `d`.
    fn update(&mut self, d: i32) {
        // RECONS, PARREC
        self.d[0] = d;
        self.r[0] = sat(self.s + d);
        self.p[0] = sat(self.sz + d);
        // UPPOL2
        let sign = |v: i32| v >> 15;
        let sg = [sign(self.p[0]), sign(self.p[1]), sign(self.p[2])];
        let wd1 = sat(self.a[1] << 2);
        let wd2 = if sg[0] == sg[1] { -wd1 } else { wd1 }.min(32767);
        let mut a2 = (wd2 >> 7) + if sg[0] == sg[2] { 128 } else { -128 };
        a2 += (self.a[2] * 32512) >> 15;
        let a2 = a2.clamp(-12288, 12288);
        // UPPOL1
        let wd1 = if sg[0] == sg[1] { 192 } else { -192 };
        let mut a1 = sat(wd1 + ((self.a[1] * 32640) >> 15));
        let limit = sat(15360 - a2);
        a1 = a1.clamp(-limit, limit);
        // UPZERO
        let step = if d == 0 { 0 } else { 128 };
        let mut bp = [0i32; 7];
        for (i, b) in bp.iter_mut().enumerate().skip(1) {
            let wd2 = if sign(self.d[i]) == sign(d) { step } else { -step };
            *b = sat(wd2 + ((self.b[i] * 32640) >> 15));
        }
        // DELAYA
        for i in (1..7).rev() {
            self.d[i] = self.d[i - 1];
            self.b[i] = bp[i];
        }
        for i in (1..3).rev() {
            self.r[i] = self.r[i - 1];
            self.p[i] = self.p[i - 1];
        }
        self.a[1] = a1;
        self.a[2] = a2;
        // FILTEP
        let wd1 = (self.a[1] * sat(self.r[1] + self.r[1])) >> 15;
        let wd2 = (self.a[2] * sat(self.r[2] + self.r[2])) >> 15;
        self.sp = sat(wd1 + wd2);
        // FILTEZ
        let sz: i32 = (1..7).map(|i| (self.b[i] * sat(self.d[i] + self.d[i])) >> 15).sum();
        self.sz = sat(sz);
        // PREDIC
        self.s = sat(self.sp + self.sz);
    }
}

/// Encodes 8 kHz samples into G.722 octets (see the module docs).
#[derive(Clone, Debug)]
pub struct Encoder {
    band: Band,
}

impl Default for Encoder {
    fn default() -> Encoder {
        Encoder { band: Band::new() }
    }
}

impl Encoder {
    /// Appends one octet per sample of `pcm` to `out`.
    pub fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) {
        for &x in pcm {
            let b = &mut self.band;
            // The algorithm works on 15-bit samples.
            let el = sat((i32::from(x) >> 1) - b.s);
            // QUANTL
            let wd = if el >= 0 { el } else { -(el + 1) };
            let interval = (1..30).find(|&i| wd < (Q6[i] * b.det) >> 12).unwrap_or(30);
            let code = if el < 0 { ILN[interval] } else { ILP[interval] };
            // INVQAL, then scale adaptation and the predictor.
            let ril = usize::from(code >> 2);
            let dlow = (b.det * QM4[ril]) >> 15;
            b.adapt_scale(ril);
            b.update(dlow);
            out.push(QUIET_HIGH_BAND | code);
        }
    }
}

/// Decodes G.722 octets into 8 kHz samples of the lower band (see the module docs).
#[derive(Clone, Debug)]
pub struct Decoder {
    band: Band,
}

impl Default for Decoder {
    fn default() -> Decoder {
        Decoder { band: Band::new() }
    }
}

impl Decoder {
    /// Appends one sample per octet of `data` to `out`.
    pub fn decode(&mut self, data: &[u8], out: &mut Vec<i16>) {
        for &octet in data {
            let b = &mut self.band;
            let code = usize::from(octet & 0x3f);
            // INVQBL and RECONS: the output; LIMIT to 15 bits.
            let rlow = sat(b.s + ((b.det * QM6[code]) >> 15)).clamp(-16384, 16383);
            // INVQAL: the difference the predictor sees (as the encoder's).
            let ril = code >> 2;
            let dlow = (b.det * QM4[ril]) >> 15;
            b.adapt_scale(ril);
            b.update(dlow);
            out.push((rlow << 1) as i16);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(hz: f64, n: usize, amp: f64) -> Vec<i16> {
        (0..n).map(|i| ((i as f64) * hz * std::f64::consts::TAU / 8000.0).sin().mul_add(amp, 0.0) as i16).collect()
    }

    fn snr_db(reference: &[i16], got: &[i16]) -> f64 {
        let signal: f64 = reference.iter().map(|&s| f64::from(s).powi(2)).sum();
        let noise: f64 = reference.iter().zip(got).map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2)).sum();
        10.0 * (signal / noise.max(1.0)).log10()
    }

    #[test]
    fn a_tone_survives_the_round_trip() {
        for (hz, amp) in [(300.0, 12000.0), (1000.0, 8000.0), (3000.0, 3000.0)] {
            let pcm = tone(hz, 8000, amp);
            let (mut enc, mut dec) = (Encoder::default(), Decoder::default());
            let (mut bytes, mut back) = (Vec::new(), Vec::new());
            for chunk in pcm.chunks(160) {
                enc.encode(chunk, &mut bytes);
            }
            assert_eq!(bytes.len(), pcm.len(), "one octet per 8 kHz sample");
            assert!(bytes.iter().all(|b| b & 0xC0 == 0xC0), "the upper band is quiet");
            dec.decode(&bytes, &mut back);
            // ADPCM settles within a few milliseconds; compare after that.
            let snr = snr_db(&pcm[400..], &back[400..]);
            assert!(snr > 20.0, "{hz} Hz: SNR {snr:.1} dB");
        }
    }

    #[test]
    fn silence_stays_quiet_and_extremes_do_not_overflow() {
        let (mut enc, mut dec) = (Encoder::default(), Decoder::default());
        let (mut bytes, mut back) = (Vec::new(), Vec::new());
        enc.encode(&[0; 800], &mut bytes);
        dec.decode(&bytes, &mut back);
        assert!(back.iter().all(|s| s.abs() < 64), "{:?}", &back[..10]);
        let square: Vec<i16> = (0..1600).map(|i| if (i / 8) % 2 == 0 { i16::MAX } else { i16::MIN }).collect();
        bytes.clear();
        enc.encode(&square, &mut bytes);
        back.clear();
        dec.decode(&bytes, &mut back);
        assert_eq!(back.len(), square.len());
        // Any octets decode without a panic.
        back.clear();
        dec.decode(&(0..=255u8).collect::<Vec<_>>(), &mut back);
    }

    #[test]
    fn any_run_of_octets_decodes_without_overflow() {
        // What a peer may send: long runs of arbitrary octets, decoded with overflow checks on
        // (a test build), with the state carried across packets.
        let mut dec = Decoder::default();
        let (mut x, mut back) = (0x9E37_79B9_7F4A_7C15u64, Vec::new());
        for n in 0..2000 {
            let packet: Vec<u8> = (0..160)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    // Runs of one code now and then drive the predictor to its limits.
                    if n % 7 == 0 { (n % 64) as u8 } else { x as u8 }
                })
                .collect();
            back.clear();
            dec.decode(&packet, &mut back);
            assert_eq!(back.len(), 160);
        }
    }
}
