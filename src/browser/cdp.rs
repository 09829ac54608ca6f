//! A small Chrome DevTools Protocol client over the browser's debugging pipe.
//!
//! Why our own client instead of `chromiumoxide`: the built-in backend needs about twenty CDP
//! methods (targets, input, accessibility tree, screenshots, PDF, console events). Speaking the
//! protocol with untyped `serde_json` params is a few hundred lines, adds no generated protocol
//! crate (chromiumoxide pulls in a multi-megabyte generated CDP binding and its own async
//! runtime glue), keeps the binary and the build small, and lets us set the timeouts and error
//! texts the proxy needs.
//!
//! Transport: `--remote-debugging-pipe` — one pipe to the browser (its fd 3), one from it (its
//! fd 4); every message is one JSON object followed by a NUL byte. No socket exists that any
//! other process could connect to. Page sessions use CDP's flattened mode
//! (`Target.attachToTarget {flatten:true}`), so every command carries an optional `sessionId`.
//! A reader task resolves pending commands by `id` and broadcasts events to subscribers.

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::pipe;
use tokio::sync::{broadcast, mpsc, oneshot};

/// Largest single message accepted from the browser (screenshots and PDFs come back
/// base64-encoded in one message).
pub const MAX_MESSAGE_BYTES: usize = 256 << 20;

/// Errors talking to the browser over CDP.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CdpError {
    #[error("the browser's DevTools connection is closed (did the browser exit?)")]
    Closed,
    #[error("{method}: {message}")]
    Protocol { method: String, message: String },
    #[error("{method} timed out after {ms}ms")]
    Timeout { method: String, ms: u64 },
}

/// One CDP event (`sessionId` is set for page-session events).
#[derive(Debug, Clone)]
pub struct CdpEvent {
    pub session_id: Option<String>,
    pub method: String,
    pub params: Value,
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<Value, CdpError>>>>>;

/// A connected CDP client. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct CdpClient {
    out: mpsc::UnboundedSender<Vec<u8>>,
    pending: Pending,
    next_id: AtomicU64,
    events: broadcast::Sender<CdpEvent>,
    closed: Arc<AtomicBool>,
}

/// Removes a pending entry when the caller gives up (timeout or dropped future).
struct PendingGuard {
    pending: Pending,
    id: u64,
}

impl Drop for PendingGuard {
    fn drop(&mut self) {
        if let Ok(mut map) = self.pending.lock() {
            map.remove(&self.id);
        }
    }
}

impl CdpClient {
    /// Speak CDP over the browser's pipe: `from_browser` is the read end of the pipe whose
    /// write end is the browser's fd 4, `to_browser` the write end of the pipe it reads as fd 3.
    /// Must be called inside the tokio runtime.
    pub fn connect_pipe(from_browser: OwnedFd, to_browser: OwnedFd) -> std::io::Result<Arc<Self>> {
        let mut reader = pipe::Receiver::from_owned_fd(from_browser)?;
        let mut writer = pipe::Sender::from_owned_fd(to_browser)?;
        let (out, mut out_rx) = mpsc::unbounded_channel::<Vec<u8>>();
        let pending: Pending = Arc::new(Mutex::new(HashMap::new()));
        let (events, _) = broadcast::channel(1024);
        let closed = Arc::new(AtomicBool::new(false));

        tokio::spawn(async move {
            while let Some(mut msg) = out_rx.recv().await {
                msg.push(0);
                if writer.write_all(&msg).await.is_err() {
                    break;
                }
            }
        });

        let reader_pending = pending.clone();
        let reader_events = events.clone();
        let reader_closed = closed.clone();
        tokio::spawn(async move {
            let mut buf: Vec<u8> = Vec::with_capacity(64 << 10);
            let mut chunk = vec![0u8; 64 << 10];
            // Where the search for the next NUL resumes (bytes before it hold none).
            let mut scanned = 0;
            'read: loop {
                let n = match reader.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                buf.extend_from_slice(&chunk[..n]);
                loop {
                    let Some(pos) = buf[scanned..].iter().position(|b| *b == 0) else {
                        scanned = buf.len();
                        if buf.len() > MAX_MESSAGE_BYTES {
                            tracing::warn!(
                                "browser sent a CDP message over {MAX_MESSAGE_BYTES} bytes; closing"
                            );
                            break 'read;
                        }
                        break;
                    };
                    let end = scanned + pos;
                    if let Ok(value) = serde_json::from_slice::<Value>(&buf[..end]) {
                        dispatch_incoming(value, &reader_pending, &reader_events);
                    }
                    buf.drain(..=end);
                    scanned = 0;
                }
            }
            reader_closed.store(true, Ordering::SeqCst);
            let drained: Vec<_> = match reader_pending.lock() {
                Ok(mut map) => map.drain().map(|(_, tx)| tx).collect(),
                Err(_) => Vec::new(),
            };
            for tx in drained {
                let _ = tx.send(Err(CdpError::Closed));
            }
        });

        Ok(Arc::new(Self {
            out,
            pending,
            next_id: AtomicU64::new(1),
            events,
            closed,
        }))
    }

    /// Whether the connection is gone.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Subscribe to all events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<CdpEvent> {
        self.events.subscribe()
    }

    /// Send one command and wait for its result (bounded by `timeout`).
    pub async fn call(
        &self,
        method: &str,
        params: Value,
        session: Option<&str>,
        timeout: Duration,
    ) -> Result<Value, CdpError> {
        if self.is_closed() {
            return Err(CdpError::Closed);
        }
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let (tx, rx) = oneshot::channel();
        match self.pending.lock() {
            Ok(mut map) => {
                map.insert(id, tx);
            }
            Err(_) => return Err(CdpError::Closed),
        }
        let _guard = PendingGuard {
            pending: self.pending.clone(),
            id,
        };
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = Value::String(s.to_string());
        }
        self.out
            .send(msg.to_string().into_bytes())
            .map_err(|_| CdpError::Closed)?;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(result)) => result.map_err(|e| match e {
                CdpError::Protocol { message, .. } => CdpError::Protocol {
                    method: method.to_string(),
                    message,
                },
                other => other,
            }),
            Ok(Err(_)) => Err(CdpError::Closed),
            Err(_) => Err(CdpError::Timeout {
                method: method.to_string(),
                ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
            }),
        }
    }
}

fn dispatch_incoming(value: Value, pending: &Pending, events: &broadcast::Sender<CdpEvent>) {
    if let Some(id) = value.get("id").and_then(Value::as_u64) {
        let tx = pending.lock().ok().and_then(|mut m| m.remove(&id));
        if let Some(tx) = tx {
            let result = match value.get("error") {
                Some(err) => Err(CdpError::Protocol {
                    method: String::new(),
                    message: err
                        .get("message")
                        .and_then(Value::as_str)
                        .unwrap_or("unknown protocol error")
                        .to_string(),
                }),
                None => Ok(value.get("result").cloned().unwrap_or(Value::Null)),
            };
            let _ = tx.send(result);
        }
        return;
    }
    if let Some(method) = value.get("method").and_then(Value::as_str) {
        let _ = events.send(CdpEvent {
            session_id: value
                .get("sessionId")
                .and_then(Value::as_str)
                .map(str::to_string),
            method: method.to_string(),
            params: value.get("params").cloned().unwrap_or(Value::Null),
        });
    }
}
