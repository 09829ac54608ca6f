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
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use super::analysis::shell::{self, Positional, Segment, ShellAnalysis, ShellError};
use super::analysis::soundness::{self, Grammar};
use super::analysis::wrappers::{self, Unwrapped};
use super::analysis::{
    ShellForm, format_exec_command, is_posix_shell, is_shell_name, normalized_name, shell_form,
};
use super::compiled::CompiledPolicy;
use super::env;
use super::exe::{self, Resolution};
use super::fsview::FsView;
use super::inline_eval::{self, InlineEvalHit};
use super::matcher::cwd_argv_arg_pattern;
use super::plan::{self, RunRequest};
use super::resolve::{self, DEFAULT_AGENT_ID, Effective, HostPolicy, Requested};
use super::safe_bins::SafeBinConfig;
use super::types::{ApprovalDecision, Ask, Security};

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

/// Result of evaluating one segment.
#[derive(Debug, Default)]
struct SegEval {
    satisfied: bool,
    /// Replacement text for payload rebuilding (safe bins / inline chains).
    replacement: Option<String>,
    /// argv to execute in argv mode when allowed by the allowlist (pinned, unwrapped).
    planned_argv: Option<Vec<String>>,
    persist: Vec<Grant>,
    matched: Vec<MatchedEntry>,
    inline_hits: Vec<InlineEvalHit>,
    changes_cwd: bool,
}

const SAFE_BUILTINS: &[&str] = &[":", "cd", "false", "pwd", "test", "true"];

struct Eval<'a> {
    policy: &'a CompiledPolicy,
    agent_key: String,
    ctx: &'a Context<'a>,
    fs: &'a dyn FsView,
    cwd: PathBuf,
    auto_allow_skills: bool,
}

impl Eval<'_> {
    fn resolve(&self, token: &str, cwd_changed: bool) -> Resolution {
        if cwd_changed && !(token.starts_with('/') || token.starts_with('~')) && token.contains('/')
        {
            return Resolution {
                raw: token.to_string(),
                resolved_path: None,
                real_path: None,
                executable_name: token.to_string(),
                bare: false,
            };
        }
        exe::resolve(token, &self.cwd, self.ctx.node_path, self.fs)
    }

    /// The entry satisfying `argv` (resolved as `res`): an `allow-always` grant for exactly this
    /// argv in this cwd first (unknown after a `cd`), else a path, name or `*` entry.
    fn match_entry(&self, res: &Resolution, argv: &[String], cwd_changed: bool) -> Option<usize> {
        let allow = &self.policy.agent(&self.agent_key).allowlist;
        let basename = res
            .resolved_path
            .as_ref()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        let bare = res.bare && res.resolved_path.is_some();
        let cwd = (!cwd_changed).then_some(self.cwd.as_path());
        allow
            .match_grant(res.trust_path(), bare, &basename, argv, cwd)
            .or_else(|| allow.match_executable(res.trust_path(), bare, &basename))
    }

    fn satisfaction(&self, idx: usize) -> Satisfaction {
        let e = &self.policy.agent(&self.agent_key).allowlist.entries[idx];
        Satisfaction {
            by: "allowlist".into(),
            pattern: Some(e.pattern.clone()),
            agent: Some(e.agent.clone()),
        }
    }

    fn matched(&self, idx: usize, argv: &[String], res: &Resolution) -> MatchedEntry {
        let e = &self.policy.agent(&self.agent_key).allowlist.entries[idx];
        MatchedEntry {
            agent: e.agent.clone(),
            index: e.index,
            command: format_exec_command(argv),
            resolved_path: res.trust_path().map(|p| p.to_string_lossy().into_owned()),
        }
    }

    /// The grant `allow-always` persists for `argv` resolved as `res` (EA §15): its trust path
    /// bound to this cwd and argv; nothing for interpreters unless strict mode saw no inline eval.
    fn persist_for(&self, res: &Resolution, hit: bool, argv: &[String]) -> Vec<Grant> {
        let Some(tp) = res.trust_path() else {
            return Vec::new();
        };
        if inline_eval::is_interpreter_like(&res.executable_name)
            && (!self.ctx.strict_inline_eval || hit)
        {
            return Vec::new();
        }
        vec![self.grant(tp, argv)]
    }

    fn grant(&self, path: &Path, argv: &[String]) -> Grant {
        Grant {
            pattern: path.to_string_lossy().into_owned(),
            arg_pattern: cwd_argv_arg_pattern(&self.cwd.to_string_lossy(), argv),
        }
    }

    /// Evaluate one segment argv.
    fn segment(
        &self,
        raw: &str,
        argv: &[String],
        in_payload: bool,
        depth: usize,
        cwd_changed: bool,
    ) -> (SegmentReport, SegEval) {
        let (mut rep, ev) = self.segment_eval(raw, argv, in_payload, depth, cwd_changed);
        if !ev.satisfied {
            rep.planned_argv = None;
        } else if rep.planned_argv.is_none() {
            rep.planned_argv = ev.planned_argv.clone();
        }
        (rep, ev)
    }

    fn segment_eval(
        &self,
        raw: &str,
        argv: &[String],
        in_payload: bool,
        depth: usize,
        cwd_changed: bool,
    ) -> (SegmentReport, SegEval) {
        let u: Unwrapped = wrappers::unwrap(argv);
        let mut rep = SegmentReport {
            raw: raw.to_string(),
            argv: argv.to_vec(),
            effective_argv: u.argv.clone(),
            wrappers: u.chain.clone(),
            resolution: None,
            satisfied_by: None,
            blocked: u.blocked.clone(),
            note: None,
            nested: Vec::new(),
            planned_argv: None,
        };
        let mut ev = SegEval::default();
        // Strict mode looks through carriers and nested shells (EA §12, fail closed); otherwise
        // the hit is informational (explain output) and the effective argv suffices.
        let hit = if self.ctx.strict_inline_eval {
            inline_eval::detect_deep(argv)
        } else {
            inline_eval::detect(&u.argv)
        };
        if let Some(h) = hit {
            ev.inline_hits.push(h);
        }
        if u.blocked.is_some() || u.argv.is_empty() {
            return (rep, ev);
        }
        let inner = &u.argv;
        let first = inner[0].as_str();
        if first.trim().is_empty() {
            rep.note = Some("empty executable".into());
            return (rep, ev);
        }
        let name = normalized_name(first);
        let res = self.resolve(first, cwd_changed);
        // `cd` in a payload changes what later relative words name, whatever satisfies it.
        ev.changes_cwd = in_payload && first == "cd";
        // Identity by file: carrier, wrapper, shell and interpreter detection above looked at the
        // token's name. When the resolved file is one of those under another name (`./f ->
        // /usr/bin/find`, a copy of bash called `mysh`), the name-based analysis does not describe
        // what runs: never satisfied, and strict mode sees the inline eval of the real program.
        // Multi-call binaries (busybox, toybox) dispatch on argv[0], so the name stays their
        // identity.
        if let Some(real_name) = identity_by_file(&name, &res) {
            let mut as_file = inner.clone();
            as_file[0] = real_name.clone();
            if let Some(h) = inline_eval::detect_deep(&as_file) {
                ev.inline_hits.push(h);
            }
            rep.note = Some(format!(
                "{first} is {real_name} by file: invoke it by its own name"
            ));
            rep.resolution = Some(res);
            return (rep, ev);
        }
        'tail: {
            let wildcard = self.policy.agent(&self.agent_key).allowlist.wildcard();

            if is_shell_name(&name) {
                match shell_form(inner) {
                    ShellForm::Inline { payload_index } => {
                        rep.resolution = Some(res);
                        return self.nested_shell(
                            rep,
                            ev,
                            argv,
                            &u,
                            payload_index,
                            depth,
                            cwd_changed,
                            wildcard,
                        );
                    }
                    ShellForm::Script { script_index } => {
                        let tok = &inner[script_index];
                        if cwd_changed && !tok.starts_with('/') && !tok.starts_with('~') {
                            rep.note = Some("relative script after cd".into());
                            break 'tail;
                        }
                        let p = exe::absolutize(tok, &self.cwd, self.fs.home().as_deref());
                        let target = self.fs.realpath(&p).unwrap_or(p);
                        let allow = &self.policy.agent(&self.agent_key).allowlist;
                        let mut script_argv = vec![target.to_string_lossy().into_owned()];
                        script_argv.extend(inner[script_index + 1..].iter().cloned());
                        let grant = (!cwd_changed)
                            .then(|| allow.match_script_grant(&target, &script_argv, &self.cwd))
                            .flatten();
                        // Inside a payload the script is a nested shell's commands nobody
                        // analysed: only an entry for the script itself satisfies it, not the
                        // bare `*` (soundness rule).
                        let hit = grant
                            .or_else(|| allow.match_path(&target))
                            .or(wildcard.filter(|_| !in_payload));
                        if let Some(idx) = hit {
                            rep.satisfied_by = Some(self.satisfaction(idx));
                            rep.note = Some(format!("script {}", target.display()));
                            ev.satisfied = true;
                            ev.persist = vec![self.grant(&target, &script_argv)];
                            ev.matched.push(self.matched(idx, inner, &res));
                            let mut planned = inner.clone();
                            if let Some(p) = res.resolved_path.as_ref() {
                                planned[0] = p.to_string_lossy().into_owned();
                            }
                            ev.planned_argv = Some(planned);
                        } else {
                            rep.note =
                                Some(format!("script {} is not allowlisted", target.display()));
                        }
                        break 'tail;
                    }
                    ShellForm::Opaque => {
                        // A POSIX shell with startup files (`bash --rcfile x …`) runs arbitrary
                        // code, so only the bare `*` (which allows any command, EA §8.3, as it
                        // allows `bash -c …`) satisfies it (D25). PowerShell/cmd stay blocked.
                        // Inside a payload (`bash --rcfile ./x -i`) these are a nested shell's
                        // commands nobody analysed, which the bare `*` does not satisfy either
                        // (soundness rule).
                        if is_posix_shell(&name)
                            && !in_payload
                            && let Some(idx) = wildcard
                        {
                            rep.satisfied_by = Some(self.satisfaction(idx));
                            rep.note = Some(format!("{name} invocation allowed by *"));
                            ev.satisfied = true;
                            ev.matched.push(self.matched(idx, inner, &res));
                            let mut planned = inner.clone();
                            if let Some(tp) = res.trust_path() {
                                planned[0] = tp.to_string_lossy().into_owned();
                            }
                            ev.planned_argv = Some(planned);
                            rep.resolution = Some(res);
                            return (rep, ev);
                        }
                        rep.blocked = Some(format!("{name} invocation cannot be analysed"));
                        break 'tail;
                    }
                    ShellForm::Plain if inner.len() > 1 && wildcard.is_none() => {
                        // `sh -s …`, `sh -i`, `sh -`: the shell reads commands we cannot see.
                        // An entry for the shell binary alone never satisfies a shell invoked
                        // with arguments (EA §7.3, D15); only the bare `*` does.
                        rep.note = Some(format!(
                            "{name} reading commands from stdin needs an approval"
                        ));
                        break 'tail;
                    }
                    ShellForm::Plain => {}
                }
            }

            if let Some(idx) = self.match_entry(&res, inner, cwd_changed) {
                rep.satisfied_by = Some(self.satisfaction(idx));
                ev.satisfied = true;
                ev.persist = self.persist_for(&res, !ev.inline_hits.is_empty(), inner);
                ev.matched.push(self.matched(idx, inner, &res));
                let mut planned = inner.clone();
                if let Some(tp) = res.trust_path() {
                    planned[0] = tp.to_string_lossy().into_owned();
                }
                ev.planned_argv = Some(planned);
                break 'tail;
            }
            if self
                .ctx
                .safe_bins
                .is_safe_usage(&res.executable_name, res.trust_path(), &inner[1..])
            {
                rep.satisfied_by = Some(Satisfaction {
                    by: "safeBins".into(),
                    pattern: None,
                    agent: None,
                });
                ev.satisfied = true;
                let mut planned = inner.clone();
                if let Some(tp) = res.trust_path() {
                    planned[0] = tp.to_string_lossy().into_owned();
                }
                let mut text = String::with_capacity(planned.iter().map(|t| t.len() + 3).sum());
                for (i, t) in planned.iter().enumerate() {
                    if i > 0 {
                        text.push(' ');
                    }
                    shell::push_single_quoted(&mut text, t);
                }
                ev.replacement = Some(text);
                ev.persist = self.persist_for(&res, false, inner);
                ev.planned_argv = Some(planned);
                break 'tail;
            }
            if in_payload
                && u.chain.is_empty()
                && (SAFE_BUILTINS.contains(&first)
                    || (first == "[" && inner.last().is_some_and(|l| l == "]")))
            {
                rep.satisfied_by = Some(Satisfaction {
                    by: "safeBuiltins".into(),
                    pattern: None,
                    agent: None,
                });
                ev.satisfied = true;
                break 'tail;
            }
            if self.auto_allow_skills
                && res.bare
                && let Some(real) = res.real_path.as_ref()
                && self.ctx.skills.iter().any(|s| {
                    s.name.to_lowercase() == res.executable_name.to_lowercase()
                        && &s.resolved_path == real
                })
            {
                rep.satisfied_by = Some(Satisfaction {
                    by: "skills".into(),
                    pattern: None,
                    agent: None,
                });
                ev.satisfied = true;
                let mut planned = inner.clone();
                planned[0] = real.to_string_lossy().into_owned();
                ev.planned_argv = Some(planned);
                break 'tail;
            }
        }
        rep.resolution = Some(res);
        (rep, ev)
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one call site; the state is the segment's"
    )]
    fn nested_shell(
        &self,
        mut rep: SegmentReport,
        mut ev: SegEval,
        argv: &[String],
        u: &Unwrapped,
        payload_index: usize,
        depth: usize,
        cwd_changed: bool,
        wildcard: Option<usize>,
    ) -> (SegmentReport, SegEval) {
        let inner = &u.argv;
        let payload = &inner[payload_index];
        rep.planned_argv = Some(argv.to_vec());
        // A nested login shell (`bash -lc …`) runs /etc/profile, which resets PATH: its commands
        // are not looked up where we resolved them (the top-level transport has the PATH
        // carrier; a nested shell has not). Not analysable (soundness rule).
        let login = inner[1..payload_index].iter().any(|f| {
            f == "--login" || (f.starts_with('-') && !f.starts_with("--") && f.contains('l'))
        });
        if login {
            rep.note = Some("nested login shell: its start-up files reset PATH".into());
            return (rep, ev);
        }
        if let Err(why) = soundness::check_shell_options(&inner[1..payload_index]) {
            rep.note = Some(format!("nested shell: {why}"));
            return (rep, ev);
        }
        let analysis = shell::analyze(payload);
        let grammar = Grammar::of_shell(
            rep.resolution.as_ref().and_then(|r| r.real_path.as_deref()),
            &inner[0],
        );
        // Positional carrier: `sh -c '$0 "$1"' /usr/bin/touch /tmp/x`. The positional words are
        // substituted exactly (the values are in the argv), then the resulting argv is decided
        // like any segment: `sh -c '$0 /tmp -exec id \;' find` is `find /tmp -exec id ;`.
        if let Ok(a) = &analysis
            && a.segment_count() == 1
            && let Some(seg) = a.segments().next()
            && seg.shapes.first().is_some_and(|w| {
                matches!(
                    w.positional,
                    Some(Positional::Bare(0) | Positional::Quoted(0))
                )
            })
        {
            match substitute_positionals(seg, &inner[payload_index + 1..], grammar) {
                Ok(carried_argv) => {
                    return self.positional_carrier(
                        rep,
                        ev,
                        &seg.raw,
                        &carried_argv,
                        depth,
                        cwd_changed,
                    );
                }
                Err(why) if wildcard.is_none() => {
                    rep.note = Some(format!("positional carrier: {why}"));
                    return (rep, ev);
                }
                Err(_) => {}
            }
        }
        let analysis = analysis.and_then(|a| {
            if a.has_chain() || wildcard.is_some() {
                soundness::check(&a, grammar).map_err(ShellError::Unsound)?;
            }
            Ok(a)
        });
        if let Some(idx) = wildcard {
            // The bare `*` allows every command the nested shell runs, once we know what they
            // are: its payload must pass the soundness rule and each segment must be satisfied
            // (a blocked carrier such as `find -exec` stays blocked inside `sh -c` too).
            match &analysis {
                Ok(a) if depth + 1 < MAX_NESTED_DEPTH => {
                    let (reports, evals, ok) = self.payload(a, depth + 1, cwd_changed);
                    rep.nested = reports;
                    for e in &evals {
                        ev.inline_hits.extend(e.inline_hits.iter().cloned());
                    }
                    if ok {
                        rep.satisfied_by = Some(self.satisfaction(idx));
                        ev.satisfied = true;
                        ev.matched = evals.iter().flat_map(|e| e.matched.clone()).collect();
                    } else {
                        rep.note = Some("inline shell command not fully satisfied".into());
                    }
                }
                Ok(_) => rep.note = Some("nested shell too deep".into()),
                Err(e) => rep.note = Some(format!("inline shell command: {e}")),
            }
            return (rep, ev);
        }
        match analysis {
            Ok(a) if a.has_chain() && depth + 1 < MAX_NESTED_DEPTH => {
                let (reports, evals, ok) = self.payload(&a, depth + 1, cwd_changed);
                rep.nested = reports;
                for e in &evals {
                    ev.inline_hits.extend(e.inline_hits.iter().cloned());
                }
                if ok {
                    ev.satisfied = true;
                    rep.satisfied_by = Some(Satisfaction {
                        by: "inlineChain".into(),
                        pattern: None,
                        agent: None,
                    });
                    // A nested inline command persists nothing (2026.9.6 on POSIX).
                    ev.persist = Vec::new();
                    ev.matched = evals.iter().flat_map(|e| e.matched.clone()).collect();
                    let repl: Vec<Option<String>> =
                        evals.iter().map(|e| e.replacement.clone()).collect();
                    if repl.iter().any(Option::is_some)
                        && let Some(rebuilt) = shell::rebuild(payload, &a, &repl)
                    {
                        let offset = argv.len() - inner.len();
                        let mut whole: Vec<String> = argv.to_vec();
                        whole[offset + payload_index] = rebuilt;
                        rep.planned_argv = Some(whole.clone());
                        let mut text =
                            String::with_capacity(whole.iter().map(|t| t.len() + 3).sum());
                        for (i, t) in whole.iter().enumerate() {
                            if i > 0 {
                                text.push(' ');
                            }
                            shell::push_single_quoted(&mut text, t);
                        }
                        ev.replacement = Some(text);
                    }
                } else {
                    rep.note = Some("inline chain not fully satisfied".into());
                }
            }
            Ok(a) => {
                for s in a.segments() {
                    if let Some(h) = inline_eval::detect_deep(&s.argv) {
                        ev.inline_hits.push(h);
                    }
                }
                rep.note =
                    Some("inline shell command needs approval (single command or too deep)".into());
            }
            Err(e) => rep.note = Some(format!("inline shell command: {e}")),
        }
        (rep, ev)
    }

    /// A positional carrier whose argv is known: decided as a segment of its own, satisfied only
    /// by an allowlist entry (a safe-bin rewrite cannot be applied to `$0 "$@"`), never when it
    /// names a shell or a dispatch wrapper.
    fn positional_carrier(
        &self,
        mut rep: SegmentReport,
        mut ev: SegEval,
        raw: &str,
        carried_argv: &[String],
        depth: usize,
        cwd_changed: bool,
    ) -> (SegmentReport, SegEval) {
        let carried = &carried_argv[0];
        let cname = normalized_name(carried);
        let carried_unwrapped = wrappers::unwrap(std::slice::from_ref(carried));
        if is_shell_name(&cname) || !carried_unwrapped.chain.is_empty() || is_dispatch_name(&cname)
        {
            rep.note = Some(format!(
                "positional carrier {carried} is a wrapper or shell"
            ));
            return (rep, ev);
        }
        if let Err(why) = soundness::check_builtins(carried_argv) {
            rep.note = Some(format!("positional carrier: {why}"));
            return (rep, ev);
        }
        let (crep, cev) = self.segment(raw, carried_argv, false, depth + 1, cwd_changed);
        ev.inline_hits.extend(cev.inline_hits.iter().cloned());
        let by_allowlist = crep
            .satisfied_by
            .as_ref()
            .is_some_and(|s| s.by == "allowlist");
        rep.resolution = crep.resolution.clone();
        if cev.satisfied && by_allowlist && cev.replacement.is_none() {
            rep.satisfied_by = crep.satisfied_by.clone();
            rep.note = Some(format!("positional carrier {carried}"));
            ev.satisfied = true;
            ev.persist = cev.persist;
            ev.matched = cev.matched;
        } else {
            rep.note = Some(format!("positional carrier {carried} is not allowlisted"));
        }
        rep.nested = vec![crep];
        (rep, ev)
    }

    /// Evaluate every segment of an analysed payload.
    fn payload(
        &self,
        a: &ShellAnalysis,
        depth: usize,
        mut cwd_changed: bool,
    ) -> (Vec<SegmentReport>, Vec<SegEval>, bool) {
        let mut reports = Vec::new();
        let mut evals = Vec::new();
        let mut ok = true;
        let wildcard = self.policy.agent(&self.agent_key).allowlist.wildcard();
        let piped = a
            .parts
            .iter()
            .flat_map(|p| p.segments.iter().enumerate().map(|(i, _)| i > 0));
        for (s, piped) in a.segments().zip(piped) {
            let (mut r, mut e) = self.segment(&s.raw, &s.argv, true, depth, cwd_changed);
            // `python3 <<'EOF'`, `sh <<'EOF'`, `… | sh`: stdin is a program nobody analysed. The
            // bare `*` allows an interpreter's own program; a shell's commands it allows only
            // when they are analysed (soundness rule).
            let stdin_shell = feeds_shell(&r);
            if e.satisfied
                && ((s.heredoc && (wildcard.is_none() || stdin_shell) && feeds_program(&r))
                    || (piped && stdin_shell))
            {
                e.satisfied = false;
                r.satisfied_by = None;
                r.planned_argv = None;
                r.note = Some(if s.heredoc {
                    "heredoc feeds a program to an interpreter or shell".into()
                } else {
                    "pipe feeds a program to an interpreter or shell".into()
                });
            }
            ok &= e.satisfied;
            cwd_changed |= e.changes_cwd;
            reports.push(r);
            evals.push(e);
        }
        (reports, evals, ok)
    }
}

/// Substitute the positional words of a carrier payload segment with the shell's arguments
/// (`params[0]` is `$0`); every other word must satisfy the soundness rule.
fn substitute_positionals(
    seg: &Segment,
    params: &[String],
    grammar: Grammar,
) -> Result<Vec<String>, String> {
    if params.is_empty() {
        return Err("no $0 after the payload".into());
    }
    // An unquoted expansion is field-split and globbed: only a plain value survives unchanged.
    let plain = |v: &str| !v.chars().any(|c| " \t\n*?[\\".contains(c));
    let mut out: Vec<String> = Vec::with_capacity(params.len());
    for (i, (w, shape)) in seg.argv.iter().zip(seg.shapes.iter()).enumerate() {
        match shape.positional {
            Some(Positional::Quoted(n)) => {
                out.push(params.get(n as usize).cloned().unwrap_or_default());
            }
            Some(Positional::Bare(n)) => match params.get(n as usize) {
                None => {}
                Some(v) if v.is_empty() => {}
                Some(v) if plain(v) => out.push(v.clone()),
                Some(v) => return Err(format!("unquoted ${n} = {v:?} is split or globbed")),
            },
            Some(Positional::QuotedAll) => out.extend(params.iter().skip(1).cloned()),
            None => {
                soundness::check_word(shape, grammar, i == 0)
                    .map_err(|why| format!("{why} in word {w:?}"))?;
                out.push(w.clone());
            }
        }
    }
    if out.first().is_none_or(|a| a.trim().is_empty()) {
        return Err("empty carried command".into());
    }
    Ok(out)
}

/// The real program's name when the resolved file is a shell, wrapper, carrier or interpreter
/// that the token's name does not say (symlink or copy under another name).
fn identity_by_file(name: &str, res: &Resolution) -> Option<String> {
    let real = res.real_path.as_ref()?.file_name()?.to_string_lossy();
    let real_name = normalized_name(&real);
    if real_name == name || matches!(real_name.as_str(), "busybox" | "toybox") {
        return None;
    }
    let sensitive = |n: &str| {
        is_shell_name(n)
            || is_dispatch_name(n)
            || inline_eval::is_interpreter_like(n)
            || matches!(
                n,
                "find"
                    | "make"
                    | "gmake"
                    | "su"
                    | "runuser"
                    | "pkexec"
                    | "unshare"
                    | "nsenter"
                    | "chroot"
                    | "script"
            )
    };
    // The same program under a versioned or alternative name (`python3` -> `python3.12`,
    // `awk` -> `mawk`), and a shell that is another shell (`/bin/sh` -> dash or bash: the shell
    // rules apply to both, the grammar follows the realpath), keep their identity.
    let same = inline_eval::same_family(name, &real_name)
        || (is_posix_shell(name) && is_posix_shell(&real_name));
    (sensitive(&real_name) && !same).then_some(real_name)
}

/// The names a segment's program goes by: its word and its resolved file.
fn program_names(r: &SegmentReport) -> Vec<String> {
    let Some(first) = r.effective_argv.first() else {
        return Vec::new();
    };
    let mut names = vec![normalized_name(first)];
    if let Some(real) = r.resolution.as_ref().and_then(|x| x.real_path.as_ref())
        && let Some(n) = real.file_name()
    {
        names.push(normalized_name(&n.to_string_lossy()));
    }
    names
}

/// Does this segment's program come from its stdin (an interpreter or a shell)?
fn feeds_program(r: &SegmentReport) -> bool {
    program_names(r)
        .iter()
        .any(|n| is_shell_name(n) || inline_eval::reads_program_from_stdin(n, &r.effective_argv))
}

/// Is this segment's program a shell that reads its commands from stdin (no `-c`, no script)?
fn feeds_shell(r: &SegmentReport) -> bool {
    program_names(r).iter().any(|n| is_shell_name(n))
        && matches!(
            shell_form(&r.effective_argv),
            ShellForm::Plain | ShellForm::Opaque
        )
}

fn is_dispatch_name(n: &str) -> bool {
    matches!(
        n,
        "env"
            | "nice"
            | "nohup"
            | "stdbuf"
            | "timeout"
            | "time"
            | "flock"
            | "busybox"
            | "toybox"
            | "sudo"
            | "doas"
            | "chrt"
            | "ionice"
            | "setsid"
            | "taskset"
            | "xargs"
    )
}

/// Where the shell payload of a request argv is, if any.
#[derive(Debug, Clone)]
struct Transport {
    /// The unwrapped argv (shell first).
    argv: Vec<String>,
    payload_index: usize,
    /// Offset of `argv` inside the request argv.
    offset: usize,
}

fn find_transport(argv: &[String], u: &Unwrapped) -> Option<Transport> {
    if u.blocked.is_some() {
        return None;
    }
    let first = u.argv.first()?;
    if !is_posix_shell(&normalized_name(first)) {
        return None;
    }
    match shell_form(&u.argv) {
        ShellForm::Inline { payload_index } => Some(Transport {
            argv: u.argv.clone(),
            payload_index,
            offset: argv.len() - u.argv.len(),
        }),
        _ => None,
    }
}

/// Is the transport shell trusted (resolves into `/bin` or `/usr/bin`)?
fn trusted_transport(
    argv: &[String],
    t: &Transport,
    u: &Unwrapped,
    cwd: &Path,
    ctx: &Context<'_>,
    fs: &dyn FsView,
) -> bool {
    let trusted = |tok: &str| {
        let r = exe::resolve(tok, cwd, ctx.node_path, fs);
        r.trust_path()
            .and_then(Path::parent)
            .is_some_and(|d| d == Path::new("/bin") || d == Path::new("/usr/bin"))
    };
    if u.multiplexer.is_some() {
        // The multiplexer binary sits just before the applet (optionally followed by `--`).
        let mut j = t.offset;
        while j > 0 {
            j -= 1;
            let n = normalized_name(&argv[j]);
            if n == "busybox" || n == "toybox" {
                return trusted(&argv[j]);
            }
        }
        return false;
    }
    trusted(&t.argv[0])
}

/// EA §4.2: a non-blank `rawCommand` (trimmed) must equal the canonical command text or the
/// shell preview (trimmed payload, only without env-modifying wrappers and positional args).
fn check_raw_command(
    req: &RunRequest,
    command_text: &str,
    u0: &Unwrapped,
    transport: Option<&Transport>,
) -> Result<(), Value> {
    let Some(raw) = req
        .raw_command
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
    else {
        return Ok(());
    };
    let preview = transport.and_then(|t| {
        let positional = t.argv[t.payload_index + 1..]
            .iter()
            .any(|a| !a.trim().is_empty());
        (!u0.env_modifying && !positional).then(|| t.argv[t.payload_index].trim().to_string())
    });
    if raw == command_text || preview.as_deref() == Some(raw) {
        return Ok(());
    }
    Err(serde_json::json!({
        "code": "RAW_COMMAND_MISMATCH",
        "rawCommand": raw,
        "inferred": command_text,
        "formattedArgv": command_text,
    }))
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
        d.persist_patterns = grants.iter().map(|g| g.pattern.clone()).collect();
        d.persist_patterns.dedup();
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

/// allow-always grants for a segment that was not otherwise satisfied (EA §15, 2026.9.6 on
/// POSIX): the trust path of the inner executable bound to its argv and cwd (interpreters only in
/// strict mode), a shell script's path bound to its arguments; nothing for blocked wrappers,
/// nested shells with an inline command or positional carriers (2026.9.6 persists those only on
/// Windows, or not in a form this host can match: the next run asks again).
fn derive_persist(ev: &Eval<'_>, r: &SegmentReport, e: &SegEval) -> Vec<Grant> {
    if !r.nested.is_empty() {
        return Vec::new();
    }
    let inner = &r.effective_argv;
    if inner.is_empty() {
        return Vec::new();
    }
    let name = normalized_name(&inner[0]);
    if is_shell_name(&name) {
        match shell_form(inner) {
            ShellForm::Script { script_index } => {
                let p = exe::absolutize(&inner[script_index], &ev.cwd, ev.fs.home().as_deref());
                let t = ev.fs.realpath(&p).unwrap_or(p);
                let mut script_argv = vec![t.to_string_lossy().into_owned()];
                script_argv.extend(inner[script_index + 1..].iter().cloned());
                return vec![ev.grant(&t, &script_argv)];
            }
            ShellForm::Inline { .. } | ShellForm::Opaque => return Vec::new(),
            _ => {}
        }
    }
    match r.resolution.as_ref() {
        Some(res) => ev.persist_for(res, !e.inline_hits.is_empty(), inner),
        None => Vec::new(),
    }
}

/// The `=node-command:` marker of a command text (2026.9.6 `buildNodeCommandApprovalPattern`):
/// the gateway reads it from this node's approvals to skip its own prompt for the same command.
pub fn node_command_marker(command_text: &str) -> String {
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(command_text.as_bytes());
    format!("=node-command:{}", &hex::encode(h)[..16])
}

/// argv exactly `<sh|bash|dash|zsh> -l…c <payload>`.
pub fn is_login_shell_carrier(argv: &[String]) -> bool {
    if argv.len() != 3 {
        return false;
    }
    let name = normalized_name(&argv[0]);
    if !matches!(name.as_str(), "sh" | "bash" | "dash" | "zsh") {
        return false;
    }
    let f = argv[1].as_str();
    f.starts_with("-l") && f.ends_with('c') && f[1..].chars().all(|c| c.is_ascii_alphabetic())
}

/// `system.run.prepare` (EA §9): build the approval plan `{plan: {...}}`.
pub fn prepare(
    req: &RunRequest,
    _requested: &Requested,
    node_path: &str,
    fs: &dyn FsView,
) -> Result<Value, String> {
    let command_text = format_exec_command(&req.argv);
    let u0 = wrappers::unwrap(&req.argv);
    let transport = find_transport(&req.argv, &u0);
    let payload = transport.as_ref().map(|t| t.argv[t.payload_index].clone());
    if check_raw_command(req, &command_text, &u0, transport.as_ref()).is_err() {
        return Err("rawCommand does not match command".into());
    }
    env::check_assignments(&u0.env_assignment_keys)?;
    env::check_overrides(&req.env)?;
    let cwd = match &req.cwd {
        Some(c) => Some(plan::canonical_cwd(Path::new(c), fs)?),
        None => None,
    };
    let base_cwd = cwd.clone().unwrap_or_else(|| fs.cwd());
    let mut argv = req.argv.clone();
    if u0.chain.is_empty() && transport.is_none() {
        let r = exe::resolve(&argv[0], &base_cwd, node_path, fs);
        match r.trust_path() {
            Some(p) => argv[0] = p.to_string_lossy().into_owned(),
            None => {
                return Err("SYSTEM_RUN_DENIED: approval requires a stable executable path".into());
            }
        }
    }
    let plan_text = format_exec_command(&argv);
    let preview = payload
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty() && *p != plan_text);
    let operand = match plan::operand_index(&argv, transport.is_some())? {
        Some(i) => Some(plan::snapshot_operand(&argv, i, &base_cwd, fs)?),
        None => None,
    };
    let mut plan = serde_json::json!({
        "argv": argv,
        "cwd": cwd.map(|c| c.to_string_lossy().into_owned()),
        "commandText": plan_text,
        "commandPreview": preview,
        "agentId": req.agent_id,
        "sessionKey": req.session_key,
    });
    if let (Some(op), Value::Object(o)) = (operand, &mut plan) {
        o.insert("mutableFileOperand".into(), op.to_value());
    }
    Ok(serde_json::json!({ "plan": plan }))
}
