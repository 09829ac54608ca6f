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
