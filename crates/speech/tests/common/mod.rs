//! Helpers shared by the recognizer's integration tests.
#![allow(dead_code)]

pub mod prompts;
pub mod voices;
