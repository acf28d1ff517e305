//! # parley-agent
//!
//! Agents as data ([`spec::AgentSpec`], loaded from YAML; [`spec::AgentSpec::demo`] is the demo
//! store), the embedded [`intent`] engine, and the sans-IO callflow interpreter
//! [`conversation::Conversation`]: caller input in, [`conversation::Action`]s out.
//!
//! ```
//! use parley_agent::{conversation::{Conversation, Input, Action}, spec::AgentSpec};
//! let mut c = Conversation::new(AgentSpec::demo());
//! c.start();
//! let reply = c.handle(Input::Said("What are your opening hours?".into()));
//! assert!(matches!(&reply[0], Action::Say(t) if t.contains("Monday")));
//! ```
//!
//! Test with `cargo test -p parley-agent`.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod conversation;
pub mod intent;
pub mod spec;
pub mod turn;
