//! `browser.proxy`: one binary (`cargo nextest run --test browser`). Where a new test goes:
//!
//! | module | what it pins |
//! |---|---|
//! | [`validation`] | adapter validation with the exact error texts; no browser launched |
//! | [`forward`] | the forwarding backend against a local HTTP server |
//! | [`real`] | the built-in backend against a real headless Chromium (attacks, fallbacks) |
//!
//! The fixture site, the HTTP server and Chromium detection are `support::browser`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed unwrap is a failed test"
)]

#[path = "../support/mod.rs"]
mod support;

mod forward;
mod real;
mod validation;
