//! The soundness oracle's pieces: a seeded payload generator that stresses the rule, and strace
//! plumbing that reads back what the real shells execute.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

#[path = "../differential/generator.rs"]
pub mod generator;

pub mod payloads;
pub mod trace;
