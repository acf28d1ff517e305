//! Checking a hash chain and its signed heads, entry by entry: a [`Verifier`] holds each
//! chain's last hash and the heads' hashes, never the entries, so a log of any length is
//! checked in bounded memory (the console and `parley audit verify` page through it).
//! [`verify`] is the same check over a slice.

use std::collections::{BTreeMap, HashMap};

use super::{entry_hash, Entry, HeadSigner, SignedHead, GENESIS};

/// What a check found.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    /// Chains seen.
    pub chains: usize,
    /// Entries checked.
    pub entries: usize,
    /// Signed heads checked.
    pub heads: usize,
    /// Every inconsistency, in order; empty means the log verifies.
    pub problems: Vec<String>,
}

impl Report {
    /// Whether the log verified.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

pub(super) fn head_signature_ok(h: &SignedHead) -> bool {
    HeadSigner::verify_hex(&h.public_key, h.message().as_bytes(), &h.signature)
}

/// The chain being read.
struct Chain {
    id: String,
    /// The hash the next entry must follow.
    prev: String,
    /// Entries read in this chain.
    count: i64,
    /// Whether an entry no head covers was reported.
    uncovered: bool,
}

/// Checks entries pushed in order of chain, then seq; see the module docs.
pub struct Verifier {
    /// The well-signed heads' hashes, by chain and seq (consumed as their entry comes).
    expected: HashMap<String, BTreeMap<i64, Vec<String>>>,
    /// The highest well-signed head of each chain.
    covered: HashMap<String, i64>,
    /// Entries older than this must be covered by a head.
    cutoff_ms: Option<i64>,
    chain: Option<Chain>,
    report: Report,
}

impl Verifier {
    /// A check against `heads` (those not signed by `trusted`, when given, or badly signed are
    /// problems and count for nothing); with `cutoff_ms`, every entry older than it must be
    /// covered by a head of its chain.
    pub fn new(heads: &[SignedHead], trusted: Option<&str>, cutoff_ms: Option<i64>) -> Verifier {
        let mut v = Verifier { expected: HashMap::new(), covered: HashMap::new(), cutoff_ms, chain: None, report: Report { heads: heads.len(), ..Report::default() } };
        for h in heads {
            if trusted.is_some_and(|t| !h.public_key.eq_ignore_ascii_case(t)) {
                v.report.problems.push(format!("chain {}: head {} is signed by an untrusted key", h.tenant_id, h.seq));
            } else if !head_signature_ok(h) {
                v.report.problems.push(format!("chain {}: head {} has a bad signature", h.tenant_id, h.seq));
            } else {
                v.expected.entry(h.tenant_id.clone()).or_default().entry(h.seq).or_default().push(h.hash.clone());
                let c = v.covered.entry(h.tenant_id.clone()).or_default();
                *c = (*c).max(h.seq);
            }
        }
        v
    }

    /// The next entry (entries of one chain together, in seq order).
    pub fn push(&mut self, e: &Entry) {
        if self.chain.as_ref().is_none_or(|c| c.id != e.tenant_id) {
            self.close_chain();
            self.chain = Some(Chain { id: e.tenant_id.clone(), prev: GENESIS.to_string(), count: 0, uncovered: false });
            self.report.chains += 1;
        }
        self.report.entries += 1;
        let Some(chain) = self.chain.as_mut() else { return };
        chain.count += 1;
        let id = &chain.id;
        if e.seq != chain.count {
            self.report.problems.push(format!("chain {id}: expected entry {}, found {} (entries removed or reordered)", chain.count, e.seq));
        }
        if e.prev_hash != chain.prev {
            self.report.problems.push(format!("chain {id}: entry {} does not follow the entry before it", e.seq));
        }
        if entry_hash(&e.prev_hash, &e.tenant_id, e.seq, e.at_ms, &e.actor, &e.action, &e.object_id) != e.hash {
            self.report.problems.push(format!("chain {id}: entry {} was changed", e.seq));
        }
        for signed in self.expected.get_mut(id).and_then(|heads| heads.remove(&e.seq)).unwrap_or_default() {
            if signed != e.hash {
                self.report.problems.push(format!("chain {id}: entry {} differs from its signed head", e.seq));
            }
        }
        let covered = self.covered.get(id).copied().unwrap_or(0);
        if !chain.uncovered && self.cutoff_ms.is_some_and(|cutoff| e.at_ms < cutoff) && e.seq > covered {
            chain.uncovered = true;
            self.report.problems.push(format!("chain {id}: entry {} and later are older than the signing interval but no signed head covers them (heads deleted?)", e.seq));
        }
        chain.prev = e.hash.clone();
    }

    /// Heads of the chain just read that no entry matched point past its end.
    fn close_chain(&mut self) {
        let Some(chain) = self.chain.take() else { return };
        if let Some(left) = self.expected.remove(&chain.id) {
            self.report.problems.extend(left.into_keys().map(|seq| format!("chain {}: signed head {seq} points past the end (entries removed)", chain.id)));
        }
    }

    /// The report, once every entry was pushed.
    pub fn finish(mut self) -> Report {
        self.close_chain();
        let mut left: Vec<(String, i64)> = self.expected.into_iter().flat_map(|(chain, heads)| heads.into_keys().map(move |seq| (chain.clone(), seq))).collect();
        left.sort();
        self.report.problems.extend(left.into_iter().map(|(chain, seq)| format!("chain {chain}: signed head {seq} points past the end (entries removed)")));
        self.report
    }
}

/// Checks `entries` (any order of chains; each chain's entries in the order stored) against
/// `heads`; see [`Verifier`].
pub fn verify(entries: &[Entry], heads: &[SignedHead], trusted: Option<&str>) -> Report {
    verify_covered(entries, heads, trusted, None)
}

/// [`verify`], and with `cutoff_ms` every entry older than it covered by a signed head.
pub fn verify_covered(entries: &[Entry], heads: &[SignedHead], trusted: Option<&str>, cutoff_ms: Option<i64>) -> Report {
    let mut by_chain: BTreeMap<&str, Vec<&Entry>> = BTreeMap::new();
    for e in entries {
        by_chain.entry(e.tenant_id.as_str()).or_default().push(e);
    }
    let mut v = Verifier::new(heads, trusted, cutoff_ms);
    for e in by_chain.into_values().flatten() {
        v.push(e);
    }
    v.finish()
}
