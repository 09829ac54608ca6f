//! `<state>/node-host-status.json`: the run state of `openclaw-node run`, rewritten atomically
//! (mode 0600) on every state change by [`StatusWriter`], and read tolerantly by the service
//! commands (`status`) with [`read`]. This module is the one definition of the file's format.
//!
//! ```json
//! {"pid": 123, "state": "connected", "since": 1737264000000, "updatedAt": 1737264000000,
//!  "lastError": null, "gateway": {"host": "127.0.0.1", "port": 18789, "tls": false},
//!  "nodeId": "<device id>", "displayName": "vm", "requestId": null}
//! ```
//! `nodeId` is the id the Gateway routes the node by (the device id, what `openclaw nodes …
//! --node <id>` takes); `requestId` is the pending pairing request while `state` is `pairing`.
//! Reading is tolerant: a missing or unreadable file means "unknown", unknown fields are ignored.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::state::write_atomic_0600;

/// File name inside the state directory.
pub const FILE_NAME: &str = "node-host-status.json";

/// Path of the status file in a state directory.
pub fn path(state_dir: &Path) -> PathBuf {
    state_dir.join(FILE_NAME)
}

/// The states of the connection loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    Connecting,
    Connected,
    Pairing,
    Backoff,
    Stopped,
}

impl RunState {
    /// Every state, in the order of the enum.
    pub const ALL: [RunState; 5] = [
        Self::Connecting,
        Self::Connected,
        Self::Pairing,
        Self::Backoff,
        Self::Stopped,
    ];

    /// The name written to the file.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Connected => "connected",
            Self::Pairing => "pairing",
            Self::Backoff => "backoff",
            Self::Stopped => "stopped",
        }
    }
}

/// Gateway endpoint as reported by the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusGateway {
    pub host: String,
    pub port: u16,
    pub tls: bool,
}

/// Contents of `node-host-status.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HostStatus {
    pub pid: u32,
    pub state: RunState,
    /// Unix ms when `state` was entered.
    pub since: u64,
    /// Unix ms of the last write.
    pub updated_at: u64,
    pub last_error: Option<String>,
    pub gateway: StatusGateway,
    pub node_id: Option<String>,
    pub display_name: Option<String>,
    /// Pending pairing request id (state `pairing`).
    pub request_id: Option<String>,
}

pub use crate::util::now_ms;

/// Writes the status file; cheap to call on every transition (writes only on change).
#[derive(Debug)]
pub struct StatusWriter {
    path: Option<PathBuf>,
    doc: Mutex<HostStatus>,
}

impl StatusWriter {
    pub fn path(state_dir: &Path) -> PathBuf {
        path(state_dir)
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
            path: state_dir.map(path),
            doc: Mutex::new(HostStatus {
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

    fn write(&self, doc: &HostStatus) {
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

    /// A copy of the current report (for tests and logs).
    pub fn current(&self) -> Option<HostStatus> {
        self.doc.lock().ok().map(|d| d.clone())
    }
}

/// What `status` learned from the file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReadStatus {
    /// `connecting`, `connected`, `pairing`, `backoff`, `stopped`, or `unknown`.
    pub state: String,
    pub pid: Option<u32>,
    pub since: Option<i64>,
    pub updated_at: Option<i64>,
    pub last_error: Option<String>,
    pub gateway: Option<serde_json::Value>,
    pub node_id: Option<String>,
    pub display_name: Option<String>,
    pub request_id: Option<String>,
    /// Why the state is unknown (missing/invalid file).
    pub detail: Option<String>,
}

/// Read the status file tolerantly: each field is taken when it has the expected type, so a
/// partly damaged file still shows what it can.
pub fn read(state_dir: &Path) -> ReadStatus {
    let p = path(state_dir);
    let unknown = |detail: String| ReadStatus {
        state: "unknown".into(),
        detail: Some(detail),
        ..ReadStatus::default()
    };
    let text = match std::fs::read_to_string(&p) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return unknown(format!(
                "{} does not exist; the host has not reported yet",
                p.display()
            ));
        }
        Err(e) => return unknown(format!("cannot read {}: {e}", p.display())),
    };
    let v: serde_json::Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => return unknown(format!("{} is not valid JSON: {e}", p.display())),
    };
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    let state = match s("state") {
        Some(st) if RunState::ALL.iter().any(|r| r.as_str() == st) => st,
        _ => "unknown".into(),
    };
    ReadStatus {
        state,
        pid: v
            .get("pid")
            .and_then(|x| x.as_u64())
            .and_then(|x| u32::try_from(x).ok()),
        since: v.get("since").and_then(|x| x.as_i64()),
        updated_at: v.get("updatedAt").and_then(|x| x.as_i64()),
        last_error: s("lastError"),
        gateway: v.get("gateway").filter(|g| g.is_object()).cloned(),
        node_id: s("nodeId"),
        display_name: s("displayName"),
        request_id: s("requestId"),
        detail: None,
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

    fn gw(host: &str, port: u16, tls: bool) -> StatusGateway {
        StatusGateway {
            host: host.into(),
            port,
            tls,
        }
    }

    #[test]
    fn write_then_read() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let w = StatusWriter::new(
            Some(dir.path()),
            gw("gw", 18789, true),
            Some("n1".into()),
            None,
        );
        w.set(
            RunState::Pairing,
            Some("pairing required".into()),
            Some("req-1".into()),
        );
        let mode = std::fs::metadata(path(dir.path()))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let text = std::fs::read_to_string(path(dir.path())).unwrap();
        let raw: serde_json::Value = serde_json::from_str(&text).unwrap();
        let current = w.current().unwrap();
        assert_eq!(raw["updatedAt"], current.updated_at);
        assert_eq!(raw["requestId"], "req-1");
        assert!(raw["displayName"].is_null());
        let typed: HostStatus = serde_json::from_str(&text).unwrap();
        assert_eq!(typed, current, "the file is exactly the serde type");
        let r = read(dir.path());
        assert_eq!(r.state, "pairing");
        assert_eq!(r.pid, Some(std::process::id()));
        assert_eq!(r.since, i64::try_from(current.since).ok());
        assert_eq!(r.updated_at, i64::try_from(current.updated_at).ok());
        assert_eq!(r.node_id.as_deref(), Some("n1"));
        assert_eq!(r.display_name, None);
        assert_eq!(r.request_id.as_deref(), Some("req-1"));
        assert_eq!(r.last_error.as_deref(), Some("pairing required"));
        assert_eq!(r.gateway.unwrap()["tls"], true);
        assert_eq!(r.detail, None);
    }

    #[test]
    fn reader_knows_every_state_the_writer_writes() {
        for st in RunState::ALL {
            let json = serde_json::to_value(st).unwrap();
            assert_eq!(json, st.as_str());
            let dir = tempfile::tempdir().unwrap();
            let w = StatusWriter::new(Some(dir.path()), gw("h", 1, false), None, None);
            w.set(st, Some("e".into()), None);
            assert_eq!(read(dir.path()).state, st.as_str());
        }
    }

    #[test]
    fn tolerant_read() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path()).state, "unknown");
        std::fs::write(path(dir.path()), "{not json").unwrap();
        let r = read(dir.path());
        assert_eq!(r.state, "unknown");
        assert!(r.detail.unwrap().contains("not valid JSON"));
        std::fs::write(path(dir.path()), r#"{"state":"weird","pid":"x","extra":1}"#).unwrap();
        let r = read(dir.path());
        assert_eq!(r.state, "unknown");
        assert_eq!(r.pid, None);
    }

    #[test]
    fn writer_tracks_since_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let w = StatusWriter::new(Some(dir.path()), gw("h", 1, false), None, None);
        w.set(RunState::Backoff, Some("refused".into()), None);
        let since = w.current().unwrap().since;
        std::thread::sleep(std::time::Duration::from_millis(5));
        w.set(RunState::Backoff, None, None);
        let cur = w.current().unwrap();
        assert_eq!(cur.since, since, "same state keeps since");
        assert_eq!(cur.last_error.as_deref(), Some("refused"));
        assert_eq!(read(dir.path()).last_error.as_deref(), Some("refused"));
        w.set(RunState::Connected, None, None);
        w.set(RunState::Pairing, None, Some("req".into()));
        assert!(w.current().unwrap().since > since);
        let back = read(dir.path());
        assert_eq!(back.state, "pairing");
        assert_eq!(back.pid, Some(std::process::id()));
        assert_eq!(back.request_id.as_deref(), Some("req"));
        assert_eq!(
            back.last_error, None,
            "a successful connect clears the error"
        );
    }
}
