//! Per-run cgroups: a cgroup v2 leaf per run for whole-tree kill (`cgroup.kill`, Linux 5.14),
//! and a process bound (`pids.max`) from the v2 `pids` controller when delegated, else from the
//! v1 `pids` hierarchy (hybrid layouts: v1 controllers under `/sys/fs/cgroup/<name>`, v2 at
//! `/sys/fs/cgroup/unified`). Runs live under `<own cgroup>/openclaw-node/run-<hostpid>-<n>`.
//!
//! The child is in its run cgroups before exec, so every descendant (double-forked, `setsid`'d)
//! is inside:
//! - v2: created directly inside the run cgroup by `clone3(CLONE_INTO_CGROUP)` (no migration), or,
//!   on the fallback path, by writing `0` to the run's `cgroup.procs` (a migration, which takes
//!   the global `cgroup_threadgroup_rwsem` for write: one RCU grace period, 3-16 ms here);
//! - v1 `pids`: the single-threaded child writes `0` to the run's `tasks` file. Moving only the
//!   calling thread skips the global rwsem (Linux >= 5.18, "cgroup: Optimize single thread
//!   migration"), ~20 µs instead of a grace period; as the child has exactly one thread this
//!   moves the whole process.

use std::fs::{self, OpenOptions};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

const RUNS_DIR: &str = "openclaw-node";

/// What this machine offers for per-run cgroups.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CgroupSupport {
    /// Where v2 run cgroups are created (writable, with `cgroup.kill`).
    pub v2_base: Option<PathBuf>,
    /// The v2 `pids` controller is enabled for run cgroups.
    pub v2_pids: bool,
    /// Where v1 `pids` run cgroups are created.
    pub v1_pids_base: Option<PathBuf>,
    /// The v2 `memory` controller is enabled for run cgroups.
    pub v2_memory: bool,
    /// Where v1 `memory` run cgroups are created (hybrid hosts without v2 memory).
    pub v1_memory_base: Option<PathBuf>,
    /// cgroup2 is mounted with `favordynmods` (migrations are cheap there).
    pub v2_favordynmods: bool,
    /// Why v2 / v1 pids are not usable (for `sandbox check`).
    pub notes: Vec<String>,
}

impl CgroupSupport {
    /// Which bound applies to the memory of a run.
    pub fn memory_bound(&self) -> Option<&'static str> {
        if self.v2_memory {
            Some("cgroup v2 memory.max")
        } else if self.v1_memory_base.is_some() {
            Some("cgroup v1 memory.limit_in_bytes")
        } else {
            None
        }
    }

    /// Which bound applies to the process count of a run.
    pub fn pids_bound(&self) -> Option<&'static str> {
        if self.v2_pids {
            Some("cgroup v2 pids.max")
        } else if self.v1_pids_base.is_some() {
            Some("cgroup v1 pids.max")
        } else {
            None
        }
    }
}

struct MountInfo {
    mount_point: PathBuf,
    fs_type: String,
    super_opts: String,
}

fn mounts() -> Vec<MountInfo> {
    let Ok(text) = fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|line| {
            let (pre, post) = line.split_once(" - ")?;
            let mount_point = pre.split(' ').nth(4)?;
            let mut post = post.split(' ');
            let fs_type = post.next()?.to_string();
            let _source = post.next()?;
            let super_opts = post.next().unwrap_or("").to_string();
            Some(MountInfo {
                mount_point: PathBuf::from(unescape_mount(mount_point)),
                fs_type,
                super_opts,
            })
        })
        .collect()
}

fn unescape_mount(s: &str) -> String {
    s.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\134", "\\")
}

/// `(controllers, path)` lines of `/proc/self/cgroup`.
fn own_cgroups() -> Vec<(String, String)> {
    let Ok(text) = fs::read_to_string("/proc/self/cgroup") else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|l| {
            let mut it = l.splitn(3, ':');
            let _id = it.next()?;
            let ctrl = it.next()?.to_string();
            let path = it.next()?.to_string();
            Some((ctrl, path))
        })
        .collect()
}

fn join(mount: &Path, cg_path: &str) -> PathBuf {
    mount.join(cg_path.trim_start_matches('/')).join(RUNS_DIR)
}

/// Probe (creating `<own cgroup>/openclaw-node` where possible) and clean up stale run cgroups
/// left by host processes that no longer exist.
pub fn detect() -> CgroupSupport {
    let mut s = CgroupSupport::default();
    let mounts = mounts();
    let own = own_cgroups();

    // cgroup v2.
    match (
        mounts.iter().find(|m| m.fs_type == "cgroup2"),
        own.iter().find(|(c, _)| c.is_empty()),
    ) {
        (Some(m), Some((_, path))) => {
            let base = join(&m.mount_point, path);
            match fs::create_dir_all(&base) {
                Err(e) => s.notes.push(format!(
                    "cgroup v2 at {} is not writable ({e}): tree kill falls back to the process \
                     group",
                    m.mount_point.display()
                )),
                Ok(()) if !base.join("cgroup.kill").exists() => s.notes.push(
                    "cgroup v2 has no cgroup.kill (Linux < 5.14): tree kill falls back to the \
                     process group"
                        .into(),
                ),
                Ok(()) => {
                    let ctrls =
                        fs::read_to_string(base.join("cgroup.controllers")).unwrap_or_default();
                    if ctrls.split_whitespace().any(|c| c == "pids") {
                        s.v2_pids = fs::write(base.join("cgroup.subtree_control"), "+pids").is_ok();
                    }
                    if ctrls.split_whitespace().any(|c| c == "memory") {
                        s.v2_memory =
                            fs::write(base.join("cgroup.subtree_control"), "+memory").is_ok();
                    }
                    cleanup_stale(&base);
                    s.v2_base = Some(base);
                    s.v2_favordynmods = m.super_opts.split(',').any(|o| o == "favordynmods");
                }
            }
        }
        _ => s.notes.push("no cgroup v2 hierarchy mounted".into()),
    }

    // cgroup v1 pids and memory, each only where v2 has no such controller for us.
    if !s.v2_pids {
        match v1_base(&mounts, &own, "pids") {
            Ok(base) => s.v1_pids_base = Some(base),
            Err(Some(note)) => s.notes.push(note),
            Err(None) => s
                .notes
                .push("no pids controller available (v2 or v1)".into()),
        }
    }
    if !s.v2_memory {
        match v1_base(&mounts, &own, "memory") {
            Ok(base) => s.v1_memory_base = Some(base),
            Err(Some(note)) => s.notes.push(format!("{note}: runs have no memory bound")),
            Err(None) => s.notes.push(
                "no memory controller available (v2 or v1): runs have no memory bound".into(),
            ),
        }
    }
    s
}

/// Our cgroup v1 directory for `controller` (created if missing, stale runs cleaned up):
/// `Err(None)` when no such hierarchy is mounted for us, `Err(Some(note))` when it is not
/// writable.
fn v1_base(
    mounts: &[MountInfo],
    own: &[(String, String)],
    controller: &str,
) -> Result<PathBuf, Option<String>> {
    let m = mounts
        .iter()
        .find(|m| m.fs_type == "cgroup" && m.super_opts.split(',').any(|o| o == controller));
    let p = own
        .iter()
        .find(|(c, _)| c.split(',').any(|c| c == controller));
    let (Some(m), Some((_, path))) = (m, p) else {
        return Err(None);
    };
    let base = join(&m.mount_point, path);
    match fs::create_dir_all(&base) {
        Ok(()) => {
            cleanup_stale(&base);
            Ok(base)
        }
        Err(e) => Err(Some(format!(
            "cgroup v1 {controller} at {} is not writable ({e})",
            m.mount_point.display()
        ))),
    }
}

/// Remove `run-<pid>-*` cgroups whose host process is gone (after killing what is left in them).
fn cleanup_stale(base: &Path) {
    let Ok(entries) = fs::read_dir(base) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("run-")
            .and_then(|r| r.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let dir = e.path();
        let _ = fs::write(dir.join("cgroup.kill"), "1");
        kill_listed(&dir, libc::SIGKILL);
        let _ = fs::remove_dir(&dir);
    }
}

fn read_pids(dir: &Path) -> Vec<i32> {
    fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

fn kill_listed(dir: &Path, sig: libc::c_int) -> usize {
    let pids = read_pids(dir);
    for &pid in &pids {
        if pid > 1 {
            // SAFETY: kill(2) with a pid read from the run's own cgroup; no memory involved.
            unsafe { libc::kill(pid, sig) };
        }
    }
    pids.len()
}

/// One run's cgroups. Dropping it kills what is left and removes the directories.
#[derive(Debug)]
pub struct RunCgroup {
    v2: Option<PathBuf>,
    v1: Option<PathBuf>,
    /// The v1 memory cgroup (hybrid hosts).
    v1_memory: Option<PathBuf>,
    /// Join fds for the child: v2 `cgroup.procs`, v1 pids `tasks`, v1 memory `tasks`; closed
    /// after spawn.
    fds: [Option<OwnedFd>; 3],
    /// The v2 run cgroup directory (for `clone3(CLONE_INTO_CGROUP)`); closed after spawn.
    v2_dir_fd: Option<OwnedFd>,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn open_join(dir: &Path, file: &str) -> std::io::Result<OwnedFd> {
    let f = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(dir.join(file))?;
    Ok(f.into())
}

/// `O_RDONLY | O_DIRECTORY` (not `O_PATH`: `CLONE_INTO_CGROUP` needs a kernfs directory file).
fn open_dir(dir: &Path) -> std::io::Result<OwnedFd> {
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_CLOEXEC | libc::O_DIRECTORY)
        .open(dir)?;
    Ok(f.into())
}

/// Create `base/name` with the given limit files written (`pids.max`, `memory.max`, …) and
/// open its join file (`cgroup.procs` or `tasks`).
fn make(
    base: &Path,
    name: &str,
    limits: &[(&str, u64)],
    join_file: &str,
) -> Result<(PathBuf, OwnedFd), String> {
    let dir = base.join(name);
    fs::create_dir(&dir).map_err(|e| format!("cannot create cgroup {}: {e}", dir.display()))?;
    let res = (|| {
        for (file, value) in limits {
            fs::write(dir.join(file), value.to_string())
                .map_err(|e| format!("cannot set {}/{file}: {e}", dir.display()))?;
        }
        open_join(&dir, join_file)
            .map_err(|e| format!("cannot open {}/{join_file}: {e}", dir.display()))
    })();
    match res {
        Ok(fd) => Ok((dir, fd)),
        Err(e) => {
            let _ = fs::remove_dir(&dir);
            Err(e)
        }
    }
}

impl RunCgroup {
    /// Create the run's cgroups according to `support`; `memory_max` 0: no memory bound.
    pub fn create(support: &CgroupSupport, pids_max: u64, memory_max: u64) -> Result<Self, String> {
        let name = format!(
            "run-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut me = Self {
            v2: None,
            v1: None,
            v1_memory: None,
            fds: [None, None, None],
            v2_dir_fd: None,
        };
        if let Some(b) = &support.v2_base {
            let mut limits = Vec::new();
            if support.v2_pids {
                limits.push(("pids.max", pids_max));
            }
            if support.v2_memory && memory_max > 0 {
                limits.push(("memory.max", memory_max));
                limits.push(("memory.swap.max", 0));
            }
            let (dir, fd) = make(b, &name, &limits, "cgroup.procs")?;
            me.v2_dir_fd =
                Some(open_dir(&dir).map_err(|e| format!("cannot open {}: {e}", dir.display()))?);
            me.v2 = Some(dir);
            me.fds[0] = Some(fd);
        }
        if let (Some(b), false) = (&support.v1_pids_base, support.v2_pids) {
            // On error `me` is dropped, which removes the v2 directory again.
            let (dir, fd) = make(b, &name, &[("pids.max", pids_max)], "tasks")?;
            me.v1 = Some(dir);
            me.fds[1] = Some(fd);
        }
        if let (Some(b), false, true) = (&support.v1_memory_base, support.v2_memory, memory_max > 0)
        {
            let (dir, fd) = make(b, &name, &[("memory.limit_in_bytes", memory_max)], "tasks")?;
            me.v1_memory = Some(dir);
            me.fds[2] = Some(fd);
        }
        Ok(me)
    }

    /// Raw fds the child writes `0` to: v2 `cgroup.procs`, v1 `tasks` (valid until
    /// [`Self::close_fds`]).
    pub fn procs_fds(&self) -> [RawFd; 3] {
        [
            self.fds[0].as_ref().map_or(-1, |f| f.as_raw_fd()),
            self.fds[1].as_ref().map_or(-1, |f| f.as_raw_fd()),
            self.fds[2].as_ref().map_or(-1, |f| f.as_raw_fd()),
        ]
    }

    /// Whether the kernel's OOM killer killed a process of this run (its memory bound).
    pub fn oom_killed(&self) -> bool {
        let count = |text: String, key: &str| {
            text.lines()
                .filter_map(|l| l.strip_prefix(key))
                .filter_map(|v| v.trim().parse::<u64>().ok())
                .sum::<u64>()
        };
        if let Some(d) = &self.v2 {
            let events = fs::read_to_string(d.join("memory.events")).unwrap_or_default();
            if count(events, "oom_kill ") > 0 {
                return true;
            }
        }
        if let Some(d) = &self.v1_memory {
            let ctl = fs::read_to_string(d.join("memory.oom_control")).unwrap_or_default();
            if count(ctl, "oom_kill ") > 0 {
                return true;
            }
        }
        false
    }

    /// The v2 run cgroup's directory fd for `clone3(CLONE_INTO_CGROUP)` (valid until
    /// [`Self::close_fds`]).
    pub fn v2_dir_fd(&self) -> Option<RawFd> {
        self.v2_dir_fd.as_ref().map(|f| f.as_raw_fd())
    }

    /// Close the join fds once the child is spawned (the directories stay).
    pub fn close_fds(&mut self) {
        self.fds = [None, None, None];
        self.v2_dir_fd = None;
    }

    /// Whether a v2 cgroup (complete tree kill) backs this run.
    pub fn has_tree_kill(&self) -> bool {
        self.v2.is_some()
    }

    fn dir(&self) -> Option<&Path> {
        self.v2.as_deref().or(self.v1.as_deref())
    }

    /// Send `sig` to every process of the run (escaped process groups included).
    pub fn signal_all(&self, sig: libc::c_int) {
        if let Some(dir) = self.dir() {
            kill_listed(dir, sig);
        }
    }

    /// Kill every process of the run.
    pub fn kill_all(&self) {
        if let Some(dir) = &self.v2 {
            let _ = fs::write(dir.join("cgroup.kill"), "1");
        }
        for dir in [&self.v1, &self.v1_memory].into_iter().flatten() {
            kill_listed(dir, libc::SIGKILL);
        }
    }

    /// Number of live processes of the run.
    pub fn population(&self) -> usize {
        self.dir().map_or(0, |d| read_pids(d).len())
    }

    /// Kill everything and wait (bounded) until the cgroups are empty, then remove them.
    pub async fn shutdown(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            self.kill_all();
            if self.population() == 0 || Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        self.remove();
    }

    fn remove(&mut self) {
        for dir in [self.v2.take(), self.v1.take(), self.v1_memory.take()]
            .into_iter()
            .flatten()
        {
            if let Err(e) = fs::remove_dir(&dir) {
                tracing::warn!("could not remove run cgroup {}: {e}", dir.display());
            }
        }
    }
}

impl Drop for RunCgroup {
    fn drop(&mut self) {
        if self.v2.is_some() || self.v1.is_some() || self.v1_memory.is_some() {
            self.kill_all();
            for dir in [self.v2.take(), self.v1.take(), self.v1_memory.take()]
                .into_iter()
                .flatten()
            {
                // May fail while the killed processes are still exiting; a later launcher
                // removes stale run cgroups.
                let _ = fs::remove_dir(&dir);
            }
        }
    }
}

/// Write `0` to a `cgroup.procs` / `tasks` fd: moves the calling process / thread.
/// Async-signal-safe.
pub(crate) fn join_fd_raw(fd: RawFd) -> Result<(), i32> {
    if fd < 0 {
        return Ok(());
    }
    let buf = b"0";
    // SAFETY: write(2) of a 1-byte static buffer to an fd the parent opened; no allocation.
    let rc = unsafe { libc::write(fd, buf.as_ptr().cast(), 1) };
    if rc == 1 { Ok(()) } else { Err(errno()) }
}

/// The calling thread's errno (async-signal-safe).
pub(crate) fn errno() -> i32 {
    // SAFETY: __errno_location returns a valid pointer to the calling thread's errno.
    unsafe { *libc::__errno_location() }
}
