//! `<state>/node-host-status.json`: the connection state the running host reports (written by
//! `run`, read by `status`). Written atomically with mode 0600; read tolerantly (a missing or
//! unreadable file means "unknown", unknown fields are ignored).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ServiceError;

/// File name inside the state directory.
pub const FILE_NAME: &str = "node-host-status.json";

/// Path of the status file.
pub fn path(state: &Path) -> PathBuf {
    state.join(FILE_NAME)
}

/// Connection state of the running host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnectionState {
    Connecting,
    Connected,
    Pairing,
    Backoff,
    Stopped,
}

impl ConnectionState {
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
    pub state: ConnectionState,
    /// Unix ms when `state` was entered.
    pub since: i64,
    /// Unix ms of the last write.
    pub updated_at: i64,
    pub last_error: Option<String>,
    pub gateway: StatusGateway,
    pub node_id: Option<String>,
    pub display_name: Option<String>,
    /// Pending pairing request id (state `pairing`).
    pub request_id: Option<String>,
}

/// Current unix time in ms.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Write the status file atomically (mode 0600). For the running host.
pub fn write(state: &Path, status: &HostStatus) -> Result<(), ServiceError> {
    let text = serde_json::to_string_pretty(status)
        .map_err(|e| ServiceError::Invalid(format!("cannot encode host status: {e}")))?;
    super::fsutil::atomic_write(&path(state), text.as_bytes(), 0o600)
}

/// Keeps the status file up to date for the running host: tracks when the state last changed
/// (`since`) and rewrites the file on every report. Writing is best-effort (a failure is logged,
/// never fatal: the file is informational).
#[derive(Debug, Clone)]
pub struct Reporter {
    state_dir: PathBuf,
    status: HostStatus,
}

impl Reporter {
    /// Start reporting as `connecting` (nothing is written until the first [`Reporter::report`]).
    pub fn new(state_dir: &Path, gateway: StatusGateway) -> Self {
        let now = now_ms();
        Self {
            state_dir: state_dir.to_path_buf(),
            status: HostStatus {
                pid: std::process::id(),
                state: ConnectionState::Connecting,
                since: now,
                updated_at: now,
                last_error: None,
                gateway,
                node_id: None,
                display_name: None,
                request_id: None,
            },
        }
    }

    /// Set the node id / display name shown by `status`.
    pub fn set_identity(&mut self, node_id: Option<String>, display_name: Option<String>) {
        self.status.node_id = node_id;
        self.status.display_name = display_name;
    }

    /// Report a state and write the file. `last_error` replaces the previous error only when
    /// `Some`; use [`Reporter::clear_error`] after a successful connect.
    pub fn report(
        &mut self,
        state: ConnectionState,
        last_error: Option<String>,
        request_id: Option<String>,
    ) {
        let now = now_ms();
        if state != self.status.state {
            self.status.state = state;
            self.status.since = now;
        }
        if last_error.is_some() {
            self.status.last_error = last_error;
        }
        self.status.request_id = request_id;
        self.status.updated_at = now;
        if let Err(e) = write(&self.state_dir, &self.status) {
            tracing::warn!("cannot update the host status file: {e}");
        }
    }

    /// Forget the last error (e.g. after a successful connect).
    pub fn clear_error(&mut self) {
        self.status.last_error = None;
    }

    /// The current report.
    pub fn current(&self) -> &HostStatus {
        &self.status
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

/// Read the status file tolerantly.
pub fn read(state: &Path) -> ReadStatus {
    let p = path(state);
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
        Some(st)
            if ["connecting", "connected", "pairing", "backoff", "stopped"]
                .contains(&st.as_str()) =>
        {
            st
        }
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

/// Whether a process with this pid exists (signal 0).
pub fn pid_alive(pid: u32) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    if raw <= 0 {
        return false;
    }
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(raw), None) {
        Ok(()) => true,
        Err(e) => e == nix::errno::Errno::EPERM,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn write_then_read() {
        let dir = tempfile::tempdir().unwrap();
        let st = HostStatus {
            pid: 42,
            state: ConnectionState::Pairing,
            since: 1000,
            updated_at: 2000,
            last_error: Some("pairing required".into()),
            gateway: StatusGateway {
                host: "gw".into(),
                port: 18789,
                tls: true,
            },
            node_id: Some("n1".into()),
            display_name: None,
            request_id: Some("req-1".into()),
        };
        write(dir.path(), &st).unwrap();
        let mode = std::fs::metadata(path(dir.path()))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let raw: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path(dir.path())).unwrap()).unwrap();
        assert_eq!(raw["updatedAt"], 2000);
        assert_eq!(raw["requestId"], "req-1");
        assert!(raw["displayName"].is_null());
        let r = read(dir.path());
        assert_eq!(r.state, "pairing");
        assert_eq!(r.pid, Some(42));
        assert_eq!(r.request_id.as_deref(), Some("req-1"));
        assert_eq!(r.last_error.as_deref(), Some("pairing required"));
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
    fn reporter_tracks_since_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let gw = StatusGateway {
            host: "h".into(),
            port: 1,
            tls: false,
        };
        let mut r = Reporter::new(dir.path(), gw);
        r.report(ConnectionState::Backoff, Some("refused".into()), None);
        let since = r.current().since;
        std::thread::sleep(std::time::Duration::from_millis(5));
        r.report(ConnectionState::Backoff, None, None);
        assert_eq!(r.current().since, since, "same state keeps since");
        assert_eq!(r.current().last_error.as_deref(), Some("refused"));
        r.clear_error();
        r.report(ConnectionState::Pairing, None, Some("req".into()));
        assert!(r.current().since > since);
        let back = read(dir.path());
        assert_eq!(back.state, "pairing");
        assert_eq!(back.pid, Some(std::process::id()));
        assert_eq!(back.request_id.as_deref(), Some("req"));
        assert_eq!(back.last_error, None);
    }

    #[test]
    fn own_pid_is_alive() {
        assert!(pid_alive(std::process::id()));
        assert!(!pid_alive(0));
    }
}
