//! Talking with a language model, sans-IO: the pieces an `llm` node's driver needs that do no
//! I/O. [`stream::StreamDecoder`] turns the bytes of an OpenAI-compatible streaming
//! chat-completions response into text, tool calls, usage and errors; [`sentences::Sentences`]
//! cuts the streamed text into sentences, so the first is spoken while the rest is generated;
//! [`json_reply`] has small models answer in one constrained JSON object instead of free text
//! and tool calls.

pub mod guard;
pub mod json_reply;
pub mod prompt;
pub mod sentences;
pub mod stream;
