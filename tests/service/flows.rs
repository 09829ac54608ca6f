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

#[test]
fn status_json_reports_service_and_connection() {
    let lab = installed_lab();
    let pid = std::process::id();
    let status = serde_json::json!({
        "pid": pid, "state": "pairing", "since": 1_795_600_000_000_i64,
        "updatedAt": 1_795_600_001_000_i64, "lastError": "pairing required",
        "gateway": {"host": "10.1.2.3", "port": 18790, "tls": false},
        "nodeId": "node-abc", "displayName": null, "requestId": "req-77"
    });
    std::fs::write(
        lab.state_dir().join("node-host-status.json"),
        status.to_string(),
    )
    .unwrap();
    let r = lab.run(&["status", "--json"]);
    assert_eq!(r.code, 0);
    let v = r.json();
    let s = &v["service"];
    assert_eq!(s["label"], "systemd");
    assert_eq!(s["loaded"], true);
    assert_eq!(s["loadedText"], "enabled");
    assert_eq!(s["notLoadedText"], "disabled");
    assert_eq!(s["installed"], true);
    assert_eq!(s["unitPath"], lab.unit_path().display().to_string());
    let argv = s["command"]["programArguments"].as_array().unwrap();
    assert_eq!(argv[1], "run");
    assert_eq!(argv[3], "10.1.2.3");
    assert_eq!(
        s["command"]["sourcePath"],
        lab.unit_path().display().to_string()
    );
    assert_eq!(
        s["command"]["environmentValueSources"]["OPENCLAW_GATEWAY_TOKEN"],
        "file"
    );
    assert_eq!(s["command"]["environmentValueSources"]["HOME"], "inline");
    assert_eq!(s["runtime"]["status"], "running");
    assert_eq!(s["runtime"]["state"], "active");
    assert_eq!(s["runtime"]["pid"], pid);
    assert_eq!(s["runtime"]["since"], "Wed 2026-11-25 10:00:00 UTC");
    assert_eq!(s["gateway"]["url"], "ws://10.1.2.3:18790");
    assert_eq!(s["nodeId"], "node-abc");
    assert_eq!(s["connection"]["state"], "pairing");
    assert_eq!(s["connection"]["stale"], false);
    assert_eq!(s["connection"]["requestId"], "req-77");
    assert_eq!(s["connection"]["lastError"], "pairing required");
    assert!(
        s["hints"]
            .to_string()
            .contains("openclaw devices approve req-77"),
        "{s}"
    );
    assert!(!r.stdout.contains("tok-SECRET-123"), "secret leaked");
    let calls = lab.take_calls();
    assert!(
        calls
            .iter()
            .all(|c| !c.contains(" restart ") && !c.contains(" stop ")),
        "status must not act: {calls:#?}"
    );

    // Text mode.
    let r = lab.run(&["status"]);
    assert_eq!(r.code, 0);
    assert!(
        r.stdout.contains("Service: systemd (enabled)"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(&format!("Runtime: running (pid {pid}")),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("Command: /"), "{}", r.stdout);
    assert!(r.stdout.contains("Gateway: ws://10.1.2.3:18790"));
    assert!(
        r.stdout.contains("Connection: pairing since 2026-"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("Last error: pairing required"));
    assert!(
        r.stdout.contains("OPENCLAW_GATEWAY_TOKEN"),
        "env file keys listed"
    );
    assert!(!r.stdout.contains("tok-SECRET-123"));
}

#[test]
fn status_flags_stale_connection_report() {
    let lab = installed_lab();
    std::fs::write(
        lab.state_dir().join("node-host-status.json"),
        r#"{"pid": 999999999, "state": "connected", "since": 1, "updatedAt": 2}"#,
    )
    .unwrap();
    let v = lab.run(&["status", "--json"]).json();
    assert_eq!(v["service"]["connection"]["state"], "connected");
    assert_eq!(v["service"]["connection"]["stale"], true);
}

#[test]
fn status_not_installed() {
    let lab = Lab::new();
    let r = lab.run(&["status", "--json"]);
    assert_eq!(r.code, 0);
    let s = &r.json()["service"];
    assert_eq!(s["loaded"], false);
    assert_eq!(s["installed"], false);
    assert!(s["command"].is_null());
    assert_eq!(s["runtime"]["status"], "stopped");
    assert_eq!(s["connection"]["state"], "unknown");
    let r = lab.run(&["status"]);
    assert_eq!(r.code, 0);
    assert!(
        r.stdout
            .contains("Service: systemd (disabled, not installed)"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("Start with: openclaw-node install"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("Connection: unknown"));
}

#[test]
fn status_without_user_bus_still_exits_zero_with_hints() {
    let mut lab = installed_lab();
    lab.set("nobus", "");
    lab.xdg_runtime = false;
    let r = lab.run(&["status", "--json"]);
    assert_eq!(r.code, 0);
    let s = &r.json()["service"];
    assert_eq!(s["loaded"], false);
    assert_eq!(s["runtime"]["status"], "unknown");
    assert!(
        s["runtime"]["detail"]
            .as_str()
            .unwrap()
            .contains("XDG_RUNTIME_DIR")
    );
    assert!(s["hints"].to_string().contains("export XDG_RUNTIME_DIR"));
    // The unit file is still read.
    assert_eq!(s["command"]["programArguments"][1], "run");
    let r = lab.run(&["status"]);
    assert_eq!(r.code, 0);
    assert!(
        r.stderr.contains("Tip: export XDG_RUNTIME_DIR"),
        "{}",
        r.stderr
    );
}

#[test]
fn status_explains_config_error_exit() {
    let lab = installed_lab();
    lab.run(&["stop"]);
    lab.set("exit-status", "78");
    lab.set("inactive-state", "failed");
    let r = lab.run(&["status", "--json"]);
    let s = &r.json()["service"];
    assert_eq!(s["runtime"]["status"], "stopped");
    assert_eq!(s["runtime"]["lastExitStatus"], 78);
    assert!(
        s["hints"].to_string().contains("configuration error"),
        "{s}"
    );
    let r = lab.run(&["status"]);
    assert!(
        r.stderr.contains("Service is loaded but not running."),
        "{}",
        r.stderr
    );
    assert!(
        r.stdout
            .contains("journalctl --user -u openclaw-node.service")
    );
}

#[test]
fn install_warns_when_the_service_dies_at_once() {
    let lab = Lab::new();
    lab.set("dies-on-start", "");
    lab.set("exit-status", "78");
    let v = lab.run(&["install", "--json"]).json();
    assert_eq!(v["ok"], true);
    assert!(
        v["warnings"]
            .to_string()
            .contains("not running (exit status 78: configuration error"),
        "{v}"
    );
}

#[test]
fn stop_and_restart() {
    let lab = installed_lab();
    let r = lab.run(&["stop", "--json"]);
    assert_eq!(r.code, 0);
    let v = r.json();
    assert_eq!(v["ok"], true);
    assert_eq!(v["action"], "stop");
    assert_eq!(v["result"], "stopped");
    assert_eq!(v["service"]["loaded"], true, "still enabled after stop");
    assert_in_order(
        &lab.take_calls(),
        &[&format!("systemctl --user stop {UNIT}")],
    );
    assert!(!lab.fake().join("active").exists());

    let r = lab.run(&["restart", "--json"]);
    assert_eq!(r.code, 0);
    let v = r.json();
    assert_eq!(v["action"], "restart");
    assert_eq!(v["result"], "restarted");
    assert_in_order(
        &lab.take_calls(),
        &[&format!("systemctl --user restart {UNIT}")],
    );
    assert!(lab.fake().join("active").exists());

    let r = lab.run(&["stop"]);
    assert_eq!(r.code, 0);
    assert!(
        r.stdout
            .contains("Stopped systemd service: openclaw-node.service")
    );
    let r = lab.run(&["restart"]);
    assert!(
        r.stdout
            .contains("Restarted systemd service: openclaw-node.service")
    );
}

#[test]
fn stop_and_restart_when_not_installed() {
    let lab = Lab::new();
    let v = lab.run(&["stop", "--json"]).json();
    assert_eq!(v["ok"], true);
    assert_eq!(v["result"], "not-loaded");
    assert_eq!(v["message"], "Node service disabled.");
    let r = lab.run(&["restart", "--json"]);
    assert_eq!(r.code, 0);
    let v = r.json();
    assert_eq!(v["result"], "not-loaded");
    assert!(v["hints"].to_string().contains("openclaw-node install"));
    let calls = lab.take_calls();
    assert!(
        !calls
            .iter()
            .any(|c| c.ends_with(" stop openclaw-node.service")
                || c.ends_with(" restart openclaw-node.service")),
        "{calls:#?}"
    );
}

#[test]
fn restart_failure_is_ok_false_exit_1_with_hints() {
    let lab = installed_lab();
    lab.set(
        "fail-restart",
        "Job for openclaw-node.service failed because the control process exited with error code.\n",
    );
    let r = lab.run(&["restart", "--json"]);
    assert_eq!(r.code, 1);
    let v = r.json();
    assert_eq!(v["ok"], false);
    assert_eq!(v["action"], "restart");
    assert!(v.get("result").is_none());
    let err = v["error"].as_str().unwrap();
    assert!(
        err.starts_with("Node restart failed: systemctl restart failed: Job for"),
        "{err}"
    );
    assert!(
        v["hints"]
            .to_string()
            .contains("journalctl --user -u openclaw-node.service")
    );
    let r = lab.run(&["restart"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("Node restart failed"));
    assert!(
        r.stderr
            .contains("Tip: journalctl --user -u openclaw-node.service")
    );
}

#[test]
fn install_start_failure_reports_error() {
    let lab = Lab::new();
    lab.set("fail-enable", "Failed to enable unit: Access denied\n");
    let r = lab.run(&["install", "--json"]);
    assert_eq!(r.code, 1);
    let v = r.json();
    assert_eq!(
        v["error"],
        "Node install failed: systemctl enable failed: Failed to enable unit: Access denied"
    );
}

#[test]
fn uninstall_removes_service_files_keeps_identity() {
    let lab = installed_lab();
    let st = lab.state_dir();
    std::fs::create_dir_all(st.join("identity")).unwrap();
    std::fs::write(st.join("identity/device.json"), "{}").unwrap();
    std::fs::write(st.join("exec-approvals.json"), "{}").unwrap();
    std::fs::write(st.join("node-host-status.json"), "{}").unwrap();
    let r = lab.run(&["uninstall", "--json"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let v = r.json();
    assert_eq!(v["ok"], true);
    assert_eq!(v["action"], "uninstall");
    assert_eq!(v["result"], "uninstalled");
    assert_eq!(v["service"]["loaded"], false);
    assert_in_order(
        &lab.take_calls(),
        &[
            &format!("systemctl --user disable --now {UNIT}"),
            "systemctl --user daemon-reload",
        ],
    );
    assert!(!lab.unit_path().exists());
    assert!(!lab.env_file().exists());
    assert!(!st.join("node-host-status.json").exists());
    assert!(st.join("node.json").exists());
    assert!(st.join("identity/device.json").exists());
    assert!(st.join("exec-approvals.json").exists());

    // Idempotent.
    let r = lab.run(&["uninstall"]);
    assert_eq!(r.code, 0);
    assert!(
        r.stdout.contains("Systemd service not found at"),
        "{}",
        r.stdout
    );
}

#[test]
fn uninstall_purge_removes_identity_and_approvals() {
    let lab = installed_lab();
    let st = lab.state_dir();
    std::fs::create_dir_all(st.join("identity")).unwrap();
    std::fs::write(st.join("identity/device.json"), "{}").unwrap();
    std::fs::write(st.join("exec-approvals.json"), "{}").unwrap();
    std::fs::write(st.join("openclaw.json"), "{}").unwrap();
    let r = lab.run(&["uninstall", "--purge", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!st.join("node.json").exists());
    assert!(!st.join("identity").exists());
    assert!(!st.join("exec-approvals.json").exists());
    assert!(
        st.join("openclaw.json").exists(),
        "shared config is never touched"
    );
}

#[test]
fn uninstall_without_bus_fails_closed() {
    let lab = installed_lab();
    lab.set("nobus", "");
    let r = lab.run(&["uninstall", "--json"]);
    assert_eq!(r.code, 1);
    let v = r.json();
    assert_eq!(v["ok"], false);
    assert!(v["hints"].to_string().contains("remove the files by hand"));
    assert!(lab.unit_path().exists());
}

#[test]
fn state_dir_override_is_used_and_recorded() {
    let lab = Lab::new();
    let custom = lab.root().join("custom-state");
    let lab = lab.with_env("OPENCLAW_STATE_DIR", custom.to_str().unwrap());
    let r = lab.run(&["install", "--display-name", "x", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(custom.join("node.json").exists());
    assert_eq!(mode(&custom.join("node.systemd.env")), 0o600);
    let unit = std::fs::read_to_string(lab.unit_path()).unwrap();
    assert!(
        unit.contains(&format!(
            "Environment=OPENCLAW_STATE_DIR={}",
            custom.display()
        )),
        "{unit}"
    );
}

#[test]
fn xdg_config_home_selects_unit_dir() {
    let lab = Lab::new();
    let cfg = lab.root().join("xdg-config");
    let lab = lab.with_env("XDG_CONFIG_HOME", cfg.to_str().unwrap());
    let r = lab.run(&["install", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let unit = cfg.join("systemd/user/openclaw-node.service");
    assert!(unit.exists());
    assert_eq!(r.json()["service"]["unitPath"], unit.display().to_string());
}

#[test]
fn nix_mode_refuses_install() {
    let lab = Lab::new().with_env("OPENCLAW_NIX_MODE", "1");
    let r = lab.run(&["install", "--json"]);
    assert_eq!(r.code, 1);
    assert!(r.json()["error"].as_str().unwrap().contains("Nix mode"));
    assert!(lab.take_calls().is_empty());
}

#[test]
fn complaint_15_program_location_is_absolute_and_warned_when_unstable() {
    // The test binary lives in cargo's target directory: install must say so.
    let lab = Lab::new();
    let v = lab.run(&["install", "--json"]).json();
    let w = v["warnings"].to_string();
    assert!(
        w.contains("cargo build output") || w.contains("temporary directory"),
        "{w}"
    );
    let unit = std::fs::read_to_string(lab.unit_path()).unwrap();
    let exec = unit.lines().find(|l| l.starts_with("ExecStart=")).unwrap();
    assert!(exec.starts_with("ExecStart=/"), "{exec}");
}

#[test]
fn connection_report_is_stale_once_the_service_stopped() {
    let lab = installed_lab();
    let status = format!(
        r#"{{"pid": {}, "state": "connected", "since": 1, "updatedAt": 2}}"#,
        std::process::id()
    );
    std::fs::write(lab.state_dir().join("node-host-status.json"), status).unwrap();
    let v = lab.run(&["status", "--json"]).json();
    assert_eq!(v["service"]["connection"]["stale"], false);
    lab.run(&["stop"]);
    let v = lab.run(&["status", "--json"]).json();
    assert_eq!(v["service"]["connection"]["stale"], true);
    let r = lab.run(&["status"]);
    assert!(r.stdout.contains("[stale"), "{}", r.stdout);
}

#[test]
fn complaint_16_status_flags_a_running_node_whose_binary_was_replaced() {
    let lab = Lab::new();
    // A process running from a binary that is then deleted, standing in for an upgraded node.
    let copy = lab.root().join("old-node");
    std::fs::copy("/bin/sleep", &copy).unwrap();
    let mut child = std::process::Command::new(&copy).arg("30").spawn().unwrap();
    std::fs::remove_file(&copy).unwrap();
    let lab = Lab {
        env: vec![("FAKE_PID".into(), child.id().to_string())],
        ..lab
    };
    let r = lab.run(&["install", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = lab.run(&["status", "--json"]).json();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(v["service"]["runtime"]["pid"], child.id());
    assert!(
        v["service"]["warnings"]
            .to_string()
            .contains("openclaw-node restart"),
        "{v}"
    );
}

#[test]
fn complaint_15_status_flags_a_missing_program_and_old_version() {
    let lab = installed_lab();
    let unit = std::fs::read_to_string(lab.unit_path()).unwrap();
    let exe = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_string();
    let unit = unit.replace(&exe, "/nonexistent/openclaw-node").replace(
        &format!("OPENCLAW_SERVICE_VERSION={}", env!("CARGO_PKG_VERSION")),
        "OPENCLAW_SERVICE_VERSION=0.0.1-old",
    );
    std::fs::write(lab.unit_path(), unit).unwrap();
    let r = lab.run(&["status"]);
    assert_eq!(r.code, 0);
    assert!(
        r.stderr
            .contains("/nonexistent/openclaw-node does not exist"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("installed by openclaw-node v0.0.1-old"),
        "{}",
        r.stderr
    );
}

#[test]
fn install_help_does_not_promise_defaults_that_node_json_overrides() {
    let lab = Lab::new();
    let r = lab.run(&["install", "--help"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(!r.stdout.contains("[default: 127.0.0.1]"), "{}", r.stdout);
    assert!(!r.stdout.contains("[default: 18789]"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("Gateway host (default: the one saved in node.json, else 127.0.0.1)"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("Gateway port (default: the one saved in node.json, else 18789)"),
        "{}",
        r.stdout
    );
}

#[test]
fn install_with_the_default_host_typed_overrides_the_saved_one() {
    let lab = Lab::new();
    std::fs::create_dir_all(lab.state_dir()).unwrap();
    let nj = lab.state_dir().join("node.json");
    std::fs::write(
        &nj,
        r#"{"version":1,"nodeId":"n-1","gateway":{"host":"saved.lan","port":9999,"tls":true}}"#,
    )
    .unwrap();
    // Flags equal to the built-in defaults still count as given.
    let r = lab.run(&[
        "install",
        "--host",
        "127.0.0.1",
        "--port",
        "18789",
        "--json",
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let unit = std::fs::read_to_string(lab.unit_path()).unwrap();
    assert!(
        unit.contains(" run --host 127.0.0.1 --port 18789 --tls\n"),
        "{unit}"
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&nj).unwrap()).unwrap();
    assert_eq!(doc["gateway"]["host"], "127.0.0.1");
    assert_eq!(doc["gateway"]["port"], 18789);
}

#[test]
fn install_without_flags_uses_the_saved_host_and_port() {
    let lab = Lab::new();
    std::fs::create_dir_all(lab.state_dir()).unwrap();
    std::fs::write(
        lab.state_dir().join("node.json"),
        r#"{"version":1,"gateway":{"host":"10.0.0.5","port":9999}}"#,
    )
    .unwrap();
    let r = lab.run(&["install", "--json"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let unit = std::fs::read_to_string(lab.unit_path()).unwrap();
    assert!(
        unit.contains(" run --host 10.0.0.5 --port 9999\n"),
        "{unit}"
    );
}
