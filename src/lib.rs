//! openclaw-node: a sandboxed, policy-engine-centric drop-in replacement for `openclaw node`.
//!
//! ```text
//! Gateway WS ─▶ gateway (client) ─▶ commands (thin adapters)
//!                                      │
//!   exec-approvals.json ─▶ policy (decides) ─▶ sandbox (enforces)
//! ```
//!
//! Module ownership:
//! - [`policy`]: the approvals store and the pure decision engine (no `unsafe`, no spawning).
//! - [`sandbox`]: the hardened launcher; the only module allowed to contain `unsafe`.
//! - [`gateway`]: the WebSocket client, device identity, pairing and node state files.
//! - [`commands`]: node commands (`system.run`, `system.which`, …) as thin adapters.
//! - [`browser`]: the `browser.proxy` backends (built-in CDP driver and HTTP forwarder).
//! - [`service`]: systemd user unit / LaunchAgent management.
//! - [`config`]: state-dir resolution and openclaw-node's own `node-host.json5`.
//! - [`cli`]: the command line (clap), one file per subcommand family.
//! - [`util`]: leaf helpers defined once (atomic writes, the clock, the default PATH).

pub mod browser;
pub mod cli;
pub mod commands;
pub mod config;
pub mod gateway;
pub mod policy;
pub mod sandbox;
pub mod service;
pub mod util;
