//! End-to-end flows of `install`/`status`/`stop`/`restart`/`uninstall` against a fake
//! `systemctl --user` (see `support::service`), asserting recorded calls, files, modes, JSON
//! envelopes and exit codes.
#![cfg(target_os = "linux")]

use crate::support::service::{Lab, assert_in_order, mode};

const UNIT: &str = "openclaw-node.service";

fn installed_lab() -> Lab {
    let lab = Lab::new().with_env("OPENCLAW_GATEWAY_TOKEN", "tok-SECRET-123");
    let r = lab.run(&["install", "--host", "10.1.2.3", "--port", "18790", "--json"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    lab.take_calls();
    lab
}

#[test]
fn install_writes_unit_env_file_node_json_and_starts() {
    let lab = Lab::new()
        .with_env("OPENCLAW_GATEWAY_TOKEN", "tok-SECRET-123")
        .with_env("HTTPS_PROXY", "http://user:pw@proxy:3128");
    let r = lab.run(&[
        "install",
        "--host",
        "10.1.2.3",
        "--port",
        "18790",
        "--display-name",
        "Build 01",
        "--json",
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let v = r.json();
    assert_eq!(v["ok"], true);
    assert_eq!(v["action"], "install");
    assert_eq!(v["result"], "installed");
    assert_eq!(v["service"]["label"], "systemd");
    assert_eq!(v["service"]["loaded"], true);
    assert_eq!(v["service"]["loadedText"], "enabled");
    assert_eq!(v["service"]["notLoadedText"], "disabled");
    assert!(v.get("error").is_none());

    let calls = lab.take_calls();
    assert_in_order(
        &calls,
        &[
            "systemctl --user show --property=Version",
            "systemctl --user daemon-reload",
            &format!("systemctl --user enable {UNIT}"),
            &format!("systemctl --user restart {UNIT}"),
        ],
    );

    // Unit: 0644, absolute program, flags, hardened restart policy, no secret inline.
    let unit = std::fs::read_to_string(lab.unit_path()).unwrap();
    assert_eq!(mode(&lab.unit_path()), 0o644);
    let exe = assert_cmd::cargo::cargo_bin("openclaw-node");
    let exe = std::fs::canonicalize(exe).unwrap();
    assert!(
        unit.contains(&format!(
            "ExecStart={} run --host 10.1.2.3 --port 18790 --display-name \"Build 01\"\n",
            exe.display()
        )),
        "{unit}"
    );
    for line in [
        "Restart=on-failure",
        "RestartPreventExitStatus=78",
        "KillMode=control-group",
        "WantedBy=default.target",
    ] {
        assert!(unit.contains(line), "missing {line}:\n{unit}");
    }
    assert!(unit.contains(&format!("EnvironmentFile=-{}", lab.env_file().display())));
    assert!(!unit.contains("tok-SECRET-123"), "secret inline:\n{unit}");
    assert!(
        !unit.contains("user:pw"),
        "proxy credentials inline:\n{unit}"
    );

    // Env file: 0600 with the secrets.
    assert_eq!(mode(&lab.env_file()), 0o600);
    let env = std::fs::read_to_string(lab.env_file()).unwrap();
    assert!(
        env.contains("OPENCLAW_GATEWAY_TOKEN=tok-SECRET-123\n"),
        "{env}"
    );
    assert!(
        env.contains("HTTPS_PROXY=http://user:pw@proxy:3128\n"),
        "{env}"
    );

    // node.json: 0600, only what was given.
    let nj = lab.state_dir().join("node.json");
    assert_eq!(mode(&nj), 0o600);
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&nj).unwrap()).unwrap();
    assert_eq!(doc["gateway"]["host"], "10.1.2.3");
    assert_eq!(doc["gateway"]["port"], 18790);
    assert_eq!(doc["displayName"], "Build 01");
    assert!(doc.get("nodeId").is_none());

    // The secret never reaches stdout.
    assert!(!r.stdout.contains("tok-SECRET-123"));
}

#[test]
fn install_text_mode_reports_paths() {
    let lab = Lab::new();
    let r = lab.run(&["install"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains(&format!(
            "Installed systemd service: {}",
            lab.unit_path().display()
        )),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("Node service installed and started (ws://127.0.0.1:18789).")
    );
    // No flags given: nothing recorded in node.json (run records it), defaults in the unit.
    assert!(!lab.state_dir().join("node.json").exists());
    let unit = std::fs::read_to_string(lab.unit_path()).unwrap();
    assert!(
        unit.contains(" run --host 127.0.0.1 --port 18789\n"),
        "{unit}"
    );
}

#[test]
fn install_again_without_force_changes_nothing() {
    let lab = installed_lab();
    let before = std::fs::read_to_string(lab.unit_path()).unwrap();
    let r = lab.run(&["install", "--host", "other.example", "--json"]);
    assert_eq!(r.code, 0);
    let v = r.json();
    assert_eq!(v["ok"], true);
    assert_eq!(v["result"], "already-installed");
    assert_eq!(v["message"], "Node service already enabled.");
    assert!(v["hints"][0].as_str().unwrap().contains("install --force"));
    let calls = lab.take_calls();
    assert!(
        !calls.iter().any(|c| c.contains("daemon-reload")
            || c.contains(" restart ")
            || c.contains(" enable ")),
        "{calls:#?}"
    );
    assert_eq!(std::fs::read_to_string(lab.unit_path()).unwrap(), before);
    let doc = std::fs::read_to_string(lab.state_dir().join("node.json")).unwrap();
    assert!(!doc.contains("other.example"));
    // Text mode says how to reinstall.
    let r = lab.run(&["install"]);
    assert!(
        r.stdout.contains("Node service already enabled."),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("Reinstall with: openclaw-node install --force")
    );
}

#[test]
fn install_force_rewrites_backs_up_and_restarts() {
    let lab = installed_lab();
    // An operator line in the env file survives the reinstall (complaint 14).
    let mut env = std::fs::read_to_string(lab.env_file()).unwrap();
    env.push_str("MY_EXTRA=keep\n");
    std::fs::write(lab.env_file(), env).unwrap();
    let before = std::fs::read_to_string(lab.unit_path()).unwrap();

    let lab = Lab {
        env: vec![("OPENCLAW_GATEWAY_TOKEN".into(), "tok-NEW".into())],
        ..lab
    };
    let r = lab.run(&["install", "--force", "--host", "10.9.9.9", "--json"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json()["result"], "installed");
    let calls = lab.take_calls();
    assert_in_order(
        &calls,
        &[
            "systemctl --user daemon-reload",
            &format!("systemctl --user enable {UNIT}"),
            &format!("systemctl --user restart {UNIT}"),
        ],
    );
    let unit = std::fs::read_to_string(lab.unit_path()).unwrap();
    assert!(
        unit.contains("--host 10.9.9.9 --port 18790"),
        "saved port kept:\n{unit}"
    );
    let bak = lab.unit_path().with_extension("service.bak");
    assert_eq!(std::fs::read_to_string(&bak).unwrap(), before);
    let env = std::fs::read_to_string(lab.env_file()).unwrap();
    assert!(env.contains("OPENCLAW_GATEWAY_TOKEN=tok-NEW\n"), "{env}");
    assert!(!env.contains("tok-SECRET-123"));
    assert!(env.contains("MY_EXTRA=keep\n"), "{env}");
    assert_eq!(mode(&lab.env_file()), 0o600);
}

#[test]
fn complaint_17_install_preserves_unknown_node_json_fields() {
    let lab = Lab::new();
    std::fs::create_dir_all(lab.state_dir()).unwrap();
    let nj = lab.state_dir().join("node.json");
    std::fs::write(
        &nj,
        r#"{"version":1,"nodeId":"n-1","token":"legacy","custom":{"x":1},"gateway":{"host":"old","contextPath":"/gw"}}"#,
    )
    .unwrap();
    let r = lab.run(&["install", "--tls", "--json"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&nj).unwrap()).unwrap();
    assert_eq!(doc["nodeId"], "n-1");
    assert_eq!(doc["token"], "legacy");
    assert_eq!(doc["custom"]["x"], 1);
    assert_eq!(doc["gateway"]["host"], "old");
    assert_eq!(doc["gateway"]["contextPath"], "/gw");
    assert_eq!(doc["gateway"]["tls"], true);
    assert_eq!(mode(&nj), 0o600);
    let unit = std::fs::read_to_string(lab.unit_path()).unwrap();
    assert!(
        unit.contains(" run --host old --port 18789 --tls\n"),
        "{unit}"
    );
}

#[test]
fn install_refuses_corrupt_node_json() {
    let lab = Lab::new();
    std::fs::create_dir_all(lab.state_dir()).unwrap();
    std::fs::write(lab.state_dir().join("node.json"), "{broken").unwrap();
    let r = lab.run(&["install", "--json"]);
    assert_eq!(r.code, 1);
    let v = r.json();
    assert_eq!(v["ok"], false);
    assert!(v["error"].as_str().unwrap().contains("node.json"), "{v}");
    assert!(!lab.unit_path().exists());
}

#[test]
fn runtime_node_and_bun_warn_other_values_are_usage_errors() {
    let lab = Lab::new();
    let r = lab.run(&["install", "--runtime", "bun", "--json"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let v = r.json();
    assert!(
        v["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("--runtime bun has no effect")),
        "{v}"
    );
    let lab = Lab::new();
    let r = lab.run(&["install", "--runtime", "deno", "--json"]);
    assert_eq!(r.code, 2);
    let v = r.json();
    assert_eq!(v["ok"], false);
    assert!(v["error"].as_str().unwrap().contains("Invalid --runtime"));
    assert!(lab.take_calls().is_empty(), "usage errors touch nothing");
    assert!(!lab.unit_path().exists());
    let r = lab.run(&["install", "--runtime", "deno"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("Invalid --runtime"));
    assert!(r.stdout.is_empty());
}

#[test]
fn invalid_fingerprint_is_a_usage_error() {
    let lab = Lab::new();
    let r = lab.run(&["install", "--tls-fingerprint", "not-a-sha", "--json"]);
    assert_eq!(r.code, 2);
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("--tls-fingerprint")
    );
    let fp = "AB:".repeat(31) + "AB";
    let r = lab.run(&[
        "install",
        "--host",
        "10.0.0.1",
        "--tls-fingerprint",
        &fp,
        "--json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let unit = std::fs::read_to_string(lab.unit_path()).unwrap();
    assert!(
        unit.contains(&format!("--tls --tls-fingerprint {fp}")),
        "{unit}"
    );
}

#[test]
fn complaint_12_linger_off_is_warned() {
    let lab = Lab::new();
    lab.set("linger", "no\n");
    let r = lab.run(&["install", "--json"]);
    assert_eq!(r.code, 0);
    let v = r.json();
    let warnings: Vec<&str> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("Systemd lingering is disabled for")
                && w.contains("sudo loginctl enable-linger")),
        "{warnings:#?}"
    );
    // Also on the already-installed path.
    let r = lab.run(&["install", "--json"]);
    assert!(r.stdout.contains("Systemd lingering is disabled"));
}

#[test]
fn complaint_13_no_user_bus_fails_with_hints_and_writes_nothing() {
    let mut lab = Lab::new();
    lab.set("nobus", "");
    lab.xdg_runtime = false;
    let r = lab.run(&["install", "--json"]);
    assert_eq!(r.code, 1);
    let v = r.json();
    assert_eq!(v["ok"], false);
    let err = v["error"].as_str().unwrap();
    assert!(err.contains("systemctl --user unavailable"), "{err}");
    assert!(err.contains("XDG_RUNTIME_DIR is not set"), "{err}");
    assert!(err.contains("No medium found"), "{err}");
    let hints: Vec<&str> = v["hints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    assert!(
        hints
            .iter()
            .any(|h| h.contains("export XDG_RUNTIME_DIR=/run/user/$(id -u)")),
        "{hints:#?}"
    );
    assert!(!lab.unit_path().exists());
    assert!(!lab.env_file().exists());
    // Text mode: the error and `Tip:` lines on stderr, nothing on stdout.
    let r = lab.run(&["install"]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert!(r.stderr.contains("systemctl --user unavailable"));
    assert!(
        r.stderr
            .contains("Tip: export XDG_RUNTIME_DIR=/run/user/$(id -u)")
    );
}

#[test]
fn complaint_13_user_manager_not_running() {
    let lab = Lab::new();
    lab.set("nobus", "");
    let r = lab.run(&["install", "--json"]);
    assert_eq!(r.code, 1);
    let v = r.json();
    let err = v["error"].as_str().unwrap();
    assert!(err.contains("no user manager bus at"), "{err}");
    let hints = v["hints"].to_string();
    assert!(hints.contains("systemctl start user@"), "{hints}");
}

#[test]
fn missing_systemctl_is_explained() {
    let mut lab = Lab::new();
    let empty = lab.root().join("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    lab.path = Some(empty.display().to_string());
    let r = lab.run(&["install", "--json"]);
    assert_eq!(r.code, 1);
    let v = r.json();
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .starts_with("systemctl not available"),
        "{v}"
    );
    assert!(
        v["hints"][0]
            .as_str()
            .unwrap()
            .contains("openclaw-node run")
    );
}

mod control;
mod status;
