//! The policy engine: the exec-approvals store and the pure `system.run` decision.
//!
//! Owns everything in `spec/exec-approvals.md`: the approvals file (location, schema,
//! normalisation, atomic writes, hash snapshots, redaction), policy resolution, request analysis,
//! the POSIX shell payload analyser, executable resolution, wrappers, allowlist matching, safe bins,
//! approval plans, and allow-always persistence. It never spawns processes: it returns an
//! [`ExecPlan`] that the sandbox launcher enforces.
//!
//! This is the contract the command adapters (`crate::commands`) rely on; the engine's internals
//! live in submodules.
#![forbid(unsafe_code)]

use std::path::PathBuf;

use serde_json::Value;

/// An error the engine reports for a node command; `code` is the wire error code
/// (`INVALID_REQUEST`, `UNAVAILABLE`, `TIMEOUT`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct PolicyError {
    pub code: &'static str,
    pub message: String,
    pub details: Option<Value>,
}

/// Where the engine reads its inputs.
#[derive(Debug, Clone)]
pub struct PolicyPaths {
    /// `<state>/exec-approvals.json`.
    pub approvals: PathBuf,
    /// The state directory (legacy fallbacks, `openclaw.json` for `tools.exec.*`).
    pub state_dir: PathBuf,
}

/// What the launcher must run once the engine allowed it. `argv` is exactly what was analysed.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecPlan {
    pub argv: Vec<String>,
    /// Working directory (None: the node's own cwd).
    pub cwd: Option<PathBuf>,
    /// The complete child environment (sanitised inherited env + accepted overrides + markers).
    pub env: Vec<(String, String)>,
    /// Requested timeout (`timeoutMs > 0`), before the launcher applies its default/maximum.
    pub timeout_ms: Option<u64>,
    /// The agent this run is attributed to (`main` when absent).
    pub agent_id: String,
}

/// Identity of a run for `exec.denied` / `exec.finished` events.
#[derive(Debug, Clone, PartialEq)]
pub struct RunIdentity {
    pub session_key: String,
    pub run_id: String,
    /// Canonical command text (`formatExecCommand(argv)`).
    pub command_text: String,
    /// `suppressNotifyOnExit` / legacy `wakeOnExit`, echoed in `exec.finished` when present.
    pub suppress_notify_on_exit: Option<bool>,
    pub wake_on_exit: Option<bool>,
}

/// The outcome of `system.run` request analysis + policy decision.
#[derive(Debug, Clone, PartialEq)]
pub enum RunDecision {
    /// Malformed request: reply `INVALID_REQUEST` with `message`; no event.
    Invalid {
        message: String,
        details: Option<Value>,
    },
    /// Refused: emit `exec.denied {reason}` and reply `UNAVAILABLE` with `message`.
    Denied {
        reason: String,
        message: String,
        run: RunIdentity,
    },
    /// Allowed: the launcher runs `plan`, then `exec.finished` is emitted.
    Allowed { plan: ExecPlan, run: RunIdentity },
}

/// The engine handle the node holds. Cheap to share (`Arc`); recompiles only when the approvals
/// file's hash changes.
#[derive(Debug)]
pub struct PolicyEngine {
    paths: PolicyPaths,
    node_path_env: String,
}

impl PolicyEngine {
    /// `node_path_env` is the node's own PATH (advertised as `pathEnv`), used for resolution.
    pub fn new(paths: PolicyPaths, node_path_env: String) -> Self {
        Self {
            paths,
            node_path_env,
        }
    }

    /// The node's PATH used for executable resolution.
    pub fn node_path_env(&self) -> &str {
        &self.node_path_env
    }

    /// Full `system.run` pipeline up to (not including) the spawn: decode params, analyse,
    /// decide, persist allow-always patterns.
    pub fn evaluate_run(&self, params: &Value) -> RunDecision {
        let _ = (params, &self.paths);
        RunDecision::Invalid {
            message: "policy engine not implemented".into(),
            details: None,
        }
    }

    /// `system.run.prepare`: returns `{plan: {...}}`.
    pub fn prepare(&self, params: &Value) -> Result<Value, PolicyError> {
        let _ = params;
        Err(PolicyError {
            code: "INVALID_REQUEST",
            message: "not implemented".into(),
            details: None,
        })
    }

    /// `system.execApprovals.get`: returns `{path, exists, hash, file}` (token redacted).
    pub fn approvals_get(&self, params: &Value) -> Result<Value, PolicyError> {
        let _ = params;
        Err(PolicyError {
            code: "INVALID_REQUEST",
            message: "not implemented".into(),
            details: None,
        })
    }

    /// `system.execApprovals.set {file, baseHash}`: returns the fresh redacted snapshot.
    pub fn approvals_set(&self, params: &Value) -> Result<Value, PolicyError> {
        let _ = params;
        Err(PolicyError {
            code: "INVALID_REQUEST",
            message: "not implemented".into(),
            details: None,
        })
    }
}
