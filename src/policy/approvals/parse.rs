//! Strict parsing and normalisation of an approvals file (EA §2.3): hard limits, type and enum
//! checks (fail closed from disk, sanitised from a remote `set`), blank items dropped, legacy
//! `default` agent merged into `main`.

use serde_json::{Map, Value};

use super::*;
use crate::policy::types::{Ask, Security};

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
