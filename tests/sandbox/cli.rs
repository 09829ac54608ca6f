//! `openclaw-node sandbox check` and the configuration/usage paths of `openclaw-node exec`
//! (the policy-dependent paths are covered once the policy engine decides for real).

use crate::support::sandbox::*;
use assert_cmd::Command;

fn node(state: &std::path::Path) -> Command {
    let mut c = Command::cargo_bin("openclaw-node").unwrap();
    c.env("OPENCLAW_STATE_DIR", state)
        .env("HOME", state)
        .env("RUST_LOG", "warn");
    c
}

#[test]
fn sandbox_check_json_reports_kernel_and_profiles() {
    let state = tempfile::tempdir().unwrap();
    let out = node(state.path())
        .args(["sandbox", "check", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["configuredProfile"], "standard");
    let names: Vec<&str> = v["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["standard", "strict", "off"]);
    assert_eq!(
        v["profiles"][2]["enforceable"], true,
        "off is always enforceable"
    );
    let enforceable = v["configuredProfileEnforceable"].as_bool().unwrap();
    assert_eq!(out.status.code(), Some(if enforceable { 0 } else { 1 }));
    if require(enforceable, "an enforceable standard profile") {
        let abi = v["kernel"]["landlockAbi"].as_i64().unwrap();
        assert!(abi >= 3);
        assert_eq!(v["kernel"]["seccompFilter"], true);
        // The rights the rulesets mediate follow the kernel's ABI, each named.
        let rights: Vec<&str> = v["landlockRights"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        assert!(rights.contains(&"truncate"), "{rights:?}");
        assert_eq!(rights.contains(&"ioctl on devices"), abi >= 5, "{rights:?}");
        assert_eq!(
            rights.contains(&"signals and abstract UNIX sockets scoped to the run"),
            abi >= 6,
            "{rights:?}"
        );
        assert_eq!(
            rights.contains(&"connect to pathname UNIX sockets"),
            abi >= 9,
            "{rights:?}"
        );
    }
    // With the view (or as root, where there is no fallback) the UNIX socket rule never
    // applies and the check says nothing about it.
    if !v["kernel"]["view"].is_null() || nix::unistd::geteuid().is_root() {
        assert!(v["fallbackUnixSockets"].is_null(), "{v}");
        let out = node(state.path())
            .args(["sandbox", "check"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(!text.contains("UNIX socket creation"), "{text}");
    }
    require(v["treeKill"] == "cgroup-v2", "cgroup v2 tree kill");
    require(!v["pidsBound"].is_null(), "a pids bound");
}

#[test]
fn sandbox_check_text_names_the_configured_profile() {
    let state = tempfile::tempdir().unwrap();
    std::fs::write(
        state.path().join("node-host.json5"),
        "{ sandbox: { profile: 'off' } }",
    )
    .unwrap();
    let out = node(state.path())
        .args(["sandbox", "check"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("* off"), "{text}");
    assert!(text.contains("Landlock:"), "{text}");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn invalid_sandbox_config_names_file_and_key() {
    let state = tempfile::tempdir().unwrap();
    std::fs::write(
        state.path().join("node-host.json5"),
        "{ sandbox: { writableRoots: ['/no/such/dir/here'] } }",
    )
    .unwrap();
    for args in [vec!["sandbox", "check"], vec!["exec", "--", "/bin/true"]] {
        let out = node(state.path()).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(78), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("node-host.json5"), "{err}");
        assert!(err.contains("sandbox.writableRoots"), "{err}");
    }
}

#[test]
fn exec_rejects_unknown_profile_and_empty_command() {
    let state = tempfile::tempdir().unwrap();
    let out = node(state.path())
        .args(["exec", "--profile", "paranoid", "--", "/bin/true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("paranoid"));
    let out = node(state.path()).args(["exec"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn sandbox_check_reports_the_spawn_path() {
    let state = tempfile::tempdir().unwrap();
    let out = node(state.path())
        .args(["sandbox", "check", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let path = v["kernel"]["spawnPath"].as_str().unwrap();
    assert!(path == "clone3" || path == "fork", "{path}");
    let notes = v["kernel"]["cgroup"]["notes"].as_array().unwrap();
    assert!(
        notes
            .iter()
            .any(|n| n.as_str().unwrap().starts_with("spawn: ")),
        "{notes:?}"
    );
    require(path == "clone3", "the clone3 spawn path");

    std::fs::write(
        state.path().join("node-host.json5"),
        "{ sandbox: { useClone3: false } }",
    )
    .unwrap();
    let out = node(state.path())
        .args(["sandbox", "check", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["kernel"]["spawnPath"], "fork");
}
