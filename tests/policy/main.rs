//! The policy engine's tests: one binary (`cargo nextest run --test policy`), one module per
//! kind of check. Where a new test goes:
//!
//! | module | what it pins |
//! |---|---|
//! | [`cases`] | EA §19 behaviour cases, one named test per spec case (through [`policy_case!`]) |
//! | [`advisories`] | EA §18 advisories and hardening changes, one named test each |
//! | [`soundness`] | "what runs is exactly what was analysed": hostile params and shell payloads |
//! | [`approvals`] | the approvals store: remote editing (§19 136–144), atomic 0600 writes, limits |
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

/// One table-like policy case: the world it is decided in, then each request and the outcome
/// it must get (`"allow"`, `"miss"`, `"ask"`, `"off"`, `"invalid"`, `"plan-miss"`). A case that
/// checks more than outcomes is an ordinary `#[test]` over `support::policy`.
///
/// ```ignore
/// policy_case!(
///     case_030_backticks_rejected,
///     world("allowlist", "off").al(&["/usr/bin/echo"]),
///     sh("echo `id`") => "miss",
/// );
/// ```
macro_rules! policy_case {
    ($name:ident, $world:expr, $($req:expr => $outcome:literal),+ $(,)?) => {
        #[test]
        fn $name() {
            let w = $world;
            $(
                assert_eq!(w.outcome(&$req), $outcome, "request: {}", stringify!($req));
            )+
        }
    };
}

mod advisories;
mod approvals;
mod cases;
mod defaults;
mod explain_cli;
mod glob_oracle;
mod presets;
mod props;
mod soundness;
