//! `openclaw-node run` as a process: configuration errors exit 78 (EX_CONFIG), SIGTERM closes
//! the socket cleanly and exits 0, state files are created 0600, credentials come from the
//! environment only.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

const BIN: &str = env!("CARGO_BIN_EXE_openclaw-node");

fn node_cmd(state: &std::path::Path, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.arg("run")
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", state)
        .env("OPENCLAW_STATE_DIR", state)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn wait_exit(child: &mut Child, within: Duration) -> Option<i32> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Some(st) = child.try_wait().unwrap() {
            return st.code();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

fn run_to_exit(mut c: Command) -> (Option<i32>, String) {
    let out = c.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn ex_config_78_for_a_corrupt_state_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("node.json"), "{oops").unwrap();
    let (code, err) = run_to_exit(node_cmd(dir.path(), &["--port", "1"]));
    assert_eq!(code, Some(78), "{err}");
    assert!(err.contains("node.json"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("identity")).unwrap();
    std::fs::write(dir.path().join("identity/device.json"), "[]").unwrap();
    let (code, err) = run_to_exit(node_cmd(dir.path(), &["--port", "1"]));
    assert_eq!(code, Some(78), "{err}");
    assert!(err.contains("device.json"), "{err}");
    // the identity file is never replaced silently
    assert_eq!(
        std::fs::read_to_string(dir.path().join("identity/device.json")).unwrap(),
        "[]"
    );
}

#[test]
fn ex_config_78_for_bad_flags_and_config() {
    let dir = tempfile::tempdir().unwrap();
    let (code, err) = run_to_exit(node_cmd(dir.path(), &["--tls-fingerprint", "nothex"]));
    assert_eq!(code, Some(78), "{err}");
    assert!(err.contains("--tls-fingerprint"), "{err}");
    let (code, err) = run_to_exit(node_cmd(dir.path(), &["--host", "gateway.example.com"]));
    assert_eq!(code, Some(78), "{err}");
    assert!(err.contains("plaintext ws://"), "{err}");
    std::fs::write(dir.path().join("node-host.json5"), "{ bogus: 1 }").unwrap();
    let (code, err) = run_to_exit(node_cmd(dir.path(), &[]));
    assert_eq!(code, Some(78), "{err}");
    assert!(err.contains("node-host.json5"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_cleanly_and_exits_0() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = node_cmd(
        dir.path(),
        &[
            "--port",
            &port,
            "--node-id",
            "my-node",
            "--display-name",
            "cli-node",
        ],
    );
    cmd.env("OPENCLAW_GATEWAY_TOKEN", "env-token");
    let mut child = cmd.spawn().unwrap();
    let (tcp, _) = tokio::time::timeout(Duration::from_secs(10), listener.accept())
        .await
        .unwrap()
        .unwrap();
    let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
    ws.send(Message::text(
        json!({"type":"event","event":"connect.challenge","payload":{"nonce":"n-1","ts":5}})
            .to_string(),
    ))
    .await
    .unwrap();
    let req: Value = loop {
        if let Some(Ok(Message::Text(t))) = ws.next().await {
            break serde_json::from_str(t.as_str()).unwrap();
        }
    };
    let p = &req["params"];
    assert_eq!(p["auth"], json!({"token":"env-token"}));
    assert_eq!(p["client"]["instanceId"], "my-node");
    assert_eq!(p["client"]["displayName"], "cli-node");
    ws.send(Message::text(
        json!({"type":"res","id":req["id"],"ok":true,"payload":{"type":"hello-ok","protocol":4,
        "auth":{"role":"node","scopes":[],"deviceToken":"dt-9"},
        "policy":{"maxPayload":26214400,"tickIntervalMs":30000}}})
        .to_string(),
    ))
    .await
    .unwrap();
    let status_path = dir.path().join("node-host-status.json");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(t) = std::fs::read_to_string(&status_path)
            && t.contains("\"connected\"")
        {
            break;
        }
        assert!(Instant::now() < deadline, "never connected");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // state files: node.json carries the overrides and gateway address, all files 0600
    let node: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("node.json")).unwrap())
            .unwrap();
    assert_eq!(node["nodeId"], "my-node");
    assert_eq!(node["displayName"], "cli-node");
    assert_eq!(node["gateway"]["port"].to_string(), port);
    assert!(!node.to_string().contains("env-token"), "secret persisted");
    use std::os::unix::fs::PermissionsExt;
    for f in [
        "node.json",
        "identity/device.json",
        "identity/device-auth.json",
        "node-host-status.json",
    ] {
        let m = std::fs::metadata(dir.path().join(f)).unwrap();
        assert_eq!(m.permissions().mode() & 0o777, 0o600, "{f}");
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let close = loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
            Ok(Some(Ok(Message::Close(f)))) => break f.map(|f| u16::from(f.code)),
            Ok(Some(Ok(_))) => continue,
            other => panic!("no close frame: {other:?}"),
        }
    };
    assert_eq!(close, Some(1000));
    assert_eq!(wait_exit(&mut child, Duration::from_secs(5)), Some(0));
    let st: Value = serde_json::from_str(&std::fs::read_to_string(&status_path).unwrap()).unwrap();
    assert_eq!(st["state"], "stopped");
    let mut stderr = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(!stderr.contains("env-token"), "secret logged: {stderr}");
    assert!(stderr.contains("connecting to gateway"), "{stderr}");
}
