//! The invoke contract between the gateway connection and the node's commands: what a handler
//! advertises ([`InvokeHandler`]), what it gets with each invoke ([`InvokeContext`]: cancellation,
//! the deadline, a sink for `node.event`s) and the error it answers with ([`InvokeError`], the
//! wire's `{code, message}` result shape).
//!
//! The connection implements [`EventWriter`]; handlers never see the connection itself, so the
//! commands layer depends on this contract and the connection loop depends on the handlers only
//! through the trait.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::frames::InvokeRequest;

/// An error result for `node.invoke.result` (`{code, message}` on the wire).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct InvokeError {
    /// `INVALID_REQUEST`, `UNAVAILABLE`, `TIMEOUT`, …
    pub code: String,
    pub message: String,
    /// Extra structure some errors carry (e.g. `RAW_COMMAND_MISMATCH` details); not sent as
    /// part of the closed `{code, message}` error, kept for local callers and logs.
    pub details: Option<Value>,
}

impl InvokeError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_string(),
            message: message.into(),
            details: None,
        }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new("INVALID_REQUEST", message)
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new("UNAVAILABLE", message)
    }
}

/// Where a handler's `node.event`s go on a live connection (implemented by the connection: the
/// events are frames on its writer queue, ahead of the invoke's result).
pub trait EventWriter: Send + Sync + fmt::Debug {
    /// Queue one event; `false` when the connection is gone.
    fn send_event<'a>(
        &'a self,
        event: &'a str,
        payload_json: String,
    ) -> Pin<Box<dyn Future<Output = bool> + Send + 'a>>;
}

#[derive(Debug, Clone)]
enum EventSink {
    /// A gateway connection's writer queue.
    Writer(Arc<dyn EventWriter>),
    /// A plain channel of `(event, payloadJSON)` (tests, local `exec`).
    Channel(mpsc::UnboundedSender<(String, String)>),
}

/// What a node command handler gets with each invoke.
#[derive(Debug, Clone)]
pub struct InvokeContext {
    /// Cancelled when the invoke's `timeoutMs` passes, the connection drops or the node stops.
    pub cancel: CancellationToken,
    /// The gateway's deadline for this invoke.
    pub timeout_ms: Option<u64>,
    events: EventSink,
}

impl InvokeContext {
    /// A context whose events go to a connection's writer queue.
    pub fn new(
        cancel: CancellationToken,
        timeout_ms: Option<u64>,
        writer: Arc<dyn EventWriter>,
    ) -> Self {
        Self {
            cancel,
            timeout_ms,
            events: EventSink::Writer(writer),
        }
    }

    /// A context not attached to a gateway: events go to the returned channel as
    /// `(event, payloadJSON)` (tests, local `exec`).
    pub fn detached(
        cancel: CancellationToken,
    ) -> (Self, mpsc::UnboundedReceiver<(String, String)>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            Self {
                cancel,
                timeout_ms: None,
                events: EventSink::Channel(tx),
            },
            rx,
        )
    }

    /// Send a `node.event` (queued before anything the handler returns afterwards).
    /// Best-effort: `false` when the connection is gone.
    pub async fn emit(&self, event: &str, payload: &Value) -> bool {
        let payload_json = payload.to_string();
        match &self.events {
            EventSink::Writer(w) => w.send_event(event, payload_json).await,
            EventSink::Channel(tx) => tx.send((event.to_string(), payload_json)).is_ok(),
        }
    }
}

/// The node side of invokes: what to advertise and how to answer.
pub trait InvokeHandler: Send + Sync + 'static {
    /// `connect.caps` (re-read on every connect).
    fn caps(&self) -> Vec<String>;
    /// `connect.commands`: exactly the commands `handle` implements (re-read on every connect).
    fn commands(&self) -> Vec<String>;
    /// Answer one invoke: `Ok(json_text)` is sent as `payloadJSON`, `Err` as the
    /// `{code, message}` error.
    fn handle(
        &self,
        req: InvokeRequest,
        ctx: InvokeContext,
    ) -> impl Future<Output = Result<String, InvokeError>> + Send;
}
