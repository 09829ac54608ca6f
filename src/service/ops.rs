//! The platform [`Backend`] trait and the four commands that act through it (`install`, `stop`,
//! `restart`, `uninstall`): they gather facts, act, and return an [`Outcome`] (the JSON envelope
//! plus the human-readable lines); printing is the caller's job. `status` is
//! [`super::status`].

use std::path::{Path, PathBuf};

use super::envelope::{ActionResponse, CommandInfo, RuntimeInfo, ServiceSummary};
use super::plan::InstallPlan;
use super::{ServiceError, fsutil, node_json};
use crate::gateway::status as host_status;

/// A failed platform step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepError {
    pub error: String,
    pub hints: Vec<String>,
}

impl StepError {
    pub fn new(error: impl Into<String>, hints: Vec<String>) -> Self {
        Self {
            error: error.into(),
            hints,
        }
    }
}

impl From<ServiceError> for StepError {
    fn from(e: ServiceError) -> Self {
        Self::new(e.to_string(), Vec::new())
    }
}

impl From<crate::gateway::state::StateError> for StepError {
    fn from(e: crate::gateway::state::StateError) -> Self {
        ServiceError::from(e).into()
    }
}

impl From<super::systemd::ctl::Unavailable> for StepError {
    fn from(u: super::systemd::ctl::Unavailable) -> Self {
        Self::new(u.error, u.hints)
    }
}

/// A platform service manager (systemd user units, launchd agents).
pub trait Backend {
    /// Display label: `systemd`, `LaunchAgent`.
    fn label(&self) -> &'static str;
    fn loaded_text(&self) -> &'static str;
    fn not_loaded_text(&self) -> &'static str;
    /// Unit name / label.
    fn name(&self) -> String;
    /// Path of the unit file / plist.
    fn unit_path(&self) -> PathBuf;
    /// Can we talk to the service manager at all?
    fn probe(&self) -> Result<(), StepError>;
    /// Registered to start automatically (systemd: `is-enabled`).
    fn is_loaded(&self) -> bool;
    fn runtime(&self) -> RuntimeInfo;
    /// The installed command (from the unit file).
    fn read_command(&self) -> Option<CommandInfo>;
    /// Write the service definition for `plan` and (re)start it. Pushes progress lines.
    fn write_and_start(
        &self,
        plan: &InstallPlan,
        env_file: &Path,
        progress: &mut Vec<String>,
    ) -> Result<(), StepError>;
    fn stop(&self, progress: &mut Vec<String>) -> Result<(), StepError>;
    fn restart(&self, progress: &mut Vec<String>) -> Result<(), StepError>;
    /// Stop, disable and remove the service definition.
    fn remove(&self, progress: &mut Vec<String>) -> Result<(), StepError>;
    /// Warnings worth repeating on install (e.g. linger off).
    fn environment_warnings(&self) -> Vec<String>;
    /// How to start the service by hand.
    fn start_hints(&self) -> Vec<String>;
    /// Where its logs are.
    fn log_hints(&self) -> Vec<String>;
}

/// Result of a command: the envelope, human lines for stdout, exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub response: ActionResponse,
    pub progress: Vec<String>,
    pub exit: u8,
}

impl Outcome {
    fn done(response: ActionResponse, progress: Vec<String>) -> Self {
        let exit = if response.ok { 0 } else { 1 };
        Self {
            response,
            progress,
            exit,
        }
    }
}

fn summary(b: &dyn Backend, loaded: bool) -> ServiceSummary {
    ServiceSummary {
        label: b.label().into(),
        loaded,
        loaded_text: b.loaded_text().into(),
        not_loaded_text: b.not_loaded_text().into(),
        unit_path: Some(b.unit_path().display().to_string()),
    }
}

/// Failure outcome for errors before a backend exists (unsupported platform, no HOME, …).
pub fn early_failure(action: &str, error: String, hints: Vec<String>, exit: u8) -> Outcome {
    Outcome {
        response: ActionResponse::new(action).fail(error, hints),
        progress: Vec::new(),
        exit,
    }
}

/// Message for platforms without a backend.
pub fn unsupported_platform(os: &str) -> (String, Vec<String>) {
    let what = if os == "windows" {
        "Windows (Scheduled Task) service management is not supported yet".to_string()
    } else {
        format!(
            "service management is not supported on {os} yet (systemd user units on Linux and LaunchAgents on macOS are)"
        )
    };
    (
        what,
        vec![
            "Run the node in the foreground: openclaw-node run --host <gateway-host>".into(),
            "Or start `openclaw-node run` from your own supervisor.".into(),
        ],
    )
}

/// `install`.
pub fn install(
    b: &dyn Backend,
    plan: Result<InstallPlan, StepError>,
    force: bool,
    state_dir: &Path,
) -> Outcome {
    let mut r = ActionResponse::new("install");
    let mut progress = Vec::new();
    let plan = match plan {
        Ok(p) => p,
        Err(e) => return Outcome::done(r.fail(e.error, e.hints), progress),
    };
    if let Err(e) = b.probe() {
        return Outcome::done(r.fail(e.error, e.hints), progress);
    }
    r.warnings.extend(b.environment_warnings());
    let loaded = b.is_loaded();
    let exists = b.unit_path().exists();
    if (loaded || exists) && !force {
        let state = if loaded {
            b.loaded_text()
        } else {
            "installed but not enabled"
        };
        r.result = Some("already-installed".into());
        r.message = Some(format!("Node service already {state}."));
        r.hints
            .push("Reinstall with: openclaw-node install --force".into());
        r.service = Some(summary(b, loaded));
        return Outcome::done(r, progress);
    }
    r.warnings.extend(plan.warnings.iter().cloned());
    if let Err(e) = node_json::update(state_dir, &plan.node_json) {
        return Outcome::done(
            r.fail(format!("Node install failed: {e}"), Vec::new()),
            progress,
        );
    }
    if !plan.node_json.is_empty() {
        progress.push(format!(
            "Saved gateway settings to {}",
            node_json::path(state_dir).display()
        ));
    }
    let env_file = super::env_file_path(state_dir);
    if let Err(e) = b.write_and_start(&plan, &env_file, &mut progress) {
        let mut hints = e.hints;
        hints.extend(b.log_hints());
        return Outcome::done(
            r.fail(format!("Node install failed: {}", e.error), hints),
            progress,
        );
    }
    // A configuration error makes the node exit at once (status 78, not restarted): look again
    // shortly after the start so the user hears about it now rather than from `status`.
    std::thread::sleep(std::time::Duration::from_millis(400));
    let rt = b.runtime();
    if rt.status != "running" && rt.state.as_deref() != Some("activating") {
        let code = rt
            .last_exit_status
            .map(|c| format!(" (exit status {c}{})", exit_meaning(c)))
            .unwrap_or_default();
        r.warnings.push(format!(
            "The service is installed but not running{code}; check its logs."
        ));
        r.hints.extend(b.log_hints());
    }
    r.result = Some("installed".into());
    r.message = Some(format!(
        "Node service installed and started ({}).",
        plan.endpoint.url()
    ));
    r.service = Some(summary(b, b.is_loaded()));
    Outcome::done(r, progress)
}

fn exit_meaning(code: i64) -> &'static str {
    if code == i64::from(super::EXIT_CONFIG) {
        ": configuration error, not restarted until fixed"
    } else {
        ""
    }
}

/// `stop`.
pub fn stop(b: &dyn Backend) -> Outcome {
    let mut r = ActionResponse::new("stop");
    let mut progress = Vec::new();
    if let Err(e) = b.probe() {
        return Outcome::done(r.fail(e.error, e.hints), progress);
    }
    let loaded = b.is_loaded();
    if !loaded && !b.unit_path().exists() {
        r.result = Some("not-loaded".into());
        r.message = Some(format!("Node service {}.", b.not_loaded_text()));
        r.service = Some(summary(b, false));
        return Outcome::done(r, progress);
    }
    if let Err(e) = b.stop(&mut progress) {
        return Outcome::done(
            r.fail(format!("Node stop failed: {}", e.error), e.hints),
            progress,
        );
    }
    r.result = Some("stopped".into());
    r.message = Some("Node service stopped.".into());
    r.service = Some(summary(b, b.is_loaded()));
    Outcome::done(r, progress)
}

/// `restart`.
pub fn restart(b: &dyn Backend) -> Outcome {
    let mut r = ActionResponse::new("restart");
    let mut progress = Vec::new();
    if let Err(e) = b.probe() {
        return Outcome::done(r.fail(e.error, e.hints), progress);
    }
    let loaded = b.is_loaded();
    if !b.unit_path().exists() {
        r.result = Some("not-loaded".into());
        r.message = Some(format!(
            "Node service {} (not installed).",
            b.not_loaded_text()
        ));
        r.hints = b.start_hints();
        r.service = Some(summary(b, loaded));
        return Outcome::done(r, progress);
    }
    if let Err(e) = b.restart(&mut progress) {
        let mut hints = e.hints;
        hints.extend(b.log_hints());
        return Outcome::done(
            r.fail(format!("Node restart failed: {}", e.error), hints),
            progress,
        );
    }
    r.result = Some("restarted".into());
    r.message = Some("Node service restarted.".into());
    r.service = Some(summary(b, b.is_loaded()));
    Outcome::done(r, progress)
}

/// Files `uninstall --purge` removes (node identity, approvals, status) besides the service files.
pub fn purge_paths(state_dir: &Path) -> Vec<PathBuf> {
    vec![
        node_json::path(state_dir),
        state_dir.join("identity"),
        state_dir.join("exec-approvals.json"),
        state_dir.join("exec-approvals.sock"),
    ]
}

/// `uninstall`.
pub fn uninstall(b: &dyn Backend, state_dir: &Path, purge: bool) -> Outcome {
    let mut r = ActionResponse::new("uninstall");
    let mut progress = Vec::new();
    if let Err(e) = b.probe() {
        let mut hints = e.hints;
        hints.push(format!(
            "Or remove the files by hand: rm {} {}",
            b.unit_path().display(),
            super::env_file_path(state_dir).display()
        ));
        return Outcome::done(r.fail(e.error, hints), progress);
    }
    if let Err(e) = b.remove(&mut progress) {
        return Outcome::done(
            r.fail(format!("Node uninstall failed: {}", e.error), e.hints),
            progress,
        );
    }
    let mut extra = vec![
        super::env_file_path(state_dir),
        host_status::path(state_dir),
    ];
    if purge {
        extra.extend(purge_paths(state_dir));
    }
    for p in extra {
        let removed = if p.is_dir() {
            std::fs::remove_dir_all(&p)
                .map(|()| true)
                .map_err(|source| ServiceError::Remove {
                    path: p.clone(),
                    source,
                })
        } else {
            fsutil::remove_if_exists(&p)
        };
        match removed {
            Ok(true) => progress.push(format!("Removed {}", p.display())),
            Ok(false) => {}
            Err(e) => {
                return Outcome::done(
                    r.fail(format!("Node uninstall failed: {e}"), Vec::new()),
                    progress,
                );
            }
        }
    }
    r.result = Some("uninstalled".into());
    r.message = Some(if purge {
        "Node service uninstalled; node identity, approvals and state removed.".into()
    } else {
        format!(
            "Node service uninstalled. Node identity and approvals in {} were kept (use --purge to remove them).",
            state_dir.display()
        )
    });
    r.service = Some(summary(b, b.is_loaded()));
    Outcome::done(r, progress)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_is_reported_as_unsupported() {
        let (msg, hints) = unsupported_platform("windows");
        assert!(msg.contains("Windows"));
        assert!(msg.contains("not supported yet"));
        assert!(hints[0].contains("openclaw-node run"));
    }
}
