//! The approvals store: EA §19 cases 136–144 (remote editing) and the store invariants (atomic
//! 0600 writes, symlink refusal, limits, fail-closed invalid content, hashes, redaction).

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use openclaw_node::policy::approvals::{
    EMPTY_HASH, FileStatus, MAX_ENTRIES, MAX_FILE_BYTES, Store, hash_bytes, parse_text,
};
use openclaw_node::policy::{PolicyEngine, PolicyPaths, RunDecision};
use serde_json::{Value, json};

struct Env {
    _dir: tempfile::TempDir,
    state: PathBuf,
    path: PathBuf,
}

fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let path = state.join("exec-approvals.json");
    Env {
        state,
        path,
        _dir: dir,
    }
}

fn engine(e: &Env) -> PolicyEngine {
    PolicyEngine::new(
        PolicyPaths {
            approvals: e.path.clone(),
            state_dir: e.state.clone(),
        },
        "/usr/bin:/bin".into(),
    )
    .with_config(json!({"tools": {"exec": {"security": "allowlist", "ask": "on-miss"}}}))
    .with_legacy_approvals(None)
}

fn token_on_disk(e: &Env) -> Option<String> {
    let v: Value = serde_json::from_slice(&std::fs::read(&e.path).unwrap()).unwrap();
    v["socket"]["token"].as_str().map(str::to_string)
}

#[test]
fn case_136_fresh_get_creates_file_and_redacts_token() {
    let e = env();
    let got = engine(&e).approvals_get(&json!({})).unwrap();
    assert_eq!(got["exists"], true);
    let bytes = std::fs::read(&e.path).unwrap();
    assert_eq!(got["hash"], hash_bytes(&bytes));
    assert_eq!(got["file"]["version"], 1);
    assert_eq!(got["file"]["defaults"], json!({}));
    assert_eq!(got["file"]["agents"], json!({}));
    assert!(
        got["file"]["socket"]["path"]
            .as_str()
            .unwrap()
            .ends_with("exec-approvals.sock")
    );
    assert!(got["file"]["socket"].get("token").is_none());
    assert!(token_on_disk(&e).is_some_and(|t| t.len() == 32));
}

#[test]
fn case_137_set_with_current_hash_preserves_token() {
    let e = env();
    let eng = engine(&e);
    let got = eng.approvals_get(&json!({})).unwrap();
    let token = token_on_disk(&e);
    let file = json!({"version": 1, "agents": {"main": {"allowlist": ["/usr/bin/rg"]}}});
    let out = eng
        .approvals_set(&json!({"file": file, "baseHash": got["hash"]}))
        .unwrap();
    assert_ne!(out["hash"], got["hash"]);
    assert_eq!(token_on_disk(&e), token);
    assert_eq!(
        out["file"]["agents"]["main"]["allowlist"][0]["pattern"],
        "/usr/bin/rg"
    );
    assert!(out["file"]["agents"]["main"]["allowlist"][0]["id"].is_string());
}

#[test]
fn case_138_stale_base_hash_rejected_file_untouched() {
    let e = env();
    let eng = engine(&e);
    eng.approvals_get(&json!({})).unwrap();
    let before = std::fs::read(&e.path).unwrap();
    let err = eng
        .approvals_set(&json!({"file": {"version": 1}, "baseHash": EMPTY_HASH}))
        .unwrap_err();
    assert_eq!(err.kind.wire_code(), "INVALID_REQUEST");
    assert_eq!(err.message, "exec approvals changed; reload and retry");
    assert_eq!(std::fs::read(&e.path).unwrap(), before);
}

#[test]
fn case_139_missing_base_hash_on_existing_file() {
    let e = env();
    let eng = engine(&e);
    eng.approvals_get(&json!({})).unwrap();
    let err = eng
        .approvals_set(&json!({"file": {"version": 1}}))
        .unwrap_err();
    assert_eq!(
        err.message,
        "exec approvals base hash required; reload and retry"
    );
    let err = eng.approvals_set(&json!({"baseHash": "x"})).unwrap_err();
    assert_eq!(err.message, "exec approvals file required");
}

#[test]
fn case_141_remote_socket_token_is_ignored() {
    let e = env();
    let eng = engine(&e);
    let got = eng.approvals_get(&json!({})).unwrap();
    let token = token_on_disk(&e).unwrap();
    let file = json!({"version": 1, "socket": {"token": "attacker"}});
    eng.approvals_set(&json!({"file": file, "baseHash": got["hash"]}))
        .unwrap();
    assert_eq!(token_on_disk(&e).unwrap(), token);
}

#[test]
fn case_142_symlinked_target_refused() {
    let e = env();
    std::fs::create_dir_all(&e.state).unwrap();
    let victim = e.state.join("victim.json");
    std::fs::write(&victim, "{}").unwrap();
    std::os::unix::fs::symlink(&victim, &e.path).unwrap();
    let store = Store::new(e.path.clone());
    let hash = store.read_snapshot().unwrap().hash;
    let err = store
        .set_remote(&json!({"version": 1}), Some(&hash))
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("Refusing to write exec approvals via symlink"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "{}");
}

#[test]
fn case_142_symlinked_parent_dir_refused() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real");
    std::fs::create_dir_all(&real).unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    std::os::unix::fs::symlink(&real, home.join(".openclaw")).unwrap();
    let store = Store::new(home.join(".openclaw/exec-approvals.json")).with_home(Some(home));
    let err = store.ensure().unwrap_err();
    assert!(
        err.to_string().starts_with("Refusing to traverse symlink"),
        "{err}"
    );
    assert!(!real.join("exec-approvals.json").exists());
}

#[test]
fn case_143_written_file_is_0600_dir_0700_canonical_json() {
    let e = env();
    engine(&e).approvals_get(&json!({})).unwrap();
    let mode = std::fs::metadata(&e.path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let dmode = std::fs::metadata(&e.state).unwrap().permissions().mode() & 0o777;
    assert_eq!(dmode, 0o700);
    let text = std::fs::read_to_string(&e.path).unwrap();
    assert!(text.ends_with("}\n"));
    assert!(text.starts_with("{\n  \"version\": 1,"), "{text}");
    // No temp files left behind.
    let leftovers: Vec<_> = std::fs::read_dir(&e.state)
        .unwrap()
        .filter_map(|d| d.ok())
        .filter(|d| d.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn case_144_hand_edited_file_rewritten_canonically() {
    let e = env();
    std::fs::create_dir_all(&e.state).unwrap();
    let raw = r#"{"version":1,"agents":{"main":{"allowlist":["/usr/bin/rg"]}}}"#;
    std::fs::write(&e.path, raw).unwrap();
    let got = engine(&e).approvals_get(&json!({})).unwrap();
    let bytes = std::fs::read(&e.path).unwrap();
    assert_ne!(bytes, raw.as_bytes());
    assert_ne!(got["hash"], hash_bytes(raw.as_bytes()));
    assert_eq!(got["hash"], hash_bytes(&bytes));
    assert_eq!(
        got["file"]["agents"]["main"]["allowlist"][0]["pattern"],
        "/usr/bin/rg"
    );
}

#[test]
fn store_hash_is_sha256_of_bytes_on_disk_and_missing_is_empty_hash() {
    let e = env();
    let store = Store::new(e.path.clone());
    let snap = store.read_snapshot().unwrap();
    assert!(!snap.exists);
    assert_eq!(snap.hash, EMPTY_HASH);
    std::fs::create_dir_all(&e.state).unwrap();
    let raw = "{ \"version\": 1 }";
    std::fs::write(&e.path, raw).unwrap();
    assert_eq!(
        store.read_snapshot().unwrap().hash,
        hash_bytes(raw.as_bytes())
    );
}

#[test]
fn store_set_on_missing_file_accepts_empty_hash_only() {
    let e = env();
    let store = Store::new(e.path.clone());
    assert!(
        store
            .set_remote(&json!({"version": 1}), Some("abc"))
            .is_err()
    );
    assert!(!e.path.exists());
    store
        .set_remote(&json!({"version": 2}), Some(EMPTY_HASH))
        .unwrap();
    let v: Value = serde_json::from_slice(&std::fs::read(&e.path).unwrap()).unwrap();
    assert_eq!(v["version"], 1, "remote version is forced to 1");
}

#[test]
fn store_limit_file_size() {
    let big = format!(
        "{{\"version\":1,\"pad\":\"{}\"}}",
        "x".repeat(MAX_FILE_BYTES)
    );
    let err = parse_text(&big).unwrap_err();
    assert!(err.contains("limit"), "{err}");
    let e = env();
    std::fs::create_dir_all(&e.state).unwrap();
    std::fs::write(&e.path, &big).unwrap();
    let snap = Store::new(e.path.clone()).read_snapshot().unwrap();
    assert!(matches!(snap.status, FileStatus::Invalid(_)));
    assert_eq!(snap.hash.len(), 64);
}

#[test]
fn store_limit_nul_bytes() {
    let err = parse_text("{\"version\":1}\u{0}").unwrap_err();
    assert!(err.contains("NUL"), "{err}");
    let e = env();
    let err = Store::new(e.path.clone())
        .set_remote(
            &json!({"version": 1, "agents": {"main": {"allowlist": ["/bin/a\u{0}b"]}}}),
            None,
        )
        .unwrap_err();
    assert!(err.to_string().contains("NUL"), "{err}");
}

#[test]
fn store_limit_entry_count() {
    let list: Vec<String> = (0..=MAX_ENTRIES)
        .map(|i| format!("/usr/bin/t{i}"))
        .collect();
    let text = json!({"version": 1, "agents": {"main": {"allowlist": list}}}).to_string();
    let err = parse_text(&text).unwrap_err();
    assert!(err.contains("allowlist entries"), "{err}");
}

/// D08a (DIFFERENCES.md): an enum with surrounding whitespace on disk fails strict validation
/// and the file fails closed, as the official host does; only a remote `set` is normalised.
#[test]
fn store_padded_enum_on_disk_fails_closed() {
    let e = env();
    std::fs::create_dir_all(&e.state).unwrap();
    let raw = r#"{"version":1,"defaults":{"security":"full","ask":" on-miss "}}"#;
    std::fs::write(&e.path, raw).unwrap();
    let eng = engine(&e);
    match eng.evaluate_run(&json!({"command": ["/usr/bin/true"]})) {
        RunDecision::Denied { reason, .. } => assert_eq!(reason.as_str(), "security=deny"),
        other => panic!("{other:?}"),
    }
    let snap = Store::new(e.path.clone()).read_snapshot().unwrap();
    match snap.status {
        FileStatus::Invalid(m) => assert!(m.contains("defaults.ask"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn store_invalid_content_fails_closed_and_is_never_rewritten() {
    let e = env();
    std::fs::create_dir_all(&e.state).unwrap();
    let raw = r#"{"version":1,"defaults":{"security":"FULL"},"agents":{"main":{"allowlist":["/usr/bin/rg"]}}}"#;
    std::fs::write(&e.path, raw).unwrap();
    let eng = engine(&e);
    let got = eng.approvals_get(&json!({})).unwrap();
    assert_eq!(got["exists"], true);
    assert_eq!(got["hash"], hash_bytes(raw.as_bytes()));
    assert_eq!(got["file"]["defaults"]["security"], "deny");
    assert_eq!(
        std::fs::read_to_string(&e.path).unwrap(),
        raw,
        "user content kept"
    );
    match eng.evaluate_run(&json!({"command": ["/usr/bin/true"]})) {
        RunDecision::Denied { reason, .. } => assert_eq!(reason.as_str(), "security=deny"),
        other => panic!("{other:?}"),
    }
    let snap = Store::new(e.path.clone()).read_snapshot().unwrap();
    match snap.status {
        FileStatus::Invalid(m) => assert!(m.contains("defaults.security"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn store_wrong_types_are_invalid_with_a_clear_message() {
    for (text, needle) in [
        (r#"{"version":2}"#, "version"),
        (r#"{"version":1,"agents":[]}"#, "agents"),
        (
            r#"{"version":1,"defaults":{"autoAllowSkills":"yes"}}"#,
            "autoAllowSkills",
        ),
        (
            r#"{"version":1,"agents":{"main":{"allowlist":[{"pattern":"/x","lastUsedAt":"now"}]}}}"#,
            "lastUsedAt",
        ),
        (
            r#"{"version":1,"agents":{"main":{"allowlist":[7]}}}"#,
            "allowlist[0]",
        ),
    ] {
        let err = parse_text(text).unwrap_err();
        assert!(err.contains(needle), "{text}: {err}");
    }
}

#[test]
fn store_never_silently_drops_entries_or_agent_fields() {
    let v = json!({"version": 1, "agents": {"main": {
        "allowlist": [{"pattern": "/usr/bin/rg", "note": "keep"}, "/usr/bin/jq", {"pattern": " "}],
        "denylist": ["curl"], "custom": 1}}});
    let f = parse_text(&v.to_string()).unwrap();
    let out = f.to_value();
    let list = out["agents"]["main"]["allowlist"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["note"], "keep");
    assert_eq!(out["agents"]["main"]["denylist"], json!(["curl"]));
    assert_eq!(out["agents"]["main"]["custom"], 1);
}

#[test]
fn store_redaction_removes_only_the_token() {
    let f = parse_text(r#"{"version":1,"socket":{"path":"/s","token":"t"}}"#).unwrap();
    let r = f.redacted().to_value();
    assert_eq!(r["socket"], json!({"path": "/s"}));
}

#[test]
fn store_legacy_fallback_is_read_only() {
    let e = env();
    let legacy_dir = e.state.parent().unwrap().join("legacy");
    std::fs::create_dir_all(&legacy_dir).unwrap();
    let legacy = legacy_dir.join("exec-approvals.json");
    std::fs::write(&legacy, r#"{"version":1,"defaults":{"security":"full"}}"#).unwrap();
    let store = Store::new(e.path.clone()).with_legacy(Some(legacy.clone()));
    let snap = store.read_snapshot().unwrap();
    assert!(matches!(snap.status, FileStatus::Legacy(_)));
    assert!(!snap.exists);
    assert_eq!(
        snap.file.defaults.security,
        Some(openclaw_node::policy::types::Security::Full)
    );
    std::fs::write(&legacy, "garbage").unwrap();
    let snap = store.read_snapshot().unwrap();
    assert_eq!(
        snap.file.defaults.ask,
        Some(openclaw_node::policy::types::Ask::Always)
    );
    assert!(!e.path.exists());
}

#[test]
fn engine_allow_always_appends_entry_and_allow_once_leaves_file() {
    let e = env();
    let eng = engine(&e);
    eng.approvals_get(&json!({})).unwrap();
    let before = std::fs::read(&e.path).unwrap();
    let prepared = eng.prepare(&json!({"command": ["/bin/true"]})).unwrap();
    let plan = prepared["plan"].clone();
    let params = |decision: &str| {
        json!({"command": plan["argv"], "approved": true, "approvalDecision": decision,
               "systemRunPlan": plan})
    };
    assert!(matches!(
        eng.evaluate_run(&params("allow-once")),
        RunDecision::Allowed { .. }
    ));
    assert_eq!(
        std::fs::read(&e.path).unwrap(),
        before,
        "case 9: file unchanged"
    );
    assert!(matches!(
        eng.evaluate_run(&params("allow-always")),
        RunDecision::Allowed { .. }
    ));
    let v: Value = serde_json::from_slice(&std::fs::read(&e.path).unwrap()).unwrap();
    let entry = &v["agents"]["main"]["allowlist"][0];
    let real = std::fs::canonicalize("/bin/true").unwrap();
    assert_eq!(entry["pattern"], real.to_string_lossy().as_ref());
    assert!(entry["id"].is_string());
    assert!(entry["lastUsedAt"].is_number());
    // Now the allowlist alone allows it and records use.
    match eng.evaluate_run(&json!({"command": ["/bin/true"]})) {
        RunDecision::Allowed { plan, .. } => assert_eq!(plan.argv[0], real.to_string_lossy()),
        other => panic!("{other:?}"),
    }
    let v: Value = serde_json::from_slice(&std::fs::read(&e.path).unwrap()).unwrap();
    assert_eq!(
        v["agents"]["main"]["allowlist"][0]["lastUsedCommand"],
        "/bin/true"
    );
}

#[test]
fn engine_recompiles_only_when_hash_changes() {
    let e = env();
    let eng = engine(&e);
    eng.approvals_get(&json!({})).unwrap();
    let a = eng.compiled();
    let b = eng.compiled();
    assert!(std::sync::Arc::ptr_eq(&a, &b));
    let snap = eng.approvals_get(&json!({})).unwrap();
    eng.approvals_set(
        &json!({"file": {"version": 1, "agents": {"main": {"allowlist": ["/usr/bin/rg"]}}},
        "baseHash": snap["hash"]}),
    )
    .unwrap();
    let c = eng.compiled();
    assert!(!std::sync::Arc::ptr_eq(&a, &c));
}

#[test]
fn engine_screen_recording_and_identity() {
    let e = env();
    let eng =
        engine(&e).with_config(json!({"tools": {"exec": {"security": "full", "ask": "off"}}}));
    match eng.evaluate_run(
        &json!({"command": ["/bin/true"], "needsScreenRecording": true,
        "sessionKey": "s1", "runId": "r1"}),
    ) {
        RunDecision::Denied {
            reason,
            message,
            run,
        } => {
            assert_eq!(reason.as_str(), "permission:screenRecording");
            assert_eq!(message, "PERMISSION_MISSING: screenRecording");
            assert_eq!(run.session_key, "s1");
            assert_eq!(run.run_id, "r1");
            assert_eq!(run.command_text, "/bin/true");
        }
        other => panic!("{other:?}"),
    }
}
