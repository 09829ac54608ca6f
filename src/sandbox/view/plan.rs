//! The pure half of the view: [`plan_view`] turns the run's writable roots and what the node
//! protects into binds, read-only re-binds and masks, in the parent, before anything is forked;
//! [`refuse_cwd`] refuses cwds that would void it.

use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

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
