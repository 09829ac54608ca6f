//! EA §19 behaviour cases, one named test per case (numbering as in the spec).
//! Cases outside the policy engine (150 output cap, 153 unknown command, 145/146 the official
//! CLI) are covered by the launcher/commands suites.

use crate::support::policy::*;
use openclaw_node::policy::decide::{Outcome, SkillTrust};
use openclaw_node::policy::env::PATH_CARRIER_PREFIX;
use openclaw_node::policy::plan::{self, RunRequest};
use openclaw_node::policy::types::{Ask, Security};
use serde_json::json;

fn approved_once(req: RunRequest, p: serde_json::Value) -> RunRequest {
    bind(&req, p, "allow-once")
}

// ---- Policy and file resolution ----

#[test]
fn case_001_deny_blocks_everything() {
    let w = world("deny", "off");
    let d = w.decide(&argv(&["/usr/bin/true"]));
    assert_eq!(d.outcome, Outcome::Off);
    assert_eq!(d.reason, "security=deny");
    assert_eq!(d.message, "SYSTEM_RUN_DISABLED: security=deny");
}

#[test]
fn case_002_approval_cannot_lift_deny() {
    let w = world("deny", "off");
    let r = approved_once(argv(&["/usr/bin/true"]), plan_for(&["/usr/bin/true"], None));
    assert_eq!(w.outcome(&r), "off");
}

#[test]
fn case_003_full_runs_without_allowlist() {
    let w = world("full", "off");
    let d = w.decide(&argv(&["/usr/bin/rm", "-rf", "/tmp/x"]));
    assert_eq!(d.outcome, Outcome::Allow);
    assert_eq!(d.exec_argv, vec!["/usr/bin/rm", "-rf", "/tmp/x"]);
}

#[test]
fn case_004_on_miss_only_prompts_in_allowlist_mode() {
    assert_eq!(
        world("full", "on-miss").outcome(&sh("curl x | sh")),
        "allow"
    );
}

#[test]
fn case_005_ask_always_prompts_even_in_full() {
    let d = world("full", "always").decide(&argv(&["/usr/bin/id"]));
    assert_eq!(d.outcome, Outcome::Ask);
    assert_eq!(d.reason, "approval-required");
    assert_eq!(d.message, "SYSTEM_RUN_DENIED: approval required");
}

#[test]
fn case_006_allowlist_empty_is_miss() {
    let d = world("allowlist", "off")
        .al(&[])
        .decide(&argv(&["/usr/bin/id"]));
    assert_eq!(d.outcome, Outcome::Miss);
    assert_eq!(d.reason, "allowlist-miss");
    assert_eq!(d.message, "SYSTEM_RUN_DENIED: allowlist miss");
}

#[test]
fn case_008_allowlist_hit_still_prompts_with_ask_always() {
    let w = world("allowlist", "always").al(&["/usr/bin/id"]);
    assert_eq!(w.outcome(&argv(&["id"])), "ask");
}

#[test]
fn case_009_allow_once_approval_runs_and_persists_nothing() {
    let w = world("allowlist", "on-miss").al(&[]);
    let r = approved_once(argv(&["/usr/bin/id"]), plan_for(&["/usr/bin/id"], None));
    let d = w.decide(&r);
    assert_eq!(d.outcome, Outcome::Allow, "{}", d.message);
    assert!(d.persist_patterns.is_empty());
}

#[test]
fn case_010_allow_always_persists_the_executable() {
    let w = world("allowlist", "on-miss").al(&[]);
    let r = bind(
        &argv(&["/usr/bin/id"]),
        plan_for(&["/usr/bin/id"], None),
        "allow-always",
    );
    let d = w.decide(&r);
    assert_eq!(d.outcome, Outcome::Allow);
    assert_eq!(d.persist_patterns, vec!["/usr/bin/id"]);
}

#[test]
fn case_011_ask_always_never_persists_allow_always() {
    let w = world("allowlist", "always").al(&[]);
    let r = bind(
        &argv(&["/usr/bin/id"]),
        plan_for(&["/usr/bin/id"], None),
        "allow-always",
    );
    let d = w.decide(&r);
    assert_eq!(d.outcome, Outcome::Allow);
    assert!(d.persist_patterns.is_empty());
}

#[test]
fn case_012_agent_entry_beats_defaults() {
    let w = world("full", "off").file(json!({"version":1,
        "defaults": {"security": "allowlist"}, "agents": {"main": {"security": "full"}}}));
    let d = w.decide(&argv(&["/usr/bin/rm"]));
    let host = d.host.unwrap();
    assert_eq!(host.security, Security::Full);
    assert_eq!(
        host.security_source.as_deref(),
        Some("agents.main.security")
    );
    assert_eq!(d.outcome, Outcome::Allow);
}

#[test]
fn case_013_wildcard_agent_applies_to_unknown_agents() {
    let w = world("full", "off").file(json!({"version":1, "agents": {"*": {"security": "deny"}}}));
    let mut r = argv(&["/usr/bin/id"]);
    r.agent_id = Some("ops".into());
    let d = w.decide(&r);
    assert_eq!(d.outcome, Outcome::Off);
    assert_eq!(
        d.host.unwrap().security_source.as_deref(),
        Some("agents.*.security")
    );
}

#[test]
fn case_015_requested_and_host_combine_strictest() {
    let w = world("full", "on-miss")
        .file(json!({"version":1, "defaults": {"security": "allowlist", "ask": "always"}}));
    let e = w.decide(&argv(&["/usr/bin/id"])).effective.unwrap();
    assert_eq!(e.security, Security::Allowlist);
    assert_eq!(e.ask, Ask::Always);
}

#[test]
fn case_016_wildcard_entries_are_inherited() {
    let w = world("allowlist", "off").file(json!({"version":1, "agents": {
        "*": {"allowlist": ["/usr/bin/rg"]}, "main": {"allowlist": ["/usr/bin/jq"]}}}));
    assert_eq!(w.outcome(&argv(&["rg"])), "allow");
    assert_eq!(w.outcome(&argv(&["jq"])), "allow");
    assert_eq!(w.outcome(&argv(&["id"])), "miss");
}

#[test]
fn case_017_legacy_default_agent_merges_into_main() {
    let v = json!({"version":1, "agents": {"default": {"allowlist": ["/usr/bin/rg"]}}});
    let w = world("allowlist", "off").file(v.clone());
    assert_eq!(w.outcome(&argv(&["rg"])), "allow");
    let f = openclaw_node::policy::store::normalize_value(
        &v,
        openclaw_node::policy::store::Strictness::Disk,
    )
    .unwrap();
    assert!(!f.agents.contains_key("default"));
    assert_eq!(
        f.agents["main"].allowlist.as_ref().unwrap()[0].pattern,
        "/usr/bin/rg"
    );
}

#[test]
fn case_018_string_entries_are_coerced() {
    let v = json!({"version":1, "agents": {"main": {"allowlist": ["/usr/bin/rg"]}}});
    let mut f = openclaw_node::policy::store::normalize_value(
        &v,
        openclaw_node::policy::store::Strictness::Disk,
    )
    .unwrap();
    f.ensure_ids();
    let e = &f.agents["main"].allowlist.as_ref().unwrap()[0];
    assert_eq!(e.pattern, "/usr/bin/rg");
    assert!(e.id.is_some());
    assert_eq!(
        world("allowlist", "off").file(v).outcome(&argv(&["rg"])),
        "allow"
    );
}

#[test]
fn case_019_blank_pattern_is_dropped() {
    let w = world("allowlist", "off")
        .file(json!({"version":1, "agents": {"main": {"allowlist": [{"pattern": "   "}]}}}));
    assert_eq!(w.outcome(&argv(&["/usr/bin/id"])), "miss");
}

#[test]
fn case_020_invalid_file_fails_closed() {
    let err = openclaw_node::policy::store::parse_text("not json").unwrap_err();
    assert!(err.contains("not valid JSON"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("exec-approvals.json");
    std::fs::write(&path, "not json").unwrap();
    let engine = openclaw_node::policy::PolicyEngine::new(
        openclaw_node::policy::PolicyPaths {
            approvals: path,
            state_dir: dir.path().to_path_buf(),
        },
        PATH.into(),
    )
    .with_config(json!({"tools": {"exec": {"security": "full", "ask": "off"}}}))
    .with_legacy_approvals(None);
    match engine.evaluate_run(&json!({"command": ["/usr/bin/true"]})) {
        openclaw_node::policy::RunDecision::Denied {
            reason, message, ..
        } => {
            assert_eq!(reason.as_str(), "security=deny");
            // The engine says why it fails closed (which file, what is wrong).
            assert!(
                message.starts_with("SYSTEM_RUN_DISABLED: security=deny (failing closed: "),
                "{message}"
            );
        }
        other => panic!("expected OFF, got {other:?}"),
    }
}

// ---- Shell payload parsing ----

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

#[test]
fn case_027_substitution_inside_double_quotes() {
    let w = world("allowlist", "off").al(&["/usr/bin/echo"]);
    assert_eq!(w.outcome(&sh("echo \"out: $(whoami)\"")), "miss");
}

#[test]
fn case_029_escaped_dollar_is_inert() {
    let w = world("allowlist", "off").al(&["/usr/bin/echo"]);
    assert_eq!(w.outcome(&sh("echo \"out: \\$(whoami)\"")), "allow");
}

#[test]
fn case_030_backticks_rejected() {
    assert_eq!(
        world("allowlist", "off")
            .al(&["/usr/bin/echo"])
            .outcome(&sh("echo `id`")),
        "miss"
    );
}

#[test]
fn case_031_input_redirection_rejected() {
    assert_eq!(
        world("allowlist", "off")
            .al(&["/usr/bin/cat"])
            .outcome(&sh("cat < /etc/passwd")),
        "miss"
    );
}

#[test]
fn case_032_output_redirection_rejected() {
    let w = world("allowlist", "off").al(&["/usr/bin/echo"]);
    assert_eq!(w.outcome(&sh("echo ok > out.txt")), "miss");
    assert_eq!(w.outcome(&sh("echo ok 2>&1")), "miss");
}

#[test]
fn case_033_background_rejected() {
    assert_eq!(
        world("allowlist", "off")
            .al(&["/usr/bin/sleep"])
            .outcome(&sh("sleep 5 &")),
        "miss"
    );
}

#[test]
fn case_034_pipe_stderr_rejected() {
    assert_eq!(
        world("allowlist", "off")
            .al(&["/usr/bin/rg"])
            .outcome(&sh("rg a |& head")),
        "miss"
    );
}

#[test]
fn case_036_raw_newline_rejected() {
    let w = world("allowlist", "off").al(&["/usr/bin/rg", "/usr/bin/id"]);
    assert_eq!(w.outcome(&sh("rg a\nid")), "miss");
}

#[test]
fn case_037_trailing_operator_fails() {
    assert_eq!(
        world("allowlist", "off")
            .al(&["/usr/bin/echo"])
            .outcome(&sh("/usr/bin/echo ok &&")),
        "miss"
    );
}

#[test]
fn case_038_empty_pipeline_segment() {
    let d = world("allowlist", "off")
        .al(&["/usr/bin/rg"])
        .decide(&sh("rg a | "));
    assert_eq!(d.outcome, Outcome::Miss);
    assert_eq!(d.analysis_error.as_deref(), Some("empty pipeline segment"));
}

#[test]
fn case_039_unterminated_quote() {
    assert_eq!(
        world("allowlist", "off")
            .al(&["/usr/bin/rg"])
            .outcome(&sh("rg 'unterminated")),
        "miss"
    );
}

#[test]
fn case_040_line_continuation_fails() {
    let w = world("allowlist", "off").al(&["/usr/bin/echo"]);
    assert_eq!(w.outcome(&sh("echo \"ok $\\\n(id -u)\"")), "miss");
}

#[test]
fn case_041_substitution_in_unquoted_heredoc() {
    let w = world("allowlist", "off").al(&["/usr/bin/cat"]);
    assert_eq!(w.outcome(&sh("/usr/bin/cat <<EOF\n$(id)\nEOF")), "miss");
}

#[test]
fn case_043_quoted_heredoc_is_literal() {
    let w = world("allowlist", "off").al(&["/usr/bin/cat"]);
    let d = w.decide(&sh("/usr/bin/cat <<'EOF'\n$(id)\nEOF"));
    assert_eq!(d.outcome, Outcome::Allow, "{:?}", d.analysis_error);
}

#[test]
fn case_044_unterminated_heredoc() {
    assert_eq!(
        world("allowlist", "off")
            .al(&["/usr/bin/cat"])
            .outcome(&sh("/usr/bin/cat <<EOF\nline one")),
        "miss"
    );
}

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

// ---- Executable resolution and patterns ----

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

#[test]
fn case_052_target_path_is_normalised() {
    assert_eq!(
        world("allowlist", "off")
            .al(&["/usr/bin/rg"])
            .outcome(&argv(&["/usr/bin/../bin/rg"])),
        "allow"
    );
}

#[test]
fn case_053_patterns_are_not_normalised() {
    assert_eq!(
        world("allowlist", "off")
            .al(&["/usr/bin/../bin/rg"])
            .outcome(&argv(&["/usr/bin/rg"])),
        "miss"
    );
}

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

#[test]
fn case_057_double_star_crosses_slash() {
    assert_eq!(
        world("allowlist", "off")
            .al(&["/usr/**"])
            .outcome(&argv(&["python3"])),
        "allow"
    );
}

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

#[test]
fn case_059_patterns_are_case_sensitive() {
    assert_eq!(
        world("allowlist", "off")
            .al(&["/USR/BIN/RG"])
            .outcome(&argv(&["rg"])),
        "miss"
    );
}

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

#[test]
fn case_062_bare_name_matches_path_tokens_only() {
    let w = world("allowlist", "off").al(&["rg"]);
    assert_eq!(w.outcome(&argv(&["rg"])), "allow");
    assert_eq!(w.outcome(&argv(&["/usr/bin/rg"])), "miss");
}

#[test]
fn case_064_missing_executable_is_unresolved() {
    assert_eq!(
        world("allowlist", "off")
            .al(&["/usr/bin/nope"])
            .outcome(&argv(&["/usr/bin/nope"])),
        "miss"
    );
}

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

#[test]
fn case_068_no_unicode_normalisation() {
    assert_eq!(
        world("allowlist", "off")
            .al(&["/usr/bin/rg"])
            .outcome(&argv(&["/usr/bin/ｒg"])),
        "miss"
    );
}

#[test]
fn case_069_raw_command_must_match_exact_argv() {
    let mut r = argv(&["rg ", "-n"]);
    r.raw_command = Some("rg -n".into());
    let d = world("full", "off").decide(&r);
    assert_eq!(d.outcome, Outcome::Invalid);
    assert_eq!(d.message, "rawCommand does not match command");
    assert_eq!(d.command_text, "\"rg \" -n");
}

// ---- Wrappers ----

#[test]
fn case_071_transparent_env_is_dropped() {
    let d = world("allowlist", "off")
        .al(&[])
        .decide(&argv(&["env", "tr", "a", "b"]));
    assert_eq!(d.outcome, Outcome::Allow);
    assert_eq!(d.exec_argv, vec!["/usr/bin/tr", "a", "b"]);
}

#[test]
fn case_072_env_assignment_blocks() {
    assert_eq!(
        world("allowlist", "off")
            .al(&["/usr/bin/tr"])
            .outcome(&argv(&["env", "FOO=bar", "tr", "a", "b"])),
        "miss"
    );
}

#[test]
fn case_073_blocked_env_assignment_is_invalid_even_in_full() {
    let d = world("full", "off").decide(&argv(&["env", "LD_PRELOAD=/tmp/x.so", "/usr/bin/id"]));
    assert_eq!(d.outcome, Outcome::Invalid);
    assert_eq!(
        d.message,
        "SYSTEM_RUN_DENIED: command env assignment rejected (blocked env assignment keys: LD_PRELOAD)"
    );
}

#[test]
fn case_074_shellopts_ps4_assignments_invalid() {
    let d = world("full", "off").decide(&argv(&[
        "/usr/bin/env",
        "SHELLOPTS=xtrace",
        "PS4=$(id)",
        "bash",
        "-lc",
        "echo ok",
    ]));
    assert_eq!(d.outcome, Outcome::Invalid);
    assert!(
        d.message
            .ends_with("(blocked env assignment keys: PS4, SHELLOPTS)"),
        "{}",
        d.message
    );
}

#[test]
fn case_075_env_split_string_blocks() {
    let w = world("allowlist", "off").al(&["/usr/bin/env"]);
    assert_eq!(
        w.outcome(&argv(&["env", "-S", "sh -c \"echo pwned\""])),
        "miss"
    );
}

#[test]
fn case_076_sudo_always_blocked() {
    let r = argv(&["sudo", "/usr/bin/id"]);
    assert_eq!(
        world("allowlist", "off")
            .al(&["/usr/bin/id", "/usr/bin/sudo"])
            .outcome(&r),
        "miss"
    );
    assert_eq!(
        world("allowlist", "on-miss")
            .al(&["/usr/bin/id", "/usr/bin/sudo"])
            .outcome(&r),
        "ask"
    );
}

#[test]
fn case_078_transparent_nice() {
    let d = world("allowlist", "off")
        .al(&["/usr/bin/rg"])
        .decide(&argv(&["nice", "-n", "5", "rg", "x"]));
    assert_eq!(d.outcome, Outcome::Allow);
    assert_eq!(d.exec_argv, vec!["/usr/bin/rg", "x"]);
}

#[test]
fn case_079_timeout_consumes_duration() {
    let w = world("allowlist", "off").al(&["/usr/bin/rg"]);
    let d = w.decide(&argv(&["timeout", "10", "rg", "x"]));
    assert_eq!(d.outcome, Outcome::Allow);
    assert_eq!(d.exec_argv, vec!["/usr/bin/rg", "x"]);
    assert_eq!(w.outcome(&argv(&["timeout", "rg"])), "miss");
}

#[test]
fn case_080_unknown_nohup_option_blocks() {
    assert_eq!(
        world("allowlist", "off")
            .al(&["/usr/bin/rg"])
            .outcome(&argv(&["nohup", "--foo", "rg"])),
        "miss"
    );
}

#[test]
fn case_081_too_many_dispatch_levels() {
    let w = world("allowlist", "on-miss").al(&["/usr/bin/env"]);
    let d = w.decide(&argv(&[
        "env", "env", "env", "env", "env", "/bin/sh", "-c", "echo x",
    ]));
    assert_eq!(d.outcome, Outcome::Ask);
}

#[test]
fn case_082_busybox_shell_needs_inner_allowlisted() {
    assert_eq!(
        world("allowlist", "off")
            .al(&["/usr/bin/busybox"])
            .outcome(&argv(&["busybox", "sh", "-c", "id"])),
        "miss"
    );
}

#[test]
fn case_083_busybox_non_shell_applet_blocked() {
    assert_eq!(
        world("allowlist", "off")
            .al(&["/usr/bin/busybox"])
            .outcome(&argv(&["busybox", "wget", "http://x"])),
        "miss"
    );
}

#[test]
fn case_085_inline_chain_fallback() {
    let d = world("allowlist", "off")
        .al(&["/usr/bin/rg"])
        .decide(&argv(&["/bin/sh", "-c", "rg a && head -n 1"]));
    assert_eq!(d.outcome, Outcome::Allow);
    assert_eq!(
        d.exec_argv,
        vec!["/bin/sh", "-c", "rg a && '/usr/bin/head' '-n' '1'"]
    );
}

#[test]
fn case_086_top_level_transport_vs_nested_single_command() {
    let w = world("allowlist", "off").al(&["/usr/bin/rg"]);
    assert_eq!(w.outcome(&argv(&["/bin/bash", "-c", "rg a"])), "allow");
    assert_eq!(w.outcome(&sh("sh -c 'rg a'")), "miss");
    // A nested chain is recursed.
    assert_eq!(w.outcome(&sh("sh -c 'rg a && rg b'")), "allow");
}

#[test]
fn case_087_untrusted_shell_is_not_a_transport() {
    let mut w = world("allowlist", "on-miss").al(&[]);
    w.fs.add_exe("/home/u/sh");
    let r = argv(&["./sh", "-lc", "/bin/echo hi"]);
    let d = w.decide(&r);
    assert_eq!(d.outcome, Outcome::Ask);
    assert!(!d.transport);
    let mut w2 = world("allowlist", "on-miss").al(&["/bin/echo"]);
    w2.fs.add_exe("/home/u/sh");
    assert_eq!(w2.outcome(&r), "ask");
}

#[test]
fn case_088_positional_carrier() {
    let w = world("allowlist", "off").al(&["/usr/bin/touch"]);
    assert_eq!(
        w.outcome(&sh("sh -c '$0 \"$1\"' /usr/bin/touch /tmp/m")),
        "allow"
    );
    let top = argv(&["/bin/sh", "-lc", "$0 \"$1\"", "/usr/bin/touch", "/tmp/m"]);
    assert_eq!(w.outcome(&top), "miss");
}

#[test]
fn case_089_script_path_in_payload() {
    let mut w = world("allowlist", "off").al(&["/home/u/p/check.sh"]);
    w.fs.add_exe("/home/u/p/check.sh");
    let mut r = sh("./check.sh --limit 5");
    r.cwd = Some("/home/u/p".into());
    assert_eq!(w.outcome(&r), "allow");
}

#[test]
fn case_090_shell_script_form_and_env_reduction() {
    let mut w = world("allowlist", "off").al(&["/home/u/p/script.sh"]);
    w.fs.add_file("/home/u/p/script.sh", b"echo hi", false);
    let mut r = argv(&["/bin/sh", "./script.sh"]);
    r.cwd = Some("/home/u/p".into());
    r.env.insert("LANG".into(), "C".into());
    r.env.insert("OPENCLAW_TEST".into(), "1".into());
    let d = w.decide(&r);
    assert_eq!(d.outcome, Outcome::Allow, "{:?}", d.segments);
    assert_eq!(env_of(&d, "LANG").as_deref(), Some("C"));
    assert_eq!(env_of(&d, "OPENCLAW_TEST"), None);
}

#[test]
fn case_092_cmd_transport_behind_env_needs_approval() {
    let w = world("allowlist", "on-miss").al(&["C:\\p\\check.cmd"]);
    let r = argv(&[
        "env",
        "FOO=bar",
        "cmd.exe",
        "/d",
        "/s",
        "/c",
        "C:\\p\\check.cmd",
    ]);
    assert_eq!(w.outcome(&r), "ask");
}

#[test]
fn case_093_powershell_encoded_command_needs_approval() {
    let mut w = world("allowlist", "on-miss").al(&["/usr/bin/pwsh"]);
    w.fs.add_exe("/usr/bin/pwsh");
    assert_eq!(
        w.outcome(&argv(&["pwsh", "-EncodedCommand", "ZQBjAGgAbwA="])),
        "ask"
    );
    assert_eq!(w.outcome(&argv(&["pwsh", "/ec", "ZQBjAGgAbwA="])), "ask");
}

// ---- Safe bins ----

#[test]
fn case_094_safe_bin_payload_is_literalised() {
    let d = world("allowlist", "off").al(&[]).decide(&sh("head -n 5"));
    assert_eq!(d.outcome, Outcome::Allow);
    assert_eq!(
        d.exec_argv[2],
        format!("{PATH_CARRIER_PREFIX}'/usr/bin/head' '-n' '5'")
    );
}

#[test]
fn case_095_path_positional_rejected() {
    assert_eq!(
        world("allowlist", "off")
            .al(&[])
            .outcome(&sh("head /etc/passwd")),
        "miss"
    );
}

#[test]
fn case_096_glob_token_rejected() {
    assert_eq!(
        world("allowlist", "off").al(&[]).outcome(&sh("head *")),
        "miss"
    );
}

#[test]
fn case_097_expansion_tokens_rejected() {
    let w = world("allowlist", "off").al(&[]);
    assert_eq!(
        w.outcome(&sh("head -c${IFS}16${IFS}${OPENCLAW_CONFIG_PATH}")),
        "miss"
    );
}

#[test]
fn case_099_wc_profile() {
    let w = world("allowlist", "off").al(&[]);
    assert_eq!(w.outcome(&sh("wc -l")), "allow");
    assert_eq!(w.outcome(&sh("wc -Z")), "miss");
    assert_eq!(w.outcome(&sh("wc --lines=5")), "miss");
    assert_eq!(w.outcome(&sh("wc --files0-from=x")), "miss");
    assert_eq!(w.outcome(&sh("wc --files0-fro=x")), "miss");
}

#[test]
fn case_100_tr_profile() {
    let w = world("allowlist", "off").al(&[]);
    assert_eq!(w.outcome(&sh("tr a b")), "allow");
    assert_eq!(w.outcome(&sh("tr")), "miss");
    assert_eq!(w.outcome(&sh("tr a b c")), "miss");
    assert_eq!(w.outcome(&sh("tr -S a b")), "miss");
    assert_eq!(w.outcome(&sh("tr -d abc")), "allow");
}

#[test]
fn case_101_cut_stdin_dash() {
    let w = world("allowlist", "off").al(&[]);
    assert_eq!(w.outcome(&sh("cut -f1 -- -")), "allow");
    assert_eq!(w.outcome(&sh("cut -f1 -- ../x")), "miss");
}

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

#[test]
fn case_103_grep_opt_in_profile() {
    let w = world("allowlist", "off").al(&[]).safe_bin("grep");
    assert_eq!(w.outcome(&sh("grep -e needle")), "allow");
    assert_eq!(w.outcome(&sh("grep needle")), "miss");
    assert_eq!(w.outcome(&sh("grep -e KEY .env")), "miss");
    assert_eq!(w.outcome(&sh("grep -r x")), "miss");
    assert_eq!(w.outcome(&sh("grep -e n -- ../s.txt")), "miss");
    assert_eq!(w.outcome(&sh("grep -e n -- -")), "allow");
}

#[test]
fn case_104_jq_never_safe() {
    let w = world("allowlist", "off").al(&[]).safe_bin("jq");
    assert_eq!(w.outcome(&sh("jq .")), "miss");
    assert_eq!(w.outcome(&sh("jq -n env")), "miss");
}

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

// ---- Skills ----

fn skills_world(auto: bool) -> World {
    let mut w = world("allowlist", "on-miss")
        .file(json!({"version":1, "defaults": {"autoAllowSkills": auto}, "agents": {}}));
    w.fs.add_exe("/usr/local/bin/gog");
    w.path = "/usr/local/bin:/usr/bin:/bin".into();
    w.skills = vec![SkillTrust {
        name: "gog".into(),
        resolved_path: "/usr/local/bin/gog".into(),
    }];
    w
}

#[test]
fn case_108_skill_bin_allowed() {
    let d = skills_world(true).decide(&argv(&["gog", "calendar"]));
    assert_eq!(d.outcome, Outcome::Allow);
    assert_eq!(d.segments[0].satisfied_by.as_ref().unwrap().by, "skills");
}

#[test]
fn case_109_path_selected_skill_tokens_never_trusted() {
    let w = skills_world(true);
    let mut r = argv(&["./gog"]);
    r.cwd = Some("/usr/local/bin".into());
    assert_eq!(w.outcome(&r), "ask");
    assert_eq!(w.outcome(&argv(&["/usr/local/bin/gog"])), "ask");
}

#[test]
fn case_110_skills_off() {
    assert_eq!(
        skills_world(false).outcome(&argv(&["gog", "calendar"])),
        "ask"
    );
}

// ---- Inline eval ----

#[test]
fn case_111_strict_inline_eval_requires_approval_in_full() {
    let d = world("full", "off")
        .strict()
        .decide(&argv(&["python3", "-c", "print(1)"]));
    assert_eq!(d.outcome, Outcome::Ask);
    assert_eq!(d.reason, "approval-required");
    assert!(
        d.message
            .contains("python3 -c requires explicit approval in strictInlineEval mode"),
        "{}",
        d.message
    );
}

#[test]
fn case_113_strict_allow_always_inline_persists_nothing() {
    let w = world("full", "off").strict();
    let r = w.approved(&argv(&["python3", "-c", "print(1)"]), "allow-always");
    let d = w.decide(&r);
    assert_eq!(d.outcome, Outcome::Allow, "{}", d.message);
    assert!(d.persist_patterns.is_empty());
}

#[test]
fn case_114_strict_allow_always_awk_file_program() {
    let mut w = world("allowlist", "on-miss").al(&[]).strict();
    w.fs.add_file("/home/u/script.awk", b"{print}", false);
    let r = w.approved(
        &argv(&["awk", "-F", ",", "-f", "script.awk", "data.csv"]),
        "allow-always",
    );
    let d = w.decide(&r);
    assert_eq!(d.outcome, Outcome::Allow, "{}", d.message);
    assert_eq!(d.persist_patterns, vec!["/usr/bin/awk"]);
    let w2 = world("allowlist", "on-miss").al(&["/usr/bin/awk"]).strict();
    let d2 = w2.decide(&argv(&["awk", "BEGIN{print 1}"]));
    assert_eq!(d2.outcome, Outcome::Ask);
    assert!(d2.message.contains("awk inline program"), "{}", d2.message);
}

#[test]
fn case_115_strict_off_path_match_only() {
    assert_eq!(
        world("allowlist", "off")
            .al(&["/usr/bin/python3"])
            .outcome(&argv(&["python3", "-c", "import os"])),
        "allow"
    );
}

#[test]
fn case_116_interpreters_not_persisted_without_strict() {
    let mut w = world("allowlist", "on-miss").al(&[]);
    w.fs.add_file("/home/u/script.py", b"print(1)", false);
    let r = w.approved(&argv(&["python3", "script.py"]), "allow-always");
    assert!(r.plan.as_ref().unwrap().get("mutableFileOperand").is_some());
    let d = w.decide(&r);
    assert_eq!(d.outcome, Outcome::Allow, "{}", d.message);
    assert!(d.persist_patterns.is_empty());
}

#[test]
fn case_117_deny_wins_over_inline_eval() {
    assert_eq!(
        world("deny", "off")
            .strict()
            .outcome(&argv(&["python3", "-c", "1"])),
        "off"
    );
}

// ---- Environment ----

#[test]
fn case_118_override_reaches_child() {
    let mut r = argv(&["/usr/bin/env"]);
    r.env.insert("FOO".into(), "1".into());
    let d = world("full", "off").decide(&r);
    assert_eq!(d.outcome, Outcome::Allow);
    assert_eq!(env_of(&d, "FOO").as_deref(), Some("1"));
    assert_eq!(env_of(&d, "OPENCLAW_CLI").as_deref(), Some("1"));
}

#[test]
fn case_120_blocked_prefix_rejected() {
    let mut r = argv(&["/usr/bin/id"]);
    r.env.insert("DYLD_INSERT_LIBRARIES".into(), "x".into());
    assert_eq!(world("full", "off").outcome(&r), "invalid");
}

#[test]
fn case_121_non_portable_key_rejected() {
    let mut r = argv(&["/usr/bin/id"]);
    r.env.insert("BAD-KEY".into(), "x".into());
    let d = world("full", "off").decide(&r);
    assert_eq!(
        d.message,
        "SYSTEM_RUN_DENIED: environment override rejected (invalid non-portable override keys: BAD-KEY)"
    );
}

#[test]
fn case_122_override_only_keys_rejected() {
    for k in [
        "HOME",
        "GIT_SSH_COMMAND",
        "NPM_CONFIG_REGISTRY",
        "CLASSPATH",
    ] {
        let mut r = argv(&["/usr/bin/id"]);
        r.env.insert(k.into(), "x".into());
        assert_eq!(world("full", "off").outcome(&r), "invalid", "{k}");
    }
}

#[test]
fn case_123_rejection_before_shell_filtering() {
    let mut r = sh("echo ok");
    r.env.insert("CLASSPATH".into(), "/x".into());
    r.env.insert("LANG".into(), "C".into());
    assert_eq!(world("full", "off").outcome(&r), "invalid");
}

#[test]
fn case_124_shell_wrapper_env_reduction() {
    let mut r = sh("echo ok");
    r.env.insert("LANG".into(), "C".into());
    r.env.insert("MY_VAR".into(), "1".into());
    let d = world("full", "off").decide(&r);
    assert_eq!(d.outcome, Outcome::Allow);
    assert_eq!(env_of(&d, "LANG").as_deref(), Some("C"));
    assert_eq!(env_of(&d, "MY_VAR"), None);
}

#[test]
fn case_125_dangerous_inherited_env_stripped() {
    let mut w = world("full", "off");
    w.inherited
        .push(("NODE_OPTIONS".into(), "--require /tmp/x".into()));
    w.inherited.push(("BASH_ENV".into(), "/tmp/x".into()));
    w.inherited.push(("LD_PRELOAD".into(), "/tmp/x.so".into()));
    w.inherited.push(("KEEP_ME".into(), "1".into()));
    let d = w.decide(&argv(&["/usr/bin/id"]));
    assert_eq!(env_of(&d, "NODE_OPTIONS"), None);
    assert_eq!(env_of(&d, "BASH_ENV"), None);
    assert_eq!(env_of(&d, "LD_PRELOAD"), None);
    assert_eq!(env_of(&d, "KEEP_ME").as_deref(), Some("1"));
    assert_eq!(env_of(&d, "PATH").as_deref(), Some(PATH));
}

// ---- Approval binding ----

#[test]
fn case_127_plan_argv_mismatch_is_invalid() {
    let r = approved_once(
        argv(&["/usr/bin/id", "-u"]),
        plan_for(&["/usr/bin/id", "-g"], None),
    );
    let mut r = r;
    r.argv = vec!["/usr/bin/id".into(), "-u".into()];
    let d = world("allowlist", "on-miss").decide(&r);
    assert_eq!(d.outcome, Outcome::Invalid);
    assert_eq!(
        d.message,
        "explicit approval requires matching systemRunPlan"
    );
}

fn approved_in(cwd: &str) -> RunRequest {
    let mut r = approved_once(
        argv(&["/usr/bin/id"]),
        plan_for(&["/usr/bin/id"], Some(cwd)),
    );
    r.cwd = Some(cwd.into());
    r
}

#[test]
fn case_128_symlink_cwd_denied() {
    let mut w = world("allowlist", "on-miss");
    w.fs.add_dir("/home/u/real", true);
    w.fs.add_symlink("/home/u/link", "/home/u/real");
    let d = w.decide(&approved_in("/home/u/link"));
    assert_eq!(d.outcome, Outcome::Denied);
    assert_eq!(
        d.message,
        "SYSTEM_RUN_DENIED: approval requires canonical cwd (no symlink cwd)"
    );
}

#[test]
fn case_129_symlinked_parent_denied() {
    let mut w = world("allowlist", "on-miss");
    w.fs.add_dir("/home/u/realdir/sub", true);
    w.fs.add_symlink("/home/u/ln", "/home/u/realdir");
    let d = w.decide(&approved_in("/home/u/ln/sub"));
    assert_eq!(
        d.message,
        "SYSTEM_RUN_DENIED: approval requires canonical cwd (no symlink path components)"
    );
}

#[test]
fn case_130_missing_cwd_denied() {
    let d = world("allowlist", "on-miss").decide(&approved_in("/home/u/gone"));
    assert_eq!(d.outcome, Outcome::Denied);
    assert_eq!(
        d.message,
        "SYSTEM_RUN_DENIED: approval requires an existing canonical cwd"
    );
}

#[test]
fn case_131_script_operand_bound_by_hash() {
    let mut w = world("allowlist", "on-miss").al(&[]);
    w.fs.add_dir("/home/u/p", true);
    w.fs.add_file("/home/u/p/run.sh", b"echo one", false);
    let mut base = argv(&["/bin/sh", "./run.sh"]);
    base.cwd = Some("/home/u/p".into());
    let r = w.approved(&base, "allow-once");
    assert_eq!(w.outcome(&r), "allow");
    w.fs.add_file("/home/u/p/run.sh", b"echo two", false);
    let d = w.decide(&r);
    assert_eq!(d.outcome, Outcome::Denied);
    assert_eq!(
        d.message,
        "SYSTEM_RUN_DENIED: approval script operand changed before execution"
    );
}

#[test]
fn case_132_missing_operand_binding_denied() {
    let mut w = world("allowlist", "on-miss").al(&[]);
    w.fs.add_file("/home/u/run.ts", b"console.log(1)", false);
    let r = approved_once(
        argv(&["/usr/bin/tsx", "./run.ts"]),
        plan_for(&["/usr/bin/tsx", "./run.ts"], None),
    );
    let d = w.decide(&r);
    assert_eq!(
        d.message,
        "SYSTEM_RUN_DENIED: approval missing script operand binding"
    );
}

#[test]
fn case_134_prepare_refuses_unbindable_interpreter() {
    let w = world("allowlist", "on-miss");
    let err = openclaw_node::policy::decide::prepare(
        &argv(&["python3", "-m", "http.server"]),
        &w.requested,
        PATH,
        &w.fs,
    )
    .unwrap_err();
    assert_eq!(
        err,
        "SYSTEM_RUN_DENIED: approval cannot safely bind this interpreter/runtime command"
    );
}

#[test]
fn case_135_approved_path_token_pinned_to_canonical() {
    let mut w = world("allowlist", "on-miss").al(&[]);
    w.fs.add_symlink("/usr/bin/poccmd", "/bin/echo");
    let r = w.approved(&argv(&["poccmd", "hi"]), "allow-once");
    assert_eq!(r.argv[0], "/bin/echo");
    let d = w.decide(&r);
    assert_eq!(d.exec_argv[0], "/bin/echo");
    // A plan bound to the bare token is pinned at run time as well.
    let r2 = approved_once(argv(&["poccmd", "hi"]), plan_for(&["poccmd", "hi"], None));
    let d2 = w.decide(&r2);
    assert_eq!(d2.outcome, Outcome::Allow);
    assert_eq!(d2.exec_argv, vec!["/bin/echo", "hi"]);
}

// ---- Limits and odd input ----

#[test]
fn case_148_nul_in_payload_is_invalid() {
    let err = plan::decode(&json!({"command": ["/bin/sh", "-lc", "echo a\u{0}b"]})).unwrap_err();
    assert!(err.contains("NUL"), "{err}");
}

#[test]
fn case_149_oversized_payload_is_invalid() {
    let big = "a".repeat(5 * 1024 * 1024);
    let err = plan::decode(&json!({"command": ["/bin/sh", "-lc", big]})).unwrap_err();
    assert!(err.contains("too large"), "{err}");
}

#[test]
fn case_151_timeout_passes_to_the_plan() {
    let r = plan::decode(&json!({"command": ["/usr/bin/sleep", "5"], "timeoutMs": 100})).unwrap();
    assert_eq!(r.timeout_ms, Some(100));
    let r0 = plan::decode(&json!({"command": ["/usr/bin/sleep", "5"], "timeoutMs": null})).unwrap();
    assert_eq!(r0.timeout_ms, None);
}

#[test]
fn case_152_screen_recording_denied_on_headless_node() {
    let mut r = argv(&["/usr/bin/id"]);
    r.needs_screen_recording = true;
    let d = world("full", "off").decide(&r);
    assert_eq!(d.outcome, Outcome::Denied);
    assert_eq!(d.reason, "permission:screenRecording");
    assert_eq!(d.message, "PERMISSION_MISSING: screenRecording");
}
