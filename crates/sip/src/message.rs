//! SIP message model: start line, headers kept as bytes, body.
//!
//! Header values stay raw bytes (RFC 3261 allows UTF-8 and, inside quoted strings, almost any
//! octet), so nothing is lost or rejected because a value is not valid UTF-8. Typed views of the
//! headers Parley acts on live in [`crate::header`].

use std::fmt;

/// A SIP request method. Unknown methods are kept, not rejected (RFC 3261 8.2.1 answers them 501).
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Method {
    /// INVITE
    Invite,
    /// ACK
    Ack,
    /// BYE
    Bye,
    /// CANCEL
    Cancel,
    /// OPTIONS
    Options,
    /// REGISTER
    Register,
    /// INFO (RFC 6086)
    Info,
    /// REFER (RFC 3515)
    Refer,
    /// NOTIFY (RFC 6665)
    Notify,
    /// PRACK (RFC 3262)
    Prack,
    /// UPDATE (RFC 3311)
    Update,
    /// SUBSCRIBE (RFC 6665)
    Subscribe,
    /// MESSAGE (RFC 3428)
    Message,
    /// Any other token; case-sensitive as RFC 3261 7.1 requires.
    Extension(Vec<u8>),
}

impl Method {
    /// Parses a method token (case-sensitive).
    pub fn from_bytes(b: &[u8]) -> Method {
        match b {
            b"INVITE" => Method::Invite,
            b"ACK" => Method::Ack,
            b"BYE" => Method::Bye,
            b"CANCEL" => Method::Cancel,
            b"OPTIONS" => Method::Options,
            b"REGISTER" => Method::Register,
            b"INFO" => Method::Info,
            b"REFER" => Method::Refer,
            b"NOTIFY" => Method::Notify,
            b"PRACK" => Method::Prack,
            b"UPDATE" => Method::Update,
            b"SUBSCRIBE" => Method::Subscribe,
            b"MESSAGE" => Method::Message,
            other => Method::Extension(other.to_vec()),
        }
    }

    /// The method token as bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Method::Invite => b"INVITE",
            Method::Ack => b"ACK",
            Method::Bye => b"BYE",
            Method::Cancel => b"CANCEL",
            Method::Options => b"OPTIONS",
            Method::Register => b"REGISTER",
            Method::Info => b"INFO",
            Method::Refer => b"REFER",
            Method::Notify => b"NOTIFY",
            Method::Prack => b"PRACK",
            Method::Update => b"UPDATE",
            Method::Subscribe => b"SUBSCRIBE",
            Method::Message => b"MESSAGE",
            Method::Extension(b) => b,
        }
    }
}

impl fmt::Debug for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(self.as_bytes()))
    }
}

/// One header field line as received (after unfolding), name and value as bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Header {
    /// The name as it appeared (case preserved).
    pub name: Vec<u8>,
    /// The value with surrounding whitespace trimmed and folded lines joined by one space.
    pub value: Vec<u8>,
}

impl Header {
    /// Builds a header from text.
    pub fn new(name: &str, value: impl Into<Vec<u8>>) -> Header {
        Header { name: name.as_bytes().to_vec(), value: value.into() }
    }

    /// Whether this header has the given (long, canonical) name, honouring compact forms and case.
    pub fn is(&self, long_name: &str) -> bool {
        canonical_name(&self.name).eq_ignore_ascii_case(long_name)
    }
}

impl fmt::Debug for Header {
    // Values are not printed: they may hold Authorization credentials or caller identities.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Header({})", String::from_utf8_lossy(&self.name))
    }
}

/// Maps compact header names (RFC 3261 7.3.3 and later RFCs) to their long forms.
pub fn canonical_name(name: &[u8]) -> &str {
    if name.len() == 1 {
        return match name[0].to_ascii_lowercase() {
            b'i' => "Call-ID",
            b'm' => "Contact",
            b'e' => "Content-Encoding",
            b'l' => "Content-Length",
            b'c' => "Content-Type",
            b'f' => "From",
            b's' => "Subject",
            b'k' => "Supported",
            b't' => "To",
            b'v' => "Via",
            b'o' => "Event",
            b'r' => "Refer-To",
            b'u' => "Allow-Events",
            b'b' => "Referred-By",
            b'x' => "Session-Expires",
            _ => "",
        };
    }
    std::str::from_utf8(name).unwrap_or("")
}

/// The header list of a message, in order.
#[derive(Clone, Default, PartialEq, Eq, Debug)]
pub struct Headers(pub Vec<Header>);

impl Headers {
    /// The first header with this (long) name.
    pub fn get(&self, long_name: &str) -> Option<&[u8]> {
        self.0.iter().find(|h| h.is(long_name)).map(|h| h.value.as_slice())
    }

    /// All headers with this (long) name, in order.
    pub fn get_all<'a>(&'a self, long_name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.0.iter().filter(move |h| h.is(long_name)).map(|h| h.value.as_slice())
    }

    /// How many header lines carry this name.
    pub fn count(&self, long_name: &str) -> usize {
        self.0.iter().filter(|h| h.is(long_name)).count()
    }

    /// Appends a header.
    pub fn push(&mut self, name: &str, value: impl Into<Vec<u8>>) {
        self.0.push(Header::new(name, value));
    }

    /// Replaces every header of that name with one value.
    pub fn set(&mut self, name: &str, value: impl Into<Vec<u8>>) {
        self.0.retain(|h| !h.is(name));
        self.push(name, value);
    }
}

/// The first line of a message.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum StartLine {
    /// `Method SP Request-URI SP SIP/2.0`
    Request {
        /// The method.
        method: Method,
        /// The Request-URI, raw.
        uri: Vec<u8>,
    },
    /// `SIP/2.0 SP Status-Code SP Reason-Phrase`
    Response {
        /// 100 to 699.
        code: u16,
        /// The reason phrase, raw (may be empty or UTF-8).
        reason: Vec<u8>,
    },
}

/// A parsed SIP request or response.
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    /// Request line or status line.
    pub start: StartLine,
    /// Header fields in order.
    pub headers: Headers,
    /// The body, exactly Content-Length octets.
    pub body: Vec<u8>,
}

impl fmt::Debug for Message {
    // Bodies (SDP) and header values are never printed (privacy invariant 3).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.start {
            StartLine::Request { method, .. } => write!(f, "Request({method:?})"),
            StartLine::Response { code, .. } => write!(f, "Response({code})"),
        }
    }
}

impl Message {
    /// The request method, or `None` for a response.
    pub fn method(&self) -> Option<&Method> {
        match &self.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        }
    }

    /// The status code, or `None` for a request.
    pub fn status(&self) -> Option<u16> {
        match &self.start {
            StartLine::Response { code, .. } => Some(*code),
            StartLine::Request { .. } => None,
        }
    }

    /// Serializes to wire format, writing a correct Content-Length.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(512 + self.body.len());
        match &self.start {
            StartLine::Request { method, uri } => {
                out.extend_from_slice(method.as_bytes());
                out.push(b' ');
                out.extend_from_slice(uri);
                out.extend_from_slice(b" SIP/2.0\r\n");
            }
            StartLine::Response { code, reason } => {
                out.extend_from_slice(format!("SIP/2.0 {code} ").as_bytes());
                out.extend_from_slice(reason);
                out.extend_from_slice(b"\r\n");
            }
        }
        for h in self.headers.0.iter().filter(|h| !h.is("Content-Length")) {
            out.extend_from_slice(&h.name);
            out.extend_from_slice(b": ");
            out.extend_from_slice(&h.value);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", self.body.len()).as_bytes());
        out.extend_from_slice(&self.body);
        out
    }
}

/// The standard reason phrase for a status code Parley sends.
pub fn reason_phrase(code: u16) -> &'static str {
    match code {
        100 => "Trying",
        180 => "Ringing",
        183 => "Session Progress",
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        415 => "Unsupported Media Type",
        416 => "Unsupported URI Scheme",
        420 => "Bad Extension",
        481 => "Call/Transaction Does Not Exist",
        483 => "Too Many Hops",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "Version Not Supported",
        _ => "Unknown",
    }
}
