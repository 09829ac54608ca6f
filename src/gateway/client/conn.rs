//! One live gateway connection as the invoke tasks share it: the ordered writer queue, request
//! ids, the gateway's `maxPayload`, pending requests and active invokes; results and events are
//! frames on the same queue, so an invoke's events always leave before its result.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::SinkExt;
use serde::Serialize;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::{MAX_TRACKED_REQUESTS, Ws};
use crate::gateway::frames::{InvokeResultError, InvokeResultParams, NodeEventParams, ReqFrame};
use crate::gateway::invoke::{EventWriter, InvokeError};

/// One live connection, shared by the invoke tasks.
#[derive(Debug)]
pub(super) struct Conn {
    pub(super) out: mpsc::Sender<Message>,
    pub(super) seq: AtomicU64,
    pub(super) node_id: String,
    pub(super) max_payload: usize,
    pub(super) cancel: CancellationToken,
    pub(super) pending: Mutex<HashMap<String, String>>,
    pub(super) active: Mutex<HashMap<String, CancellationToken>>,
}

impl Conn {
    pub(super) fn next_id(&self) -> String {
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        format!("{n}:{}", uuid::Uuid::new_v4())
    }

    /// Encode a `req` frame; `Err(len)` when it would exceed the gateway's maxPayload.
    pub(super) fn encode_req<P: Serialize>(
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

    pub(super) async fn send_text(&self, id: String, method: &str, text: String) -> bool {
        if let Ok(mut p) = self.pending.lock()
            && p.len() < MAX_TRACKED_REQUESTS
        {
            p.insert(id, method.to_string());
        }
        self.out.send(Message::text(text)).await.is_ok()
    }

    pub(super) async fn send_req<P: Serialize>(&self, method: &str, params: &P) -> bool {
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

    pub(super) async fn send_result(&self, invoke_id: &str, result: Result<String, InvokeError>) {
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

    pub(super) async fn close(&self, code: u16, reason: &str) {
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
pub(super) fn wire_error(e: &InvokeError) -> InvokeResultError {
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

pub(super) fn close_msg(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code: CloseCode::from(code),
        reason: reason.to_string().into(),
    }))
}

pub(super) async fn writer_task(
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
