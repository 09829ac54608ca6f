//! The per-run filesystem view: every confined run gets a private mount namespace (through an
//! unprivileged user namespace when the node is not root) in which the whole tree is read-only,
//! `nosuid` and `nodev`, the run's writable roots are bound back read-write, what decides about
//! later runs stays read-only whatever the writable roots, and the node's secrets are masked.
//!
//! Two halves:
//! - [`plan_view`] (pure, in the parent): which paths are bound back read-write, which are
//!   re-bound read-only on top, which are masked. The rule (not a list) it implements:
//!   1. **protected** (read-only in every confining run, whatever the cwd and writable roots):
//!      the state dir, the service definition, the binary the node runs, every directory on the
//!      node's PATH, `sandbox.protectedPaths`, and — when a writable root is `$HOME` or contains
//!      it — `$HOME` itself and every dot-entry in it, existing or not; a protected path that is a
//!      symlink protects its target too;
//!   2. a writable directory with nothing protected below it is bound back whole; a directory
//!      with a protected path below it is either **pinned** (bound back read-write as its own
//!      mount point, so the chain down to the protected path can be neither renamed nor removed)
//!      or, when a protected name below it does not exist yet (or is reached through a symlink),
//!      **closed**: read-only, with each of its other entries bound back read-write. No
//!      placeholder is ever created on the host;
//!   3. **masked**: every pathname UNIX socket bound on the host (a run cannot connect to a
//!      socket it did not create); the state dir is covered by an empty read-only tmpfs (with `skills/` bound back
//!      read-only when present), `openclaw.json` outside it by `/dev/null` without device access;
//!      under `strict` also `/etc/shadow`, `/etc/gshadow`, `/etc/ssl/private` and the SSH host
//!      keys.
//! - [`ChildView::apply`] (in the child, before capabilities are dropped): a private mount and
//!   IPC namespace, then the mounts, with raw
//!   syscalls only (`unshare`, `open_tree(OPEN_TREE_CLONE)`, `mount_setattr(AT_RECURSIVE)`,
//!   `move_mount`), on data prepared in the parent; nothing is allocated.
//!
//! Flags are only ever *set* (read-only, nosuid, nodev), never cleared: the bound-back copies are
//! cloned from the host tree before the root is made read-only, so a mount the host has
//! read-only stays read-only in the view.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use super::cgroup::errno;

/// Most bind mounts one view may carry (a closed `$HOME` costs one per entry).
pub const MAX_VIEW_MOUNTS: usize = 1024;

/// Marks a raw OS error as a view failure: `VIEW_ERROR | op << 12 | errno`.
pub const VIEW_ERROR: i32 = 0x4000_0000;

/// Directories a confined run may never use as its working directory (it would be writable).
/// `/` and these, or anything beneath them (except `/var/tmp`).
pub const SYSTEM_DIRS: &[&str] = &[
    "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/run",
    "/sbin", "/sys", "/usr", "/var",
];
/// Directories refused as the cwd itself (their children are fine).
pub const SYSTEM_PARENTS: &[&str] = &["/home", "/mnt", "/media", "/opt", "/srv"];

/// Files and directories masked under `strict` (present ones only).
pub const STRICT_MASKS: &[&str] = &["/etc/shadow", "/etc/gshadow", "/etc/ssl/private"];

/// What the node protects, gathered once per launcher from the node's own environment.
#[derive(Debug, Clone, Default)]
pub struct NodeProtection {
    /// The node's `$HOME`: its dot-entries are protected when a writable root covers it.
    pub home: Option<PathBuf>,
    /// `${OPENCLAW_STATE_DIR:-~/.openclaw}`: protected and masked.
    pub state_dir: Option<PathBuf>,
    /// Other protected paths (existing or not): service files, the binary, PATH directories,
    /// `sandbox.protectedPaths`.
    pub protected: Vec<PathBuf>,
    /// Files masked with no content (secrets kept outside the state dir, e.g. `openclaw.json`).
    pub masked_files: Vec<PathBuf>,
    /// Other users' home directories (`/etc/passwd`): their dot-entries are protected like the
    /// node's own when a writable root covers them (a root node must not plant another user's
    /// `~/.bashrc` either).
    pub other_homes: Vec<PathBuf>,
}

/// Home directories listed in `passwd` text that exist and are not `/` or a system directory.
pub fn passwd_homes(passwd: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = passwd
        .lines()
        .filter_map(|l| l.split(':').nth(5))
        .map(PathBuf::from)
        .filter(|p| {
            p.is_absolute()
                && p != Path::new("/")
                && !SYSTEM_DIRS.iter().any(|s| p.starts_with(s))
                && p.is_dir()
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

fn env_path(key: &str) -> Option<PathBuf> {
    std::env::var_os(key)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
}

impl NodeProtection {
    /// From the node's environment: `HOME`, `OPENCLAW_STATE_DIR`, `OPENCLAW_CONFIG_PATH`,
    /// `XDG_CONFIG_HOME`, `OPENCLAW_SYSTEMD_UNIT`, `PATH` and the running binary, plus the
    /// operator's `sandbox.protectedPaths`.
    pub fn from_environment(extra: &[PathBuf]) -> Self {
        let home = env_path("HOME");
        let state_dir =
            env_path("OPENCLAW_STATE_DIR").or_else(|| home.as_ref().map(|h| h.join(".openclaw")));
        let mut protected: Vec<PathBuf> = extra.to_vec();
        let unit = std::env::var("OPENCLAW_SYSTEMD_UNIT")
            .ok()
            .map(|v| v.trim().trim_end_matches(".service").to_string())
            .filter(|v| !v.is_empty() && !v.contains('/'))
            .unwrap_or_else(|| "openclaw-node".into());
        let config_home =
            env_path("XDG_CONFIG_HOME").or_else(|| home.as_ref().map(|h| h.join(".config")));
        if let Some(c) = config_home {
            protected.push(c.join("systemd/user").join(format!("{unit}.service")));
            protected.push(c.join("systemd/user").join(format!("{unit}.service.d")));
        }
        if let Some(h) = &home {
            protected.push(h.join("Library/LaunchAgents/ai.openclaw.node.plist"));
        }
        if let Ok(exe) = std::env::current_exe() {
            protected.push(exe);
        }
        if let Some(path) = std::env::var_os("PATH") {
            protected.extend(std::env::split_paths(&path).filter(|p| p.is_absolute()));
        }
        let mut masked_files = Vec::new();
        if let Some(c) = env_path("OPENCLAW_CONFIG_PATH") {
            masked_files.push(c);
        }
        let other_homes = std::fs::read_to_string("/etc/passwd")
            .map(|t| passwd_homes(&t))
            .unwrap_or_default();
        Self {
            home,
            state_dir,
            protected,
            masked_files,
            other_homes,
        }
    }
}

/// What one run's view is built from.
#[derive(Debug, Clone)]
pub struct ViewInput<'a> {
    /// Writable roots: the cwd, the private TMPDIR, `writableRoots` (absolute, existing).
    pub writable: &'a [PathBuf],
    /// Extra protected directories for this run (the run's own PATH).
    pub run_path_dirs: &'a [PathBuf],
    pub node: &'a NodeProtection,
    pub strict: bool,
    /// No mounts possible (Landlock fallback): pins become closed directories.
    pub closed_only: bool,
    /// Host UNIX sockets to mask ([`host_unix_sockets`]).
    pub sockets: Vec<PathBuf>,
}

/// The planned view (host paths, canonical).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ViewPlan {
    /// Bind mounts, in attach order (shallow first): `(path, read_only)`.
    pub binds: Vec<(PathBuf, bool)>,
    /// Directories covered by an empty read-only tmpfs, with one entry bound back read-only.
    pub mask_dirs: Vec<(PathBuf, Option<String>)>,
    /// Files covered by `/dev/null` (no device access: opening fails).
    pub mask_files: Vec<PathBuf>,
    /// Read-only places inside the writable roots (for the refusal hint on stderr).
    pub read_only_inside: Vec<PathBuf>,
}

/// Pathname UNIX sockets bound on this host (`/proc/net/unix`), existing ones only: each is
/// masked in the view, so a run cannot connect to a daemon's socket (docker, the systemd user
/// manager, the session bus, ssh-agent, tmux, X11, …). Landlock before ABI 9 does not mediate
/// `connect()` to them. Sockets a run creates itself appear after its view is built.
pub fn host_unix_sockets() -> Vec<PathBuf> {
    use std::os::unix::fs::FileTypeExt;
    let Ok(text) = std::fs::read_to_string("/proc/net/unix") else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = text
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(7))
        .filter(|p| p.starts_with('/'))
        .map(PathBuf::from)
        .filter(|p| std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_socket()))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Lexically normalise an absolute path (`.`/`..`), without touching the filesystem.
fn normalise(p: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => out.push(n),
            _ => {}
        }
    }
    out
}

/// The canonical form of `p` as far as it exists, with the missing tail appended.
fn resolve_existing(p: &Path) -> PathBuf {
    let p = normalise(p);
    let mut existing = p.clone();
    let mut tail = Vec::new();
    loop {
        if let Ok(c) = std::fs::canonicalize(&existing) {
            let mut out = c;
            for t in tail.iter().rev() {
                out.push(t);
            }
            return out;
        }
        match (
            existing.file_name().map(|n| n.to_os_string()),
            existing.parent(),
        ) {
            (Some(n), Some(parent)) => {
                tail.push(n);
                existing = parent.to_path_buf();
            }
            _ => return p,
        }
    }
}

struct Rules {
    /// Protected paths: lexical (normalised) and canonical forms.
    exact: Vec<PathBuf>,
    /// Directories whose every dot-entry is protected (and which are closed).
    dot_homes: Vec<PathBuf>,
    closed_only: bool,
}

fn is_symlink(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink())
}

impl Rules {
    fn protected(&self, p: &Path) -> bool {
        self.exact.iter().any(|e| p.starts_with(e))
            || self.dot_homes.iter().any(|h| {
                p.strip_prefix(h).ok().and_then(|r| r.components().next()).is_some_and(
                    |c| matches!(c, Component::Normal(n) if n.as_bytes().first() == Some(&b'.')),
                )
            })
    }

    /// Protected paths strictly below `d`.
    fn below<'a>(&'a self, d: &'a Path) -> impl Iterator<Item = &'a PathBuf> + 'a {
        self.exact
            .iter()
            .filter(move |e| e.starts_with(d) && e.as_path() != d)
    }

    fn has_below(&self, d: &Path) -> bool {
        self.below(d).next().is_some() || self.dot_homes.iter().any(|h| h.starts_with(d))
    }

    /// `d` must be read-only with its other entries bound back: a protected name below it does
    /// not exist yet, is reached through a symlink, or `d` is a home whose dot-entries are
    /// protected.
    fn must_close(&self, d: &Path) -> bool {
        if self.closed_only || self.dot_homes.iter().any(|h| h == d) {
            return true;
        }
        self.below(d).any(|e| {
            let Ok(rest) = e.strip_prefix(d) else {
                return false;
            };
            let Some(Component::Normal(first)) = rest.components().next() else {
                return false;
            };
            let child = d.join(first);
            is_symlink(&child) || std::fs::symlink_metadata(&child).is_err()
        })
    }

    /// The direct children of `d` that lead to a protected path (existing ones).
    fn chain_children(&self, d: &Path) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = self
            .below(d)
            .filter_map(|e| match e.strip_prefix(d).ok()?.components().next()? {
                Component::Normal(n) => Some(d.join(n)),
                _ => None,
            })
            .filter(|c| std::fs::symlink_metadata(c).is_ok())
            .collect();
        out.extend(self.dot_homes.iter().filter_map(|h| {
            match h.strip_prefix(d).ok()?.components().next()? {
                Component::Normal(n) => Some(d.join(n)),
                _ => None,
            }
        }));
        out.sort();
        out.dedup();
        out
    }
}

/// Plan the view (see the module documentation for the rule).
pub fn plan_view(input: &ViewInput<'_>) -> Result<ViewPlan, String> {
    let node = input.node;
    let mut exact: Vec<PathBuf> = Vec::new();
    let mut add = |p: &Path| {
        if !p.is_absolute() {
            return;
        }
        let lexical = normalise(p);
        let canonical = resolve_existing(&lexical);
        exact.push(lexical);
        exact.push(canonical);
    };
    if let Some(s) = &node.state_dir {
        add(s);
    }
    for p in node.protected.iter().chain(input.run_path_dirs) {
        add(p);
    }
    exact.sort();
    exact.dedup();
    // Never protect `/` itself (a PATH of `/` would make every run read-only).
    exact.retain(|p| p != Path::new("/"));

    let mut writable: Vec<PathBuf> = input.writable.iter().map(|w| resolve_existing(w)).collect();
    writable.sort();
    writable.dedup();
    let maximal: Vec<PathBuf> = writable
        .iter()
        .filter(|w| !writable.iter().any(|o| o != *w && w.starts_with(o)))
        .cloned()
        .collect();

    let mut dot_homes = Vec::new();
    for h in node.home.iter().chain(&node.other_homes) {
        let h = resolve_existing(h);
        if h != Path::new("/") && maximal.iter().any(|w| h.starts_with(w)) {
            dot_homes.push(h);
        }
    }
    dot_homes.sort();
    dot_homes.dedup();
    let rules = Rules {
        exact,
        dot_homes,
        closed_only: input.closed_only,
    };

    let mut plan = ViewPlan::default();
    for w in &maximal {
        expand(&rules, w, false, &mut plan)?;
    }
    plan.binds.sort_by_key(|(p, _)| p.components().count());

    if let Some(s) = &node.state_dir {
        let s = resolve_existing(s);
        if s.is_dir() {
            let skills = s.join("skills").is_dir().then(|| "skills".to_string());
            plan.mask_dirs.push((s, skills));
        }
    }
    for f in &node.masked_files {
        let f = resolve_existing(f);
        if f.is_file()
            && !node
                .state_dir
                .as_ref()
                .is_some_and(|s| f.starts_with(resolve_existing(s)))
        {
            plan.mask_files.push(f);
        }
    }
    let state = node.state_dir.as_ref().map(|s| resolve_existing(s));
    for sock in &input.sockets {
        if !state.as_ref().is_some_and(|s| sock.starts_with(s)) {
            plan.mask_files.push(sock.clone());
        }
    }
    if input.strict {
        for m in STRICT_MASKS {
            let p = Path::new(m);
            if p.is_dir() {
                plan.mask_dirs.push((p.to_path_buf(), None));
            } else if p.is_file() {
                plan.mask_files.push(p.to_path_buf());
            }
        }
        if let Ok(rd) = std::fs::read_dir("/etc/ssh") {
            let mut keys: Vec<PathBuf> = rd
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("ssh_host_") && n.ends_with("_key"))
                        && p.is_file()
                })
                .collect();
            keys.sort();
            plan.mask_files.extend(keys);
        }
    }
    let mounts = plan.binds.len() + plan.mask_dirs.len() * 2 + plan.mask_files.len();
    if mounts > MAX_VIEW_MOUNTS {
        return Err(format!(
            "the run's filesystem view would need {mounts} mounts (more than {MAX_VIEW_MOUNTS}): \
             a writable root covers a directory with that many entries next to a protected path; \
             use a narrower cwd or writableRoots"
        ));
    }
    Ok(plan)
}

fn expand(rules: &Rules, d: &Path, parent_rw: bool, plan: &mut ViewPlan) -> Result<(), String> {
    if rules.protected(d) {
        if std::fs::symlink_metadata(d).is_ok() {
            if parent_rw {
                plan.binds.push((d.to_path_buf(), true));
            }
            plan.read_only_inside.push(d.to_path_buf());
        }
        return Ok(());
    }
    if !rules.has_below(d) {
        plan.binds.push((d.to_path_buf(), false));
        return Ok(());
    }
    if rules.must_close(d) {
        // Inside a pinned (read-write) parent, the closed directory itself is re-bound
        // read-only first; its other entries then go back on top of that.
        if parent_rw {
            plan.binds.push((d.to_path_buf(), true));
        }
        plan.read_only_inside.push(d.to_path_buf());
        let entries = std::fs::read_dir(d)
            .map_err(|e| format!("cannot list {} to build the run's view: {e}", d.display()))?;
        let mut children: Vec<PathBuf> = Vec::new();
        for e in entries {
            let e = e.map_err(|e| format!("cannot list {}: {e}", d.display()))?;
            let ty = e
                .file_type()
                .map_err(|e| format!("cannot stat {}: {e}", e))?;
            if ty.is_symlink() {
                // A symlink stays as it is in the read-only directory; what it points to keeps
                // the rights it has in the view.
                continue;
            }
            children.push(e.path());
            if children.len() > MAX_VIEW_MOUNTS {
                return Err(format!(
                    "{} has more than {MAX_VIEW_MOUNTS} entries next to a protected path; use a \
                     narrower cwd or writableRoots",
                    d.display()
                ));
            }
        }
        children.sort();
        for c in children {
            expand(rules, &c, false, plan)?;
        }
    } else {
        plan.binds.push((d.to_path_buf(), false));
        for c in rules.chain_children(d) {
            expand(rules, &c, true, plan)?;
        }
    }
    Ok(())
}

/// Why `cwd` may not be a confined run's working directory (`None`: it may). A system directory
/// is allowed only inside a `writableRoots` entry the operator configured (say
/// `/var/lib/ci/workspace`); `/` and the state dir never.
pub fn refuse_cwd(
    cwd: &Path,
    state_dir: Option<&Path>,
    configured_roots: &[PathBuf],
) -> Option<String> {
    let c = resolve_existing(cwd);
    let why = "a confined run's working directory is writable for it";
    let configured = configured_roots
        .iter()
        .map(|r| resolve_existing(r))
        .any(|r| r != Path::new("/") && c.starts_with(&r));
    if c == Path::new("/") {
        return Some(format!(
            "refusing working directory / under a confining sandbox profile ({why}, and that \
             would make the whole filesystem writable); pass a project directory as cwd"
        ));
    }
    if !c.starts_with("/var/tmp")
        && !configured
        && let Some(sys) = SYSTEM_DIRS.iter().find(|s| c.starts_with(s))
    {
        return Some(format!(
            "refusing working directory {} under a confining sandbox profile ({why}, and {sys} \
             is a system directory); pass a project directory as cwd, or list the directory in \
             `sandbox.writableRoots` if runs are meant to write there",
            cwd.display()
        ));
    }
    if !configured && SYSTEM_PARENTS.iter().any(|s| c == Path::new(s)) {
        return Some(format!(
            "refusing working directory {} under a confining sandbox profile ({why}, and it holds \
             other users' or system data); pass a directory below it",
            cwd.display()
        ));
    }
    if let Some(s) = state_dir
        && c.starts_with(resolve_existing(s))
    {
        return Some(format!(
            "refusing working directory {} under a confining sandbox profile: it is inside the \
             node's own state directory {}, which runs can neither read nor change",
            cwd.display(),
            s.display()
        ));
    }
    None
}

// ---------------------------------------------------------------------------------------------
// The child half.

pub(super) const OPEN_TREE_CLONE: libc::c_uint = 1;
pub(super) const AT_RECURSIVE: libc::c_uint = 0x8000;
pub(super) const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
pub(super) const MOUNT_ATTR_RDONLY: u64 = 0x1;
pub(super) const MOUNT_ATTR_NOSUID: u64 = 0x2;
pub(super) const MOUNT_ATTR_NODEV: u64 = 0x4;

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// The identity maps written for an unprivileged node (its own uid/gid mapped to themselves).
#[derive(Debug, Clone)]
pub struct UsernsMaps {
    uid_map: Vec<u8>,
    gid_map: Vec<u8>,
}

/// One operation of the child, for error messages (`VIEW_ERROR` carries its index).
#[derive(Debug, Clone)]
enum Op {
    /// `open_tree(OPEN_TREE_CLONE | AT_RECURSIVE)` of a host path into capture slot `slot`.
    Capture { path: CString },
    /// Attach capture `slot` at its own path with these attributes.
    Attach {
        slot: usize,
        path: CString,
        attrs: u64,
    },
    /// An empty read-only tmpfs; `expose`: mkdir `sub` in it and attach capture `slot` there.
    MaskDir {
        path: CString,
        expose: Option<(usize, CString)>,
    },
    /// `/dev/null` over a file, without device access.
    MaskFile { path: CString },
    /// A fresh read-only tmpfs on `/dev` holding only [`MIN_DEVICES`] (captures bound back), a
    /// private `devpts`, an empty `shm`, and the `fd`/`stdin`/`stdout`/`stderr`/`ptmx` links.
    MinimalDev { devices: Vec<(usize, CString)> },
}

/// The device files a confined run sees: no disks, no `/dev/kvm`, `/dev/userfaultfd`, VTs, …
pub const MIN_DEVICES: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
    "/dev/tty",
];

/// The links of the minimal /dev: `(target, link)`.
const DEV_LINKS: &[(&std::ffi::CStr, &std::ffi::CStr)] = &[
    (c"/proc/self/fd", c"/dev/fd"),
    (c"/proc/self/fd/0", c"/dev/stdin"),
    (c"/proc/self/fd/1", c"/dev/stdout"),
    (c"/proc/self/fd/2", c"/dev/stderr"),
    (c"pts/ptmx", c"/dev/ptmx"),
];

/// Build the minimal /dev (see [`Op::MinimalDev`]).
///
/// # Safety
/// As [`ChildView::apply`]; `fds` holds the captured device clones.
unsafe fn minimal_dev(devices: &[(usize, CString)], fds: &[libc::c_int]) -> Result<(), ()> {
    // SAFETY: mount(2) of a new tmpfs on /dev with static strings.
    if unsafe {
        libc::mount(
            c"tmpfs".as_ptr(),
            c"/dev".as_ptr(),
            c"tmpfs".as_ptr(),
            libc::MS_NOSUID | libc::MS_NOEXEC,
            c"mode=0755,size=64k".as_ptr().cast(),
        )
    } < 0
    {
        return Err(());
    }
    for (slot, path) in devices {
        // SAFETY: create an empty mount point in our own tmpfs, then attach the device clone.
        let fd = unsafe {
            libc::open(
                path.as_ptr(),
                libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC,
                0o666 as libc::c_uint,
            )
        };
        if fd < 0 {
            return Err(());
        }
        // SAFETY: close(2) of our own fd.
        unsafe { libc::close(fd) };
        let clone = fds[*slot];
        // SAFETY: attach the detached device clone at the NUL-terminated path.
        if unsafe { attach(clone, path.as_ptr(), MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID) } < 0 {
            return Err(());
        }
        // SAFETY: close(2) of our own fd.
        unsafe { libc::close(clone) };
    }
    // SAFETY: mkdir(2)/mount(2) with static strings. A private devpts is best effort (a
    // headless run rarely needs a pty); its failure leaves /dev/pts empty.
    unsafe {
        if libc::mkdir(c"/dev/pts".as_ptr(), 0o755) < 0
            || libc::mkdir(c"/dev/shm".as_ptr(), 0o1777) < 0
        {
            return Err(());
        }
        libc::mount(
            c"devpts".as_ptr(),
            c"/dev/pts".as_ptr(),
            c"devpts".as_ptr(),
            libc::MS_NOSUID | libc::MS_NOEXEC,
            c"newinstance,ptmxmode=0666,mode=0620".as_ptr().cast(),
        );
        if libc::mount(
            c"tmpfs".as_ptr(),
            c"/dev/shm".as_ptr(),
            c"tmpfs".as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            c"mode=1777,size=64m".as_ptr().cast(),
        ) < 0
        {
            return Err(());
        }
    }
    for (target, link) in DEV_LINKS {
        // SAFETY: symlink(2) with static NUL-terminated strings, inside our tmpfs.
        if unsafe { libc::symlink(target.as_ptr(), link.as_ptr()) } < 0 {
            return Err(());
        }
    }
    // SAFETY: mount_setattr on our /dev tmpfs (not recursive: pts and shm keep their flags).
    if unsafe { setattr(libc::AT_FDCWD, c"/dev".as_ptr(), 0, MOUNT_ATTR_RDONLY) } < 0 {
        return Err(());
    }
    Ok(())
}

/// What the child does, prepared in the parent. See [`ChildView::apply`].
#[derive(Debug, Clone)]
pub struct ChildView {
    userns: Option<UsernsMaps>,
    /// Captures first (in order), then the read-only root, then attaches and masks.
    ops: Vec<Op>,
    captures: usize,
    cwd: CString,
    /// Paths for the error messages, by op index.
    names: Vec<String>,
}

fn cpath(p: &Path) -> Result<CString, String> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| format!("{} contains a NUL byte", p.display()))
}

impl ChildView {
    /// Compile a plan for the child. `userns`: the node is not root (map its ids).
    pub fn compile(plan: &ViewPlan, cwd: &Path, userns: bool) -> Result<Self, String> {
        let mut ops = Vec::new();
        let mut names = Vec::new();
        let mut push = |op: Op, name: String, ops: &mut Vec<Op>| {
            ops.push(op);
            names.push(name);
        };
        // Slots 0..: the devices of the minimal /dev (bound back with device access).
        let mut devices = Vec::new();
        for (i, d) in MIN_DEVICES
            .iter()
            .filter(|d| Path::new(d).exists())
            .enumerate()
        {
            let p = Path::new(d);
            push(Op::Capture { path: cpath(p)? }, (*d).to_string(), &mut ops);
            devices.push((i, cpath(p)?));
        }
        let mut slots = devices.len();
        let mut bind_slots = Vec::new();
        for (p, _) in &plan.binds {
            push(
                Op::Capture { path: cpath(p)? },
                p.display().to_string(),
                &mut ops,
            );
            bind_slots.push(slots);
            slots += 1;
        }
        let mut expose_slots = Vec::new();
        for (d, sub) in &plan.mask_dirs {
            if let Some(s) = sub {
                let p = d.join(s);
                push(
                    Op::Capture { path: cpath(&p)? },
                    p.display().to_string(),
                    &mut ops,
                );
                expose_slots.push(Some(slots));
                slots += 1;
            } else {
                expose_slots.push(None);
            }
        }
        let captures = slots;
        push(Op::MinimalDev { devices }, "/dev".into(), &mut ops);
        for ((p, ro), slot) in plan.binds.iter().zip(bind_slots) {
            let attrs = if *ro {
                MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV
            } else {
                MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV
            };
            push(
                Op::Attach {
                    slot,
                    path: cpath(p)?,
                    attrs,
                },
                p.display().to_string(),
                &mut ops,
            );
        }
        for ((d, sub), slot) in plan.mask_dirs.iter().zip(expose_slots) {
            let expose = match (sub, slot) {
                (Some(s), Some(slot)) => Some((slot, cpath(&d.join(s))?)),
                _ => None,
            };
            push(
                Op::MaskDir {
                    path: cpath(d)?,
                    expose,
                },
                d.display().to_string(),
                &mut ops,
            );
        }
        for f in &plan.mask_files {
            push(
                Op::MaskFile { path: cpath(f)? },
                f.display().to_string(),
                &mut ops,
            );
        }
        if captures > MAX_VIEW_MOUNTS + 8 {
            return Err(format!("the run's view needs {captures} mounts"));
        }
        let userns = userns.then(|| {
            // SAFETY: getuid(2)/getgid(2) have no arguments.
            let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
            UsernsMaps {
                uid_map: format!("{uid} {uid} 1\n").into_bytes(),
                gid_map: format!("{gid} {gid} 1\n").into_bytes(),
            }
        });
        Ok(Self {
            userns,
            ops,
            captures,
            cwd: cpath(cwd)?,
            names,
        })
    }

    /// The path an encoded view error refers to.
    pub fn describe_error(&self, code: i32) -> Option<String> {
        if code & VIEW_ERROR == 0 {
            return None;
        }
        let op = ((code & !VIEW_ERROR) >> 12) as usize;
        let err = std::io::Error::from_raw_os_error(code & 0xfff);
        let step = match op {
            0 => "creating the private namespaces".to_string(),
            1 => "writing the user namespace's id maps".to_string(),
            2 => "making the mount tree private".to_string(),
            3 => "making the root read-only".to_string(),
            4 => "entering the working directory".to_string(),
            n => match (self.ops.get(n - 5), self.names.get(n - 5)) {
                (Some(Op::Capture { .. }), Some(p)) => format!("cloning {p}"),
                (Some(Op::Attach { .. }), Some(p)) => format!("binding {p}"),
                (Some(Op::MaskDir { .. } | Op::MaskFile { .. }), Some(p)) => format!("masking {p}"),
                (Some(Op::MinimalDev { .. }), _) => "building the minimal /dev".to_string(),
                _ => format!("step {n}"),
            },
        };
        Some(format!(
            "cannot build the run's filesystem view ({step}: {err})"
        ))
    }

    /// Build the view in the calling process.
    ///
    /// # Safety
    /// Only in a freshly forked/cloned single-threaded child before `execve`: it changes the
    /// process' namespaces irreversibly. Performs raw syscalls only and never allocates.
    pub unsafe fn apply(&self) -> Result<(), i32> {
        let fail = |op: usize| VIEW_ERROR | ((op as i32) << 12) | (errno() & 0xfff);
        // A private IPC namespace too: SysV shared memory, semaphores and message queues of one
        // run are neither visible to the next nor left behind by the tree kill.
        let mut flags = libc::CLONE_NEWNS | libc::CLONE_NEWIPC;
        if self.userns.is_some() {
            flags |= libc::CLONE_NEWUSER;
        }
        // SAFETY: unshare(2) with integer flags; we are single-threaded (required for NEWUSER).
        if unsafe { libc::unshare(flags) } < 0 {
            return Err(fail(0));
        }
        if let Some(maps) = &self.userns {
            // SAFETY: NUL-terminated static paths and parent-built buffers.
            unsafe {
                if write_file(c"/proc/self/setgroups", b"deny").is_err()
                    || write_file(c"/proc/self/uid_map", &maps.uid_map).is_err()
                    || write_file(c"/proc/self/gid_map", &maps.gid_map).is_err()
                {
                    return Err(fail(1));
                }
            }
        }
        // SAFETY: mount(2) with a static path and NULL source/type/data: changes propagation only.
        if unsafe {
            libc::mount(
                std::ptr::null(),
                c"/".as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_SLAVE,
                std::ptr::null(),
            )
        } < 0
        {
            return Err(fail(2));
        }
        let mut fds = [-1 as libc::c_int; MAX_VIEW_MOUNTS + 8];
        let mut next_slot = 0;
        let mut root_done = false;
        for (i, op) in self.ops.iter().enumerate() {
            let op_code = i + 5;
            if !matches!(op, Op::Capture { .. }) && !root_done {
                // SAFETY: mount_setattr on "/" with a stack-allocated attr.
                if unsafe {
                    setattr(
                        libc::AT_FDCWD,
                        c"/".as_ptr(),
                        AT_RECURSIVE,
                        MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
                    )
                } < 0
                {
                    return Err(fail(3));
                }
                root_done = true;
            }
            match op {
                Op::Capture { path } => {
                    // SAFETY: open_tree(2) with a NUL-terminated path built by the parent.
                    let fd = unsafe {
                        libc::syscall(
                            libc::SYS_open_tree,
                            libc::AT_FDCWD,
                            path.as_ptr(),
                            OPEN_TREE_CLONE
                                | libc::O_CLOEXEC as libc::c_uint
                                | AT_RECURSIVE
                                | libc::AT_SYMLINK_NOFOLLOW as libc::c_uint,
                        )
                    };
                    if fd < 0 || next_slot >= fds.len() {
                        return Err(fail(op_code));
                    }
                    fds[next_slot] = fd as libc::c_int;
                    next_slot += 1;
                }
                Op::Attach { slot, path, attrs } => {
                    let fd = fds[*slot];
                    // SAFETY: attach the detached clone `fd` at `path` (NUL-terminated).
                    if unsafe { attach(fd, path.as_ptr(), *attrs) } < 0 {
                        return Err(fail(op_code));
                    }
                    // SAFETY: close(2) of our own fd.
                    unsafe { libc::close(fd) };
                }
                Op::MaskDir { path, expose } => {
                    // SAFETY: mount(2) of a new tmpfs on a NUL-terminated path; static strings.
                    let rc = unsafe {
                        libc::mount(
                            c"tmpfs".as_ptr(),
                            path.as_ptr(),
                            c"tmpfs".as_ptr(),
                            libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                            c"mode=0555,size=16k".as_ptr().cast(),
                        )
                    };
                    if rc < 0 {
                        return Err(fail(op_code));
                    }
                    if let Some((slot, sub)) = expose {
                        let fd = fds[*slot];
                        // SAFETY: mkdir(2) inside our own tmpfs (NUL-terminated path).
                        if unsafe { libc::mkdir(sub.as_ptr(), 0o555) } < 0 {
                            return Err(fail(op_code));
                        }
                        let ro = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
                        // SAFETY: attach the detached clone `fd` at the NUL-terminated `sub`.
                        if unsafe { attach(fd, sub.as_ptr(), ro) } < 0 {
                            return Err(fail(op_code));
                        }
                        // SAFETY: close(2) of our own fd.
                        unsafe { libc::close(fd) };
                    }
                    // SAFETY: mount_setattr on the tmpfs just mounted (not recursive).
                    if unsafe { setattr(libc::AT_FDCWD, path.as_ptr(), 0, MOUNT_ATTR_RDONLY) } < 0 {
                        return Err(fail(op_code));
                    }
                }
                Op::MinimalDev { devices } => {
                    // SAFETY: as this function's contract; `fds` holds the device clones.
                    if unsafe { minimal_dev(devices, &fds) }.is_err() {
                        return Err(fail(op_code));
                    }
                }
                Op::MaskFile { path } => {
                    // SAFETY: open_tree(2) of the static /dev/null path.
                    let fd = unsafe {
                        libc::syscall(
                            libc::SYS_open_tree,
                            libc::AT_FDCWD,
                            c"/dev/null".as_ptr(),
                            OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint,
                        )
                    };
                    if fd < 0 {
                        return Err(fail(op_code));
                    }
                    let fd = fd as libc::c_int;
                    // SAFETY: attach the /dev/null clone over the NUL-terminated path.
                    let rc = unsafe {
                        attach(
                            fd,
                            path.as_ptr(),
                            MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
                        )
                    };
                    // SAFETY: close(2) of our own fd.
                    unsafe { libc::close(fd) };
                    if rc < 0 {
                        return Err(fail(op_code));
                    }
                }
            }
        }
        debug_assert!(next_slot == self.captures);
        // SAFETY: chdir(2) with the NUL-terminated cwd: re-enter it through the new mounts.
        if unsafe { libc::chdir(self.cwd.as_ptr()) } < 0 {
            return Err(fail(4));
        }
        Ok(())
    }
}

/// Run `program` (no arguments, stdio to `/dev/null`) in a forked child that first builds
/// `view`: the probe behind `sandbox check`, and the benchmark of the view's own cost.
pub fn spawn_in_view(
    view: &std::sync::Arc<ChildView>,
    program: &Path,
) -> std::io::Result<std::process::ExitStatus> {
    use std::os::unix::process::CommandExt;
    let in_child = view.clone();
    let mut cmd = std::process::Command::new(program);
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let hook = move || {
        // SAFETY: `pre_exec` runs this in the forked child before exec, as `apply` requires.
        unsafe { in_child.apply() }.map_err(std::io::Error::from_raw_os_error)
    };
    // SAFETY: the hook only calls `ChildView::apply`, which performs raw syscalls on data
    // prepared in the parent and never allocates.
    unsafe {
        cmd.pre_exec(hook);
    }
    cmd.status()
}

/// `mount_setattr(dfd, path, flags, {attr_set})`.
///
/// # Safety
/// `path` must be NUL-terminated.
pub(super) unsafe fn setattr(
    dfd: libc::c_int,
    path: *const libc::c_char,
    flags: libc::c_uint,
    set: u64,
) -> i64 {
    let attr = MountAttr {
        attr_set: set,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: mount_setattr(2) reads the stack-allocated attr of the given size.
    unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            dfd,
            path,
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    }
}

/// Set `attrs` on the detached tree `fd` (recursively), then attach it at `path`.
///
/// # Safety
/// `path` must be NUL-terminated; `fd` a detached mount from `open_tree(OPEN_TREE_CLONE)`.
pub(super) unsafe fn attach(fd: libc::c_int, path: *const libc::c_char, attrs: u64) -> i64 {
    // SAFETY: AT_EMPTY_PATH on the fd; the empty string is a static NUL-terminated literal.
    let rc = unsafe {
        setattr(
            fd,
            c"".as_ptr(),
            libc::AT_EMPTY_PATH as libc::c_uint | AT_RECURSIVE,
            attrs,
        )
    };
    if rc < 0 {
        return rc;
    }
    // SAFETY: move_mount(2) from the fd (empty path) to the NUL-terminated target.
    unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            fd,
            c"".as_ptr(),
            libc::AT_FDCWD,
            path,
            MOVE_MOUNT_F_EMPTY_PATH,
        )
    }
}

/// Write `data` to `path` with raw syscalls (open, write, close).
///
/// # Safety
/// `path` must be NUL-terminated.
unsafe fn write_file(path: &std::ffi::CStr, data: &[u8]) -> Result<(), ()> {
    // SAFETY: open(2) of a NUL-terminated path.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(());
    }
    // SAFETY: write(2) of the caller's buffer, then close(2) of our fd.
    let n = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
    // SAFETY: close(2) of our own fd.
    unsafe { libc::close(fd) };
    if n == data.len() as isize {
        Ok(())
    } else {
        Err(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(home: &Path) -> NodeProtection {
        NodeProtection {
            home: Some(home.to_path_buf()),
            state_dir: Some(home.join(".openclaw")),
            protected: vec![home.join(".local/bin"), PathBuf::from("/usr/bin")],
            masked_files: vec![],
            other_homes: vec![],
        }
    }

    #[test]
    fn other_users_homes_under_a_writable_root_are_closed() {
        let d = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(d.path()).unwrap();
        std::fs::create_dir_all(root.join("bob/src")).unwrap();
        std::fs::write(root.join("bob/.bashrc"), "x").unwrap();
        let passwd = format!(
            "root:x:0:0::/root:/bin/sh\nbob:x:1000:1000::{}:/bin/sh\nsys:x:2:2::/usr/sbin:/x\n",
            root.join("bob").display()
        );
        let homes = passwd_homes(&passwd);
        assert!(homes.contains(&root.join("bob")) && !homes.iter().any(|h| h.starts_with("/usr")));
        let n = NodeProtection {
            other_homes: homes,
            ..Default::default()
        };
        let p = plan(std::slice::from_ref(&root), &n);
        assert_eq!(
            p.binds,
            vec![
                (root.clone(), false),
                (root.join("bob"), true),
                (root.join("bob/src"), false)
            ]
        );
    }

    fn plan(writable: &[PathBuf], n: &NodeProtection) -> ViewPlan {
        plan_view(&ViewInput {
            writable,
            run_path_dirs: &[],
            node: n,
            strict: false,
            closed_only: false,
            sockets: vec![],
        })
        .unwrap()
    }

    #[test]
    fn home_as_cwd_is_closed_with_non_dot_entries_bound_back() {
        let d = tempfile::tempdir().unwrap();
        let home = std::fs::canonicalize(d.path()).unwrap();
        std::fs::create_dir_all(home.join(".openclaw")).unwrap();
        std::fs::create_dir_all(home.join("proj")).unwrap();
        std::fs::write(home.join("notes.txt"), "x").unwrap();
        std::fs::write(home.join(".profile"), "x").unwrap();
        std::os::unix::fs::symlink("/etc", home.join("etc-link")).unwrap();
        let p = plan(std::slice::from_ref(&home), &node(&home));
        let binds: Vec<_> = p.binds.iter().map(|(p, ro)| (p.clone(), *ro)).collect();
        assert_eq!(
            binds,
            vec![(home.join("notes.txt"), false), (home.join("proj"), false)],
            "dot-entries and symlinks are not bound back"
        );
        assert!(p.read_only_inside.contains(&home));
        assert_eq!(p.mask_dirs, vec![(home.join(".openclaw"), None)]);
    }

    #[test]
    fn home_below_the_cwd_is_closed_too() {
        let d = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(d.path()).unwrap();
        let home = root.join("lab/home");
        std::fs::create_dir_all(home.join(".openclaw")).unwrap();
        std::fs::create_dir_all(home.join("proj")).unwrap();
        let p = plan(std::slice::from_ref(&root), &node(&home));
        assert_eq!(
            p.binds,
            vec![
                (root.clone(), false),
                (root.join("lab"), false),
                (home.clone(), true),
                (home.join("proj"), false)
            ]
        );
    }

    #[test]
    fn existing_protected_dir_below_a_root_pins_the_chain() {
        let d = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(d.path()).unwrap();
        std::fs::create_dir_all(root.join("tools/bin")).unwrap();
        std::fs::create_dir_all(root.join("src")).unwrap();
        let n = NodeProtection {
            protected: vec![root.join("tools/bin")],
            ..Default::default()
        };
        let p = plan(std::slice::from_ref(&root), &n);
        assert_eq!(
            p.binds,
            vec![
                (root.clone(), false),
                (root.join("tools"), false),
                (root.join("tools/bin"), true)
            ]
        );
    }

    #[test]
    fn landlock_fallback_closes_instead_of_pinning() {
        let d = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(d.path()).unwrap();
        std::fs::create_dir_all(root.join("tools/bin")).unwrap();
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::write(root.join("tools/readme"), "x").unwrap();
        let n = NodeProtection {
            protected: vec![root.join("tools/bin")],
            ..Default::default()
        };
        let p = plan_view(&ViewInput {
            writable: std::slice::from_ref(&root),
            run_path_dirs: &[],
            node: &n,
            strict: false,
            closed_only: true,
            sockets: vec![],
        })
        .unwrap();
        // Only entries with nothing protected below them get write rules.
        assert_eq!(
            p.binds,
            vec![
                (root.join("src"), false),
                (root.join("tools/readme"), false)
            ]
        );
    }

    #[test]
    fn missing_protected_name_closes_its_parent_without_a_placeholder() {
        let d = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(d.path()).unwrap();
        std::fs::create_dir_all(root.join("src")).unwrap();
        let n = NodeProtection {
            protected: vec![root.join("bin")],
            ..Default::default()
        };
        let p = plan(std::slice::from_ref(&root), &n);
        assert_eq!(p.binds, vec![(root.join("src"), false)]);
        assert!(!root.join("bin").exists(), "no placeholder on the host");
    }

    #[test]
    fn protected_symlink_protects_its_target() {
        let d = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(d.path()).unwrap();
        std::fs::create_dir_all(root.join("real")).unwrap();
        std::os::unix::fs::symlink(root.join("real"), root.join("bin")).unwrap();
        let n = NodeProtection {
            protected: vec![root.join("bin")],
            ..Default::default()
        };
        let p = plan(std::slice::from_ref(&root), &n);
        // The symlink's directory is closed (the link cannot be replaced) and the target is not
        // bound back.
        assert!(p.binds.is_empty(), "{:?}", p.binds);
    }

    #[test]
    fn cwd_refusals() {
        assert!(refuse_cwd(Path::new("/"), None, &[]).is_some());
        assert!(refuse_cwd(Path::new("/etc"), None, &[]).is_some());
        assert!(refuse_cwd(Path::new("/usr/share"), None, &[]).is_some());
        assert!(refuse_cwd(Path::new("/home"), None, &[]).is_some());
        assert!(refuse_cwd(Path::new("/var/tmp"), None, &[]).is_none());
        assert!(refuse_cwd(Path::new("/tmp"), None, &[]).is_none());
        let d = tempfile::tempdir().unwrap();
        assert!(refuse_cwd(d.path(), Some(d.path()), &[]).is_some());
        // An operator-configured writable root under a system directory is the operator's call.
        let root = [PathBuf::from("/var/lib")];
        assert!(refuse_cwd(Path::new("/var/lib/dpkg"), None, &root).is_none());
        assert!(refuse_cwd(Path::new("/"), None, &[PathBuf::from("/")]).is_some());
        assert!(refuse_cwd(Path::new("/etc"), None, &[PathBuf::from("/")]).is_some());
    }
}
