//! Typed views of the headers Parley acts on: Via, From/To/Contact (name-addr), CSeq, parameters.
//!
//! Each parser takes the raw value bytes and is strict where RFC 4475 asks for rejection (empty
//! parameters, unterminated quotes, spaces in an addr-spec) and lenient about whitespace.

use crate::message::Method;
use crate::parse::{is_token_char, parse_decimal, trim};

/// A header value that does not follow its grammar.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("malformed {0} header")]
pub struct HeaderError(pub &'static str);

/// `;name[=value]` parameters, in order, names as given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params(pub Vec<(Vec<u8>, Option<Vec<u8>>)>);

impl Params {
    /// The value of a parameter (case-insensitive name); `Some(None)` when present without value.
    pub fn get(&self, name: &str) -> Option<Option<&[u8]>> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v.as_deref())
    }

    /// Parses `;a=b;c` (the leading `;` already consumed by the caller or absent).
    fn parse(s: &[u8], what: &'static str) -> Result<Params, HeaderError> {
        let mut out = Vec::new();
        let s = trim(s);
        if s.is_empty() {
            return Ok(Params(out));
        }
        for part in split_outside_quotes(s, b';') {
            let part = trim(part);
            let (name, value) = match part.iter().position(|&b| b == b'=') {
                Some(i) => (trim(&part[..i]), Some(trim(&part[i + 1..]))),
                None => (part, None),
            };
            if name.is_empty() || !name.iter().all(|&b| is_token_char(b)) {
                return Err(HeaderError(what));
            }
            if let Some(v) = value {
                let quoted = v.len() >= 2 && v[0] == b'"' && v[v.len() - 1] == b'"';
                let token_like = v.iter().all(|&b| is_token_char(b) || b"[]:".contains(&b));
                if v.is_empty() || !(quoted || token_like) {
                    return Err(HeaderError(what));
                }
            }
            out.push((name.to_vec(), value.map(<[u8]>::to_vec)));
        }
        Ok(Params(out))
    }
}

/// Splits on `sep` outside double quotes and angle brackets.
pub fn split_outside_quotes(s: &[u8], sep: u8) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let (mut in_quote, mut in_angle, mut escaped, mut start) = (false, false, false, 0);
    for (i, &b) in s.iter().enumerate() {
        if escaped {
            escaped = false;
            continue;
        }
        match b {
            b'\\' if in_quote => escaped = true,
            b'"' => in_quote = !in_quote,
            b'<' if !in_quote => in_angle = true,
            b'>' if !in_quote => in_angle = false,
            _ if b == sep && !in_quote && !in_angle => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

fn quotes_balanced(s: &[u8]) -> bool {
    let (mut in_quote, mut escaped) = (false, false);
    for &b in s {
        if escaped {
            escaped = false;
        } else if b == b'\\' && in_quote {
            escaped = true;
        } else if b == b'"' {
            in_quote = !in_quote;
        }
    }
    !in_quote
}

/// One Via value: `SIP/2.0/<transport> host[:port] *(;param)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Via {
    /// Transport token as sent (UDP, TCP, TLS, SCTP, or an unknown token).
    pub transport: Vec<u8>,
    /// The sent-by host.
    pub host: Vec<u8>,
    /// The sent-by port, if given.
    pub port: Option<u16>,
    /// Parameters (branch, received, rport, ...).
    pub params: Params,
}

impl Via {
    /// The branch parameter, if any.
    pub fn branch(&self) -> Option<&[u8]> {
        self.params.get("branch").flatten()
    }

    /// Parses a whole Via header value, which may list several comma-separated vias.
    pub fn parse_list(value: &[u8]) -> Result<Vec<Via>, HeaderError> {
        let items = split_outside_quotes(value, b',');
        items.into_iter().map(Via::parse_one).collect()
    }

    fn parse_one(v: &[u8]) -> Result<Via, HeaderError> {
        const E: HeaderError = HeaderError("Via");
        let v = trim(v);
        let mut rest = v;
        let mut proto = Vec::new();
        // sent-protocol: three tokens separated by '/', LWS allowed around the slashes.
        for i in 0..3 {
            rest = trim(rest);
            let end = rest
                .iter()
                .position(|&b| b == b'/' || b == b' ' || b == b'\t' || b == b';')
                .unwrap_or(rest.len());
            let tok = &rest[..end];
            if tok.is_empty() || !tok.iter().all(|&b| is_token_char(b)) {
                return Err(E);
            }
            proto.push(tok.to_vec());
            rest = trim(&rest[end..]);
            if i < 2 {
                rest = rest.strip_prefix(b"/").ok_or(E)?;
            }
        }
        if !proto[0].eq_ignore_ascii_case(b"SIP") {
            return Err(E);
        }
        let (sent_by, params) = match rest.iter().position(|&b| b == b';') {
            Some(i) => (trim(&rest[..i]), &rest[i + 1..]),
            None => (trim(rest), &b""[..]),
        };
        let (host, port) = split_host_port(sent_by).ok_or(E)?;
        let params = if rest.contains(&b';') { Params::parse(params, "Via")? } else { Params::default() };
        if params.0.is_empty() && rest.contains(&b';') {
            return Err(E);
        }
        Ok(Via { transport: proto[2].clone(), host, port, params })
    }
}

/// Splits `host[:port]`, with IPv6 references in brackets.
pub fn split_host_port(s: &[u8]) -> Option<(Vec<u8>, Option<u16>)> {
    if s.is_empty() || s.iter().any(|&b| b <= b' ') {
        return None;
    }
    let (host, port) = if s[0] == b'[' {
        let close = s.iter().position(|&b| b == b']')?;
        let after = &s[close + 1..];
        let port = match after {
            [] => None,
            [b':', p @ ..] => Some(p),
            _ => return None,
        };
        (&s[..=close], port)
    } else {
        match s.iter().rposition(|&b| b == b':') {
            Some(i) => (&s[..i], Some(&s[i + 1..])),
            None => (s, None),
        }
    };
    if host.is_empty() || !host.iter().all(|&b| b.is_ascii_alphanumeric() || b"-.[]:_".contains(&b)) {
        return None;
    }
    let port = match port {
        Some(p) => Some(u16::try_from(parse_decimal(p)?).ok()?),
        None => None,
    };
    Some((host.to_vec(), port))
}

/// A `name-addr` or `addr-spec` with header parameters (From, To, Contact, Refer-To, Route).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameAddr {
    /// The display name as it appeared (quotes kept), if any.
    pub display: Option<Vec<u8>>,
    /// The URI between `<` and `>` (or the bare addr-spec).
    pub uri: Vec<u8>,
    /// Header parameters after the address (tag, expires, q, ...).
    pub params: Params,
}

impl NameAddr {
    /// The `tag` parameter.
    pub fn tag(&self) -> Option<&[u8]> {
        self.params.get("tag").flatten()
    }

    /// Parses one name-addr / addr-spec with parameters.
    pub fn parse(v: &[u8], what: &'static str) -> Result<NameAddr, HeaderError> {
        let e = HeaderError(what);
        let v = trim(v);
        if !quotes_balanced(v) {
            return Err(e);
        }
        let angle = find_outside_quotes(v, b'<');
        if let Some(open) = angle {
            let close = v[open..].iter().position(|&b| b == b'>').ok_or(HeaderError(what))? + open;
            let display = trim(&v[..open]);
            let uri = &v[open + 1..close];
            check_uri(uri, what)?;
            if !display.is_empty() && display[0] != b'"' {
                // An unquoted display name is a sequence of tokens separated by LWS.
                let ok = display.iter().all(|&b| is_token_char(b) || b == b' ' || b == b'\t');
                if !ok {
                    return Err(e);
                }
            }
            let rest = trim(&v[close + 1..]);
            let params = match rest {
                [] => Params::default(),
                [b';', p @ ..] => Params::parse(p, what)?,
                _ => return Err(e),
            };
            let display = (!display.is_empty()).then(|| display.to_vec());
            return Ok(NameAddr { display, uri: uri.to_vec(), params });
        }
        // addr-spec: parameters after ';' belong to the header, so a URI with ';', ',' or '?'
        // needs angle brackets (RFC 3261 20.10).
        let (uri, params) = match v.iter().position(|&b| b == b';') {
            Some(i) => (trim(&v[..i]), Params::parse(&v[i + 1..], what)?),
            None => (v, Params::default()),
        };
        check_uri(uri, what)?;
        if uri.contains(&b'?') || uri.contains(&b',') {
            return Err(e);
        }
        Ok(NameAddr { display: None, uri: uri.to_vec(), params })
    }
}

fn find_outside_quotes(s: &[u8], needle: u8) -> Option<usize> {
    let (mut in_quote, mut escaped) = (false, false);
    for (i, &b) in s.iter().enumerate() {
        if escaped {
            escaped = false;
        } else if in_quote && b == b'\\' {
            escaped = true;
        } else if b == b'"' {
            in_quote = !in_quote;
        } else if !in_quote && b == needle {
            return Some(i);
        }
    }
    None
}

fn check_uri(uri: &[u8], what: &'static str) -> Result<(), HeaderError> {
    let scheme_end = uri.iter().position(|&b| b == b':').ok_or(HeaderError(what))?;
    let scheme = &uri[..scheme_end];
    let scheme_ok = !scheme.is_empty()
        && scheme[0].is_ascii_alphabetic()
        && scheme.iter().all(|&b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    if !scheme_ok || uri.iter().any(|&b| b <= b' ' || b == b'<' || b == b'>' || b == b'"') {
        return Err(HeaderError(what));
    }
    Ok(())
}

/// The CSeq header: sequence number and method.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CSeq {
    /// 0 to 2^32-1.
    pub seq: u32,
    /// The method it numbers.
    pub method: Method,
}

impl CSeq {
    /// Parses `1*DIGIT LWS Method`, rejecting numbers above 2^32-1.
    pub fn parse(v: &[u8]) -> Result<CSeq, HeaderError> {
        const E: HeaderError = HeaderError("CSeq");
        let v = trim(v);
        let split = v.iter().position(|&b| b == b' ' || b == b'\t').ok_or(E)?;
        let seq = parse_decimal(&v[..split]).ok_or(E)?;
        let seq = u32::try_from(seq).map_err(|_| E)?;
        let method = trim(&v[split..]);
        if method.is_empty() || !method.iter().all(|&b| is_token_char(b)) {
            return Err(E);
        }
        Ok(CSeq { seq, method: Method::from_bytes(method) })
    }
}

/// A parsed `sip:` or `sips:` URI: the parts Parley routes on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SipUri {
    /// `sip` or `sips`, lowercased.
    pub scheme: String,
    /// The user part (escapes kept), if any.
    pub user: Option<Vec<u8>>,
    /// The host.
    pub host: Vec<u8>,
    /// The port, if given.
    pub port: Option<u16>,
    /// URI parameters (transport, lr, ...).
    pub params: Params,
}

impl SipUri {
    /// Parses a SIP or SIPS URI; `None` for other schemes or malformed ones.
    pub fn parse(uri: &[u8]) -> Option<SipUri> {
        let colon = uri.iter().position(|&b| b == b':')?;
        let scheme = std::str::from_utf8(&uri[..colon]).ok()?.to_ascii_lowercase();
        if scheme != "sip" && scheme != "sips" {
            return None;
        }
        let rest = &uri[colon + 1..];
        // The user part ends at the last '@' (it may itself hold ';' and '?', RFC 4475 3.1.1.2
        // and 3.1.1.9); '?' after the host starts URI headers, which are cut.
        let (user, hostpart) = match rest.iter().rposition(|&b| b == b'@') {
            Some(i) => (Some(rest[..i].to_vec()), &rest[i + 1..]),
            None => (None, rest),
        };
        let hostpart = &hostpart[..hostpart.iter().position(|&b| b == b'?').unwrap_or(hostpart.len())];
        let (hostport, params) = match hostpart.iter().position(|&b| b == b';') {
            Some(i) => (&hostpart[..i], Params::parse(&hostpart[i + 1..], "URI").ok()?),
            None => (hostpart, Params::default()),
        };
        let (host, port) = split_host_port(hostport)?;
        Some(SipUri { scheme, user, host, port, params })
    }

    /// The user part with `;` user parameters cut and percent escapes decoded (not recursively).
    pub fn user_name(&self) -> Option<String> {
        let user = self.user.as_ref()?;
        let user = &user[..user.iter().position(|&b| b == b';' || b == b':').unwrap_or(user.len())];
        let mut out = Vec::with_capacity(user.len());
        let mut i = 0;
        while i < user.len() {
            if user[i] == b'%' && i + 2 < user.len() {
                let hex = std::str::from_utf8(&user[i + 1..i + 3]).ok();
                if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    out.push(v);
                    i += 3;
                    continue;
                }
            }
            out.push(user[i]);
            i += 1;
        }
        String::from_utf8(out).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn via_with_lws_around_slashes_and_params() {
        let v = Via::parse_list(b"SIP  / 2.0  / TCP     spindle.example.com   ; branch  =   z9hG4bK9ikj8  , SIP / 2.0 / UDP 192.168.255.111:5062 ; branch= z9hG4bK30239;rport").unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].transport, b"TCP");
        assert_eq!(v[0].branch(), Some(&b"z9hG4bK9ikj8"[..]));
        assert_eq!(v[1].port, Some(5062));
        assert_eq!(v[1].params.get("rport"), Some(None));
    }

    #[test]
    fn via_with_empty_params_is_rejected() {
        assert!(Via::parse_list(b"SIP/2.0/UDP 192.0.2.15;;,;,,").is_err());
    }

    #[test]
    fn name_addr_forms() {
        let n = NameAddr::parse(br#""J Rosenberg \\\""  <sip:jdrosen@example.com> ; tag = 98asjd8"#, "From").unwrap();
        assert_eq!(n.uri, b"sip:jdrosen@example.com");
        assert_eq!(n.tag(), Some(&b"98asjd8"[..]));
        let bare = NameAddr::parse(b"sip:caller@example.net;tag=134", "From").unwrap();
        assert_eq!(bare.tag(), Some(&b"134"[..]));
        assert!(NameAddr::parse(br#""Mr. J. User <sip:j.user@example.com>"#, "To").is_err());
        assert!(NameAddr::parse(b"sip:user@example.com?Route=%3Csip:x%3E", "Contact").is_err());
    }

    #[test]
    fn cseq_bounds() {
        assert_eq!(CSeq::parse(b"0009 INVITE").unwrap().seq, 9);
        assert!(CSeq::parse(b"36893488147419103232 REGISTER").is_err());
        assert!(CSeq::parse(b"4294967296 INVITE").is_err());
    }

    #[test]
    fn sip_uri_user_with_semicolon_and_escapes() {
        let u = SipUri::parse(b"sip:user;par=u%40example.net@example.com;transport=udp").unwrap();
        assert_eq!(u.user_name().as_deref(), Some("user"));
        assert_eq!(u.host, b"example.com");
        let d = SipUri::parse(b"sip:de%6Do@127.0.0.1:5060").unwrap();
        assert_eq!(d.user_name().as_deref(), Some("demo"));
        assert_eq!(d.port, Some(5060));
    }
}
