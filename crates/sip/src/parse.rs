//! The SIP message parser: framing (datagram and stream), start line, unfolded headers, body.
//!
//! Follows RFC 3261 section 7 and the torture cases of RFC 4475: header names and values are
//! bytes, line folding is undone, compact names are accepted, and the body is framed by
//! Content-Length only (never by lines), which must be a single non-negative decimal value.

use crate::message::{Header, Headers, Message, Method, StartLine};

/// Why a message could not be parsed. A UAS answers `400` to all but [`ParseError::Version`].
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// The header section never ended with an empty line.
    #[error("header section not terminated")]
    Unterminated,
    /// The request or status line is malformed.
    #[error("malformed start line")]
    StartLine,
    /// The request names a SIP version other than 2.0 (answer 505).
    #[error("SIP version not supported")]
    Version,
    /// The status code is not three digits from 100 to 699.
    #[error("bad status code")]
    StatusCode,
    /// A header line has no valid name or colon.
    #[error("malformed header line")]
    HeaderLine,
    /// Content-Length is missing on a stream, negative, not a number, or given twice differently.
    #[error("bad Content-Length")]
    ContentLength,
    /// Content-Length says more octets than the datagram holds.
    #[error("body shorter than Content-Length")]
    BodyTruncated,
    /// The message is larger than the configured limit.
    #[error("message too large")]
    TooLarge,
}

/// Largest message accepted on a stream before the connection is considered abusive.
pub const MAX_STREAM_MESSAGE: usize = 64 * 1024;

/// Parses one SIP message from a UDP datagram. Octets after the body are ignored (RFC 3261 18.3);
/// without Content-Length the body is the rest of the datagram.
pub fn parse_datagram(data: &[u8]) -> Result<Message, ParseError> {
    let data = skip_leading_crlf(data);
    let head_end = find_head_end(data).ok_or(ParseError::Unterminated)?;
    let (start, headers) = parse_head(&data[..head_end])?;
    let rest = &data[head_end + 4..];
    let body = match content_length(&headers)? {
        Some(n) if n > rest.len() => return Err(ParseError::BodyTruncated),
        Some(n) => rest[..n].to_vec(),
        None => rest.to_vec(),
    };
    Ok(Message { start, headers, body })
}

/// Parses one message from the front of a stream buffer (TCP, TLS).
///
/// Returns `Ok(None)` when more bytes are needed, or the message and how many bytes it used
/// (leading CRLF keep-alives included). An error means framing is lost: close the connection.
pub fn parse_stream(buf: &[u8]) -> Result<Option<(Message, usize)>, ParseError> {
    let skipped = buf.len() - skip_leading_crlf(buf).len();
    let data = &buf[skipped..];
    let Some(head_end) = find_head_end(data) else {
        return if data.len() > MAX_STREAM_MESSAGE { Err(ParseError::TooLarge) } else { Ok(None) };
    };
    let (start, headers) = parse_head(&data[..head_end])?;
    let len = content_length(&headers)?.ok_or(ParseError::ContentLength)?;
    if head_end + 4 + len > MAX_STREAM_MESSAGE {
        return Err(ParseError::TooLarge);
    }
    let body_start = head_end + 4;
    if data.len() < body_start + len {
        return Ok(None);
    }
    let body = data[body_start..body_start + len].to_vec();
    Ok(Some((Message { start, headers, body }, skipped + body_start + len)))
}

/// Best-effort parse of a message that failed [`parse_datagram`], for building an error reply:
/// any SIP version, headers up to the first empty line or the end, no body.
pub fn parse_for_reply(data: &[u8]) -> Option<Message> {
    let data = skip_leading_crlf(data);
    let head = &data[..find_head_end(data).unwrap_or(data.len())];
    let mut lines = split_crlf(head);
    let first = lines.next()?;
    let mut parts = first.splitn(3, |&b| b == b' ');
    let method = parts.next()?;
    let uri = parts.next()?;
    if method.is_empty() || !method.iter().all(|&b| is_token_char(b)) || method.starts_with(b"SIP/") {
        return None;
    }
    let mut headers: Vec<Header> = Vec::new();
    for line in lines {
        if matches!(line.first(), Some(b' ' | b'\t')) {
            if let Some(last) = headers.last_mut() {
                last.value.push(b' ');
                last.value.extend_from_slice(trim(line));
            }
            continue;
        }
        let colon = line.iter().position(|&b| b == b':')?;
        headers.push(Header { name: trim(&line[..colon]).to_vec(), value: trim(&line[colon + 1..]).to_vec() });
    }
    let start = StartLine::Request { method: Method::from_bytes(method), uri: uri.to_vec() };
    Some(Message { start, headers: Headers(headers), body: Vec::new() })
}

fn skip_leading_crlf(mut data: &[u8]) -> &[u8] {
    while let [b'\r' | b'\n', rest @ ..] = data {
        data = rest;
    }
    data
}

fn find_head_end(data: &[u8]) -> Option<usize> {
    data.windows(4).position(|w| w == b"\r\n\r\n")
}

fn parse_head(head: &[u8]) -> Result<(StartLine, Headers), ParseError> {
    let mut lines = split_crlf(head);
    let first = lines.next().ok_or(ParseError::StartLine)?;
    let start = parse_start_line(first)?;
    let mut headers: Vec<Header> = Vec::new();
    for line in lines {
        if matches!(line.first(), Some(b' ' | b'\t')) {
            // A continuation line (RFC 3261 7.3.1): joins the previous value with one space.
            let last = headers.last_mut().ok_or(ParseError::HeaderLine)?;
            let cont = trim(line);
            if !cont.is_empty() {
                if !last.value.is_empty() {
                    last.value.push(b' ');
                }
                last.value.extend_from_slice(cont);
            }
            continue;
        }
        let colon = line.iter().position(|&b| b == b':').ok_or(ParseError::HeaderLine)?;
        let name = trim(&line[..colon]);
        if name.is_empty() || !name.iter().all(|&b| is_token_char(b)) {
            return Err(ParseError::HeaderLine);
        }
        headers.push(Header { name: name.to_vec(), value: trim(&line[colon + 1..]).to_vec() });
    }
    Ok((start, Headers(headers)))
}

fn split_crlf(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(data);
    std::iter::from_fn(move || {
        let d = rest?;
        match d.windows(2).position(|w| w == b"\r\n") {
            Some(i) => {
                rest = Some(&d[i + 2..]);
                Some(&d[..i])
            }
            None => {
                rest = None;
                Some(d)
            }
        }
    })
}

fn parse_start_line(line: &[u8]) -> Result<StartLine, ParseError> {
    if let Some(after) = line.strip_prefix(b"SIP/2.0 ") {
        let code_end = after.iter().position(|&b| b == b' ').ok_or(ParseError::StatusCode)?;
        let code = &after[..code_end];
        if code.len() != 3 || !code.iter().all(u8::is_ascii_digit) {
            return Err(ParseError::StatusCode);
        }
        let code: u16 = parse_decimal(code).ok_or(ParseError::StatusCode)? as u16;
        if !(100..=699).contains(&code) {
            return Err(ParseError::StatusCode);
        }
        return Ok(StartLine::Response { code, reason: after[code_end + 1..].to_vec() });
    }
    let mut parts = line.splitn(3, |&b| b == b' ');
    let method = parts.next().ok_or(ParseError::StartLine)?;
    let uri = parts.next().ok_or(ParseError::StartLine)?;
    let version = parts.next().ok_or(ParseError::StartLine)?;
    if method.is_empty() || !method.iter().all(|&b| is_token_char(b)) {
        return Err(ParseError::StartLine);
    }
    // One SP between elements, no whitespace or angle brackets in the Request-URI (RFC 4475
    // 3.1.2.7 to 3.1.2.10 may be rejected; Parley rejects them so nothing odd is forwarded).
    if uri.is_empty() || uri.iter().any(|&b| b <= b' ' || b == b'<' || b == b'>' || b == 0x7f) {
        return Err(ParseError::StartLine);
    }
    if version != b"SIP/2.0" {
        return Err(if is_sip_version(version) { ParseError::Version } else { ParseError::StartLine });
    }
    if !uri.contains(&b':') {
        return Err(ParseError::StartLine);
    }
    Ok(StartLine::Request { method: Method::from_bytes(method), uri: uri.to_vec() })
}

fn is_sip_version(v: &[u8]) -> bool {
    let Some(num) = v.strip_prefix(b"SIP/") else { return false };
    let mut parts = num.split(|&b| b == b'.');
    let ok = |p: Option<&[u8]>| p.is_some_and(|p| !p.is_empty() && p.iter().all(u8::is_ascii_digit));
    ok(parts.next()) && ok(parts.next()) && parts.next().is_none()
}

/// The single Content-Length of a message, if present.
fn content_length(headers: &Headers) -> Result<Option<usize>, ParseError> {
    let mut found: Option<usize> = None;
    for value in headers.get_all("Content-Length") {
        if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
            return Err(ParseError::ContentLength);
        }
        let n = parse_decimal(value).ok_or(ParseError::ContentLength)?;
        let n = usize::try_from(n).map_err(|_| ParseError::ContentLength)?;
        if found.is_some_and(|f| f != n) {
            return Err(ParseError::ContentLength);
        }
        found = Some(n);
    }
    Ok(found)
}

/// Parses ASCII digits as u64; `None` on overflow or a non-digit.
pub fn parse_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |acc, &d| {
        if !d.is_ascii_digit() {
            return None;
        }
        acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// RFC 3261 `token` characters.
pub fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

/// Trims SP, HTAB, CR and LF from both ends.
pub fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t' | b'\r' | b'\n', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t' | b'\r' | b'\n'] = s {
        s = rest;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTIONS: &[u8] = b"OPTIONS sip:demo@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\nContent-Length: 0\r\n\r\n";

    #[test]
    fn parses_a_simple_request() {
        let m = parse_datagram(OPTIONS).unwrap();
        assert_eq!(m.method(), Some(&Method::Options));
        assert_eq!(m.headers.get("via"), Some(&b"SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1"[..]));
    }

    #[test]
    fn stream_waits_for_the_whole_body_then_reports_used_length() {
        let msg = b"MESSAGE sip:a@b SIP/2.0\r\nl: 5\r\n\r\nhello";
        assert_eq!(parse_stream(&msg[..msg.len() - 1]), Ok(None));
        let mut two = b"\r\n\r\n".to_vec();
        two.extend_from_slice(msg);
        two.extend_from_slice(OPTIONS);
        let (m, used) = parse_stream(&two).unwrap().unwrap();
        assert_eq!(m.body, b"hello");
        assert_eq!(used, msg.len() + 4);
        let (m2, _) = parse_stream(&two[used..]).unwrap().unwrap();
        assert_eq!(m2.method(), Some(&Method::Options));
    }

    #[test]
    fn stream_requires_content_length() {
        assert_eq!(parse_stream(b"OPTIONS sip:a@b SIP/2.0\r\n\r\n"), Err(ParseError::ContentLength));
    }

    #[test]
    fn serializes_what_it_parses() {
        let m = parse_datagram(OPTIONS).unwrap();
        assert_eq!(parse_datagram(&m.to_bytes()).unwrap(), m);
    }

    #[test]
    fn never_panics_on_truncations_of_a_message() {
        for i in 0..OPTIONS.len() {
            let _ = parse_datagram(&OPTIONS[..i]);
            let _ = parse_stream(&OPTIONS[..i]);
        }
    }
}
