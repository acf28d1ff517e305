//! # parley-agent
//!
//! Agents as documents ([`spec::AgentSpec`]: YAML, or the same JSON through the API; its
//! [`flow`] of nodes, intents, tools, opening hours; [`spec::AgentSpec::demo`] is the demo
//! store), the embedded [`intent`] engine, days and times as said ([`when`]), what a language
//! model is told and may say ([`llm`]), and the sans-IO flow interpreter
//! [`conversation::Conversation`]: caller input, tool results and completion parts in,
//! [`conversation::Action`]s out, timers through `poll_timeout`.
//!
//! ```
//! use std::time::Instant;
//! use parley_agent::{conversation::{Action, CallContext, Conversation, Input}, spec::AgentSpec};
//! let mut c = Conversation::new(AgentSpec::demo(), CallContext::now("+15550100004"));
//! c.start(Instant::now());
//! let reply = c.handle(Instant::now(), Input::Said("What are your opening hours?".into()));
//! assert!(matches!(&reply[0], Action::Say(t) if t.contains("Monday")));
//! ```
//!
//! Test with `cargo test -p parley-agent`.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod conversation;
pub mod flow;
pub mod hours;
pub mod intent;
pub mod llm;
pub mod spec;
pub mod tools;
pub mod turn;
pub mod vars;
pub mod when;
