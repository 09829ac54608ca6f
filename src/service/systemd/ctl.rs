//! `systemctl --user` driver, `loginctl` linger probe, and the diagnosis of an unreachable user
//! manager (complaints 12 and 13: no user bus, `XDG_RUNTIME_DIR` unset, root without a user
//! manager, linger off) with the exact commands that fix it.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::process::Command;

/// Output of one `systemctl` call.
#[derive(Debug, Clone)]
pub struct Output {
    pub success: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// stderr, else stdout, trimmed (what to show the user).
    pub fn detail(&self) -> String {
        let e = self.stderr.trim();
        if e.is_empty() {
            self.stdout.trim().to_string()
        } else {
            e.to_string()
        }
    }
}

/// Why the user manager cannot be used, with hints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable {
    pub error: String,
    pub hints: Vec<String>,
}

/// The `systemctl` program (found on `PATH`).
#[derive(Debug, Clone)]
pub struct Systemctl {
    program: OsString,
}

impl Default for Systemctl {
    fn default() -> Self {
        Self::new()
    }
}

impl Systemctl {
    pub fn new() -> Self {
        Self {
            program: OsString::from("systemctl"),
        }
    }

    /// Run `systemctl --user <args>`. `Err` only when the program cannot be started.
    pub fn user(&self, args: &[&str]) -> Result<Output, std::io::Error> {
        let o = Command::new(&self.program)
            .arg("--user")
            .args(args)
            .env("SYSTEMD_PAGER", "")
            .env("SYSTEMD_COLORS", "0")
            .output()?;
        Ok(Output {
            success: o.status.success(),
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        })
    }

    /// Check that the user manager answers. On failure, explain why and how to fix it.
    pub fn probe(&self) -> Result<(), Unavailable> {
        match self.user(&["show", "--property=Version"]) {
            Ok(o) if o.success => Ok(()),
            Ok(o) => Err(diagnose(&o.detail(), &EnvFacts::gather())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(not_installed()),
            Err(e) => Err(Unavailable {
                error: format!("systemctl --user unavailable: cannot run systemctl: {e}"),
                hints: foreground_hints(),
            }),
        }
    }

    /// `systemctl --user show <unit> --property=…` as a map.
    pub fn show(&self, unit: &str) -> Result<BTreeMap<String, String>, String> {
        let o = self
            .user(&[
                "show",
                unit,
                "--property=LoadState,ActiveState,SubState,MainPID,ExecMainStartTimestamp,ExecMainStatus,ExecMainCode,UnitFileState,NRestarts,Result",
            ])
            .map_err(|e| format!("cannot run systemctl: {e}"))?;
        if !o.success {
            return Err(o.detail());
        }
        Ok(parse_show(&o.stdout))
    }

    /// `systemctl --user is-enabled <unit>` succeeded, plus its one-word output.
    pub fn is_enabled(&self, unit: &str) -> (bool, String) {
        match self.user(&["is-enabled", unit]) {
            Ok(o) => (o.success, o.stdout.trim().to_string()),
            Err(_) => (false, String::new()),
        }
    }
}

/// Parse `KEY=VALUE` lines.
pub fn parse_show(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// Facts about the environment used to explain a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvFacts {
    pub uid: u32,
    pub user: String,
    pub xdg_runtime_dir: Option<String>,
    /// `/run/user/<uid>` exists.
    pub runtime_dir_exists: bool,
    /// `$XDG_RUNTIME_DIR/bus` exists.
    pub bus_socket_exists: bool,
    /// Lingering enabled for the user, if known.
    pub linger: Option<bool>,
    /// systemd is the init system (`/run/systemd/system` exists).
    pub systemd_booted: bool,
    /// Running under WSL.
    pub wsl: bool,
}

/// The current user's name.
pub fn current_user() -> String {
    let uid = nix::unistd::getuid();
    nix::unistd::User::from_uid(uid)
        .ok()
        .flatten()
        .map(|u| u.name)
        .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| uid.as_raw().to_string())
}

impl EnvFacts {
    pub fn gather() -> Self {
        let uid = nix::unistd::getuid().as_raw();
        let user = current_user();
        let xdg = std::env::var("XDG_RUNTIME_DIR")
            .ok()
            .filter(|v| !v.is_empty());
        let bus = xdg
            .as_ref()
            .is_some_and(|d| std::path::Path::new(d).join("bus").exists());
        Self {
            uid,
            linger: linger_enabled(&user),
            user,
            runtime_dir_exists: std::path::Path::new(&format!("/run/user/{uid}")).is_dir(),
            systemd_booted: std::path::Path::new("/run/systemd/system").is_dir(),
            wsl: std::fs::read_to_string("/proc/version")
                .is_ok_and(|v| v.to_ascii_lowercase().contains("microsoft")),
            bus_socket_exists: bus,
            xdg_runtime_dir: xdg,
        }
    }
}

/// `loginctl show-user <user> --property=Linger --value` → Some(bool), None when unknown.
pub fn linger_enabled(user: &str) -> Option<bool> {
    let o = Command::new("loginctl")
        .args(["show-user", user, "--property=Linger", "--value"])
        .output()
        .ok()?;
    if !o.status.success() {
        // No session and no linger: logind reports the user as not logged in.
        let err = String::from_utf8_lossy(&o.stderr);
        if err.contains("not logged in") || err.contains("No such") {
            return Some(false);
        }
        return None;
    }
    match String::from_utf8_lossy(&o.stdout).trim() {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    }
}

/// The warning shown when lingering is off (complaint 12).
pub fn linger_warning(user: &str) -> String {
    format!(
        "Systemd lingering is disabled for {user}. The node service will stop when you log out. Run: sudo loginctl enable-linger {user}"
    )
}

fn foreground_hints() -> Vec<String> {
    vec![
        "Run the node in the foreground instead: openclaw-node run --host <gateway-host>".into(),
        "Or start `openclaw-node run` from another supervisor (a system unit, a container entrypoint, tmux).".into(),
    ]
}

fn not_installed() -> Unavailable {
    Unavailable {
        error: "systemctl not available; systemd user services are required on Linux for `openclaw-node install`.".into(),
        hints: foreground_hints(),
    }
}

const EXPORT_XDG: &str = "export XDG_RUNTIME_DIR=/run/user/$(id -u)";

/// Explain a failed `systemctl --user` call (pure).
pub fn diagnose(detail: &str, f: &EnvFacts) -> Unavailable {
    let linger = format!("sudo loginctl enable-linger {}", f.user);
    let mut hints = Vec::new();
    if !f.systemd_booted {
        if f.wsl {
            hints.push("WSL: enable systemd by adding `[boot]` / `systemd=true` to /etc/wsl.conf, then run `wsl --shutdown` from Windows and reopen the shell.".into());
        } else {
            hints.push("systemd is not the init system here (container or chroot?): run `openclaw-node run` under the container's own supervisor instead of installing a user service.".into());
        }
    }
    let why;
    match &f.xdg_runtime_dir {
        None => {
            why = "XDG_RUNTIME_DIR is not set, so systemctl cannot reach your user manager (usual after su/sudo, in cron, or in a non-login shell)".to_string();
            if f.runtime_dir_exists {
                hints.push(EXPORT_XDG.to_string());
            } else {
                hints.push(format!(
                    "{linger}   # starts a user manager for {} that survives logout",
                    f.user
                ));
                hints.push(format!("{EXPORT_XDG}   # after the user manager is up"));
            }
        }
        Some(dir) if !f.bus_socket_exists => {
            why = format!(
                "no user manager bus at {dir}/bus (no systemd user instance is running for {})",
                f.user
            );
            if f.linger != Some(true) {
                hints.push(format!(
                    "{linger}   # starts a user manager for {} that survives logout",
                    f.user
                ));
            }
            hints.push(format!("sudo systemctl start user@{}.service", f.uid));
            if dir != &format!("/run/user/{}", f.uid) {
                hints.push(EXPORT_XDG.to_string());
            }
        }
        Some(_) => {
            why = "the user manager did not answer".to_string();
            if f.linger == Some(false) {
                hints.push(linger.clone());
            }
            hints.push(EXPORT_XDG.to_string());
        }
    }
    if f.uid == 0 {
        hints.push(
            "Running as root: root has no user manager unless lingering is enabled for it (sudo loginctl enable-linger root); better, install as the account that should own the node (log in as it over SSH, or `machinectl shell <user>@`).".into(),
        );
    }
    if f.linger == Some(false) && !hints.iter().any(|h| h.starts_with(&linger)) {
        hints.push(format!(
            "{linger}   # lingering is off: the service would stop at logout"
        ));
    }
    hints.push("Then retry; or run `openclaw-node run` in the foreground.".into());
    let detail = detail.trim();
    let mut error = if detail.is_empty() {
        format!("systemctl --user unavailable: {why}.")
    } else {
        format!("systemctl --user unavailable: {why}. systemctl said: {detail}")
    };
    if !f.systemd_booted {
        error.push_str(" Also, systemd is not running as the init system on this machine (no /run/systemd/system), so there is no user manager to start.");
    }
    Unavailable { error, hints }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> EnvFacts {
        EnvFacts {
            uid: 1000,
            user: "dev".into(),
            xdg_runtime_dir: None,
            runtime_dir_exists: true,
            bus_socket_exists: false,
            linger: Some(true),
            systemd_booted: true,
            wsl: false,
        }
    }

    #[test]
    fn complaint_13_xdg_runtime_dir_unset() {
        let u = diagnose("Failed to connect to bus: No medium found", &facts());
        assert!(
            u.error.contains("XDG_RUNTIME_DIR is not set"),
            "{}",
            u.error
        );
        assert!(u.error.contains("No medium found"));
        assert_eq!(u.hints[0], "export XDG_RUNTIME_DIR=/run/user/$(id -u)");
    }

    #[test]
    fn complaint_13_no_runtime_dir_needs_linger() {
        let f = EnvFacts {
            runtime_dir_exists: false,
            linger: Some(false),
            ..facts()
        };
        let u = diagnose("", &f);
        assert!(
            u.hints[0].starts_with("sudo loginctl enable-linger dev"),
            "{:?}",
            u.hints
        );
        assert!(
            u.hints
                .iter()
                .any(|h| h.starts_with("export XDG_RUNTIME_DIR"))
        );
        assert_eq!(
            u.hints
                .iter()
                .filter(|h| h.contains("enable-linger"))
                .count(),
            1
        );
    }

    #[test]
    fn complaint_13_root_without_user_manager() {
        let f = EnvFacts {
            uid: 0,
            user: "root".into(),
            xdg_runtime_dir: Some("/run/user/0".into()),
            runtime_dir_exists: false,
            bus_socket_exists: false,
            linger: Some(false),
            systemd_booted: true,
            wsl: false,
        };
        let u = diagnose("Failed to connect to bus: No such file or directory", &f);
        assert!(
            u.error.contains("no user manager bus at /run/user/0/bus"),
            "{}",
            u.error
        );
        assert!(
            u.hints
                .iter()
                .any(|h| h.starts_with("sudo loginctl enable-linger root"))
        );
        assert!(
            u.hints
                .iter()
                .any(|h| h == "sudo systemctl start user@0.service")
        );
        assert!(u.hints.iter().any(|h| h.starts_with("Running as root")));
    }

    #[test]
    fn complaint_13_no_systemd_init_container_and_wsl() {
        let f = EnvFacts {
            systemd_booted: false,
            ..facts()
        };
        let u = diagnose("System has not been booted with systemd", &f);
        assert!(
            u.error
                .contains("systemd is not running as the init system"),
            "{}",
            u.error
        );
        assert!(u.hints[0].contains("container"), "{:?}", u.hints);
        let f = EnvFacts {
            systemd_booted: false,
            wsl: true,
            ..facts()
        };
        let u = diagnose("", &f);
        assert!(u.hints[0].contains("/etc/wsl.conf"), "{:?}", u.hints);
    }

    #[test]
    fn complaint_12_linger_warning_text() {
        assert_eq!(
            linger_warning("dev"),
            "Systemd lingering is disabled for dev. The node service will stop when you log out. Run: sudo loginctl enable-linger dev"
        );
    }

    #[test]
    fn parses_show_output() {
        let m = parse_show(
            "ActiveState=active\nMainPID=12\nExecMainStartTimestamp=Wed 2026-11-25 10:00:00 UTC\n",
        );
        assert_eq!(m["MainPID"], "12");
        assert_eq!(m["ExecMainStartTimestamp"], "Wed 2026-11-25 10:00:00 UTC");
    }
}
