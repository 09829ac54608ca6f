//! Executable resolution and allowlist patterns.

use super::*;

#[test]
fn case_050_argv0_pinned_to_realpath() {
    let d = world("allowlist", "off")
        .al(&["/usr/bin/rg"])
        .decide(&argv(&["rg", "x"]));
    assert_eq!(d.outcome, Outcome::Allow);
    assert_eq!(d.exec_argv, vec!["/usr/bin/rg", "x"]);
}

#[test]
fn case_051_relative_executable_resolves_against_cwd() {
    let mut w = world("allowlist", "off").al(&["/usr/bin/rg"]);
    w.fs.add_exe("/home/u/p/rg");
    let mut r = argv(&["./rg"]);
    r.cwd = Some("/home/u/p".into());
    let d = w.decide(&r);
    assert_eq!(d.outcome, Outcome::Miss);
    let res = d.segments[0].resolution.as_ref().unwrap();
    assert_eq!(
        res.resolved_path.as_deref(),
        Some(std::path::Path::new("/home/u/p/rg"))
    );
}

policy_case!(
    case_052_target_path_is_normalised,
    world("allowlist", "off").al(&["/usr/bin/rg"]),
    argv(&["/usr/bin/../bin/rg"]) => "allow",
);

policy_case!(
    case_053_patterns_are_not_normalised,
    world("allowlist", "off").al(&["/usr/bin/../bin/rg"]),
    argv(&["/usr/bin/rg"]) => "miss",
);

#[test]
fn case_054_tilde_expanded_on_both_sides() {
    let mut w = world("allowlist", "off").al(&["~/bin/tool"]);
    w.fs.add_exe("/home/u/bin/tool");
    assert_eq!(w.outcome(&argv(&["~/bin/tool"])), "allow");
}

#[test]
fn case_055_star_within_one_level() {
    let w = world("allowlist", "off").al(&["/usr/bin/*"]);
    assert_eq!(w.outcome(&argv(&["python3", "x.py"])), "allow");
    assert_eq!(
        world("allowlist", "off")
            .al(&["/usr/*"])
            .outcome(&argv(&["python3"])),
        "miss"
    );
}

policy_case!(
    case_057_double_star_crosses_slash,
    world("allowlist", "off").al(&["/usr/**"]),
    argv(&["python3"]) => "allow",
);

#[test]
fn case_058_question_mark_never_matches_slash() {
    assert_eq!(
        world("allowlist", "off")
            .al(&["/usr/bin/r?"])
            .outcome(&argv(&["rg"])),
        "allow"
    );
    assert_eq!(
        world("allowlist", "off")
            .al(&["/usr/bin?rg"])
            .outcome(&argv(&["rg"])),
        "miss"
    );
}

policy_case!(
    case_059_patterns_are_case_sensitive,
    world("allowlist", "off").al(&["/USR/BIN/RG"]),
    argv(&["rg"]) => "miss",
);

#[test]
fn case_060_brackets_are_literal() {
    assert_eq!(
        world("allowlist", "off")
            .al(&["/usr/bin/[r]g"])
            .outcome(&argv(&["rg"])),
        "miss"
    );
    let mut w = world("allowlist", "off").al(&["/usr/bin/[r]g"]);
    w.fs.add_exe("/usr/bin/[r]g");
    assert_eq!(w.outcome(&argv(&["/usr/bin/[r]g"])), "allow");
}

#[test]
fn case_061_bare_wildcard_matches_unresolved() {
    let d = world("allowlist", "off")
        .al(&["*"])
        .decide(&argv(&["definitely-not-installed"]));
    assert_eq!(d.outcome, Outcome::Allow);
    assert_eq!(d.exec_argv, vec!["definitely-not-installed"]);
}

policy_case!(
    case_062_bare_name_matches_path_tokens_only,
    world("allowlist", "off").al(&["rg"]),
    argv(&["rg"]) => "allow",
    argv(&["/usr/bin/rg"]) => "miss",
);

policy_case!(
    case_064_missing_executable_is_unresolved,
    world("allowlist", "off").al(&["/usr/bin/nope"]),
    argv(&["/usr/bin/nope"]) => "miss",
);

#[test]
fn case_065_non_executable_file_is_unresolved() {
    let mut w = world("allowlist", "off").al(&["/usr/bin/x"]);
    w.fs.add_file("/usr/bin/x", b"data", false);
    assert_eq!(w.outcome(&argv(&["/usr/bin/x"])), "miss");
}

#[test]
fn case_066_symlinks_match_by_realpath() {
    let mut w = world("allowlist", "off").al(&["/opt/rg/rg"]);
    w.fs.add_exe("/opt/rg/rg");
    w.fs.add_symlink("/usr/local/bin/rg", "/opt/rg/rg");
    let d = w.decide(&argv(&["/usr/local/bin/rg"]));
    assert_eq!(d.outcome, Outcome::Allow);
    assert_eq!(d.exec_argv[0], "/opt/rg/rg");
    // Decision (EA §8.1): the symlink path alone does not match.
    let mut w2 = w.clone().al(&["/usr/local/bin/rg"]);
    w2.fs.add_exe("/opt/rg/rg");
    assert_eq!(w2.outcome(&argv(&["/usr/local/bin/rg"])), "miss");
}

#[test]
fn case_067_path_override_rejected() {
    let mut r = argv(&["rg"]);
    r.env.insert("PATH".into(), "/tmp/evil".into());
    let d = world("allowlist", "off").al(&["/usr/bin/rg"]).decide(&r);
    assert_eq!(d.outcome, Outcome::Invalid);
    assert_eq!(
        d.message,
        "SYSTEM_RUN_DENIED: environment override rejected (blocked override keys: PATH)"
    );
}

policy_case!(
    case_068_no_unicode_normalisation,
    world("allowlist", "off").al(&["/usr/bin/rg"]),
    argv(&["/usr/bin/ｒg"]) => "miss",
);

#[test]
fn case_069_raw_command_must_match_exact_argv() {
    let mut r = argv(&["rg ", "-n"]);
    r.raw_command = Some("rg -n".into());
    let d = world("full", "off").decide(&r);
    assert_eq!(d.outcome, Outcome::Invalid);
    assert_eq!(d.message, "rawCommand does not match command");
    assert_eq!(d.command_text, "\"rg \" -n");
}
