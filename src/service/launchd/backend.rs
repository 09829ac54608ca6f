//! [`Backend`] for macOS: a LaunchAgent at `~/Library/LaunchAgents/<label>.plist` in the
//! `gui/<uid>` domain, driven with `launchctl`. Compiled everywhere (type-checked on Linux CI),
//! selected only on macOS.

use std::path::{Path, PathBuf};

use super::ctl as launchctl;
use super::plist::{ENV_WRAPPER, PlistSpec, parse_plist, parse_plist_raw_args, render_plist};
use crate::gateway::state::{ensure_dir, write_atomic};
use crate::service::envelope::{CommandInfo, RuntimeInfo};
use crate::service::ops::{Backend, StepError};
use crate::service::plan::InstallPlan;
use crate::service::status::command_info;
use crate::service::{LAUNCHD_LABEL, envfile, fsutil};

/// The LaunchAgent backend.
#[derive(Debug, Clone)]
#[cfg_attr(not(target_os = "macos"), allow(dead_code))]
pub struct LaunchdBackend {
    pub label: String,
    pub agents_dir: PathBuf,
    pub log_dir: PathBuf,
    pub version: String,
}

#[cfg_attr(not(target_os = "macos"), allow(dead_code))]
impl LaunchdBackend {
    pub fn new(home: &Path, state_dir: &Path, version: String) -> Self {
        Self {
            label: LAUNCHD_LABEL.into(),
            agents_dir: home.join("Library").join("LaunchAgents"),
            log_dir: state_dir.join("logs"),
            version,
        }
    }

    fn target(&self) -> String {
        format!("{}/{}", launchctl::domain(), self.label)
    }
}

/// Run a `launchctl` step whose failure stops the command ("launchctl <verb> failed: …").
fn launchctl_step(args: &[&str]) -> Result<(), StepError> {
    launchctl::run(args).map(drop).map_err(|e| {
        let verb = args.first().copied().unwrap_or("launchctl");
        StepError::new(format!("launchctl {verb} failed: {e}"), Vec::new())
    })
}

impl Backend for LaunchdBackend {
    fn label(&self) -> &'static str {
        "LaunchAgent"
    }
    fn loaded_text(&self) -> &'static str {
        "loaded"
    }
    fn not_loaded_text(&self) -> &'static str {
        "not loaded"
    }
    fn name(&self) -> String {
        self.label.clone()
    }
    fn unit_path(&self) -> PathBuf {
        self.agents_dir.join(format!("{}.plist", self.label))
    }
    fn probe(&self) -> Result<(), StepError> {
        Ok(())
    }
    fn is_loaded(&self) -> bool {
        launchctl::run(&["print", &self.target()]).is_ok()
    }
    fn runtime(&self) -> RuntimeInfo {
        match launchctl::run(&["print", &self.target()]) {
            Ok(text) => {
                let (state, pid, last) = launchctl::parse_print(&text);
                RuntimeInfo {
                    status: if state.as_deref() == Some("running") {
                        "running"
                    } else {
                        "stopped"
                    }
                    .into(),
                    state,
                    pid,
                    last_exit_status: last,
                    ..RuntimeInfo::default()
                }
            }
            Err(detail) => RuntimeInfo {
                status: "stopped".into(),
                detail: Some(detail),
                missing_unit: Some(true),
                ..RuntimeInfo::default()
            },
        }
    }
    fn read_command(&self) -> Option<CommandInfo> {
        let path = self.unit_path();
        let text = fsutil::read_optional(&path).ok().flatten()?;
        let (argv, env) = parse_plist(&text);
        let env_file = text
            .contains(ENV_WRAPPER)
            .then(|| parse_plist_raw_args(&text).get(3).map(PathBuf::from))
            .flatten();
        Some(command_info(argv, env, env_file.as_deref(), None, &path))
    }
    fn write_and_start(
        &self,
        plan: &InstallPlan,
        env_file: &Path,
        progress: &mut Vec<String>,
    ) -> Result<(), StepError> {
        let text = render_plist(&PlistSpec {
            label: self.label.clone(),
            comment: format!("OpenClaw Node Host (openclaw-node v{})", self.version),
            program_arguments: plan.argv.clone(),
            environment_file: Some(env_file.to_path_buf()),
            environment: plan.environment.clone(),
            working_directory: None,
            stdout_path: self.log_dir.join("node.log"),
            stderr_path: self.log_dir.join("node.err.log"),
        })?;
        let existing = fsutil::read_optional(env_file)?;
        let env_text = envfile::merge(existing.as_deref(), &plan.secrets)?;
        write_atomic(env_file, env_text.as_bytes(), 0o600)?;
        ensure_dir(&self.log_dir, 0o700)?;
        ensure_dir(&self.agents_dir, 0o755)?;
        let path = self.unit_path();
        write_atomic(&path, text.as_bytes(), 0o644)?;
        progress.push(format!("Installed LaunchAgent: {}", path.display()));
        let _ = launchctl::run(&["bootout", &self.target()]);
        let _ = launchctl::run(&["enable", &self.target()]);
        let p = path.display().to_string();
        launchctl_step(&["bootstrap", &launchctl::domain(), &p])?;
        launchctl_step(&["kickstart", "-k", &self.target()])?;
        progress.push(format!("Started LaunchAgent: {}", self.label));
        Ok(())
    }
    fn stop(&self, progress: &mut Vec<String>) -> Result<(), StepError> {
        launchctl_step(&["bootout", &self.target()])?;
        progress.push(format!("Stopped LaunchAgent: {}", self.label));
        Ok(())
    }
    fn restart(&self, progress: &mut Vec<String>) -> Result<(), StepError> {
        if !self.is_loaded() {
            let p = self.unit_path().display().to_string();
            launchctl_step(&["bootstrap", &launchctl::domain(), &p])?;
        }
        launchctl_step(&["kickstart", "-k", &self.target()])?;
        progress.push(format!("Restarted LaunchAgent: {}", self.label));
        Ok(())
    }
    fn remove(&self, progress: &mut Vec<String>) -> Result<(), StepError> {
        let _ = launchctl::run(&["bootout", &self.target()]);
        let path = self.unit_path();
        if fsutil::remove_if_exists(&path)? {
            progress.push(format!("Removed LaunchAgent: {}", path.display()));
        } else {
            progress.push(format!("LaunchAgent not found at {}", path.display()));
        }
        Ok(())
    }
    fn environment_warnings(&self) -> Vec<String> {
        Vec::new()
    }
    fn start_hints(&self) -> Vec<String> {
        vec![
            "openclaw-node install".into(),
            format!(
                "launchctl bootstrap gui/$UID {}",
                self.unit_path().display()
            ),
        ]
    }
    fn log_hints(&self) -> Vec<String> {
        vec![format!(
            "tail -n 200 {} {}",
            self.log_dir.join("node.log").display(),
            self.log_dir.join("node.err.log").display()
        )]
    }
}
