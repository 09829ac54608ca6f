//! Read-modify-write of `<state>/node.json` (protocol §4.5) for `install`: only the fields the
//! user gave are set; every other field (including ones this version does not know) is kept.
//! The file's keys are defined once, by [`crate::gateway::state::NodeState`]; this module is the
//! service's view of it. Written atomically with mode 0600.

use std::path::{Path, PathBuf};

use crate::gateway::state::{GatewayAddress, NodeState, StateError};

use super::ServiceError;

/// Path of `node.json`.
pub fn path(state: &Path) -> PathBuf {
    NodeState::path(state)
}

/// Gateway settings saved in `node.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SavedGateway {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub tls: Option<bool>,
    pub tls_fingerprint: Option<String>,
}

/// The fields `install` may set; `None` leaves a field untouched.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeJsonUpdate {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub tls: Option<bool>,
    pub tls_fingerprint: Option<String>,
    pub node_id: Option<String>,
    pub display_name: Option<String>,
}

impl NodeJsonUpdate {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Read `node.json`: `Ok(None)` if missing; a file that is not valid JSON for it is an error
/// naming it (we never silently replace the node's state).
pub fn read(state: &Path) -> Result<Option<NodeState>, ServiceError> {
    NodeState::read(state).map_err(|e| match e {
        StateError::Corrupt { path, message, .. } => ServiceError::CorruptJson { path, message },
        other => other.into(),
    })
}

/// Gateway settings from a parsed `node.json` (blank host/fingerprint and port 0 count as unset).
pub fn saved_gateway(doc: &NodeState) -> SavedGateway {
    let Some(g) = &doc.gateway else {
        return SavedGateway::default();
    };
    SavedGateway {
        host: g
            .host
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        port: g.port.filter(|p| *p != 0),
        tls: g.tls,
        tls_fingerprint: g.tls_fingerprint.clone().filter(|s| !s.trim().is_empty()),
    }
}

/// The saved `nodeId`, if set.
pub fn saved_node_id(doc: &NodeState) -> Option<String> {
    Some(doc.node_id.clone()).filter(|s| !s.is_empty())
}

/// The saved `displayName`, if set.
pub fn saved_display_name(doc: &NodeState) -> Option<String> {
    doc.display_name.clone().filter(|s| !s.is_empty())
}

/// Apply `update` to the document (pure).
pub fn apply(doc: &mut NodeState, update: &NodeJsonUpdate) {
    if doc.version == 0 {
        doc.version = 1;
    }
    if let Some(id) = &update.node_id {
        doc.node_id = id.clone();
    }
    if let Some(name) = &update.display_name {
        doc.display_name = Some(name.clone());
    }
    let touches_gateway = update.host.is_some()
        || update.port.is_some()
        || update.tls.is_some()
        || update.tls_fingerprint.is_some();
    if !touches_gateway {
        return;
    }
    let g = doc.gateway.get_or_insert_with(GatewayAddress::default);
    if let Some(h) = &update.host {
        g.host = Some(h.clone());
    }
    if let Some(p) = update.port {
        g.port = Some(p);
    }
    if let Some(t) = update.tls {
        g.tls = Some(t);
    }
    if let Some(fp) = &update.tls_fingerprint {
        g.tls_fingerprint = Some(fp.clone());
    }
}

/// Read, apply, write back (0600, atomic). Nothing is written when `update` is empty.
pub fn update(state: &Path, update: &NodeJsonUpdate) -> Result<bool, ServiceError> {
    if update.is_empty() {
        return Ok(false);
    }
    let mut doc = read(state)?.unwrap_or_default();
    apply(&mut doc, update);
    doc.save(state)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn complaint_17_preserves_unknown_and_untouched_fields() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            path(dir.path()),
            r#"{"version":1,"nodeId":"keep-me","token":"legacy","displayName":"Mine",
               "futureField":{"a":[1,2]},"gateway":{"host":"old","port":1234,"contextPath":"/gw"}}"#,
        )
        .unwrap();
        let changed = update(
            dir.path(),
            &NodeJsonUpdate {
                host: Some("new.example".into()),
                tls: Some(true),
                ..Default::default()
            },
        )
        .unwrap();
        assert!(changed);
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(path(dir.path())).unwrap()).unwrap();
        assert_eq!(v["nodeId"], "keep-me");
        assert_eq!(v["token"], "legacy");
        assert_eq!(v["displayName"], "Mine");
        assert_eq!(v["futureField"]["a"][1], 2);
        assert_eq!(v["gateway"]["host"], "new.example");
        assert_eq!(v["gateway"]["port"], 1234);
        assert_eq!(v["gateway"]["tls"], true);
        assert_eq!(v["gateway"]["contextPath"], "/gw");
        let mode = std::fs::metadata(path(dir.path()))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn creates_file_with_version() {
        let dir = tempfile::tempdir().unwrap();
        update(
            dir.path(),
            &NodeJsonUpdate {
                port: Some(443),
                node_id: Some("n".into()),
                ..Default::default()
            },
        )
        .unwrap();
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(path(dir.path())).unwrap()).unwrap();
        assert_eq!(v["version"], 1);
        assert_eq!(v["nodeId"], "n");
        assert!(v.get("displayName").is_none());
        let doc = read(dir.path()).unwrap().unwrap();
        assert_eq!(saved_node_id(&doc).as_deref(), Some("n"));
        assert_eq!(saved_gateway(&doc).port, Some(443));
    }

    #[test]
    fn corrupt_file_is_an_error_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(path(dir.path()), "{oops").unwrap();
        let err = update(
            dir.path(),
            &NodeJsonUpdate {
                host: Some("h".into()),
                ..Default::default()
            },
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("node.json"), "{err}");
        assert_eq!(std::fs::read_to_string(path(dir.path())).unwrap(), "{oops");
    }

    #[test]
    fn empty_update_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!update(dir.path(), &NodeJsonUpdate::default()).unwrap());
        assert!(!path(dir.path()).exists());
    }

    #[test]
    fn install_does_not_invent_a_node_id() {
        let dir = tempfile::tempdir().unwrap();
        update(
            dir.path(),
            &NodeJsonUpdate {
                host: Some("h".into()),
                ..Default::default()
            },
        )
        .unwrap();
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(path(dir.path())).unwrap()).unwrap();
        assert!(v.get("nodeId").is_none(), "{v}");
        assert_eq!(v["version"], 1);
        // `run` then assigns one and keeps what install saved.
        let st = NodeState::load(dir.path()).unwrap();
        assert!(!st.node_id.is_empty());
        assert_eq!(st.gateway.unwrap().host.as_deref(), Some("h"));
    }

    #[test]
    fn saved_gateway_ignores_blank_values() {
        let doc: NodeState = serde_json::from_str(
            r#"{"nodeId":"","displayName":"","gateway":{"host":"  ","port":0,"tlsFingerprint":" "}}"#,
        )
        .unwrap();
        assert_eq!(saved_gateway(&doc), SavedGateway::default());
        assert_eq!(saved_node_id(&doc), None);
        assert_eq!(saved_display_name(&doc), None);
    }
}
