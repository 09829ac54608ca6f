//! The phases of [`super::decide`], in order: **validate** the request, **resolve** the
//! effective policy and cwd, **analyse** the command, reach the **verdict**, build the
//! **exec plan** (and the child environment), derive what an `allow-always` **persists**, and
//! **allow**. Each phase either fills in the [`Decision`] or settles it ([`Settled`]).

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::*;

/// What validation established about the request.
pub(super) struct Validated {
    /// The request argv with transparent dispatch wrappers unwrapped.
    u0: wrappers::Unwrapped,
    /// The shell transport (`sh -c X`) the argv is, if any (trusted or not).
    transport: Option<Transport>,
    /// The run carries an explicit approval (allow-once / allow-always).
    pub(super) approval: bool,
    /// The approval's bound plan (with an approval only).
    plan: Option<plan::Plan>,
    /// The env overrides the run may apply (reduced for a shell wrapper).
    pub(super) overrides: BTreeMap<String, String>,
}

/// What the analysis found.
pub(super) struct Analysed {
    /// The transport, when it is trusted and its payload was analysed.
    trusted: Option<Transport>,
    /// One evaluation per analysed segment.
    pub(super) evals: Vec<SegEval>,
    /// The payload's analysis (trusted transport only).
    payload: Option<ShellAnalysis>,
    /// The first inline-eval hit (EA §12).
    inline_hit: Option<InlineEvalHit>,
}

/// What to execute: argv, cwd, and (from [`child_env`]) the environment.
pub(super) struct ExecPlanned {
    argv: Vec<String>,
    cwd: Option<PathBuf>,
    env: Vec<(String, String)>,
}

/// Validate: argv present, rawCommand consistent with the command (§4.2), the approval's plan
/// binding (§9), env assignments and overrides (§4.3).
pub(super) fn validate(d: &mut Decision, req: &RunRequest) -> Result<Validated, Settled> {
    if req.argv.is_empty() {
        return Err(d.invalid("command required".into(), None));
    }
    let command_text = d.command_text.clone();
    let u0 = wrappers::unwrap(&req.argv);
    let transport = find_transport(&req.argv, &u0);
    if let Some(t) = &transport {
        d.shell_payload = Some(t.argv[t.payload_index].clone());
    }
    if let Err(details) = check_raw_command(req, &command_text, &u0, transport.as_ref()) {
        return Err(d.invalid("rawCommand does not match command".into(), Some(details)));
    }
    let approval = req.approval_requested();
    let plan = if approval {
        match plan::check_plan_binding(req, &command_text) {
            Ok(p) => Some(p),
            Err(m) => return Err(d.invalid(m, None)),
        }
    } else {
        None
    };
    if let Err(m) = env::check_assignments(&u0.env_assignment_keys) {
        return Err(d.invalid(m, None));
    }
    if let Err(m) = env::check_overrides(&req.env) {
        return Err(d.invalid(m, None));
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
    Ok(Validated {
        u0,
        transport,
        approval,
        plan,
        overrides,
    })
}

/// Resolve: the effective policy (§3) and the run's cwd.
pub(super) fn resolve(
    d: &mut Decision,
    policy: &CompiledPolicy,
    req: &RunRequest,
    ctx: &Context<'_>,
    fs: &dyn FsView,
    agent_id: &str,
) -> (Effective, PathBuf) {
    let host = resolve::host_policy(&policy.file, agent_id, &ctx.requested);
    let eff = resolve::combine(&ctx.requested, &host);
    d.requested = Some(ctx.requested.clone());
    d.host = Some(host);
    d.effective = Some(eff.clone());
    let home = fs.home();
    let cwd = match &req.cwd {
        Some(c) => exe::absolutize(c, &fs.cwd(), home.as_deref()),
        None => fs.cwd(),
    };
    (eff, cwd)
}

/// Analyse (§5–§11): a trusted transport's payload segment by segment, else the argv as one
/// segment.
pub(super) fn analyse(
    d: &mut Decision,
    ev: &Eval<'_>,
    req: &RunRequest,
    v: &Validated,
) -> Analysed {
    let (ctx, fs, cwd) = (ev.ctx, ev.fs, &ev.cwd);
    let command_text = d.command_text.clone();
    let trusted = v
        .transport
        .as_ref()
        .filter(|t| trusted_transport(&req.argv, t, &v.u0, cwd, ctx, fs))
        .cloned();
    let mut evals: Vec<SegEval> = Vec::new();
    let mut payload: Option<ShellAnalysis> = None;
    if let Some(t) = &trusted {
        d.transport = true;
        let grammar = if v.u0.multiplexer.is_some() {
            Grammar::Bash
        } else {
            let r = exe::resolve(&t.argv[0], cwd, ctx.node_path, fs);
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
                payload = Some(a);
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
    Analysed {
        trusted,
        evals,
        payload,
        inline_hit,
    }
}

/// Verdict (§3.3, §12 strict inline eval): deny, ask or miss, or go on; an allowlist run's cwd
/// must exist (2026.9.6 `captureApprovedCwdSnapshotSync`).
pub(super) fn verdict(
    d: &mut Decision,
    ev: &Eval<'_>,
    eff: &Effective,
    approval: bool,
    an: &Analysed,
) -> Result<(), Settled> {
    if eff.security == Security::Deny {
        return Err(d.deny(
            Outcome::Off,
            "security=deny",
            "SYSTEM_RUN_DISABLED: security=deny".into(),
        ));
    }
    if ev.ctx.strict_inline_eval
        && !approval
        && let Some(h) = &an.inline_hit
    {
        return Err(d.deny(
            Outcome::Ask,
            "approval-required",
            format!(
                "SYSTEM_RUN_DENIED: approval required ({} requires explicit approval in strictInlineEval mode)",
                h.describe()
            ),
        ));
    }
    let miss = !d.analysis_ok || !d.allowlist_satisfied;
    let requires_ask = eff.ask == Ask::Always
        || (eff.ask == Ask::OnMiss && eff.security == Security::Allowlist && miss);
    if requires_ask && !approval {
        return Err(d.deny(
            Outcome::Ask,
            "approval-required",
            "SYSTEM_RUN_DENIED: approval required".into(),
        ));
    }
    if eff.security == Security::Allowlist && miss && !approval {
        return Err(d.deny(
            Outcome::Miss,
            "allowlist-miss",
            "SYSTEM_RUN_DENIED: allowlist miss".into(),
        ));
    }
    // A cwd that does not exist (or is not a directory) is refused before spawn, not left to
    // chdir.
    if eff.security == Security::Allowlist && !approval {
        let fs = ev.fs;
        let abs = exe::absolutize(&ev.cwd.to_string_lossy(), &fs.cwd(), fs.home().as_deref());
        if fs
            .stat(&abs)
            .is_none_or(|st| st.kind != super::super::fsview::Kind::Dir)
        {
            return Err(d.deny(
                Outcome::Ask,
                "approval-required",
                "SYSTEM_RUN_DENIED: approval requires an existing canonical cwd".into(),
            ));
        }
    }
    Ok(())
}

/// Exec plan (§6/§9/§10.4): with an approval, the canonical cwd, argv0 pinned and the script
/// operand binding re-checked; under an allowlist, the payload literalised (safe bins, inline
/// chains) or argv0 pinned to the resolved executable.
pub(super) fn exec_plan(
    d: &mut Decision,
    ev: &Eval<'_>,
    req: &RunRequest,
    v: &Validated,
    an: &mut Analysed,
    eff: &Effective,
) -> Result<ExecPlanned, Settled> {
    let (ctx, fs, cwd) = (ev.ctx, ev.fs, &ev.cwd);
    let mut exec_argv = req.argv.clone();
    let mut exec_cwd = req.cwd.as_ref().map(|_| cwd.clone());
    if v.approval {
        let canonical = match plan::canonical_cwd(cwd, fs) {
            Ok(c) => c,
            Err(m) => return Err(d.deny(Outcome::Denied, "approval-required", m)),
        };
        exec_cwd = Some(canonical.clone());
        let pin = v.u0.chain.is_empty() && v.transport.is_none();
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
                    return Err(d.deny(
                        Outcome::Denied,
                        "approval-required",
                        "SYSTEM_RUN_DENIED: approval requires a stable executable path".into(),
                    ));
                }
            }
        }
        // Mutable script operand binding.
        let needed = plan::operand_index(&req.argv, v.transport.is_some());
        let bound = v.plan.as_ref().and_then(|p| p.mutable_operand.clone());
        match (needed, bound) {
            (Err(m), _) => return Err(d.deny(Outcome::Denied, "approval-required", m)),
            (Ok(Some(_)), None) => {
                return Err(d.deny(
                    Outcome::Denied,
                    "approval-required",
                    "SYSTEM_RUN_DENIED: approval missing script operand binding".into(),
                ));
            }
            (Ok(_), Some(b)) => {
                match plan::snapshot_operand(&req.argv, b.argv_index, &canonical, fs) {
                    Ok(now) if now.path == b.path && now.sha256 == b.sha256 => {}
                    _ => {
                        return Err(d.deny(
                            Outcome::Denied,
                            "approval-required",
                            "SYSTEM_RUN_DENIED: approval script operand changed before execution"
                                .into(),
                        ));
                    }
                }
            }
            (Ok(None), None) => {}
        }
    } else if eff.security == Security::Allowlist {
        if let (Some(t), Some(a)) = (an.trusted.as_ref(), an.payload.as_ref()) {
            let repl: Vec<Option<String>> =
                an.evals.iter_mut().map(|e| e.replacement.take()).collect();
            let mut shell_argv = t.argv.clone();
            if repl.iter().any(Option::is_some) {
                match shell::rebuild(&t.argv[t.payload_index], a, &repl) {
                    Some(rebuilt) => {
                        d.exec_notes
                            .push("payload literalised (safe bins / inline chains)".into());
                        shell_argv[t.payload_index] = rebuilt;
                    }
                    None => {
                        return Err(d.deny(
                            Outcome::Denied,
                            "execution-plan-miss",
                            "SYSTEM_RUN_DENIED: execution plan mismatch".into(),
                        ));
                    }
                }
            }
            if t.offset > 0 {
                d.exec_notes
                    .push("transparent dispatch wrappers dropped".into());
            }
            exec_argv = shell_argv;
        } else if let Some(planned) = an.evals.first_mut().and_then(|e| e.planned_argv.take()) {
            if planned != req.argv {
                d.exec_notes
                    .push("argv0 pinned to the resolved executable".into());
            }
            exec_argv = planned;
        }
    }
    Ok(ExecPlanned {
        argv: exec_argv,
        cwd: exec_cwd,
        env: Vec::new(),
    })
}

/// The child environment, with the login-shell PATH carrier (node-host-surface §7.3); a run
/// that needs screen recording is denied here, before anything is persisted.
pub(super) fn child_env(
    d: &mut Decision,
    ctx: &Context<'_>,
    plan: &mut ExecPlanned,
    overrides: &BTreeMap<String, String>,
    req: &RunRequest,
) -> Result<(), Settled> {
    let exec_argv = &mut plan.argv;
    let carrier = is_login_shell_carrier(exec_argv);
    if carrier {
        exec_argv[2] = format!("{}{}", env::PATH_CARRIER_PREFIX, exec_argv[2]);
        d.exec_notes
            .push("login-shell PATH carrier: payload prefixed to restore the node PATH".into());
    }
    let mut child_env = env::build_child_env(ctx.inherited_env, ctx.node_path, overrides);
    if carrier {
        child_env.retain(|(k, _)| k != env::PATH_CARRIER);
        child_env.push((env::PATH_CARRIER.into(), ctx.node_path.to_string()));
    }
    if req.needs_screen_recording {
        return Err(d.deny(
            Outcome::Denied,
            "permission:screenRecording",
            "PERMISSION_MISSING: screenRecording".into(),
        ));
    }
    plan.env = child_env;
    Ok(())
}

/// Persistence (§15): an `allow-always` approval (never with ask=always) grants every
/// segment's executable, cwd-bound, as 2026.9.6 derives them per segment.
pub(super) fn persistence(
    d: &mut Decision,
    ev: &Eval<'_>,
    req: &RunRequest,
    eff: &Effective,
    approval: bool,
    evals: &[SegEval],
) {
    if !(approval
        && req.approval_decision == Some(ApprovalDecision::AllowAlways)
        && eff.ask != Ask::Always)
    {
        return;
    }
    let mut grants: Vec<Grant> = Vec::new();
    // Every segment's grant (a satisfied one's, or — for the reason an approval was needed — an
    // unsatisfied one's executable).
    let mut represented = 0usize;
    for (r, e) in d.segments.iter().zip(evals.iter()) {
        let own = if e.satisfied {
            e.persist.clone()
        } else if r.blocked.is_some() {
            Vec::new()
        } else {
            derive_persist(ev, r, e)
        };
        if !own.is_empty() {
            represented += 1;
        }
        for g in own {
            if !grants.contains(&g) {
                grants.push(g);
            }
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

/// Allow: the matched entries (for `lastUsed*`), the plan and the message.
pub(super) fn allow(
    d: &mut Decision,
    eff: &Effective,
    approval: bool,
    evals: &mut [SegEval],
    plan: ExecPlanned,
) {
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
    d.exec_argv = plan.argv;
    d.cwd = plan.cwd;
    d.env = plan.env;
}
