//! # parley-media
//!
//! Media for Parley calls as sans-IO parts: [`rtp`] packets, [`g711`] codecs, RFC 4733
//! telephone events in [`dtmf`], a reordering [`jitter`] buffer with loss concealment, and the
//! drift-free 20 ms [`pacer`]. The call task in `parley-server` owns the UDP socket and feeds
//! these parts with `now`.
//!
//! Test with `cargo test -p parley-media`.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod dtmf;
pub mod g711;
pub mod jitter;
pub mod pacer;
pub mod rtcp;
pub mod rtp;
pub mod srtp;
