//! # parley-sip
//!
//! Parley's SIP stack: a byte-oriented message parser and serializer that passes the RFC 4475
//! torture corpus, SDP offer/answer for G.711 and telephone-event, RFC 3261 transactions and
//! dialogs, all as sans-IO state machines, plus thin tokio transports (UDP and TCP).
//!
//! Main types: [`message::Message`] (parse with [`parse::parse_datagram`] or
//! [`parse::parse_stream`]), [`endpoint::Endpoint`] (the user agent core: input plus `now` in,
//! [`endpoint::Output`] out; it answers calls, places them with [`endpoint::Endpoint::dial`] and
//! keeps registrations with [`endpoint::Endpoint::register`]), [`sdp`] (offer/answer), [`digest`] (digest authentication with
//! SHA-256 and MD5, stateless nonces, nonce-count replay check), [`guard`] (scanner
//! user agents, per-source rate limit, bans after repeated authentication failures), [`uri`] (checked `sip:`/`sips:`/`tel:` URIs for what Parley writes into requests), [`transport`] (the tokio driver side).
//!
//! Test with `cargo test -p parley-sip`; `tests/rfc4475_corpus.rs` replays the torture corpus.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod digest;
pub mod endpoint;
pub mod guard;
pub mod header;
pub mod message;
pub mod parse;
pub mod response;
pub mod sdp;
pub mod session;
pub mod transaction;
pub mod transport;
pub mod uri;
pub mod validate;
