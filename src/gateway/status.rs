//! `<state>/node-host-status.json`: the run state of `openclaw-node run`, rewritten atomically
//! (mode 0600) on every state change, for the service commands (`status`) to read.
//!
//! ```json
//! {"pid": 123, "state": "connected", "since": 1737264000000, "updatedAt": 1737264000000,
//!  "lastError": null, "gateway": {"host": "127.0.0.1", "port": 18789, "tls": false},
//!  "nodeId": "<device id>", "displayName": "vm", "requestId": null}
//! ```
//! `nodeId` is the id the Gateway routes the node by (the device id, what `openclaw nodes …
//! --node <id>` takes); `requestId` is the pending pairing request while `state` is `pairing`.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;

use super::state::write_atomic_0600;

/// The states of the connection loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    Connecting,
    Connected,
    Pairing,
    Backoff,
    Stopped,
}

#[derive(Debug, Clone, Serialize)]
pub struct StatusGateway {
    pub host: String,
    pub port: u16,
    pub tls: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusDoc {
    pid: u32,
    state: RunState,
    since: u64,
    updated_at: u64,
    last_error: Option<String>,
    gateway: StatusGateway,
    node_id: Option<String>,
    display_name: Option<String>,
    request_id: Option<String>,
}

/// Writes the status file; cheap to call on every transition (writes only on change).
#[derive(Debug)]
pub struct StatusWriter {
    path: Option<PathBuf>,
    doc: Mutex<StatusDoc>,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl StatusWriter {
    pub fn path(state_dir: &Path) -> PathBuf {
        state_dir.join("node-host-status.json")
    }

    /// `state_dir: None` disables the file (tests, embedding).
    pub fn new(
        state_dir: Option<&Path>,
        gateway: StatusGateway,
        node_id: Option<String>,
        display_name: Option<String>,
    ) -> Self {
        let now = now_ms();
        Self {
            path: state_dir.map(Self::path),
            doc: Mutex::new(StatusDoc {
                pid: std::process::id(),
                state: RunState::Connecting,
                since: now,
                updated_at: now,
                last_error: None,
                gateway,
                node_id,
                display_name,
                request_id: None,
            }),
        }
    }

    /// Record a state (and optionally an error / pairing request id) and rewrite the file.
    pub fn set(&self, state: RunState, last_error: Option<String>, request_id: Option<String>) {
        let snapshot = {
            let Ok(mut d) = self.doc.lock() else { return };
            let now = now_ms();
            if d.state != state {
                d.since = now;
            }
            let changed = d.state != state
                || (last_error.is_some() && d.last_error != last_error)
                || d.request_id != request_id;
            d.state = state;
            if last_error.is_some() || state == RunState::Connected {
                d.last_error = last_error;
            }
            d.request_id = request_id;
            d.updated_at = now;
            if !changed {
                return;
            }
            d.clone()
        };
        self.write(&snapshot);
    }

    fn write(&self, doc: &StatusDoc) {
        let Some(path) = &self.path else { return };
        match serde_json::to_vec_pretty(doc) {
            Ok(mut bytes) => {
                bytes.push(b'\n');
                if let Err(e) = write_atomic_0600(path, &bytes) {
                    tracing::warn!("cannot update status file: {e}");
                }
            }
            Err(e) => tracing::warn!("cannot serialise status: {e}"),
        }
    }

    /// The current state (for tests and logs).
    pub fn state(&self) -> Option<RunState> {
        self.doc.lock().ok().map(|d| d.state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_file_shape_and_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let w = StatusWriter::new(
            Some(dir.path()),
            StatusGateway {
                host: "127.0.0.1".into(),
                port: 1,
                tls: false,
            },
            Some("dev".into()),
            Some("name".into()),
        );
        w.set(
            RunState::Pairing,
            Some("pairing required".into()),
            Some("r1".into()),
        );
        let p = StatusWriter::path(dir.path());
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        assert_eq!(v["state"], "pairing");
        assert_eq!(v["requestId"], "r1");
        assert_eq!(v["lastError"], "pairing required");
        assert_eq!(v["gateway"]["port"], 1);
        assert_eq!(v["pid"], std::process::id());
        assert!(v["since"].as_u64().unwrap() > 0);
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        w.set(RunState::Connected, None, None);
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        assert_eq!(v["state"], "connected");
        assert!(v["lastError"].is_null());
        assert!(v["requestId"].is_null());
    }
}
