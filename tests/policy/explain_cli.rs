//! `openclaw-node policy explain`: JSON shape, exit codes, read-only behaviour.

use assert_cmd::Command;
use serde_json::Value;

fn cmd(dir: &std::path::Path) -> Command {
    let mut c = Command::cargo_bin("openclaw-node").unwrap();
    c.env("HOME", dir)
        .env("OPENCLAW_STATE_DIR", dir.join("state"))
        .env_remove("OPENCLAW_CONFIG_PATH")
        .env_remove("RUST_LOG");
    c
}

fn approvals(dir: &std::path::Path, body: &str) -> std::path::PathBuf {
    let p = dir.join("ap.json");
    std::fs::write(&p, body).unwrap();
    p
}

#[test]
fn explain_json_has_exactly_the_documented_keys() {
    let dir = tempfile::tempdir().unwrap();
    let ap = approvals(
        dir.path(),
        r#"{"version":1,"defaults":{"security":"allowlist","ask":"off"},"agents":{"main":{"allowlist":["/bin/*","/usr/bin/*"]}}}"#,
    );
    let out = cmd(dir.path())
        .args(["policy", "explain", "--json", "--approvals"])
        .arg(&ap)
        .args(["--path", "/usr/bin:/bin", "--shell", "true && head -n 1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "decision",
            "effective",
            "execArgv",
            "message",
            "reason",
            "segments"
        ]
    );
    assert_eq!(v["decision"], "allow");
    assert_eq!(v["effective"]["security"], "allowlist");
    assert_eq!(v["effective"]["securitySource"], "defaults.security");
    assert_eq!(v["segments"].as_array().unwrap().len(), 2);
    assert_eq!(v["execArgv"][0], "/bin/sh");
    assert!(
        !dir.path().join("state").exists(),
        "explain must not create state"
    );
}

#[test]
fn explain_reports_miss_and_requested_policy() {
    let dir = tempfile::tempdir().unwrap();
    let ap = approvals(dir.path(), r#"{"version":1,"agents":{}}"#);
    let out = cmd(dir.path())
        .args([
            "policy",
            "explain",
            "--json",
            "--security",
            "allowlist",
            "--ask",
            "off",
            "--approvals",
        ])
        .arg(&ap)
        .args([
            "--path",
            "/usr/bin:/bin",
            "--",
            "/usr/bin/env",
            "FOO=1",
            "true",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["decision"], "miss");
    assert_eq!(v["reason"], "allowlist-miss");
    assert_eq!(v["effective"]["securitySource"], "--security");
    assert!(v["segments"][0]["blocked"].is_string());
}

#[test]
fn explain_invalid_request_and_human_output() {
    let dir = tempfile::tempdir().unwrap();
    let ap = approvals(dir.path(), r#"{"version":1}"#);
    let out = cmd(dir.path())
        .args([
            "policy",
            "explain",
            "--json",
            "--env",
            "LD_PRELOAD=x",
            "--approvals",
        ])
        .arg(&ap)
        .args(["--", "/bin/true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["decision"], "invalid");
    let out = cmd(dir.path())
        .args(["policy", "explain", "--approvals"])
        .arg(&ap)
        .args(["--shell", "echo $(id)"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    // No flags and a silent file: the node's conservative built-in allowlist/on-miss applies.
    assert!(text.starts_with("decision: ASK"), "{text}");
    assert!(
        text.contains("security=allowlist (from built-in)"),
        "{text}"
    );
    let out = cmd(dir.path())
        .args(["policy", "explain", "--security", "full", "--approvals"])
        .arg(&ap)
        .args(["--shell", "echo $(id)"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("decision: ALLOW"), "{text}");
    assert!(text.contains("security=full (from --security)"), "{text}");
}

#[test]
fn explain_usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = cmd(dir.path())
        .args(["policy", "explain"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = cmd(dir.path())
        .args(["policy", "explain", "--security", "bogus", "--", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = cmd(dir.path())
        .args(["policy", "explain", "--env", "NOEQUALS", "--", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
