//! Replays the RFC 4475 torture corpus (shared/corpus/rfc4475) through the parser, the validator
//! and the endpoint, row by row as EXPECTED.tsv says.

use std::path::PathBuf;
use std::time::Instant;

use parley_sip::endpoint::{Config, Endpoint, Output, Transport};
use parley_sip::parse::parse_datagram;
use parley_sip::validate::Summary;

fn corpus_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("PARLEY_RFC4475_DIR") {
        return dir.into();
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/rfc4475")
}

fn rows() -> Vec<(String, String)> {
    let tsv = std::fs::read_to_string(corpus_dir().join("EXPECTED.tsv")).expect("corpus present beside the repo");
    tsv.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].to_string(), f[4].to_string())
        })
        .collect()
}

fn accepted(data: &[u8]) -> bool {
    parse_datagram(data).map(|m| Summary::of(&m).is_ok()).unwrap_or(false)
}

#[test]
fn corpus_is_intact() {
    let sums = std::fs::read_to_string(corpus_dir().join("SHA256SUMS")).unwrap();
    assert!(sums.lines().count() >= 49);
    assert_eq!(rows().len(), 49);
}

#[test]
fn every_row_parses_or_is_rejected_as_the_rfc_says() {
    let mut failures = Vec::new();
    for (file, rule) in rows() {
        let data = std::fs::read(corpus_dir().join(&file)).unwrap();
        let ok = accepted(&data);
        let expected_ok = match rule.as_str() {
            "must-accept" => Some(true),
            "must-reject" | "should-reject" | "may-parse" => Some(false),
            "may-reject" => None,
            other => panic!("unknown rule {other}"),
        };
        if expected_ok.is_some_and(|e| e != ok) {
            failures.push(format!("{file}: {rule} but accepted={ok}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// What a UAS answers to each request of the corpus (the `handling` column of EXPECTED.tsv).
fn answer_to(file: &str) -> Option<u16> {
    let data = std::fs::read(corpus_dir().join(file)).unwrap();
    let mut ep = Endpoint::new(Config::new("192.0.2.99:5060".parse().unwrap()), 1);
    ep.handle_datagram(Instant::now(), Transport::Udp, "192.0.2.1:5060".parse().unwrap(), &data);
    let mut last = None;
    while let Some(out) = ep.poll_output() {
        if let Output::Transmit(t) = out {
            let code = std::str::from_utf8(&t.data[8..11]).ok().and_then(|c| c.parse().ok());
            if code != Some(100) {
                last = code;
            }
        }
    }
    last
}

#[test]
fn uas_answers_as_rfc4475_handling_says() {
    let cases: &[(&str, &[u16])] = &[
        ("badvers.dat", &[505]),
        ("mismatch01.dat", &[400]),
        ("mismatch02.dat", &[400, 501]),
        ("insuf.dat", &[400]),
        ("multi01.dat", &[400]),
        ("badinv01.dat", &[400]),
        ("scalar02.dat", &[400]),
        ("quotbal.dat", &[400]),
        ("clerr.dat", &[400]),
        ("unkscm.dat", &[416]),
        ("novelsc.dat", &[416, 404]),
        ("bext01.dat", &[420]),
        ("invut.dat", &[415]),
        ("sdp01.dat", &[406, 400]),
        ("intmeth.dat", &[501]),
        ("esc02.dat", &[501]),
    ];
    for (file, codes) in cases {
        let got = answer_to(file);
        assert!(got.is_some_and(|c| codes.contains(&c)), "{file}: got {got:?}, want one of {codes:?}");
    }
}

#[test]
fn responses_in_the_corpus_get_no_answer() {
    for file in ["unreason.dat", "noreason.dat", "bigcode.dat", "scalarlg.dat", "bcast.dat"] {
        assert_eq!(answer_to(file), None, "{file}");
    }
}
