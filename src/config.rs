//! Where state lives and how openclaw-node's own configuration is read.
//!
//! Owns:
//! - the state directory (`$OPENCLAW_STATE_DIR`, else `~/.openclaw`),
//! - where openclaw-node's **own** settings file lives (`<state>/node-host.json5`; its type,
//!   which composes the sections of the modules that use them, is the command line's
//!   `cli::node_host::NodeHostConfig`) and how a JSON5 file is read,
//! - read-only access to the shared `openclaw.json` (JSON5; `$OPENCLAW_CONFIG_PATH` or
//!   `<state>/openclaw.json`). We never write keys of ours into that file: the official CLI
//!   validates it strictly and rejects unknown keys.

use std::path::{Path, PathBuf};

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

/// Parse a JSON5 file into `T` with the size bound; `Ok(None)` when it does not exist. Errors
/// name the file (and, through serde, the offending key).
pub fn read_json5<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>, ConfigError> {
    match read_limited(path)? {
        None => Ok(None),
        Some(text) => json5::from_str(&text)
            .map(Some)
            .map_err(|e| ConfigError::Invalid {
                path: path.to_path_buf(),
                message: e.to_string(),
            }),
    }
}

/// Read the shared `openclaw.json` as a raw JSON value (JSON5 syntax accepted).
/// A missing file yields `Value::Null`; callers pick out only the keys they honour.
pub fn load_openclaw_json(state: &Path) -> Result<serde_json::Value, ConfigError> {
    Ok(read_json5(&openclaw_config_path(state))?.unwrap_or(serde_json::Value::Null))
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
