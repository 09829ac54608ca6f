//! The filesystem view the decision reads through: [`RealFs`] for the node, [`VirtualFs`] (an
//! in-memory tree) for tests, benches and fuzzing. Deciding is a pure function of
//! (compiled policy, request, filesystem view).

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};

/// What `stat`/`lstat` report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Other,
}

/// Metadata the engine needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileInfo {
    pub kind: Kind,
    /// The node user may execute it (`X_OK`).
    pub executable: bool,
    pub dev: u64,
    pub ino: u64,
}

/// Read-only filesystem access used by resolution and approval binding.
pub trait FsView: Send + Sync + std::fmt::Debug {
    /// `stat` (follows symlinks).
    fn stat(&self, path: &Path) -> Option<FileInfo>;
    /// `lstat` (does not follow the last component).
    fn lstat(&self, path: &Path) -> Option<FileInfo>;
    /// `realpath`.
    fn realpath(&self, path: &Path) -> Option<PathBuf>;
    /// `stat` + `realpath` in one call (implementations may share the lookup).
    fn stat_real(&self, path: &Path) -> Option<(FileInfo, PathBuf)> {
        Some((self.stat(path)?, self.realpath(path)?))
    }
    /// Whole file content (for operand hashing).
    fn read(&self, path: &Path) -> Option<Vec<u8>>;
    /// Whether the node user can write into `dir`.
    fn writable(&self, dir: &Path) -> bool;
    /// `$HOME` for `~` expansion.
    fn home(&self) -> Option<PathBuf>;
    /// The node process cwd (default request cwd).
    fn cwd(&self) -> PathBuf;
}

/// Lexically normalise an absolute path (`.`/`..` removed, like `path.resolve`).
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in path.components() {
        match c {
            Component::RootDir | Component::Prefix(_) | Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => out.push(n),
        }
    }
    out
}

/// The real filesystem of this host.
#[derive(Debug, Clone, Default)]
pub struct RealFs {
    pub home: Option<PathBuf>,
}

impl RealFs {
    /// Uses `$HOME` for `~` expansion.
    pub fn from_env() -> Self {
        Self {
            home: std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(PathBuf::from),
        }
    }
}

fn info_from(meta: &std::fs::Metadata, path: &Path) -> FileInfo {
    use std::os::unix::fs::MetadataExt;
    let ft = meta.file_type();
    let kind = if ft.is_symlink() {
        Kind::Symlink
    } else if ft.is_file() {
        Kind::File
    } else if ft.is_dir() {
        Kind::Dir
    } else {
        Kind::Other
    };
    let executable = kind == Kind::File
        && meta.mode() & 0o111 != 0
        && nix::unistd::access(path, nix::unistd::AccessFlags::X_OK).is_ok();
    FileInfo {
        kind,
        executable,
        dev: meta.dev(),
        ino: meta.ino(),
    }
}

impl FsView for RealFs {
    fn stat(&self, path: &Path) -> Option<FileInfo> {
        std::fs::metadata(path).ok().map(|m| info_from(&m, path))
    }
    fn lstat(&self, path: &Path) -> Option<FileInfo> {
        std::fs::symlink_metadata(path)
            .ok()
            .map(|m| info_from(&m, path))
    }
    fn realpath(&self, path: &Path) -> Option<PathBuf> {
        std::fs::canonicalize(path).ok()
    }
    fn read(&self, path: &Path) -> Option<Vec<u8>> {
        std::fs::read(path).ok()
    }
    fn writable(&self, dir: &Path) -> bool {
        nix::unistd::access(dir, nix::unistd::AccessFlags::W_OK).is_ok()
    }
    fn home(&self) -> Option<PathBuf> {
        self.home.clone()
    }
    fn cwd(&self) -> PathBuf {
        std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"))
    }
}

/// A node of the virtual tree.
#[derive(Debug, Clone, PartialEq)]
pub enum VNode {
    File { executable: bool, content: Vec<u8> },
    Dir { writable: bool },
    Symlink(PathBuf),
}

/// An in-memory filesystem for tests, benches and fuzzing. Parent directories are implicit.
/// Paths are kept as normalised strings so lookups are cheap.
#[derive(Debug, Clone, Default)]
pub struct VirtualFs {
    nodes: HashMap<String, VNode>,
    /// Every ancestor directory of a node (implicit directories).
    dirs: HashSet<String>,
    home: Option<PathBuf>,
    cwd: PathBuf,
}

fn ancestors_of(p: &str) -> impl Iterator<Item = &str> {
    p.char_indices()
        .filter(|&(i, c)| c == '/' && i > 0)
        .map(move |(i, _)| &p[..i])
        .chain(std::iter::once("/"))
}

impl VirtualFs {
    pub fn new() -> Self {
        Self {
            nodes: HashMap::new(),
            dirs: HashSet::new(),
            home: Some(PathBuf::from("/home/u")),
            cwd: PathBuf::from("/home/u"),
        }
    }

    /// The §19 conventions: PATH `/usr/bin:/bin`; `/usr/bin/{rg,jq,python3,env,head,tail,tr,wc,
    /// cut,sort,grep,id,echo,cat,touch,timeout,nice,sudo}`, `/bin/sh`, `/bin/bash` executables
    /// (plus a few more used by tests: `true`, `rm`, `sleep`, `busybox`, `nohup`, `awk`, `node`,
    /// `tsx`, `curl`, `/bin/echo`).
    pub fn conventions() -> Self {
        let mut fs = Self::new();
        for b in [
            "rg", "jq", "python3", "env", "head", "tail", "tr", "wc", "cut", "sort", "grep", "id",
            "echo", "cat", "touch", "timeout", "nice", "sudo", "true", "rm", "sleep", "busybox",
            "nohup", "awk", "node", "tsx", "curl",
        ] {
            fs.add_exe(&format!("/usr/bin/{b}"));
        }
        fs.add_exe("/bin/sh");
        fs.add_exe("/bin/bash");
        fs.add_exe("/bin/echo");
        fs.add_dir("/home/u", true);
        fs.add_dir("/tmp", true);
        fs
    }

    pub fn with_home(mut self, home: Option<&str>) -> Self {
        self.home = home.map(PathBuf::from);
        self
    }

    pub fn set_cwd(&mut self, cwd: &str) {
        self.cwd = PathBuf::from(cwd);
    }

    fn insert(&mut self, path: &str, node: VNode) {
        let key = normalize(Path::new(path)).to_string_lossy().into_owned();
        for a in ancestors_of(&key) {
            self.dirs.insert(a.to_string());
        }
        self.nodes.insert(key, node);
    }

    pub fn add_exe(&mut self, path: &str) {
        let content = format!("#!bin {path}").into_bytes();
        self.insert(
            path,
            VNode::File {
                executable: true,
                content,
            },
        );
    }

    pub fn add_file(&mut self, path: &str, content: &[u8], executable: bool) {
        self.insert(
            path,
            VNode::File {
                executable,
                content: content.to_vec(),
            },
        );
    }

    pub fn add_dir(&mut self, path: &str, writable: bool) {
        self.insert(path, VNode::Dir { writable });
    }

    pub fn add_symlink(&mut self, path: &str, target: &str) {
        self.insert(path, VNode::Symlink(PathBuf::from(target)));
    }

    pub fn remove(&mut self, path: &str) {
        let p = normalize(Path::new(path)).to_string_lossy().into_owned();
        let prefix = format!("{p}/");
        self.nodes.retain(|k, _| *k != p && !k.starts_with(&prefix));
        let keys: Vec<String> = self.nodes.keys().cloned().collect();
        self.dirs.clear();
        for k in keys {
            for a in ancestors_of(&k) {
                self.dirs.insert(a.to_string());
            }
        }
    }

    fn exists(&self, p: &str) -> bool {
        p == "/" || self.nodes.contains_key(p) || self.dirs.contains(p)
    }

    /// Resolve every symlink in `path`; `follow_last` decides the last component.
    fn resolve(&self, path: &Path, follow_last: bool) -> Option<String> {
        let text = path.to_str()?;
        // Pending components, in reverse order.
        let mut todo: Vec<&str> = text
            .split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .rev()
            .collect();
        let mut cur = String::with_capacity(text.len() + 8);
        let mut hops = 0;
        while let Some(name) = todo.pop() {
            if name == ".." {
                match cur.rfind('/') {
                    Some(i) => cur.truncate(i),
                    None => cur.clear(),
                }
                continue;
            }
            let base = cur.len();
            cur.push('/');
            cur.push_str(name);
            let is_last = todo.is_empty();
            match self.nodes.get(cur.as_str()) {
                Some(VNode::Symlink(target)) if follow_last || !is_last => {
                    hops += 1;
                    if hops > 40 {
                        return None;
                    }
                    cur.truncate(base);
                    let t = target.to_str()?;
                    if t.starts_with('/') {
                        cur.clear();
                    }
                    todo.extend(t.split('/').filter(|c| !c.is_empty() && *c != ".").rev());
                }
                Some(_) => {}
                None if self.dirs.contains(cur.as_str()) => {}
                None => return None,
            }
        }
        if cur.is_empty() {
            cur.push('/');
        }
        Some(cur)
    }

    fn info(&self, p: &str) -> Option<FileInfo> {
        let node = self.nodes.get(p);
        if node.is_none() && p != "/" && !self.dirs.contains(p) {
            return None;
        }
        let ino = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            p.hash(&mut h);
            h.finish()
        };
        let (kind, executable) = match node {
            Some(VNode::File { executable, .. }) => (Kind::File, *executable),
            Some(VNode::Dir { .. }) => (Kind::Dir, false),
            Some(VNode::Symlink(_)) => (Kind::Symlink, false),
            None => (Kind::Dir, false),
        };
        Some(FileInfo {
            kind,
            executable,
            dev: 1,
            ino,
        })
    }
}

impl FsView for VirtualFs {
    fn stat(&self, path: &Path) -> Option<FileInfo> {
        let real = self.resolve(path, true)?;
        self.info(&real)
    }
    fn lstat(&self, path: &Path) -> Option<FileInfo> {
        let p = self.resolve(path, false)?;
        self.info(&p)
    }
    fn realpath(&self, path: &Path) -> Option<PathBuf> {
        let real = self.resolve(path, true)?;
        self.exists(&real).then(|| PathBuf::from(real))
    }
    fn stat_real(&self, path: &Path) -> Option<(FileInfo, PathBuf)> {
        let real = self.resolve(path, true)?;
        let info = self.info(&real)?;
        Some((info, PathBuf::from(real)))
    }
    fn read(&self, path: &Path) -> Option<Vec<u8>> {
        let real = self.resolve(path, true)?;
        match self.nodes.get(&real) {
            Some(VNode::File { content, .. }) => Some(content.clone()),
            _ => None,
        }
    }
    fn writable(&self, dir: &Path) -> bool {
        match self.resolve(dir, true).and_then(|p| self.nodes.get(&p)) {
            Some(VNode::Dir { writable }) => *writable,
            _ => false,
        }
    }
    fn home(&self) -> Option<PathBuf> {
        self.home.clone()
    }
    fn cwd(&self) -> PathBuf {
        self.cwd.clone()
    }
}
