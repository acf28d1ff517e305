//! # parley-call
//!
//! One answered call's turn-taking as a sans-IO state machine, in the shape of the SIP
//! endpoint: [`CallPipeline`] takes what arrives and the time, and says what to do
//! ([`Output`]); a driver (the server's `call` task, for SIP and Twilio calls alike) executes
//! the outputs and feeds results back. Nothing here reads a clock, spawns a task or does I/O,
//! so every behaviour (barge-in, end of turn, hang-up after the last words, transfers, keys in
//! payment mode) is tested in simulated time (`tests/`).
//!
//! Parts: [`pipeline`] (the composition: pacer, jitter buffer, endpointer, playout, payment
//! mode, the agent's conversation, transcript, recording), [`ahead`] (the language model's
//! answer asked during the caller's pause, adopted when the pause ends the turn), [`taken_back`]
//! (a turn the agent took while the caller was only pausing, undone when they go on), [`playout`] (texts queued, handed out
//! for synthesis, played 20 ms at a time), [`payment`] (card capture on the keypad) and
//! [`recording`] (a two-channel WAV, when the tenant's policy keeps one).
//!
//! Test with `cargo test -p parley-call`.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod ahead;
pub mod payment;
pub mod pipeline;
pub mod playout;
pub mod recording;
pub mod taken_back;

pub use pipeline::{CallPipeline, Config, Event, Finished, Output, ToolTiming, TurnLatency, SOUNDS_FINISHED};
