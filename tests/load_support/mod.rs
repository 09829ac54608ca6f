//! Harness for the load and hostile-input tests: the real `openclaw-node` binary as a
//! subprocess (state, HOME and approvals in a temp dir, stdout/stderr captured to files) talking
//! to a fake gateway on 127.0.0.1:0, plus frame helpers and `/proc/<pid>/status` memory readings.
#![allow(dead_code)]

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

pub const BIN: &str = env!("CARGO_BIN_EXE_openclaw-node");
/// Generous per-step timeout: the CI machine is small and shared.
pub const T: Duration = Duration::from_secs(20);
/// Approvals that let the node run anything without asking (the sandbox still applies).
pub const APPROVALS_FULL: &str =
    r#"{"version":1,"defaults":{"security":"full","ask":"off"},"agents":{}}"#;

pub type Ws = WebSocketStream<TcpStream>;

#[path = "../ws_support/mod.rs"]
mod ws_support;
pub use ws_support::{next, send};

// ---------------------------------------------------------------------------------------------
// the node under test

/// `openclaw-node run --host 127.0.0.1 --port <fake>` with its state in a temp dir. Stopped with
/// SIGTERM (then SIGKILL) on drop.
pub struct NodeProc {
    pub child: Child,
    pub dir: tempfile::TempDir,
    /// The node's own cwd (runs without a cwd use it): outside its state dir.
    _work: tempfile::TempDir,
    stderr_path: PathBuf,
}

impl NodeProc {
    pub fn start(port: u16, approvals: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("exec-approvals.json"), approvals).unwrap();
        let stderr_path = dir.path().join("node.stderr.log");
        let stdout = File::create(dir.path().join("node.stdout.log")).unwrap();
        let stderr = File::create(&stderr_path).unwrap();
        // Runs without a cwd use the node's own: never inside its state dir (refused there).
        let work = tempfile::tempdir().unwrap();
        let child = Command::new(BIN)
            .args(["run", "--host", "127.0.0.1", "--port", &port.to_string()])
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", dir.path())
            .env("OPENCLAW_STATE_DIR", dir.path())
            .env("OPENCLAW_GATEWAY_TOKEN", "load-token")
            .env("RUST_LOG", "info")
            .current_dir(work.path())
            .stdin(Stdio::null())
            .stdout(Stdio::from(stdout))
            .stderr(Stdio::from(stderr))
            .spawn()
            .unwrap();
        Self {
            child,
            dir,
            _work: work,
            stderr_path,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The node's log so far (stderr).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// Wait until the log contains `needle`.
    pub async fn wait_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + T;
        loop {
            let log = self.log();
            if log.contains(needle) {
                return log;
            }
            assert!(
                Instant::now() < deadline,
                "log never contained {needle:?}:\n{log}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `true` while the process runs.
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// A `kB` field of `/proc/<pid>/status` (`VmHWM`, `VmRSS`).
    pub fn status_kb(&self, key: &str) -> Option<u64> {
        status_kb(self.pid(), key)
    }
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `kB` field of `/proc/<pid>/status`.
pub fn status_kb(pid: u32, key: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

// ---------------------------------------------------------------------------------------------
// the fake gateway

pub struct Gw {
    listener: TcpListener,
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

    pub async fn accept(&self) -> Ws {
        self.try_accept(T).await.expect("node did not connect")
    }

    pub async fn try_accept(&self, within: Duration) -> Option<Ws> {
        let (tcp, _) = tokio::time::timeout(within, self.listener.accept())
            .await
            .ok()?
            .unwrap();
        // results can be as large as the maxPayload the test announces
        let cfg = WebSocketConfig::default()
            .max_message_size(Some(64 << 20))
            .max_frame_size(Some(64 << 20));
        tokio_tungstenite::accept_async_with_config(tcp, Some(cfg))
            .await
            .ok()
    }

    /// Accept the node's connection and complete the handshake; returns the socket and the
    /// node id (= device id) to address invokes to.
    pub async fn connect(&self, max_payload: u64) -> (Ws, String) {
        let mut ws = self.accept().await;
        let node_id = handshake(&mut ws, max_payload).await;
        (ws, node_id)
    }
}

pub async fn recv(ws: &mut Ws) -> Value {
    ws_support::recv_json(ws, T).await
}

/// Wait for the node's close frame; returns its code (`None`: no close frame in time).
pub async fn recv_close(ws: &mut Ws, within: Duration) -> Option<u16> {
    loop {
        match next(ws, within).await? {
            Message::Close(f) => return Some(f.map(|f| u16::from(f.code)).unwrap_or(1005)),
            _ => continue,
        }
    }
}

/// challenge → connect → hello-ok with the given `maxPayload`; returns the device id.
pub async fn handshake(ws: &mut Ws, max_payload: u64) -> String {
    send(
        ws,
        json!({"type":"event","event":"connect.challenge",
               "payload":{"nonce":"00000000-0000-4000-8000-00000000load","ts":1_737_264_000_000u64}}),
    )
    .await;
    let req = recv(ws).await;
    assert_eq!(req["method"], "connect", "{req}");
    let device = req["params"]["device"]["id"].as_str().unwrap().to_string();
    send(
        ws,
        json!({"type":"res","id":req["id"],"ok":true,"payload":{
            "type":"hello-ok","protocol":4,"server":{"version":"fake","connId":"c"},
            "features":{"methods":[],"events":[]},"snapshot":{},
            "auth":{"role":"node","scopes":[]},
            "policy":{"maxPayload":max_payload,"maxBufferedBytes":max_payload*2,"tickIntervalMs":30_000}}}),
    )
    .await;
    device
}

/// A `node.invoke.request` event with `paramsJSON`.
pub fn invoke(id: &str, node: &str, command: &str, params: Value) -> Value {
    json!({"type":"event","event":"node.invoke.request",
           "payload":{"id":id,"nodeId":node,"command":command,"paramsJSON":params.to_string()}})
}

/// What the node sent, in arrival order.
#[derive(Debug, Default)]
pub struct Collected {
    /// `node.invoke.result` params.
    pub results: Vec<Value>,
    /// `node.event` params with the decoded payload under `"payload"`.
    pub events: Vec<Value>,
    /// Arrival position of each result, by invoke id (all positions, to spot duplicates).
    pub result_pos: HashMap<String, Vec<usize>>,
    /// Arrival position of each `exec.finished`, by runId.
    pub finished_pos: HashMap<String, Vec<usize>>,
    pos: usize,
}

impl Collected {
    /// The single result of invoke `id`.
    pub fn result(&self, id: &str) -> &Value {
        let found: Vec<&Value> = self.results.iter().filter(|r| r["id"] == id).collect();
        assert_eq!(found.len(), 1, "results for {id}: {found:?}");
        found[0]
    }

    /// Decoded `payloadJSON` of the result of `id`.
    pub fn payload(&self, id: &str) -> Value {
        let r = self.result(id);
        assert_eq!(r["ok"], true, "{r}");
        serde_json::from_str(r["payloadJSON"].as_str().unwrap()).unwrap()
    }

    /// `(code, message)` of the error result of `id`.
    pub fn error(&self, id: &str) -> (String, String) {
        let r = self.result(id);
        assert_eq!(r["ok"], false, "{r}");
        (
            r["error"]["code"].as_str().unwrap_or("").to_string(),
            r["error"]["message"].as_str().unwrap_or("").to_string(),
        )
    }
}

/// Read frames, acknowledging every request like the gateway does, until `n` results arrived
/// (panics with what arrived when `within` passes first).
pub async fn collect(ws: &mut Ws, n: usize, within: Duration) -> Collected {
    let mut c = Collected::default();
    collect_more(ws, &mut c, n, within).await;
    c
}

/// [`collect`] into an existing [`Collected`] until it holds `n` results.
pub async fn collect_more(ws: &mut Ws, c: &mut Collected, n: usize, within: Duration) {
    let deadline = Instant::now() + within;
    while c.results.len() < n {
        let left = deadline
            .checked_duration_since(Instant::now())
            .unwrap_or_default();
        let Some(msg) = next(ws, left).await else {
            let ids: Vec<&String> = c.result_pos.keys().collect();
            panic!("only {} of {n} results: {ids:?}", c.results.len())
        };
        let Message::Text(t) = msg else {
            panic!("unexpected frame {msg:?}")
        };
        let v: Value = serde_json::from_str(t.as_str()).unwrap();
        if v["type"] != "req" {
            continue;
        }
        send(
            ws,
            json!({"type":"res","id":v["id"],"ok":true,"payload":{"ok":true}}),
        )
        .await;
        c.pos += 1;
        let mut params = v["params"].clone();
        match v["method"].as_str().unwrap() {
            "node.invoke.result" => {
                let id = params["id"].as_str().unwrap().to_string();
                c.result_pos.entry(id).or_default().push(c.pos);
                c.results.push(params);
            }
            "node.event" => {
                let payload: Value = params["payloadJSON"]
                    .as_str()
                    .map(|s| serde_json::from_str(s).unwrap())
                    .unwrap_or(Value::Null);
                if params["event"] == "exec.finished" {
                    let run = payload["runId"].as_str().unwrap_or("").to_string();
                    c.finished_pos.entry(run).or_default().push(c.pos);
                }
                params["payload"] = payload;
                c.events.push(params);
            }
            m => panic!("unexpected method {m}"),
        }
    }
}

/// No further result arrives within `quiet` (frames that do arrive are acknowledged).
pub async fn assert_no_result(ws: &mut Ws, quiet: Duration) {
    let deadline = Instant::now() + quiet;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match next(ws, left).await {
            None => return,
            Some(Message::Text(t)) => {
                let v: Value = serde_json::from_str(t.as_str()).unwrap();
                if v["type"] == "req" {
                    send(
                        ws,
                        json!({"type":"res","id":v["id"],"ok":true,"payload":{"ok":true}}),
                    )
                    .await;
                }
                assert_ne!(v["method"], "node.invoke.result", "unexpected result {v}");
            }
            Some(other) => panic!("unexpected frame {other:?}"),
        }
    }
}

/// The node still answers a normal `system.which` on this connection.
pub async fn assert_which_works(ws: &mut Ws, node: &str, id: &str) {
    send(ws, invoke(id, node, "system.which", json!({"bins":["sh"]}))).await;
    let c = collect(ws, 1, T).await;
    let p = c.payload(id);
    assert!(p["bins"]["sh"].as_str().unwrap().ends_with("/sh"), "{p}");
}
