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
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{Semaphore, mpsc};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

use super::frames::{self, HelloOk, Inbound, InvokeRequest};
use super::identity::{DeviceIdentity, SignatureVersion};
use super::invoke::{InvokeContext, InvokeError, InvokeHandler};
use super::state::{DeviceAuthStore, StateError};
use super::status::{RunState, StatusWriter};
use super::tls::{TlsError, TlsMode, client_config};

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
    /// The name operators see in `openclaw nodes` (`--display-name`, else the host name); it is
    /// part of the pairing metadata, so it must stay byte-identical across reconnects while a
    /// pairing request is pending, or the gateway opens a second request.
    pub display_name: Option<String>,
    /// `node.json` `nodeId`, sent as `client.instanceId`.
    pub instance_id: Option<String>,
    /// `client.version`: the gateway shows it and gates features on it, so it is the official
    /// host's version we are compatible with, not only our crate version.
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
    /// First reconnect delay (1 s); doubled per failed attempt so a gateway that is down is not
    /// hammered, and reset after `hello-ok` so a brief drop reconnects fast.
    pub backoff_initial: Duration,
    /// Cap of the doubling (30 s): the longest a node stays away from a gateway that came back.
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

mod backoff;
mod conn;
mod handshake;

use backoff::Backoff;
use conn::{Conn, close_msg, writer_task};

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}
type Ws = WebSocketStream<Box<dyn Io>>;

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
    /// Invokes allowed to run at once (`maxRunningInvokes`): a slot is held while the command
    /// runs, so a burst queues instead of forking without bound.
    running: Arc<Semaphore>,
    /// Invokes admitted (running or queued for a slot); above `max_total` an invoke is answered
    /// "node busy" at once rather than queued forever.
    inflight: AtomicUsize,
    max_total: usize,
    /// Every invoke task, so a stopping node waits for the launcher to kill and reap what the
    /// cancelled invokes started before the runtime goes away.
    tasks: TaskTracker,
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
            tasks: TaskTracker::new(),
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
        self.limiter.tasks.close();
        if tokio::time::timeout(Duration::from_secs(5), self.limiter.tasks.wait())
            .await
            .is_err()
        {
            warn!("stopping with invokes still finishing after 5 s");
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
        let tasks = limiter.tasks.clone();
        tasks.spawn(async move {
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

#[cfg(test)]
mod tests {
    use super::*;

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
