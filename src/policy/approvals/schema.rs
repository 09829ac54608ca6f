//! The approvals file's schema (EA §2.2): the typed file, its agents, policy fields and
//! allowlist entries (unknown fields kept), and its canonical serialisation.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::policy::types::{Ask, Security};

/// `socket` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SocketConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// The policy fields shared by `defaults` and agent objects.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PolicyFields {
    pub security: Option<Security>,
    pub ask: Option<Ask>,
    pub ask_fallback: Option<Security>,
    pub auto_allow_skills: Option<bool>,
}

/// One allowlist entry (EA §2.2). Unknown fields are kept in `extra`.
#[derive(Debug, Clone, PartialEq)]
pub struct AllowlistEntry {
    pub id: Option<String>,
    pub pattern: String,
    pub last_used_at: Option<Value>,
    pub last_used_command: Option<String>,
    pub last_resolved_path: Option<String>,
    pub source: Option<String>,
    pub arg_pattern: Option<String>,
    pub extra: Map<String, Value>,
}

impl AllowlistEntry {
    /// A new entry with a fresh id.
    pub fn new(pattern: &str) -> Self {
        Self {
            id: Some(uuid::Uuid::new_v4().to_string()),
            pattern: pattern.to_string(),
            last_used_at: None,
            last_used_command: None,
            last_resolved_path: None,
            source: None,
            arg_pattern: None,
            extra: Map::new(),
        }
    }
}

/// One agent object. Unknown fields (e.g. `denylist`) are kept in `extra`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgentEntry {
    pub policy: PolicyFields,
    pub allowlist: Option<Vec<AllowlistEntry>>,
    pub extra: Map<String, Value>,
}

/// A normalised approvals file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApprovalsFile {
    pub socket: SocketConfig,
    pub defaults: PolicyFields,
    pub agents: BTreeMap<String, AgentEntry>,
    /// `[newest]` `managedDefaults`, kept verbatim.
    pub managed_defaults: Option<Value>,
}

impl ApprovalsFile {
    /// The fail-closed policy used when the file on disk is invalid: `deny/off/deny`.
    pub fn fail_closed() -> Self {
        Self {
            defaults: PolicyFields {
                security: Some(Security::Deny),
                ask: Some(Ask::Off),
                ask_fallback: Some(Security::Deny),
                auto_allow_skills: Some(false),
            },
            ..Self::default()
        }
    }

    /// The fallback used when an unmigrated legacy file cannot be read: `deny/always/deny`.
    pub fn legacy_fail_closed() -> Self {
        Self {
            defaults: PolicyFields {
                security: Some(Security::Deny),
                ask: Some(Ask::Always),
                ask_fallback: Some(Security::Deny),
                auto_allow_skills: None,
            },
            ..Self::default()
        }
    }

    /// Total number of allowlist entries.
    pub fn entry_count(&self) -> usize {
        self.agents
            .values()
            .map(|a| a.allowlist.as_ref().map_or(0, Vec::len))
            .sum()
    }

    /// Serialise to the canonical JSON value (`version` forced to 1).
    pub fn to_value(&self) -> Value {
        let mut root = Map::new();
        root.insert("version".into(), Value::from(1));
        let mut socket = Map::new();
        if let Some(p) = &self.socket.path {
            socket.insert("path".into(), Value::from(p.clone()));
        }
        if let Some(t) = &self.socket.token {
            socket.insert("token".into(), Value::from(t.clone()));
        }
        if !socket.is_empty() {
            root.insert("socket".into(), Value::Object(socket));
        }
        root.insert(
            "defaults".into(),
            policy_to_value(&self.defaults, Map::new()),
        );
        let mut agents = Map::new();
        for (name, agent) in &self.agents {
            let mut obj = policy_to_value(&agent.policy, agent.extra.clone());
            if let (Value::Object(o), Some(list)) = (&mut obj, &agent.allowlist) {
                o.insert(
                    "allowlist".into(),
                    Value::Array(list.iter().map(entry_to_value).collect()),
                );
            }
            agents.insert(name.clone(), obj);
        }
        root.insert("agents".into(), Value::Object(agents));
        if let Some(m) = &self.managed_defaults {
            root.insert("managedDefaults".into(), m.clone());
        }
        Value::Object(root)
    }

    /// Canonical bytes: 2-space pretty JSON plus a trailing newline.
    pub fn to_canonical_string(&self) -> String {
        #[derive(Serialize)]
        struct Ordered {
            version: u8,
            #[serde(skip_serializing_if = "Option::is_none")]
            socket: Option<Value>,
            defaults: Value,
            agents: Value,
            #[serde(rename = "managedDefaults", skip_serializing_if = "Option::is_none")]
            managed_defaults: Option<Value>,
        }
        let mut v = self.to_value();
        let ordered = Ordered {
            version: 1,
            socket: v.get_mut("socket").map(Value::take),
            defaults: v.get_mut("defaults").map(Value::take).unwrap_or_default(),
            agents: v.get_mut("agents").map(Value::take).unwrap_or_default(),
            managed_defaults: v.get_mut("managedDefaults").map(Value::take),
        };
        let mut s = serde_json::to_string_pretty(&ordered).unwrap_or_else(|_| "{}".into());
        s.push('\n');
        s
    }

    /// The file with `socket.token` removed (EA §2.7).
    pub fn redacted(&self) -> Self {
        let mut f = self.clone();
        f.socket.token = None;
        f
    }

    /// Assign a fresh id to every entry that lacks one.
    pub fn ensure_ids(&mut self) {
        for agent in self.agents.values_mut() {
            for e in agent.allowlist.iter_mut().flatten() {
                if e.id.as_deref().is_none_or(|s| s.trim().is_empty()) {
                    e.id = Some(uuid::Uuid::new_v4().to_string());
                }
            }
        }
    }
}

fn policy_to_value(p: &PolicyFields, mut obj: Map<String, Value>) -> Value {
    if let Some(s) = p.security {
        obj.insert("security".into(), Value::from(s.as_str()));
    }
    if let Some(a) = p.ask {
        obj.insert("ask".into(), Value::from(a.as_str()));
    }
    if let Some(s) = p.ask_fallback {
        obj.insert("askFallback".into(), Value::from(s.as_str()));
    }
    if let Some(b) = p.auto_allow_skills {
        obj.insert("autoAllowSkills".into(), Value::from(b));
    }
    Value::Object(obj)
}

fn entry_to_value(e: &AllowlistEntry) -> Value {
    let mut o = e.extra.clone();
    if let Some(id) = &e.id {
        o.insert("id".into(), Value::from(id.clone()));
    }
    o.insert("pattern".into(), Value::from(e.pattern.clone()));
    if let Some(v) = &e.last_used_at {
        o.insert("lastUsedAt".into(), v.clone());
    }
    if let Some(v) = &e.last_used_command {
        o.insert("lastUsedCommand".into(), Value::from(v.clone()));
    }
    if let Some(v) = &e.last_resolved_path {
        o.insert("lastResolvedPath".into(), Value::from(v.clone()));
    }
    if let Some(v) = &e.source {
        o.insert("source".into(), Value::from(v.clone()));
    }
    if let Some(v) = &e.arg_pattern {
        o.insert("argPattern".into(), Value::from(v.clone()));
    }
    Value::Object(o)
}
