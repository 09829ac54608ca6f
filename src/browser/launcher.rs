//! Finding and launching a local Chromium/Chrome for the built-in backend.
//!
//! - Executable: `browser.executablePath`, else the first of `chromium`, `chromium-browser`,
//!   `google-chrome-stable`, `google-chrome`, `chrome` on `PATH` (plus a few fixed locations).
//! - Layout of a profile `<state>/browser/<profile>/` (owned by the node, `0700`):
//!   `chromium.log`, `chromium.pid` and `home/` — the browser's whole writable world:
//!   `home/user-data` (`--user-data-dir`), `home/downloads` (its download directory), and what
//!   Chromium keeps under `$HOME`. A profile of an earlier version (`<profile>/user-data`) is
//!   moved into `home/` once.
//! - CDP: `--remote-debugging-pipe` — Chromium reads commands from fd 3 and writes replies and
//!   events to fd 4 (NUL-terminated JSON). There is no TCP listener and no HTTP endpoint: only
//!   the node holds the other ends of the two pipes (close-on-exec on the node's side, so no
//!   run inherits them).
//! - Confinement when the node is root ([`crate::sandbox::browser_child`]): Chromium runs as
//!   the dedicated uid/gid [`BROWSER_UID`] (`home/` is chowned to it), in a private mount
//!   namespace where everything is read-only except `home/`, mounted on `/var/tmp`; it then runs
//!   its own (user-namespace) sandbox. If Chromium reports no usable sandbox (no unprivileged
//!   user namespaces), it is started again with `--no-sandbox`, still as that uid in that
//!   namespace, and `GET /` says so. If the namespace cannot be made (no `CAP_SYS_ADMIN`, e.g.
//!   a default container), Chromium runs as root with `--no-sandbox`, unconfined, as before —
//!   stated in the log and in `GET /` (`sandbox` field).
//! - Environment: cleared, then `PATH`, locale, `TZ`, display variables, `HOME` and `TMPDIR`
//!   (the home above) — the node's secrets (gateway token, …) are not passed to the browser.
//! - Process: its own process group, killed as a group (TERM, then KILL) on stop, on shutdown
//!   and when the handle is dropped; `PR_SET_PDEATHSIG(SIGKILL)` so it also dies when the node
//!   is killed outright; a browser left behind on the same profile by an earlier run is killed
//!   before the next launch.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde_json::json;

use super::cdp::CdpClient;
use crate::sandbox::browser_child::{self, BrowserChild, Confinement};

/// The uid (and gid) Chromium runs as when the node is root. Not 65534 (`nobody`): that is
/// the usual `sandbox.runAs` of sandboxed runs, which must not share a uid with the browser.
pub const BROWSER_UID: u32 = 65533;

/// Environment variable naming the profile's user-data dir in the browser's environment (how
/// a stale instance of this profile is recognised; the `--user-data-dir` argument is
/// `/var/tmp/…` inside the namespace).
pub const PROFILE_ENV: &str = "OPENCLAW_NODE_BROWSER_USER_DATA";

/// Shown in `GET /` and the log when the node is root and the browser could not be confined.
pub const ROOT_SANDBOX_NOTE: &str = "openclaw-node runs as root and could not give Chromium its own mount namespace (no CAP_SYS_ADMIN?), so Chromium runs as root with --no-sandbox: page content is NOT isolated by Chromium's renderer sandbox and the browser can write wherever root can. Run openclaw-node as an unprivileged user, or give it CAP_SYS_ADMIN; set browser.noSandbox=false in openclaw.json to refuse to start unconfined instead.";

/// Shown when a node that is not root runs Chromium with `--no-sandbox` (configured, or no
/// usable sandbox).
pub const NO_SANDBOX_NOTE: &str = "Chromium runs with --no-sandbox (browser.noSandbox=true, or Chromium reported no usable sandbox): page content is not isolated by Chromium's renderer sandbox, and the browser runs as the node's own user.";

/// Shown when Chromium runs confined as [`BROWSER_UID`] but with `--no-sandbox`.
pub const NO_USERNS_NOTE: &str = "Chromium runs with --no-sandbox (browser.noSandbox=true, or \
it reported no usable sandbox: no unprivileged user namespaces): page content is not isolated by \
Chromium's renderer sandbox; the browser still runs as its own uid in a read-only mount \
namespace where only its home directory is writable.";

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
    #[error(
        "browser.noSandbox=false in openclaw.json, but Chromium's own sandbox is not available here: {0}"
    )]
    SandboxRequired(String),
    #[error(
        "{exe} cannot be executed as uid {uid} (the browser's own uid when openclaw-node runs as root): make it and its directories readable and executable by others, or install Chromium system-wide"
    )]
    NotReachable { exe: PathBuf, uid: u32 },
    #[error("{exe} exited during startup ({status}); last output: {log}")]
    Exited {
        exe: String,
        status: String,
        log: String,
    },
    #[error("{exe} did not answer on its DevTools pipe within {ms}ms; last output: {log}")]
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
    /// `browser.noSandbox`: `Some(true)` always passes `--no-sandbox`; `Some(false)` refuses to
    /// start without Chromium's own sandbox; `None` uses it where it works.
    pub no_sandbox: Option<bool>,
    /// `<state>/browser/<profile>`.
    pub profile_dir: PathBuf,
    pub startup_timeout: Duration,
}

impl LaunchSpec {
    /// The browser's home (its only writable directory when confined).
    pub fn home(&self) -> PathBuf {
        self.profile_dir.join("home")
    }
    /// The user-data dir as the host sees it.
    pub fn user_data_dir(&self) -> PathBuf {
        self.home().join("user-data")
    }
    /// The download dir as the host sees it.
    pub fn downloads_dir(&self) -> PathBuf {
        self.home().join("downloads")
    }
}

/// How the running browser is confined (shown in `GET /`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Confined {
    /// The uid Chromium runs as.
    pub uid: u32,
    /// Whether Chromium runs its own sandbox (no `--no-sandbox`).
    pub own_sandbox: bool,
    /// Whether it runs in the read-only mount namespace (only its home writable).
    pub mount_namespace: bool,
}

impl Confined {
    /// The `sandbox` object of `GET /`.
    pub fn status(&self) -> serde_json::Value {
        let note = if self.mount_namespace && !self.own_sandbox {
            Some(NO_USERNS_NOTE)
        } else if !self.mount_namespace && self.uid == 0 {
            Some(ROOT_SANDBOX_NOTE)
        } else if !self.own_sandbox {
            Some(NO_SANDBOX_NOTE)
        } else {
            None
        };
        let mut v = json!({"enabled": self.own_sandbox, "uid": self.uid,
            "mountNamespace": self.mount_namespace, "cdp": "pipe"});
        if let Some(n) = note {
            v["note"] = json!(n);
        }
        v
    }
}

/// A running browser process (its own process group).
#[derive(Debug)]
pub struct BrowserProcess {
    child: Option<tokio::process::Child>,
    pub pid: u32,
    pub log_path: PathBuf,
    pub confined: Confined,
    /// `PROFILE_ENV=<user-data>`: how the browser's processes are found (also those that left
    /// its process group).
    marker: String,
}

/// Where the browser sees its directories.
struct Paths {
    home: String,
    user_data: String,
    downloads: String,
}

impl BrowserProcess {
    /// Launch, connect the CDP pipe and wait until the browser answers `Browser.getVersion`.
    pub async fn launch(spec: &LaunchSpec) -> Result<(Self, Arc<CdpClient>), LaunchError> {
        let root = running_as_root();
        prepare_dirs(spec, root)?;
        let mut own_sandbox = spec.no_sandbox != Some(true);
        let mut mount_namespace = root;
        loop {
            let confined = Confined {
                uid: if mount_namespace {
                    BROWSER_UID
                } else {
                    nix::unistd::geteuid().as_raw()
                },
                // Chromium refuses its own sandbox as root (no namespace: no uid switch).
                own_sandbox: own_sandbox && (mount_namespace || !root),
                mount_namespace,
            };
            if !confined.own_sandbox && spec.no_sandbox == Some(false) {
                return Err(LaunchError::SandboxRequired(
                    confined.status()["note"].as_str().unwrap_or("").to_string(),
                ));
            }
            match Self::launch_once(spec, confined).await {
                Ok(ok) => return Ok(ok),
                // No CAP_SYS_ADMIN (or no mount API): as before, root and --no-sandbox.
                Err(Attempt::Spawn(e))
                    if mount_namespace && browser_child::confinement_refused(&e).is_some() =>
                {
                    let errno = browser_child::confinement_refused(&e).unwrap_or(0);
                    tracing::warn!(
                        error = %std::io::Error::from_raw_os_error(errno),
                        "cannot confine the browser (mount namespace or uid switch refused); starting it unconfined"
                    );
                    mount_namespace = false;
                }
                Err(Attempt::Spawn(e)) => {
                    if mount_namespace && e.kind() == std::io::ErrorKind::PermissionDenied {
                        return Err(LaunchError::NotReachable {
                            exe: spec.detected.path.clone(),
                            uid: BROWSER_UID,
                        });
                    }
                    return Err(io_err(&spec.detected.path, e));
                }
                Err(Attempt::NoUsableSandbox(_)) if confined.own_sandbox => {
                    tracing::warn!("{NO_USERNS_NOTE}");
                    own_sandbox = false;
                }
                Err(Attempt::NoUsableSandbox(e) | Attempt::Failed(e)) => return Err(e),
            }
        }
    }

    async fn launch_once(
        spec: &LaunchSpec,
        confined: Confined,
    ) -> Result<(Self, Arc<CdpClient>), Attempt> {
        let log_path = spec.profile_dir.join("chromium.log");
        let log =
            std::fs::File::create(&log_path).map_err(|e| Attempt::Failed(io_err(&log_path, e)))?;
        let log_err = log
            .try_clone()
            .map_err(|e| Attempt::Failed(io_err(&log_path, e)))?;
        kill_stale_instance(spec);

        let host = Paths {
            home: spec.home().display().to_string(),
            user_data: spec.user_data_dir().display().to_string(),
            downloads: spec.downloads_dir().display().to_string(),
        };
        let inside = if confined.mount_namespace {
            let m = Confinement::MOUNT_POINT;
            Paths {
                home: m.to_string(),
                user_data: format!("{m}/user-data"),
                downloads: format!("{m}/downloads"),
            }
        } else {
            Paths {
                home: host.home.clone(),
                user_data: host.user_data.clone(),
                downloads: host.downloads.clone(),
            }
        };

        // Two pipes, close-on-exec on both sides; the child gets its ends on fds 3 and 4.
        let pipe = |e: nix::Error| Attempt::Spawn(std::io::Error::from(e));
        let (to_browser_r, to_browser_w) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(pipe)?;
        let (from_browser_r, from_browser_w) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(pipe)?;

        let mut cmd = tokio::process::Command::new(&spec.detected.path);
        cmd.args(chromium_args(spec, &inside, confined.own_sandbox))
            .env_clear()
            .envs(browser_env(&inside.home, &host.user_data))
            .current_dir(&spec.profile_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .process_group(0)
            .kill_on_drop(true);
        let confinement = if confined.mount_namespace {
            Some(Confinement::new(&spec.home()).map_err(Attempt::Spawn)?)
        } else {
            None
        };
        browser_child::install(
            &mut cmd,
            BrowserChild {
                fds: vec![(to_browser_r, 3), (from_browser_w, 4)],
                confinement,
                run_as: confined
                    .mount_namespace
                    .then_some((BROWSER_UID, BROWSER_UID)),
            },
        )
        .map_err(Attempt::Spawn)?;
        let spawned = cmd.spawn();
        // The child's ends live in the hook: dropping the command closes them here, so the
        // node sees EOF when the browser exits.
        drop(cmd);
        let child = spawned.map_err(Attempt::Spawn)?;
        let pid = child.id().unwrap_or(0);
        let _ = std::fs::write(spec.profile_dir.join("chromium.pid"), pid.to_string());
        let mut proc = Self {
            child: Some(child),
            pid,
            log_path,
            confined,
            marker: format!("{PROFILE_ENV}={}", host.user_data),
        };
        let exe = spec.detected.path.display().to_string();
        let cdp = CdpClient::connect_pipe(from_browser_r, to_browser_w)
            .map_err(|e| Attempt::Failed(io_err(&spec.detected.path, e)))?;
        let started = Instant::now();
        {
            let ready = cdp.call("Browser.getVersion", json!({}), None, spec.startup_timeout);
            tokio::pin!(ready);
            loop {
                tokio::select! {
                    r = &mut ready => match r {
                        Ok(_) => break,
                        Err(_) => {
                            // Closed pipe: the browser exited (reported below) or never spoke.
                            if let Some(status) = proc.wait_exit(Duration::from_millis(1500)).await {
                                return Err(proc.exited(&exe, status));
                            }
                            let log = proc.log_tail();
                            proc.kill_now();
                            return Err(Attempt::Failed(LaunchError::Startup {
                                exe,
                                ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                                log,
                            }));
                        }
                    },
                    () = tokio::time::sleep(Duration::from_millis(50)) => {
                        if let Some(child) = proc.child.as_mut()
                            && let Ok(Some(status)) = child.try_wait()
                        {
                            return Err(proc.exited(&exe, status));
                        }
                    }
                }
            }
        }
        if let Err(e) = cdp
            .call(
                "Browser.setDownloadBehavior",
                json!({"behavior": "allow", "downloadPath": inside.downloads, "eventsEnabled": false}),
                None,
                Duration::from_secs(5),
            )
            .await
        {
            tracing::debug!(error = %e, "Browser.setDownloadBehavior failed");
        }
        Ok((proc, cdp))
    }

    async fn wait_exit(&mut self, budget: Duration) -> Option<std::process::ExitStatus> {
        let child = self.child.as_mut()?;
        tokio::time::timeout(budget, child.wait()).await.ok()?.ok()
    }

    fn exited(&mut self, exe: &str, status: std::process::ExitStatus) -> Attempt {
        let log = self.log_tail();
        let full = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        self.child = None;
        let err = LaunchError::Exited {
            exe: exe.to_string(),
            status: status.to_string(),
            log,
        };
        if full.contains("No usable sandbox") {
            Attempt::NoUsableSandbox(err)
        } else {
            Attempt::Failed(err)
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
        // Sandboxed helpers die with their namespace's init a moment later; return only when
        // none is left (SIGKILL again any that carries the profile's marker).
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            let left = processes_with_env(&self.marker);
            if left.is_empty() || Instant::now() > deadline {
                break;
            }
            for p in left {
                let _ = nix::sys::signal::kill(Pid::from_raw(p), Signal::SIGKILL);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
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

/// Live (not zombie) processes whose environment holds `entry` (`KEY=value`).
fn processes_with_env(entry: &str) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|st| st.rsplit_once(") ").map(|(_, rest)| rest.starts_with('Z')))
                .unwrap_or(true);
            !zombie
                && std::fs::read(format!("/proc/{pid}/environ"))
                    .map(|env| env.split(|b| *b == 0).any(|kv| kv == entry.as_bytes()))
                    .unwrap_or(false)
        })
        .collect()
}

/// Why one launch attempt failed.
enum Attempt {
    /// The process could not be created (e.g. the namespace was refused).
    Spawn(std::io::Error),
    /// Chromium exited saying it has no usable sandbox.
    NoUsableSandbox(LaunchError),
    Failed(LaunchError),
}

fn io_err(path: &Path, source: std::io::Error) -> LaunchError {
    LaunchError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Create the profile layout; as root, hand `home/` to [`BROWSER_UID`].
fn prepare_dirs(spec: &LaunchSpec, root: bool) -> Result<(), LaunchError> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |e| io_err(&p, e)
    };
    std::fs::create_dir_all(&spec.profile_dir).map_err(io(&spec.profile_dir))?;
    std::fs::set_permissions(&spec.profile_dir, std::fs::Permissions::from_mode(0o700))
        .map_err(io(&spec.profile_dir))?;
    let home = spec.home();
    match std::fs::create_dir(&home) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io(&home)(e)),
    }
    // A profile of an earlier version.
    let legacy = spec.profile_dir.join("user-data");
    if legacy.is_dir() && !spec.user_data_dir().exists() {
        std::fs::rename(&legacy, spec.user_data_dir()).map_err(io(&legacy))?;
    }
    for d in [spec.user_data_dir(), spec.downloads_dir()] {
        match std::fs::create_dir(&d) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io(&d)(e)),
        }
    }
    let user_data = spec.user_data_dir();
    // Stale singleton locks from a killed run make Chromium hand over to a dead instance.
    for f in ["SingletonLock", "SingletonSocket", "SingletonCookie"] {
        let _ = std::fs::remove_file(user_data.join(f));
    }
    if root {
        chown_tree(&home, BROWSER_UID).map_err(io(&home))?;
    }
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).map_err(io(&home))?;
    Ok(())
}

/// `lchown` everything under `dir` to `uid` (never following symlinks). Only walks when `dir`
/// or one of its direct entries is not `uid`'s (a new home, or a profile moved in from an
/// earlier version): a tree handed over once stays the browser's.
fn chown_tree(dir: &Path, uid: u32) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let owned = |p: &Path| {
        std::fs::symlink_metadata(p)
            .map(|m| m.uid() == uid && m.gid() == uid)
            .unwrap_or(false)
    };
    let mut all_owned = owned(dir);
    if all_owned {
        for e in std::fs::read_dir(dir)? {
            if !owned(&e?.path()) {
                all_owned = false;
                break;
            }
        }
    }
    if all_owned {
        return Ok(());
    }
    fn walk(p: &Path, uid: u32) -> std::io::Result<()> {
        let meta = std::fs::symlink_metadata(p)?;
        if meta.file_type().is_dir() {
            for e in std::fs::read_dir(p)? {
                walk(&e?.path(), uid)?;
            }
        }
        std::os::unix::fs::lchown(p, Some(uid), Some(uid))
    }
    walk(dir, uid)
}

fn browser_env(home: &str, host_user_data: &str) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| {
            matches!(
                k.as_str(),
                "PATH" | "LANG" | "LANGUAGE" | "TZ" | "DISPLAY" | "WAYLAND_DISPLAY" | "XAUTHORITY"
            ) || k.starts_with("LC_")
        })
        .collect();
    env.push(("HOME".into(), home.to_string()));
    // Temporary and shared-memory files (`--disable-dev-shm-usage`) stay in the home too.
    env.push(("TMPDIR".into(), home.to_string()));
    env.push((PROFILE_ENV.into(), host_user_data.to_string()));
    env
}

fn chromium_args(spec: &LaunchSpec, paths: &Paths, own_sandbox: bool) -> Vec<String> {
    let mut args = vec![
        "--remote-debugging-pipe".to_string(),
        format!("--user-data-dir={}", paths.user_data),
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
    if !own_sandbox {
        args.push("--no-sandbox".to_string());
    }
    args.push("about:blank".to_string());
    args
}

/// Kill a browser left running on this profile by a previous node process (e.g. one killed
/// before its death signal could be delivered): two instances on one profile corrupt it.
fn kill_stale_instance(spec: &LaunchSpec) {
    let pid_file = spec.profile_dir.join("chromium.pid");
    let Ok(text) = std::fs::read_to_string(&pid_file) else {
        return;
    };
    let Ok(pid) = text.trim().parse::<i32>() else {
        return;
    };
    if pid <= 1 {
        return;
    }
    let needle = format!("{PROFILE_ENV}={}", spec.user_data_dir().display());
    let ours = std::fs::read(format!("/proc/{pid}/environ"))
        .map(|c| c.split(|b| *b == 0).any(|kv| kv == needle.as_bytes()))
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
    let _ = std::fs::remove_file(pid_file);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detect_rejects_a_missing_explicit_executable() {
        let err = detect(Some("/nonexistent/chrome")).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/chrome"), "{err}");
    }

    #[test]
    fn chown_tree_hands_the_home_over_without_following_symlinks() {
        use std::os::unix::fs::MetadataExt;
        if !running_as_root() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir_all(home.join("user-data/Default")).unwrap();
        std::fs::write(home.join("user-data/Default/Cookies"), b"x").unwrap();
        let outside = dir.path().join("outside");
        std::fs::write(&outside, b"root's").unwrap();
        std::os::unix::fs::symlink(&outside, home.join("link")).unwrap();
        chown_tree(&home, BROWSER_UID).unwrap();
        for p in [
            "",
            "user-data",
            "user-data/Default",
            "user-data/Default/Cookies",
            "link",
        ] {
            let m = std::fs::symlink_metadata(home.join(p)).unwrap();
            assert_eq!((m.uid(), m.gid()), (BROWSER_UID, BROWSER_UID), "{p}");
        }
        assert_eq!(
            std::fs::metadata(&outside).unwrap().uid(),
            0,
            "symlink target untouched"
        );
        // A profile moved in later (root-owned entry under an owned home) is handed over too.
        std::fs::create_dir(home.join("downloads")).unwrap();
        chown_tree(&home, BROWSER_UID).unwrap();
        assert_eq!(
            std::fs::metadata(home.join("downloads")).unwrap().uid(),
            BROWSER_UID
        );
    }

    #[test]
    fn the_browser_environment_carries_no_node_secret() {
        let env = browser_env("/var/tmp", "/x/home/user-data");
        assert!(env.iter().any(|(k, v)| k == "HOME" && v == "/var/tmp"));
        assert!(
            env.iter()
                .all(|(k, _)| !k.contains("TOKEN") && !k.contains("PASSWORD")),
            "{env:?}"
        );
    }
}
