//! [`Backend`] for Linux: a systemd **user** unit in `$XDG_CONFIG_HOME/systemd/user` (or
//! `~/.config/systemd/user`) driven with `systemctl --user`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::ctl::{Systemctl, current_user, linger_enabled, linger_warning};
use super::unit::{UnitSpec, parse_unit, render_unit};
use crate::gateway::state::{ensure_dir, write_atomic};
use crate::service::envelope::{CommandInfo, RuntimeInfo};
use crate::service::ops::{Backend, StepError};
use crate::service::plan::InstallPlan;
use crate::service::status::command_info;
use crate::service::{ServiceError, envfile, fsutil};

/// The systemd user-unit backend.
#[derive(Debug, Clone)]
pub struct SystemdBackend {
    pub unit: String,
    pub unit_dir: PathBuf,
    pub version: String,
    systemctl: Systemctl,
}

impl SystemdBackend {
    pub fn new(unit: String, unit_dir: PathBuf, version: String) -> Self {
        Self {
            unit,
            unit_dir,
            version,
            systemctl: Systemctl::new(),
        }
    }

    fn run(&self, action: &str, args: &[&str]) -> Result<(), StepError> {
        match self.systemctl.user(args) {
            Ok(o) if o.success => Ok(()),
            Ok(o) => Err(StepError::new(
                format!("systemctl {action} failed: {}", o.detail()),
                Vec::new(),
            )),
            Err(e) => Err(StepError::new(
                format!("systemctl {action} failed: {e}"),
                Vec::new(),
            )),
        }
    }

    /// `systemctl --user <action> <unit>`, retried once after a daemon-reload when systemd says
    /// the unit does not exist (a reload race).
    fn unit_action(&self, action: &str) -> Result<(), StepError> {
        match self.run(action, &[action, &self.unit]) {
            Err(e) if e.error.contains("not found") || e.error.contains("does not exist") => {
                self.run("daemon-reload", &["daemon-reload"])?;
                self.run(action, &[action, &self.unit])
            }
            other => other,
        }
    }
}

impl Backend for SystemdBackend {
    fn label(&self) -> &'static str {
        "systemd"
    }
    fn loaded_text(&self) -> &'static str {
        "enabled"
    }
    fn not_loaded_text(&self) -> &'static str {
        "disabled"
    }
    fn name(&self) -> String {
        self.unit.clone()
    }
    fn unit_path(&self) -> PathBuf {
        self.unit_dir.join(&self.unit)
    }

    fn probe(&self) -> Result<(), StepError> {
        self.systemctl.probe().map_err(StepError::from)
    }

    fn is_loaded(&self) -> bool {
        self.systemctl.is_enabled(&self.unit).0
    }

    fn runtime(&self) -> RuntimeInfo {
        let m = match self.systemctl.show(&self.unit) {
            Ok(m) => m,
            Err(detail) => {
                return RuntimeInfo {
                    status: "unknown".into(),
                    detail: Some(detail),
                    ..RuntimeInfo::default()
                };
            }
        };
        let get = |k: &str| m.get(k).filter(|v| !v.is_empty()).cloned();
        let active = get("ActiveState");
        let status = match active.as_deref() {
            Some("active" | "reloading" | "deactivating") => "running",
            Some("inactive" | "failed" | "activating") => "stopped",
            _ => "unknown",
        };
        let started = get("ExecMainStartTimestamp");
        RuntimeInfo {
            status: status.into(),
            sub_state: get("SubState"),
            pid: get("MainPID")
                .and_then(|p| p.parse::<u32>().ok())
                .filter(|p| *p > 0),
            since: started.filter(|s| s != "n/a"),
            last_exit_status: get("ExecMainStatus").and_then(|s| s.parse().ok()),
            last_exit_reason: get("Result"),
            restarts: get("NRestarts").and_then(|s| s.parse().ok()),
            missing_unit: (get("LoadState").as_deref() == Some("not-found")).then_some(true),
            state: active,
            detail: None,
        }
    }

    fn read_command(&self) -> Option<CommandInfo> {
        let path = self.unit_path();
        let text = fsutil::read_optional(&path).ok().flatten()?;
        let parsed = parse_unit(&text);
        let env_file = parsed.environment_files.first().map(PathBuf::from);
        Some(command_info(
            parsed.exec_start.unwrap_or_default(),
            parsed.environment,
            env_file.as_deref(),
            parsed.working_directory,
            &path,
        ))
    }

    fn write_and_start(
        &self,
        plan: &InstallPlan,
        env_file: &Path,
        progress: &mut Vec<String>,
    ) -> Result<(), StepError> {
        let unit_text = render_unit(&UnitSpec {
            description: format!("OpenClaw Node Host (openclaw-node v{})", self.version),
            exec_start: plan.argv.clone(),
            environment: plan.environment.clone(),
            environment_file: Some(env_file.to_path_buf()),
            working_directory: None,
        })?;
        // Secrets first: the unit must never start without its environment file in place.
        let existing = fsutil::read_optional(env_file)?;
        let env_text = envfile::merge(existing.as_deref(), &plan.secrets)?;
        write_atomic(env_file, env_text.as_bytes(), 0o600)?;
        let keys = envfile::keys(&env_text);
        progress.push(format!(
            "Environment file: {} (mode 0600; {})",
            env_file.display(),
            if keys.is_empty() {
                "no variables".to_string()
            } else {
                keys.join(", ")
            }
        ));

        ensure_dir(&self.unit_dir, 0o755)?;
        let path = self.unit_path();
        if path.exists() {
            let bak = PathBuf::from(format!("{}.bak", path.display()));
            std::fs::copy(&path, &bak).map_err(|source| ServiceError::Write {
                path: bak.clone(),
                source,
            })?;
            std::fs::set_permissions(&bak, std::fs::Permissions::from_mode(0o644)).map_err(
                |source| ServiceError::Write {
                    path: bak.clone(),
                    source,
                },
            )?;
            progress.push(format!("Previous unit backed up to: {}", bak.display()));
        }
        write_atomic(&path, unit_text.as_bytes(), 0o644)?;
        progress.push(format!("Installed systemd service: {}", path.display()));

        self.run("daemon-reload", &["daemon-reload"])?;
        self.unit_action("enable")?;
        self.unit_action("restart")?;
        progress.push(format!("Started systemd service: {}", self.unit));
        Ok(())
    }

    fn stop(&self, progress: &mut Vec<String>) -> Result<(), StepError> {
        self.run("stop", &["stop", &self.unit])
            .map_err(|e| StepError::new(e.error, self.log_hints()))?;
        progress.push(format!("Stopped systemd service: {}", self.unit));
        Ok(())
    }

    fn restart(&self, progress: &mut Vec<String>) -> Result<(), StepError> {
        self.unit_action("restart")?;
        progress.push(format!("Restarted systemd service: {}", self.unit));
        Ok(())
    }

    fn remove(&self, progress: &mut Vec<String>) -> Result<(), StepError> {
        let path = self.unit_path();
        let exists = path.exists();
        if exists || self.is_loaded() {
            match self.run("disable", &["disable", "--now", &self.unit]) {
                Ok(()) => progress.push(format!("Stopped and disabled: {}", self.unit)),
                Err(e) if !exists && e.error.contains("does not exist") => {}
                Err(e) => return Err(e),
            }
        }
        if fsutil::remove_if_exists(&path)? {
            progress.push(format!("Removed systemd service: {}", path.display()));
        } else {
            progress.push(format!("Systemd service not found at {}", path.display()));
        }
        let bak = PathBuf::from(format!("{}.bak", path.display()));
        if fsutil::remove_if_exists(&bak)? {
            progress.push(format!("Removed {}", bak.display()));
        }
        self.run("daemon-reload", &["daemon-reload"])?;
        // Forget a failed state so `systemctl --user list-units` is clean; harmless if none.
        let _ = self.systemctl.user(&["reset-failed", &self.unit]);
        Ok(())
    }

    fn environment_warnings(&self) -> Vec<String> {
        let user = current_user();
        match linger_enabled(&user) {
            Some(false) => vec![linger_warning(&user)],
            _ => Vec::new(),
        }
    }

    fn start_hints(&self) -> Vec<String> {
        vec![
            "openclaw-node install".into(),
            format!("systemctl --user start {}", self.unit),
        ]
    }

    fn log_hints(&self) -> Vec<String> {
        vec![format!(
            "journalctl --user -u {} -n 200 --no-pager",
            self.unit
        )]
    }
}
