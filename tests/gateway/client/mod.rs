//! The gateway client against a fake gateway on 127.0.0.1:0: handshake (signature verified with
//! the node's public key), pairing pending → approved, reconnect, tick timeout, TLS pinning with
//! a self-signed certificate, malformed and oversized frames, concurrent invokes, cancellation.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use openclaw_node::commands::{LaunchBackend, NodeCommands, PolicyBackend};
use openclaw_node::gateway::status::StatusGateway;
use openclaw_node::gateway::tls::{TlsMode, fingerprint_of};
use openclaw_node::gateway::{
    ClientConfig, ClientError, DeviceAuthStore, DeviceIdentity, GatewayClient, RunState,
    StatusWriter,
};
use openclaw_node::policy::plan::RunRequest;
use openclaw_node::policy::{
    ApprovalsGet, ApprovalsSet, ExecPlan, PolicyError, RunDecision, RunIdentity,
};
use openclaw_node::sandbox::{LaunchRequest, RunOutcome, SandboxError};

use crate::support::gateway::*;

// ---------------------------------------------------------------------------------------------
// scripted policy / launcher

struct ScriptedPolicy;
impl PolicyBackend for ScriptedPolicy {
    fn evaluate(&self, req: &RunRequest) -> RunDecision {
        let argv = req.argv.clone();
        if argv.is_empty() {
            return RunDecision::Invalid {
                message: "command required".into(),
                details: None,
            };
        }
        let run = RunIdentity {
            session_key: "node".into(),
            run_id: req.run_id.clone().unwrap_or_else(|| "r".into()),
            command_text: argv.join(" "),
            suppress_notify_on_exit: None,
            wake_on_exit: None,
        };
        if argv[0] == "denied" {
            return RunDecision::Denied {
                reason: openclaw_node::policy::DenyReason::AllowlistMiss,
                message: "SYSTEM_RUN_DENIED: allowlist miss".into(),
                run,
            };
        }
        RunDecision::Allowed {
            plan: ExecPlan {
                argv,
                cwd: None,
                env: vec![],
                timeout_ms: None,
                agent_id: "main".into(),
            },
            run,
        }
    }
    fn prepare_run(&self, _: &RunRequest) -> Result<Value, PolicyError> {
        Ok(json!({"plan":{}}))
    }
    fn approvals(&self, _: &ApprovalsGet) -> Result<Value, PolicyError> {
        Ok(json!({"path":"x","exists":false,"hash":"0","file":{"version":1}}))
    }
    fn set_approvals(&self, _: &ApprovalsSet) -> Result<Value, PolicyError> {
        Err(PolicyError {
            kind: openclaw_node::policy::ErrorKind::InvalidRequest,
            message: "exec approvals changed; reload and retry".into(),
            details: None,
        })
    }
}

/// `sleep <ms>` sleeps (cancellable), `hang` waits for cancellation; anything else echoes.
#[derive(Default)]
struct ScriptedLauncher {
    cancelled: AtomicUsize,
    running: AtomicUsize,
    max_running: AtomicUsize,
}
impl LaunchBackend for ScriptedLauncher {
    async fn launch(
        &self,
        req: LaunchRequest,
        cancel: CancellationToken,
    ) -> Result<RunOutcome, SandboxError> {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_running.fetch_max(now, Ordering::SeqCst);
        let wait = match req.argv[0].as_str() {
            "sleep" => Duration::from_millis(req.argv[1].parse().unwrap()),
            "hang" => Duration::from_secs(3600),
            _ => Duration::ZERO,
        };
        let stdout = match req.argv[0].as_str() {
            "big" => "y".repeat(req.argv[1].parse().unwrap()),
            _ => format!("{}\n", req.argv.join(" ")),
        };
        let timed_out = tokio::select! {
            _ = tokio::time::sleep(wait) => false,
            _ = cancel.cancelled() => { self.cancelled.fetch_add(1, Ordering::SeqCst); true }
        };
        self.running.fetch_sub(1, Ordering::SeqCst);
        Ok(RunOutcome {
            exit_code: if timed_out { None } else { Some(0) },
            timed_out,
            success: !timed_out,
            stdout,
            stderr: String::new(),
            error: None,
        })
    }
}

type Handler = NodeCommands<ScriptedPolicy, ScriptedLauncher>;

// ---------------------------------------------------------------------------------------------
// node under test

struct Node {
    dir: tempfile::TempDir,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<Result<(), ClientError>>,
    status: Arc<StatusWriter>,
    launcher: Arc<ScriptedLauncher>,
    device_id: String,
}

fn cfg(port: u16) -> ClientConfig {
    let mut c = ClientConfig::new("127.0.0.1", port);
    c.backoff_initial = Duration::from_millis(50);
    c.backoff_max = Duration::from_millis(200);
    c.pairing_retry_max = Duration::from_millis(100);
    c.challenge_timeout = Duration::from_secs(2);
    c.token = Some("shared".into());
    c.display_name = Some("test-node".into());
    c.instance_id = Some("instance-1".into());
    c.path_env = "/usr/bin:/bin".into();
    c
}

fn start(c: ClientConfig) -> Node {
    start_in(tempfile::tempdir().unwrap(), c)
}

fn start_in(dir: tempfile::TempDir, c: ClientConfig) -> Node {
    let identity = DeviceIdentity::load_or_create(dir.path()).unwrap();
    let device_id = identity.device_id().to_string();
    let auth = DeviceAuthStore::load(dir.path(), &device_id).unwrap();
    let status = Arc::new(StatusWriter::new(
        Some(dir.path()),
        StatusGateway {
            host: c.host.clone(),
            port: c.port,
            tls: c.tls.is_some(),
        },
        Some(device_id.clone()),
        c.display_name.clone(),
    ));
    let launcher = Arc::new(ScriptedLauncher::default());
    let handler: Arc<Handler> = Arc::new(NodeCommands::new(
        Arc::new(ScriptedPolicy),
        launcher.clone(),
        None,
        "/usr/bin:/bin".into(),
    ));
    let client = GatewayClient::new(c, identity, auth, status.clone()).unwrap();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(client.run(handler, shutdown.clone()));
    Node {
        dir,
        shutdown,
        task,
        status,
        launcher,
        device_id,
    }
}

impl Node {
    fn status_json(&self) -> Value {
        let p = StatusWriter::path(self.dir.path());
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    }
    async fn wait_state(&self, s: RunState) {
        let deadline = Instant::now() + T;
        while self.status.state() != Some(s) {
            assert!(
                Instant::now() < deadline,
                "state {:?} != {s:?}",
                self.status.state()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    async fn stop(self) -> Result<(), ClientError> {
        self.shutdown.cancel();
        tokio::time::timeout(T, self.task).await.unwrap().unwrap()
    }
}

/// `node.invoke.result` and `node.event` params in arrival order, acknowledging every request.
async fn collect_results(ws: &mut Ws, n: usize, within: Duration) -> (Vec<Value>, Vec<Value>) {
    let c = collect(ws, n, within).await;
    (c.results, c.events)
}

// ---------------------------------------------------------------------------------------------
// tests

#[tokio::test]
async fn spec_3_handshake_signature_verifies_and_connect_shape_is_exact() {
    let gw = Gw::new().await;
    let node = start(cfg(gw.port()));
    let mut ws = gw.accept().await;
    let ts = 1_737_264_000_123;
    let req = challenge(&mut ws, ts).await;
    let p = &req["params"];
    assert_eq!(verify_proof(p, ts), "v3");
    assert!(req["id"].as_str().unwrap().starts_with("1:"));
    assert_eq!(p["minProtocol"], 3);
    assert_eq!(p["maxProtocol"], 4);
    assert_eq!(p["role"], "node");
    assert_eq!(p["scopes"], json!([]));
    assert_eq!(p["caps"], json!(["system"]));
    assert_eq!(
        p["commands"],
        json!([
            "system.run.prepare",
            "system.run",
            "system.which",
            "system.execApprovals.get",
            "system.execApprovals.set"
        ])
    );
    assert_eq!(
        p["client"],
        json!({"id":"node-host","displayName":"test-node","version":env!("CARGO_PKG_VERSION"),
               "platform":"linux","deviceFamily":"Linux","mode":"node","instanceId":"instance-1"})
    );
    assert_eq!(p["auth"], json!({"token":"shared"}));
    assert_eq!(p["pathEnv"], "/usr/bin:/bin");
    // closed schema: exactly these keys
    let mut keys: Vec<&str> = p.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "auth",
            "caps",
            "client",
            "commands",
            "device",
            "maxProtocol",
            "minProtocol",
            "pathEnv",
            "role",
            "scopes"
        ]
    );
    assert_eq!(p["device"]["id"], node.device_id.as_str());
    assert_eq!(p["device"]["publicKey"].as_str().unwrap().len(), 43);
    assert_eq!(p["device"]["signature"].as_str().unwrap().len(), 86);

    send(
        &mut ws,
        hello(&req["id"], 30_000, 26_214_400, Some("dev-tok-1")),
    )
    .await;
    node.wait_state(RunState::Connected).await;
    let st = node.status_json();
    assert_eq!(st["state"], "connected");
    assert_eq!(st["nodeId"], node.device_id.as_str());
    assert_eq!(st["displayName"], "test-node");
    assert_eq!(
        st["gateway"],
        json!({"host":"127.0.0.1","port":gw.port(),"tls":false})
    );
    // spec 4.4: the device token from hello-ok is persisted
    let store = DeviceAuthStore::load(node.dir.path(), &node.device_id).unwrap();
    assert_eq!(store.token("node"), Some("dev-tok-1"));
    node.stop().await.unwrap();
    // clean close on shutdown
    assert_eq!(recv_close(&mut ws, T).await, Some(1000));
}

#[tokio::test]
async fn stored_device_token_is_used_and_signed_without_shared_token() {
    let gw = Gw::new().await;
    let dir = tempfile::tempdir().unwrap();
    let id = DeviceIdentity::load_or_create(dir.path()).unwrap();
    DeviceAuthStore::load(dir.path(), id.device_id())
        .unwrap()
        .set_token("node", "stored-dt", &[])
        .unwrap();
    let mut c = cfg(gw.port());
    c.token = None;
    let node = start_in(dir, c);
    let mut ws = gw.accept().await;
    let p = handshake(&mut ws, 30_000, 1 << 20, None).await;
    assert_eq!(p["auth"], json!({"deviceToken":"stored-dt"}));
    node.wait_state(RunState::Connected).await;
    node.stop().await.unwrap();
}

#[tokio::test]
async fn spec_4_pairing_pending_then_approved_with_identical_metadata() {
    let gw = Gw::new().await;
    let node = start(cfg(gw.port()));
    let mut first = None;
    for attempt in 0..2 {
        let mut ws = gw.accept().await;
        let req = challenge(&mut ws, 1_737_264_000_000).await;
        verify_proof(&req["params"], 1_737_264_000_000);
        let mut meta = req["params"].clone();
        meta["device"]["signature"] = Value::Null;
        match &first {
            None => first = Some(meta),
            Some(f) => assert_eq!(f, &meta, "attempt {attempt}: metadata changed"),
        }
        send(
            &mut ws,
            reject(&req["id"], "NOT_PAIRED", "pairing required: device is not approved yet",
                json!({"code":"PAIRING_REQUIRED","reason":"not-paired","requestId":"req-42","deviceId":node.device_id})),
        )
        .await;
        let _ = ws.close(None).await;
        node.wait_state(RunState::Pairing).await;
    }
    let st = node.status_json();
    assert_eq!(st["state"], "pairing");
    assert_eq!(st["requestId"], "req-42");
    assert!(
        st["lastError"]
            .as_str()
            .unwrap()
            .contains("PAIRING_REQUIRED")
    );
    // approved: the next connect succeeds
    let mut ws = gw.accept().await;
    handshake(&mut ws, 30_000, 1 << 20, Some("tok")).await;
    node.wait_state(RunState::Connected).await;
    assert!(node.status_json()["requestId"].is_null());
    node.stop().await.unwrap();
}

#[tokio::test]
async fn spec_6_reconnects_after_the_server_drops_the_connection() {
    let gw = Gw::new().await;
    let node = start(cfg(gw.port()));
    let mut ws = gw.accept().await;
    handshake(&mut ws, 30_000, 1 << 20, None).await;
    node.wait_state(RunState::Connected).await;
    drop(ws); // abrupt TCP drop, no close frame
    let mut ws = gw.accept().await;
    handshake(&mut ws, 30_000, 1 << 20, None).await;
    node.wait_state(RunState::Connected).await;
    // service restart close (1012) → reconnect too
    ws.close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame {
        code: 1012.into(),
        reason: "service restart".into(),
    }))
    .await
    .unwrap();
    let mut ws = gw.accept().await;
    handshake(&mut ws, 30_000, 1 << 20, None).await;
    node.wait_state(RunState::Connected).await;
    node.stop().await.unwrap();
}

#[tokio::test]
async fn spec_5_tick_timeout_closes_4000_and_reconnects() {
    let gw = Gw::new().await;
    let node = start(cfg(gw.port()));
    let mut ws = gw.accept().await;
    // tickIntervalMs 250: the watchdog closes 2 × 250 ms after the last frame. The tick sent
    // half-way keeps the connection past 500 ms (with 250 ms of slack for a loaded machine).
    handshake(&mut ws, 250, 1 << 20, None).await;
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_millis(250)).await;
    send(
        &mut ws,
        json!({"type":"event","event":"tick","payload":{"ts":1},"seq":1}),
    )
    .await;
    assert_eq!(recv_close(&mut ws, T).await, Some(4000));
    assert!(
        t0.elapsed() >= Duration::from_millis(600),
        "{:?}",
        t0.elapsed()
    );
    let mut ws = gw.accept().await;
    handshake(&mut ws, 30_000, 1 << 20, None).await;
    node.wait_state(RunState::Connected).await;
    node.stop().await.unwrap();
}

#[tokio::test]
async fn challenge_timeout_and_missing_nonce_reconnect() {
    let gw = Gw::new().await;
    let mut c = cfg(gw.port());
    c.challenge_timeout = Duration::from_millis(200);
    let node = start(c);
    let mut ws = gw.accept().await;
    // no challenge at all
    assert_eq!(recv_close(&mut ws, T).await, Some(1008));
    let mut ws = gw.accept().await;
    send(
        &mut ws,
        json!({"type":"event","event":"connect.challenge","payload":{"ts":1}}),
    )
    .await;
    assert_eq!(recv_close(&mut ws, T).await, Some(1008));
    let mut ws = gw.accept().await;
    handshake(&mut ws, 30_000, 1 << 20, None).await;
    node.wait_state(RunState::Connected).await;
    node.stop().await.unwrap();
}

#[tokio::test]
async fn spec_3_4_v2_fallback_after_signature_invalid() {
    let gw = Gw::new().await;
    let node = start(cfg(gw.port()));
    let mut ws = gw.accept().await;
    let req = challenge(&mut ws, 1_000).await;
    assert_eq!(verify_proof(&req["params"], 1_000), "v3");
    send(
        &mut ws,
        reject(
            &req["id"],
            "INVALID_REQUEST",
            "device signature invalid",
            json!({"code":"DEVICE_AUTH_SIGNATURE_INVALID","reason":"device-signature"}),
        ),
    )
    .await;
    let mut ws = gw.accept().await;
    let req = challenge(&mut ws, 2_000).await;
    assert_eq!(verify_proof(&req["params"], 2_000), "v2");
    send(&mut ws, hello(&req["id"], 30_000, 1 << 20, None)).await;
    node.wait_state(RunState::Connected).await;
    node.stop().await.unwrap();
}

#[tokio::test]
async fn spec_6_rejected_shared_token_stops_the_node_with_an_auth_error() {
    let gw = Gw::new().await;
    let node = start(cfg(gw.port()));
    let mut ws = gw.accept().await;
    let req = challenge(&mut ws, 1_000).await;
    send(
        &mut ws,
        reject(
            &req["id"],
            "INVALID_REQUEST",
            "unauthorized: gateway token mismatch (provide gateway auth token)",
            json!({"code":"AUTH_TOKEN_MISMATCH","canRetryWithDeviceToken":true}),
        ),
    )
    .await;
    let res = tokio::time::timeout(T, node.task).await.unwrap().unwrap();
    let err = res.unwrap_err().to_string();
    assert!(err.contains("AUTH_TOKEN_MISMATCH"), "{err}");
    assert!(err.contains("OPENCLAW_GATEWAY_TOKEN"), "{err}");
    assert_eq!(node.status.state(), Some(RunState::Stopped));
}

#[tokio::test]
async fn spec_11_12_mismatched_device_token_is_cleared_not_looped_on() {
    let gw = Gw::new().await;
    let dir = tempfile::tempdir().unwrap();
    let id = DeviceIdentity::load_or_create(dir.path()).unwrap();
    DeviceAuthStore::load(dir.path(), id.device_id())
        .unwrap()
        .set_token("node", "revoked", &[])
        .unwrap();
    let node = start_in(dir, cfg(gw.port()));
    // shared token present → first connect uses it; make the gateway say the device token is bad
    let mut ws = gw.accept().await;
    let req = challenge(&mut ws, 1_000).await;
    send(
        &mut ws,
        reject(
            &req["id"],
            "INVALID_REQUEST",
            "unauthorized: device token mismatch",
            json!({"code":"AUTH_DEVICE_TOKEN_MISMATCH"}),
        ),
    )
    .await;
    let mut ws = gw.accept().await;
    let p = handshake(&mut ws, 30_000, 1 << 20, None).await;
    assert_eq!(p["auth"], json!({"token":"shared"}));
    node.wait_state(RunState::Connected).await;
    let store = DeviceAuthStore::load(node.dir.path(), &node.device_id).unwrap();
    assert_eq!(store.token("node"), None, "revoked token must be deleted");
    node.stop().await.unwrap();
}

#[tokio::test]
async fn invokes_which_run_events_before_results_and_errors() {
    let gw = Gw::new().await;
    let node = start(cfg(gw.port()));
    let mut ws = gw.accept().await;
    handshake(&mut ws, 30_000, 1 << 20, None).await;
    let me = node.device_id.clone();
    send(
        &mut ws,
        invoke(
            "i1",
            &me,
            "system.which",
            json!({"bins":["sh","nope-xyz-1"]}),
            None,
        ),
    )
    .await;
    let (r, ev) = collect_results(&mut ws, 1, T).await;
    assert!(ev.is_empty());
    assert_eq!(r[0]["id"], "i1");
    assert_eq!(r[0]["nodeId"], me.as_str());
    assert_eq!(r[0]["ok"], true);
    let payload: Value = serde_json::from_str(r[0]["payloadJSON"].as_str().unwrap()).unwrap();
    assert!(payload["bins"]["sh"].as_str().unwrap().ends_with("/sh"));
    assert!(payload["bins"].get("nope-xyz-1").is_none());

    // system.run: exec.finished strictly before the result
    send(
        &mut ws,
        invoke(
            "i2",
            &me,
            "system.run",
            json!({"command":["echo","hi"],"runId":"run-2"}),
            None,
        ),
    )
    .await;
    let mut order = Vec::new();
    while order.len() < 2 {
        let v = recv(&mut ws).await;
        send(
            &mut ws,
            json!({"type":"res","id":v["id"],"ok":true,"payload":{}}),
        )
        .await;
        order.push(v);
    }
    assert_eq!(order[0]["method"], "node.event");
    assert_eq!(order[0]["params"]["event"], "exec.finished");
    let ev: Value =
        serde_json::from_str(order[0]["params"]["payloadJSON"].as_str().unwrap()).unwrap();
    assert_eq!(ev["runId"], "run-2");
    assert_eq!(ev["output"], "echo hi");
    assert_eq!(order[1]["method"], "node.invoke.result");
    assert_eq!(order[1]["params"]["ok"], true);

    // denial: exec.denied then SYSTEM_RUN_DENIED; unknown command; bad params
    send(
        &mut ws,
        invoke(
            "i3",
            &me,
            "system.run",
            json!({"command":["denied"],"runId":"run-3"}),
            None,
        ),
    )
    .await;
    let (r, ev) = collect_results(&mut ws, 1, T).await;
    assert_eq!(ev[0]["event"], "exec.denied");
    assert_eq!(
        r[0]["error"],
        json!({"code":"SYSTEM_RUN_DENIED","message":"SYSTEM_RUN_DENIED: allowlist miss"})
    );
    send(&mut ws, invoke("i4", &me, "system.notify", json!({}), None)).await;
    let (r, _) = collect_results(&mut ws, 1, T).await;
    assert_eq!(
        r[0]["error"],
        json!({"code":"UNAVAILABLE","message":"command not supported"})
    );
    send(
        &mut ws,
        json!({"type":"event","event":"node.invoke.request",
        "payload":{"id":"i5","nodeId":me,"command":"system.which","paramsJSON":"{not json"}}),
    )
    .await;
    let (r, _) = collect_results(&mut ws, 1, T).await;
    assert_eq!(r[0]["error"]["code"], "INVALID_REQUEST");
    assert!(r[0].get("payloadJSON").is_none());
    node.stop().await.unwrap();
}

#[tokio::test]
async fn malformed_frames_never_take_the_node_down() {
    let gw = Gw::new().await;
    let node = start(cfg(gw.port()));
    let mut ws = gw.accept().await;
    handshake(&mut ws, 30_000, 26_214_400, None).await;
    let me = node.device_id.clone();
    for junk in [
        "not json".to_string(),
        "{}".into(),
        "[1,2]".into(),
        r#"{"type":"bogus"}"#.into(),
        r#"{"type":"event","event":"node.invoke.request","payload":{"nodeId":"x"}}"#.into(),
        r#"{"type":"event","event":"node.invoke.request","payload":"str"}"#.into(),
        r#"{"type":"res","id":"","ok":true}"#.into(),
        r#"{"type":"req","id":"1","method":"x"}"#.into(),
        "\u{0}\u{1}".into(),
    ] {
        ws.send(Message::text(junk)).await.unwrap();
    }
    ws.send(Message::binary(vec![0u8, 1, 2])).await.unwrap();
    // NUL bytes and wrong types inside params → a clear error or a clean result
    send(
        &mut ws,
        invoke(
            "n1",
            &me,
            "system.which",
            json!({"bins":["a\u{0}b", 5, null]}),
            None,
        ),
    )
    .await;
    send(
        &mut ws,
        invoke("n2", &me, "system.which", json!({"bins":"sh"}), None),
    )
    .await;
    let big = "x".repeat(5 * 1024 * 1024);
    send(
        &mut ws,
        invoke("n3", &me, "system.which", json!({"bins":[big]}), None),
    )
    .await;
    let (mut r, _) = collect_results(&mut ws, 3, T).await;
    r.sort_by_key(|v| v["id"].as_str().unwrap().to_string());
    assert_eq!(r[0]["payloadJSON"], "{\"bins\":{}}");
    assert_eq!(
        r[1]["error"]["message"],
        "Error: INVALID_REQUEST: bins required"
    );
    assert_eq!(r[2]["error"]["code"], "INVALID_REQUEST");
    assert_eq!(node.status.state(), Some(RunState::Connected));
    node.stop().await.unwrap();
}

#[tokio::test]
async fn oversized_frame_closes_1009_then_reconnects() {
    let gw = Gw::new().await;
    let node = start(cfg(gw.port()));
    let mut ws = gw.accept().await;
    handshake(&mut ws, 30_000, 64 * 1024, None).await;
    node.wait_state(RunState::Connected).await;
    let big = json!({"type":"event","event":"health","payload":{"x":"y".repeat(100 * 1024)}});
    let _ = ws.send(Message::text(big.to_string())).await;
    assert_eq!(recv_close(&mut ws, T).await, Some(1009));
    // the next connection learned the limit: the transport itself refuses oversized frames
    let mut ws = gw.accept().await;
    handshake(&mut ws, 30_000, 64 * 1024, None).await;
    node.wait_state(RunState::Connected).await;
    let _ = ws.send(Message::text(big.to_string())).await;
    assert_eq!(recv_close(&mut ws, T).await, Some(1009));
    let mut ws = gw.accept().await;
    handshake(&mut ws, 30_000, 1 << 20, None).await;
    node.wait_state(RunState::Connected).await;
    node.stop().await.unwrap();
}

#[tokio::test]
async fn concurrent_invokes_run_in_parallel_each_event_precedes_its_result() {
    let gw = Gw::new().await;
    let node = start(cfg(gw.port()));
    let mut ws = gw.accept().await;
    handshake(&mut ws, 30_000, 1 << 20, None).await;
    let me = node.device_id.clone();
    let n = 24;
    let t0 = Instant::now();
    for i in 0..n {
        send(
            &mut ws,
            invoke(
                &format!("c{i}"),
                &me,
                "system.run",
                json!({"command":["sleep","300"],"runId":format!("run-c{i}")}),
                None,
            ),
        )
        .await;
    }
    // interleave a cheap command: it must not wait for the runs
    send(
        &mut ws,
        invoke("w", &me, "system.which", json!({"bins":["sh"]}), None),
    )
    .await;
    let mut seen_events = std::collections::HashSet::new();
    let mut results = 0;
    let mut which_rank = None;
    while results < n + 1 {
        let v = recv(&mut ws).await;
        send(
            &mut ws,
            json!({"type":"res","id":v["id"],"ok":true,"payload":{}}),
        )
        .await;
        if v["method"] == "node.event" {
            let ev: Value =
                serde_json::from_str(v["params"]["payloadJSON"].as_str().unwrap()).unwrap();
            assert!(
                seen_events.insert(ev["runId"].as_str().unwrap().to_string()),
                "event twice"
            );
        } else {
            let id = v["params"]["id"].as_str().unwrap().to_string();
            if id == "w" {
                which_rank = Some(results);
            } else {
                assert!(
                    seen_events.contains(&format!("run-{id}")),
                    "result before event for {id}"
                );
            }
            results += 1;
        }
    }
    // the cheap command did not queue behind the 300 ms runs
    assert_eq!(which_rank, Some(0));
    // 24 × 300 ms one after the other would take 7.2 s
    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "not parallel: {:?}",
        t0.elapsed()
    );
    assert!(node.launcher.max_running.load(Ordering::SeqCst) > 1);
    node.stop().await.unwrap();
}

#[tokio::test]
async fn invoke_deadline_and_disconnect_cancel_running_commands() {
    let gw = Gw::new().await;
    let node = start(cfg(gw.port()));
    let mut ws = gw.accept().await;
    handshake(&mut ws, 30_000, 1 << 20, None).await;
    let me = node.device_id.clone();
    let t0 = Instant::now();
    send(
        &mut ws,
        invoke(
            "d1",
            &me,
            "system.run",
            json!({"command":["hang"],"runId":"run-d1"}),
            Some(200),
        ),
    )
    .await;
    let (r, ev) = collect_results(&mut ws, 1, T).await;
    assert!(t0.elapsed() < Duration::from_secs(2));
    assert_eq!(ev.len(), 1);
    let p: Value = serde_json::from_str(r[0]["payloadJSON"].as_str().unwrap()).unwrap();
    assert_eq!(p["timedOut"], true);
    assert_eq!(node.launcher.cancelled.load(Ordering::SeqCst), 1);
    // a connection drop kills what is running
    send(
        &mut ws,
        invoke(
            "d2",
            &me,
            "system.run",
            json!({"command":["hang"],"runId":"run-d2"}),
            None,
        ),
    )
    .await;
    let deadline = Instant::now() + T;
    while node.launcher.running.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(ws);
    let deadline = Instant::now() + T;
    while node.launcher.cancelled.load(Ordering::SeqCst) < 2 {
        assert!(
            Instant::now() < deadline,
            "disconnect did not cancel the run"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // node.invoke.cancel from the gateway cancels too
    let mut ws = gw.accept().await;
    handshake(&mut ws, 30_000, 1 << 20, None).await;
    send(
        &mut ws,
        invoke(
            "d3",
            &me,
            "system.run",
            json!({"command":["hang"],"runId":"run-d3"}),
            None,
        ),
    )
    .await;
    while node.launcher.running.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    send(&mut ws, json!({"type":"event","event":"node.invoke.cancel","payload":{"invokeId":"d3","nodeId":me}})).await;
    let (r, _) = collect_results(&mut ws, 1, T).await;
    assert_eq!(r[0]["id"], "d3");
    assert_eq!(node.launcher.cancelled.load(Ordering::SeqCst), 3);
    node.stop().await.unwrap();
}

#[tokio::test]
async fn busy_beyond_the_queue_bound_is_a_clear_error() {
    let gw = Gw::new().await;
    let mut c = cfg(gw.port());
    c.max_running_invokes = 1;
    c.max_queued_invokes = 1;
    let node = start(c);
    let mut ws = gw.accept().await;
    handshake(&mut ws, 30_000, 1 << 20, None).await;
    let me = node.device_id.clone();
    for i in 0..3 {
        send(
            &mut ws,
            invoke(
                &format!("b{i}"),
                &me,
                "system.run",
                json!({"command":["sleep","300"],"runId":format!("run-b{i}")}),
                None,
            ),
        )
        .await;
    }
    let (r, _) = collect_results(&mut ws, 3, T).await;
    let busy: Vec<&Value> = r.iter().filter(|v| v["ok"] == false).collect();
    assert_eq!(busy.len(), 1, "{r:?}");
    assert_eq!(busy[0]["id"], "b2");
    assert!(
        busy[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("node busy")
    );
    assert_eq!(node.launcher.max_running.load(Ordering::SeqCst), 1);
    node.stop().await.unwrap();
}

// --- TLS --------------------------------------------------------------------------------------

mod limits;
mod tls;
