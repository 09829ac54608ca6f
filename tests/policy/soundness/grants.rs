//! Allow-always grants match only their exact command; D09 missing cwd; D08b blank allowlist items.

use super::*;

use openclaw_node::policy::decide::Outcome;
use openclaw_node::policy::matcher::cwd_argv_arg_pattern;

fn strs(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| (*s).to_string()).collect()
}

fn in_cwd(
    mut r: openclaw_node::policy::plan::RunRequest,
    cwd: &str,
) -> openclaw_node::policy::plan::RunRequest {
    r.cwd = Some(cwd.into());
    r
}

/// A world whose allowlist holds exactly `entries` (objects, as on disk).
fn w_entries(entries: Value) -> World {
    let mut w = world("allowlist", "off")
        .file(json!({"version": 1, "agents": {"main": {"allowlist": entries}}}));
    w.fs.add_exe("/usr/bin/git");
    w.fs.add_dir("/home/u/repo", true);
    w
}

#[test]
fn allow_always_arg_pattern_is_the_official_cwd_argv_hash() {
    // node-host-2026.9.6-additions §2.2: cwd /tmp + `uname -s` → f51b9bb5…0c419e,
    // `ls /tmp` → 59ab2f14…0a2353.
    let a = cwd_argv_arg_pattern("/tmp", &strs(&["uname", "-s"]));
    assert!(a.starts_with("sha256:cwd-argv:v1:f51b9bb5"), "{a}");
    assert!(a.ends_with("0c419e"), "{a}");
    let b = cwd_argv_arg_pattern("/tmp", &strs(&["ls", "/tmp"]));
    assert!(
        b.starts_with("sha256:cwd-argv:v1:59ab2f14") && b.ends_with("0a2353"),
        "{b}"
    );
    // argv[0] is not part of it; the cwd is normalised like path.posix.normalize.
    assert_eq!(
        a,
        cwd_argv_arg_pattern("/tmp/x/..", &strs(&["/usr/bin/uname", "-s"]))
    );
}

#[test]
fn allow_always_git_status_grant_does_not_cover_git_alias_command() {
    let grant = cwd_argv_arg_pattern("/home/u/repo", &strs(&["git", "status"]));
    let w = w_entries(json!([
        {"pattern": "/usr/bin/git", "argPattern": grant, "source": "allow-always"}
    ]));
    for r in [argv(&["git", "status"]), sh("git status")] {
        assert_eq!(w.outcome(&in_cwd(r, "/home/u/repo")), "allow");
    }
    // Other arguments, the alias that runs a command, or another cwd: not granted.
    for (r, cwd) in [
        (argv(&["git", "-c", "alias.x=!id", "x"]), "/home/u/repo"),
        (sh("git -c alias.x='!id' x"), "/home/u/repo"),
        (argv(&["git", "status", "--short"]), "/home/u/repo"),
        (argv(&["git", "status"]), "/tmp"),
        (sh("cd /home/u/repo && git status"), "/tmp"),
    ] {
        assert_eq!(
            w.outcome(&in_cwd(r.clone(), cwd)),
            "miss",
            "{:?} in {cwd}",
            r.argv
        );
    }
}

#[test]
fn allow_always_bare_path_grant_from_an_earlier_version_matches_nothing() {
    // D13: stored as a bare path by earlier versions (and by 2026.9.6's predecessors); 2026.9.6
    // skips it, so do we. The same pattern without `source` still matches.
    let w = w_entries(json!([{"pattern": "/usr/bin/git", "source": "allow-always"}]));
    assert_eq!(
        w.outcome(&in_cwd(argv(&["git", "status"]), "/home/u/repo")),
        "miss"
    );
    let w = w_entries(json!([{"pattern": "*", "source": "allow-always"}]));
    assert_eq!(
        w.outcome(&in_cwd(argv(&["git", "status"]), "/home/u/repo")),
        "miss"
    );
    let w = w_entries(json!([{"pattern": "/usr/bin/git"}]));
    assert_eq!(
        w.outcome(&in_cwd(argv(&["git", "status"]), "/home/u/repo")),
        "allow"
    );
    // Regex and legacy hashed argPatterns are not honoured on this host (stricter).
    for arg in ["^status$", "sha256:argv:00"] {
        let w = w_entries(json!([{"pattern": "/usr/bin/git", "argPattern": arg}]));
        assert_eq!(
            w.outcome(&in_cwd(argv(&["git", "status"]), "/home/u/repo")),
            "miss",
            "{arg}"
        );
    }
}

#[test]
fn allow_always_persists_a_cwd_bound_grant_that_reruns_only_the_same_command() {
    let w = w_entries(json!([])).file(json!({"version": 1, "defaults": {"ask": "on-miss"},
        "agents": {"main": {"allowlist": []}}}));
    let mut w = w;
    w.requested.ask = openclaw_node::policy::types::Ask::OnMiss;
    let req = in_cwd(argv(&["git", "status"]), "/home/u/repo");
    assert_eq!(w.outcome(&req), "ask");
    let d = w.decide(&w.approved(&req, "allow-always"));
    assert_eq!(d.outcome, Outcome::Allow, "{}", d.message);
    assert_eq!(d.persist_patterns, vec!["/usr/bin/git"]);
    let g = &d.persist_grants[0];
    assert_eq!(
        g.arg_pattern,
        cwd_argv_arg_pattern("/home/u/repo", &strs(&["git", "status"]))
    );
    assert!(
        d.persist_marker
            .as_deref()
            .is_some_and(|m| m.starts_with("=node-command:"))
    );
    // The file after persistence: the grant and the gateway's marker.
    let mut entries = vec![json!({"pattern": g.pattern, "argPattern": g.arg_pattern,
        "source": "allow-always"})];
    entries.push(json!({"pattern": d.persist_marker.clone().unwrap(), "source": "allow-always"}));
    let mut next = w_entries(json!(entries));
    next.requested.ask = openclaw_node::policy::types::Ask::OnMiss;
    assert_eq!(next.outcome(&req), "allow");
    assert_eq!(
        next.outcome(&in_cwd(
            argv(&["git", "-c", "alias.x=!id", "x"]),
            "/home/u/repo"
        )),
        "ask"
    );
}

// ---- D09: an allowlist run in a cwd that does not exist is refused before spawn ----

#[test]
fn allowlist_run_in_a_missing_cwd_needs_an_approval_as_in_the_official_engine() {
    let w = w(&["/usr/bin/uname"]);
    assert_eq!(w.outcome(&in_cwd(argv(&["uname"]), "/tmp")), "allow");
    for cwd in ["/nonexistent", "/tmp/missing/sub", "/usr/bin/uname"] {
        let d = w.decide(&in_cwd(argv(&["uname"]), cwd));
        assert_eq!(explain_word(&d), "ask", "{cwd}");
        assert_eq!(
            d.message,
            "SYSTEM_RUN_DENIED: approval requires an existing canonical cwd"
        );
    }
    // security=full does not bind the cwd (official neither): the spawn reports the chdir error.
    let full = world("full", "off");
    assert_eq!(
        full.outcome(&in_cwd(argv(&["/usr/bin/id"]), "/nonexistent")),
        "allow"
    );
}

// ---- D08b, the argued exception: a blank allowlist item matches nothing ----

#[test]
fn d08b_blank_allowlist_items_never_match_anything() {
    // Every blank spelling, with and without the fields that change matching elsewhere: the
    // item is dropped, so the file allows exactly what its other entries allow — never more.
    for blank in ["", " ", "   ", "\t", "\n", " \r\n ", "\u{a0}"] {
        for extra in [
            json!({}),
            json!({"source": "allow-always"}),
            json!({"argPattern": ".*"}),
            json!({"argPattern": cwd_argv_arg_pattern("/tmp", &strs(&["id"]))}),
        ] {
            let mut item = extra.clone();
            item["pattern"] = json!(blank);
            let only = w_entries(json!([item.clone()]));
            for r in [argv(&["/usr/bin/id"]), argv(&["id"]), sh("id"), sh("true")] {
                let word = only.outcome(&in_cwd(r.clone(), "/tmp"));
                // `true` is a safe builtin: allowed with no entry at all, blank or not.
                let want = if r.argv.last().is_some_and(|a| a == "true") {
                    "allow"
                } else {
                    "miss"
                };
                assert_eq!(word, want, "{blank:?} {extra} {:?}", r.argv);
            }
            let with_rg = w_entries(json!([item, {"pattern": "/usr/bin/rg"}]));
            assert_eq!(
                with_rg.outcome(&in_cwd(argv(&["rg", "x"]), "/tmp")),
                "allow"
            );
            assert_eq!(with_rg.outcome(&in_cwd(argv(&["id"]), "/tmp")), "miss");
        }
    }
}
