//! "What runs is exactly what was analysed": hostile `system.run` params get a clear answer,
//! and a shell payload is allowlist-satisfied only when the analysis determines the argv the
//! shell will execute (DIFFERENCES.md, "Soundness rule"). One named test per pinned case.

use openclaw_node::policy::{PolicyEngine, PolicyPaths, RunDecision, plan};
use serde_json::{Value, json};

fn decode_timeout(t: Value) -> Result<Option<u64>, String> {
    plan::decode(&json!({"command": ["/usr/bin/sleep", "5"], "timeoutMs": t})).map(|r| r.timeout_ms)
}

#[test]
fn timeout_ms_null_means_absent() {
    assert_eq!(decode_timeout(Value::Null), Ok(None));
    let r = plan::decode(&json!({"command": ["/usr/bin/sleep", "5"]})).unwrap();
    assert_eq!(r.timeout_ms, None);
}

#[test]
fn timeout_ms_positive_number_is_kept_and_fractions_round_up() {
    assert_eq!(decode_timeout(json!(100)), Ok(Some(100)));
    assert_eq!(decode_timeout(json!(0.5)), Ok(Some(1)));
    assert_eq!(decode_timeout(json!(99.2)), Ok(Some(100)));
}

#[test]
fn timeout_ms_zero_is_invalid_request() {
    let e = decode_timeout(json!(0)).unwrap_err();
    assert!(e.contains("timeoutMs must be a positive number"), "{e}");
    assert!(decode_timeout(json!(0.0)).is_err());
}

#[test]
fn timeout_ms_negative_is_invalid_request() {
    for t in [json!(-1), json!(-0.5), json!(i64::MIN)] {
        let e = decode_timeout(t.clone()).unwrap_err();
        assert!(
            e.contains("timeoutMs must be a positive number"),
            "{t}: {e}"
        );
    }
}

#[test]
fn timeout_ms_non_number_is_invalid_request() {
    for (t, kind) in [
        (json!("x"), "a string"),
        (json!("100"), "a string"),
        (json!({}), "an object"),
        (json!([100]), "an array"),
        (json!(true), "a boolean"),
    ] {
        let e = decode_timeout(t.clone()).unwrap_err();
        assert!(
            e.contains("timeoutMs must be a positive number"),
            "{t}: {e}"
        );
        assert!(e.contains(kind), "{t}: {e}");
    }
}

#[test]
fn timeout_ms_invalid_reaches_the_caller_as_invalid_request() {
    // Through the node's whole pipeline: full/off would run anything, so only the params decide.
    let dir = tempfile::tempdir().unwrap();
    let engine = PolicyEngine::new(
        PolicyPaths {
            approvals: dir.path().join("exec-approvals.json"),
            state_dir: dir.path().to_path_buf(),
        },
        crate::support::policy::PATH.into(),
    )
    .with_config(json!({"tools": {"exec": {"security": "full", "ask": "off"}}}))
    .with_legacy_approvals(None);
    for t in [json!(0), json!(-5), json!("x"), json!({})] {
        match engine.evaluate_run(&json!({"command": ["/usr/bin/true"], "timeoutMs": t})) {
            RunDecision::Invalid { message, .. } => {
                assert!(
                    message.starts_with("timeoutMs must be a positive number"),
                    "{message}"
                )
            }
            other => panic!("{t}: expected INVALID_REQUEST, got {other:?}"),
        }
    }
    assert!(matches!(
        engine.evaluate_run(&json!({"command": ["/usr/bin/true"], "timeoutMs": null})),
        RunDecision::Allowed { .. }
    ));
}

// ---- Item 1: the soundness rule ----

use crate::support::policy::{World, argv, sh, world};
use openclaw_node::policy::analysis::shell::analyze;
use openclaw_node::policy::analysis::soundness::{self, Grammar};

/// A world with `find`, `uname`, `printf`, `test` installed, `/bin/sh` a real bash binary
/// (Fedora/RHEL/Arch layout) and the given allowlist.
fn w(al: &[&str]) -> World {
    let mut w = world("allowlist", "off").al(al);
    for b in ["find", "uname", "printf", "test", "ls", "dash"] {
        w.fs.add_exe(&format!("/usr/bin/{b}"));
    }
    w
}

/// The same with `/bin/sh -> /usr/bin/dash` (Debian/Ubuntu layout).
fn w_dash(al: &[&str]) -> World {
    let mut w = w(al);
    w.fs.remove("/bin/sh");
    w.fs.add_symlink("/bin/sh", "/usr/bin/dash");
    w
}

fn dash_and_bash(al: &[&str]) -> [World; 2] {
    [w_dash(al), w(al)]
}

#[test]
fn soundness_find_default_expansion_exec_is_a_miss() {
    for w in dash_and_bash(&["/usr/bin/find"]) {
        assert_eq!(w.outcome(&sh("find /tmp -maxdepth 0 -print")), "allow");
        assert_eq!(w.outcome(&sh("find /tmp -maxdepth 0 -exec id \\;")), "miss");
        let d = w.decide(&sh("find /tmp -maxdepth 0 ${X:--exec} id \\;"));
        assert_eq!(explain_word(&d), "miss");
        assert!(
            d.analysis_error
                .as_deref()
                .is_some_and(|e| e.contains("expansion")),
            "{:?}",
            d.analysis_error
        );
        // Every spelling of an expansion, unquoted or double-quoted.
        for p in [
            "find /tmp $X",
            "find /tmp \"$X\"",
            "find /tmp \"${X}\"",
            "find /tmp $((1+2))",
            "find /tmp \"pre$X\"",
            "find /tmp $1",
            "find /tmp \"$@\"",
            "find /tmp $*",
            "find /tmp $#",
            "find /tmp $$",
            "find /tmp $?",
            "find /tmp $[1]",
        ] {
            assert_eq!(w.outcome(&sh(p)), "miss", "{p}");
        }
        // A `$` that expands nothing stays literal.
        for p in [
            "find /tmp -name 'a$X'",
            "find /tmp -name a$",
            "find /tmp -name \"a$\"",
        ] {
            assert_eq!(w.outcome(&sh(p)), "allow", "{p}");
        }
    }
}

fn explain_word(d: &openclaw_node::policy::decide::Decision) -> &'static str {
    openclaw_node::policy::explain::outcome_word(d)
}

#[test]
fn soundness_bash_indirect_expansion_subscript_is_a_miss() {
    // The read-only preset: only uname. The nested bash payload assigns a value whose subscript
    // runs a command substitution when `${!X}` is evaluated.
    let w = w(&["/usr/bin/uname"]);
    assert_eq!(w.outcome(&sh("bash -c 'uname -a; uname -r'")), "allow");
    let p = "bash -c \": \\${X:='a[\\$(cmd)]'}; uname \\${!X}\"";
    assert_eq!(w.outcome(&sh(p)), "miss");
    assert_eq!(w.outcome(&sh(": ${X:='a[$(id)]'}; uname ${!X}")), "miss");
    assert_eq!(w.outcome(&sh("uname $[X]")), "miss");
    assert_eq!(w.outcome(&sh("uname ${a[X]}")), "miss");
}

#[test]
fn soundness_test_v_subscript_with_empty_allowlist_is_a_miss() {
    let w = w(&[]);
    // Plain safe builtins are satisfied, as in 2026.9.6 (`allowShellBuiltins` on the shell path).
    assert_eq!(w.outcome(&sh("true; [ -f /etc/passwd ]")), "allow");
    assert_eq!(
        w.outcome(&sh("bash -c \"true; [ -v 'a[\\$(cmd)]' ]\"")),
        "miss"
    );
    for p in [
        "true; [ -v 'a[$(id)]' ]",
        "[ -v x ]",
        "test -v 'a[$(id)]'",
        "test ! -v x",
        "[ -R x ]",
        "test 'a[1]' = x",
        "[[ -f x ]]",
    ] {
        assert_eq!(w.outcome(&sh(p)), "miss", "{p}");
    }
    // Allowlisting /usr/bin/test does not help: the shell runs its builtin.
    let w2 = self::w(&["/usr/bin/test", "/usr/bin/printf"]);
    assert_eq!(w2.outcome(&sh("test -v 'a[$(id)]'")), "miss");
    assert_eq!(w2.outcome(&sh("printf -v 'a[$(id)]' x")), "miss");
    assert_eq!(w2.outcome(&sh("printf %s 'a[$(id)]'")), "miss");
    assert_eq!(w2.outcome(&sh("printf '%s\\n' x")), "allow");
    // An absolute path is never the builtin.
    assert_eq!(w2.outcome(&sh("/usr/bin/test -v x")), "allow");
}

#[test]
fn soundness_evaluating_builtins_fail_analysis() {
    let w = w(&["*"]);
    for p in [
        "eval id",
        "source ./x",
        ". ./x",
        "trap id EXIT",
        "alias ls=id; ls",
        "exec id",
        "enable -f x y",
        "builtin eval id",
        "command -p id",
        "let 'a[$(id)]'",
        "declare 'a[$(id)]=1'",
        "typeset x",
        "local x",
        "read -a x",
        "read PATH",
        "export PATH=.",
        "unset PATH",
        "PATH=/tmp uname",
        "hash -p /tmp/x uname; uname",
        "mapfile -C id x",
        "pushd /tmp",
        "set -k",
        "set -o posix",
        "wait -p 'a[$(id)]'",
    ] {
        let d = w.decide(&sh(p));
        assert_eq!(explain_word(&d), "miss", "{p}");
        assert!(!d.analysis_ok, "{p}: must fail analysis");
    }
    // Harmless set forms pass the rule (`set` is still not a safe builtin: a miss, as before).
    for p in [
        "set -euo pipefail; uname",
        "set -x && uname",
        "set +e; uname",
        "set -o noglob",
    ] {
        let a = analyze(p).unwrap();
        assert!(soundness::check(&a, Grammar::Bash).is_ok(), "{p}");
    }
    for p in ["set -k", "set -o posix", "set -- a", "set -ok"] {
        let a = analyze(p).unwrap();
        assert!(soundness::check(&a, Grammar::Bash).is_err(), "{p}");
    }
}

#[test]
fn soundness_glob_exec_option_is_a_miss() {
    for w in dash_and_bash(&["/usr/bin/find", "/usr/bin/ls"]) {
        assert_eq!(
            w.outcome(&sh("find /tmp -fprint ./-exec; find /tmp -exe[c] id \\;")),
            "miss"
        );
        for p in [
            "find /tmp -exe? id",
            "find /tmp -ex* id",
            "ls *.txt",
            "ls ?x",
            "ls [ab]x",
        ] {
            assert_eq!(w.outcome(&sh(p)), "miss", "{p}");
        }
        // A glob in a word that starts with a literal other than `-` cannot become an option.
        for p in [
            "ls src/*.rs",
            "ls ./*",
            "ls /tmp/[ab]*",
            "ls ~/x/*",
            "ls 'a'*",
        ] {
            assert_eq!(w.outcome(&sh(p)), "allow", "{p}");
        }
        // An escaped or quoted `-` is still a `-`.
        assert_eq!(w.outcome(&sh("ls \\-x*")), "miss");
        assert_eq!(w.outcome(&sh("ls '-'x*")), "miss");
        // Never as the command name.
        assert_eq!(w.outcome(&sh("/usr/bin/l? /tmp")), "miss");
        assert_eq!(w.outcome(&sh("/usr/bin/[l]s /tmp")), "miss");
        // Quoted globs are literal; a lone `[` is not a bracket expression.
        assert_eq!(w.outcome(&sh("ls '*.txt' \"-x*\" [")), "allow");
    }
}

#[test]
fn soundness_brace_expansion_under_bash_is_a_miss() {
    let p = "find /tmp {-exec,id,\\;}";
    assert_eq!(w(&["/usr/bin/find"]).outcome(&sh(p)), "miss");
    assert_eq!(w(&["/usr/bin/find"]).outcome(&sh("ls {a..c}")), "miss");
    assert_eq!(w(&["/usr/bin/ls"]).outcome(&sh("ls {a..c}")), "miss");
    // Nested bash payload under a dash /bin/sh: the nested shell's grammar decides.
    let wd = w_dash(&["/usr/bin/find", "/usr/bin/uname"]);
    assert_eq!(
        wd.outcome(&sh("bash -c 'uname; find /tmp {-exec,id,\\;}'")),
        "miss"
    );
    // dash does no brace expansion: the word is literal there.
    assert_eq!(w_dash(&["/usr/bin/ls"]).outcome(&sh("ls {a,b}")), "allow");
    assert_eq!(
        w_dash(&["/usr/bin/ls"]).outcome(&sh("ls '{a,b}' {}")),
        "allow"
    );
    assert_eq!(w(&["/usr/bin/ls"]).outcome(&sh("ls '{a,b}' {}")), "allow");
}

#[test]
fn soundness_ansi_c_quoting_is_a_miss() {
    for w in dash_and_bash(&["/usr/bin/find", "/usr/bin/uname"]) {
        assert_eq!(w.outcome(&sh("find /tmp $'\\x2dexec' id \\;")), "miss");
        assert_eq!(
            w.outcome(&sh(
                "bash -c \"uname; find /tmp \\$'\\\\x2dexec' id \\\\;\""
            )),
            "miss"
        );
        assert_eq!(w.outcome(&sh("find /tmp $\"-exec\" id")), "miss");
    }
}

policy_case!(
    soundness_positional_zero_with_literal_exec_is_a_miss,
    w(&["/usr/bin/find"]),
    sh("sh -c '$0 /tmp -print' find") => "allow",
    sh("sh -c '$0 /tmp -exec id \\;' find") => "miss",
);

#[test]
fn soundness_positional_all_carrier_is_decided_on_the_carried_argv() {
    let w = w(&["/usr/bin/find", "/usr/bin/touch"]);
    assert_eq!(
        w.outcome(&sh("sh -c '$0 \"$@\"' find /tmp -print")),
        "allow"
    );
    assert_eq!(
        w.outcome(&sh("sh -c '$0 \"$@\"' find /tmp -exec id \\;")),
        "miss"
    );
    assert_eq!(
        w.outcome(&sh("sh -c '\"$0\" \"$1\" \"$2\"' find /tmp -delete")),
        "allow"
    );
    assert_eq!(
        w.outcome(&sh("sh -c '$0 /tmp $1 id \\;' find -exec")),
        "miss"
    );
    assert_eq!(w.outcome(&sh("sh -c '$0 /tmp \"$1\"' find -exec")), "miss");
    // Unquoted positionals are split and globbed: only plain values are substituted.
    assert_eq!(w.outcome(&sh("sh -c '$0 $1' touch /tmp/m")), "allow");
    assert_eq!(w.outcome(&sh("sh -c '$0 $1' touch '/tmp/a -exec'")), "miss");
    assert_eq!(w.outcome(&sh("sh -c '$0 $1' touch '-exe[c]'")), "miss");
    // The carried command runs as a builtin when it names one.
    let w2 = self::w(&["/usr/bin/test"]);
    assert_eq!(
        w2.outcome(&sh("bash -c '$0 \"$@\"' test -v 'a[$(id)]'")),
        "miss"
    );
    // `$0` alone at the top level (no preview) stays a miss, as EA §19 case 88b says.
    let top = argv(&["/bin/sh", "-lc", "$0 \"$1\"", "/usr/bin/touch", "/tmp/m"]);
    assert_eq!(w.outcome(&top), "miss");
}

#[test]
fn soundness_positional_in_nested_chain_is_a_miss() {
    let w = w(&["/usr/bin/find", "/usr/bin/uname"]);
    assert_eq!(
        w.outcome(&sh("sh -c 'uname; find /tmp $1 id \\;' _ -exec")),
        "miss"
    );
}

#[test]
fn soundness_heredoc_to_interpreter_or_shell_is_a_miss() {
    let w = w(&[
        "/usr/bin/python3",
        "/bin/sh",
        "/usr/bin/cat",
        "/usr/bin/node",
    ]);
    assert_eq!(w.outcome(&sh("python3 <<'EOF'\nimport os\nEOF")), "miss");
    assert_eq!(w.outcome(&sh("node <<'EOF'\nrequire('x')\nEOF")), "miss");
    assert_eq!(w.outcome(&sh("sh <<'EOF'\nid\nEOF")), "miss");
    assert_eq!(w.outcome(&sh("/bin/sh <<'EOF'\nid\nEOF")), "miss");
    // The same program without a heredoc is satisfied by its entry.
    assert_eq!(w.outcome(&sh("sh")), "allow");
    // A quoted heredoc to a program that is neither stays allowed (D05).
    assert_eq!(w.outcome(&sh("cat <<'EOF'\n$(id)\nEOF")), "allow");
    // awk reads its program from the heredoc only with `-f -`.
    let w2 = self::w(&["/usr/bin/awk"]);
    assert_eq!(
        w2.outcome(&sh("awk -f - <<'EOF'\nBEGIN{system(\"id\")}\nEOF")),
        "miss"
    );
    assert_eq!(w2.outcome(&sh("awk 1 <<'EOF'\ndata\nEOF")), "allow");
}

policy_case!(
    soundness_tilde_forms,
    w(&["/usr/bin/ls"]),
    sh("ls ~/x ~") => "allow",
    sh("ls ~root") => "miss",
    sh("ls ~+") => "miss",
    sh("ls '~root'") => "allow",
);

#[test]
fn soundness_grammar_follows_the_realpath_of_the_shell() {
    use std::path::Path;
    assert_eq!(
        Grammar::of_shell(Some(Path::new("/usr/bin/dash")), "sh"),
        Grammar::Posix
    );
    assert_eq!(
        Grammar::of_shell(Some(Path::new("/usr/bin/bash")), "sh"),
        Grammar::Bash
    );
    assert_eq!(
        Grammar::of_shell(Some(Path::new("/bin/busybox")), "sh"),
        Grammar::Bash
    );
    assert_eq!(Grammar::of_shell(None, "dash"), Grammar::Posix);
    assert_eq!(Grammar::of_shell(None, "zsh"), Grammar::Bash);
    let a = analyze("ls {a,b}").unwrap();
    assert!(soundness::check(&a, Grammar::Posix).is_ok());
    assert!(soundness::check(&a, Grammar::Bash).is_err());
}

#[test]
fn soundness_compound_commands_fail_analysis() {
    let w = w(&["*"]);
    for p in [
        "{ uname; }",
        "if true; then uname; fi",
        "! uname",
        "while true; do uname; done",
        "for x in a; do uname; done",
    ] {
        let d = w.decide(&sh(p));
        assert_eq!(explain_word(&d), "miss", "{p}");
        assert!(!d.analysis_ok, "{p}");
    }
}

#[test]
fn soundness_bare_star_nested_shell_is_decided_on_its_segments() {
    let w = w(&["*"]);
    assert_eq!(w.outcome(&sh("sh -c 'uname -a'")), "allow");
    assert_eq!(w.outcome(&sh("sh -c 'uname; id'")), "allow");
    // What `*` does not satisfy at the top level it does not satisfy inside `sh -c` either.
    assert_eq!(w.outcome(&sh("find /tmp -exec id \\;")), "miss");
    assert_eq!(w.outcome(&sh("sh -c 'find /tmp -exec id \\;'")), "miss");
    assert_eq!(w.outcome(&sh("sh -c '{ uname; }'")), "miss");
    assert_eq!(w.outcome(&sh("sh -c 'uname $X'")), "miss");
}

// ---- Item 3: strictInlineEval option forms ----

fn strict_full() -> World {
    let mut w = world("full", "off").strict();
    for b in ["perl", "ruby", "make"] {
        w.fs.add_exe(&format!("/usr/bin/{b}"));
    }
    w
}

fn strict_hit(w: &World, a: &[&str]) -> Option<String> {
    let d = w.decide(&argv(a));
    (d.outcome == openclaw_node::policy::decide::Outcome::Ask)
        .then(|| d.inline_eval.unwrap_or_default())
}

#[test]
fn strict_inline_eval_value_options_before_the_eval_flag() {
    let w = strict_full();
    for a in [
        &["python3", "-X", "dev", "-c", "1"][..],
        &["python3", "-W", "ignore", "-c", "1"],
        &["python3", "-Ic", "1"],
        &["python3", "-cprint(1)"],
        &["node", "-r", "fs", "-pe", "1"],
        &["node", "-pe", "1"],
        &["node", "--eval=1"],
        &["perl", "-I", "x", "-e", "1"],
        &["perl", "-M", "strict", "-e", "1"],
        &["perl", "-lne", "print"],
        &["perl", "-E", "say 1"],
        &["ruby", "-ne", "p"],
        &["ruby", "-e1"],
        &["ruby", "-I", "x", "-e", "1"],
        &["make", "-E'all:;id'", "-fx"],
        &["make", "-fMakefile.evil"],
        &["make", "--eval=x"],
        &["make", "--ev", "x"],
    ] {
        assert!(strict_hit(&w, a).is_some(), "{a:?} must need approval");
    }
    // Not inline eval: a script, a module, options without program text.
    for a in [
        &["python3", "-X", "dev", "x.py"][..],
        &["python3", "-Xpycache_prefix=c", "x.py"],
        &["node", "-r", "fs", "app.js"],
        &["perl", "-w", "x.pl"],
        &["ruby", "-w", "x.rb"],
        &["make", "-C", "dir", "all"],
        &["python3", "x.py", "--", "-c"],
    ] {
        assert_eq!(strict_hit(&w, a), None, "{a:?}");
    }
}

// ---- Item 2: identity by file ----

#[test]
fn identity_symlink_to_find_is_treated_as_find() {
    let mut w = w(&["/usr/bin/find", "/home/u/bin/*"]);
    w.fs.add_dir("/home/u/bin", true);
    w.fs.add_symlink("/home/u/bin/f", "/usr/bin/find");
    let mut r = sh("./bin/f /tmp -exec id \\;");
    r.cwd = Some("/home/u".into());
    assert_eq!(w.outcome(&r), "miss");
    let r = argv(&["/home/u/bin/f", "/tmp", "-exec", "id", ";"]);
    assert_eq!(w.outcome(&r), "miss");
    // Even without -exec: the name does not say what runs, so no entry satisfies it.
    let r = argv(&["/home/u/bin/f", "/tmp"]);
    assert_eq!(w.outcome(&r), "miss");
    // The real name is fine.
    assert_eq!(w.outcome(&argv(&["/usr/bin/find", "/tmp"])), "allow");
}

#[test]
fn identity_shell_under_another_name_is_not_an_ordinary_executable() {
    let mut w = w(&["/bin/bash", "/home/u/mysh"]);
    w.fs.add_symlink("/home/u/mysh", "/bin/bash");
    assert_eq!(w.outcome(&argv(&["/home/u/mysh", "-c", "id"])), "miss");
    assert_eq!(w.outcome(&sh("/home/u/mysh -c id")), "miss");
    // `/bin/sh` -> dash stays a shell transport (same identity class).
    let wd = w_dash(&["/usr/bin/uname"]);
    assert_eq!(wd.outcome(&sh("uname -a")), "allow");
    assert_eq!(wd.outcome(&sh("sh -c 'uname; uname -r'")), "allow");
}

#[test]
fn identity_interpreter_under_another_name_is_seen_by_strict_inline_eval() {
    let mut w = world("full", "off").strict();
    w.fs.add_symlink("/home/u/py", "/usr/bin/python3");
    let d = w.decide(&argv(&["/home/u/py", "-c", "print(1)"]));
    assert_eq!(d.outcome, openclaw_node::policy::decide::Outcome::Ask);
    assert!(d.inline_eval.unwrap_or_default().contains("-c"));
    // A versioned name of the same interpreter keeps its identity.
    let mut w2 = self::w(&["/usr/bin/python3.12"]);
    w2.fs.add_exe("/usr/bin/python3.12");
    w2.fs.remove("/usr/bin/python3");
    w2.fs.add_symlink("/usr/bin/python3", "/usr/bin/python3.12");
    assert_eq!(w2.outcome(&argv(&["python3", "x.py"])), "allow");
}

#[test]
fn identity_relative_or_empty_path_entry_stops_the_search() {
    let mut w = w(&["/usr/bin/uname"]);
    w.fs.add_exe("/home/u/uname");
    assert_eq!(w.outcome(&sh("uname")), "allow");
    for p in [
        "/usr/local/bin::/usr/bin:/bin",
        ".:/usr/bin:/bin",
        "bin:/usr/bin:/bin",
    ] {
        w.path = p.into();
        assert_eq!(w.outcome(&sh("uname")), "miss", "PATH={p}");
        assert_eq!(w.outcome(&argv(&["uname"])), "miss", "PATH={p}");
    }
    // Found before the relative entry: the shell finds the same file.
    w.path = "/usr/bin:/bin:.".into();
    assert_eq!(w.outcome(&sh("uname")), "allow");
}

mod grants;
mod oracle_found;
