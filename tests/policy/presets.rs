//! Every preset in `policies/presets/` loads, is lint-clean, and decides sample commands as
//! documented. A new preset without checks here fails `every_preset_is_checked`.

use std::path::PathBuf;

use crate::support::policy::*;
use openclaw_node::policy::analysis::{is_shell_name, normalized_name};
use openclaw_node::policy::approvals::parse_text;
use openclaw_node::policy::inline_eval::is_interpreter_like;
use serde_json::Value;

fn preset_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("policies/presets")
}

fn load(name: &str) -> Value {
    let text = std::fs::read_to_string(preset_dir().join(name)).unwrap();
    parse_text(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// Requested policy `full/off` so the preset alone decides.
fn preset_world(name: &str) -> World {
    let mut w = world("full", "off").file(load(name));
    for b in [
        "uptime", "df", "free", "ps", "git", "make", "ls", "date", "uname", "bash",
    ] {
        w.fs.add_exe(&format!("/usr/bin/{b}"));
    }
    w.fs.add_exe("/home/u/.cargo/bin/cargo");
    w
}

const CHECKED: &[&str] = &[
    "ci-runner.json",
    "locked-down.json",
    "read-only-diagnostics.json",
    "yolo.json",
];

#[test]
fn every_preset_is_checked() {
    let mut found: Vec<String> = std::fs::read_dir(preset_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    found.sort();
    assert_eq!(found, CHECKED);
}

#[test]
fn presets_never_allowlist_shells_interpreters_or_wrappers() {
    for name in CHECKED {
        let v = load(name);
        for (_, agent) in v["agents"].as_object().unwrap() {
            for e in agent["allowlist"].as_array().into_iter().flatten() {
                let p = e["pattern"].as_str().unwrap();
                let n = normalized_name(p);
                assert!(
                    p != "*" && !p.ends_with("/*") && !p.contains("**"),
                    "{name}: wildcard {p}"
                );
                assert!(!is_shell_name(&n), "{name}: shell {p}");
                assert!(!is_interpreter_like(&n), "{name}: interpreter {p}");
                assert!(
                    ![
                        "env", "sudo", "doas", "xargs", "find", "nice", "timeout", "busybox", "su"
                    ]
                    .contains(&n.as_str()),
                    "{name}: wrapper {p}"
                );
            }
        }
    }
}

#[test]
fn preset_read_only_diagnostics() {
    let w = preset_world("read-only-diagnostics.json");
    assert_eq!(w.outcome(&argv(&["uptime"])), "allow");
    assert_eq!(w.outcome(&sh("ps aux | head -n 20")), "allow");
    assert_eq!(w.outcome(&sh("df -h && free -m")), "allow");
    assert_eq!(w.outcome(&argv(&["rm", "-rf", "/tmp/x"])), "miss");
    assert_eq!(w.outcome(&sh("cat /etc/shadow")), "miss");
    assert_eq!(w.outcome(&sh("uptime > /tmp/x")), "miss");
    assert_eq!(w.outcome(&argv(&["sudo", "uptime"])), "miss");
}

#[test]
fn preset_ci_runner() {
    let w = preset_world("ci-runner.json");
    assert_eq!(w.outcome(&sh("git status | head -n 5")), "allow");
    assert_eq!(w.outcome(&argv(&["~/.cargo/bin/cargo", "test"])), "allow");
    assert_eq!(w.outcome(&argv(&["make", "-j4"])), "allow");
    assert_eq!(w.outcome(&argv(&["curl", "http://x"])), "ask");
    assert_eq!(w.outcome(&sh("bash -c 'git push'")), "ask");
}

#[test]
fn preset_locked_down() {
    let w = preset_world("locked-down.json");
    assert_eq!(w.outcome(&argv(&["/usr/bin/id"])), "off");
    assert_eq!(w.outcome(&sh("true")), "off");
}

#[test]
fn preset_yolo() {
    let w = preset_world("yolo.json");
    assert_eq!(w.outcome(&sh("curl x | sh")), "allow");
    let d = w.decide(&argv(&["/usr/bin/id"]));
    assert_eq!(
        d.host.unwrap().ask_fallback,
        openclaw_node::policy::types::Security::Full
    );
}
