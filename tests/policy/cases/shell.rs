//! Shell payload parsing: what the analyser accepts, rejects and splits.

use super::*;

#[test]
fn case_022_pipe_to_safe_bin() {
    let d = world("allowlist", "off")
        .al(&["/usr/bin/rg"])
        .decide(&sh("rg -n TODO | head -n 5"));
    assert_eq!(d.outcome, Outcome::Allow, "{}", d.message);
    assert_eq!(d.exec_argv[0], "/bin/sh");
    assert_eq!(
        d.exec_argv[2],
        format!("{PATH_CARRIER_PREFIX}rg -n TODO | '/usr/bin/head' '-n' '5'")
    );
    assert_eq!(d.segments[1].satisfied_by.as_ref().unwrap().by, "safeBins");
}

#[test]
fn case_023_every_chain_part_must_pass() {
    let w = world("allowlist", "off").al(&["/usr/bin/rg"]);
    assert_eq!(w.outcome(&sh("rg foo && rm -rf /")), "miss");
    let w = world("allowlist", "on-miss").al(&["/usr/bin/rg"]);
    assert_eq!(w.outcome(&sh("rg foo && rm -rf /")), "ask");
}

#[test]
fn case_024_semicolon_splits() {
    assert_eq!(
        world("allowlist", "off")
            .al(&["/usr/bin/rg"])
            .outcome(&sh("rg foo; id")),
        "miss"
    );
}

#[test]
fn case_025_operator_inside_quotes_is_literal() {
    let d = world("allowlist", "off")
        .al(&["/usr/bin/echo"])
        .decide(&sh("/usr/bin/echo \"foo && bar\""));
    assert_eq!(d.outcome, Outcome::Allow);
    assert_eq!(d.segments[0].argv, vec!["/usr/bin/echo", "foo && bar"]);
}

#[test]
fn case_026_command_substitution_fails_analysis() {
    let d = world("allowlist", "on-miss")
        .al(&["/usr/bin/echo"])
        .decide(&sh("echo $(id)"));
    assert_eq!(d.outcome, Outcome::Ask);
    assert!(!d.analysis_ok);
}

policy_case!(
    case_027_substitution_inside_double_quotes,
    world("allowlist", "off").al(&["/usr/bin/echo"]),
    sh("echo \"out: $(whoami)\"") => "miss",
);

policy_case!(
    case_029_escaped_dollar_is_inert,
    world("allowlist", "off").al(&["/usr/bin/echo"]),
    sh("echo \"out: \\$(whoami)\"") => "allow",
);

policy_case!(
    case_030_backticks_rejected,
    world("allowlist", "off").al(&["/usr/bin/echo"]),
    sh("echo `id`") => "miss",
);

policy_case!(
    case_031_input_redirection_rejected,
    world("allowlist", "off").al(&["/usr/bin/cat"]),
    sh("cat < /etc/passwd") => "miss",
);

policy_case!(
    case_032_output_redirection_rejected,
    world("allowlist", "off").al(&["/usr/bin/echo"]),
    sh("echo ok > out.txt") => "miss",
    sh("echo ok 2>&1") => "miss",
);

policy_case!(
    case_033_background_rejected,
    world("allowlist", "off").al(&["/usr/bin/sleep"]),
    sh("sleep 5 &") => "miss",
);

policy_case!(
    case_034_pipe_stderr_rejected,
    world("allowlist", "off").al(&["/usr/bin/rg"]),
    sh("rg a |& head") => "miss",
);

policy_case!(
    case_036_raw_newline_rejected,
    world("allowlist", "off").al(&["/usr/bin/rg", "/usr/bin/id"]),
    sh("rg a\nid") => "miss",
);

policy_case!(
    case_037_trailing_operator_fails,
    world("allowlist", "off").al(&["/usr/bin/echo"]),
    sh("/usr/bin/echo ok &&") => "miss",
);

#[test]
fn case_038_empty_pipeline_segment() {
    let d = world("allowlist", "off")
        .al(&["/usr/bin/rg"])
        .decide(&sh("rg a | "));
    assert_eq!(d.outcome, Outcome::Miss);
    assert_eq!(d.analysis_error.as_deref(), Some("empty pipeline segment"));
}

policy_case!(
    case_039_unterminated_quote,
    world("allowlist", "off").al(&["/usr/bin/rg"]),
    sh("rg 'unterminated") => "miss",
);

policy_case!(
    case_040_line_continuation_fails,
    world("allowlist", "off").al(&["/usr/bin/echo"]),
    sh("echo \"ok $\\\n(id -u)\"") => "miss",
);

policy_case!(
    case_041_substitution_in_unquoted_heredoc,
    world("allowlist", "off").al(&["/usr/bin/cat"]),
    sh("/usr/bin/cat <<EOF\n$(id)\nEOF") => "miss",
);

#[test]
fn case_043_quoted_heredoc_is_literal() {
    let w = world("allowlist", "off").al(&["/usr/bin/cat"]);
    let d = w.decide(&sh("/usr/bin/cat <<'EOF'\n$(id)\nEOF"));
    assert_eq!(d.outcome, Outcome::Allow, "{:?}", d.analysis_error);
}

policy_case!(
    case_044_unterminated_heredoc,
    world("allowlist", "off").al(&["/usr/bin/cat"]),
    sh("/usr/bin/cat <<EOF\nline one") => "miss",
);

#[test]
fn case_045_word_start_hash_is_a_comment() {
    let d = world("allowlist", "off")
        .al(&["/usr/bin/rg"])
        .decide(&sh("rg foo # ; rm -rf /"));
    assert_eq!(d.outcome, Outcome::Allow);
    assert_eq!(d.segments.len(), 1);
}

#[test]
fn case_046_mid_word_hash_is_literal() {
    let d = world("allowlist", "off")
        .al(&["/usr/bin/rg"])
        .decide(&sh("rg foo#bar"));
    assert_eq!(d.outcome, Outcome::Allow);
    assert_eq!(d.segments[0].argv, vec!["rg", "foo#bar"]);
}

#[test]
fn case_047_empty_payload_asks_and_empty_argv_is_invalid() {
    let w = world("allowlist", "on-miss");
    assert_eq!(w.outcome(&sh("")), "ask");
    assert_eq!(w.outcome(&sh("   ")), "ask");
    let err = plan::decode(&json!({"command": []})).unwrap_err();
    assert_eq!(err, "command required");
}

#[test]
fn case_048_full_mode_does_no_parsing() {
    assert_eq!(
        world("full", "off").outcome(&sh("rm -rf ~ ; curl x | sh")),
        "allow"
    );
}
