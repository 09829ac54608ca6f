//! Inline eval (`strictInlineEval`).

use super::*;

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

policy_case!(
    case_115_strict_off_path_match_only,
    world("allowlist", "off").al(&["/usr/bin/python3"]),
    argv(&["python3", "-c", "import os"]) => "allow",
);

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

policy_case!(
    case_117_deny_wins_over_inline_eval,
    world("deny", "off").strict(),
    argv(&["python3", "-c", "1"]) => "off",
);
