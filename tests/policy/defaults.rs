//! The node's policy defaults end to end through `PolicyEngine::evaluate_run`: a fresh node
//! (no approvals file, no `tools.exec`) only runs what its allowlist allows, while an approvals
//! file saying `security: full` takes effect without touching `openclaw.json` — as
//! `openclaw approvals --node … set` expects on the official host.

use openclaw_node::policy::{PolicyEngine, PolicyPaths, RunDecision};
use serde_json::json;

fn engine(state: &std::path::Path) -> PolicyEngine {
    PolicyEngine::new(
        PolicyPaths {
            approvals: state.join("exec-approvals.json"),
            state_dir: state.to_path_buf(),
        },
        "/usr/bin:/bin".into(),
    )
}

fn outcome(d: &RunDecision) -> String {
    match d {
        RunDecision::Invalid { message, .. } => format!("invalid: {message}"),
        RunDecision::Denied { reason, .. } => format!("denied: {reason}"),
        RunDecision::Allowed { .. } => "allowed".into(),
    }
}

#[test]
fn fresh_node_asks_for_unlisted_commands() {
    let dir = tempfile::tempdir().unwrap();
    let d = engine(dir.path()).evaluate_run(&json!({"command": ["/bin/echo", "hi"]}));
    assert_eq!(outcome(&d), "denied: approval-required");
}

#[test]
fn approvals_file_full_is_honoured_without_tools_exec() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("exec-approvals.json"),
        r#"{"version":1,"defaults":{"security":"full","ask":"off"},"agents":{}}"#,
    )
    .unwrap();
    let d = engine(dir.path()).evaluate_run(&json!({"command": ["/bin/echo", "hi"]}));
    assert_eq!(outcome(&d), "allowed");
}

#[test]
fn tools_exec_is_the_fallback_when_the_file_is_silent() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("openclaw.json"),
        r#"{ tools: { exec: { security: "deny" } } }"#,
    )
    .unwrap();
    let d = engine(dir.path()).evaluate_run(&json!({"command": ["/bin/echo", "hi"]}));
    assert_eq!(outcome(&d), "denied: security=deny");
}

#[test]
fn tools_exec_caps_a_permissive_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("openclaw.json"),
        r#"{ tools: { exec: { security: "allowlist", ask: "off" } } }"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("exec-approvals.json"),
        r#"{"version":1,"defaults":{"security":"full","ask":"off"},"agents":{}}"#,
    )
    .unwrap();
    let d = engine(dir.path()).evaluate_run(&json!({"command": ["/bin/echo", "hi"]}));
    assert_eq!(outcome(&d), "denied: allowlist-miss");
}

/// The sandbox and fault suites (and their helper binaries) build only with the `test-helpers`
/// feature; the suite's own command (scripts/test-all.sh) enables it. A CI run without it would
/// silently skip them, so it fails here instead.
#[test]
#[cfg(not(feature = "test-helpers"))]
fn ci_runs_the_suite_with_the_test_helpers_feature() {
    assert_ne!(
        std::env::var("CI").as_deref(),
        Ok("true"),
        "run the tests with --features test-helpers (scripts/test-all.sh does)"
    );
}
