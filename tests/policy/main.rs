//! The policy engine's tests: one binary (`cargo nextest run --test policy`), one module per
//! kind of check. Where a new test goes:
//!
//! | module | what it pins |
//! |---|---|
//! | [`cases`] | EA §19 behaviour cases, one named test per spec case (through [`policy_case!`]) |
//! | [`advisories`] | EA §18 advisories and hardening changes, one named test each |
//! | [`soundness`] | "what runs is exactly what was analysed": hostile params and shell payloads |
//! | [`store`] | the approvals store: remote editing (§19 136–144), atomic 0600 writes, limits |
//! | [`defaults`] | a fresh node's defaults end to end through `PolicyEngine` |
//! | [`presets`] | every preset in `policies/presets/` loads and decides as documented |
//! | [`props`] | property tests (no panics, round trips, monotonicity, glob oracle) |
//! | [`explain_cli`] | `openclaw-node policy explain` as a process |
//!
//! The harness (a §19 "world" and deciding in it) is `support::policy`. Comparisons with the
//! official engine are the `differential` binary; runs under the real shells are
//! `soundness_oracle`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed unwrap is a failed test"
)]

#[path = "../support/mod.rs"]
mod support;

mod advisories;
mod cases;
mod defaults;
mod explain_cli;
mod glob_oracle;
mod presets;
mod props;
mod soundness;
mod store;
