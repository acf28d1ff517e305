//! # parley-media
//!
//! Media for Parley calls as sans-IO parts: [`rtp`] packets, [`g711`] codecs, RFC 3389 comfort
//! noise in [`cn`], RFC 4733
//! telephone events in [`dtmf`], a reordering [`jitter`] buffer with loss concealment, the
//! drift-free 20 ms [`pacer`], [`rtcp`] reports and statistics, and [`srtp`] (SRTP/SRTCP with
//! the SDES suites). The call task in `parley-server` owns the UDP socket and feeds
//! these parts with `now`.
//!
//! Test with `cargo test -p parley-media`.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod cn;
pub mod dtmf;
pub mod g711;
pub mod g722;
pub mod jitter;
pub mod pacer;
pub mod rtcp;
pub mod rtp;
pub mod srtp;
pub mod wav;
