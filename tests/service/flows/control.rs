//! `stop`, `restart`, `uninstall`, and where the files go (state dir, XDG, Nix, program location, saved host and port).

use super::*;

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
