//! Environment overrides and the child environment.

use super::*;

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
