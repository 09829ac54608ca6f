//! Policy resolution (EA §3): per-agent host policy from the approvals file with sources, the
//! requested (gateway-side) policy, and their combination (`min` security, `max` ask).
//!
//! Defaults (EA §3.2 leaves them to the port):
//! - the *requested* policy, when `openclaw.json` has no `tools.exec`, is `full / off`: the
//!   approvals file decides, so `openclaw approvals --node … set` with `security: full` takes
//!   effect exactly as on the official host;
//! - the *host* policy, when the approvals file is silent too, falls back to the requested values
//!   only if they came from `tools.exec`; otherwise to the conservative built-ins
//!   `allowlist / on-miss`, ask fallback `deny` (EA §3.2 recommendation). A fresh node therefore
//!   runs nothing outside its allowlist until an operator says otherwise; the YOLO posture is
//!   `policies/presets/yolo.json` or `tools.exec`.

use serde::Serialize;

use super::approvals::{ApprovalsFile, PolicyFields};
use super::types::{Ask, Security};

/// The agent id used when a request names none.
pub const DEFAULT_AGENT_ID: &str = "main";
/// Built-in host security when both the approvals file and `tools.exec` are silent.
pub const BUILTIN_SECURITY: Security = Security::Allowlist;
/// Built-in host ask when both the approvals file and `tools.exec` are silent.
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
    /// Whether `security` came from configuration (`tools.exec.security`); only then is it also
    /// the host fallback when the approvals file is silent.
    pub security_configured: bool,
    /// Whether `ask` came from configuration (`tools.exec.ask`).
    pub ask_configured: bool,
}

impl Default for Requested {
    /// `full / off` from the built-ins: the approvals file (or its conservative fallback) decides.
    fn default() -> Self {
        Self {
            security: Security::Full,
            ask: Ask::Off,
            security_source: "built-in".into(),
            ask_source: "built-in".into(),
            security_configured: false,
            ask_configured: false,
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

/// `resolveExecApprovalsFromFile` for one agent. When the file is silent, a value falls back to
/// `overrides` if it was configured (`tools.exec.*`), else to the conservative built-ins.
pub fn host_policy(file: &ApprovalsFile, agent_id: &str, overrides: &Requested) -> HostPolicy {
    let fallback_security = if overrides.security_configured {
        overrides.security
    } else {
        BUILTIN_SECURITY
    };
    let fallback_ask = if overrides.ask_configured {
        overrides.ask
    } else {
        BUILTIN_ASK
    };
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
        fallback_security,
    );
    let (ask, ask_source) = pick(agent_id, agent, wildcard, d, |p| p.ask, "ask", fallback_ask);
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
