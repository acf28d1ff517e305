//! # parley-connect
//!
//! Outputs of a call: the in-memory [`transcript::Transcript`] (no Serialize, no content Debug,
//! zeroized on drop), the post-call [`document`], and [`webhook`] delivery signed with
//! HMAC-SHA256 in a `Parley-Signature: t=<unix>,v1=<hex>` header, and card [`payment`]s taken
//! from the keypad (capture, then a Stripe PaymentIntent), [`twilio`] call transfers, and the [`tools`] agents' flows call.
//!
//! Test with `cargo test -p parley-connect`.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod document;
pub mod egress;
pub mod llm;
pub mod email;
pub mod payment;
pub mod redact;
pub mod tools;
pub mod transcript;
pub mod twilio;
pub mod webhook;
