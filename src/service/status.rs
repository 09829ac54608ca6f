//! `status` over a platform [`Backend`]: gathering it (never fails; unknowns are reported as
//! such), the installed command as the backends read it back ([`command_info`]), the binary-drift
//! warnings, and the human-readable rendering.

use std::collections::BTreeMap;
use std::path::Path;

use super::envelope::{CommandInfo, ConnectionInfo, GatewayInfo, RuntimeInfo, StatusService};
use super::ops::Backend;
use super::plan::Endpoint;
use super::{fsutil, node_json};
use crate::gateway::status as host_status;

/// Gateway endpoint from a command line (`--host/--port/--tls/--tls-fingerprint`).
pub fn endpoint_from_argv(argv: &[String]) -> Option<Endpoint> {
    let pos = argv.iter().position(|a| a == "run")?;
    let rest = &argv[pos + 1..];
    let value = |flag: &str| {
        rest.iter()
            .position(|a| a == flag)
            .and_then(|i| rest.get(i + 1))
            .cloned()
    };
    let fp = value("--tls-fingerprint");
    Some(Endpoint {
        host: value("--host").unwrap_or_else(|| super::plan::DEFAULT_HOST.into()),
        port: value("--port")
            .and_then(|p| p.parse().ok())
            .unwrap_or(super::plan::DEFAULT_PORT),
        tls: rest.iter().any(|a| a == "--tls") || fp.is_some(),
        tls_fingerprint: fp,
    })
}

/// Gather `status` (never fails; unknowns are reported as such).
pub fn status(b: &dyn Backend, state_dir: &Path) -> StatusService {
    let mut hints = Vec::new();
    let mut warnings = Vec::new();
    let probe = b.probe();
    let (loaded, runtime) = match &probe {
        Ok(()) => (b.is_loaded(), b.runtime()),
        Err(e) => {
            hints.extend(e.hints.iter().cloned());
            (
                false,
                RuntimeInfo {
                    status: "unknown".into(),
                    detail: Some(e.error.clone()),
                    ..RuntimeInfo::default()
                },
            )
        }
    };
    let installed = b.unit_path().exists();
    let command = b.read_command();
    let saved = match node_json::read(state_dir) {
        Ok(s) => s,
        Err(e) => {
            warnings.push(e.to_string());
            None
        }
    };
    let hs = host_status::read(state_dir);
    let from_cmd = command
        .as_ref()
        .and_then(|c| endpoint_from_argv(&c.program_arguments));
    let from_saved = saved.as_ref().map(node_json::saved_gateway).and_then(|g| {
        g.host.clone().map(|host| Endpoint {
            host,
            port: g.port.unwrap_or(super::plan::DEFAULT_PORT),
            tls: g.tls == Some(true) || g.tls_fingerprint.is_some(),
            tls_fingerprint: g.tls_fingerprint,
        })
    });
    let gateway = from_cmd.or(from_saved).map(|e| GatewayInfo {
        url: e.url(),
        host: e.host,
        port: e.port,
        tls: e.tls,
        tls_fingerprint: e.tls_fingerprint,
    });
    let node_id = saved
        .as_ref()
        .and_then(node_json::saved_node_id)
        .or_else(|| hs.node_id.clone());
    let display_name = saved
        .as_ref()
        .and_then(node_json::saved_display_name)
        .or_else(|| hs.display_name.clone());
    let stale = match hs.pid {
        Some(pid) => {
            !super::pid_alive(pid)
                || runtime.pid.is_some_and(|main| main != pid)
                || (runtime.status == "stopped" && hs.state != "stopped")
        }
        None => false,
    };
    let connection = ConnectionInfo {
        state: hs.state.clone(),
        pid: hs.pid,
        since: hs.since,
        updated_at: hs.updated_at,
        last_error: hs.last_error.clone(),
        request_id: hs.request_id.clone(),
        gateway: hs.gateway.clone(),
        stale,
        detail: hs.detail.clone(),
    };
    if probe.is_ok() && !installed && !loaded {
        hints.extend(b.start_hints());
    }
    if runtime.status == "stopped" && installed {
        if runtime.last_exit_status == Some(i64::from(super::EXIT_CONFIG)) {
            hints.push("The node exited with status 78 (configuration error) and is not restarted until the configuration is fixed; see the logs, then run `openclaw-node restart`.".into());
        }
        hints.extend(b.log_hints());
    }
    if connection.state == "pairing" && !stale {
        if let Some(id) = &connection.request_id {
            hints.push(format!(
                "Approve this node on the gateway host: openclaw devices approve {id}"
            ));
        } else {
            hints.push("Approve this node on the gateway host: openclaw devices list, then openclaw devices approve <requestId>".into());
        }
    }
    warnings.extend(binary_drift(command.as_ref(), runtime.pid));
    StatusService {
        label: b.label().into(),
        loaded,
        loaded_text: b.loaded_text().into(),
        not_loaded_text: b.not_loaded_text().into(),
        command,
        runtime,
        installed,
        unit_name: b.name(),
        unit_path: b.unit_path().display().to_string(),
        gateway,
        node_id,
        display_name,
        connection,
        hints,
        warnings,
    }
}

/// Complaint 15/16: the service runs a binary that is gone, an older version, or a process
/// whose executable was replaced on disk since it started (an upgrade that needs a restart).
pub fn binary_drift(command: Option<&CommandInfo>, main_pid: Option<u32>) -> Vec<String> {
    let mut out = Vec::new();
    let current = env!("CARGO_PKG_VERSION");
    if let Some(c) = command {
        if let Some(program) = c.program_arguments.first()
            && program.starts_with('/')
            && !Path::new(program).exists()
        {
            out.push(format!(
                "The service program {program} does not exist any more; reinstall from the binary you want to run: openclaw-node install --force"
            ));
        }
        if let Some(v) = c.environment.get("OPENCLAW_SERVICE_VERSION")
            && v != current
        {
            out.push(format!(
                "The service was installed by openclaw-node v{v}; this is v{current}. Refresh it with: openclaw-node install --force"
            ));
        }
    }
    if let Some(pid) = main_pid
        && let Ok(exe) = std::fs::read_link(format!("/proc/{pid}/exe"))
        && exe.to_string_lossy().ends_with(" (deleted)")
    {
        out.push(format!(
            "The running node (pid {pid}) was started from a binary that has since been replaced or deleted; run `openclaw-node restart` to run the current one."
        ));
    }
    out
}

/// Quote an argument for display (POSIX shell style).
pub fn shell_quote(a: &str) -> String {
    if !a.is_empty()
        && a.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c))
    {
        a.to_string()
    } else {
        format!("'{}'", a.replace('\'', "'\\''"))
    }
}

fn ago(now_ms: i64, then_ms: i64) -> String {
    let s = (now_ms - then_ms).max(0) / 1000;
    match s {
        0..=59 => format!("{s} s ago"),
        60..=3599 => format!("{} min ago", s / 60),
        3600..=86_399 => format!("{} h ago", s / 3600),
        _ => format!("{} d ago", s / 86_400),
    }
}

/// Human-readable status: (stdout text, stderr text).
pub fn render_status_text(s: &StatusService, log_hints: &[String]) -> (String, String) {
    let mut out = String::new();
    let mut err = String::new();
    let state_text = if s.loaded {
        s.loaded_text.clone()
    } else if s.installed {
        format!("{}, installed", s.not_loaded_text)
    } else {
        format!("{}, not installed", s.not_loaded_text)
    };
    out.push_str(&format!("Service: {} ({state_text})\n", s.label));
    out.push_str(&format!("Service file: {}\n", s.unit_path));
    if let Some(c) = &s.command {
        let argv: Vec<String> = c.program_arguments.iter().map(|a| shell_quote(a)).collect();
        out.push_str(&format!("Command: {}\n", argv.join(" ")));
        if let Some(d) = &c.working_directory {
            out.push_str(&format!("Working dir: {d}\n"));
        }
        if let Some(f) = &c.environment_file {
            let keys: Vec<&str> = c
                .environment_value_sources
                .iter()
                .filter(|(_, v)| v.as_str() != "inline")
                .map(|(k, _)| k.as_str())
                .collect();
            let keys = if keys.is_empty() {
                "no variables".to_string()
            } else {
                keys.join(", ")
            };
            out.push_str(&format!("Environment file: {f} ({keys})\n"));
        }
    }
    let rt = &s.runtime;
    let mut parts = Vec::new();
    if let Some(pid) = rt.pid {
        parts.push(format!("pid {pid}"));
    }
    if let Some(since) = &rt.since {
        parts.push(format!("since {since}"));
    }
    if let Some(st) = &rt.state {
        parts.push(format!("state {st}"));
    }
    if let Some(st) = &rt.sub_state {
        parts.push(format!("sub {st}"));
    }
    if let Some(c) = rt.last_exit_status {
        parts.push(format!("last exit {c}"));
    }
    if let Some(r) = &rt.last_exit_reason {
        parts.push(format!("reason {r}"));
    }
    if let Some(n) = rt.restarts.filter(|n| *n > 0) {
        parts.push(format!("restarts {n}"));
    }
    let mut line = rt.status.clone();
    if !parts.is_empty() {
        line.push_str(&format!(" ({})", parts.join(", ")));
    }
    if let Some(d) = &rt.detail {
        line.push_str(&format!(" — {d}"));
    }
    out.push_str(&format!("Runtime: {line}\n"));
    if let Some(g) = &s.gateway {
        let pin = g
            .tls_fingerprint
            .as_ref()
            .map(|f| format!(" (pinned {f})"))
            .unwrap_or_default();
        out.push_str(&format!("Gateway: {}{pin}\n", g.url));
    }
    if s.node_id.is_some() || s.display_name.is_some() {
        out.push_str(&format!(
            "Node: id {}, display name {}\n",
            s.node_id.as_deref().unwrap_or("(not yet assigned)"),
            s.display_name.as_deref().unwrap_or("(machine name)")
        ));
    }
    let c = &s.connection;
    let now = i64::try_from(host_status::now_ms()).unwrap_or(i64::MAX);
    let mut conn = c.state.clone();
    if let Some(since) = c.since {
        conn.push_str(&format!(" since {}", super::format_unix_ms(since)));
    }
    if let Some(u) = c.updated_at {
        conn.push_str(&format!(
            " (reported {}{})",
            ago(now, u),
            c.pid.map(|p| format!(" by pid {p}")).unwrap_or_default()
        ));
    }
    if c.stale {
        conn.push_str(" [stale: that process is no longer the running service]");
    }
    if c.state == "unknown"
        && let Some(d) = &c.detail
    {
        conn.push_str(&format!(" ({d})"));
    }
    out.push_str(&format!("Connection: {conn}\n"));
    if let Some(e) = &c.last_error {
        out.push_str(&format!("Last error: {e}\n"));
    }
    if let Some(id) = c.request_id.as_ref().filter(|_| c.state == "pairing") {
        out.push_str(&format!("Pairing request: {id}\n"));
    }
    if s.installed || s.loaded {
        for h in log_hints {
            out.push_str(&format!("Logs: {h}\n"));
        }
    }
    if !s.loaded && !s.installed && rt.status != "unknown" {
        out.push('\n');
        for h in &s.hints {
            out.push_str(&format!("Start with: {h}\n"));
        }
    } else {
        for h in &s.hints {
            if !log_hints.contains(h) {
                err.push_str(&format!("Tip: {h}\n"));
            }
        }
    }
    if rt.missing_unit == Some(true) && s.installed {
        err.push_str("Service unit not found.\n");
    } else if s.loaded && rt.status == "stopped" {
        err.push_str("Service is loaded but not running.\n");
    }
    for w in &s.warnings {
        err.push_str(&format!("Warning: {w}\n"));
    }
    (out, err)
}

/// Collect `environment` and `environmentValueSources` for `service.command`.
pub fn command_info(
    argv: Vec<String>,
    inline: Vec<(String, String)>,
    env_file: Option<&Path>,
    working_directory: Option<String>,
    source_path: &Path,
) -> CommandInfo {
    let mut sources: BTreeMap<String, String> = BTreeMap::new();
    let mut environment = BTreeMap::new();
    for (k, v) in inline {
        sources.insert(k.clone(), "inline".into());
        environment.insert(k, v);
    }
    if let Some(f) = env_file
        && let Ok(Some(text)) = fsutil::read_optional(f)
    {
        for k in super::envfile::keys(&text) {
            let v = match sources.get(&k).map(String::as_str) {
                Some("inline") => "inline-and-file",
                _ => "file",
            };
            sources.insert(k, v.into());
        }
    }
    CommandInfo {
        program_arguments: argv,
        working_directory,
        environment,
        source_path: Some(source_path.display().to_string()),
        environment_value_sources: sources,
        environment_file: env_file.map(|p| p.display().to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_from_command_line() {
        let argv: Vec<String> = [
            "/bin/x",
            "run",
            "--host",
            "h",
            "--port",
            "1",
            "--tls-fingerprint",
            "ab",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let e = endpoint_from_argv(&argv).unwrap();
        assert_eq!(e.url(), "wss://h:1");
        assert_eq!(e.tls_fingerprint.as_deref(), Some("ab"));
        assert!(endpoint_from_argv(&["x".to_string()]).is_none());
    }

    #[test]
    fn quoting_for_display() {
        assert_eq!(shell_quote("abc"), "abc");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }
}
