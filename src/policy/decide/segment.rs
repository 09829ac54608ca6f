//! Evaluating the segments of a request: one argv (wrappers unwrapped, resolved, identity by
//! file, shells, scripts, carriers), a nested shell's payload, a positional carrier, and the
//! allow-always grants a segment persists (EA §7, §8, §10–§12, §15).

use std::path::{Path, PathBuf};

use crate::policy::analysis::shell::{self, Positional, Segment, ShellAnalysis, ShellError};
use crate::policy::analysis::soundness::{self, Grammar};
use crate::policy::analysis::wrappers::{self, Unwrapped};
use crate::policy::analysis::{
    ShellForm, format_exec_command, is_posix_shell, is_shell_name, normalized_name, shell_form,
};
use crate::policy::compiled::CompiledPolicy;
use crate::policy::exe::{self, Resolution};
use crate::policy::fsview::FsView;
use crate::policy::inline_eval::{self, InlineEvalHit};
use crate::policy::matcher::cwd_argv_arg_pattern;

/// Maximum nesting depth for inline shell chains (EA §7.3).
use super::*;

/// Result of evaluating one segment.
#[derive(Debug, Default)]
pub(super) struct SegEval {
    pub(super) satisfied: bool,
    /// Replacement text for payload rebuilding (safe bins / inline chains).
    pub(super) replacement: Option<String>,
    /// argv to execute in argv mode when allowed by the allowlist (pinned, unwrapped).
    pub(super) planned_argv: Option<Vec<String>>,
    pub(super) persist: Vec<Grant>,
    pub(super) matched: Vec<MatchedEntry>,
    pub(super) inline_hits: Vec<InlineEvalHit>,
    pub(super) changes_cwd: bool,
}

pub(super) const SAFE_BUILTINS: &[&str] = &[":", "cd", "false", "pwd", "test", "true"];

pub(super) struct Eval<'a> {
    pub(super) policy: &'a CompiledPolicy,
    pub(super) agent_key: String,
    pub(super) ctx: &'a Context<'a>,
    pub(super) fs: &'a dyn FsView,
    pub(super) cwd: PathBuf,
    pub(super) auto_allow_skills: bool,
}

impl Eval<'_> {
    pub(super) fn resolve(&self, token: &str, cwd_changed: bool) -> Resolution {
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
    pub(super) fn match_entry(
        &self,
        res: &Resolution,
        argv: &[String],
        cwd_changed: bool,
    ) -> Option<usize> {
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

    pub(super) fn satisfaction(&self, idx: usize) -> Satisfaction {
        let e = &self.policy.agent(&self.agent_key).allowlist.entries[idx];
        Satisfaction {
            by: "allowlist".into(),
            pattern: Some(e.pattern.clone()),
            agent: Some(e.agent.clone()),
        }
    }

    pub(super) fn matched(&self, idx: usize, argv: &[String], res: &Resolution) -> MatchedEntry {
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
    pub(super) fn persist_for(&self, res: &Resolution, hit: bool, argv: &[String]) -> Vec<Grant> {
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

    pub(super) fn grant(&self, path: &Path, argv: &[String]) -> Grant {
        Grant {
            pattern: path.to_string_lossy().into_owned(),
            arg_pattern: cwd_argv_arg_pattern(&self.cwd.to_string_lossy(), argv),
        }
    }

    /// Evaluate one segment argv.
    pub(super) fn segment(
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

    pub(super) fn segment_eval(
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
    pub(super) fn nested_shell(
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
    pub(super) fn positional_carrier(
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
    pub(super) fn payload(
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
pub(super) fn substitute_positionals(
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
pub(super) fn identity_by_file(name: &str, res: &Resolution) -> Option<String> {
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
pub(super) fn program_names(r: &SegmentReport) -> Vec<String> {
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
pub(super) fn feeds_program(r: &SegmentReport) -> bool {
    program_names(r)
        .iter()
        .any(|n| is_shell_name(n) || inline_eval::reads_program_from_stdin(n, &r.effective_argv))
}

/// Is this segment's program a shell that reads its commands from stdin (no `-c`, no script)?
pub(super) fn feeds_shell(r: &SegmentReport) -> bool {
    program_names(r).iter().any(|n| is_shell_name(n))
        && matches!(
            shell_form(&r.effective_argv),
            ShellForm::Plain | ShellForm::Opaque
        )
}

pub(super) fn is_dispatch_name(n: &str) -> bool {
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

/// allow-always grants for a segment that was not otherwise satisfied (EA §15, 2026.9.6 on
/// POSIX): the trust path of the inner executable bound to its argv and cwd (interpreters only in
/// strict mode), a shell script's path bound to its arguments; nothing for blocked wrappers,
/// nested shells with an inline command or positional carriers (2026.9.6 persists those only on
/// Windows, or not in a form this host can match: the next run asks again).
pub(super) fn derive_persist(ev: &Eval<'_>, r: &SegmentReport, e: &SegEval) -> Vec<Grant> {
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
