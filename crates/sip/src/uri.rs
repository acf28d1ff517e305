//! URIs that Parley writes into requests (transfer targets, dialled numbers, caller IDs,
//! registered addresses): `sip:`, `sips:` (RFC 3261 §19.1, §25.1) and global `tel:` numbers
//! (RFC 3966). Whatever comes from the API, a config file or a flag is parsed here when it is
//! written, refused when it is not exactly such a URI, kept in its canonical form, and
//! serialized from its parts by [`Uri`]'s `Display`, never pasted into a header as text.
//!
//! Strict on purpose: no URI headers (`?`), no passwords, no quotes, angle brackets,
//! whitespace or control characters anywhere, and parameters made of RFC 3261 `paramchar`s, so
//! nothing a tenant types can end a header line or add parameters to the header around it.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

/// Why a URI was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UriError {
    /// Not `sip:`, `sips:` or `tel:`.
    #[error("the URI must start with sip:, sips: or tel:")]
    Scheme,
    /// The user part has characters a SIP user may not have.
    #[error("the user part of the URI has characters a SIP user may not have")]
    User,
    /// The host is not a host name, IPv4 address or bracketed IPv6 address.
    #[error("the host of the URI is not a host name, IPv4 address or [IPv6] address")]
    Host,
    /// The port is not 1 to 65535.
    #[error("the port of the URI is not 1 to 65535")]
    Port,
    /// A parameter is empty or has characters parameters may not have.
    #[error("a parameter of the URI is malformed")]
    Param,
    /// URI headers (`?...`) are not accepted.
    #[error("URI headers (?...) are not accepted")]
    Headers,
    /// A `tel:` URI that is not a global number (`tel:+15551234567`).
    #[error("a tel: URI must be a global number such as tel:+15551234567")]
    TelNumber,
    /// Control characters, whitespace inside, or anything beyond ASCII.
    #[error("the URI has control characters, inner whitespace or non-ASCII characters")]
    Characters,
    /// Longer than [`MAX_LEN`].
    #[error("the URI is longer than 500 characters")]
    TooLong,
}

/// The longest URI accepted.
pub const MAX_LEN: usize = 500;

/// [`Uri::parse`]'s grammar as a regular expression (for API schemas), but for the length of
/// a whole host name (253).
pub const PATTERN: &str = concat!(
    r"^(",
    r"[Ss][Ii][Pp][Ss]?:(([A-Za-z0-9_.!~*'()&=+$,/-]|%[0-9A-Fa-f]{2})+@)?",
    r"(([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?",
    r"|(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}",
    r"|\[(([0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1,7}:|([0-9a-fA-F]{1,4}:){1,6}:[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1,5}(:[0-9a-fA-F]{1,4}){1,2}|([0-9a-fA-F]{1,4}:){1,4}(:[0-9a-fA-F]{1,4}){1,3}|([0-9a-fA-F]{1,4}:){1,3}(:[0-9a-fA-F]{1,4}){1,4}|([0-9a-fA-F]{1,4}:){1,2}(:[0-9a-fA-F]{1,4}){1,5}|[0-9a-fA-F]{1,4}:(:[0-9a-fA-F]{1,4}){1,6}|:((:[0-9a-fA-F]{1,4}){1,7}|:))\])",
    r"(:([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?",
    r"|[Tt][Ee][Ll]:\+[().-]*([0-9][().-]*){1,15}",
    r")",
    r"(;([A-Za-z0-9_.!~*'()\[\]/:&+$-]|%[0-9A-Fa-f]{2})+(=([A-Za-z0-9_.!~*'()\[\]/:&+$-]|%[0-9A-Fa-f]{2})+)?)*$",
);

/// The scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// `sip:`
    Sip,
    /// `sips:` (TLS on every hop).
    Sips,
    /// `tel:` (a telephone number, RFC 3966).
    Tel,
}

/// A checked `sip:`, `sips:` or `tel:` URI; see the module docs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Uri {
    scheme: Scheme,
    /// The user part (SIP) or the global number without separators (tel).
    user: Option<String>,
    /// Lowercased host name, IPv4 address, or IPv6 address in brackets; empty for tel.
    host: String,
    port: Option<u16>,
    /// Names lowercased, in order.
    params: Vec<(String, Option<String>)>,
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b)
}

/// Checks `%HH` escapes and that every other byte passes `ok`.
fn escaped_or(s: &str, ok: impl Fn(u8) -> bool) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if i + 2 >= b.len() || !b[i + 1].is_ascii_hexdigit() || !b[i + 2].is_ascii_hexdigit() {
                return false;
            }
            i += 3;
        } else if ok(b[i]) {
            i += 1;
        } else {
            return false;
        }
    }
    true
}

/// RFC 3261 `paramchar`: param-unreserved / unreserved / escaped.
fn is_paramchar(b: u8) -> bool {
    is_unreserved(b) || b"[]/:&+$".contains(&b)
}

/// RFC 3261 `user` without `;` and `?` (user parameters and headers are refused).
fn is_userchar(b: u8) -> bool {
    is_unreserved(b) || b"&=+$,/".contains(&b)
}

fn parse_params(s: &str) -> Result<Vec<(String, Option<String>)>, UriError> {
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    if s.is_empty() {
        return Ok(out);
    }
    for part in s.split(';') {
        let (name, value) = match part.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (part, None),
        };
        let good = |t: &str| !t.is_empty() && escaped_or(t, is_paramchar);
        if !good(name) || value.is_some_and(|v| !good(v)) {
            return Err(UriError::Param);
        }
        let name = name.to_ascii_lowercase();
        // Values of the parameters RFC 3261 defines as tokens are case-insensitive.
        let value = value.map(|v| if matches!(name.as_str(), "transport" | "user" | "method") { v.to_ascii_lowercase() } else { v.to_string() });
        out.push((name, value));
    }
    Ok(out)
}

/// A host name (RFC 3261 `hostname`: the last label starts with a letter), an IPv4 address or
/// an IPv6 address in brackets; lowercased.
fn parse_host(h: &str) -> Result<String, UriError> {
    if let Some(inner) = h.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        let ip: Ipv6Addr = inner.parse().map_err(|_| UriError::Host)?;
        return Ok(format!("[{ip}]"));
    }
    if h.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        let ip: std::net::Ipv4Addr = h.parse().map_err(|_| UriError::Host)?;
        return Ok(ip.to_string());
    }
    let h = h.strip_suffix('.').unwrap_or(h);
    let labels: Vec<&str> = h.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') && !l.starts_with('-') && !l.ends_with('-')
    };
    let top_ok = labels.last().is_some_and(|l| l.as_bytes()[0].is_ascii_alphabetic());
    if h.len() > 253 || !labels.iter().all(label_ok) || !top_ok {
        return Err(UriError::Host);
    }
    Ok(h.to_ascii_lowercase())
}

/// A global number: `+` and 1 to 15 digits once the visual separators `-.()` are removed.
fn global_number(s: &str) -> Option<String> {
    let rest = s.strip_prefix('+')?;
    if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit() || b"-.()".contains(&b)) {
        return None;
    }
    let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
    (1..=15).contains(&digits.len()).then(|| format!("+{digits}"))
}

impl Uri {
    /// Parses and checks a URI (see the module docs): exactly the URI, no surrounding spaces
    /// or angle brackets. [`PATTERN`] is the same grammar as a regular expression.
    pub fn parse(text: &str) -> Result<Uri, UriError> {
        let t = text;
        if !t.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(UriError::Characters);
        }
        if t.len() > MAX_LEN {
            return Err(UriError::TooLong);
        }
        let (scheme, rest) = t.split_once(':').ok_or(UriError::Scheme)?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "sip" => Scheme::Sip,
            "sips" => Scheme::Sips,
            "tel" => Scheme::Tel,
            _ => return Err(UriError::Scheme),
        };
        if rest.contains('?') {
            return Err(UriError::Headers);
        }
        if scheme == Scheme::Tel {
            let (number, params) = rest.split_once(';').unwrap_or((rest, ""));
            let number = global_number(number).ok_or(UriError::TelNumber)?;
            return Ok(Uri { scheme, user: Some(number), host: String::new(), port: None, params: parse_params(params)? });
        }
        let (user, hostpart) = match rest.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, rest),
        };
        if let Some(u) = user {
            if u.is_empty() || !escaped_or(u, is_userchar) {
                return Err(UriError::User);
            }
        }
        let (hostport, params) = hostpart.split_once(';').unwrap_or((hostpart, ""));
        let (host, port) = match hostport.rsplit_once(':') {
            // A colon inside brackets belongs to an IPv6 address.
            Some((h, p)) if !p.contains(']') => {
                let port: u16 = p.parse().map_err(|_| UriError::Port)?;
                if port == 0 || !p.as_bytes()[0].is_ascii_digit() || p.starts_with('0') {
                    return Err(UriError::Port);
                }
                (h, Some(port))
            }
            _ => (hostport, None),
        };
        Ok(Uri { scheme, user: user.map(str::to_string), host: parse_host(host)?, port, params: parse_params(params)? })
    }

    /// `sip:user@host` from its parts, both checked (for example a caller ID at a provider's
    /// domain).
    pub fn sip(user: &str, host: &str) -> Result<Uri, UriError> {
        if user.is_empty() || !escaped_or(user, is_userchar) {
            return Err(UriError::User);
        }
        Ok(Uri { scheme: Scheme::Sip, user: Some(user.to_string()), host: parse_host(host)?, port: None, params: Vec::new() })
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The user part (SIP), or the number (tel).
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The host (an IPv6 address in brackets); empty for `tel:`.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The host as an IP address, when it is one.
    pub fn host_ip(&self) -> Option<IpAddr> {
        self.host.trim_start_matches('[').trim_end_matches(']').parse().ok()
    }

    /// The port, if given.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// A parameter's value (`Some(None)` when present without one); names are lowercase.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_deref())
    }

    /// The E.164 number this URI calls: a `tel:` number, or a SIP user that is a global number
    /// (`sip:+15551234567@host`, separators removed). `None` for named users such as `alice`.
    pub fn e164(&self) -> Option<String> {
        let user = self.user.as_deref()?;
        let user = user.split(';').next().unwrap_or(user);
        global_number(user)
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.scheme {
            Scheme::Sip => f.write_str("sip:")?,
            Scheme::Sips => f.write_str("sips:")?,
            Scheme::Tel => f.write_str("tel:")?,
        }
        match (&self.user, self.scheme) {
            (Some(u), Scheme::Tel) => f.write_str(u)?,
            (Some(u), _) => write!(f, "{u}@")?,
            (None, _) => {}
        }
        f.write_str(&self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        for (name, value) in &self.params {
            match value {
                Some(v) => write!(f, ";{name}={v}")?,
                None => write!(f, ";{name}")?,
            }
        }
        Ok(())
    }
}

impl std::str::FromStr for Uri {
    type Err = UriError;
    fn from_str(s: &str) -> Result<Uri, UriError> {
        Uri::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_canonicalizes_sip_sips_and_tel() {
        let u = Uri::parse("SIP:Desk@PBX.Example.com:5070;Transport=TCP;lr").unwrap();
        assert_eq!(u.to_string(), "sip:Desk@pbx.example.com:5070;transport=tcp;lr");
        assert_eq!(u.param("transport"), Some(Some("tcp")));
        assert_eq!(Uri::parse("sips:+1-555-000-1234@[2001:DB8::1]").unwrap().to_string(), "sips:+1-555-000-1234@[2001:db8::1]");
        assert_eq!(Uri::parse("tel:+1-555-000-1234").unwrap().to_string(), "tel:+15550001234");
        assert_eq!(Uri::parse("sip:%2B1555@127.0.0.1").unwrap().host_ip(), Some("127.0.0.1".parse().unwrap()));
        assert_eq!(Uri::parse("sip:127.0.0.1:5080").unwrap().user(), None);
    }

    #[test]
    fn injection_attempts_are_refused() {
        for bad in [
            "sip:desk@pbx.example.com\r\nX-Evil: 1",
            "sip:desk@pbx.example.com>;evil=1",
            "sip:desk@pbx.example.com?Route=%3Csip:x%3E",
            "sip:desk@pbx.example.com;evil=\"x\"",
            "sip:de sk@pbx.example.com",
            "sip:desk:secret@pbx.example.com",
            "sip:desk@pbx.example.com;;",
            "sip:desk@pbx.example.com:05060",
            " sip:desk@pbx.example.com",
            "<sip:desk@pbx.example.com>",
            "sip:<desk>@pbx.example.com",
            "sip:desk@pbx.example.com:0",
            "sip:desk@pbx.example.com:70000",
            "sip:desk@-pbx.example.com",
            "sip:desk@pbx.123",
            "sip:desk@[::1",
            "sip:%zz@host",
            "sip:a%2@host",
            "http://example.com",
            "tel:5551234",
            "tel:+1555\r\n",
            "sip:desk@pbx.example.com\u{202e}",
        ] {
            assert!(Uri::parse(bad).is_err(), "{bad:?} must be refused");
        }
        assert!(Uri::parse(&format!("sip:{}@h.example", "a".repeat(600))).is_err());
    }

    #[test]
    fn numbers_are_found_in_tel_and_sip_users() {
        assert_eq!(Uri::parse("tel:+1 555".replace(' ', "-").as_str()).unwrap().e164().as_deref(), Some("+1555"));
        assert_eq!(Uri::parse("sip:+1-900-555-0100@carrier.example").unwrap().e164().as_deref(), Some("+19005550100"));
        assert_eq!(Uri::parse("sip:alice@pbx.example").unwrap().e164(), None);
        assert_eq!(Uri::sip("+4930123", "sip.provider.example").unwrap().to_string(), "sip:+4930123@sip.provider.example");
        assert_eq!(Uri::sip("a>b", "x.example"), Err(UriError::User));
        assert_eq!(Uri::sip("a", "x.example\r\n"), Err(UriError::Host));
    }

    #[test]
    fn display_parses_back_to_the_same_uri() {
        for s in ["sip:a@b.example", "sips:+1555@[::1]:5061;transport=tls", "tel:+15550001;ext=12", "sip:b.example;maddr=10.0.0.1"] {
            let u = Uri::parse(s).unwrap();
            assert_eq!(Uri::parse(&u.to_string()).unwrap(), u);
        }
    }
}
