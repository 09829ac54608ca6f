//! "What runs is exactly what was analysed": hostile `system.run` params get a clear answer,
//! and a shell payload is allowlist-satisfied only when the analysis determines the argv the
//! shell will execute (DIFFERENCES.md, "Soundness rule"). One named test per pinned case.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod policy_common;

use openclaw_node::policy::{PolicyEngine, PolicyPaths, RunDecision, plan};
use serde_json::{Value, json};

fn decode_timeout(t: Value) -> Result<Option<u64>, String> {
    plan::decode(&json!({"command": ["/usr/bin/sleep", "5"], "timeoutMs": t})).map(|r| r.timeout_ms)
}

#[test]
fn timeout_ms_null_means_absent() {
    assert_eq!(decode_timeout(Value::Null), Ok(None));
    let r = plan::decode(&json!({"command": ["/usr/bin/sleep", "5"]})).unwrap();
    assert_eq!(r.timeout_ms, None);
}

#[test]
fn timeout_ms_positive_number_is_kept_and_fractions_round_up() {
    assert_eq!(decode_timeout(json!(100)), Ok(Some(100)));
    assert_eq!(decode_timeout(json!(0.5)), Ok(Some(1)));
    assert_eq!(decode_timeout(json!(99.2)), Ok(Some(100)));
}

#[test]
fn timeout_ms_zero_is_invalid_request() {
    let e = decode_timeout(json!(0)).unwrap_err();
    assert!(e.contains("timeoutMs must be a positive number"), "{e}");
    assert!(decode_timeout(json!(0.0)).is_err());
}

#[test]
fn timeout_ms_negative_is_invalid_request() {
    for t in [json!(-1), json!(-0.5), json!(i64::MIN)] {
        let e = decode_timeout(t.clone()).unwrap_err();
        assert!(
            e.contains("timeoutMs must be a positive number"),
            "{t}: {e}"
        );
    }
}

#[test]
fn timeout_ms_non_number_is_invalid_request() {
    for (t, kind) in [
        (json!("x"), "a string"),
        (json!("100"), "a string"),
        (json!({}), "an object"),
        (json!([100]), "an array"),
        (json!(true), "a boolean"),
    ] {
        let e = decode_timeout(t.clone()).unwrap_err();
        assert!(
            e.contains("timeoutMs must be a positive number"),
            "{t}: {e}"
        );
        assert!(e.contains(kind), "{t}: {e}");
    }
}

#[test]
fn timeout_ms_invalid_reaches_the_caller_as_invalid_request() {
    // Through the node's whole pipeline: full/off would run anything, so only the params decide.
    let dir = tempfile::tempdir().unwrap();
    let engine = PolicyEngine::new(
        PolicyPaths {
            approvals: dir.path().join("exec-approvals.json"),
            state_dir: dir.path().to_path_buf(),
        },
        policy_common::PATH.into(),
    )
    .with_config(json!({"tools": {"exec": {"security": "full", "ask": "off"}}}))
    .with_legacy_approvals(None);
    for t in [json!(0), json!(-5), json!("x"), json!({})] {
        match engine.evaluate_run(&json!({"command": ["/usr/bin/true"], "timeoutMs": t})) {
            RunDecision::Invalid { message, .. } => {
                assert!(
                    message.starts_with("timeoutMs must be a positive number"),
                    "{message}"
                )
            }
            other => panic!("{t}: expected INVALID_REQUEST, got {other:?}"),
        }
    }
    assert!(matches!(
        engine.evaluate_run(&json!({"command": ["/usr/bin/true"], "timeoutMs": null})),
        RunDecision::Allowed { .. }
    ));
}
