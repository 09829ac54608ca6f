//! Service management: the systemd user unit (Linux) and LaunchAgent plist (macOS) that run
//! `openclaw-node run` in the background, and `install`/`status`/`stop`/`restart`/`uninstall`.
//!
//! Layout:
//! - [`systemd`] (Linux) and [`launchd`] (macOS): one folder per platform, the same roles under
//!   the same file names: the service file format, rendered and read back, pure
//!   ([`systemd::unit`], [`launchd::plist`]: named after the format, the one difference); the
//!   driver of the manager's command-line tool ([`systemd::ctl`]: `systemctl --user` and the
//!   diagnosis of an unreachable user manager; [`launchd::ctl`]: `launchctl`); and the
//!   [`ops::Backend`] built on the two ([`systemd::backend`], [`launchd::backend`]). The plist is
//!   built and tested everywhere; the launchd driver and backend are used on macOS only.
//! - [`envfile`]: the 0600 `EnvironmentFile` that holds secrets (never inline in the unit).
//! - [`node_json`]: read-modify-write of `<state>/node.json` preserving unknown fields.
//! - `<state>/node-host-status.json` (written by the running host, read by `status`) is
//!   [`crate::gateway::status`].
//! - [`plan`]: what to install (argv, environment, secrets, warnings) from flags and saved state.
//! - [`envelope`]: the `--json` output shapes (`status` and the action envelope).
//! - [`fsutil`]: tolerant reads and removals of service files.
//! - [`ops`]: the platform [`ops::Backend`] trait and `install`/`stop`/`restart`/`uninstall`
//!   over it.
//! - [`status`]: the `status` command over the same trait: gathering, binary drift, the
//!   installed command as read back from the service file, and the human-readable text.

use std::path::{Path, PathBuf};

pub mod envelope;
pub mod envfile;
pub mod fsutil;
pub mod launchd;
pub mod node_json;
pub mod ops;
pub mod plan;
pub mod status;
pub mod systemd;

/// Default systemd unit name (without `.service`), shared with the official CLI.
pub const DEFAULT_UNIT_NAME: &str = "openclaw-node";
/// LaunchAgent label, shared with the official CLI.
pub const LAUNCHD_LABEL: &str = "ai.openclaw.node";
/// Name of the secrets environment file inside the state directory (systemd).
pub const ENV_FILE_NAME: &str = "node.systemd.env";
/// Name of the secrets environment file on macOS (sourced by the LaunchAgent wrapper).
pub const LAUNCHD_ENV_FILE_NAME: &str = "node.launchd.env";
/// Exit status the node uses for configuration errors; the unit does not restart on it.
pub const EXIT_CONFIG: u8 = 78;

/// Errors of service management. Every message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot remove {path}: {source}")]
    Remove {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not valid JSON ({message}); fix or remove it and retry")]
    CorruptJson { path: PathBuf, message: String },
    #[error("{what} contains a line break or control character; service files cannot carry it")]
    ControlCharacter { what: String },
    #[error("invalid environment variable name {0:?}")]
    InvalidEnvName(String),
    #[error("{0}")]
    Invalid(String),
}

impl From<crate::gateway::state::StateError> for ServiceError {
    fn from(e: crate::gateway::state::StateError) -> Self {
        use crate::gateway::state::StateError;
        match e {
            StateError::Write { path, source } => Self::Write { path, source },
            StateError::Read { path, source } => Self::Read { path, source },
            other @ StateError::Corrupt { .. } => Self::Invalid(other.to_string()),
        }
    }
}

/// The systemd unit name: `$OPENCLAW_SYSTEMD_UNIT` (validated) or `openclaw-node`, with the
/// `.service` suffix.
pub fn unit_name() -> String {
    let base = std::env::var("OPENCLAW_SYSTEMD_UNIT")
        .ok()
        .map(|v| v.trim().trim_end_matches(".service").to_string())
        .filter(|v| valid_unit_base(v))
        .unwrap_or_else(|| DEFAULT_UNIT_NAME.to_string());
    format!("{base}.service")
}

fn valid_unit_base(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 200
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '.' | '-' | '@'))
}

/// The directory holding systemd user units: `$XDG_CONFIG_HOME/systemd/user`, else
/// `~/.config/systemd/user`.
pub fn systemd_user_dir() -> Result<PathBuf, ServiceError> {
    if let Some(x) = std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        let p = PathBuf::from(x);
        if p.is_absolute() {
            return Ok(p.join("systemd").join("user"));
        }
    }
    Ok(home_dir()?.join(".config").join("systemd").join("user"))
}

/// `$HOME`, required for service management.
pub fn home_dir() -> Result<PathBuf, ServiceError> {
    std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .ok_or_else(|| {
            ServiceError::Invalid("HOME is not set; set HOME to your home directory".to_string())
        })
}

/// The state directory made absolute (the service may run with another working directory).
pub fn absolute_state_dir() -> Result<PathBuf, ServiceError> {
    let dir = crate::config::state_dir().map_err(|e| ServiceError::Invalid(e.to_string()))?;
    std::path::absolute(&dir).map_err(|source| ServiceError::Read { path: dir, source })
}

/// Path of the secrets environment file for a state directory.
pub fn env_file_path(state: &Path) -> PathBuf {
    if cfg!(target_os = "macos") {
        state.join(LAUNCHD_ENV_FILE_NAME)
    } else {
        state.join(ENV_FILE_NAME)
    }
}

/// Reject line breaks and other control characters in a value headed for a service file.
pub fn check_no_control(what: &str, value: &str) -> Result<(), ServiceError> {
    if value.chars().any(|c| c.is_control()) {
        return Err(ServiceError::ControlCharacter {
            what: what.to_string(),
        });
    }
    Ok(())
}

/// Whether `name` is a portable environment variable name.
pub fn valid_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Format unix milliseconds as an RFC 3339 UTC timestamp (`2026-11-25T10:00:00Z`); times before
/// 1970 clamp to the epoch.
pub fn format_unix_ms(ms: i64) -> String {
    let ms = u64::try_from(ms).unwrap_or(0);
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
    humantime::format_rfc3339_seconds(t).to_string()
}

/// Whether a process with this pid exists (signal 0).
pub fn pid_alive(pid: u32) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    if raw <= 0 {
        return false;
    }
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(raw), None) {
        Ok(()) => true,
        Err(e) => e == nix::errno::Errno::EPERM,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_writer_errors_keep_the_service_wording() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, "x").unwrap();
        let e = crate::gateway::state::write_atomic(&file.join("f"), b"", 0o600).unwrap_err();
        let msg = ServiceError::from(e).to_string();
        assert!(msg.starts_with("cannot write "), "{msg}");
        assert!(msg.contains("file"), "{msg}");
    }

    #[test]
    fn own_pid_is_alive() {
        assert!(pid_alive(std::process::id()));
        assert!(!pid_alive(0));
    }

    #[test]
    fn formats_unix_ms_as_rfc3339() {
        assert_eq!(format_unix_ms(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_unix_ms(1_737_264_000_000), "2025-01-19T05:20:00Z");
        assert_eq!(format_unix_ms(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(format_unix_ms(1_795_607_999_999), "2026-11-25T11:59:59Z");
    }

    #[test]
    fn env_names() {
        assert!(valid_env_name("OPENCLAW_GATEWAY_TOKEN"));
        assert!(valid_env_name("_x1"));
        assert!(!valid_env_name("1X"));
        assert!(!valid_env_name("A-B"));
        assert!(!valid_env_name(""));
    }

    #[test]
    fn control_characters_are_rejected() {
        assert!(check_no_control("x", "a b").is_ok());
        assert!(check_no_control("x", "a\nb").is_err());
        assert!(check_no_control("x", "a\rb").is_err());
        assert!(check_no_control("x", "a\tb").is_err());
    }
}
