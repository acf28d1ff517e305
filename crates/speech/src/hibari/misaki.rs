//! espeak-ng's IPA in the alphabet Kokoro-82M (and so hibari) was trained on: misaki's, where a
//! diphthong or affricate is one letter (`O` for `oʊ`, `I` for `aɪ`, `ʤ` for `dʒ`) and an
//! American flap is `T`. The mapping is misaki's own for words its dictionaries lack
//! (misaki 0.9 `espeak.py`, `EspeakFallback` with `en-us`, Apache-2.0), fed with espeak-ng's
//! `--ipa --tie=^` output as misaki feeds it.

/// espeak-ng's replacements, longest first (misaki's `E2M`, in its order).
const E2M: [(&str, &str); 20] = [
    ("ʔˌn\u{329}", "ʔn"),
    ("ʔn\u{329}", "ʔn"),
    ("a^ɪ", "I"),
    ("a^ʊ", "W"),
    ("d^ʒ", "ʤ"),
    ("e^ɪ", "A"),
    ("t^ʃ", "ʧ"),
    ("ɔ^ɪ", "Y"),
    ("ə^l", "ᵊl"),
    ("ʲo", "jo"),
    ("ʲə", "jə"),
    ("e", "A"),
    ("ʲ", ""),
    ("ɚ", "əɹ"),
    ("r", "ɹ"),
    ("x", "k"),
    ("ç", "k"),
    ("ɐ", "ə"),
    ("ɬ", "l"),
    ("\u{303}", ""),
];

/// American English: espeak-ng's IPA (with `^` ties) to misaki's letters.
pub fn from_espeak(ipa: &str) -> String {
    let mut ps = ipa.to_string();
    for (from, to) in E2M {
        ps = ps.replace(from, to);
    }
    // A syllabic consonant (`n̩`) becomes a reduced vowel before it (`ᵊn`).
    let mut syllabic = String::with_capacity(ps.len());
    for c in ps.chars() {
        if c == '\u{329}' {
            if let Some(prev) = syllabic.pop() {
                if prev.is_whitespace() {
                    syllabic.push(prev);
                } else {
                    syllabic.push('ᵊ');
                    syllabic.push(prev);
                }
            }
        } else {
            syllabic.push(c);
        }
    }
    let ps = syllabic.replace("o^ʊ", "O").replace("ɜːɹ", "ɜɹ").replace("ɜː", "ɜɹ").replace("ɪə", "iə").replace('ː', "");
    // espeak-ng before 1.52 writes `o` where misaki has `ɔ`; then the flap and glottal stop
    // as Kokoro 1.0 reads them.
    let ps = ps.replace('o', "ɔ").replace('ɾ', "T").replace('ʔ', "t").replace('^', "");
    // espeak-ng writes "arrive" as `ɚɹˈaɪv`: one r is said.
    ps.replace("ɹɹ", "ɹ")
}

#[cfg(test)]
mod tests {
    use super::from_espeak;

    #[test]
    fn espeak_ng_phonemes_read_as_misakis() {
        // espeak-ng 1.51 `-q --ipa --tie=^ -v en-us`, and what hibari's own G2P says.
        assert_eq!(from_espeak("jʊɹ ˈɔː^ɹdɚ wˈʌn θˈa^ʊzənd fˈoː^ɹ hɐz ʃˈɪpt"), "jʊɹ ˈɔɹdəɹ wˈʌn θˈWzənd fˈɔɹ həz ʃˈɪpt");
        assert_eq!(from_espeak("wiː ɑːɹ ˈo^ʊpən fɹʌm nˈa^ɪn"), "wi ɑɹ ˈOpən fɹʌm nˈIn");
        assert_eq!(from_espeak("mˈʌnde^ɪ tə fɹˈa^ɪde^ɪ"), "mˈʌndA tə fɹˈIdA");
        assert_eq!(from_espeak("ɚɹˈa^ɪvz"), "əɹˈIvz");
        assert_eq!(from_espeak("kˈɑːlɪd^ʒ t^ʃˈɜːt^ʃ bˈɔ^ɪ"), "kˈɑlɪʤ ʧˈɜɹʧ bˈY");
        assert_eq!(from_espeak("bˈʌʔn\u{329} wˈɔːɾɚ"), "bˈʌtn wˈɔTəɹ");
        assert_eq!(from_espeak("lˈɪɾə^l"), "lˈɪTᵊl");
    }
}
