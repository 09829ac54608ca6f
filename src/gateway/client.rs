//! The connection loop of a node (protocol §3–§7, §9–§12):
//!
//! ```text
//! dial (+TLS pin) -> connect.challenge -> connect (signed device proof) -> hello-ok
//!   -> serve: node.invoke.request -> task -> [node.event …] -> node.invoke.result
//!   -> close / tick timeout / oversized frame -> cancel in-flight invokes -> backoff -> dial
//! ```
//!
//! - Backoff 1 s doubling to 30 s, plus up to 25 % jitter, reset after `hello-ok`.
//! - `PAIRING_REQUIRED`: keep reconnecting with byte-identical metadata (so the pending request
//!   is reused), capped at [`ClientConfig::pairing_retry_max`], and log the operator commands.
//! - Signature `v3`, falling back to `v2` for the rest of the process on
//!   `DEVICE_AUTH_SIGNATURE_INVALID`.
//! - A rejected stored device token is deleted, not looped on; a rejected shared token is
//!   retried once with the stored device token on a trusted endpoint (loopback or pinned TLS),
//!   then reported as a fatal [`ClientError::Auth`] (the operator must fix the credentials).
//! - Tick watchdog: no frame for more than 2 × `tickIntervalMs` → close 4000 "tick timeout".
//! - Inbound frames above the gateway's `maxPayload` close the socket with 1009 and reconnect; a
//!   text frame that is not valid UTF-8 closes it with 1007 (RFC 6455 §8.1) and reconnects.
//!   Binary frames and malformed JSON are logged and dropped; an invoke frame the parser rejects
//!   (e.g. params nested deeper than 128 levels) is still answered `INVALID_REQUEST` when its
//!   `id`/`nodeId`/`command` can be read.
//! - Invokes run on their own tasks (the read loop never blocks): at most
//!   [`ClientConfig::max_running_invokes`] at once (default 64), up to
//!   [`ClientConfig::max_queued_invokes`] more wait for a slot (default 256, so 320 in flight);
//!   beyond that the invoke is answered `UNAVAILABLE` "node busy: … retry later" at once.
//!   Each invoke is cancelled when its `timeoutMs` passes, the gateway sends
//!   `node.invoke.cancel`, or the connection drops; a cancelled queued invoke never starts.
//! - Invoke ids: a request whose id is still active is not run again (logged); the active
//!   invoke's single result answers that id — an immediate error would resolve the gateway's
//!   pending call while the first run is still going. An id reused after its result is a new
//!   request and gets its own result. So each id is answered exactly once per request the
//!   gateway can still be waiting on.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{Semaphore, mpsc};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::frames::{
    self, Challenge, ClientInfo, ConnectAuth, ConnectParams, DeviceProof, ErrorShape, HelloOk,
    Inbound, InvokeRequest, InvokeResultError, InvokeResultParams, NodeEventParams, ReqFrame,
};
use super::identity::{DeviceIdentity, ProofFields, SignatureVersion, proof_payload};
use super::invoke::{EventWriter, InvokeContext, InvokeError, InvokeHandler};
use super::state::{DeviceAuthStore, StateError};
use super::status::{RunState, StatusWriter};
use super::tls::{TlsError, TlsMode, client_config};
use crate::util::now_ms;

/// Receive limit before the gateway told us its `maxPayload` (the reference client's limit).
pub const DEFAULT_MAX_PAYLOAD: usize = 25 * 1024 * 1024;
/// Outbound frames buffered per connection before senders wait (bounded write queue).
const OUTBOUND_QUEUE: usize = 256;
/// Outstanding requests tracked per connection for error logging.
const MAX_TRACKED_REQUESTS: usize = 4096;

/// Connection settings.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub host: String,
    pub port: u16,
    /// `None`: plain `ws://`.
    pub tls: Option<TlsMode>,
    pub display_name: Option<String>,
    /// `node.json` `nodeId`, sent as `client.instanceId`.
    pub instance_id: Option<String>,
    pub version: String,
    /// `linux` / `macos` / `windows` (canonical ids only).
    pub platform: String,
    /// `Linux` / `Mac` / `Windows`.
    pub device_family: String,
    /// The node's PATH (advertised as `pathEnv`).
    pub path_env: String,
    /// Shared gateway token (`OPENCLAW_GATEWAY_TOKEN`).
    pub token: Option<String>,
    /// Shared gateway password (`OPENCLAW_GATEWAY_PASSWORD`).
    pub password: Option<String>,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    /// Upper bound of the retry delay while pairing is pending.
    pub pairing_retry_max: Duration,
    /// TCP + TLS + WebSocket upgrade.
    pub connect_timeout: Duration,
    /// Wait for `connect.challenge`, then for the `connect` response.
    pub challenge_timeout: Duration,
    /// Invokes handled at once (default 64).
    pub max_running_invokes: usize,
    /// Invokes waiting for a slot (default 256); beyond running + queued: "node busy".
    pub max_queued_invokes: usize,
    /// When the node started (the first `hello-ok` logs the time since).
    pub started: Instant,
}

impl ClientConfig {
    /// Defaults for `host:port` (plain ws, production timers).
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Self {
            host: host.into(),
            port,
            tls: None,
            display_name: None,
            instance_id: None,
            version: env!("CARGO_PKG_VERSION").to_string(),
            platform: default_platform().0.to_string(),
            device_family: default_platform().1.to_string(),
            path_env: String::new(),
            token: None,
            password: None,
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(30),
            pairing_retry_max: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(10),
            challenge_timeout: Duration::from_secs(15),
            max_running_invokes: 64,
            max_queued_invokes: 256,
            started: Instant::now(),
        }
    }

    /// `ws://` or `wss://` URL of the gateway.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "wss" } else { "ws" };
        let host = if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("{scheme}://{host}:{}", self.port)
    }

    /// Loopback hosts (where a device-token retry is safe without TLS).
    pub fn is_loopback(&self) -> bool {
        is_loopback_host(&self.host)
    }
}

/// Whether `host` names the local machine.
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

/// Canonical `(platform, deviceFamily)` of this build.
pub fn default_platform() -> (&'static str, &'static str) {
    if cfg!(target_os = "macos") {
        ("macos", "Mac")
    } else if cfg!(target_os = "windows") {
        ("windows", "Windows")
    } else {
        ("linux", "Linux")
    }
}

/// Errors that stop the node (the operator has to act; retrying cannot help).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(
        "the gateway rejected this node's credentials ({code}: {message}); set \
         OPENCLAW_GATEWAY_TOKEN or OPENCLAW_GATEWAY_PASSWORD to the gateway's credentials \
         (`openclaw config get gateway.auth.token` on the gateway host) and restart"
    )]
    Auth { code: String, message: String },
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Tls(#[from] TlsError),
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}
type Ws = WebSocketStream<Box<dyn Io>>;

/// One live connection, shared by the invoke tasks.
#[derive(Debug)]
struct Conn {
    out: mpsc::Sender<Message>,
    seq: AtomicU64,
    node_id: String,
    max_payload: usize,
    cancel: CancellationToken,
    pending: Mutex<HashMap<String, String>>,
    active: Mutex<HashMap<String, CancellationToken>>,
}

impl Conn {
    fn next_id(&self) -> String {
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        format!("{n}:{}", uuid::Uuid::new_v4())
    }

    /// Encode a `req` frame; `Err(len)` when it would exceed the gateway's maxPayload.
    fn encode_req<P: Serialize>(
        &self,
        method: &str,
        params: &P,
    ) -> Result<(String, String), usize> {
        let id = self.next_id();
        match serde_json::to_string(&ReqFrame::new(&id, method, params)) {
            Ok(t) if t.len() <= self.max_payload => Ok((id, t)),
            Ok(t) => Err(t.len()),
            Err(e) => {
                warn!("cannot serialise {method}: {e}");
                Err(0)
            }
        }
    }

    async fn send_text(&self, id: String, method: &str, text: String) -> bool {
        if let Ok(mut p) = self.pending.lock()
            && p.len() < MAX_TRACKED_REQUESTS
        {
            p.insert(id, method.to_string());
        }
        self.out.send(Message::text(text)).await.is_ok()
    }

    async fn send_req<P: Serialize>(&self, method: &str, params: &P) -> bool {
        match self.encode_req(method, params) {
            Ok((id, text)) => self.send_text(id, method, text).await,
            Err(len) => {
                warn!(
                    "not sending {method}: {len} bytes exceed the gateway's maxPayload ({} bytes)",
                    self.max_payload
                );
                false
            }
        }
    }

    async fn send_result(&self, invoke_id: &str, result: Result<String, InvokeError>) {
        let mut params = InvokeResultParams {
            id: invoke_id.to_string(),
            node_id: self.node_id.clone(),
            ok: result.is_ok(),
            payload_json: None,
            error: None,
        };
        match result {
            Ok(text) => params.payload_json = Some(text),
            Err(e) => params.error = Some(wire_error(&e)),
        }
        let method = "node.invoke.result";
        let encoded = match self.encode_req(method, &params) {
            Ok(ok) => Ok(ok),
            Err(len) => {
                // The whole frame must fit the gateway's maxPayload: answer with an error.
                params.ok = false;
                params.payload_json = None;
                params.error = Some(InvokeResultError {
                    code: "UNAVAILABLE".into(),
                    message: format!(
                        "result frame of {len} bytes exceeds the gateway's maxPayload ({} bytes)",
                        self.max_payload
                    ),
                });
                self.encode_req(method, &params)
            }
        };
        let sent = match encoded {
            Ok((id, text)) => self.send_text(id, method, text).await,
            Err(_) => false,
        };
        if !sent {
            debug!("connection gone; result of invoke {invoke_id} dropped");
        }
    }

    async fn close(&self, code: u16, reason: &str) {
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: reason.to_string().into(),
        };
        let _ = self
            .out
            .send_timeout(Message::Close(Some(frame)), Duration::from_millis(500))
            .await;
    }
}

/// A handler's `node.event`s are `req` frames on this connection's writer queue, so they leave
/// before the invoke's result (which is queued after the handler returns).
impl EventWriter for Conn {
    fn send_event<'a>(
        &'a self,
        event: &'a str,
        payload_json: String,
    ) -> Pin<Box<dyn Future<Output = bool> + Send + 'a>> {
        Box::pin(async move {
            let params = NodeEventParams {
                event: event.to_string(),
                payload_json: Some(payload_json),
            };
            self.send_req("node.event", &params).await
        })
    }
}

/// `InvokeError` → the closed `{code, message}` error (both non-empty).
fn wire_error(e: &InvokeError) -> InvokeResultError {
    let code = if e.code.trim().is_empty() {
        "UNAVAILABLE".to_string()
    } else {
        e.code.clone()
    };
    let message = if e.message.trim().is_empty() {
        code.clone()
    } else {
        e.message.clone()
    };
    InvokeResultError { code, message }
}

#[derive(Debug)]
struct Backoff {
    initial: Duration,
    max: Duration,
    cur: Duration,
}

impl Backoff {
    fn new(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            max,
            cur: initial,
        }
    }
    fn next(&mut self, cap: Duration) -> Duration {
        let d = self.cur.min(cap);
        self.cur = (self.cur * 2).min(self.max);
        use rand::Rng;
        let jitter_ms = (d.as_millis() as u64) / 4;
        let j = if jitter_ms > 0 {
            rand::thread_rng().gen_range(0..=jitter_ms)
        } else {
            0
        };
        d + Duration::from_millis(j)
    }
    fn reset(&mut self) {
        self.cur = self.initial;
    }
}

/// How a session ended.
#[derive(Debug)]
enum SessionEnd {
    Shutdown,
    Fatal(ClientError),
    Retry {
        reason: String,
        /// A specific delay (gateway `retryAfterMs`, quick device-token / v2 retry).
        delay: Option<Duration>,
        /// The session reached `hello-ok`.
        was_connected: bool,
        /// Pending pairing (`Some(requestId)`).
        pairing: Option<Option<String>>,
    },
}

fn retry(reason: impl Into<String>) -> SessionEnd {
    SessionEnd::Retry {
        reason: reason.into(),
        delay: None,
        was_connected: false,
        pairing: None,
    }
}

/// Client-wide invoke admission (shared across reconnects).
#[derive(Debug)]
struct Limiter {
    running: Arc<Semaphore>,
    inflight: AtomicUsize,
    max_total: usize,
}

/// A node's connection to one gateway.
#[derive(Debug)]
pub struct GatewayClient {
    cfg: ClientConfig,
    identity: DeviceIdentity,
    auth_store: DeviceAuthStore,
    status: Arc<StatusWriter>,
    tls: Option<Arc<rustls::ClientConfig>>,
    sig_version: SignatureVersion,
    device_token_only: bool,
    tried_device_token: bool,
    transport_limit: usize,
    last_request_id: Option<String>,
    was_pairing: bool,
    limiter: Arc<Limiter>,
}

impl GatewayClient {
    pub fn new(
        cfg: ClientConfig,
        identity: DeviceIdentity,
        auth_store: DeviceAuthStore,
        status: Arc<StatusWriter>,
    ) -> Result<Self, ClientError> {
        let tls = match &cfg.tls {
            Some(mode) => Some(client_config(mode)?),
            None => None,
        };
        let limiter = Arc::new(Limiter {
            running: Arc::new(Semaphore::new(cfg.max_running_invokes.max(1))),
            inflight: AtomicUsize::new(0),
            max_total: cfg.max_running_invokes.max(1) + cfg.max_queued_invokes,
        });
        Ok(Self {
            cfg,
            identity,
            auth_store,
            status,
            tls,
            sig_version: SignatureVersion::V3,
            device_token_only: false,
            tried_device_token: false,
            transport_limit: DEFAULT_MAX_PAYLOAD,
            last_request_id: None,
            was_pairing: false,
            limiter,
        })
    }

    /// The device id the gateway routes this node by.
    pub fn device_id(&self) -> &str {
        self.identity.device_id()
    }

    /// Connect, serve and reconnect until `shutdown` is cancelled (`Ok`) or the gateway rejects
    /// the credentials (`Err`).
    pub async fn run<H: InvokeHandler>(
        mut self,
        handler: Arc<H>,
        shutdown: CancellationToken,
    ) -> Result<(), ClientError> {
        let mut backoff = Backoff::new(self.cfg.backoff_initial, self.cfg.backoff_max);
        let mut pairing_pending = false;
        let result = loop {
            if shutdown.is_cancelled() {
                break Ok(());
            }
            // While pairing is pending the state stays `pairing` across reconnect attempts.
            if !pairing_pending {
                self.status.set(RunState::Connecting, None, None);
            }
            info!("connecting to gateway {}", self.cfg.url());
            let end = self.session(&handler, &shutdown).await;
            let (reason, delay, pairing) = match end {
                SessionEnd::Shutdown => break Ok(()),
                SessionEnd::Fatal(e) => break Err(e),
                SessionEnd::Retry {
                    reason,
                    delay,
                    was_connected,
                    pairing,
                } => {
                    if was_connected {
                        backoff.reset();
                    }
                    (reason, delay, pairing)
                }
            };
            pairing_pending = pairing.is_some();
            let (state, cap, request_id) = match pairing {
                Some(rid) => (RunState::Pairing, self.cfg.pairing_retry_max, rid),
                None => (RunState::Backoff, self.cfg.backoff_max, None),
            };
            let wait = delay.unwrap_or_else(|| backoff.next(cap));
            self.status.set(state, Some(reason.clone()), request_id);
            info!("reconnecting in {} ms", wait.as_millis());
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.cancelled() => break Ok(()),
            }
        };
        // In-flight invokes were cancelled with their connection: give the launcher time to
        // kill and reap what it started before the runtime goes away.
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.limiter.inflight.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let err = result.as_ref().err().map(ToString::to_string);
        self.status.set(RunState::Stopped, err, None);
        result
    }

    async fn dial(&self) -> Result<Ws, String> {
        let url = self.cfg.url();
        let fut = async {
            let tcp = tokio::net::TcpStream::connect((self.cfg.host.as_str(), self.cfg.port))
                .await
                .map_err(|e| format!("cannot connect to {url}: {e}"))?;
            let _ = tcp.set_nodelay(true);
            let io: Box<dyn Io> = match &self.tls {
                None => Box::new(tcp),
                Some(cfg) => {
                    let host = self.cfg.host.trim_start_matches('[').trim_end_matches(']');
                    let name = rustls::pki_types::ServerName::try_from(host.to_string())
                        .map_err(|e| format!("invalid TLS server name {host:?}: {e}"))?;
                    let tls = tokio_rustls::TlsConnector::from(cfg.clone())
                        .connect(name, tcp)
                        .await
                        .map_err(|e| format!("TLS handshake with {url} failed: {e}"))?;
                    Box::new(tls)
                }
            };
            let limit = self.transport_limit;
            let wscfg = WebSocketConfig::default()
                .max_message_size(Some(limit))
                .max_frame_size(Some(limit))
                .max_write_buffer_size(limit.saturating_mul(2).max(1 << 20));
            let (ws, _resp) = tokio_tungstenite::client_async_with_config(&url, io, Some(wscfg))
                .await
                .map_err(|e| format!("WebSocket upgrade with {url} failed: {e}"))?;
            Ok::<Ws, String>(ws)
        };
        match tokio::time::timeout(self.cfg.connect_timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(format!(
                "connecting to {url} timed out after {} ms",
                self.cfg.connect_timeout.as_millis()
            )),
        }
    }

    fn select_auth(&self) -> ConnectAuth {
        let stored = self.auth_store.token(frames::ROLE).map(str::to_string);
        let mut auth = ConnectAuth::default();
        if self.device_token_only {
            auth.device_token = stored;
            return auth;
        }
        if let Some(t) = &self.cfg.token {
            auth.token = Some(t.clone());
        } else if let Some(dt) = stored {
            auth.device_token = Some(dt);
        }
        if let Some(p) = &self.cfg.password {
            auth.password = Some(p.clone());
        }
        auth
    }

    fn connect_params<H: InvokeHandler>(&self, handler: &H, challenge: &Challenge) -> Value {
        let auth = self.select_auth();
        let signed_at = challenge.ts_ms().unwrap_or_else(now_ms);
        let scopes: Vec<String> = Vec::new();
        let payload = proof_payload(
            self.sig_version,
            self.identity.device_id(),
            &ProofFields {
                client_id: frames::CLIENT_ID,
                client_mode: frames::CLIENT_MODE,
                role: frames::ROLE,
                scopes: &scopes,
                signed_at_ms: signed_at,
                token: auth.signature_token(),
                nonce: &challenge.nonce,
                platform: &self.cfg.platform,
                device_family: &self.cfg.device_family,
            },
        );
        let non_empty = |s: &Option<String>| s.clone().filter(|v| !v.trim().is_empty());
        let params = ConnectParams {
            min_protocol: frames::MIN_PROTOCOL,
            max_protocol: frames::MAX_PROTOCOL,
            client: ClientInfo {
                id: frames::CLIENT_ID.into(),
                display_name: non_empty(&self.cfg.display_name),
                version: self.cfg.version.clone(),
                platform: self.cfg.platform.clone(),
                device_family: Some(self.cfg.device_family.clone()).filter(|s| !s.is_empty()),
                mode: frames::CLIENT_MODE.into(),
                instance_id: non_empty(&self.cfg.instance_id),
            },
            role: frames::ROLE.into(),
            scopes,
            caps: handler.caps(),
            commands: handler.commands(),
            path_env: Some(self.cfg.path_env.clone()).filter(|s| !s.is_empty()),
            auth,
            device: DeviceProof {
                id: self.identity.device_id().to_string(),
                public_key: self.identity.public_key_b64url().to_string(),
                signature: self.identity.sign(&payload),
                signed_at,
                nonce: challenge.nonce.trim().to_string(),
            },
        };
        serde_json::to_value(params).unwrap_or(Value::Null)
    }

    async fn session<H: InvokeHandler>(
        &mut self,
        handler: &Arc<H>,
        shutdown: &CancellationToken,
    ) -> SessionEnd {
        let mut ws = tokio::select! {
            r = self.dial() => match r {
                Ok(ws) => ws,
                Err(e) => {
                    warn!("gateway connect failed: {e}");
                    return retry(e);
                }
            },
            _ = shutdown.cancelled() => return SessionEnd::Shutdown,
        };
        let hello = tokio::select! {
            r = self.handshake(&mut ws, handler.as_ref()) => match r {
                Ok(h) => h,
                Err(end) => {
                    // A rejected connect is followed by the gateway's close frame: log it.
                    if let Ok(Some(Ok(Message::Close(Some(f))))) =
                        tokio::time::timeout(Duration::from_millis(300), ws.next()).await
                    {
                        info!("gateway closed the connection ({}): {}", u16::from(f.code), f.reason);
                    }
                    let _ = tokio::time::timeout(Duration::from_millis(500), ws.close(None)).await;
                    return end;
                }
            },
            _ = shutdown.cancelled() => {
                let _ = tokio::time::timeout(Duration::from_millis(500), ws.close(None)).await;
                return SessionEnd::Shutdown;
            }
        };
        self.serve(ws, hello, handler, shutdown).await
    }

    /// Challenge → connect → hello-ok.
    async fn handshake<H: InvokeHandler>(
        &mut self,
        ws: &mut Ws,
        handler: &H,
    ) -> Result<HelloOk, SessionEnd> {
        let limit = self.cfg.challenge_timeout;
        let challenge = match tokio::time::timeout(limit, wait_challenge(ws)).await {
            Ok(Ok(c)) => c,
            Ok(Err(end)) => return Err(end),
            Err(_) => {
                let _ = ws.send(close_msg(1008, "connect challenge timeout")).await;
                warn!("no connect.challenge within {} ms", limit.as_millis());
                return Err(retry("connect challenge timeout"));
            }
        };
        let connect_id = format!("1:{}", uuid::Uuid::new_v4());
        let params = self.connect_params(handler, &challenge);
        let frame = match serde_json::to_string(&ReqFrame::new(&connect_id, "connect", &params)) {
            Ok(f) => f,
            Err(e) => return Err(retry(format!("cannot serialise connect: {e}"))),
        };
        if let Err(e) = ws.send(Message::text(frame)).await {
            return Err(retry(format!("sending connect failed: {e}")));
        }
        let res = match tokio::time::timeout(limit, wait_response(ws, &connect_id)).await {
            Ok(Ok(r)) => r,
            Ok(Err(end)) => return Err(end),
            Err(_) => return Err(retry("the gateway did not answer connect")),
        };
        if res.ok {
            let payload = res.payload.unwrap_or(Value::Null);
            return match serde_json::from_value::<HelloOk>(payload) {
                Ok(h) if h.kind == "hello-ok" => Ok(h),
                Ok(h) => Err(retry(format!(
                    "unexpected connect response type {:?}",
                    h.kind
                ))),
                Err(e) => Err(retry(format!("malformed hello-ok: {e}"))),
            };
        }
        let err = res.error.unwrap_or_default();
        Err(self.classify_connect_error(&err))
    }

    fn trusted_endpoint(&self) -> bool {
        self.cfg.is_loopback() || matches!(self.cfg.tls, Some(TlsMode::Pinned(_)))
    }

    fn classify_connect_error(&mut self, err: &ErrorShape) -> SessionEnd {
        let code = err.detail_code().unwrap_or("").to_string();
        let msg = err.message.to_ascii_lowercase();
        let reason = format!("connect rejected: {err}");
        let quick = Some(Duration::from_millis(250));
        let fatal = |s: &Self| {
            let _ = s;
            SessionEnd::Fatal(ClientError::Auth {
                code: if code.is_empty() {
                    err.code.clone()
                } else {
                    code.clone()
                },
                message: err.message.clone(),
            })
        };
        if code == "PAIRING_REQUIRED"
            || err.code == "NOT_PAIRED" && msg.contains("pairing required")
        {
            let rid = err.detail_str("requestId").map(str::to_string);
            self.log_pairing(rid.as_deref());
            self.was_pairing = true;
            return SessionEnd::Retry {
                reason,
                delay: None,
                was_connected: false,
                pairing: Some(rid),
            };
        }
        if code == "DEVICE_AUTH_SIGNATURE_INVALID" && self.sig_version == SignatureVersion::V3 {
            warn!("gateway rejected the v3 device signature; retrying with the v2 payload");
            self.sig_version = SignatureVersion::V2;
            return SessionEnd::Retry {
                reason,
                delay: quick,
                was_connected: false,
                pairing: None,
            };
        }
        if code == "AUTH_DEVICE_TOKEN_MISMATCH" || msg.contains("device token mismatch") {
            warn!("the gateway no longer accepts this node's stored device token; deleting it");
            if let Err(e) = self.auth_store.clear_token(frames::ROLE) {
                warn!("{e}");
            }
            // Retry with the shared credentials, unless they were the ones rejected before.
            let shared_rejected = self.device_token_only;
            self.device_token_only = false;
            if !shared_rejected && (self.cfg.token.is_some() || self.cfg.password.is_some()) {
                return SessionEnd::Retry {
                    reason,
                    delay: quick,
                    was_connected: false,
                    pairing: None,
                };
            }
            return fatal(self);
        }
        if code == "AUTH_TOKEN_MISMATCH" {
            let can = err
                .details
                .as_ref()
                .and_then(|d| d.get("canRetryWithDeviceToken"))
                .and_then(Value::as_bool)
                .unwrap_or(true);
            if can
                && !self.tried_device_token
                && self.trusted_endpoint()
                && self.auth_store.token(frames::ROLE).is_some()
            {
                warn!("shared gateway token rejected; retrying once with the stored device token");
                self.tried_device_token = true;
                self.device_token_only = true;
                return SessionEnd::Retry {
                    reason,
                    delay: quick,
                    was_connected: false,
                    pairing: None,
                };
            }
            return fatal(self);
        }
        const FATAL: &[&str] = &[
            "AUTH_REQUIRED",
            "AUTH_UNAUTHORIZED",
            "AUTH_TOKEN_MISSING",
            "AUTH_TOKEN_NOT_CONFIGURED",
            "AUTH_PASSWORD_MISSING",
            "AUTH_PASSWORD_MISMATCH",
            "AUTH_PASSWORD_NOT_CONFIGURED",
            "AUTH_BOOTSTRAP_TOKEN_INVALID",
            "AUTH_SCOPE_MISMATCH",
            "AUTH_DEVICE_TOKEN_SCOPE_MISMATCH",
            "DEVICE_IDENTITY_REQUIRED",
            "CLIENT_VERSION_MISMATCH",
            "PAIRING_REJECTED",
        ];
        if FATAL.contains(&code.as_str()) {
            return fatal(self);
        }
        let retry_after = err
            .retry_after_ms
            .or_else(|| {
                err.details
                    .as_ref()
                    .and_then(|d| d.get("retryAfterMs"))
                    .and_then(Value::as_u64)
            })
            .map(Duration::from_millis);
        if code == "AUTH_RATE_LIMITED" {
            warn!("gateway rate-limited authentication: {err}");
            return SessionEnd::Retry {
                reason,
                delay: retry_after,
                was_connected: false,
                pairing: None,
            };
        }
        if err.code == "UNAVAILABLE" && err.retryable == Some(true) {
            let d = retry_after
                .unwrap_or(Duration::from_millis(500))
                .clamp(Duration::from_millis(100), Duration::from_millis(2000));
            info!("gateway is starting; retrying in {} ms", d.as_millis());
            return SessionEnd::Retry {
                reason,
                delay: Some(d),
                was_connected: false,
                pairing: None,
            };
        }
        warn!("{reason}");
        retry(reason)
    }

    fn log_pairing(&mut self, request_id: Option<&str>) {
        let rid = request_id.unwrap_or("<requestId>");
        let first = self.last_request_id.as_deref() != request_id;
        if first {
            warn!(
                "pairing required: this node (device {}) waits for operator approval \
                 (requestId {rid}). On the gateway host run:\n  openclaw devices approve {rid}\n\
                 then approve the node's command surface:\n  openclaw nodes pending\n  \
                 openclaw nodes approve <requestId>\nThis node keeps retrying until approved.",
                self.identity.device_id()
            );
        } else {
            info!("still waiting for pairing approval: openclaw devices approve {rid}");
        }
        self.last_request_id = request_id.map(str::to_string);
    }

    async fn serve<H: InvokeHandler>(
        &mut self,
        ws: Ws,
        hello: HelloOk,
        handler: &Arc<H>,
        shutdown: &CancellationToken,
    ) -> SessionEnd {
        let policy = hello.policy.clone().unwrap_or_default();
        let max_payload = policy
            .max_payload
            .map(|v| v.clamp(64 * 1024, 1 << 30) as usize)
            .unwrap_or(DEFAULT_MAX_PAYLOAD);
        self.transport_limit = max_payload;
        let tick = Duration::from_millis(policy.tick_interval_ms.unwrap_or(30_000).max(20));
        if let Some(a) = &hello.auth
            && let Some(tok) = a.device_token.as_deref().filter(|t| !t.is_empty())
            && let Err(e) = self.auth_store.set_token(frames::ROLE, tok, &a.scopes)
        {
            warn!("cannot store the device token: {e}");
        }
        let method = hello
            .auth
            .as_ref()
            .and_then(|a| a.method.clone())
            .unwrap_or_else(|| "-".into());
        info!(
            "connected to gateway {} as node {} (protocol {}, auth {method}, maxPayload {max_payload}, tick {} ms; {} ms after start)",
            self.cfg.url(),
            self.identity.device_id(),
            hello.protocol.unwrap_or(0),
            tick.as_millis(),
            self.cfg.started.elapsed().as_millis()
        );
        if self.was_pairing {
            info!(
                "device approved. If invokes fail with PAIRING_CHANGED / awaiting operator approval, \
                 approve the command surface on the gateway host: openclaw nodes pending; \
                 openclaw nodes approve <requestId>"
            );
            self.was_pairing = false;
        }
        self.last_request_id = None;
        self.status.set(RunState::Connected, None, None);

        let (sink, mut stream) = ws.split();
        let (tx, rx) = mpsc::channel::<Message>(OUTBOUND_QUEUE);
        let writer = tokio::spawn(writer_task(sink, rx));
        let conn = Arc::new(Conn {
            out: tx,
            seq: AtomicU64::new(2),
            node_id: self.identity.device_id().to_string(),
            max_payload,
            cancel: shutdown.child_token(),
            pending: Mutex::new(HashMap::new()),
            active: Mutex::new(HashMap::new()),
        });
        let check_every = (tick / 2).clamp(Duration::from_millis(10), Duration::from_secs(1));
        let mut watchdog = tokio::time::interval(check_every);
        watchdog.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_rx = Instant::now();
        let mut closed_by_us = false;
        let end = loop {
            tokio::select! {
                _ = shutdown.cancelled() => {
                    conn.close(1000, "node host shutting down").await;
                    closed_by_us = true;
                    break SessionEnd::Shutdown;
                }
                _ = watchdog.tick() => {
                    if last_rx.elapsed() > tick * 2 {
                        warn!("no frame from the gateway for {} ms (tick {} ms): closing (4000 tick timeout)",
                            last_rx.elapsed().as_millis(), tick.as_millis());
                        conn.close(4000, "tick timeout").await;
                        closed_by_us = true;
                        break connected_retry("tick timeout".into());
                    }
                }
                msg = stream.next() => {
                    match msg {
                        None => break connected_retry("connection closed".into()),
                        Some(Err(WsError::Capacity(e))) => {
                            warn!("frame from the gateway exceeds the limit ({e}); closing with 1009");
                            conn.close(1009, "message too big").await;
                            closed_by_us = true;
                            break connected_retry(format!("oversized frame: {e}"));
                        }
                        Some(Err(WsError::Utf8(e))) => {
                            // RFC 6455 §8.1: invalid UTF-8 in a text frame fails the connection
                            // with 1007; reconnect like after any other close.
                            warn!("text frame from the gateway is not valid UTF-8 ({e}); closing with 1007");
                            conn.close(1007, "invalid UTF-8 in a text frame").await;
                            closed_by_us = true;
                            break connected_retry(format!("invalid UTF-8 in a text frame: {e}"));
                        }
                        Some(Err(e)) => {
                            warn!("gateway connection error: {e}");
                            break connected_retry(format!("connection error: {e}"));
                        }
                        Some(Ok(m)) => {
                            last_rx = Instant::now();
                            match m {
                                Message::Text(t) => {
                                    if t.len() > max_payload {
                                        warn!("frame of {} bytes exceeds maxPayload {max_payload}; closing with 1009", t.len());
                                        conn.close(1009, "message too big").await;
                                        closed_by_us = true;
                                        break connected_retry("oversized frame".into());
                                    }
                                    self.on_text(&conn, handler, t.as_str());
                                }
                                Message::Binary(b) => warn!("ignoring a binary frame of {} bytes from the gateway", b.len()),
                                Message::Close(f) => {
                                    let (code, reason) = f.map(|f| (u16::from(f.code), f.reason.to_string())).unwrap_or((1005, String::new()));
                                    warn!("gateway closed the connection ({code}): {reason}");
                                    break connected_retry(format!("gateway closed ({code}): {reason}"));
                                }
                                _ => {}
                            }
                        }
                    }
                }
            }
        };
        // Kill in-flight invokes tied to this connection.
        conn.cancel.cancel();
        if closed_by_us {
            let _ = tokio::time::timeout(Duration::from_secs(1), writer).await;
        } else {
            writer.abort();
        }
        end
    }

    fn on_text<H: InvokeHandler>(&self, conn: &Arc<Conn>, handler: &Arc<H>, text: &str) {
        let frame = match frames::parse_inbound(text) {
            Ok(f) => f,
            Err(e) => {
                // An invoke whose params cannot be decoded (e.g. nested deeper than the parser's
                // limit) is answered, so the gateway does not wait for its deadline.
                if let Some(h) = frames::salvage_invoke_header(text) {
                    warn!(
                        "invoke {} ({}) could not be decoded ({} bytes): {e}; answering INVALID_REQUEST",
                        h.id,
                        h.command,
                        text.len()
                    );
                    let err = InvokeError::invalid(format!(
                        "INVALID_REQUEST: invoke could not be decoded: {e}"
                    ));
                    self.refuse(conn, h.id, err);
                } else {
                    warn!(
                        "ignoring a malformed frame from the gateway ({} bytes): {e}",
                        text.len()
                    );
                }
                return;
            }
        };
        match frame {
            Inbound::Event(ev) => match ev.event.as_str() {
                "node.invoke.request" => {
                    match ev.payload.as_ref().and_then(InvokeRequest::from_payload) {
                        Some(req) => self.dispatch(conn, handler, req),
                        None => warn!("ignoring node.invoke.request without id/nodeId/command"),
                    }
                }
                "node.invoke.cancel" => {
                    let id = ev.payload.as_ref().and_then(|p| {
                        ["invokeId", "requestId", "id"]
                            .iter()
                            .find_map(|k| p.get(*k).and_then(Value::as_str))
                    });
                    if let Some(id) = id
                        && let Ok(a) = conn.active.lock()
                        && let Some(t) = a.get(id)
                    {
                        info!("gateway cancelled invoke {id}");
                        t.cancel();
                    }
                }
                "shutdown" => info!("gateway is shutting down: {:?}", ev.payload),
                "tick" | "health" | "presence" | "heartbeat" => {}
                other => debug!("event {other}"),
            },
            Inbound::Res(res) => {
                let method = conn.pending.lock().ok().and_then(|mut p| p.remove(&res.id));
                if !res.ok {
                    let m = method.unwrap_or_else(|| "request".into());
                    let e = res.error.unwrap_or_default();
                    warn!("gateway rejected {m}: {e}");
                }
            }
            Inbound::Req(r) => debug!("ignoring a {} request from the gateway", r.method),
        }
    }

    /// Answer invoke `id` with `err` without running anything (unless an invoke with that id
    /// is active: its own result answers the id).
    fn refuse(&self, conn: &Arc<Conn>, id: String, err: InvokeError) {
        if conn
            .active
            .lock()
            .map(|a| a.contains_key(&id))
            .unwrap_or(true)
        {
            warn!("invoke id {id} is already active; not answering it twice");
            return;
        }
        let conn = conn.clone();
        tokio::spawn(async move { conn.send_result(&id, Err(err)).await });
    }

    fn dispatch<H: InvokeHandler>(&self, conn: &Arc<Conn>, handler: &Arc<H>, req: InvokeRequest) {
        if req.node_id != conn.node_id {
            debug!(
                "invoke {} addressed to {} (this node is {})",
                req.id, req.node_id, conn.node_id
            );
        }
        let token = conn.cancel.child_token();
        {
            let Ok(mut active) = conn.active.lock() else {
                return;
            };
            if active.contains_key(&req.id) {
                warn!("ignoring a duplicate invoke id {}", req.id);
                return;
            }
            active.insert(req.id.clone(), token.clone());
        }
        let limiter = self.limiter.clone();
        let conn = conn.clone();
        let handler = handler.clone();
        let admitted = limiter.inflight.fetch_add(1, Ordering::SeqCst) < limiter.max_total;
        tokio::spawn(async move {
            let id = req.id.clone();
            let command = req.command.clone();
            let t0 = Instant::now();
            let result = if !admitted {
                warn!("node busy: rejecting invoke {id} ({})", req.command);
                Err(InvokeError::unavailable(format!(
                    "node busy: {} invokes running or queued; retry later",
                    limiter.max_total
                )))
            } else {
                run_invoke(&limiter, handler.as_ref(), conn.clone(), req, token).await
            };
            debug!(
                "invoke {id} {command} handled in {} µs",
                t0.elapsed().as_micros()
            );
            conn.send_result(&id, result).await;
            if let Ok(mut a) = conn.active.lock() {
                a.remove(&id);
            }
            limiter.inflight.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

async fn run_invoke<H: InvokeHandler>(
    limiter: &Limiter,
    handler: &H,
    conn: Arc<Conn>,
    req: InvokeRequest,
    token: CancellationToken,
) -> Result<String, InvokeError> {
    // `biased`: an invoke cancelled while it waited never starts, even when a slot frees up in
    // the same instant (cancelling a batch kills the running ones, freeing slots).
    let permit = tokio::select! {
        biased;
        _ = token.cancelled() => None,
        p = limiter.running.clone().acquire_owned() => p.ok().filter(|_| !token.is_cancelled()),
    };
    let Some(_permit) = permit else {
        return Err(InvokeError::unavailable(
            "invoke cancelled before it started (connection closed or deadline passed)",
        ));
    };
    // The gateway's deadline: cancel (kills a running command) when it passes.
    let timer = req.timeout_ms.map(|ms| {
        let t = token.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            t.cancel();
        })
    });
    let ctx = InvokeContext::new(token, req.timeout_ms, conn);
    let result = handler.handle(req, ctx).await;
    if let Some(t) = timer {
        t.abort();
    }
    result
}

fn connected_retry(reason: String) -> SessionEnd {
    SessionEnd::Retry {
        reason,
        delay: None,
        was_connected: true,
        pairing: None,
    }
}

fn close_msg(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code: CloseCode::from(code),
        reason: reason.to_string().into(),
    }))
}

async fn writer_task(
    mut sink: futures_util::stream::SplitSink<Ws, Message>,
    mut rx: mpsc::Receiver<Message>,
) {
    while let Some(m) = rx.recv().await {
        let is_close = matches!(m, Message::Close(_));
        if let Err(e) = sink.send(m).await {
            debug!("gateway write failed: {e}");
            break;
        }
        if is_close {
            let _ = sink.close().await;
            break;
        }
    }
}

/// Read until `connect.challenge` (other frames are ignored).
async fn wait_challenge(ws: &mut Ws) -> Result<Challenge, SessionEnd> {
    loop {
        match ws.next().await {
            None => return Err(retry("connection closed before connect.challenge")),
            Some(Err(e)) => return Err(retry(format!("connection error before challenge: {e}"))),
            Some(Ok(Message::Text(t))) => {
                let Ok(Inbound::Event(ev)) = frames::parse_inbound(t.as_str()) else {
                    debug!("ignoring a pre-challenge frame");
                    continue;
                };
                if ev.event != "connect.challenge" {
                    continue;
                }
                let ch: Challenge = ev
                    .payload
                    .and_then(|p| serde_json::from_value(p).ok())
                    .unwrap_or(Challenge {
                        nonce: String::new(),
                        ts: None,
                    });
                if ch.nonce.trim().is_empty() {
                    let _ = ws
                        .send(close_msg(1008, "connect challenge missing nonce"))
                        .await;
                    return Err(retry("connect challenge missing nonce"));
                }
                return Ok(ch);
            }
            Some(Ok(Message::Close(f))) => {
                let (code, reason) = f
                    .map(|f| (u16::from(f.code), f.reason.to_string()))
                    .unwrap_or((1005, String::new()));
                return Err(retry(format!(
                    "gateway closed ({code}) before the challenge: {reason}"
                )));
            }
            Some(Ok(_)) => {}
        }
    }
}

/// Read until the `res` for `id`.
async fn wait_response(ws: &mut Ws, id: &str) -> Result<frames::ResFrame, SessionEnd> {
    loop {
        match ws.next().await {
            None => return Err(retry("connection closed before the connect response")),
            Some(Err(e)) => return Err(retry(format!("connection error during connect: {e}"))),
            Some(Ok(Message::Text(t))) => {
                if let Ok(Inbound::Res(r)) = frames::parse_inbound(t.as_str())
                    && r.id == id
                {
                    return Ok(r);
                }
            }
            Some(Ok(Message::Close(f))) => {
                let (code, reason) = f
                    .map(|f| (u16::from(f.code), f.reason.to_string()))
                    .unwrap_or((1005, String::new()));
                warn!("gateway closed ({code}) during connect: {reason}");
                return Err(retry(format!("gateway closed ({code}): {reason}")));
            }
            Some(Ok(_)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_cap_with_bounded_jitter() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
        let cap = Duration::from_secs(30);
        let mut prev_base = Duration::from_secs(1);
        for _ in 0..8 {
            let d = b.next(cap);
            assert!(d >= prev_base && d <= prev_base + prev_base / 4, "{d:?}");
            prev_base = (prev_base * 2).min(Duration::from_secs(30));
        }
        assert_eq!(b.cur, Duration::from_secs(30));
        b.reset();
        assert!(b.next(cap) < Duration::from_millis(1251));
        // pairing cap
        let mut b = Backoff::new(Duration::from_secs(8), Duration::from_secs(30));
        assert!(b.next(Duration::from_secs(2)) <= Duration::from_millis(2500));
    }

    #[test]
    fn url_and_loopback() {
        let mut c = ClientConfig::new("::1", 1);
        assert_eq!(c.url(), "ws://[::1]:1");
        assert!(c.is_loopback());
        c.tls = Some(TlsMode::WebPki);
        c.host = "gw.example".into();
        assert_eq!(c.url(), "wss://gw.example:1");
        assert!(!c.is_loopback());
        assert!(is_loopback_host("localhost"));
        assert!(is_loopback_host("127.0.0.2"));
    }
}
