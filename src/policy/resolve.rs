//! Policy resolution (EA §3): per-agent host policy from the approvals file with sources, the
//! requested (gateway-side) policy, and their combination (`min` security, `max` ask).
//!
//! Built-in requested defaults when `openclaw.json` says nothing: `allowlist / on-miss`, ask
//! fallback `deny` (the conservative set recommended in EA §3.2; the YOLO posture `full/off` is
//! available as the `policies/presets/yolo.json`-style file or via `tools.exec`).

use serde::Serialize;

use super::store::{ApprovalsFile, PolicyFields};
use super::types::{Ask, Security};

/// The agent id used when a request names none.
pub const DEFAULT_AGENT_ID: &str = "main";
/// Built-in requested security when config is silent.
pub const BUILTIN_SECURITY: Security = Security::Allowlist;
/// Built-in requested ask when config is silent.
pub const BUILTIN_ASK: Ask = Ask::OnMiss;
/// Built-in ask fallback.
pub const BUILTIN_ASK_FALLBACK: Security = Security::Deny;

/// The requested policy (from `tools.exec.*` or the built-ins), with where it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Requested {
    pub security: Security,
    pub ask: Ask,
    /// e.g. `tools.exec.security`, `built-in`, `--security`.
    pub security_source: String,
    pub ask_source: String,
}

impl Default for Requested {
    fn default() -> Self {
        Self {
            security: BUILTIN_SECURITY,
            ask: BUILTIN_ASK,
            security_source: "built-in".into(),
            ask_source: "built-in".into(),
        }
    }
}

/// The host (approvals-file) policy for one agent.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HostPolicy {
    pub security: Security,
    pub ask: Ask,
    pub ask_fallback: Security,
    pub auto_allow_skills: bool,
    /// `agents.<id>.security`, `agents.*.security`, `defaults.security`, or `None` (fallback).
    pub security_source: Option<String>,
    pub ask_source: Option<String>,
    pub ask_fallback_source: Option<String>,
}

/// Effective policy after combination, with the source of each value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Effective {
    pub security: Security,
    pub ask: Ask,
    pub ask_fallback: Security,
    pub auto_allow_skills: bool,
    pub security_source: String,
    pub ask_source: String,
}

fn pick<T: Copy>(
    agent_id: &str,
    agent: Option<&PolicyFields>,
    wildcard: Option<&PolicyFields>,
    defaults: &PolicyFields,
    field: fn(&PolicyFields) -> Option<T>,
    name: &str,
    fallback: T,
) -> (T, Option<String>) {
    if let Some(v) = agent.and_then(field) {
        return (v, Some(format!("agents.{agent_id}.{name}")));
    }
    if let Some(v) = wildcard.and_then(field) {
        return (v, Some(format!("agents.*.{name}")));
    }
    if let Some(v) = field(defaults) {
        return (v, Some(format!("defaults.{name}")));
    }
    (fallback, None)
}

/// `resolveExecApprovalsFromFile` for one agent; `overrides` are used when the file is silent.
pub fn host_policy(file: &ApprovalsFile, agent_id: &str, overrides: &Requested) -> HostPolicy {
    let agent = file.agents.get(agent_id).map(|a| &a.policy);
    let wildcard = file.agents.get("*").map(|a| &a.policy);
    let d = &file.defaults;
    let (security, security_source) = pick(
        agent_id,
        agent,
        wildcard,
        d,
        |p| p.security,
        "security",
        overrides.security,
    );
    let (ask, ask_source) = pick(
        agent_id,
        agent,
        wildcard,
        d,
        |p| p.ask,
        "ask",
        overrides.ask,
    );
    let (ask_fallback, ask_fallback_source) = pick(
        agent_id,
        agent,
        wildcard,
        d,
        |p| p.ask_fallback,
        "askFallback",
        BUILTIN_ASK_FALLBACK,
    );
    let auto_allow_skills = agent
        .and_then(|p| p.auto_allow_skills)
        .or(wildcard.and_then(|p| p.auto_allow_skills))
        .or(d.auto_allow_skills)
        .unwrap_or(false);
    HostPolicy {
        security,
        ask,
        ask_fallback,
        auto_allow_skills,
        security_source,
        ask_source,
        ask_fallback_source,
    }
}

/// Combine requested and host: `security = min`, `ask = max` (EA §1).
pub fn combine(requested: &Requested, host: &HostPolicy) -> Effective {
    let host_sec_src = host
        .security_source
        .clone()
        .unwrap_or_else(|| requested.security_source.clone());
    let host_ask_src = host
        .ask_source
        .clone()
        .unwrap_or_else(|| requested.ask_source.clone());
    let (security, security_source) = if requested.security < host.security {
        (requested.security, requested.security_source.clone())
    } else {
        (host.security, host_sec_src)
    };
    let (ask, ask_source) = if requested.ask > host.ask {
        (requested.ask, requested.ask_source.clone())
    } else {
        (host.ask, host_ask_src)
    };
    Effective {
        security,
        ask,
        ask_fallback: host.ask_fallback,
        auto_allow_skills: host.auto_allow_skills,
        security_source,
        ask_source,
    }
}
