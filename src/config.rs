//! Where state lives and how openclaw-node's own configuration is read.
//!
//! Owns:
//! - the state directory (`$OPENCLAW_STATE_DIR`, else `~/.openclaw`),
//! - openclaw-node's **own** settings file, `<state>/node-host.json5` ([`NodeHostConfig`]); each
//!   section's type is defined by the module that uses it,
//! - read-only access to the shared `openclaw.json` (JSON5; `$OPENCLAW_CONFIG_PATH` or
//!   `<state>/openclaw.json`). We never write keys of ours into that file: the official CLI
//!   validates it strictly and rejects unknown keys.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Largest configuration file we agree to parse (both `node-host.json5` and `openclaw.json`).
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// Errors reading configuration. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot determine the state directory: set OPENCLAW_STATE_DIR or HOME")]
    NoStateDir,
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is larger than {max} bytes; refusing to parse it", max = MAX_CONFIG_BYTES)]
    TooLarge { path: PathBuf },
    #[error("{path} is invalid: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// The state directory: `$OPENCLAW_STATE_DIR` if set and non-empty, else `$HOME/.openclaw`.
pub fn state_dir() -> Result<PathBuf, ConfigError> {
    if let Some(dir) = std::env::var_os("OPENCLAW_STATE_DIR").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let home = std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .ok_or(ConfigError::NoStateDir)?;
    Ok(PathBuf::from(home).join(".openclaw"))
}

/// Path of openclaw-node's own settings file inside `state`.
pub fn node_host_config_path(state: &Path) -> PathBuf {
    state.join("node-host.json5")
}

/// Path of the shared OpenClaw configuration (`$OPENCLAW_CONFIG_PATH` or `<state>/openclaw.json`).
pub fn openclaw_config_path(state: &Path) -> PathBuf {
    match std::env::var_os("OPENCLAW_CONFIG_PATH").filter(|v| !v.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => state.join("openclaw.json"),
    }
}

/// openclaw-node's own settings (`node-host.json5`). A missing file means all defaults; an
/// invalid one is an error naming the file and the offending key.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NodeHostConfig {
    /// Launcher settings: profile, writable roots, timeouts, …
    #[serde(default)]
    pub sandbox: crate::sandbox::SandboxConfig,
    /// Browser proxy backend selection (built-in or forwarder).
    #[serde(default)]
    pub browser_proxy: crate::browser::BrowserProxyConfig,
}

impl NodeHostConfig {
    /// Load `<state>/node-host.json5`; a missing file yields the defaults.
    pub fn load(state: &Path) -> Result<Self, ConfigError> {
        let path = node_host_config_path(state);
        match read_limited(&path)? {
            None => Ok(Self::default()),
            Some(text) => json5::from_str(&text).map_err(|e| ConfigError::Invalid {
                path: path.clone(),
                message: e.to_string(),
            }),
        }
    }
}

/// Read the shared `openclaw.json` as a raw JSON value (JSON5 syntax accepted).
/// A missing file yields `Value::Null`; callers pick out only the keys they honour.
pub fn load_openclaw_json(state: &Path) -> Result<serde_json::Value, ConfigError> {
    let path = openclaw_config_path(state);
    match read_limited(&path)? {
        None => Ok(serde_json::Value::Null),
        Some(text) => json5::from_str(&text).map_err(|e| ConfigError::Invalid {
            path: path.clone(),
            message: e.to_string(),
        }),
    }
}

/// Read a config file with a size bound. `Ok(None)` when it does not exist.
fn read_limited(path: &Path) -> Result<Option<String>, ConfigError> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(ConfigError::TooLarge {
            path: path.to_path_buf(),
        });
    }
    std::fs::read_to_string(path)
        .map(Some)
        .map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_node_host_config_is_default() {
        let dir = tempfile::tempdir().unwrap();
        assert!(NodeHostConfig::load(dir.path()).is_ok());
    }

    #[test]
    fn unknown_key_in_node_host_config_names_file_and_key() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("node-host.json5"), "{ bogus: 1 }").unwrap();
        let err = NodeHostConfig::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("node-host.json5"), "{err}");
        assert!(err.contains("bogus"), "{err}");
    }
}
