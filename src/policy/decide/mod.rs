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

use std::collections::BTreeMap;
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

/// Maximum nesting depth for inline shell chains (EA §7.3).
mod prepare;
mod segment;
mod transport;

pub use prepare::prepare;
pub use segment::node_command_marker;
use segment::{Eval, SegEval, derive_persist};
pub use transport::is_login_shell_carrier;
use transport::{check_raw_command, find_transport, trusted_transport};

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

    fn invalid(mut self, message: String, details: Option<Value>) -> Self {
        self.outcome = Outcome::Invalid;
        self.reason = "invalid-request".into();
        self.message = message;
        self.details = details;
        self
    }

    fn deny(mut self, outcome: Outcome, reason: &str, message: String) -> Self {
        self.outcome = outcome;
        self.reason = reason.into();
        self.message = message;
        self.exec_argv.clear();
        self.persist_patterns.clear();
        self.persist_grants.clear();
        self.persist_marker = None;
        self.matched_entries.clear();
        self
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

/// The pure decision.
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
    if req.argv.is_empty() {
        return d.invalid("command required".into(), None);
    }

    // §4.2 command / rawCommand consistency.
    let u0 = wrappers::unwrap(&req.argv);
    let transport = find_transport(&req.argv, &u0);
    if let Some(t) = &transport {
        d.shell_payload = Some(t.argv[t.payload_index].clone());
    }
    if let Err(details) = check_raw_command(req, &command_text, &u0, transport.as_ref()) {
        return d.invalid("rawCommand does not match command".into(), Some(details));
    }

    // §9 approval binding.
    let approval = req.approval_requested();
    let plan = if approval {
        match plan::check_plan_binding(req, &command_text) {
            Ok(p) => Some(p),
            Err(m) => return d.invalid(m, None),
        }
    } else {
        None
    };

    // §4.3 env checks.
    if let Err(m) = env::check_assignments(&u0.env_assignment_keys) {
        return d.invalid(m, None);
    }
    if let Err(m) = env::check_overrides(&req.env) {
        return d.invalid(m, None);
    }
    let shell_wrapper = u0
        .argv
        .first()
        .is_some_and(|a| is_shell_name(&normalized_name(a)))
        || req
            .argv
            .first()
            .is_some_and(|a| is_shell_name(&normalized_name(a)));
    let overrides = if shell_wrapper {
        env::reduce_for_shell(&req.env)
    } else {
        req.env.clone()
    };

    // §3 effective policy.
    let host = resolve::host_policy(&policy.file, &agent_id, &ctx.requested);
    let eff = resolve::combine(&ctx.requested, &host);
    d.requested = Some(ctx.requested.clone());
    d.host = Some(host);
    d.effective = Some(eff.clone());

    // cwd.
    let home = fs.home();
    let cwd = match &req.cwd {
        Some(c) => exe::absolutize(c, &fs.cwd(), home.as_deref()),
        None => fs.cwd(),
    };
    let ev = Eval {
        policy,
        agent_key: agent_id.clone(),
        ctx,
        fs,
        cwd: cwd.clone(),
        auto_allow_skills: eff.auto_allow_skills,
    };

    // §5–§11 analysis.
    let trusted = transport
        .as_ref()
        .filter(|t| trusted_transport(&req.argv, t, &u0, &cwd, ctx, fs));
    let mut evals: Vec<SegEval> = Vec::new();
    let mut payload_analysis: Option<ShellAnalysis> = None;
    if let Some(t) = trusted {
        d.transport = true;
        let grammar = if u0.multiplexer.is_some() {
            Grammar::Bash
        } else {
            let r = exe::resolve(&t.argv[0], &cwd, ctx.node_path, fs);
            Grammar::of_shell(r.real_path.as_deref(), &t.argv[0])
        };
        // A login shell's payload with positional arguments after it is bound only by a
        // rawCommand that is the whole command text (2026.9.6); without one it is not analysed
        // (was D16b).
        let bound_by_raw = req.raw_command.as_deref().map(str::trim) == Some(command_text.as_str());
        let login = t.argv[1..t.payload_index].iter().any(|f| {
            f == "--login" || (f.starts_with('-') && !f.starts_with("--") && f[1..].contains('l'))
        });
        let positional = t.argv[t.payload_index + 1..]
            .iter()
            .any(|a| !a.trim().is_empty());
        let analysed = if login && positional && !bound_by_raw {
            Err(ShellError::Unsound(
                "a login shell's payload followed by positional arguments is bound only by a \
                 rawCommand naming the whole command"
                    .into(),
            ))
        } else {
            shell::analyze(&t.argv[t.payload_index]).and_then(|a| {
                soundness::check_shell_options(&t.argv[1..t.payload_index])
                    .map_err(ShellError::Unsound)?;
                soundness::check(&a, grammar).map_err(ShellError::Unsound)?;
                Ok(a)
            })
        };
        match analysed {
            Ok(a) => {
                let (reports, es, ok) = ev.payload(&a, 0, false);
                d.segments = reports;
                d.analysis_ok = true;
                d.allowlist_satisfied = ok;
                evals = es;
                payload_analysis = Some(a);
            }
            Err(e) => {
                d.analysis_error = Some(e.to_string());
                // EA §12 applies to payloads the analyser rejects too (fail closed).
                if ctx.strict_inline_eval {
                    let hits = inline_eval::lenient_commands(&t.argv[t.payload_index])
                        .iter()
                        .find_map(|c| inline_eval::detect_deep(c));
                    evals.push(SegEval {
                        inline_hits: hits.into_iter().collect(),
                        ..SegEval::default()
                    });
                }
            }
        }
    } else if req.argv.iter().all(|a| a.trim().is_empty()) {
        d.analysis_error = Some("empty argv".into());
    } else {
        let (r, e) = ev.segment(&command_text, &req.argv, false, 0, false);
        d.analysis_ok = true;
        d.allowlist_satisfied = e.satisfied;
        d.segments = vec![r];
        evals = vec![e];
    }
    let inline_hit = evals
        .iter()
        .flat_map(|e| e.inline_hits.iter())
        .next()
        .cloned();
    d.inline_eval = inline_hit.as_ref().map(InlineEvalHit::describe);

    // §3.3 decision (+ §12 strict inline eval).
    if eff.security == Security::Deny {
        return d.deny(
            Outcome::Off,
            "security=deny",
            "SYSTEM_RUN_DISABLED: security=deny".into(),
        );
    }
    if ctx.strict_inline_eval
        && !approval
        && let Some(h) = &inline_hit
    {
        return d.deny(
            Outcome::Ask,
            "approval-required",
            format!(
                "SYSTEM_RUN_DENIED: approval required ({} requires explicit approval in strictInlineEval mode)",
                h.describe()
            ),
        );
    }
    let miss = !d.analysis_ok || !d.allowlist_satisfied;
    let requires_ask = eff.ask == Ask::Always
        || (eff.ask == Ask::OnMiss && eff.security == Security::Allowlist && miss);
    if requires_ask && !approval {
        return d.deny(
            Outcome::Ask,
            "approval-required",
            "SYSTEM_RUN_DENIED: approval required".into(),
        );
    }
    if eff.security == Security::Allowlist && miss && !approval {
        return d.deny(
            Outcome::Miss,
            "allowlist-miss",
            "SYSTEM_RUN_DENIED: allowlist miss".into(),
        );
    }
    // An allowlist run binds its cwd as 2026.9.6 does (`captureApprovedCwdSnapshotSync`): a cwd
    // that does not exist (or is not a directory) is refused before spawn, not left to chdir.
    if eff.security == Security::Allowlist && !approval {
        let abs = exe::absolutize(&cwd.to_string_lossy(), &fs.cwd(), fs.home().as_deref());
        if fs
            .stat(&abs)
            .is_none_or(|st| st.kind != super::fsview::Kind::Dir)
        {
            return d.deny(
                Outcome::Ask,
                "approval-required",
                "SYSTEM_RUN_DENIED: approval requires an existing canonical cwd".into(),
            );
        }
    }

    // §6/§9/§10.4 execution plan.
    let mut exec_argv = req.argv.clone();
    let mut exec_cwd = req.cwd.as_ref().map(|_| cwd.clone());
    if approval {
        let canonical = match plan::canonical_cwd(&cwd, fs) {
            Ok(c) => c,
            Err(m) => return d.deny(Outcome::Denied, "approval-required", m),
        };
        exec_cwd = Some(canonical.clone());
        let pin = u0.chain.is_empty() && transport.is_none();
        if pin {
            let r = exe::resolve(&req.argv[0], &canonical, ctx.node_path, fs);
            match r.trust_path() {
                Some(p) => {
                    let p = p.to_string_lossy().into_owned();
                    if p != req.argv[0] {
                        d.exec_notes.push(format!("argv0 pinned to {p}"));
                        exec_argv[0] = p;
                    }
                }
                None => {
                    return d.deny(
                        Outcome::Denied,
                        "approval-required",
                        "SYSTEM_RUN_DENIED: approval requires a stable executable path".into(),
                    );
                }
            }
        }
        // Mutable script operand binding.
        let needed = plan::operand_index(&req.argv, transport.is_some());
        let bound = plan.as_ref().and_then(|p| p.mutable_operand.clone());
        match (needed, bound) {
            (Err(m), _) => return d.deny(Outcome::Denied, "approval-required", m),
            (Ok(Some(_)), None) => {
                return d.deny(
                    Outcome::Denied,
                    "approval-required",
                    "SYSTEM_RUN_DENIED: approval missing script operand binding".into(),
                );
            }
            (Ok(_), Some(b)) => {
                match plan::snapshot_operand(&req.argv, b.argv_index, &canonical, fs) {
                    Ok(now) if now.path == b.path && now.sha256 == b.sha256 => {}
                    _ => {
                        return d.deny(
                            Outcome::Denied,
                            "approval-required",
                            "SYSTEM_RUN_DENIED: approval script operand changed before execution"
                                .into(),
                        );
                    }
                }
            }
            (Ok(None), None) => {}
        }
    } else if eff.security == Security::Allowlist {
        if let (Some(t), Some(a)) = (trusted, payload_analysis.as_ref()) {
            let repl: Vec<Option<String>> =
                evals.iter_mut().map(|e| e.replacement.take()).collect();
            let mut shell_argv = t.argv.clone();
            if repl.iter().any(Option::is_some) {
                match shell::rebuild(&t.argv[t.payload_index], a, &repl) {
                    Some(rebuilt) => {
                        d.exec_notes
                            .push("payload literalised (safe bins / inline chains)".into());
                        shell_argv[t.payload_index] = rebuilt;
                    }
                    None => {
                        return d.deny(
                            Outcome::Denied,
                            "execution-plan-miss",
                            "SYSTEM_RUN_DENIED: execution plan mismatch".into(),
                        );
                    }
                }
            }
            if t.offset > 0 {
                d.exec_notes
                    .push("transparent dispatch wrappers dropped".into());
            }
            exec_argv = shell_argv;
        } else if let Some(planned) = evals.first_mut().and_then(|e| e.planned_argv.take()) {
            if planned != req.argv {
                d.exec_notes
                    .push("argv0 pinned to the resolved executable".into());
            }
            exec_argv = planned;
        }
    }

    // Login-shell PATH carrier (node-host-surface §7.3).
    let mut overrides_final: BTreeMap<String, String> = overrides;
    let carrier = is_login_shell_carrier(&exec_argv);
    if carrier {
        exec_argv[2] = format!("{}{}", env::PATH_CARRIER_PREFIX, exec_argv[2]);
        d.exec_notes
            .push("login-shell PATH carrier: payload prefixed to restore the node PATH".into());
    }
    let mut child_env = env::build_child_env(ctx.inherited_env, ctx.node_path, &overrides_final);
    if carrier {
        child_env.retain(|(k, _)| k != env::PATH_CARRIER);
        child_env.push((env::PATH_CARRIER.into(), ctx.node_path.to_string()));
    }
    overrides_final.clear();

    if req.needs_screen_recording {
        return d.deny(
            Outcome::Denied,
            "permission:screenRecording",
            "PERMISSION_MISSING: screenRecording".into(),
        );
    }

    // §15 allow-always persistence (never with ask=always).
    if approval
        && req.approval_decision == Some(ApprovalDecision::AllowAlways)
        && eff.ask != Ask::Always
    {
        let mut grants: Vec<Grant> = Vec::new();
        let push = |g: Grant, grants: &mut Vec<Grant>| {
            if !grants.contains(&g) {
                grants.push(g);
            }
        };
        // Every segment's grant (a satisfied one's, or — for the reason an approval was needed —
        // an unsatisfied one's executable), as 2026.9.6 derives them per segment.
        let mut represented = 0usize;
        for (r, e) in d.segments.iter().zip(evals.iter()) {
            let own = if e.satisfied {
                e.persist.clone()
            } else if r.blocked.is_some() {
                Vec::new()
            } else {
                derive_persist(&ev, r, e)
            };
            if !own.is_empty() {
                represented += 1;
            }
            for g in own {
                push(g, &mut grants);
            }
        }
        let complete = !d.segments.is_empty() && represented == d.segments.len();
        if complete && !grants.is_empty() && !d.command_text.trim().is_empty() {
            d.persist_marker = Some(node_command_marker(d.command_text.trim()));
        }
        // One pattern per executable, in first-seen order (grants differ by argv and cwd).
        for g in &grants {
            if !d.persist_patterns.contains(&g.pattern) {
                d.persist_patterns.push(g.pattern.clone());
            }
        }
        d.persist_grants = grants;
    }
    d.matched_entries = evals
        .iter_mut()
        .flat_map(|e| std::mem::take(&mut e.matched))
        .collect();
    d.outcome = Outcome::Allow;
    d.reason = "allowed".into();
    d.message = if approval {
        "allowed by explicit approval".into()
    } else if eff.security == Security::Full {
        "allowed: security=full".into()
    } else {
        "allowed: allowlist satisfied".into()
    };
    d.exec_argv = exec_argv;
    d.cwd = exec_cwd;
    d.env = child_env;
    d
}
