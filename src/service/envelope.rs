//! `--json` output shapes: the `status` document (`{"service": {…}}`, spec §2.3, with our extra
//! fields inside `service`) and the action envelope of `install`/`stop`/`restart`/`uninstall`
//! (spec §2.4). Optional fields are omitted when absent, as the official CLI does.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

/// The `service` summary inside action envelopes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSummary {
    pub label: String,
    pub loaded: bool,
    pub loaded_text: String,
    pub not_loaded_text: String,
    /// Extra: where the unit / plist lives.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_path: Option<String>,
}

/// Action envelope (`DaemonActionResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionResponse {
    pub ok: bool,
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<ServiceSummary>,
}

impl ActionResponse {
    pub fn new(action: &str) -> Self {
        Self {
            ok: true,
            action: action.to_string(),
            result: None,
            message: None,
            error: None,
            hints: Vec::new(),
            warnings: Vec::new(),
            service: None,
        }
    }

    /// Turn into a failure with `error` and `hints`.
    pub fn fail(mut self, error: impl Into<String>, hints: Vec<String>) -> Self {
        self.ok = false;
        self.result = None;
        self.error = Some(error.into());
        self.hints.extend(hints);
        self
    }
}

/// `service.command`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandInfo {
    pub program_arguments: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_directory: Option<String>,
    /// Inline (non-secret) environment.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_path: Option<String>,
    /// Where each variable comes from: `inline`, `file` or `inline-and-file` (values in the
    /// environment file are never printed).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub environment_value_sources: BTreeMap<String, String>,
    /// Extra: the environment file path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment_file: Option<String>,
}

/// `service.runtime`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeInfo {
    /// `running`, `stopped` or `unknown`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Extra: when the main process started (as systemd/launchd report it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_exit_status: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_exit_reason: Option<String>,
    /// Extra: how often the manager restarted it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restarts: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing_unit: Option<bool>,
}

/// Extra: the connection state reported by the running host (`node-host-status.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionInfo {
    /// `connecting`, `connected`, `pairing`, `backoff`, `stopped` or `unknown`.
    pub state: String,
    pub pid: Option<u32>,
    pub since: Option<i64>,
    pub updated_at: Option<i64>,
    pub last_error: Option<String>,
    pub request_id: Option<String>,
    pub gateway: Option<Value>,
    /// The reporting process is gone or is not the service's main process.
    pub stale: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Extra: the configured gateway (from `node.json`, else the unit's command line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayInfo {
    pub host: String,
    pub port: u16,
    pub tls: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_fingerprint: Option<String>,
    pub url: String,
}

/// The `service` object of `status --json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusService {
    pub label: String,
    pub loaded: bool,
    pub loaded_text: String,
    pub not_loaded_text: String,
    pub command: Option<CommandInfo>,
    pub runtime: RuntimeInfo,
    // ---- extras ----
    /// The unit / plist file exists.
    pub installed: bool,
    pub unit_name: String,
    pub unit_path: String,
    pub gateway: Option<GatewayInfo>,
    pub node_id: Option<String>,
    pub display_name: Option<String>,
    pub connection: ConnectionInfo,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// `status --json` document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusResponse {
    pub service: StatusService,
}

/// Pretty-print (2-space indent) any envelope.
pub fn to_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|e| {
        format!("{{\"ok\":false,\"error\":\"cannot encode the JSON response: {e}\"}}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_envelope_omits_absent_fields() {
        let mut r = ActionResponse::new("stop");
        r.result = Some("not-loaded".into());
        r.message = Some("Node service disabled.".into());
        let v: Value = serde_json::from_str(&to_json(&r)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"ok":true,"action":"stop","result":"not-loaded","message":"Node service disabled."})
        );
        let f = ActionResponse::new("install").fail("boom", vec!["do x".into()]);
        let v: Value = serde_json::from_str(&to_json(&f)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"ok":false,"action":"install","error":"boom","hints":["do x"]})
        );
    }
}
