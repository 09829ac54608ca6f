//! The Gateway WebSocket client: frames, handshake, Ed25519 device identity, pairing, tick
//! watchdog, reconnect, TLS pinning, and the node's state files (`node.json`, `identity/`).
