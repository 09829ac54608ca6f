//! Approval binding: plans, cwd, argv0 pinning, script operands, allow-always.

use super::*;

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
