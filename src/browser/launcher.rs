//! Finding and launching a local Chromium/Chrome for the built-in backend.
//!
//! - Executable: `browser.executablePath`, else the first of `chromium`, `chromium-browser`,
//!   `google-chrome-stable`, `google-chrome`, `chrome` on `PATH` (plus a few fixed locations).
//! - Profile: a managed `--user-data-dir` at `<state>/browser/<profile>/user-data`.
//! - CDP port: the first free port of 18800–18899 (as the official host), chosen under a
//!   cross-process lock file so two node hosts (or parallel tests) never pick the same one; the
//!   bound port and browser WebSocket URL are then read from Chromium's own announcement
//!   (`DevTools listening on ws://…` on stderr, or the `DevToolsActivePort` file).
//! - Process: its own process group (`setpgid`), killed as a group (TERM, then KILL) on stop,
//!   on shutdown and when the handle is dropped; started through `setpriv --pdeathsig SIGKILL`
//!   when available so it also dies when the node is killed outright; a browser left behind on
//!   the same profile by an earlier run is killed before the next launch.
//! - Root: Chromium refuses to start its sandbox as root, so as root we pass `--no-sandbox` and
//!   say so in the log and in `GET /` (`sandbox` field). Run openclaw-node as an unprivileged
//!   user to keep Chromium's own sandbox.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// First port of the managed CDP port range (as upstream).
pub const CDP_PORT_START: u16 = 18800;
/// Last port of the managed CDP port range.
pub const CDP_PORT_END: u16 = 18899;

/// What running as root means for Chromium, shown in `GET /` and the log.
pub const ROOT_SANDBOX_NOTE: &str = "openclaw-node runs as root, so Chromium was started with \
--no-sandbox (Chromium refuses to run its own sandbox as root): page content is NOT isolated by \
Chromium's renderer sandbox. To keep it, run openclaw-node as an unprivileged user (e.g. \
`useradd -m openclaw && su - openclaw -c 'openclaw-node run …'`, or install the service for that \
user); set browser.noSandbox=false in openclaw.json to refuse to start as root instead.";

/// Errors launching the browser. Messages say what to do.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error(
        "no Chromium/Chrome found (looked for {searched}); install one (Debian: `apt-get install chromium`) or set browser.executablePath in openclaw.json"
    )]
    NotFound { searched: String },
    #[error("browser.executablePath {0} does not exist or is not executable")]
    BadExecutable(PathBuf),
    #[error("cannot prepare {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no free CDP port in {CDP_PORT_START}-{CDP_PORT_END}")]
    NoPort,
    #[error("{exe} exited during startup ({status}); last output: {log}")]
    Exited {
        exe: String,
        status: String,
        log: String,
    },
    #[error("{exe} did not open its DevTools port within {ms}ms; last output: {log}")]
    Startup { exe: String, ms: u64, log: String },
}

/// Where the browser was found and how.
#[derive(Debug, Clone)]
pub struct Detected {
    pub path: PathBuf,
    /// `chromium`, `chrome`, … (the file name).
    pub name: String,
}

/// Find a browser executable: explicit path first, then well-known names.
pub fn detect(executable: Option<&str>) -> Result<Detected, LaunchError> {
    if let Some(p) = executable.filter(|p| !p.trim().is_empty()) {
        let path = PathBuf::from(p.trim());
        if is_executable(&path) {
            return Ok(Detected {
                name: browser_name(&path),
                path,
            });
        }
        return Err(LaunchError::BadExecutable(path));
    }
    const NAMES: [&str; 5] = [
        "chromium",
        "chromium-browser",
        "google-chrome-stable",
        "google-chrome",
        "chrome",
    ];
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    for name in NAMES {
        for dir in std::env::split_paths(&path_var) {
            let cand = dir.join(name);
            if is_executable(&cand) {
                return Ok(Detected {
                    path: cand,
                    name: browser_name(&PathBuf::from(name)),
                });
            }
        }
    }
    for fixed in [
        "/usr/bin/chromium",
        "/snap/bin/chromium",
        "/opt/google/chrome/chrome",
    ] {
        let cand = PathBuf::from(fixed);
        if is_executable(&cand) {
            return Ok(Detected {
                name: browser_name(&cand),
                path: cand,
            });
        }
    }
    Err(LaunchError::NotFound {
        searched: format!("browser.executablePath, PATH ({})", NAMES.join(", ")),
    })
}

fn browser_name(path: &Path) -> String {
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().to_string())
        .unwrap_or_default();
    if file.contains("chromium") {
        "chromium".to_string()
    } else if file.contains("chrome") {
        "chrome".to_string()
    } else {
        file
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Whether this process runs with effective uid 0.
pub fn running_as_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Launch settings for one managed profile.
#[derive(Debug, Clone)]
pub struct LaunchSpec {
    pub detected: Detected,
    pub headless: bool,
    pub no_sandbox: bool,
    pub user_data_dir: PathBuf,
    /// Fixed CDP port (`browser.profiles.<name>.cdpPort`), else the managed range.
    pub cdp_port: Option<u16>,
    pub startup_timeout: Duration,
}

/// A running browser process (its own process group).
#[derive(Debug)]
pub struct BrowserProcess {
    child: Option<tokio::process::Child>,
    pub pid: u32,
    pub port: u16,
    pub ws_url: String,
    pub log_path: PathBuf,
}

impl BrowserProcess {
    /// Launch and wait until the DevTools endpoint is announced.
    pub async fn launch(spec: &LaunchSpec) -> Result<Self, LaunchError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| LaunchError::Io { path, source }
        };
        std::fs::create_dir_all(&spec.user_data_dir).map_err(io(&spec.user_data_dir))?;
        let active_port_file = spec.user_data_dir.join("DevToolsActivePort");
        match std::fs::remove_file(&active_port_file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&active_port_file)(e)),
        }
        // Stale singleton locks from a killed run make Chromium hand over to a dead instance.
        for f in ["SingletonLock", "SingletonSocket", "SingletonCookie"] {
            let _ = std::fs::remove_file(spec.user_data_dir.join(f));
        }
        let log_path = spec
            .user_data_dir
            .parent()
            .unwrap_or(&spec.user_data_dir)
            .join("chromium.log");
        let log = std::fs::File::create(&log_path).map_err(io(&log_path))?;
        let log_err = log.try_clone().map_err(io(&log_path))?;

        let _port_lock = PortLock::acquire().await;
        let port = match spec.cdp_port {
            Some(p) => p,
            None => pick_port().ok_or(LaunchError::NoPort)?,
        };
        kill_stale_instance(&spec.user_data_dir);
        // `setpriv --pdeathsig SIGKILL` (util-linux) makes the kernel kill Chromium when the
        // node dies, even by SIGKILL; without setpriv the process group is still killed on
        // stop/shutdown/drop and a stale instance is cleaned up on the next launch.
        let mut cmd = match find_setpriv() {
            Some(setpriv) => {
                let mut c = tokio::process::Command::new(setpriv);
                c.args(["--pdeathsig", "SIGKILL", "--"])
                    .arg(&spec.detected.path);
                c
            }
            None => tokio::process::Command::new(&spec.detected.path),
        };
        cmd.args(chromium_args(spec, port))
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .process_group(0)
            .kill_on_drop(true);
        let child = cmd.spawn().map_err(io(&spec.detected.path))?;
        let pid = child.id().unwrap_or(0);
        let _ = std::fs::write(pid_file(&spec.user_data_dir), pid.to_string());
        let mut proc = Self {
            child: Some(child),
            pid,
            port,
            ws_url: String::new(),
            log_path,
        };
        let exe = spec.detected.path.display().to_string();
        let started = Instant::now();
        loop {
            // Chromium prints `DevTools listening on ws://…` on stderr; `DevToolsActivePort`
            // is only written for some port modes, so both are read.
            if let Some(ws) = std::fs::read_to_string(&proc.log_path)
                .ok()
                .and_then(|log| devtools_url_from_log(&log))
                && let Some(p) = ws
                    .strip_prefix("ws://127.0.0.1:")
                    .and_then(|rest| rest.split('/').next())
                    .and_then(|p| p.parse::<u16>().ok())
            {
                proc.port = p;
                proc.ws_url = ws;
                return Ok(proc);
            }
            if let Ok(text) = std::fs::read_to_string(&active_port_file) {
                let mut lines = text.lines();
                if let (Some(p), Some(path)) = (lines.next(), lines.next())
                    && let Ok(p) = p.trim().parse::<u16>()
                {
                    proc.port = p;
                    proc.ws_url = format!("ws://127.0.0.1:{p}{}", path.trim());
                    return Ok(proc);
                }
            }
            if let Some(child) = proc.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                let log = proc.log_tail();
                proc.child = None;
                return Err(LaunchError::Exited {
                    exe,
                    status: status.to_string(),
                    log,
                });
            }
            if started.elapsed() > spec.startup_timeout {
                let log = proc.log_tail();
                proc.kill_now();
                return Err(LaunchError::Startup {
                    exe,
                    ms: u64::try_from(spec.startup_timeout.as_millis()).unwrap_or(u64::MAX),
                    log,
                });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Last lines of the browser's output (for error messages).
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let start = lines.len().saturating_sub(5);
        let tail = lines[start..].join(" | ");
        if tail.is_empty() {
            "(none)".to_string()
        } else {
            tail
        }
    }

    /// Whether the main process is still running.
    pub fn is_alive(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Terminate the whole process group: TERM, up to `grace` for the main process, then KILL.
    pub async fn terminate(&mut self, grace: Duration) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pgid = Pid::from_raw(i32::try_from(self.pid).unwrap_or(0));
        if pgid.as_raw() > 0 {
            let _ = killpg(pgid, Signal::SIGTERM);
        }
        if tokio::time::timeout(grace, child.wait()).await.is_err() {
            let _ = child.start_kill();
        }
        if pgid.as_raw() > 0 {
            // Helpers (zygote, GPU, renderers) share the group; make sure none survives.
            let _ = killpg(pgid, Signal::SIGKILL);
        }
        let _ = tokio::time::timeout(Duration::from_secs(2), child.wait()).await;
    }

    fn kill_now(&mut self) {
        if self.child.take().is_some() && self.pid > 0 {
            let _ = killpg(
                Pid::from_raw(i32::try_from(self.pid).unwrap_or(0)),
                Signal::SIGKILL,
            );
        }
    }
}

impl Drop for BrowserProcess {
    fn drop(&mut self) {
        self.kill_now();
    }
}

fn chromium_args(spec: &LaunchSpec, port: u16) -> Vec<String> {
    let mut args = vec![
        format!("--remote-debugging-port={port}"),
        "--remote-debugging-address=127.0.0.1".to_string(),
        format!("--user-data-dir={}", spec.user_data_dir.display()),
        "--no-first-run".to_string(),
        "--no-default-browser-check".to_string(),
        "--disable-background-networking".to_string(),
        "--disable-component-update".to_string(),
        "--disable-sync".to_string(),
        // No crashpad handler: it runs in its own session and would escape the group kill.
        "--disable-breakpad".to_string(),
        "--disable-crash-reporter".to_string(),
        "--disable-quic".to_string(),
        "--disable-gpu".to_string(),
        "--disable-dev-shm-usage".to_string(),
        "--disable-features=Translate,MediaRouter,OptimizationHints".to_string(),
        "--password-store=basic".to_string(),
        "--use-mock-keychain".to_string(),
        "--hide-scrollbars".to_string(),
        "--mute-audio".to_string(),
        "--window-size=1280,800".to_string(),
    ];
    if spec.headless {
        args.push("--headless=new".to_string());
    }
    if spec.no_sandbox {
        args.push("--no-sandbox".to_string());
    }
    args.push("about:blank".to_string());
    args
}

/// The browser WebSocket URL from Chromium's `DevTools listening on ws://…` line.
pub fn devtools_url_from_log(log: &str) -> Option<String> {
    log.lines().rev().find_map(|l| {
        let rest = l.split("DevTools listening on ").nth(1)?;
        let url = rest.split_whitespace().next()?;
        url.starts_with("ws://").then(|| url.to_string())
    })
}

fn find_setpriv() -> Option<PathBuf> {
    ["/usr/bin/setpriv", "/bin/setpriv"]
        .iter()
        .map(PathBuf::from)
        .find(|p| is_executable(p))
}

fn pid_file(user_data_dir: &Path) -> PathBuf {
    user_data_dir
        .parent()
        .unwrap_or(user_data_dir)
        .join("chromium.pid")
}

/// Kill a browser left running on this profile by a previous node process (e.g. one killed
/// with SIGKILL where setpriv was unavailable): two instances on one profile corrupt it.
fn kill_stale_instance(user_data_dir: &Path) {
    let Ok(text) = std::fs::read_to_string(pid_file(user_data_dir)) else {
        return;
    };
    let Ok(pid) = text.trim().parse::<i32>() else {
        return;
    };
    if pid <= 1 {
        return;
    }
    let needle = format!("--user-data-dir={}", user_data_dir.display());
    let ours = std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| c.split(|b| *b == 0).any(|arg| arg == needle.as_bytes()))
        .unwrap_or(false);
    if ours {
        tracing::warn!(
            pid,
            "killing a stale browser left on this profile by a previous run"
        );
        let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
        let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = std::fs::remove_file(pid_file(user_data_dir));
}

fn pick_port() -> Option<u16> {
    (CDP_PORT_START..=CDP_PORT_END).find(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok())
}

/// Serialises port selection + launch across processes (`<tmp>/openclaw-node-cdp-port.lock`),
/// so two launches never probe the same free port at once. Best effort: without the lock file
/// we still launch.
struct PortLock {
    _lock: Option<nix::fcntl::Flock<std::fs::File>>,
}

impl PortLock {
    async fn acquire() -> Self {
        let path = std::env::temp_dir().join("openclaw-node-cdp-port.lock");
        let Ok(file) = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
        else {
            return Self { _lock: None };
        };
        let lock = tokio::task::spawn_blocking(move || {
            nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive).ok()
        })
        .await
        .ok()
        .flatten();
        Self { _lock: lock }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devtools_url_is_read_from_chromium_output() {
        let log = "[1:1:ERROR:dbus] noise\n\nDevTools listening on ws://127.0.0.1:18800/devtools/browser/abc-1\n";
        assert_eq!(
            devtools_url_from_log(log).as_deref(),
            Some("ws://127.0.0.1:18800/devtools/browser/abc-1")
        );
        assert_eq!(devtools_url_from_log("nothing here"), None);
    }

    #[test]
    fn detect_rejects_a_missing_explicit_executable() {
        let err = detect(Some("/nonexistent/chrome")).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/chrome"), "{err}");
    }
}
