//! Digest authentication of SIP requests (RFC 3261 §22, RFC 7616 computation, RFC 8760
//! algorithms), server side and sans-IO.
//!
//! [`DigestAuth::challenges`] gives the `WWW-Authenticate` values for a 401: one per algorithm,
//! preferred first (RFC 8760 §2.4; SHA-256, then MD5 for older peers, unless the peers read
//! only the first and know only MD5), each with `qop="auth"`. Nonces are stateless: the issue time, random bytes and an HMAC-SHA256 of
//! both under the server's secret, so any node sharing the secret can check them and nothing
//! is stored per challenge. [`DigestAuth::verify`] checks an `Authorization` header: the nonce
//! is ours and younger than its lifetime (else `Stale`, so the peer retries without asking the
//! user), the URI is the request's, the response matches the password, and the nonce count is
//! higher than any seen before with that nonce (replay check). Time comes in as unix ms.

use std::collections::HashMap;
use std::net::IpAddr;

use hmac::{Hmac, Mac};
use md5::Md5;
use sha2::{Digest, Sha256};

/// Hash algorithm of a digest challenge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// `SHA-256` (RFC 8760), preferred.
    Sha256,
    /// `MD5`, for peers that know nothing else.
    Md5,
}

impl Algorithm {
    /// From its name in headers (any case).
    pub fn parse(name: &str) -> Option<Algorithm> {
        match name.to_ascii_uppercase().as_str() {
            "SHA-256" => Some(Algorithm::Sha256),
            "MD5" => Some(Algorithm::Md5),
            _ => None,
        }
    }

    /// The name in headers.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Md5 => "MD5",
        }
    }

    fn hash(self, text: &str) -> String {
        match self {
            Algorithm::Sha256 => hex::encode(Sha256::digest(text.as_bytes())),
            Algorithm::Md5 => hex::encode(Md5::digest(text.as_bytes())),
        }
    }
}

/// The expected `response` (RFC 7616 §3.4.1, qop=auth).
#[allow(clippy::too_many_arguments)]
pub fn response(alg: Algorithm, username: &str, realm: &str, password: &str, method: &str, uri: &str, nonce: &str, nc: &str, cnonce: &str) -> String {
    let ha1 = alg.hash(&format!("{username}:{realm}:{password}"));
    let ha2 = alg.hash(&format!("{method}:{uri}"));
    alg.hash(&format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}"))
}

/// A client's answer to a challenge (RFC 3261 §22.2, RFC 7616 §3.4): the value of the
/// `Authorization` (after a 401) or `Proxy-Authorization` (after a 407) header.
///
/// `challenges` are the `WWW-Authenticate` or `Proxy-Authenticate` values of the response:
/// the first SHA-256 one is answered, else the first MD5 one (RFC 8760 §2.4; no `algorithm`
/// means MD5). With `qop` offered, `qop=auth` is used with nonce count 1 and `cnonce`;
/// without, the RFC 2069 form. `None` when no challenge can be answered (other schemes,
/// unknown algorithms, `qop=auth-int` only).
pub fn answer_challenge(challenges: &[&str], username: &str, password: &str, method: &str, uri: &str, cnonce: &str) -> Option<String> {
    let parsed: Vec<(Algorithm, HashMap<String, String>)> = challenges
        .iter()
        .filter_map(|c| parse_params(c))
        .filter_map(|p| Some((Algorithm::parse(p.get("algorithm").map_or("MD5", String::as_str))?, p)))
        .collect();
    let (alg, p) = parsed.iter().find(|(a, _)| *a == Algorithm::Sha256).or_else(|| parsed.first())?;
    let (realm, nonce) = (p.get("realm")?, p.get("nonce")?);
    let quote = |v: &str| v.replace('\\', "\\\\").replace('"', "\\\"");
    let mut out = format!("Digest username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"{}\"", quote(username), quote(realm), quote(nonce), quote(uri));
    match p.get("qop") {
        Some(qop) => {
            if !qop.split(',').any(|q| q.trim().eq_ignore_ascii_case("auth")) {
                return None;
            }
            let nc = "00000001";
            let resp = response(*alg, username, realm, password, method, uri, nonce, nc, cnonce);
            out.push_str(&format!(", response=\"{resp}\", algorithm={}, qop=auth, nc={nc}, cnonce=\"{}\"", alg.name(), quote(cnonce)));
        }
        None => {
            let ha1 = alg.hash(&format!("{username}:{realm}:{password}"));
            let ha2 = alg.hash(&format!("{method}:{uri}"));
            let resp = alg.hash(&format!("{ha1}:{nonce}:{ha2}"));
            out.push_str(&format!(", response=\"{resp}\", algorithm={}", alg.name()));
        }
    }
    if let Some(opaque) = p.get("opaque") {
        out.push_str(&format!(", opaque=\"{}\"", quote(opaque)));
    }
    Some(out)
}

/// What [`DigestAuth::verify`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Authenticated as this user.
    Ok(String),
    /// A nonce of ours that has expired: challenge again with `stale=true`.
    Stale,
    /// A nonce we did not issue to this address (forged, or another address's): challenge
    /// again; proves nothing about the sender.
    NotOurNonce,
    /// A wrong password or unknown user, answering a nonce issued to this address: a guess.
    WrongCredentials(&'static str),
    /// Anything else: replay, wrong URI, malformed.
    Invalid(&'static str),
}

/// Nonce lifetime (Kamailio's `nonce_expire` default).
pub const NONCE_TTL_MS: i64 = 300_000;
/// Nonces whose counts are tracked at once; beyond this the oldest are forgotten (and their
/// nonces refused, so a flood cannot open a replay window).
const MAX_TRACKED: usize = 100_000;

/// See the module docs.
pub struct DigestAuth {
    realm: String,
    key: [u8; 32],
    /// Highest nonce count seen per nonce, with the nonce's issue time.
    counts: HashMap<String, (u32, i64)>,
}

impl DigestAuth {
    /// A verifier for `realm`, keyed with `secret` (share it between nodes behind one proxy).
    pub fn new(realm: &str, secret: [u8; 32]) -> DigestAuth {
        DigestAuth { realm: realm.to_string(), key: secret, counts: HashMap::new() }
    }

    /// The realm.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// `WWW-Authenticate` values for a 401, one per algorithm in the order given (SHA-256
    /// first, RFC 8760 §2.4, unless the peers want otherwise); `random` makes the nonce unique.
    pub fn challenges(&self, now_ms: i64, random: [u8; 12], stale: bool, algorithms: &[Algorithm], to: IpAddr) -> Vec<String> {
        let nonce = self.nonce(now_ms, random, to);
        let stale = if stale { ", stale=true" } else { "" };
        algorithms
            .iter()
            .map(|a| format!("Digest realm=\"{}\", nonce=\"{nonce}\", algorithm={}, qop=\"auth\"{stale}", self.realm, a.name()))
            .collect()
    }

    fn mac(&self, issued: &str, random: &str, to: IpAddr) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(issued.as_bytes());
        mac.update(b".");
        mac.update(random.as_bytes());
        mac.update(b".");
        mac.update(to.to_canonical().to_string().as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }

    fn nonce(&self, now_ms: i64, random: [u8; 12], to: IpAddr) -> String {
        let issued = format!("{now_ms:x}");
        let random = hex::encode(random);
        let mac = self.mac(&issued, &random, to);
        format!("{issued}.{random}.{mac}")
    }

    /// When `nonce` was issued, if it is ours and went to `to`.
    fn issued(&self, nonce: &str, to: IpAddr) -> Option<i64> {
        let mut parts = nonce.split('.');
        let (issued, random, mac) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || !constant_time_eq(self.mac(issued, random, to).as_bytes(), mac.as_bytes()) {
            return None;
        }
        i64::from_str_radix(issued, 16).ok()
    }

    /// Checks `authorization` (an `Authorization` header value) of a request with `method` and
    /// `request_uri` from `source`; `password` looks up a user's password, if that user may
    /// answer with that algorithm.
    pub fn verify(&mut self, now_ms: i64, method: &str, request_uri: &str, authorization: &str, source: IpAddr, password: impl Fn(&str, Algorithm) -> Option<String>) -> Verdict {
        let Some(p) = parse_params(authorization) else { return Verdict::Invalid("not a Digest header") };
        let get = |k: &str| p.get(k).map(String::as_str);
        let (Some(username), Some(nonce), Some(uri), Some(resp)) = (get("username"), get("nonce"), get("uri"), get("response")) else {
            return Verdict::Invalid("missing parameters");
        };
        // RFC 7616 §3.4: no algorithm parameter means MD5.
        let Some(alg) = Algorithm::parse(get("algorithm").unwrap_or("MD5")) else { return Verdict::Invalid("unsupported algorithm") };
        if get("realm") != Some(self.realm.as_str()) {
            return Verdict::Invalid("wrong realm");
        }
        let (Some("auth"), Some(nc), Some(cnonce)) = (get("qop"), get("nc"), get("cnonce")) else {
            return Verdict::Invalid("qop=auth with nc and cnonce is required");
        };
        let Some(count) = (nc.len() == 8).then(|| u32::from_str_radix(nc, 16).ok()).flatten() else {
            return Verdict::Invalid("bad nonce count");
        };
        let Some(issued) = self.issued(nonce, source) else { return Verdict::NotOurNonce };
        if !same_target(uri, request_uri) {
            return Verdict::Invalid("uri is not the request's");
        }
        let Some(secret) = password(username, alg) else { return Verdict::WrongCredentials("unknown user or algorithm not allowed") };
        let expected = response(alg, username, &self.realm, &secret, method, uri, nonce, nc, cnonce);
        if !constant_time_eq(expected.as_bytes(), resp.to_ascii_lowercase().as_bytes()) {
            return Verdict::WrongCredentials("wrong response");
        }
        if now_ms - issued > NONCE_TTL_MS || issued > now_ms + 60_000 {
            return Verdict::Stale;
        }
        self.forget_expired(now_ms);
        let tracked = self.counts.len();
        match self.counts.entry(nonce.to_string()) {
            std::collections::hash_map::Entry::Occupied(e) if count <= e.get().0 => return Verdict::Invalid("nonce count replayed"),
            std::collections::hash_map::Entry::Occupied(mut e) => e.get_mut().0 = count,
            std::collections::hash_map::Entry::Vacant(_) if tracked >= MAX_TRACKED => return Verdict::Stale,
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert((count, issued));
            }
        }
        Verdict::Ok(username.to_string())
    }

    fn forget_expired(&mut self, now_ms: i64) {
        if self.counts.len() >= MAX_TRACKED / 2 {
            self.counts.retain(|_, (_, issued)| now_ms - *issued <= NONCE_TTL_MS);
        }
    }
}

/// Whether a digest `uri` names the request's target: the Request-URI itself, or (as many
/// peers send, sipp by default) the Request-URI without its user part and parameters.
fn same_target(uri: &str, request_uri: &str) -> bool {
    if uri == request_uri {
        return true;
    }
    let host_part = |u: &str| {
        let rest = u.strip_prefix("sips:").or_else(|| u.strip_prefix("sip:"))?;
        let rest = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
        Some(rest.split([';', '?']).next().unwrap_or(rest).to_ascii_lowercase())
    };
    let user_less = uri.strip_prefix("sip:").is_some_and(|u| !u.contains('@'));
    user_less && host_part(uri).is_some() && host_part(uri) == host_part(request_uri)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The parameters of a `Digest ...` credentials value (names lowercased, quotes and escapes
/// removed); `None` if it is not Digest or not well formed.
pub fn parse_params(value: &str) -> Option<HashMap<String, String>> {
    let rest = value.trim_start();
    let (scheme, mut rest) = rest.split_at(rest.find(char::is_whitespace)?);
    if !scheme.eq_ignore_ascii_case("digest") {
        return None;
    }
    let mut out = HashMap::new();
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == ',');
        if rest.is_empty() {
            return Some(out);
        }
        let eq = rest.find('=')?;
        let name = rest[..eq].trim().to_ascii_lowercase();
        if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c == ',') {
            return None;
        }
        rest = rest[eq + 1..].trim_start();
        let value = if let Some(quoted) = rest.strip_prefix('"') {
            let mut v = String::new();
            let mut chars = quoted.char_indices();
            let end = loop {
                match chars.next()? {
                    (_, '\\') => v.push(chars.next()?.1),
                    (i, '"') => break i,
                    (_, c) => v.push(c),
                }
            };
            rest = &quoted[end + 1..];
            v
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            let v = rest[..end].trim().to_string();
            rest = &rest[end..];
            v
        };
        out.insert(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 44));

    #[test]
    fn rfc7616_example_responses() {
        // RFC 7616 §3.9.1 (username Mufasa, password "Circle of Life").
        let args = ("Mufasa", "http-auth@example.org", "Circle of Life", "GET", "/dir/index.html", "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", "00000001", "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ");
        let r = |alg| response(alg, args.0, args.1, args.2, args.3, args.4, args.5, args.6, args.7);
        assert_eq!(r(Algorithm::Md5), "8ca523f5e9506fed4657c9700eebdbec");
        assert_eq!(r(Algorithm::Sha256), "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
    }

    fn authorization(auth: &DigestAuth, alg: Algorithm, password: &str, nonce: &str, nc: &str, uri: &str) -> String {
        let resp = response(alg, "trunk1", auth.realm(), password, "INVITE", uri, nonce, nc, "c0ffee");
        format!("Digest username=\"trunk1\", realm=\"{}\", nonce=\"{nonce}\", uri=\"{uri}\", response=\"{resp}\", algorithm={}, qop=auth, nc={nc}, cnonce=\"c0ffee\"", auth.realm(), alg.name())
    }

    fn nonce_of(challenge: &str) -> String {
        parse_params(challenge).unwrap()["nonce"].clone()
    }

    #[test]
    fn a_right_answer_passes_once_per_count_and_goes_stale() {
        let mut auth = DigestAuth::new("parley", [7; 32]);
        let both = [Algorithm::Sha256, Algorithm::Md5];
        let ch = auth.challenges(1_000, [1; 12], false, &both, SRC);
        assert!(ch[0].contains("algorithm=SHA-256") && ch[1].contains("algorithm=MD5"), "{ch:?}");
        let nonce = nonce_of(&ch[0]);
        let pw = |u: &str, _| (u == "trunk1").then(|| "s3cret".to_string());
        let uri = "sip:+15550001000@127.0.0.1";
        for alg in [Algorithm::Sha256, Algorithm::Md5] {
            let nonce = nonce_of(&auth.challenges(1_000, [alg as u8 + 10; 12], false, &both, SRC)[0]);
            assert_eq!(auth.verify(2_000, "INVITE", uri, &authorization(&auth, alg, "s3cret", &nonce, "00000001", uri), SRC, pw), Verdict::Ok("trunk1".into()));
        }
        let h1 = authorization(&auth, Algorithm::Sha256, "s3cret", &nonce, "00000001", uri);
        assert_eq!(auth.verify(2_000, "INVITE", uri, &h1, SRC, pw), Verdict::Ok("trunk1".into()));
        assert_eq!(auth.verify(2_001, "INVITE", uri, &h1, SRC, pw), Verdict::Invalid("nonce count replayed"));
        let h2 = authorization(&auth, Algorithm::Sha256, "s3cret", &nonce, "00000002", uri);
        assert_eq!(auth.verify(2_002, "INVITE", uri, &h2, SRC, pw), Verdict::Ok("trunk1".into()));
        let h3 = authorization(&auth, Algorithm::Sha256, "s3cret", &nonce, "00000003", uri);
        assert_eq!(auth.verify(1_000 + NONCE_TTL_MS + 1, "INVITE", uri, &h3, SRC, pw), Verdict::Stale);
        assert!(auth.challenges(0, [0; 12], true, &both, SRC)[0].ends_with("stale=true"));
        let md5_only = auth.challenges(0, [0; 12], false, &[Algorithm::Md5], SRC);
        assert!(md5_only.len() == 1 && md5_only[0].contains("algorithm=MD5"));
        let sha_only = |u: &str, a| (u == "trunk1" && a == Algorithm::Sha256).then(|| "s3cret".to_string());
        let nonce = nonce_of(&auth.challenges(3_000, [9; 12], false, &both, SRC)[0]);
        let md5 = authorization(&auth, Algorithm::Md5, "s3cret", &nonce, "00000001", uri);
        assert_eq!(auth.verify(3_000, "INVITE", uri, &md5, SRC, sha_only), Verdict::WrongCredentials("unknown user or algorithm not allowed"));
    }

    #[test]
    fn wrong_answers_are_refused() {
        let mut auth = DigestAuth::new("parley", [7; 32]);
        let nonce = nonce_of(&auth.challenges(1_000, [1; 12], false, &[Algorithm::Sha256], SRC)[0]);
        let pw = |u: &str, _| (u == "trunk1").then(|| "s3cret".to_string());
        let uri = "sip:a@b";
        let bad_pw = authorization(&auth, Algorithm::Sha256, "guess", &nonce, "00000001", uri);
        assert_eq!(auth.verify(2_000, "INVITE", uri, &bad_pw, SRC, pw), Verdict::WrongCredentials("wrong response"));
        let other_uri = authorization(&auth, Algorithm::Sha256, "s3cret", &nonce, "00000001", "sip:x@y");
        assert_eq!(auth.verify(2_000, "INVITE", uri, &other_uri, SRC, pw), Verdict::Invalid("uri is not the request's"));
        let other_host = authorization(&auth, Algorithm::Sha256, "s3cret", &nonce, "00000001", "sip:c");
        assert_eq!(auth.verify(2_000, "INVITE", uri, &other_host, SRC, pw), Verdict::Invalid("uri is not the request's"));
        let host_only = authorization(&auth, Algorithm::Sha256, "s3cret", &nonce, "00000001", "sip:b");
        assert_eq!(auth.verify(2_000, "INVITE", uri, &host_only, SRC, pw), Verdict::Ok("trunk1".into()), "the target without its user, as sipp sends it");
        let forged = authorization(&auth, Algorithm::Sha256, "s3cret", "123.abcd.0000", "00000001", uri);
        assert_eq!(auth.verify(2_000, "INVITE", uri, &forged, SRC, pw), Verdict::NotOurNonce);
        let other_node = DigestAuth::new("parley", [8; 32]);
        let theirs = nonce_of(&other_node.challenges(1_000, [1; 12], false, &[Algorithm::Sha256], SRC)[0]);
        let h = authorization(&auth, Algorithm::Sha256, "s3cret", &theirs, "00000001", uri);
        assert_eq!(auth.verify(2_000, "INVITE", uri, &h, SRC, pw), Verdict::NotOurNonce);
        // A nonce issued to one address proves nothing when another address sends it: a
        // spoofed source cannot make guesses that count against the real one.
        let spoofed = IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 1));
        assert_eq!(auth.verify(2_000, "INVITE", uri, &bad_pw, spoofed, pw), Verdict::NotOurNonce);
        let right_pw = authorization(&auth, Algorithm::Sha256, "s3cret", &nonce, "00000002", uri);
        assert_eq!(auth.verify(2_000, "INVITE", uri, &right_pw, spoofed, pw), Verdict::NotOurNonce);
        let no_qop = format!("Digest username=\"trunk1\", realm=\"parley\", nonce=\"{nonce}\", uri=\"{uri}\", response=\"00\"");
        assert_eq!(auth.verify(2_000, "INVITE", uri, &no_qop, SRC, pw), Verdict::Invalid("qop=auth with nc and cnonce is required"));
        assert_eq!(auth.verify(2_000, "INVITE", uri, "Basic dXNlcjpwYXNz", SRC, pw), Verdict::Invalid("not a Digest header"));
    }

    #[test]
    fn a_client_answers_our_own_challenge() {
        let mut auth = DigestAuth::new("parley", [3; 32]);
        let ch = auth.challenges(1_000, [2; 12], false, &[Algorithm::Md5, Algorithm::Sha256], SRC);
        let refs: Vec<&str> = ch.iter().map(String::as_str).collect();
        let uri = "sip:+15550001000@127.0.0.1";
        let value = answer_challenge(&refs, "trunk1", "s3cret", "INVITE", uri, "abc").unwrap();
        assert!(value.contains("algorithm=SHA-256"), "SHA-256 is preferred wherever it is offered: {value}");
        let pw = |u: &str, _| (u == "trunk1").then(|| "s3cret".to_string());
        assert_eq!(auth.verify(2_000, "INVITE", uri, &value, SRC, pw), Verdict::Ok("trunk1".into()));
        let wrong = answer_challenge(&refs, "trunk1", "guess", "INVITE", uri, "abc").unwrap();
        assert_eq!(auth.verify(2_000, "INVITE", uri, &wrong, SRC, pw), Verdict::WrongCredentials("wrong response"));
        assert!(answer_challenge(&["Basic realm=\"x\""], "a", "b", "INVITE", uri, "c").is_none());
        assert!(answer_challenge(&["Digest realm=\"x\", nonce=\"n\", qop=\"auth-int\""], "a", "b", "INVITE", uri, "c").is_none());
        assert!(answer_challenge(&["Digest realm=\"x\", nonce=\"n\", algorithm=SHA-512-256"], "a", "b", "INVITE", uri, "c").is_none());
    }

    #[test]
    fn rfc2069_challenges_without_qop_and_opaque_values() {
        // RFC 2617 §3.5's example (MD5, no qop): response = MD5(HA1:nonce:HA2).
        let ch = "Digest realm=\"testrealm@host.com\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"";
        let v = answer_challenge(&[ch], "Mufasa", "Circle Of Life", "GET", "/dir/index.html", "x").unwrap();
        let p = parse_params(&v).unwrap();
        assert_eq!(p["response"], "670fd8c2df070c60b045671b8b24ff02");
        assert_eq!(p["opaque"], "5ccc069c403ebaf9f0171e9517f40e41");
        assert!(!p.contains_key("qop") && !p.contains_key("nc"));
    }

    #[test]
    fn parameters_parse_with_quotes_escapes_and_odd_spacing() {
        let p = parse_params("Digest username=\"a\\\"b\" ,realm=\"r, x\",nc=00000001 , qop=auth").unwrap();
        assert_eq!(p["username"], "a\"b");
        assert_eq!(p["realm"], "r, x");
        assert_eq!(p["nc"], "00000001");
        assert_eq!(p["qop"], "auth");
        for bad in ["Digest username=\"open", "Digest =x", "Digest", "Digest a b=c"] {
            assert!(parse_params(bad).is_none(), "{bad}");
        }
        // Every prefix of a real header parses or is refused, without a panic.
        let real = "Digest username=\"pbx\", realm=\"parley\", nonce=\"1a.2b.3c\", uri=\"sip:a@b\", response=\"00ff\", qop=auth, nc=00000001, cnonce=\"xy\"";
        let mut auth = DigestAuth::new("parley", [1; 32]);
        for end in (0..=real.len()).filter(|e| real.is_char_boundary(*e)) {
            let _ = parse_params(&real[..end]);
            assert!(!matches!(auth.verify(0, "INVITE", "sip:a@b", &real[..end], SRC, |_, _| Some("pw".into())), Verdict::Ok(_)));
        }
    }
}
