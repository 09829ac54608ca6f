//! `browser.proxy`: the adapter (validation, limits, envelopes) and its two backends — a built-in
//! CDP driver for a local Chromium and an HTTP forwarder to an existing control server.

use serde::Deserialize;

/// The `browserProxy` section of `node-host.json5` (ours; never in `openclaw.json`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BrowserProxyConfig {
    /// `builtin` (default) or `forward`.
    #[serde(default)]
    pub backend: Option<String>,
    /// Forwarder target (default `http://127.0.0.1:<gateway port + 2>`).
    #[serde(default)]
    pub control_url: Option<String>,
}

/// The `browser.proxy` command handler the node holds (contract used by `crate::commands`).
#[derive(Debug)]
pub struct BrowserProxy {
    state_dir: std::path::PathBuf,
    gateway_port: u16,
    config: BrowserProxyConfig,
}

impl BrowserProxy {
    pub fn new(
        state_dir: std::path::PathBuf,
        gateway_port: u16,
        config: BrowserProxyConfig,
    ) -> Self {
        Self {
            state_dir,
            gateway_port,
            config,
        }
    }

    /// Whether `browser.proxy` is advertised: false when `nodeHost.browserProxy.enabled` or
    /// `browser.enabled` is `false` in `openclaw.json` (re-read on every call).
    pub fn enabled(&self) -> bool {
        let _ = (&self.state_dir, self.gateway_port, &self.config);
        false
    }

    /// Serve one `browser.proxy` invoke (`params` = the decoded `paramsJSON`).
    pub async fn handle(
        &self,
        params: serde_json::Value,
    ) -> Result<serde_json::Value, crate::commands::InvokeError> {
        let _ = params;
        Err(crate::commands::InvokeError::unavailable(
            "browser proxy not implemented",
        ))
    }

    /// Stop any browser this proxy started (node shutdown).
    pub async fn shutdown(&self) {}
}
