//! The node under test as a process: the real `openclaw-node run --host 127.0.0.1 --port <fake>`
//! binary with its state, HOME and approvals in a temp dir and its log captured to a file; stopped
//! with SIGTERM (then SIGKILL) on drop.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{BIN, T};

/// Approvals that let the node run anything without asking (the sandbox still applies): the
/// fault and load tests are not policy tests.
pub const FULL_APPROVALS: &str = "{\n  \"version\": 1,\n  \"defaults\": {\n    \"security\": \"full\",\n    \"ask\": \"off\"\n  },\n  \"agents\": {}\n}\n";

/// Write `text` to `path` with mode 0600 (as the node writes its own state).
pub fn write_0600(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

pub struct NodeProc {
    pub child: Child,
    /// The state dir (also HOME).
    pub dir: tempfile::TempDir,
    /// The node's own cwd, which runs without a cwd use: outside its state dir (runs are
    /// refused there).
    _work: tempfile::TempDir,
}

impl NodeProc {
    /// Start the node against `127.0.0.1:<port>` with `approvals` as its approvals file; its
    /// stdout and stderr go to `node.log` in the state dir.
    pub fn start(port: u16, approvals: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        write_0600(&dir.path().join("exec-approvals.json"), approvals);
        let log = std::fs::File::create(dir.path().join("node.log")).unwrap();
        let work = tempfile::tempdir().unwrap();
        let child = Command::new(BIN)
            .args(["run", "--host", "127.0.0.1", "--port", &port.to_string()])
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", dir.path())
            .env("OPENCLAW_STATE_DIR", dir.path())
            .env("OPENCLAW_GATEWAY_TOKEN", "shared")
            .env("RUST_LOG", "info")
            .current_dir(work.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        Self {
            child,
            dir,
            _work: work,
        }
    }

    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).unwrap()
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A file in the state dir.
    pub fn state(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The node's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.state("node.log")).unwrap_or_default()
    }

    /// Wait until the log contains `needle`.
    pub async fn wait_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + T;
        loop {
            let log = self.log();
            if log.contains(needle) {
                return log;
            }
            assert!(
                Instant::now() < deadline,
                "log never contained {needle:?}:\n{log}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `true` while the process runs.
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Wait for the process to exit; its exit status (`None`: still running after `within`).
    pub fn wait_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(st) = self.child.try_wait().unwrap() {
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// A `kB` field of `/proc/<pid>/status` (`VmHWM`, `VmRSS`).
    pub fn status_kb(&self, key: &str) -> Option<u64> {
        super::procfs::status_kb(self.pid(), key)
    }
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_some() {
            return;
        }
        let pid = nix::unistd::Pid::from_raw(self.pid());
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
