//! Shared helpers of the fault-injection tests: a minimal fake gateway (challenge → hello-ok, no
//! proof checks — `gateway_fake.rs` verifies those), the real `openclaw-node run` binary as a
//! subprocess with its state in a temp dir, and `/proc` scans for process trees and zombies.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

pub const BIN: &str = env!("CARGO_BIN_EXE_openclaw-node");
pub const T: Duration = Duration::from_secs(5);

pub type Ws = WebSocketStream<TcpStream>;

#[path = "../ws_support/mod.rs"]
mod ws_support;
pub use ws_support::{next, send};

/// A command tree with a backgrounded grandchild: `sh` → (`sleep 30` &, `sleep 30`).
pub const TREE_CMD: &str = "sleep 30 & sleep 30; wait";

// ---------------------------------------------------------------------------------------------
// fake gateway

pub struct Gw {
    pub listener: TcpListener,
}

impl Gw {
    pub async fn new() -> Self {
        Self {
            listener: TcpListener::bind("127.0.0.1:0").await.unwrap(),
        }
    }
    pub fn port(&self) -> u16 {
        self.listener.local_addr().unwrap().port()
    }
    /// Accept the next WebSocket connection within `within`.
    pub async fn try_accept(&self, within: Duration) -> Option<Ws> {
        let (tcp, _) = tokio::time::timeout(within, self.listener.accept())
            .await
            .ok()?
            .ok()?;
        // An abrupt drop later: RST instead of FIN, and never a close frame.
        let _ = socket2::SockRef::from(&tcp).set_linger(Some(Duration::ZERO));
        tokio_tungstenite::accept_async(tcp).await.ok()
    }
    pub async fn accept(&self) -> Ws {
        self.try_accept(T).await.expect("node did not connect")
    }
}

async fn recv_json(ws: &mut Ws) -> Value {
    ws_support::recv_json(ws, T).await
}

/// Challenge → connect → hello-ok with the given tick interval; returns the connect params.
pub async fn handshake(ws: &mut Ws, tick_ms: u64) -> Value {
    send(
        ws,
        json!({"type":"event","event":"connect.challenge","payload":{"nonce":"00000000-0000-4000-8000-000000000001","ts":1_737_264_000_000u64}}),
    )
    .await;
    let req = recv_json(ws).await;
    assert_eq!(req["method"], "connect", "{req}");
    send(
        ws,
        json!({"type":"res","id":req["id"],"ok":true,"payload":{
            "type":"hello-ok","protocol":4,"server":{"version":"fake","connId":"c"},
            "features":{"methods":[],"events":[]},"snapshot":{},
            "auth":{"role":"node","scopes":[],"method":"token"},
            "policy":{"maxPayload":26214400,"maxBufferedBytes":52428800,"tickIntervalMs":tick_ms}}}),
    )
    .await;
    req["params"].clone()
}

/// Send a `node.invoke.request` for `command` with `params`.
pub async fn invoke(ws: &mut Ws, id: &str, node_id: &str, command: &str, params: Value) {
    send(
        ws,
        json!({"type":"event","event":"node.invoke.request","payload":{
            "id":id,"nodeId":node_id,"command":command,"paramsJSON":params.to_string(),
            "timeoutMs":60_000}}),
    )
    .await;
}

/// Acknowledge requests until the `node.invoke.result` for `id` arrives; returns its params.
pub async fn result_of(ws: &mut Ws, id: &str, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline
            .checked_duration_since(Instant::now())
            .unwrap_or_default();
        let Some(Message::Text(t)) = next(ws, left).await else {
            panic!("no result for invoke {id}");
        };
        let v: Value = serde_json::from_str(t.as_str()).unwrap();
        if v["type"] != "req" {
            continue;
        }
        send(
            ws,
            json!({"type":"res","id":v["id"],"ok":true,"payload":{}}),
        )
        .await;
        if v["method"] == "node.invoke.result" && v["params"]["id"] == id {
            return v["params"].clone();
        }
    }
}

/// Like [`result_of`] for several invokes answered in any order; results by invoke id.
pub async fn results_of(
    ws: &mut Ws,
    ids: &[String],
    within: Duration,
) -> std::collections::HashMap<String, Value> {
    let mut out = std::collections::HashMap::new();
    let deadline = Instant::now() + within;
    while out.len() < ids.len() {
        let left = deadline
            .checked_duration_since(Instant::now())
            .unwrap_or_default();
        let Some(Message::Text(t)) = next(ws, left).await else {
            panic!(
                "only {} of {} results: {:?}",
                out.len(),
                ids.len(),
                out.keys()
            );
        };
        let v: Value = serde_json::from_str(t.as_str()).unwrap();
        if v["type"] != "req" {
            continue;
        }
        send(
            ws,
            json!({"type":"res","id":v["id"],"ok":true,"payload":{}}),
        )
        .await;
        if v["method"] == "node.invoke.result"
            && let Some(id) = v["params"]["id"].as_str()
            && ids.iter().any(|i| i == id)
        {
            out.insert(id.to_string(), v["params"].clone());
        }
    }
    out
}

/// `system.run` params for `sh -c <script>`.
pub fn sh_run(script: &str, run_id: &str) -> Value {
    json!({"command":["/bin/sh","-c",script],"runId":run_id,"sessionKey":"faults"})
}

// ---------------------------------------------------------------------------------------------
// node under test (the real binary)

pub struct NodeProc {
    pub child: Child,
    pub dir: tempfile::TempDir,
}

/// Approvals that let the fake gateway run anything (the faults here are not policy faults).
pub const FULL_APPROVALS: &str = "{\n  \"version\": 1,\n  \"defaults\": {\n    \"security\": \"full\",\n    \"ask\": \"off\"\n  },\n  \"agents\": {}\n}\n";

pub fn write_0600(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

impl NodeProc {
    /// Start `openclaw-node run --host 127.0.0.1 --port <port>` with a fresh state dir holding
    /// [`FULL_APPROVALS`]; stdout/stderr go to files in the state dir.
    pub fn start(port: u16) -> Self {
        let dir = tempfile::tempdir().unwrap();
        write_0600(&dir.path().join("exec-approvals.json"), FULL_APPROVALS);
        let log = std::fs::File::create(dir.path().join("node.log")).unwrap();
        let child = Command::new(BIN)
            .args(["run", "--host", "127.0.0.1", "--port", &port.to_string()])
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", dir.path())
            .env("OPENCLAW_STATE_DIR", dir.path())
            .env("OPENCLAW_GATEWAY_TOKEN", "shared")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        Self { child, dir }
    }
    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).unwrap()
    }
    pub fn state(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.state("node.log")).unwrap_or_default()
    }
    /// Wait for the process to exit; its exit code (`None`: still running or killed by a signal).
    pub fn wait_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(st) = self.child.try_wait().unwrap() {
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// /proc

/// `(pid, ppid, state)` of every process.
pub fn procs() -> Vec<(i32, i32, char)> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // comm may contain spaces and parentheses: parse after the last ')'.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let mut f = rest.split_whitespace();
        let state = f.next().and_then(|s| s.chars().next()).unwrap_or('?');
        let ppid = f.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        out.push((pid, ppid, state));
    }
    out
}

/// All descendants of `root` (not `root` itself), with their state.
pub fn descendants(root: i32) -> Vec<(i32, char)> {
    let all = procs();
    let mut out = Vec::new();
    let mut frontier = vec![root];
    while let Some(p) = frontier.pop() {
        for &(pid, ppid, st) in &all {
            if ppid == p {
                out.push((pid, st));
                frontier.push(pid);
            }
        }
    }
    out
}

/// Live (non-zombie) descendants of `root` whose command line contains `needle`.
pub fn live_descendants_running(root: i32, needle: &str) -> Vec<i32> {
    descendants(root)
        .into_iter()
        .filter(|&(_, st)| st != 'Z')
        .filter(|&(pid, _)| cmdline(pid).contains(needle))
        .map(|(pid, _)| pid)
        .collect()
}

pub fn cmdline(pid: i32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .unwrap_or_default()
}

/// A process exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    procs().iter().any(|&(p, _, st)| p == pid && st != 'Z')
}

/// Zombie children of `pid`.
pub fn zombie_children(pid: i32) -> Vec<i32> {
    procs()
        .into_iter()
        .filter(|&(_, ppid, st)| ppid == pid && st == 'Z')
        .map(|(p, _, _)| p)
        .collect()
}

/// Poll until `f` holds (true) or `within` passes (false).
pub async fn eventually(within: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Wait until the run's tree (`sh` plus both `sleep 30`) is up; returns its pids.
pub async fn wait_tree(node_pid: i32) -> Vec<i32> {
    let mut tree = Vec::new();
    let up = eventually(T, || {
        let sleeps = live_descendants_running(node_pid, "sleep 30");
        tree = live_descendants_running(node_pid, "");
        // sh -c '…sleep 30…' itself also matches "sleep 30": sh + 2 sleeps.
        sleeps.len() >= 3
    })
    .await;
    assert!(
        up,
        "the run's process tree never came up: {:?}",
        descendants(node_pid)
    );
    tree
}
