//! openclaw-node's own settings file, `<state>/node-host.json5`: the composition of the sections
//! each module defines (`sandbox`, `browserProxy`). It lives at the composition root so that the
//! modules it composes never import each other through it.

use std::path::Path;

use serde::Deserialize;

use crate::config::{ConfigError, node_host_config_path, read_json5};

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
        Ok(read_json5(&node_host_config_path(state))?.unwrap_or_default())
    }
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

    #[test]
    fn allow_unix_sockets_errors_name_file_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("node-host.json5");
        std::fs::write(&file, "{ sandbox: { allowUnixSockets: 'yes' } }").unwrap();
        let err = NodeHostConfig::load(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("node-host.json5") && err.contains("sandbox.allowUnixSockets"),
            "{err}"
        );
        std::fs::write(&file, "{ sandbox: { allowUnixSocket: true } }").unwrap();
        let err = NodeHostConfig::load(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("node-host.json5") && err.contains("allowUnixSocket"),
            "{err}"
        );
        std::fs::write(&file, "{ sandbox: { allowUnixSockets: true } }").unwrap();
        assert!(
            NodeHostConfig::load(dir.path())
                .unwrap()
                .sandbox
                .allow_unix_sockets()
        );
    }
}
