//! The exec-approvals store (EA §2): schema, strict parsing with hard limits, normalisation and
//! legacy migration, canonical serialisation, atomic `0600` writes with symlink refusal under an
//! advisory `flock`, hash snapshots and redaction.
//!
//! Decisions taken where the spec leaves room:
//! - Invalid content on disk fails closed (newest upstream): the runtime policy becomes
//!   `deny/off/deny`, and the file is **never** rewritten automatically, so a user's entries are not
//!   lost; `system.execApprovals.get` still reports `exists: true` and the hash of the raw bytes.
//! - Limits: at most [`MAX_FILE_BYTES`] bytes, no NUL bytes, at most [`MAX_AGENTS`] agents and
//!   [`MAX_ENTRIES`] allowlist entries in total. Exceeding them is an error, never a truncation.
//! - Allowlist items whose `pattern` is blank are dropped (they can never match); this is logged.
//! - A remote `socket.token` is ignored: the node keeps (or generates) its own token.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::types::{Ask, Security};

/// Largest approvals file we agree to parse.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;
/// Largest number of agent objects in one file.
pub const MAX_AGENTS: usize = 1024;
/// Largest total number of allowlist entries across all agents.
pub const MAX_ENTRIES: usize = 10_000;
/// How long a writer waits for the sidecar lock before reporting `TIMEOUT`.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(5);

/// `sha256("")`: the hash of a missing file.
pub const EMPTY_HASH: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Errors of the store. Messages name the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot read exec approvals {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write exec approvals {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("exec approvals {path} is invalid: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("Refusing to write exec approvals via symlink: {0}")]
    SymlinkTarget(PathBuf),
    #[error("Refusing to traverse symlink in exec approvals path: {0}")]
    SymlinkParent(PathBuf),
    #[error("timed out waiting for the exec approvals lock {0}")]
    LockTimeout(PathBuf),
    #[error("exec approvals base hash required; reload and retry")]
    BaseHashRequired,
    #[error("exec approvals changed; reload and retry")]
    Conflict,
    #[error("exec approvals file required")]
    FileRequired,
}

impl StoreError {
    /// The wire error code for this error (`TIMEOUT` for lock timeouts).
    pub fn kind(&self) -> super::types::ErrorKind {
        match self {
            Self::LockTimeout(_) => super::types::ErrorKind::Timeout,
            _ => super::types::ErrorKind::InvalidRequest,
        }
    }
}

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

/// How strictly to treat malformed values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strictness {
    /// Content read from disk: any type/enum error makes the whole file invalid (fail closed).
    Disk,
    /// Content sent by a remote `set`: invalid enums are dropped (upstream `sanitize`), wrong
    /// container types are errors.
    Remote,
}

/// Parse + validate + normalise raw text from disk.
pub fn parse_text(text: &str) -> Result<ApprovalsFile, String> {
    if text.len() > MAX_FILE_BYTES {
        return Err(format!(
            "file is {} bytes, larger than the {MAX_FILE_BYTES}-byte limit",
            text.len()
        ));
    }
    if text.contains('\0') {
        return Err("file contains NUL bytes".into());
    }
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    match value.get("version") {
        Some(v) if v.as_f64() == Some(1.0) => {}
        Some(v) => return Err(format!("unsupported version {v}; only 1 is valid")),
        None => return Err("missing \"version\": 1".into()),
    }
    normalize_value(&value, Strictness::Disk)
}

/// The pure checks of a file submitted by `system.execApprovals.set` (size, NUL characters,
/// schema with [`Strictness::Remote`]); `Err` is the message of [`StoreError::Invalid`].
pub fn normalize_remote(file: &Value) -> Result<ApprovalsFile, String> {
    let text_len = serde_json::to_string(file).map(|s| s.len()).unwrap_or(0);
    if text_len > MAX_FILE_BYTES {
        return Err(format!(
            "file is larger than the {MAX_FILE_BYTES}-byte limit"
        ));
    }
    if serde_json::to_string(file).is_ok_and(|s| s.contains("\\u0000")) {
        return Err("file contains NUL characters".into());
    }
    normalize_value(file, Strictness::Remote)
}

/// Normalise a JSON value into an [`ApprovalsFile`] (EA §2.3).
pub fn normalize_value(value: &Value, strict: Strictness) -> Result<ApprovalsFile, String> {
    let root = value
        .as_object()
        .ok_or_else(|| "top level must be a JSON object".to_string())?;
    let mut file = ApprovalsFile::default();
    if let Some(sock) = root.get("socket") {
        match sock {
            Value::Null => {}
            Value::Object(o) => {
                file.socket.path = opt_trimmed_string(o.get("path"), "socket.path")?;
                file.socket.token = opt_trimmed_string(o.get("token"), "socket.token")?;
            }
            _ => return Err("\"socket\" must be an object".into()),
        }
    }
    if let Some(d) = root.get("defaults") {
        match d {
            Value::Null => {}
            Value::Object(o) => {
                let (p, _) = parse_policy(o, "defaults", strict)?;
                file.defaults = p;
            }
            _ => return Err("\"defaults\" must be an object".into()),
        }
    }
    if let Some(m) = root.get("managedDefaults") {
        file.managed_defaults = Some(m.clone());
    }
    let mut dropped = 0usize;
    if let Some(a) = root.get("agents") {
        let agents = match a {
            Value::Null => Map::new(),
            Value::Object(o) => o.clone(),
            _ => return Err("\"agents\" must be an object".into()),
        };
        if agents.len() > MAX_AGENTS {
            return Err(format!(
                "{} agents, more than the limit of {MAX_AGENTS}",
                agents.len()
            ));
        }
        for (name, agent) in &agents {
            let obj = agent
                .as_object()
                .ok_or_else(|| format!("agents.{name} must be an object"))?;
            let (policy, mut extra) = parse_policy(obj, &format!("agents.{name}"), strict)?;
            let mut allowlist = None;
            if let Some(list) = extra.remove("allowlist") {
                match list {
                    Value::Null => {}
                    Value::Array(items) => {
                        let mut out = Vec::new();
                        for (i, item) in items.iter().enumerate() {
                            match parse_entry(item, &format!("agents.{name}.allowlist[{i}]"))? {
                                Some(e) => out.push(e),
                                None => dropped += 1,
                            }
                        }
                        if !out.is_empty() {
                            allowlist = Some(out);
                        }
                    }
                    _ => return Err(format!("agents.{name}.allowlist must be an array")),
                }
            }
            file.agents.insert(
                name.clone(),
                AgentEntry {
                    policy,
                    allowlist,
                    extra,
                },
            );
        }
    }
    if dropped > 0 {
        tracing::warn!(
            dropped,
            "exec approvals: dropped allowlist items with a blank pattern"
        );
    }
    merge_legacy_default(&mut file);
    if file.entry_count() > MAX_ENTRIES {
        return Err(format!(
            "{} allowlist entries, more than the limit of {MAX_ENTRIES}",
            file.entry_count()
        ));
    }
    Ok(file)
}

fn opt_trimmed_string(v: Option<&Value>, what: &str) -> Result<Option<String>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let t = s.trim();
            Ok((!t.is_empty()).then(|| t.to_string()))
        }
        Some(_) => Err(format!("{what} must be a string")),
    }
}

fn parse_policy(
    obj: &Map<String, Value>,
    what: &str,
    strict: Strictness,
) -> Result<(PolicyFields, Map<String, Value>), String> {
    let mut extra = obj.clone();
    let mut p = PolicyFields::default();
    let enum_field =
        |key: &str, extra: &mut Map<String, Value>| -> Result<Option<String>, String> {
            match extra.remove(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(_) if strict == Strictness::Remote => Ok(None),
                Some(_) => Err(format!("{what}.{key} must be a string")),
            }
        };
    let bad = |key: &str, v: &str| format!("{what}.{key} has invalid value {v:?}");
    // On disk the enums must be exact literals (strict validation, EA §2.4): `" on-miss "` fails
    // the file closed like `"FULL"`; a remote `set` is normalised instead (trimmed, §2.3 step 5).
    let exact = |s: &str| strict != Strictness::Disk || s.trim() == s;
    if let Some(s) = enum_field("security", &mut extra)? {
        p.security = Security::parse(&s).filter(|_| exact(&s));
        if p.security.is_none() && strict == Strictness::Disk {
            return Err(bad("security", &s));
        }
    }
    if let Some(s) = enum_field("ask", &mut extra)? {
        p.ask = Ask::parse(&s).filter(|_| exact(&s));
        if p.ask.is_none() && strict == Strictness::Disk {
            return Err(bad("ask", &s));
        }
    }
    if let Some(s) = enum_field("askFallback", &mut extra)? {
        p.ask_fallback = Security::parse(&s).filter(|_| exact(&s));
        if p.ask_fallback.is_none() && strict == Strictness::Disk {
            return Err(bad("askFallback", &s));
        }
    }
    match extra.remove("autoAllowSkills") {
        None | Some(Value::Null) => {}
        Some(Value::Bool(b)) => p.auto_allow_skills = Some(b),
        Some(_) if strict == Strictness::Remote => {}
        Some(_) => return Err(format!("{what}.autoAllowSkills must be a boolean")),
    }
    Ok((p, extra))
}

fn parse_entry(item: &Value, what: &str) -> Result<Option<AllowlistEntry>, String> {
    let obj = match item {
        Value::String(s) => {
            let t = s.trim();
            if t.is_empty() {
                return Ok(None);
            }
            let mut e = AllowlistEntry::new(t);
            e.id = None;
            return Ok(Some(e));
        }
        Value::Object(o) => o,
        _ => return Err(format!("{what} must be a string or an object")),
    };
    let mut extra = obj.clone();
    let pattern = match extra.remove("pattern") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        Some(Value::String(_)) | None | Some(Value::Null) => return Ok(None),
        Some(_) => return Err(format!("{what}.pattern must be a string")),
    };
    let string_field = |key: &str, extra: &mut Map<String, Value>| match extra.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("{what}.{key} must be a string")),
    };
    let id = string_field("id", &mut extra)?.filter(|s| !s.trim().is_empty());
    let last_used_at = match extra.remove("lastUsedAt") {
        None | Some(Value::Null) => None,
        Some(v @ Value::Number(_)) => Some(v),
        Some(_) => return Err(format!("{what}.lastUsedAt must be a number")),
    };
    let last_used_command = string_field("lastUsedCommand", &mut extra)?;
    let last_resolved_path = string_field("lastResolvedPath", &mut extra)?;
    let source = string_field("source", &mut extra)?;
    let arg_pattern = string_field("argPattern", &mut extra)?.filter(|s| !s.trim().is_empty());
    // Legacy field, stripped on normalise.
    let _ = string_field("commandText", &mut extra)?;
    Ok(Some(AllowlistEntry {
        id,
        pattern,
        last_used_at,
        last_used_command,
        last_resolved_path,
        source,
        arg_pattern,
        extra,
    }))
}

/// Merge the legacy `default` agent into `main` (main wins per field, allowlists concatenated
/// main-first, de-duplicated by lowercase-trimmed pattern + trimmed argPattern).
fn merge_legacy_default(file: &mut ApprovalsFile) {
    let Some(legacy) = file.agents.remove("default") else {
        return;
    };
    let main = file.agents.entry("main".into()).or_default();
    let p = &mut main.policy;
    p.security = p.security.or(legacy.policy.security);
    p.ask = p.ask.or(legacy.policy.ask);
    p.ask_fallback = p.ask_fallback.or(legacy.policy.ask_fallback);
    p.auto_allow_skills = p.auto_allow_skills.or(legacy.policy.auto_allow_skills);
    for (k, v) in legacy.extra {
        main.extra.entry(k).or_insert(v);
    }
    if let Some(extra_entries) = legacy.allowlist {
        let list = main.allowlist.get_or_insert_with(Vec::new);
        let key = |e: &AllowlistEntry| {
            (
                e.pattern.trim().to_lowercase(),
                e.arg_pattern.as_deref().unwrap_or("").trim().to_string(),
            )
        };
        let mut seen: std::collections::HashSet<_> = list.iter().map(key).collect();
        for e in extra_entries {
            if seen.insert(key(&e)) {
                list.push(e);
            }
        }
    }
}

/// `hex(sha256(bytes))`.
pub fn hash_bytes(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Where the policy came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileStatus {
    /// No file: product defaults.
    Missing,
    /// Loaded and valid.
    Valid,
    /// Present but invalid: fail-closed policy (message says why).
    Invalid(String),
    /// Read-only fallback to the legacy `~/.openclaw/exec-approvals.json`.
    Legacy(PathBuf),
}

/// A point-in-time view of the file (EA §2.6).
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub path: PathBuf,
    pub exists: bool,
    pub raw: Option<String>,
    /// `hex(sha256(raw bytes on disk))`, or [`EMPTY_HASH`] for a missing file.
    pub hash: String,
    /// Normalised content (fail-closed content when invalid).
    pub file: ApprovalsFile,
    pub status: FileStatus,
}

impl Snapshot {
    /// The RPC shape `{path, exists, hash, file}` with the token redacted.
    pub fn to_rpc_value(&self) -> Value {
        serde_json::json!({
            "path": self.path.to_string_lossy(),
            "exists": self.exists,
            "hash": self.hash,
            "file": self.file.redacted().to_value(),
        })
    }
}

/// The approvals file on disk.
#[derive(Debug, Clone)]
pub struct Store {
    path: PathBuf,
    legacy: Option<PathBuf>,
    home: Option<PathBuf>,
}

impl Store {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            legacy: None,
            home: None,
        }
    }

    /// Read-only fallback file used when `path` does not exist (EA §2.1).
    pub fn with_legacy(mut self, legacy: Option<PathBuf>) -> Self {
        self.legacy = legacy.filter(|l| *l != self.path);
        self
    }

    /// Home directory: symlinked components between it and the approvals dir are refused.
    pub fn with_home(mut self, home: Option<PathBuf>) -> Self {
        self.home = home;
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The default socket path next to the file.
    pub fn default_socket_path(&self) -> String {
        self.path
            .with_file_name("exec-approvals.sock")
            .to_string_lossy()
            .into_owned()
    }

    fn lock_path(&self) -> PathBuf {
        let mut name = self
            .path
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_default();
        name.push(".lock");
        self.path.with_file_name(name)
    }

    /// Read without writing anything.
    pub fn read_snapshot(&self) -> Result<Snapshot, StoreError> {
        match read_raw(&self.path)? {
            Some(bytes) => Ok(snapshot_from_bytes(&self.path, bytes)),
            None => {
                if let Some(legacy) = &self.legacy
                    && let Ok(Some(bytes)) = read_raw(legacy)
                {
                    let snap = snapshot_from_bytes(legacy, bytes);
                    let file = match snap.status {
                        FileStatus::Valid => snap.file,
                        _ => ApprovalsFile::legacy_fail_closed(),
                    };
                    return Ok(Snapshot {
                        path: self.path.clone(),
                        exists: false,
                        raw: None,
                        hash: EMPTY_HASH.into(),
                        file,
                        status: FileStatus::Legacy(legacy.clone()),
                    });
                }
                Ok(Snapshot {
                    path: self.path.clone(),
                    exists: false,
                    raw: None,
                    hash: EMPTY_HASH.into(),
                    file: ApprovalsFile::default(),
                    status: FileStatus::Missing,
                })
            }
        }
    }

    /// `ensureExecApprovals`: load, normalise, fill socket path/token, and rewrite canonically.
    /// An invalid file is left untouched (fail closed) and reported as such.
    ///
    /// A file that is already canonical is returned without taking the lock or touching the
    /// directory, so `get` works on a read-only approvals directory.
    pub fn ensure(&self) -> Result<Snapshot, StoreError> {
        let snap = self.read_snapshot()?;
        if matches!(snap.status, FileStatus::Invalid(_)) || is_complete_canonical(&snap) {
            return Ok(snap);
        }
        let _lock = self.lock()?;
        let snap = self.read_snapshot()?;
        if matches!(snap.status, FileStatus::Invalid(_)) {
            return Ok(snap);
        }
        let mut file = match snap.status {
            FileStatus::Legacy(_) | FileStatus::Missing => ApprovalsFile {
                // The legacy file is only ever read; the new file starts from its content.
                ..snap.file.clone()
            },
            _ => snap.file.clone(),
        };
        self.fill_socket(&mut file);
        file.ensure_ids();
        let text = file.to_canonical_string();
        if snap.raw.as_deref() == Some(text.as_str()) {
            return Ok(snap);
        }
        self.write_locked(&text)?;
        self.read_snapshot()
    }

    fn fill_socket(&self, file: &mut ApprovalsFile) {
        if file.socket.path.is_none() {
            file.socket.path = Some(self.default_socket_path());
        }
        if file.socket.token.is_none() {
            file.socket.token = Some(generate_token());
        }
    }

    /// Read-modify-write under the lock. `f` gets the current snapshot and returns the new file,
    /// or `None` to leave the file untouched. Refuses to modify an invalid file.
    pub fn update<F>(&self, f: F) -> Result<Snapshot, StoreError>
    where
        F: FnOnce(&Snapshot) -> Result<Option<ApprovalsFile>, StoreError>,
    {
        let _lock = self.lock()?;
        let snap = self.read_snapshot()?;
        if let FileStatus::Invalid(message) = &snap.status {
            return Err(StoreError::Invalid {
                path: self.path.clone(),
                message: message.clone(),
            });
        }
        if matches!(snap.status, FileStatus::Legacy(_)) {
            // Never write based on the read-only legacy content.
            return Ok(snap);
        }
        match f(&snap)? {
            None => Ok(snap),
            Some(mut file) => {
                self.fill_socket(&mut file);
                file.ensure_ids();
                self.write_locked(&file.to_canonical_string())?;
                self.read_snapshot()
            }
        }
    }

    /// `system.execApprovals.set {file, baseHash}` (EA §16.2). A remote `socket.token` is ignored.
    pub fn set_remote(
        &self,
        file: &Value,
        base_hash: Option<&str>,
    ) -> Result<Snapshot, StoreError> {
        if !file.is_object() {
            return Err(StoreError::FileRequired);
        }
        let mut incoming = normalize_remote(file).map_err(|message| StoreError::Invalid {
            path: self.path.clone(),
            message,
        })?;
        let _lock = self.lock()?;
        let current = self.read_snapshot()?;
        let base = base_hash.map(str::trim).filter(|s| !s.is_empty());
        if current.exists {
            match base {
                None => return Err(StoreError::BaseHashRequired),
                Some(b) if b != current.hash => return Err(StoreError::Conflict),
                Some(_) => {}
            }
        } else if let Some(b) = base
            && b != EMPTY_HASH
        {
            return Err(StoreError::Conflict);
        }
        // Socket defaults: path = incoming ?? current ?? default; token = current ?? generated.
        let current_socket = if matches!(current.status, FileStatus::Valid) {
            current.file.socket.clone()
        } else {
            current
                .raw
                .as_deref()
                .and_then(|r| serde_json::from_str::<Value>(r).ok())
                .and_then(|v| v.get("socket").cloned())
                .and_then(|s| serde_json::from_value::<SocketConfig>(s).ok())
                .unwrap_or_default()
        };
        if incoming.socket.token.is_some() {
            tracing::warn!("exec approvals set: ignoring a remote socket.token");
        }
        incoming.socket.token = current_socket.token.filter(|t| !t.trim().is_empty());
        if incoming.socket.path.is_none() {
            incoming.socket.path = current_socket.path;
        }
        self.fill_socket(&mut incoming);
        incoming.ensure_ids();
        self.write_locked(&incoming.to_canonical_string())?;
        self.read_snapshot()
    }

    /// Take the advisory lock on the sidecar file (creating the directory if needed).
    pub fn lock(&self) -> Result<StoreLock, StoreError> {
        self.ensure_dir()?;
        let lock_path = self.lock_path();
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&lock_path)
            .map_err(|source| StoreError::Write {
                path: lock_path.clone(),
                source,
            })?;
        let deadline = Instant::now() + LOCK_TIMEOUT;
        let mut file = file;
        loop {
            match nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusiveNonblock) {
                Ok(lock) => return Ok(StoreLock { _lock: lock }),
                Err((f, nix::errno::Errno::EWOULDBLOCK)) if Instant::now() < deadline => {
                    file = f;
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err((_, nix::errno::Errno::EWOULDBLOCK)) => {
                    return Err(StoreError::LockTimeout(lock_path));
                }
                Err((_, e)) => {
                    return Err(StoreError::Write {
                        path: lock_path,
                        source: std::io::Error::from(e),
                    });
                }
            }
        }
    }

    fn ensure_dir(&self) -> Result<(), StoreError> {
        let dir = self
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        // Refuse symlinked components between the home root and the directory.
        if let Some(home) = &self.home
            && let Ok(rel) = dir.strip_prefix(home)
        {
            let mut cur = home.clone();
            for comp in rel.components() {
                cur.push(comp);
                if fs::symlink_metadata(&cur).is_ok_and(|m| m.file_type().is_symlink()) {
                    return Err(StoreError::SymlinkParent(cur));
                }
            }
        }
        match fs::symlink_metadata(dir) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(StoreError::SymlinkParent(dir.to_path_buf()));
            }
            Ok(m) if !m.is_dir() => {
                return Err(StoreError::Write {
                    path: dir.to_path_buf(),
                    source: std::io::Error::other("not a directory"),
                });
            }
            Ok(_) => {}
            Err(_) => {
                fs::create_dir_all(dir).map_err(|source| StoreError::Write {
                    path: dir.to_path_buf(),
                    source,
                })?;
            }
        }
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(|source| {
            StoreError::Write {
                path: dir.to_path_buf(),
                source,
            }
        })
    }

    /// Atomic write (caller holds the lock): temp file in the same dir, 0600, rename.
    fn write_locked(&self, text: &str) -> Result<(), StoreError> {
        self.ensure_dir()?;
        if fs::symlink_metadata(&self.path).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(StoreError::SymlinkTarget(self.path.clone()));
        }
        let prefix = format!(".exec-approvals.{}.", std::process::id());
        crate::util::write_atomic(&self.path, text.as_bytes(), 0o600, &prefix).map_err(|source| {
            StoreError::Write {
                path: self.path.clone(),
                source,
            }
        })
    }
}

/// A valid file on disk that `ensure` would not change: socket path and token set, every entry
/// has an id, and the bytes are the canonical serialisation.
fn is_complete_canonical(snap: &Snapshot) -> bool {
    let f = &snap.file;
    matches!(snap.status, FileStatus::Valid)
        && f.socket.path.is_some()
        && f.socket.token.is_some()
        && f.agents.values().all(|a| {
            a.allowlist
                .iter()
                .flatten()
                .all(|e| e.id.as_deref().is_some_and(|s| !s.trim().is_empty()))
        })
        && snap.raw.as_deref() == Some(f.to_canonical_string().as_str())
}

/// Holds the sidecar `flock` until dropped.
#[derive(Debug)]
pub struct StoreLock {
    _lock: nix::fcntl::Flock<File>,
}

fn read_raw(path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        // A dangling symlink is not a missing file: someone meant a file to be there. Fail
        // closed and say so instead of silently running with the defaults.
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound
                && fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) =>
        {
            let target = fs::read_link(path).unwrap_or_default();
            return Err(StoreError::Read {
                path: path.to_path_buf(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!(
                        "dangling symlink (its target {} does not exist)",
                        target.display()
                    ),
                ),
            });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(StoreError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    if meta.len() > MAX_FILE_BYTES as u64 {
        // Hash the bytes anyway is pointless for a huge file: report it invalid without reading
        // more than the limit + 1.
        use std::io::Read;
        let mut buf = Vec::new();
        let f = File::open(path).map_err(|source| StoreError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        f.take(MAX_FILE_BYTES as u64 + 1)
            .read_to_end(&mut buf)
            .map_err(|source| StoreError::Read {
                path: path.to_path_buf(),
                source,
            })?;
        return Ok(Some(buf));
    }
    fs::read(path).map(Some).map_err(|source| StoreError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn snapshot_from_bytes(path: &Path, bytes: Vec<u8>) -> Snapshot {
    let hash = hash_bytes(&bytes);
    let parsed = if bytes.len() > MAX_FILE_BYTES {
        Err(format!(
            "file is larger than the {MAX_FILE_BYTES}-byte limit"
        ))
    } else {
        match String::from_utf8(bytes.clone()) {
            Ok(text) => parse_text(&text),
            Err(_) => Err("file is not valid UTF-8".into()),
        }
    };
    let raw = String::from_utf8(bytes).ok();
    match parsed {
        Ok(file) => Snapshot {
            path: path.to_path_buf(),
            exists: true,
            raw,
            hash,
            file,
            status: FileStatus::Valid,
        },
        Err(message) => {
            tracing::warn!(path = %path.display(), %message, "exec approvals invalid; failing closed");
            Snapshot {
                path: path.to_path_buf(),
                exists: true,
                raw,
                hash,
                file: ApprovalsFile::fail_closed(),
                status: FileStatus::Invalid(message),
            }
        }
    }
}

/// 24 random bytes, base64url without padding.
pub fn generate_token() -> String {
    use base64::Engine as _;
    use rand::RngCore as _;
    let mut bytes = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
