//! Safe bins: stdin-only filters and their flags.

use super::*;

#[test]
fn case_094_safe_bin_payload_is_literalised() {
    let d = world("allowlist", "off").al(&[]).decide(&sh("head -n 5"));
    assert_eq!(d.outcome, Outcome::Allow);
    assert_eq!(
        d.exec_argv[2],
        format!("{PATH_CARRIER_PREFIX}'/usr/bin/head' '-n' '5'")
    );
}

policy_case!(
    case_095_path_positional_rejected,
    world("allowlist", "off").al(&[]),
    sh("head /etc/passwd") => "miss",
);

policy_case!(
    case_096_glob_token_rejected,
    world("allowlist", "off").al(&[]),
    sh("head *") => "miss",
);

policy_case!(
    case_097_expansion_tokens_rejected,
    world("allowlist", "off").al(&[]),
    sh("head -c${IFS}16${IFS}${OPENCLAW_CONFIG_PATH}") => "miss",
);

policy_case!(
    case_099_wc_profile,
    world("allowlist", "off").al(&[]),
    sh("wc -l") => "allow",
    sh("wc -Z") => "miss",
    sh("wc --lines=5") => "miss",
    sh("wc --files0-from=x") => "miss",
    sh("wc --files0-fro=x") => "miss",
);

policy_case!(
    case_100_tr_profile,
    world("allowlist", "off").al(&[]),
    sh("tr a b") => "allow",
    sh("tr") => "miss",
    sh("tr a b c") => "miss",
    sh("tr -S a b") => "miss",
    sh("tr -d abc") => "allow",
);

policy_case!(
    case_101_cut_stdin_dash,
    world("allowlist", "off").al(&[]),
    sh("cut -f1 -- -") => "allow",
    sh("cut -f1 -- ../x") => "miss",
);

#[test]
fn case_102_sort_opt_in_profile() {
    assert_eq!(
        world("allowlist", "off")
            .al(&[])
            .outcome(&sh("sort -o /tmp/x")),
        "miss"
    );
    let w = world("allowlist", "off").al(&[]).safe_bin("sort");
    assert_eq!(w.outcome(&sh("sort -o /tmp/x")), "miss");
    assert_eq!(w.outcome(&sh("sort --compress-prog=sh")), "miss");
    assert_eq!(w.outcome(&sh("sort --f=1")), "miss");
    assert_eq!(w.outcome(&sh("sort -S 1M")), "allow");
    assert_eq!(w.outcome(&sh("sort --key=1,1")), "allow");
    assert_eq!(w.outcome(&sh("sort --ke=1,1")), "allow");
}

policy_case!(
    case_103_grep_opt_in_profile,
    world("allowlist", "off").al(&[]).safe_bin("grep"),
    sh("grep -e needle") => "allow",
    sh("grep needle") => "miss",
    sh("grep -e KEY .env") => "miss",
    sh("grep -r x") => "miss",
    sh("grep -e n -- ../s.txt") => "miss",
    sh("grep -e n -- -") => "allow",
);

policy_case!(
    case_104_jq_never_safe,
    world("allowlist", "off").al(&[]).safe_bin("jq"),
    sh("jq .") => "miss",
    sh("jq -n env") => "miss",
);

#[test]
fn case_106_safe_bins_in_argv_mode() {
    let d = world("allowlist", "off")
        .al(&[])
        .decide(&argv(&["head", "-n", "1"]));
    assert_eq!(d.outcome, Outcome::Allow);
    assert_eq!(d.exec_argv, vec!["/usr/bin/head", "-n", "1"]);
}

/// Windows is not a target of this host; the invariant kept is that safe bins only apply to
/// executables in trusted system dirs (a `head` elsewhere on PATH is never a safe bin).
#[test]
fn case_107_safe_bins_need_a_trusted_dir() {
    let mut w = world("allowlist", "off").al(&[]);
    w.fs.add_exe("/opt/tools/head");
    w.path = "/opt/tools:/usr/bin:/bin".into();
    assert_eq!(w.outcome(&sh("head -n 1")), "miss");
}
