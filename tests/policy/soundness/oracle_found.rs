//! Mismatches the soundness oracle found, each pinned.

use super::*;

#[test]
fn soundness_tilde_after_assignment_equals_is_a_miss() {
    // bash expands `~` after the `=` of an argument that looks like an assignment
    // (`ls a=~/x` runs `ls a=/home/u/x`); dash does not.
    let [wd, wb] = dash_and_bash(&["/usr/bin/ls"]);
    for p in ["ls a=~/x", "ls a=~", "ls a=b:~/c", "ls --o=~"] {
        assert_eq!(wb.outcome(&sh(p)), "miss", "bash: {p}");
        assert_eq!(wd.outcome(&sh(p)), "allow", "dash: {p}");
    }
    for p in [
        "ls 'a=~/x'",
        "ls a='~'/x",
        "ls a=\\~",
        "ls x:~/y",
        "ls a=x~",
    ] {
        assert_eq!(wb.outcome(&sh(p)), "allow", "bash: {p}");
    }
}

#[test]
fn soundness_shell_reading_stdin_under_bare_star_is_a_miss() {
    // `sh <<'EOF'` and `… | sh` run commands nobody analysed: the bare `*` allows a nested
    // shell only through its analysed segments.
    for w in dash_and_bash(&["*"]) {
        for p in [
            "sh <<'EOF'\nid\nEOF",
            "sh -s <<'EOF'\nid\nEOF",
            "bash <<EOF\nid\nEOF",
            "uname | sh",
            "uname && cat x | bash -s",
        ] {
            assert_eq!(w.outcome(&sh(p)), "miss", "{p}");
        }
        // An inline nested shell is decided on its segments, whatever its stdin.
        assert_eq!(w.outcome(&sh("uname | sh -c 'uname'")), "allow");
        // The bare `*` still allows an interpreter reading its own program (D05 class).
        assert_eq!(w.outcome(&sh("python3 <<'EOF'\nprint(1)\nEOF")), "allow");
    }
    // With the shell allowlisted, a pipe into it is no better than a heredoc.
    let w = w_dash(&["/usr/bin/dash", "/usr/bin/uname"]);
    assert_eq!(w.outcome(&sh("uname | sh")), "miss");
    assert_eq!(w.outcome(&sh("uname | sh -c 'uname; uname'")), "allow");
}

#[test]
fn soundness_shell_script_or_rcfile_under_bare_star_is_a_miss() {
    // `sh ./evil.sh`, `bash --rcfile ./evil.sh -i` inside a payload run commands nobody
    // analysed: the bare `*` does not satisfy them, an entry for the script itself does.
    for w in dash_and_bash(&["*"]) {
        for p in [
            "sh ./evil.sh",
            "bash evil.sh",
            "uname && sh ./evil.sh",
            "bash --rcfile ./evil.sh -i",
            "bash --init-file ./evil.sh -i",
            "sh -c 'uname; bash evil.sh'",
        ] {
            assert_eq!(w.outcome(&sh(p)), "miss", "{p}");
        }
        assert_eq!(w.outcome(&sh("sh -c 'uname; uname -r'")), "allow");
    }
    let mut w = w_dash(&["/home/u/evil.sh"]);
    w.fs.add_exe("/home/u/evil.sh");
    let mut r = sh("sh ./evil.sh");
    r.cwd = Some("/home/u".into());
    assert_eq!(w.outcome(&r), "allow");
    // Outside a payload the bare `*` still allows a shell invocation as it allows any argv (D25).
    let w = w_dash(&["*"]);
    assert_eq!(
        w.outcome(&argv(&["/usr/bin/bash", "--rcfile", "x", "-i"])),
        "allow"
    );
}

#[test]
fn soundness_nested_login_shell_is_a_miss() {
    // `/etc/profile` resets PATH in a nested login shell, so `bash -lc 'curl x'` does not run
    // the `curl` the node's PATH resolves (found by the oracle: a PATH stub vs /usr/bin/curl).
    for w in dash_and_bash(&["*"]) {
        for p in [
            "bash -lc 'uname; uname -r'",
            "sh -lc 'uname; uname -r'",
            "sh -l -c 'uname; uname -r'",
            "bash --login -c 'uname; uname -r'",
            "sh -lc '$0 \"$@\"' uname -r",
            "uname && bash -lc \"uname; uname -r\"",
        ] {
            assert_eq!(w.outcome(&sh(p)), "miss", "{p}");
        }
        assert_eq!(w.outcome(&sh("bash -c 'uname; uname -r'")), "allow");
        assert_eq!(w.outcome(&sh("sh -ec 'uname; uname -r'")), "allow");
    }
    let w = w_dash(&["/usr/bin/uname"]);
    assert_eq!(w.outcome(&sh("sh -lc 'uname; uname -r'")), "miss");
    assert_eq!(w.outcome(&sh("sh -c 'uname; uname -r'")), "allow");
}

#[test]
fn soundness_shell_options_that_change_expansion_are_a_miss() {
    // `bash -k` moves `X=1` from the argv into the environment (`ls X=1` ran `ls`);
    // `-O nullglob` drops a glob that matches nothing (`ls x* a.txt` ran `ls a.txt`).
    for w in dash_and_bash(&["/usr/bin/ls", "/usr/bin/uname"]) {
        for p in [
            "bash -k -c 'ls X=1; uname'",
            "bash -kc 'ls X=1; uname'",
            "bash -ck 'ls X=1; uname'",
            "bash -O nullglob -c 'ls x* a.txt; uname'",
            "bash -O dotglob -c 'ls src/*; uname'",
            "bash +B -c 'ls a; uname'",
            "bash -a -c 'ls a; uname'",
            "bash -o posix -c 'ls a; uname'",
            "bash --posix -c 'ls a; uname'",
        ] {
            assert_eq!(w.outcome(&sh(p)), "miss", "{p}");
        }
        for p in [
            "bash -c 'ls a; uname'",
            "bash -e -c 'ls a; uname'",
            "bash -eux -c 'ls a; uname'",
            "bash -o pipefail -c 'ls a; uname'",
            "bash --norc -c 'ls a; uname'",
        ] {
            assert_eq!(w.outcome(&sh(p)), "allow", "{p}");
        }
        // The same options on the top-level transport.
        assert_eq!(
            w.outcome(&argv(&["/usr/bin/bash", "-kc", "ls X=1; uname"])),
            "miss"
        );
        assert_eq!(
            w.outcome(&argv(&[
                "/usr/bin/bash",
                "-O",
                "nullglob",
                "-c",
                "ls x*; uname"
            ])),
            "miss"
        );
        assert_eq!(
            w.outcome(&argv(&["/bin/sh", "-lc", "ls a; uname"])),
            "allow"
        );
    }
}

/// Found by the one-hour oracle run (seed 1004): bash's `time` is a reserved word, so
/// `time dash -c …` runs dash directly, while the analysis planned `/usr/bin/time dash -c …`.
#[test]
fn soundness_bash_time_reserved_word_is_a_miss() {
    let [wd, wb] = dash_and_bash(&["*"]);
    for p in ["time uname", "time -p uname", "uname; time ls"] {
        assert_eq!(wb.outcome(&sh(p)), "miss", "bash: {p}");
    }
    // dash has no `time` keyword: the wrapper is /usr/bin/time, analysed as one.
    assert_eq!(wd.outcome(&sh("time uname")), "allow");
    // A path is never the keyword.
    assert_eq!(wb.outcome(&sh("/usr/bin/time uname")), "allow");
}

/// Found by the one-hour oracle run (seed 1008): a safe bin reading a heredoc
/// (`tail <<"EOF"` + a body with `` `id` ``) was literalised to `'/usr/bin/tail'` without the
/// heredoc operator, so the shell ran the body's `id`. Such a payload is never rebuilt now.
#[test]
fn soundness_safe_bin_with_heredoc_is_never_literalised_without_it() {
    for w in dash_and_bash(&[]) {
        let w = w.safe_bin("tail");
        let d = w.decide(&sh("tail <<\"EOF\"\n`id`\nEOF"));
        assert!(
            !d.allowed() || !d.exec_argv.iter().any(|a| a.contains("'/usr/bin/tail'\n")),
            "{:?}",
            d.exec_argv
        );
        if d.allowed() {
            // Allowed only as written: the heredoc operator is still there.
            assert!(
                d.exec_argv.iter().any(|a| a.contains("<<")),
                "{:?}",
                d.exec_argv
            );
        }
    }
}
