//! The Gateway WebSocket client: frames, handshake, Ed25519 device identity, pairing, tick
//! watchdog, reconnect, TLS pinning, and the node's state files (`node.json`, `identity/`).
//!
//! Submodules:
//! - [`frames`]: the wire frames (`req`/`res`/`event`), `connect` params, `hello-ok`, invokes.
//! - [`identity`]: the Ed25519 device identity (`identity/device.json`) and the signed payloads.
//! - [`state`]: `node.json`, `identity/device-auth.json` and the atomic 0600 writer.
//! - [`status`]: `node-host-status.json`, the run state the service commands read.
//! - [`tls`]: rustls client configuration (WebPKI roots or a pinned leaf fingerprint).
//! - [`invoke`]: the invoke contract with the commands (handler, context, error).
//! - [`client`]: the connection loop (dial, handshake, pairing, reconnect, invokes).

pub mod client;
pub mod frames;
pub mod identity;
pub mod invoke;
pub mod state;
pub mod status;
pub mod tls;

pub use client::{ClientConfig, ClientError, GatewayClient};
pub use identity::DeviceIdentity;
pub use invoke::{InvokeContext, InvokeError, InvokeHandler};
pub use state::{DeviceAuthStore, NodeState, StateError};
pub use status::{RunState, StatusWriter};
