//! Semantic checks after parsing: the mandatory headers exist once and follow their grammar.
//!
//! [`Summary::of`] returns the fields the transaction and dialog layers need, or the reason a UAS
//! answers `400 Bad Request` (RFC 3261 8.2.2, RFC 4475 3.1.2 and 3.3).

use crate::header::{CSeq, HeaderError, NameAddr, Via};
use crate::message::{Message, StartLine};
use crate::parse::parse_decimal;

/// Why a parsed message is not acceptable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum Invalid {
    /// A mandatory header is missing.
    #[error("missing {0} header")]
    Missing(&'static str),
    /// A single-valued header appears more than once.
    #[error("more than one {0} header")]
    Duplicate(&'static str),
    /// A header does not follow its grammar.
    #[error(transparent)]
    Header(#[from] HeaderError),
    /// The CSeq method differs from the request method.
    #[error("CSeq method does not match the request method")]
    CSeqMismatch,
    /// Max-Forwards, Expires or a contact expires is out of range.
    #[error("{0} out of range")]
    Range(&'static str),
}

/// The fields every request and response must carry, parsed.
#[derive(Clone, Debug)]
pub struct Summary {
    /// Call-ID value (raw).
    pub call_id: Vec<u8>,
    /// From header.
    pub from: NameAddr,
    /// To header.
    pub to: NameAddr,
    /// CSeq header.
    pub cseq: CSeq,
    /// All Via values, top first.
    pub vias: Vec<Via>,
    /// The first Contact, if present and not `*`.
    pub contact: Option<NameAddr>,
}

impl Summary {
    /// Checks a message and extracts its mandatory fields.
    pub fn of(m: &Message) -> Result<Summary, Invalid> {
        let call_id = single(m, "Call-ID")?.to_vec();
        if call_id.is_empty() || call_id.iter().any(|&b| b <= b' ') {
            return Err(HeaderError("Call-ID").into());
        }
        let from = single_name_addr(m, "From")?;
        let to = single_name_addr(m, "To")?;
        let cseq = CSeq::parse(single(m, "CSeq")?)?;
        let mut vias = Vec::new();
        for v in m.headers.get_all("Via") {
            vias.extend(Via::parse_list(v)?);
        }
        if vias.is_empty() {
            return Err(Invalid::Missing("Via"));
        }
        let mut contact = None;
        for value in m.headers.get_all("Contact") {
            if crate::parse::trim(value) == b"*" {
                continue;
            }
            for item in crate::header::split_outside_quotes(value, b',') {
                let na = NameAddr::parse(item, "Contact")?;
                check_u32_param(&na, "expires")?;
                contact.get_or_insert(na);
            }
        }
        if let StartLine::Request { method, .. } = &m.start {
            if &cseq.method != method {
                return Err(Invalid::CSeqMismatch);
            }
            if m.headers.count("Max-Forwards") > 1 {
                return Err(Invalid::Duplicate("Max-Forwards"));
            }
            if let Some(mf) = m.headers.get("Max-Forwards") {
                match parse_decimal(mf) {
                    Some(n) if n <= 255 => {}
                    _ => return Err(Invalid::Range("Max-Forwards")),
                }
            }
            if let Some(e) = m.headers.get("Expires") {
                match parse_decimal(e) {
                    Some(n) if n <= u64::from(u32::MAX) => {}
                    _ => return Err(Invalid::Range("Expires")),
                }
            }
        }
        Ok(Summary { call_id, from, to, cseq, vias, contact })
    }
}

fn single<'a>(m: &'a Message, name: &'static str) -> Result<&'a [u8], Invalid> {
    match m.headers.count(name) {
        0 => Err(Invalid::Missing(name)),
        1 => Ok(m.headers.get(name).unwrap_or_default()),
        _ => Err(Invalid::Duplicate(name)),
    }
}

fn single_name_addr(m: &Message, name: &'static str) -> Result<NameAddr, Invalid> {
    let value = single(m, name)?;
    let items = crate::header::split_outside_quotes(value, b',');
    if items.len() != 1 {
        return Err(Invalid::Duplicate(name));
    }
    Ok(NameAddr::parse(value, name)?)
}

fn check_u32_param(na: &NameAddr, param: &'static str) -> Result<(), Invalid> {
    if let Some(Some(v)) = na.params.get(param) {
        match parse_decimal(v) {
            Some(n) if n <= u64::from(u32::MAX) => {}
            _ => return Err(Invalid::Range("contact expires")),
        }
    }
    Ok(())
}
