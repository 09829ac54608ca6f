//! Dispatch wrappers and shell transports.

use super::*;

#[test]
fn case_071_transparent_env_is_dropped() {
    let d = world("allowlist", "off")
        .al(&[])
        .decide(&argv(&["env", "tr", "a", "b"]));
    assert_eq!(d.outcome, Outcome::Allow);
    assert_eq!(d.exec_argv, vec!["/usr/bin/tr", "a", "b"]);
}

policy_case!(
    case_072_env_assignment_blocks,
    world("allowlist", "off").al(&["/usr/bin/tr"]),
    argv(&["env", "FOO=bar", "tr", "a", "b"]) => "miss",
);

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

policy_case!(
    case_075_env_split_string_blocks,
    world("allowlist", "off").al(&["/usr/bin/env"]),
    argv(&["env", "-S", "sh -c \"echo pwned\""]) => "miss",
);

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

policy_case!(
    case_080_unknown_nohup_option_blocks,
    world("allowlist", "off").al(&["/usr/bin/rg"]),
    argv(&["nohup", "--foo", "rg"]) => "miss",
);

#[test]
fn case_081_too_many_dispatch_levels() {
    let w = world("allowlist", "on-miss").al(&["/usr/bin/env"]);
    let d = w.decide(&argv(&[
        "env", "env", "env", "env", "env", "/bin/sh", "-c", "echo x",
    ]));
    assert_eq!(d.outcome, Outcome::Ask);
}

policy_case!(
    case_082_busybox_shell_needs_inner_allowlisted,
    world("allowlist", "off").al(&["/usr/bin/busybox"]),
    argv(&["busybox", "sh", "-c", "id"]) => "miss",
);

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
