//! EA §18: every advisory / hardening change pinned as a named regression test.

use crate::support::policy::*;
use openclaw_node::policy::analysis::shell::{ShellError, analyze};
use openclaw_node::policy::decide::{Outcome, prepare};
use openclaw_node::policy::plan::RunRequest;
use serde_json::json;

/// See: openclaw/openclaw issue #8682.
#[test]
fn advisory_issue_8682_approved_flag_alone_does_not_bypass() {
    let w = world("allowlist", "off").al(&[]);
    let mut r = argv(&["/usr/bin/id"]);
    r.approved = true;
    let d = w.decide(&r);
    assert_eq!(d.outcome, Outcome::Invalid);
    assert_eq!(
        d.message,
        "explicit approval requires matching systemRunPlan"
    );
    let mut r = argv(&["/usr/bin/id"]);
    r.approval_decision = openclaw_node::policy::types::ApprovalDecision::parse("allow-always");
    assert_eq!(w.outcome(&r), "invalid");
    // A malformed plan is reported as such.
    let mut r = argv(&["/usr/bin/id"]);
    r.approved = true;
    r.plan = Some(json!({"argv": "nope"}));
    assert_eq!(w.decide(&r).message, "systemRunPlan invalid");
    // Unknown decisions are treated as absent: a normal miss.
    let p = openclaw_node::policy::plan::decode(
        &json!({"command": ["/usr/bin/id"], "approvalDecision": "allow-forever"}),
    )
    .unwrap();
    assert_eq!(w.outcome(&p), "miss");
}

/// GHSA-xvhf-x56f-2hpp / CVE-2026-28463.
#[test]
fn advisory_cve_2026_28463_safe_bin_argv_literalised() {
    let w = world("allowlist", "off").al(&[]);
    let d = w.decide(&sh("head -c 16"));
    assert!(
        d.exec_argv[2].ends_with("'/usr/bin/head' '-c' '16'"),
        "{:?}",
        d.exec_argv
    );
    for p in [
        "head *",
        "head -n $N",
        "head ~/x",
        "head -c ${HOME}",
        "tail -n [0-9]",
    ] {
        assert_eq!(w.outcome(&sh(p)), "miss", "{p}");
    }
}

/// CVE-2026-28460: backslash-newline line continuation.
#[test]
fn advisory_cve_2026_28460_backslash_newline() {
    for p in [
        "echo a\\\nb",
        "echo a\\\r\nb",
        "echo a\\\rb",
        "rg x | he\\\nad",
        "echo 'x\\\ny'",
    ] {
        assert_eq!(
            analyze(p).unwrap_err(),
            ShellError::LineContinuation,
            "{p:?}"
        );
    }
    let w = world("allowlist", "off").al(&["/usr/bin/echo"]);
    assert_eq!(w.outcome(&sh("echo ok\\\n; id")), "miss");
}

/// CVE-2026-28363: GNU long-option abbreviations.
#[test]
fn advisory_cve_2026_28363_long_option_abbreviations() {
    let w = world("allowlist", "off").al(&[]).safe_bin("sort");
    for p in [
        "sort --compress-prog=sh",
        "sort --compress=sh",
        "sort --files0=x",
        "sort --out=/tmp/x",
        "sort --f=1",
        "sort --nonexistent",
        "wc --files0-fro=x",
        "wc --files=x",
    ] {
        assert_eq!(w.outcome(&sh(p)), "miss", "{p}");
    }
    // A unique abbreviation of a profile flag is accepted (sort has only value flags).
    assert_eq!(w.outcome(&sh("sort --buf=1M")), "allow");
}

/// GHSA-796m-2973-wc5q: semantic dispatch wrappers.
#[test]
fn advisory_ghsa_796m_2973_wc5q_semantic_wrappers() {
    let w = world("allowlist", "off").al(&["/usr/bin/id", "/usr/bin/env"]);
    for a in [
        vec!["env", "-S", "id"],
        vec!["env", "FOO=1", "id"],
        vec!["env", "-i", "id"],
        vec!["env", "-u", "HOME", "id"],
        vec!["env", "-C", "/tmp", "id"],
        vec!["env", "--", "-i", "id"],
    ] {
        assert_eq!(w.outcome(&argv(&a)), "miss", "{a:?}");
    }
    // Executed argv == analysed argv.
    let d = w.decide(&argv(&["env", "id", "-u"]));
    assert_eq!(d.exec_argv, vec!["/usr/bin/id", "-u"]);
    assert_eq!(d.segments[0].effective_argv, vec!["id", "-u"]);
}

/// CVE-2026-32065: trailing-space argv0.
#[test]
fn advisory_cve_2026_32065_trailing_space_argv0() {
    let mut r = argv(&["rg ", "-n"]);
    r.raw_command = Some("rg -n".into());
    assert_eq!(world("full", "off").outcome(&r), "invalid");
    // Without rawCommand the exact token is resolved: it is not `rg`.
    let w = world("allowlist", "off").al(&["/usr/bin/rg"]);
    assert_eq!(w.outcome(&argv(&["rg ", "-n"])), "miss");
    let mut r = argv(&["rg ", "-n"]);
    r.raw_command = Some("\"rg \" -n".into());
    assert_eq!(w.outcome(&r), "miss");
}

/// GHSA-hjvp-qhm6-wrh2: approvals bind argv, cwd, agent and session.
#[test]
fn advisory_ghsa_hjvp_qhm6_wrh2_plan_binding() {
    let w = world("allowlist", "on-miss").al(&[]);
    let base = plan_for(&["/usr/bin/id"], Some("/home/u"));
    let ok = {
        let mut r = bind(&argv(&["/usr/bin/id"]), base.clone(), "allow-once");
        r.cwd = Some("/home/u".into());
        r
    };
    assert_eq!(w.outcome(&ok), "allow");
    let mut r = ok.clone();
    r.cwd = Some("/tmp".into());
    assert_eq!(w.outcome(&r), "invalid", "cwd");
    let mut r = ok.clone();
    r.agent_id = Some("ops".into());
    assert_eq!(w.outcome(&r), "invalid", "agent");
    let mut p = base.clone();
    p["sessionKey"] = json!("s1");
    let mut r = bind(&argv(&["/usr/bin/id"]), p, "allow-once");
    r.cwd = Some("/home/u".into());
    r.session_key = Some("s2".into());
    assert_eq!(w.outcome(&r), "invalid", "session");
    let mut p = base;
    p["commandText"] = json!("id");
    let mut r = bind(&argv(&["/usr/bin/id"]), p, "allow-once");
    r.cwd = Some("/home/u".into());
    assert_eq!(w.outcome(&r), "invalid", "commandText");
}

/// 2026-03-11: fail closed on unbound interpreter approvals.
#[test]
fn advisory_2026_03_11_fail_closed_interpreter_approvals() {
    let mut w = world("allowlist", "on-miss");
    w.fs.add_exe("/usr/bin/npx");
    for a in [
        vec!["python3", "-m", "http.server"],
        vec!["node", "-r", "x", "y.js"],
        vec!["npx", "cowsay"],
        vec!["python3"],
    ] {
        let err = prepare(&argv(&a), &w.requested, PATH, &w.fs).unwrap_err();
        assert_eq!(
            err, "SYSTEM_RUN_DENIED: approval cannot safely bind this interpreter/runtime command",
            "{a:?}"
        );
    }
    let err = prepare(&argv(&["python3", "missing.py"]), &w.requested, PATH, &w.fs).unwrap_err();
    assert_eq!(
        err,
        "SYSTEM_RUN_DENIED: approval requires an existing script operand"
    );
}

/// PR #43798 / GHSA-f8r2-vg7x-gh8m.
#[test]
fn advisory_ghsa_f8r2_vg7x_gh8m_case_and_question_mark() {
    assert_eq!(
        world("allowlist", "off")
            .al(&["/USR/BIN/RG"])
            .outcome(&argv(&["rg"])),
        "miss"
    );
    assert_eq!(
        world("allowlist", "off")
            .al(&["/usr/bin?rg"])
            .outcome(&argv(&["rg"])),
        "miss"
    );
    assert_eq!(
        world("allowlist", "off")
            .al(&["/usr/bin/?g"])
            .outcome(&argv(&["rg"])),
        "allow"
    );
    assert_eq!(
        world("allowlist", "off")
            .al(&["/usr/bin/Rg"])
            .outcome(&argv(&["rg"])),
        "miss"
    );
}

/// CVE-2026-41380: allow-always persists inner executables, never wrappers.
#[test]
fn advisory_cve_2026_41380_allow_always_inner_executable() {
    let w = world("allowlist", "on-miss").al(&[]);
    let always = |a: &[&str]| {
        let r = bind(&argv(a), plan_for(a, None), "allow-always");
        w.decide(&r)
    };
    let d = always(&["nice", "-n", "5", "/usr/bin/id"]);
    assert_eq!(d.outcome, Outcome::Allow, "{}", d.message);
    assert_eq!(d.persist_patterns, vec!["/usr/bin/id"]);
    let d = always(&["sudo", "/usr/bin/id"]);
    assert!(d.persist_patterns.is_empty(), "{:?}", d.persist_patterns);
    let d = always(&["env", "FOO=1", "/usr/bin/id"]);
    assert!(d.persist_patterns.is_empty());
    let d = always(&["/bin/sh", "-lc", "id && rg x"]);
    assert_eq!(d.persist_patterns, vec!["/usr/bin/id", "/usr/bin/rg"]);
    assert!(!d.persist_patterns.iter().any(|p| p.ends_with("/sh")));
    // A nested shell's inline command persists nothing (2026.9.6 on POSIX): it asks again.
    let d = always(&["/bin/sh", "-lc", "sh -c 'id'"]);
    assert!(d.persist_patterns.is_empty(), "{:?}", d.persist_patterns);
}

/// GHSA-65rx-fvh6-r4h2 / CVE-2026-44115.
#[test]
fn advisory_ghsa_65rx_fvh6_r4h2_unquoted_heredoc() {
    for body in [
        "$(id)",
        "`id`",
        "${HOME}",
        "$HOME",
        "$?",
        "$$",
        "$1",
        "$@",
        "x $(id) y",
    ] {
        let p = format!("/usr/bin/cat <<EOF\n{body}\nEOF");
        assert_eq!(
            analyze(&p).unwrap_err(),
            ShellError::HeredocExpansion,
            "{p:?}"
        );
        let q = format!("/usr/bin/cat <<'EOF'\n{body}\nEOF");
        assert!(analyze(&q).is_ok(), "{q:?}");
    }
    assert!(analyze("/usr/bin/cat <<EOF\nprice \\$5\nEOF").is_ok());
    assert!(analyze("/usr/bin/cat <<-EOF\n\tplain\n\tEOF").is_ok());
    // Text after the heredoc body is another command line: rejected.
    assert!(analyze("/usr/bin/cat <<'EOF'\nx\nEOF\nid").is_err());
}

/// PR #21733: safe-bin trust dirs are never derived from PATH.
#[test]
fn advisory_pr_21733_safe_bin_dirs_not_from_path() {
    let mut w = world("allowlist", "off").al(&[]);
    w.fs.add_exe("/home/u/bin/head");
    w.path = "/home/u/bin:/usr/bin:/bin".into();
    assert_eq!(w.outcome(&sh("head -n 1")), "miss");
    let cfg = openclaw_node::policy::safe_bins::SafeBinConfig::new(
        None,
        None,
        Some(&json!([
            "/usr/local/bin",
            "/home/u/bin",
            "relative",
            "/opt/trusted"
        ])),
    );
    assert!(
        !cfg.trusted_dirs
            .iter()
            .any(|d| d.starts_with("/usr/local/bin"))
    );
    assert!(!cfg.trusted_dirs.iter().any(|d| d.starts_with("/home")));
    assert!(
        cfg.trusted_dirs
            .iter()
            .any(|d| d == std::path::Path::new("/opt/trusted"))
    );
}

/// #71315: bare-name patterns match only PATH-invoked basenames.
#[test]
fn advisory_71315_bare_names_only_for_path_tokens() {
    let mut w = world("allowlist", "off").al(&["rg"]);
    w.fs.add_exe("/home/u/rg");
    assert_eq!(w.outcome(&argv(&["rg"])), "allow");
    assert_eq!(w.outcome(&argv(&["./rg"])), "miss");
    assert_eq!(w.outcome(&argv(&["/home/u/rg"])), "miss");
    assert_eq!(w.outcome(&argv(&["/usr/bin/rg"])), "miss");
}

/// PR #62401: `/bin/sh -lc` is a transparent transport; `cmd.exe /c` is not.
#[test]
fn advisory_pr_62401_sh_lc_transport_transparent() {
    let w = world("allowlist", "off").al(&["/usr/bin/rg"]);
    let d = w.decide(&sh("rg x"));
    assert!(d.transport);
    assert_eq!(d.outcome, Outcome::Allow);
    assert_eq!(w.outcome(&argv(&["bash", "-c", "rg x"])), "allow");
    assert_eq!(
        w.outcome(&argv(&["env", "/bin/sh", "-lc", "rg x"])),
        "allow"
    );
    let mut w2 = world("allowlist", "off").al(&["/usr/bin/cmd.exe", "*"]);
    w2.fs.add_exe("/usr/bin/cmd.exe");
    assert_eq!(
        w2.outcome(&RunRequest::argv(&["cmd.exe", "/d", "/s", "/c", "rg x"])),
        "miss"
    );
}

/// Found by the `shell_analysis` fuzz target: a segment's raw text was trimmed of all Unicode
/// whitespace while the lexer only splits on space/tab, so a verbatim rebuild dropped a leading
/// form feed from argv0 (the executed text differed from the analysed one).
#[test]
fn regression_fuzz_rebuild_keeps_non_separator_whitespace() {
    use openclaw_node::policy::analysis::shell::rebuild;
    let p = "\u{c}rg x";
    let a = analyze(p).unwrap();
    let rebuilt = rebuild(p, &a, &[None]).unwrap();
    let b = analyze(&rebuilt).unwrap();
    assert_eq!(
        a.segments().next().unwrap().argv,
        b.segments().next().unwrap().argv
    );
    assert_eq!(a.segments().next().unwrap().argv[0], "\u{c}rg");
}

/// Found by the `glob_vs_oracle` fuzz target: globset treats a final `..` component specially;
/// targets are normalised before matching, so `/usr/bin/x/..` is matched as `/usr/bin`.
#[test]
fn regression_fuzz_dot_components_are_normalised_before_matching() {
    use openclaw_node::policy::matcher::{CompiledAllowlist, EntrySource};
    let c = CompiledAllowlist::compile(&[EntrySource::plain("/usr/*")], None);
    assert!(
        c.match_path(std::path::Path::new("/usr/bin/x/.."))
            .is_some()
    );
    assert!(c.match_path(std::path::Path::new("/usr/./bin")).is_some());
    assert!(
        c.match_path(std::path::Path::new("/usr/bin/x/../.."))
            .is_none()
    );
}

/// Found by the `shell_analysis` fuzz target: trimming a segment's raw text cut an escaped
/// trailing space (`a\ `), so the verbatim rebuild ended in a lone backslash.
#[test]
fn regression_fuzz_rebuild_keeps_escaped_trailing_space() {
    use openclaw_node::policy::analysis::shell::rebuild;
    for p in ["rg a\\ ", "rg a\\  | head", "rg 'x '  && id\\ "] {
        let a = analyze(p).unwrap();
        let none = vec![None; a.segment_count()];
        let rebuilt = rebuild(p, &a, &none).unwrap();
        let b = analyze(&rebuilt).unwrap_or_else(|e| panic!("{p:?} -> {rebuilt:?}: {e}"));
        let av: Vec<_> = a.segments().map(|s| s.argv.clone()).collect();
        let bv: Vec<_> = b.segments().map(|s| s.argv.clone()).collect();
        assert_eq!(av, bv, "{p:?}");
    }
}

/// Found by the `shell_analysis` fuzz target: a heredoc operator followed by a comment at the end
/// of the payload was accepted although its body never started.
#[test]
fn regression_fuzz_heredoc_then_comment_is_unterminated() {
    assert_eq!(
        analyze("cat <<EOF # no body").unwrap_err(),
        ShellError::UnterminatedHeredoc
    );
    assert!(analyze("cat <<EOF # c\nbody\nEOF").is_ok());
}

/// DIFFERENCES.md D28 (anchors §2.4 lesson 8): an allowlisted `find` or `xargs` must not allow
/// the command it carries. `find -exec` is policy-blocked, so it misses even when `find` is
/// allowlisted; plain `find` still matches its entry.
#[test]
fn regression_d28_find_exec_and_xargs_are_command_carriers() {
    let mut w = world("allowlist", "off").al(&["/usr/bin/find", "/usr/bin/xargs"]);
    w.fs.add_exe("/usr/bin/find");
    w.fs.add_exe("/usr/bin/xargs");
    assert_eq!(w.outcome(&sh("find . -name x")), "allow");
    for p in [
        "find . -exec id \\;",
        "find . -execdir id {} +",
        "find / -ok rm {} \\;",
        "xargs",
        "echo x | xargs",
        "echo x | xargs id",
    ] {
        assert_eq!(w.outcome(&sh(p)), "miss", "{p}");
    }
    assert_eq!(
        w.outcome(&argv(&["/usr/bin/find", ".", "-exec", "id", ";"])),
        "miss"
    );
}

/// Differential D15 (DIFFERENCES.md): `/bin/sh -s ./script.sh` reads its commands from stdin; an
/// entry for the shell binary alone never satisfies a shell invoked with arguments (EA §7.3), so
/// it must not be allowed (official 2026.9.6 misses too). The bare `*` still allows it, and a
/// bare `/bin/sh` (no arguments) is still satisfied by the shell entry.
#[test]
fn differential_d15_shell_stdin_flag_with_allowlisted_shell() {
    let mut w = world("allowlist", "off").al(&["/bin/sh"]);
    w.fs.add_file("/home/u/script.sh", b"id\n", true);
    for a in [
        &["/bin/sh", "-s", "./script.sh"][..],
        &["/bin/sh", "-s"],
        &["/bin/sh", "-"],
        &["/bin/sh", "-i"],
    ] {
        assert_eq!(w.outcome(&argv(a)), "miss", "{a:?}");
    }
    assert_eq!(w.outcome(&argv(&["/bin/sh"])), "allow");
    let star = world("allowlist", "off").al(&["*"]);
    assert_eq!(
        star.outcome(&argv(&["/bin/sh", "-s", "./script.sh"])),
        "allow"
    );
}

/// Differential D25: `bash --rcfile x ./script.sh` — startup files disqualify the script form
/// (EA §7.3), but the bare `*` allows every command (EA §8.3, as it allows `bash -c …`). A
/// `bash` entry alone still does not satisfy it, nor does a script entry.
#[test]
fn differential_d25_bare_star_allows_shell_with_startup_options() {
    let star = world("allowlist", "off").al(&["*"]);
    let r = argv(&["bash", "--rcfile", "x", "./script.sh"]);
    let d = star.decide(&r);
    assert_eq!(d.outcome, Outcome::Allow, "{}", d.message);
    assert_eq!(d.exec_argv[0], "/bin/bash");
    for al in [&["/bin/bash"][..], &["/home/u/script.sh"]] {
        assert_eq!(
            world("allowlist", "off").al(al).outcome(&r),
            "miss",
            "{al:?}"
        );
    }
}

/// Differential D21: strictInlineEval detects inline eval behind a blocked `env NAME=value`
/// wrapper, behind other carriers (sudo, leading assignments, `env -S`), and in a shell payload
/// the analyser rejects (EA §12: detection on the effective argv; strict mode requires an
/// approval even in full/off).
#[test]
fn differential_d21_strict_inline_eval_behind_env_assignment() {
    let w = world("full", "off").strict();
    for a in [
        &["env", "FOO=bar", "python3", "-c", "print(1)"][..],
        &["env", "-i", "FOO=1", "node", "-e", "1"],
        &["env", "-S", "python3 -c 1"],
        &["sudo", "-u", "root", "awk", "1", "data.txt"],
        &["nice", "-n", "1", "python3", "-c", "1"],
    ] {
        let d = w.decide(&argv(a));
        assert_eq!(d.outcome, Outcome::Ask, "{a:?}: {}", d.message);
        assert!(d.message.contains("strictInlineEval"), "{}", d.message);
    }
    for p in [
        "; ( node -e '1' ) | cat\nid & x",
        "FOO=1 python3 -c 1",
        "echo \"$(python3 -c 1)\"",
        "sh -xc 'env -i python3 -c 1'",
        // Seed 2026 case 5789: a substitution is also a word of the enclosing command.
        "xargs `id` 1 || ./script.sh",
    ] {
        assert_eq!(w.outcome(&sh(p)), "ask", "{p:?}");
    }
    // Without an inline-eval form the same shapes are not flagged.
    assert_eq!(w.outcome(&argv(&["env", "FOO=bar", "rg", "x"])), "allow");
    assert_eq!(w.outcome(&sh("; ( rg x ) | cat")), "allow");
}

/// Differential D22: sed/awk without a program operand (`sed`, `sed -`, `sed -n`, `awk`) and
/// xargs without a command (`xargs -n 1`) are not inline eval (EA §12: sed `-e` or a positional
/// program), so strict mode does not ask for them.
#[test]
fn differential_d22_sed_without_program_is_not_inline_eval() {
    let w = world("full", "off").strict();
    for a in [
        &["sed"][..],
        &["sed", "-"],
        &["sed", "-n"],
        &["sed", "-f", "x.sed"],
        &["awk"],
        &["xargs", "-n", "1"],
    ] {
        assert_eq!(w.outcome(&argv(a)), "allow", "{a:?}");
    }
    for a in [&["sed", "s/a/b/"][..], &["sed", "-e", "p"], &["awk", "1"]] {
        assert_eq!(w.outcome(&argv(a)), "ask", "{a:?}");
    }
}

/// Differential D23: strict denial takes precedence over an allowlist miss (EA §12): a miss that
/// contains inline eval (here behind `sudo`) is reported as approval-required.
#[test]
fn differential_d23_strict_inline_eval_precedes_allowlist_miss() {
    let w = world("allowlist", "off").al(&["/usr/bin/echo"]).strict();
    let d = w.decide(&sh("sudo 'awk' 1 data.txt"));
    assert_eq!(d.outcome, Outcome::Ask, "{}", d.message);
    assert_eq!(d.reason, "approval-required");
    assert!(d.message.contains("awk inline program"), "{}", d.message);
    // Without strict mode it is a plain miss.
    let w = world("allowlist", "off").al(&["/usr/bin/echo"]);
    assert_eq!(w.outcome(&sh("sudo 'awk' 1 data.txt")), "miss");
}

/// Differential open case (seed 2026, `sort -r | head --lin=5`): the opt-in `sort` profile has no
/// boolean flags (EA §10.3 lists none; official 2026.9.6 has no allowedBooleanFlags for sort),
/// so `sort -r` is not a safe-bin usage; value flags still are, and `head --lin=5` (unique GNU
/// abbreviation of `--lines`) stays safe.
#[test]
fn differential_sort_safe_bin_has_no_boolean_flags() {
    let w = world("allowlist", "off").al(&[]).safe_bin("sort");
    for p in [
        "sort -r",
        "sort -n",
        "sort --reverse",
        "sort -r | head --lin=5",
    ] {
        assert_eq!(w.outcome(&sh(p)), "miss", "{p}");
    }
    for p in ["sort", "sort -S 1M", "sort -k 2", "sort | head --lin=5"] {
        assert_eq!(w.outcome(&sh(p)), "allow", "{p}");
    }
}
