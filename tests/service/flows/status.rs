//! `status`: the service and connection report, stale reports, missing pieces, exit codes.

use super::*;

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
