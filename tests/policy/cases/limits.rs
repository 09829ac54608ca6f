//! Limits and odd input.

use super::*;

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
