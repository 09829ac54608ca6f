//! The node's state files in `${OPENCLAW_STATE_DIR:-~/.openclaw}` (protocol §4.4–4.5):
//! `node.json` (node id, display name, gateway address) and `identity/device-auth.json` (the
//! device token the Gateway issued), plus the atomic mode-0600 writer every state file uses.
//!
//! Files are read tolerantly (unknown keys are kept and written back) but a file that is not
//! valid JSON is an error naming the file and the fix — never a silent reset.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::util::now_ms;

/// Largest state file we agree to read.
pub const MAX_STATE_BYTES: u64 = 1024 * 1024;

/// Errors reading or writing a state file. Every message names the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is corrupt ({message}); {fix}")]
    Corrupt {
        path: PathBuf,
        message: String,
        fix: &'static str,
    },
}

/// Write `bytes` to `path` atomically (temp file in the same directory + rename) with mode 0600.
/// Parent directories are created with mode 0700.
pub fn write_atomic_0600(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    write_atomic(path, bytes, 0o600)
}

/// Write `bytes` to `path` atomically with `mode` ([`crate::util::write_atomic`]: the state
/// files use 0600 via [`write_atomic_0600`]; service unit files are 0644).
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), StateError> {
    crate::util::write_atomic(path, bytes, mode, ".tmp-").map_err(|source| StateError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Create `dir` (and parents) if missing; new directories get `mode`.
pub fn ensure_dir(dir: &Path, mode: u32) -> Result<(), StateError> {
    crate::util::ensure_dir(dir, mode).map_err(|source| StateError::Write {
        path: dir.to_path_buf(),
        source,
    })
}

/// Read a state file with a size bound. `Ok(None)` when it does not exist.
pub fn read_state_file(path: &Path) -> Result<Option<String>, StateError> {
    let rerr = |source| StateError::Read {
        path: path.to_path_buf(),
        source,
    };
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(rerr(e)),
    };
    if meta.len() > MAX_STATE_BYTES {
        return Err(StateError::Corrupt {
            path: path.to_path_buf(),
            message: format!("larger than {MAX_STATE_BYTES} bytes"),
            fix: "move it aside; it is not a file openclaw-node wrote",
        });
    }
    std::fs::read_to_string(path).map(Some).map_err(rerr)
}

/// The `gateway` section of `node.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayAddress {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_fingerprint: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `<state>/node.json` (`{"version":1,"nodeId","token"?,"displayName"?,"gateway"?}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeState {
    #[serde(default)]
    pub version: u32,
    /// Empty until assigned ([`NodeState::load`] assigns one; `install` may leave it unset).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub node_id: String,
    /// Legacy pairing token (unused since device identity; cleared by `--node-id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<GatewayAddress>,
    /// Keys written by other versions: kept as they are.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl NodeState {
    pub fn path(state_dir: &Path) -> PathBuf {
        state_dir.join("node.json")
    }

    /// Read `node.json` as it is: `Ok(None)` when missing, nothing filled in. Invalid JSON is an
    /// error naming the file.
    pub fn read(state_dir: &Path) -> Result<Option<Self>, StateError> {
        let path = Self::path(state_dir);
        let Some(text) = read_state_file(&path)? else {
            return Ok(None);
        };
        serde_json::from_str::<NodeState>(&text)
            .map(Some)
            .map_err(|e| StateError::Corrupt {
                path,
                message: e.to_string(),
                fix: "repair the JSON or delete the file (it holds only the node's instance id, \
                      display name and gateway address; the device identity is not affected)",
            })
    }

    /// Load `node.json`; a missing file, another `version` or an empty `nodeId` yields a fresh
    /// random node id (other fields kept). Invalid JSON is an error.
    pub fn load(state_dir: &Path) -> Result<Self, StateError> {
        let mut st = Self::read(state_dir)?.unwrap_or_default();
        if st.version != 1 || st.node_id.trim().is_empty() {
            st.version = 1;
            if st.node_id.trim().is_empty() {
                st.node_id = uuid::Uuid::new_v4().to_string();
            }
        }
        Ok(st)
    }

    pub fn save(&self, state_dir: &Path) -> Result<(), StateError> {
        let path = Self::path(state_dir);
        let mut text = serde_json::to_string_pretty(self).map_err(|e| StateError::Write {
            path: path.clone(),
            source: std::io::Error::other(e),
        })?;
        text.push('\n');
        write_atomic_0600(&path, text.as_bytes())
    }

    /// `--node-id`: replaces the instance id and clears only the legacy `token` field.
    pub fn override_node_id(&mut self, id: &str) {
        if self.node_id != id {
            self.node_id = id.to_string();
            self.token = None;
        }
    }
}

/// One stored device token (`tokens.<role>` in `device-auth.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredToken {
    pub token: String,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub updated_at_ms: u64,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeviceAuthFile {
    #[serde(default)]
    version: u32,
    #[serde(default)]
    device_id: String,
    #[serde(default)]
    tokens: std::collections::BTreeMap<String, StoredToken>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

/// `<state>/identity/device-auth.json`: the device token issued in `hello-ok`, keyed by role.
#[derive(Debug, Clone)]
pub struct DeviceAuthStore {
    path: PathBuf,
    device_id: String,
    file: DeviceAuthFile,
}

impl DeviceAuthStore {
    pub fn path(state_dir: &Path) -> PathBuf {
        state_dir.join("identity").join("device-auth.json")
    }

    /// Load the store for `device_id`; tokens recorded for another device id are ignored.
    pub fn load(state_dir: &Path, device_id: &str) -> Result<Self, StateError> {
        let path = Self::path(state_dir);
        let mut file = match read_state_file(&path)? {
            None => DeviceAuthFile::default(),
            Some(text) => {
                serde_json::from_str::<DeviceAuthFile>(&text).map_err(|e| StateError::Corrupt {
                    path: path.clone(),
                    message: e.to_string(),
                    fix: "delete it; the node then authenticates with OPENCLAW_GATEWAY_TOKEN \
                          (or _PASSWORD) and receives a new device token",
                })?
            }
        };
        if file.device_id != device_id {
            file.tokens.clear();
        }
        file.version = 1;
        file.device_id = device_id.to_string();
        Ok(Self {
            path,
            device_id: device_id.to_string(),
            file,
        })
    }

    /// The stored token for `role`, if any.
    pub fn token(&self, role: &str) -> Option<&str> {
        self.file
            .tokens
            .get(role)
            .map(|t| t.token.as_str())
            .filter(|t| !t.is_empty())
    }

    /// Store (and persist) a token for `role`. No write when nothing changed.
    pub fn set_token(
        &mut self,
        role: &str,
        token: &str,
        scopes: &[String],
    ) -> Result<(), StateError> {
        let mut scopes: Vec<String> = scopes
            .iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        scopes.sort();
        scopes.dedup();
        if let Some(cur) = self.file.tokens.get(role)
            && cur.token == token
            && cur.scopes == scopes
        {
            return Ok(());
        }
        self.file.tokens.insert(
            role.to_string(),
            StoredToken {
                token: token.to_string(),
                role: role.to_string(),
                scopes,
                updated_at_ms: now_ms(),
                extra: Map::new(),
            },
        );
        self.save()
    }

    /// Forget the token for `role` (revoked / mismatched) and persist.
    pub fn clear_token(&mut self, role: &str) -> Result<(), StateError> {
        if self.file.tokens.remove(role).is_some() {
            self.save()?;
        }
        Ok(())
    }

    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    fn save(&self) -> Result<(), StateError> {
        let mut text = serde_json::to_string_pretty(&self.file).map_err(|e| StateError::Write {
            path: self.path.clone(),
            source: std::io::Error::other(e),
        })?;
        text.push('\n');
        write_atomic_0600(&self.path, text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn node_json_round_trip_keeps_unknown_keys_and_is_0600() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("node.json"),
            r#"{"version":1,"nodeId":"n1","displayName":"x","gateway":{"host":"h","port":1,"contextPath":"/g"},"nodeIdSource":"user"}"#,
        )
        .unwrap();
        let st = NodeState::load(dir.path()).unwrap();
        assert_eq!(st.node_id, "n1");
        st.save(dir.path()).unwrap();
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join("node.json")).unwrap())
                .unwrap();
        assert_eq!(v["nodeIdSource"], "user");
        assert_eq!(v["gateway"]["contextPath"], "/g");
        assert_eq!(mode(&dir.path().join("node.json")), 0o600);
    }

    #[test]
    fn node_json_missing_or_wrong_version_gets_fresh_uuid() {
        let dir = tempfile::tempdir().unwrap();
        let st = NodeState::load(dir.path()).unwrap();
        assert_eq!(st.version, 1);
        assert!(uuid::Uuid::parse_str(&st.node_id).is_ok());
        std::fs::write(dir.path().join("node.json"), r#"{"version":2,"nodeId":""}"#).unwrap();
        let st = NodeState::load(dir.path()).unwrap();
        assert!(uuid::Uuid::parse_str(&st.node_id).is_ok());
    }

    #[test]
    fn corrupt_node_json_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("node.json"), "{not json").unwrap();
        let err = NodeState::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("node.json"), "{err}");
        assert!(err.contains("delete"), "{err}");
    }

    #[test]
    fn spec_4_5_node_id_override_clears_only_legacy_token() {
        let mut st = NodeState {
            version: 1,
            node_id: "a".into(),
            token: Some("legacy".into()),
            display_name: Some("d".into()),
            ..Default::default()
        };
        st.override_node_id("b");
        assert_eq!(st.node_id, "b");
        assert_eq!(st.token, None);
        assert_eq!(st.display_name.as_deref(), Some("d"));
    }

    #[test]
    fn device_auth_tokens_for_another_device_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = DeviceAuthStore::load(dir.path(), "dev1").unwrap();
        s.set_token("node", "tok", &["b".into(), "a".into(), "a".into()])
            .unwrap();
        let p = DeviceAuthStore::path(dir.path());
        assert_eq!(mode(&p), 0o600);
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        assert_eq!(v["tokens"]["node"]["scopes"], serde_json::json!(["a", "b"]));
        assert_eq!(v["deviceId"], "dev1");
        let s2 = DeviceAuthStore::load(dir.path(), "dev1").unwrap();
        assert_eq!(s2.token("node"), Some("tok"));
        let s3 = DeviceAuthStore::load(dir.path(), "dev2").unwrap();
        assert_eq!(s3.token("node"), None);
        let mut s4 = DeviceAuthStore::load(dir.path(), "dev1").unwrap();
        s4.clear_token("node").unwrap();
        assert_eq!(
            DeviceAuthStore::load(dir.path(), "dev1")
                .unwrap()
                .token("node"),
            None
        );
    }

    #[test]
    fn write_atomic_sets_mode_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/f");
        write_atomic(&p, b"one", 0o600).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "one");
        assert_eq!(mode(&p), 0o600);
        write_atomic(&p, b"two", 0o644).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "two");
        assert_eq!(mode(&p), 0o644);
        assert_eq!(mode(&dir.path().join("sub")), 0o700);
        write_atomic_0600(&p, b"three").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "three");
        assert_eq!(mode(&p), 0o600);
    }
}
