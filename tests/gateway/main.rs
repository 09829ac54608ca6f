//! The gateway side: the client library and the real `openclaw-node run` binary against the
//! fake gateway in `support::gateway` (the real gateway is `tests/interop/run.sh`). One binary
//! (`cargo nextest run --test gateway`). Where a new test goes:
//!
//! | module | what it pins |
//! |---|---|
//! | [`client`] | the client in process with a scripted policy and launcher: handshake and proof, pairing, reconnect, ticks, TLS, frames, concurrency, cancellation |
//! | [`cli`] | `openclaw-node run` as a process: exit codes, clean SIGTERM, state file modes, credentials |
//! | [`faults`] | the connection failing: drop mid-run, half-open and black-holed paths |
//! | [`signals`] | SIGTERM/SIGINT while runs are in flight |
//! | `approvals_race` | faults of the approvals file through a helper process (needs `test-helpers`) |
//! | [`load`] | 256 concurrent runs, output floods, bounded memory |
//! | [`hostile`] | hostile frames: oversize, nesting, NUL, invalid UTF-8, duplicates |
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed unwrap is a failed test"
)]

#[path = "../support/mod.rs"]
mod support;

#[cfg(feature = "test-helpers")]
mod approvals_race;
mod cli;
mod client;
mod faults;
mod hostile;
mod load;
mod signals;
