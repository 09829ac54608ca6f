//! The one harness of the integration tests, shared by every area binary (each includes it with
//! `#[path = "../support/mod.rs"] mod support;`). Where a helper goes:
//!
//! | module | what it holds |
//! |---|---|
//! | [`ws`] | WebSocket primitives: send a JSON frame, the next message, one JSON text frame |
//! | [`gateway`] | the fake gateway: listener (plain, TLS, abrupt), handshake with proof checks, invoke frames, result/event collectors |
//! | [`node`] | the real `openclaw-node run` binary as a process with its state in a temp dir |
//! | [`procfs`] | `/proc` readings: process trees, zombies, `status` fields, polling |
//! | [`sandbox`] | launcher construction, the syscall-probe helper, `SANDBOX_MUST_WORK` |
//! | [`policy`] | a §19 "world" (virtual filesystem, requested policy, approvals) and deciding in it |
//! | [`service`] | a temporary HOME/XDG/state layout with fake `systemctl`/`loginctl` |
//! | [`browser`] | the fixture pages, a CDP-capable Chromium and the browser proxy under test |
//! | [`generator`] | the seeded shell-payload generator of the differential test and the soundness oracle |
//!
//! Each binary uses a part of it, so unused items are expected here.
#![allow(
    dead_code,
    unused_imports,
    reason = "shared by every test binary; each uses only a part"
)]

use std::time::Duration;

pub mod browser;
pub mod gateway;
pub mod generator;
pub mod node;
pub mod policy;
pub mod procfs;
pub mod sandbox;
pub mod service;
pub mod ws;

/// The node binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_openclaw-node");
/// Generous per-step timeout for waits that are expected to succeed: the CI machine is small
/// and shared.
pub const T: Duration = Duration::from_secs(20);
