//! The pure decision: (compiled policy, request, filesystem view, context) → [`Decision`]
//! (EA §14 steps 2–10 minus persistence side effects, which the engine applies afterwards).
//!
//! Documented choices:
//! - The `/bin/sh -lc X` transport is transparent only when the shell resolves (realpath) into
//!   `/bin` or `/usr/bin` (EA §7.3 recommendation); `./sh -lc X` is an ordinary executable.
//! - After a `cd` safe builtin, later relative executables/scripts in the same payload are never
//!   satisfied (they would run relative to a directory we did not analyse).
//! - Symlinked executables are matched by realpath (newest upstream, EA §8.1).
//! - An approval-bound run whose cwd/executable/operand checks fail is denied with reason
//!   `approval-required` (as upstream does).
//! - `needsScreenRecording` is denied *before* anything is persisted.
//!
//! Intentional differences from the official implementation (openclaw@2026.9.6, checked with
//! `evaluateShellAllowlistWithAuthorization`):
//! - A nested single-command shell (`sh:"bash -c ls"`) is not unwrapped: it needs an approval
//!   (EA §19 case 86); 2026.9.6 unwraps it and matches `ls`.
//! - A newline after a comment is rejected like any raw newline; 2026.9.6 treats it as a command
//!   separator. Both are fail-closed relative to upstream.
//! - Positional-carrier and nested-chain segments are reported as one segment with `nested`
//!   details instead of being flattened.

use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;

use super::analysis::shell::{self, ShellAnalysis, ShellError};
use super::analysis::soundness::{self, Grammar};
use super::analysis::wrappers::{self};
use super::analysis::{format_exec_command, is_shell_name, normalized_name};
use super::compiled::CompiledPolicy;
use super::env;
use super::exe::{self, Resolution};
use super::fsview::FsView;
use super::inline_eval::{self, InlineEvalHit};
use super::plan::{self, RunRequest};
use super::resolve::{self, DEFAULT_AGENT_ID, Effective, HostPolicy, Requested};
use super::safe_bins::SafeBinConfig;
use super::types::{ApprovalDecision, Ask, Security};

mod phases;
mod prepare;
mod segment;
mod transport;

/// A phase settled the decision early: the [`Decision`] it was given is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Settled;

pub use prepare::prepare;
pub use segment::node_command_marker;
use segment::{Eval, SegEval, derive_persist};
pub use transport::is_login_shell_carrier;
use transport::{Transport, check_raw_command, find_transport, trusted_transport};

/// Maximum nesting depth for inline shell chains (EA §7.3).
pub const MAX_NESTED_DEPTH: usize = 3;

/// A skill-bin trust entry (EA §11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkillTrust {
    pub name: String,
    pub resolved_path: PathBuf,
}

/// Everything besides the request and the compiled policy.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub requested: Requested,
    pub strict_inline_eval: bool,
    pub safe_bins: &'a SafeBinConfig,
    pub skills: &'a [SkillTrust],
    /// The node PATH used for resolution (request PATH is never honoured).
    pub node_path: &'a str,
    /// The node process environment (stripped before use).
    pub inherited_env: &'a [(String, String)],
}

/// Outcome vocabulary (EA §19).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Allow,
    Ask,
    Miss,
    Off,
    Invalid,
    /// Denied for another reason (plan mismatch, screen recording, state write failure).
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Ask => "ask",
            Self::Miss => "miss",
            Self::Off => "off",
            Self::Invalid => "invalid",
            Self::Denied => "denied",
        }
    }
}

/// What satisfied a segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Satisfaction {
    /// `allowlist`, `safeBins`, `safeBuiltins`, `skills`, `inlineChain`.
    pub by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
}

/// One analysed segment, explained.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SegmentReport {
    pub raw: String,
    pub argv: Vec<String>,
    /// argv after unwrapping transparent dispatch wrappers.
    pub effective_argv: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub wrappers: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Resolution>,
    pub satisfied_by: Option<Satisfaction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nested: Vec<SegmentReport>,
    /// The argv the shell is planned to execute for this segment when it is satisfied: argv0
    /// pinned for allowlist, safe-bin and skill segments (after unwrapping), the whole argv for a
    /// nested shell (its payload literalised when a safe bin inside was rewritten); `None` for
    /// builtins and unsatisfied segments.
    #[serde(skip)]
    pub planned_argv: Option<Vec<String>>,
}

/// An allowlist entry that matched (for `lastUsed*` bookkeeping).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchedEntry {
    pub agent: String,
    pub index: usize,
    pub command: String,
    pub resolved_path: Option<String>,
}

/// The self-explaining decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    pub outcome: Outcome,
    /// Event reason code (`security=deny`, `approval-required`, `allowlist-miss`, …) or
    /// `allowed` / `invalid-request`.
    pub reason: String,
    pub message: String,
    #[serde(skip)]
    pub details: Option<Value>,
    pub agent_id: String,
    pub command_text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested: Option<Requested>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<HostPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effective: Option<Effective>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shell_payload: Option<String>,
    /// The payload was analysed as a `/bin/sh -c` transport.
    pub transport: bool,
    pub analysis_ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub analysis_error: Option<String>,
    pub allowlist_satisfied: bool,
    pub segments: Vec<SegmentReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inline_eval: Option<String>,
    /// The argv that would be executed (empty unless allowed).
    pub exec_argv: Vec<String>,
    /// Why `exec_argv` differs from the request argv.
    pub exec_notes: Vec<String>,
    #[serde(skip)]
    pub cwd: Option<PathBuf>,
    #[serde(skip)]
    pub env: Vec<(String, String)>,
    /// Patterns an `allow-always` decision persists (the `pattern` of each grant).
    pub persist_patterns: Vec<String>,
    /// The grants an `allow-always` decision persists: pattern + cwd-bound argPattern (EA §15,
    /// 2026.9.6), so only the exact command in the same cwd reruns without a prompt.
    #[serde(skip)]
    pub persist_grants: Vec<Grant>,
    /// `=node-command:` marker persisted with the grants when every segment produced one.
    #[serde(skip)]
    pub persist_marker: Option<String>,
    #[serde(skip)]
    pub matched_entries: Vec<MatchedEntry>,
}

impl Decision {
    fn new(agent_id: &str, command_text: &str) -> Self {
        Self {
            outcome: Outcome::Invalid,
            reason: String::new(),
            message: String::new(),
            details: None,
            agent_id: agent_id.to_string(),
            command_text: command_text.to_string(),
            requested: None,
            host: None,
            effective: None,
            shell_payload: None,
            transport: false,
            analysis_ok: false,
            analysis_error: None,
            allowlist_satisfied: false,
            segments: Vec::new(),
            inline_eval: None,
            exec_argv: Vec::new(),
            exec_notes: Vec::new(),
            cwd: None,
            env: Vec::new(),
            persist_patterns: Vec::new(),
            persist_grants: Vec::new(),
            persist_marker: None,
            matched_entries: Vec::new(),
        }
    }

    /// Settle as an invalid request.
    fn invalid(&mut self, message: String, details: Option<Value>) -> Settled {
        self.outcome = Outcome::Invalid;
        self.reason = "invalid-request".into();
        self.message = message;
        self.details = details;
        Settled
    }

    /// Settle as a denial (nothing to execute, nothing to persist).
    fn deny(&mut self, outcome: Outcome, reason: &str, message: String) -> Settled {
        self.outcome = outcome;
        self.reason = reason.into();
        self.message = message;
        self.exec_argv.clear();
        self.persist_patterns.clear();
        self.persist_grants.clear();
        self.persist_marker = None;
        self.matched_entries.clear();
        Settled
    }

    /// Is the run allowed?
    pub fn allowed(&self) -> bool {
        self.outcome == Outcome::Allow
    }
}

/// One `allow-always` grant to persist: the executable (or script) trust path and the
/// cwd-bound `argPattern` of the exact command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub pattern: String,
    pub arg_pattern: String,
}

/// The pure decision, as a short sequence of phases (each in [`phases`]); a phase that settles
/// the decision early (invalid request, denial) returns [`Settled`].
pub fn decide(
    policy: &CompiledPolicy,
    req: &RunRequest,
    ctx: &Context<'_>,
    fs: &dyn FsView,
) -> Decision {
    let agent_id = req
        .agent_id
        .clone()
        .unwrap_or_else(|| DEFAULT_AGENT_ID.to_string());
    let command_text = format_exec_command(&req.argv);
    let mut d = Decision::new(&agent_id, &command_text);
    // `Err(Settled)`: `d` already holds the final (invalid or denied) decision.
    let _ = run_phases(&mut d, policy, req, ctx, fs, agent_id);
    d
}

fn run_phases(
    d: &mut Decision,
    policy: &CompiledPolicy,
    req: &RunRequest,
    ctx: &Context<'_>,
    fs: &dyn FsView,
    agent_id: String,
) -> Result<(), Settled> {
    let v = phases::validate(d, req)?;
    let (eff, cwd) = phases::resolve(d, policy, req, ctx, fs, &agent_id);
    let ev = Eval {
        policy,
        agent_key: agent_id,
        ctx,
        fs,
        cwd,
        auto_allow_skills: eff.auto_allow_skills,
    };
    let mut an = phases::analyse(d, &ev, req, &v);
    phases::verdict(d, &ev, &eff, v.approval, &an)?;
    let mut plan = phases::exec_plan(d, &ev, req, &v, &mut an, &eff)?;
    phases::child_env(d, ctx, &mut plan, &v.overrides, req)?;
    phases::persistence(d, &ev, req, &eff, v.approval, &an.evals);
    phases::allow(d, &eff, v.approval, &mut an.evals, plan);
    Ok(())
}
