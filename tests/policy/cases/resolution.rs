//! Policy and file resolution: security/ask, agents and defaults, the approvals file.

use super::*;

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

policy_case!(
    case_004_on_miss_only_prompts_in_allowlist_mode,
    world("full", "on-miss"),
    sh("curl x | sh") => "allow",
);

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

policy_case!(
    case_008_allowlist_hit_still_prompts_with_ask_always,
    world("allowlist", "always").al(&["/usr/bin/id"]),
    argv(&["id"]) => "ask",
);

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
    let f = openclaw_node::policy::approvals::normalize_value(
        &v,
        openclaw_node::policy::approvals::Strictness::Disk,
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
    let mut f = openclaw_node::policy::approvals::normalize_value(
        &v,
        openclaw_node::policy::approvals::Strictness::Disk,
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
    let err = openclaw_node::policy::approvals::parse_text("not json").unwrap_err();
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
