//! Rendering a [`Decision`] for humans and as the `policy explain --json` object:
//! `{"decision", "reason", "message", "effective": {"security", "ask", "securitySource",
//! "askSource"}, "segments": [...], "execArgv": [...]}`.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::decide::{Decision, Outcome, SegmentReport};

/// The §19 outcome word: `allow`, `ask`, `miss`, `off`, `invalid`. Other denials map to `ask`
/// when they need an approval and to `miss` otherwise.
pub fn outcome_word(d: &Decision) -> &'static str {
    match d.outcome {
        Outcome::Denied if d.reason == "approval-required" => "ask",
        Outcome::Denied => "miss",
        o => o.as_str(),
    }
}

fn segment_value(s: &SegmentReport) -> Value {
    let res = s.resolution.as_ref();
    json!({
        "raw": s.raw,
        "argv": s.argv,
        "effectiveArgv": s.effective_argv,
        "wrappers": s.wrappers,
        "resolvedPath": res.and_then(|r| r.resolved_path.as_ref()).map(|p| p.to_string_lossy()),
        "realPath": res.and_then(|r| r.real_path.as_ref()).map(|p| p.to_string_lossy()),
        "satisfiedBy": s.satisfied_by.as_ref().map(|x| x.by.clone()),
        "pattern": s.satisfied_by.as_ref().and_then(|x| x.pattern.clone()),
        "blocked": s.blocked,
        "note": s.note,
        "nested": s.nested.iter().map(segment_value).collect::<Vec<_>>(),
    })
}

/// The JSON object of `policy explain --json`.
pub fn to_json(d: &Decision) -> Value {
    let effective = match &d.effective {
        Some(e) => json!({
            "security": e.security,
            "ask": e.ask,
            "securitySource": e.security_source,
            "askSource": e.ask_source,
        }),
        None => Value::Null,
    };
    json!({
        "decision": outcome_word(d),
        "reason": d.reason,
        "message": d.message,
        "effective": effective,
        "segments": d.segments.iter().map(segment_value).collect::<Vec<_>>(),
        "execArgv": d.exec_argv,
    })
}

fn human_segment(out: &mut String, s: &SegmentReport, indent: usize) {
    let pad = " ".repeat(indent);
    let _ = writeln!(out, "{pad}- {}", s.raw);
    if !s.wrappers.is_empty() {
        let _ = writeln!(out, "{pad}    wrappers: {}", s.wrappers.join(" → "));
    }
    if let Some(r) = &s.resolution {
        match (&r.resolved_path, &r.real_path) {
            (Some(p), Some(real)) if p != real => {
                let _ = writeln!(
                    out,
                    "{pad}    executable: {} → {}",
                    p.display(),
                    real.display()
                );
            }
            (Some(p), _) => {
                let _ = writeln!(out, "{pad}    executable: {}", p.display());
            }
            (None, _) => {
                let _ = writeln!(out, "{pad}    executable: {} (not found)", r.raw);
            }
        }
    }
    match (&s.satisfied_by, &s.blocked) {
        (Some(x), _) => {
            let pat = x
                .pattern
                .as_deref()
                .map(|p| format!(" ({p})"))
                .unwrap_or_default();
            let _ = writeln!(out, "{pad}    satisfied by: {}{pat}", x.by);
        }
        (None, Some(b)) => {
            let _ = writeln!(out, "{pad}    blocked: {b}");
        }
        (None, None) => {
            let _ = writeln!(out, "{pad}    not satisfied");
        }
    }
    if let Some(n) = &s.note {
        let _ = writeln!(out, "{pad}    note: {n}");
    }
    for n in &s.nested {
        human_segment(out, n, indent + 4);
    }
}

/// A short human explanation.
pub fn to_human(d: &Decision) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "decision: {} ({})",
        outcome_word(d).to_uppercase(),
        d.reason
    );
    let _ = writeln!(out, "message:  {}", d.message);
    let _ = writeln!(out, "command:  {}", d.command_text);
    if let Some(e) = &d.effective {
        let _ = writeln!(
            out,
            "policy:   security={} (from {}), ask={} (from {}), agent {}",
            e.security, e.security_source, e.ask, e.ask_source, d.agent_id
        );
    }
    if let Some(p) = &d.shell_payload {
        let how = if d.transport {
            "analysed as a shell transport"
        } else {
            "not analysed (untrusted shell)"
        };
        let _ = writeln!(out, "payload:  {p:?} ({how})");
    }
    if let Some(e) = &d.analysis_error {
        let _ = writeln!(out, "analysis: failed: {e}");
    }
    if let Some(i) = &d.inline_eval {
        let _ = writeln!(out, "inline eval: {i}");
    }
    if !d.segments.is_empty() {
        let _ = writeln!(out, "segments:");
        for s in &d.segments {
            human_segment(&mut out, s, 2);
        }
    }
    if !d.exec_argv.is_empty() {
        let _ = writeln!(out, "would execute: {:?}", d.exec_argv);
        for n in &d.exec_notes {
            let _ = writeln!(out, "  ({n})");
        }
    }
    if !d.persist_patterns.is_empty() {
        let _ = writeln!(
            out,
            "allow-always would persist: {}",
            d.persist_patterns.join(", ")
        );
    }
    out
}
