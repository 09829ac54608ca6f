//! The hardened launcher's tests: one binary (`cargo nextest run --test sandbox`, built with the
//! `test-helpers` feature for the syscall-probe helper). Attack tests first show the attack
//! working without the sandbox, then failing with it; `SANDBOX_MUST_WORK=1` (CI) turns a missing
//! kernel feature into a failure. nextest runs each test in its own process, which these tests
//! need (they call `restrict_self`/`apply_filter` and read their own peak RSS). Where a new test
//! goes:
//!
//! | module | what it pins |
//! |---|---|
//! | [`view`] | the per-run filesystem view: the node protects itself (state, secrets, start-up files) |
//! | [`escape`] | escape attempts: syscalls, namespaces, ptrace, sockets, resource limits |
//! | [`seccomp_rules`] | one probe per rule in `policies/seccomp/*.json`, in the real kernel |
//! | [`launcher`] | run semantics: result shape, exit mapping, output cap, timeout, cancellation |
//! | [`flood`] | an output flood does not grow the host's memory |
//! | [`cli`] | `openclaw-node sandbox check` and `openclaw-node exec` configuration paths |
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed unwrap is a failed test"
)]

#[path = "../support/mod.rs"]
mod support;

mod cli;
mod escape;
mod flood;
mod launcher;
mod seccomp_rules;
mod view;
