//! The one fake gateway of the integration tests: a WebSocket listener on `127.0.0.1:0` (plain,
//! TLS, or with an abrupt RST on drop), the challenge → connect → hello-ok handshake with the
//! device proof verified like the real gateway verifies it, `node.invoke.request` frames, and
//! readers that acknowledge every request the node sends (as the gateway does) while collecting
//! its results and events.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

pub use super::ws::{next, send};
pub use super::{BIN, T};

/// A byte stream the fake gateway serves on: TCP or TLS over TCP.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<X: AsyncRead + AsyncWrite + Unpin + Send> Io for X {}
pub type Ws = WebSocketStream<Box<dyn Io>>;

/// The nonce of every challenge; the node must echo it and sign over it.
pub const NONCE: &str = "00000000-0000-4000-8000-000000000001";
/// The challenge timestamp; the node's proof must carry it as `signedAt`.
pub const CHALLENGE_TS: u64 = 1_737_264_000_000;
/// The `maxPayload` a hello announces unless a test asks for another.
pub const MAX_PAYLOAD: u64 = 26_214_400;

pub struct Gw {
    listener: TcpListener,
    /// Serve TLS with this acceptor (the node's pinning and refusal tests).
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    /// Drop connections with an RST instead of a FIN and never a close frame: the gateway
    /// vanishing mid-run in the fault tests.
    abrupt: bool,
}

impl Gw {
    pub async fn new() -> Self {
        Self {
            listener: TcpListener::bind("127.0.0.1:0").await.unwrap(),
            tls: None,
            abrupt: false,
        }
    }

    /// A gateway whose dropped connections reset (RST) instead of closing.
    pub async fn abrupt() -> Self {
        Self {
            abrupt: true,
            ..Self::new().await
        }
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().unwrap().port()
    }

    pub async fn accept(&self) -> Ws {
        self.try_accept(T).await.expect("node did not connect")
    }

    /// Accept the next WebSocket connection within `within`.
    pub async fn try_accept(&self, within: Duration) -> Option<Ws> {
        let (tcp, _) = tokio::time::timeout(within, self.listener.accept())
            .await
            .ok()?
            .ok()?;
        if self.abrupt {
            let _ = socket2::SockRef::from(&tcp).set_linger(Some(Duration::ZERO));
        }
        let io: Box<dyn Io> = match &self.tls {
            None => Box::new(tcp),
            Some(acc) => Box::new(acc.accept(tcp).await.ok()?),
        };
        // Results can be as large as the maxPayload a test announces.
        let cfg = WebSocketConfig::default()
            .max_message_size(Some(64 << 20))
            .max_frame_size(Some(64 << 20));
        tokio_tungstenite::accept_async_with_config(io, Some(cfg))
            .await
            .ok()
    }

    /// Accept the node's connection and complete the handshake with the given `maxPayload`;
    /// returns the socket and the node id (= device id) to address invokes to.
    pub async fn connect(&self, max_payload: u64) -> (Ws, String) {
        let mut ws = self.accept().await;
        let params = handshake(&mut ws, 30_000, max_payload, None).await;
        let node_id = params["device"]["id"].as_str().unwrap().to_string();
        (ws, node_id)
    }
}

pub async fn recv(ws: &mut Ws) -> Value {
    super::ws::recv_json(ws, T).await
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

// ---------------------------------------------------------------------------------------------
// handshake

/// Send the challenge and return the `connect` request frame.
pub async fn challenge(ws: &mut Ws, ts: u64) -> Value {
    send(
        ws,
        json!({"type":"event","event":"connect.challenge","payload":{"nonce":NONCE,"ts":ts,"capabilities":["x"]}}),
    )
    .await;
    let req = recv(ws).await;
    assert_eq!(req["type"], "req");
    assert_eq!(req["method"], "connect", "{req}");
    req
}

/// Verify the device proof like the gateway does: id = sha256(raw key), nonce echoed,
/// signedAt = challenge ts, signature over the v3 (or v2) payload. Returns the version used.
pub fn verify_proof(params: &Value, ts: u64) -> &'static str {
    let dev = &params["device"];
    let key_raw = URL_SAFE_NO_PAD
        .decode(dev["publicKey"].as_str().unwrap())
        .unwrap();
    assert_eq!(key_raw.len(), 32);
    assert_eq!(
        dev["id"].as_str().unwrap(),
        hex::encode(Sha256::digest(&key_raw))
    );
    assert_eq!(dev["nonce"], NONCE);
    assert_eq!(dev["signedAt"], ts);
    let sig = URL_SAFE_NO_PAD
        .decode(dev["signature"].as_str().unwrap())
        .unwrap();
    let sig = Signature::from_bytes(&sig.try_into().unwrap());
    let key = VerifyingKey::from_bytes(&key_raw.try_into().unwrap()).unwrap();
    let auth = &params["auth"];
    let token = auth["token"]
        .as_str()
        .or(auth["deviceToken"].as_str())
        .unwrap_or("");
    let base = format!(
        "{}|node-host|node|node||{}|{}|{}",
        dev["id"].as_str().unwrap(),
        ts,
        token,
        NONCE
    );
    let v3 = format!("v3|{base}|linux|linux");
    if key.verify(v3.as_bytes(), &sig).is_ok() {
        return "v3";
    }
    let v2 = format!("v2|{base}");
    assert!(
        key.verify(v2.as_bytes(), &sig).is_ok(),
        "signature verifies neither as v3 nor as v2"
    );
    "v2"
}

/// The `hello-ok` answer to connect request `id` (with a field from the future, which the node
/// must ignore).
pub fn hello(id: &Value, tick_ms: u64, max_payload: u64, device_token: Option<&str>) -> Value {
    let mut auth = json!({"role":"node","scopes":[],"method":"token"});
    if let Some(t) = device_token {
        auth["deviceToken"] = t.into();
    }
    json!({"type":"res","id":id,"ok":true,"payload":{
        "type":"hello-ok","protocol":4,"server":{"version":"fake","connId":"c"},
        "features":{"methods":[],"events":[]},"snapshot":{},"auth":auth,
        "policy":{"maxPayload":max_payload,"maxBufferedBytes":max_payload*2,"tickIntervalMs":tick_ms},
        "futureField":{"x":1}}})
}

/// Challenge → connect (proof verified) → hello-ok; returns the connect params.
pub async fn handshake(
    ws: &mut Ws,
    tick_ms: u64,
    max_payload: u64,
    device_token: Option<&str>,
) -> Value {
    let req = challenge(ws, CHALLENGE_TS).await;
    verify_proof(&req["params"], CHALLENGE_TS);
    send(ws, hello(&req["id"], tick_ms, max_payload, device_token)).await;
    req["params"].clone()
}

/// An error answer to request `id`.
pub fn reject(id: &Value, code: &str, message: &str, details: Value) -> Value {
    json!({"type":"res","id":id,"ok":false,"error":{"code":code,"message":message,"details":details}})
}

// ---------------------------------------------------------------------------------------------
// invokes and what comes back

/// A `node.invoke.request` event with `paramsJSON` (and `timeoutMs` when given).
pub fn invoke(
    id: &str,
    node: &str,
    command: &str,
    params: Value,
    timeout_ms: Option<u64>,
) -> Value {
    let mut p = json!({"id":id,"nodeId":node,"command":command,"paramsJSON":params.to_string()});
    if let Some(t) = timeout_ms {
        p["timeoutMs"] = t.into();
    }
    json!({"type":"event","event":"node.invoke.request","payload":p})
}

/// Send a `node.invoke.request` for `command` with `params` and a 60 s deadline.
pub async fn send_invoke(ws: &mut Ws, id: &str, node_id: &str, command: &str, params: Value) {
    send(ws, invoke(id, node_id, command, params, Some(60_000))).await;
}

/// `system.run` params for `sh -c <script>`.
pub fn sh_run(script: &str, run_id: &str) -> Value {
    json!({"command":["/bin/sh","-c",script],"runId":run_id,"sessionKey":"faults"})
}

/// The next request the node sends before `deadline`, acknowledged as the gateway does
/// (responses and events are skipped); `None` when the deadline passes or the stream ends.
pub async fn next_request(ws: &mut Ws, deadline: Instant) -> Option<Value> {
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        let msg = next(ws, left).await?;
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
        return Some(v);
    }
}

/// Acknowledge requests until the `node.invoke.result` for `id` arrives; returns its params.
pub async fn result_of(ws: &mut Ws, id: &str, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let Some(v) = next_request(ws, deadline).await else {
            panic!("no result for invoke {id}");
        };
        if v["method"] == "node.invoke.result" && v["params"]["id"] == id {
            return v["params"].clone();
        }
    }
}

/// Send an invoke (60 s deadline) and wait for its result; returns the result params.
pub async fn call(ws: &mut Ws, id: &str, node_id: &str, command: &str, params: Value) -> Value {
    send_invoke(ws, id, node_id, command, params).await;
    result_of(ws, id, T).await
}

/// Like [`result_of`] for several invokes answered in any order; results by invoke id.
pub async fn results_of(ws: &mut Ws, ids: &[String], within: Duration) -> HashMap<String, Value> {
    let mut out = HashMap::new();
    let deadline = Instant::now() + within;
    while out.len() < ids.len() {
        let Some(v) = next_request(ws, deadline).await else {
            panic!(
                "only {} of {} results: {:?}",
                out.len(),
                ids.len(),
                out.keys()
            );
        };
        if v["method"] == "node.invoke.result"
            && let Some(id) = v["params"]["id"].as_str()
            && ids.iter().any(|i| i == id)
        {
            out.insert(id.to_string(), v["params"].clone());
        }
    }
    out
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
        let Some(v) = next_request(ws, deadline).await else {
            let ids: Vec<&String> = c.result_pos.keys().collect();
            panic!("only {} of {n} results: {ids:?}", c.results.len())
        };
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
    while let Some(v) = next_request(ws, deadline).await {
        assert_ne!(v["method"], "node.invoke.result", "unexpected result {v}");
    }
}

/// The node still answers a normal `system.which` on this connection.
pub async fn assert_which_works(ws: &mut Ws, node: &str, id: &str) {
    send(
        ws,
        invoke(id, node, "system.which", json!({"bins":["sh"]}), None),
    )
    .await;
    let c = collect(ws, 1, T).await;
    let p = c.payload(id);
    assert!(p["bins"]["sh"].as_str().unwrap().ends_with("/sh"), "{p}");
}
