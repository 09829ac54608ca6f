//! Read-modify-write of `<state>/node.json` (protocol §4.5) for `install`: only the fields the
//! user gave are set; every other field (including ones this version does not know) is kept.
//! Written atomically with mode 0600.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::ServiceError;

/// Path of `node.json`.
pub fn path(state: &Path) -> PathBuf {
    state.join("node.json")
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

/// Read `node.json`: `Ok(None)` if missing; a file that is not a JSON object is an error naming
/// it (we never silently replace the node's state).
pub fn read(state: &Path) -> Result<Option<Map<String, Value>>, ServiceError> {
    let p = path(state);
    let Some(text) = super::fsutil::read_optional(&p)? else {
        return Ok(None);
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(m)) => Ok(Some(m)),
        Ok(_) => Err(ServiceError::CorruptJson {
            path: p,
            message: "expected a JSON object".into(),
        }),
        Err(e) => Err(ServiceError::CorruptJson {
            path: p,
            message: e.to_string(),
        }),
    }
}

/// Gateway settings from a parsed `node.json`.
pub fn saved_gateway(doc: &Map<String, Value>) -> SavedGateway {
    let g = doc.get("gateway").and_then(Value::as_object);
    let get = |k: &str| g.and_then(|g| g.get(k));
    SavedGateway {
        host: get("host")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        port: get("port")
            .and_then(Value::as_u64)
            .and_then(|p| u16::try_from(p).ok())
            .filter(|p| *p != 0),
        tls: get("tls").and_then(Value::as_bool),
        tls_fingerprint: get("tlsFingerprint")
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .map(str::to_string),
    }
}

/// A string field of `node.json` (`nodeId`, `displayName`).
pub fn string_field(doc: &Map<String, Value>, key: &str) -> Option<String> {
    doc.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Apply `update` to the document (pure).
pub fn apply(doc: &mut Map<String, Value>, update: &NodeJsonUpdate) {
    if !doc.contains_key("version") {
        doc.insert("version".into(), Value::from(1));
    }
    if let Some(id) = &update.node_id {
        doc.insert("nodeId".into(), Value::from(id.as_str()));
    }
    if let Some(name) = &update.display_name {
        doc.insert("displayName".into(), Value::from(name.as_str()));
    }
    let touches_gateway = update.host.is_some()
        || update.port.is_some()
        || update.tls.is_some()
        || update.tls_fingerprint.is_some();
    if !touches_gateway {
        return;
    }
    let entry = doc
        .entry("gateway")
        .or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    if let Value::Object(g) = entry {
        if let Some(h) = &update.host {
            g.insert("host".into(), Value::from(h.as_str()));
        }
        if let Some(p) = update.port {
            g.insert("port".into(), Value::from(p));
        }
        if let Some(t) = update.tls {
            g.insert("tls".into(), Value::from(t));
        }
        if let Some(fp) = &update.tls_fingerprint {
            g.insert("tlsFingerprint".into(), Value::from(fp.as_str()));
        }
    }
}

/// Read, apply, write back (0600, atomic). Nothing is written when `update` is empty.
pub fn update(state: &Path, update: &NodeJsonUpdate) -> Result<bool, ServiceError> {
    if update.is_empty() {
        return Ok(false);
    }
    let mut doc = read(state)?.unwrap_or_default();
    apply(&mut doc, update);
    let mut text = serde_json::to_string_pretty(&Value::Object(doc))
        .map_err(|e| ServiceError::Invalid(format!("cannot encode node.json: {e}")))?;
    text.push('\n');
    crate::gateway::state::write_atomic_0600(&path(state), text.as_bytes())?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
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
        let doc = read(dir.path()).unwrap().unwrap();
        assert_eq!(doc["version"], 1);
        assert_eq!(doc["nodeId"], "n");
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
}
