//! The hardened launcher: runs an allowed [`crate::policy::ExecPlan`] in its own process group
//! under Landlock + seccomp + no capabilities + no_new_privs + rlimits, with timeouts, output caps
//! and whole-tree kill.
//!
//! This is the only module of the crate that may contain `unsafe`; every block carries a
//! `// SAFETY:` comment. Restrictions are computed in the parent and applied only in the forked
//! child, never on a thread of the host.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

/// Combined stdout+stderr capture cap (bytes), as the official host.
pub const OUTPUT_CAP_BYTES: usize = 200_000;

/// The `sandbox` section of `node-host.json5`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SandboxConfig {
    /// `standard` (default), `strict` or `off`.
    #[serde(default)]
    pub profile: Option<String>,
    /// Extra directories runs may write to.
    #[serde(default)]
    pub writable_roots: Vec<PathBuf>,
}

/// Errors that prevent a launch (as opposed to a child that ran and failed).
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("sandbox unavailable: {0}")]
    Unavailable(String),
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

/// The launcher the node holds (probes the kernel once, precompiles filters).
#[derive(Debug)]
pub struct Launcher {
    _config: SandboxConfig,
}

impl Launcher {
    pub fn new(config: &SandboxConfig) -> Result<Self, SandboxError> {
        Ok(Self {
            _config: config.clone(),
        })
    }

    /// Run to completion (or timeout / cancellation, which kill the whole tree).
    pub async fn run(
        &self,
        req: LaunchRequest,
        cancel: CancellationToken,
    ) -> Result<RunOutcome, SandboxError> {
        let _ = (req, cancel);
        Err(SandboxError::Unavailable("launcher not implemented".into()))
    }
}
