//! The hardened launcher: runs an allowed [`crate::policy::ExecPlan`] in its own session and
//! process group under Landlock + seccomp + no capabilities + no_new_privs + rlimits, with
//! timeouts, output caps and whole-tree kill (per-run cgroup v2 `cgroup.kill` where available).
//!
//! This is the only module of the crate that may contain `unsafe`; every block carries a
//! `// SAFETY:` comment. Restrictions are computed in the parent and applied only in the forked
//! child (see [`child`]), never on a thread of the host.
//!
//! Layout:
//! - [`config`]: the `sandbox` section of `node-host.json5` and per-run policy resolution,
//! - [`profile`]: what each profile (`standard`, `strict`, `off`) enforces,
//! - [`seccomp`]: loading the reviewed seccomp policies (`policies/seccomp/*.json`) into BPF,
//! - [`landlock`]: the per-run Landlock ruleset, built in the parent,
//! - [`view`]: the per-run filesystem view (read-only root, writable roots bound back, the
//!   node's own state protected and masked), planned in the parent, mounted in the child,
//! - [`cgroup`]: per-run cgroups (v2 tree kill, pids bound on v1 or v2),
//! - [`child`]: the allocation-free `pre_exec` path,
//! - [`spawn`]: the `clone3(CLONE_INTO_CGROUP | CLONE_PIDFD)` spawn path (no cgroup migration),
//! - [`output`]: the 200 000-byte combined capture and truncation marker,
//! - [`probe`]: what this kernel can enforce (`openclaw-node sandbox check`),
//! - `bpf_eval`: a tiny classic-BPF interpreter used to check compiled filters offline (tests and
//!   the `test-helpers` feature only),
//! - [`browser_child`]: the built-in browser's `pre_exec` path (CDP pipe fds, its read-only
//!   mount namespace, its own uid, death with the node),
//! - `try_syscall`: the escape suite's attack probes (behind the `openclaw-node-try-syscall`
//!   test helper binary; `test-helpers` feature only).
#![allow(
    unsafe_code,
    reason = "the one module with raw syscalls; every block carries a `// SAFETY:` comment"
)]
// Raw syscall words cross integer types here: every narrowing or sign change is checked.
#![deny(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]

#[cfg(any(test, feature = "test-helpers"))]
pub mod bpf_eval;
pub mod browser_child;
pub mod cgroup;
pub mod child;
pub mod config;
pub mod landlock;
pub mod output;
pub mod probe;
pub mod profile;
pub mod run;
pub mod seccomp;
pub mod spawn;
#[cfg(feature = "test-helpers")]
#[doc(hidden)]
pub mod try_syscall;
pub mod view;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

pub use config::{AgentSandboxOverride, RunAs, SandboxConfig};
pub use probe::KernelSupport;
pub use profile::Profile;
pub use view::NodeProtection;

/// Combined stdout+stderr capture cap (bytes), as the official host.
pub const OUTPUT_CAP_BYTES: usize = 200_000;

/// Errors that prevent a launch (as opposed to a child that ran and failed).
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The profile needs a kernel feature this machine cannot enforce.
    #[error("sandbox unavailable: {0}")]
    Unavailable(String),
    /// The `sandbox` configuration is invalid (message names the key).
    #[error("invalid sandbox configuration: {0}")]
    Config(String),
    /// The launcher could not prepare the run (temp dir, cgroup, ruleset).
    #[error("cannot prepare the sandboxed run: {0}")]
    Setup(String),
}

/// What to run.
#[derive(Debug, Clone)]
pub struct LaunchRequest {
    pub argv: Vec<String>,
    pub cwd: Option<PathBuf>,
    /// The complete child environment.
    pub env: Vec<(String, String)>,
    /// Requested timeout; the launcher applies its configured default and maximum.
    pub timeout_ms: Option<u64>,
    /// For per-agent profile overrides.
    pub agent_id: Option<String>,
}

/// The `system.run` result payload, serialised exactly as the official host
/// (`exitCode` omitted when the child died by a signal or never started).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunOutcome {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
    pub error: Option<String>,
}

impl RunOutcome {
    /// A run whose child never started (bad cwd, ENOENT, …).
    pub fn spawn_failure(message: String) -> Self {
        Self {
            exit_code: None,
            timed_out: false,
            success: false,
            stdout: String::new(),
            stderr: String::new(),
            error: Some(message),
        }
    }
}

/// The launcher the node holds (probes the kernel once, precompiles filters).
#[derive(Debug)]
pub struct Launcher {
    inner: run::LauncherInner,
}

impl Launcher {
    /// Validate the configuration, probe the kernel once and precompile the seccomp filters.
    /// Fails only on invalid configuration or unreadable embedded policies; a kernel that cannot
    /// enforce a profile is reported per run (so an agent override to a weaker profile still
    /// works) and by [`Launcher::support`].
    pub fn new(config: &SandboxConfig) -> Result<Self, SandboxError> {
        let protection = NodeProtection::from_environment(&config.protected_paths);
        Self::with_protection(config, protection)
    }

    /// As [`Launcher::new`], protecting what `protection` names instead of what the node's own
    /// environment names (tests build a node in a scratch `$HOME`).
    pub fn with_protection(
        config: &SandboxConfig,
        protection: NodeProtection,
    ) -> Result<Self, SandboxError> {
        Ok(Self {
            inner: run::LauncherInner::new(config, protection)?,
        })
    }

    /// What the kernel supports, as probed when the launcher was created.
    pub fn support(&self) -> &KernelSupport {
        &self.inner.support
    }

    /// The tree-kill mechanism runs will use (`"cgroup-v2"` or `"process-group"`).
    pub fn tree_kill_mechanism(&self) -> &'static str {
        self.inner.tree_kill_mechanism()
    }

    /// How children are created: `"clone3"` (directly inside the run's v2 cgroup) or `"fork"`
    /// (fork + `pre_exec`, joining cgroups by migration).
    pub fn spawn_path(&self) -> &'static str {
        self.inner.spawn_path()
    }

    /// Number of children created so far by (`clone3`, `fork`).
    pub fn spawn_counts(&self) -> (u64, u64) {
        self.inner.spawn_counts()
    }

    /// Run to completion (or timeout / cancellation, which kill the whole tree).
    pub async fn run(
        &self,
        req: LaunchRequest,
        cancel: CancellationToken,
    ) -> Result<RunOutcome, SandboxError> {
        self.inner.run(req, cancel).await
    }
}
