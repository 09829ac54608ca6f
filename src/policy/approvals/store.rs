//! The store: the file on disk under an advisory `flock`, hash snapshots, atomic `0600` writes
//! with symlink refusal, and the compare-and-set of remote edits.

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::parse::{normalize_remote, parse_text};
use super::schema::{ApprovalsFile, SocketConfig};

/// Largest approvals file we agree to parse.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;
/// Largest number of agent objects in one file.
pub const MAX_AGENTS: usize = 1024;
/// Largest total number of allowlist entries across all agents.
pub const MAX_ENTRIES: usize = 10_000;
/// How long a writer waits for the sidecar lock before reporting `TIMEOUT`.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(5);

/// `sha256("")`: the hash of a missing file.
pub const EMPTY_HASH: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Errors of the store. Messages name the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot read exec approvals {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write exec approvals {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("exec approvals {path} is invalid: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("Refusing to write exec approvals via symlink: {0}")]
    SymlinkTarget(PathBuf),
    #[error("Refusing to traverse symlink in exec approvals path: {0}")]
    SymlinkParent(PathBuf),
    #[error("timed out waiting for the exec approvals lock {0}")]
    LockTimeout(PathBuf),
    #[error("exec approvals base hash required; reload and retry")]
    BaseHashRequired,
    #[error("exec approvals changed; reload and retry")]
    Conflict,
    #[error("exec approvals file required")]
    FileRequired,
}

impl StoreError {
    /// The wire error code for this error (`TIMEOUT` for lock timeouts).
    pub fn kind(&self) -> crate::policy::types::ErrorKind {
        match self {
            Self::LockTimeout(_) => crate::policy::types::ErrorKind::Timeout,
            _ => crate::policy::types::ErrorKind::InvalidRequest,
        }
    }
}

/// `hex(sha256(bytes))`.
pub fn hash_bytes(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Where the policy came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileStatus {
    /// No file: product defaults.
    Missing,
    /// Loaded and valid.
    Valid,
    /// Present but invalid: fail-closed policy (message says why).
    Invalid(String),
    /// Read-only fallback to the legacy `~/.openclaw/exec-approvals.json`.
    Legacy(PathBuf),
}

/// A point-in-time view of the file (EA §2.6).
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub path: PathBuf,
    pub exists: bool,
    pub raw: Option<String>,
    /// `hex(sha256(raw bytes on disk))`, or [`EMPTY_HASH`] for a missing file.
    pub hash: String,
    /// Normalised content (fail-closed content when invalid).
    pub file: ApprovalsFile,
    pub status: FileStatus,
}

impl Snapshot {
    /// The RPC shape `{path, exists, hash, file}` with the token redacted.
    pub fn to_rpc_value(&self) -> Value {
        serde_json::json!({
            "path": self.path.to_string_lossy(),
            "exists": self.exists,
            "hash": self.hash,
            "file": self.file.redacted().to_value(),
        })
    }
}

/// The approvals file on disk.
#[derive(Debug, Clone)]
pub struct Store {
    path: PathBuf,
    legacy: Option<PathBuf>,
    home: Option<PathBuf>,
}

impl Store {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            legacy: None,
            home: None,
        }
    }

    /// Read-only fallback file used when `path` does not exist (EA §2.1).
    pub fn with_legacy(mut self, legacy: Option<PathBuf>) -> Self {
        self.legacy = legacy.filter(|l| *l != self.path);
        self
    }

    /// Home directory: symlinked components between it and the approvals dir are refused.
    pub fn with_home(mut self, home: Option<PathBuf>) -> Self {
        self.home = home;
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The default socket path next to the file.
    pub fn default_socket_path(&self) -> String {
        self.path
            .with_file_name("exec-approvals.sock")
            .to_string_lossy()
            .into_owned()
    }

    fn lock_path(&self) -> PathBuf {
        let mut name = self
            .path
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_default();
        name.push(".lock");
        self.path.with_file_name(name)
    }

    /// Read without writing anything.
    pub fn read_snapshot(&self) -> Result<Snapshot, StoreError> {
        match read_raw(&self.path)? {
            Some(bytes) => Ok(snapshot_from_bytes(&self.path, bytes)),
            None => {
                if let Some(legacy) = &self.legacy
                    && let Ok(Some(bytes)) = read_raw(legacy)
                {
                    let snap = snapshot_from_bytes(legacy, bytes);
                    let file = match snap.status {
                        FileStatus::Valid => snap.file,
                        _ => ApprovalsFile::legacy_fail_closed(),
                    };
                    return Ok(Snapshot {
                        path: self.path.clone(),
                        exists: false,
                        raw: None,
                        hash: EMPTY_HASH.into(),
                        file,
                        status: FileStatus::Legacy(legacy.clone()),
                    });
                }
                Ok(Snapshot {
                    path: self.path.clone(),
                    exists: false,
                    raw: None,
                    hash: EMPTY_HASH.into(),
                    file: ApprovalsFile::default(),
                    status: FileStatus::Missing,
                })
            }
        }
    }

    /// `ensureExecApprovals`: load, normalise, fill socket path/token, and rewrite canonically.
    /// An invalid file is left untouched (fail closed) and reported as such.
    ///
    /// A file that is already canonical is returned without taking the lock or touching the
    /// directory, so `get` works on a read-only approvals directory.
    pub fn ensure(&self) -> Result<Snapshot, StoreError> {
        let snap = self.read_snapshot()?;
        if matches!(snap.status, FileStatus::Invalid(_)) || is_complete_canonical(&snap) {
            return Ok(snap);
        }
        let _lock = self.lock()?;
        let snap = self.read_snapshot()?;
        if matches!(snap.status, FileStatus::Invalid(_)) {
            return Ok(snap);
        }
        let mut file = match snap.status {
            FileStatus::Legacy(_) | FileStatus::Missing => ApprovalsFile {
                // The legacy file is only ever read; the new file starts from its content.
                ..snap.file.clone()
            },
            _ => snap.file.clone(),
        };
        self.fill_socket(&mut file);
        file.ensure_ids();
        let text = file.to_canonical_string();
        if snap.raw.as_deref() == Some(text.as_str()) {
            return Ok(snap);
        }
        self.write_locked(&text)?;
        self.read_snapshot()
    }

    fn fill_socket(&self, file: &mut ApprovalsFile) {
        if file.socket.path.is_none() {
            file.socket.path = Some(self.default_socket_path());
        }
        if file.socket.token.is_none() {
            file.socket.token = Some(generate_token());
        }
    }

    /// Read-modify-write under the lock. `f` gets the current snapshot and returns the new file,
    /// or `None` to leave the file untouched. Refuses to modify an invalid file.
    pub fn update<F>(&self, f: F) -> Result<Snapshot, StoreError>
    where
        F: FnOnce(&Snapshot) -> Result<Option<ApprovalsFile>, StoreError>,
    {
        let _lock = self.lock()?;
        let snap = self.read_snapshot()?;
        if let FileStatus::Invalid(message) = &snap.status {
            return Err(StoreError::Invalid {
                path: self.path.clone(),
                message: message.clone(),
            });
        }
        if matches!(snap.status, FileStatus::Legacy(_)) {
            // Never write based on the read-only legacy content.
            return Ok(snap);
        }
        match f(&snap)? {
            None => Ok(snap),
            Some(mut file) => {
                self.fill_socket(&mut file);
                file.ensure_ids();
                self.write_locked(&file.to_canonical_string())?;
                self.read_snapshot()
            }
        }
    }

    /// `system.execApprovals.set {file, baseHash}` (EA §16.2). A remote `socket.token` is ignored.
    pub fn set_remote(
        &self,
        file: &Value,
        base_hash: Option<&str>,
    ) -> Result<Snapshot, StoreError> {
        if !file.is_object() {
            return Err(StoreError::FileRequired);
        }
        let mut incoming = normalize_remote(file).map_err(|message| StoreError::Invalid {
            path: self.path.clone(),
            message,
        })?;
        let _lock = self.lock()?;
        let current = self.read_snapshot()?;
        let base = base_hash.map(str::trim).filter(|s| !s.is_empty());
        if current.exists {
            match base {
                None => return Err(StoreError::BaseHashRequired),
                Some(b) if b != current.hash => return Err(StoreError::Conflict),
                Some(_) => {}
            }
        } else if let Some(b) = base
            && b != EMPTY_HASH
        {
            return Err(StoreError::Conflict);
        }
        // Socket defaults: path = incoming ?? current ?? default; token = current ?? generated.
        let current_socket = if matches!(current.status, FileStatus::Valid) {
            current.file.socket.clone()
        } else {
            current
                .raw
                .as_deref()
                .and_then(|r| serde_json::from_str::<Value>(r).ok())
                .and_then(|v| v.get("socket").cloned())
                .and_then(|s| serde_json::from_value::<SocketConfig>(s).ok())
                .unwrap_or_default()
        };
        if incoming.socket.token.is_some() {
            tracing::warn!("exec approvals set: ignoring a remote socket.token");
        }
        incoming.socket.token = current_socket.token.filter(|t| !t.trim().is_empty());
        if incoming.socket.path.is_none() {
            incoming.socket.path = current_socket.path;
        }
        self.fill_socket(&mut incoming);
        incoming.ensure_ids();
        self.write_locked(&incoming.to_canonical_string())?;
        self.read_snapshot()
    }

    /// Take the advisory lock on the sidecar file (creating the directory if needed).
    pub fn lock(&self) -> Result<StoreLock, StoreError> {
        self.ensure_dir()?;
        let lock_path = self.lock_path();
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&lock_path)
            .map_err(|source| StoreError::Write {
                path: lock_path.clone(),
                source,
            })?;
        let deadline = Instant::now() + LOCK_TIMEOUT;
        let mut file = file;
        loop {
            match nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusiveNonblock) {
                Ok(lock) => return Ok(StoreLock { _lock: lock }),
                Err((f, nix::errno::Errno::EWOULDBLOCK)) if Instant::now() < deadline => {
                    file = f;
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err((_, nix::errno::Errno::EWOULDBLOCK)) => {
                    return Err(StoreError::LockTimeout(lock_path));
                }
                Err((_, e)) => {
                    return Err(StoreError::Write {
                        path: lock_path,
                        source: std::io::Error::from(e),
                    });
                }
            }
        }
    }

    fn ensure_dir(&self) -> Result<(), StoreError> {
        let dir = self
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        // Refuse symlinked components between the home root and the directory.
        if let Some(home) = &self.home
            && let Ok(rel) = dir.strip_prefix(home)
        {
            let mut cur = home.clone();
            for comp in rel.components() {
                cur.push(comp);
                if fs::symlink_metadata(&cur).is_ok_and(|m| m.file_type().is_symlink()) {
                    return Err(StoreError::SymlinkParent(cur));
                }
            }
        }
        match fs::symlink_metadata(dir) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(StoreError::SymlinkParent(dir.to_path_buf()));
            }
            Ok(m) if !m.is_dir() => {
                return Err(StoreError::Write {
                    path: dir.to_path_buf(),
                    source: std::io::Error::other("not a directory"),
                });
            }
            Ok(_) => {}
            Err(_) => {
                fs::create_dir_all(dir).map_err(|source| StoreError::Write {
                    path: dir.to_path_buf(),
                    source,
                })?;
            }
        }
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(|source| {
            StoreError::Write {
                path: dir.to_path_buf(),
                source,
            }
        })
    }

    /// Atomic write (caller holds the lock): temp file in the same dir, 0600, rename.
    fn write_locked(&self, text: &str) -> Result<(), StoreError> {
        self.ensure_dir()?;
        if fs::symlink_metadata(&self.path).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(StoreError::SymlinkTarget(self.path.clone()));
        }
        let prefix = format!(".exec-approvals.{}.", std::process::id());
        crate::util::write_atomic(&self.path, text.as_bytes(), 0o600, &prefix).map_err(|source| {
            StoreError::Write {
                path: self.path.clone(),
                source,
            }
        })
    }
}

/// A valid file on disk that `ensure` would not change: socket path and token set, every entry
/// has an id, and the bytes are the canonical serialisation.
fn is_complete_canonical(snap: &Snapshot) -> bool {
    let f = &snap.file;
    matches!(snap.status, FileStatus::Valid)
        && f.socket.path.is_some()
        && f.socket.token.is_some()
        && f.agents.values().all(|a| {
            a.allowlist
                .iter()
                .flatten()
                .all(|e| e.id.as_deref().is_some_and(|s| !s.trim().is_empty()))
        })
        && snap.raw.as_deref() == Some(f.to_canonical_string().as_str())
}

/// Holds the sidecar `flock` until dropped.
#[derive(Debug)]
pub struct StoreLock {
    _lock: nix::fcntl::Flock<File>,
}

fn read_raw(path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        // A dangling symlink is not a missing file: someone meant a file to be there. Fail
        // closed and say so instead of silently running with the defaults.
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound
                && fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) =>
        {
            let target = fs::read_link(path).unwrap_or_default();
            return Err(StoreError::Read {
                path: path.to_path_buf(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!(
                        "dangling symlink (its target {} does not exist)",
                        target.display()
                    ),
                ),
            });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(StoreError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    if meta.len() > MAX_FILE_BYTES as u64 {
        // Hash the bytes anyway is pointless for a huge file: report it invalid without reading
        // more than the limit + 1.
        use std::io::Read;
        let mut buf = Vec::new();
        let f = File::open(path).map_err(|source| StoreError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        f.take(MAX_FILE_BYTES as u64 + 1)
            .read_to_end(&mut buf)
            .map_err(|source| StoreError::Read {
                path: path.to_path_buf(),
                source,
            })?;
        return Ok(Some(buf));
    }
    fs::read(path).map(Some).map_err(|source| StoreError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn snapshot_from_bytes(path: &Path, bytes: Vec<u8>) -> Snapshot {
    let hash = hash_bytes(&bytes);
    let parsed = if bytes.len() > MAX_FILE_BYTES {
        Err(format!(
            "file is larger than the {MAX_FILE_BYTES}-byte limit"
        ))
    } else {
        match String::from_utf8(bytes.clone()) {
            Ok(text) => parse_text(&text),
            Err(_) => Err("file is not valid UTF-8".into()),
        }
    };
    let raw = String::from_utf8(bytes).ok();
    match parsed {
        Ok(file) => Snapshot {
            path: path.to_path_buf(),
            exists: true,
            raw,
            hash,
            file,
            status: FileStatus::Valid,
        },
        Err(message) => {
            tracing::warn!(path = %path.display(), %message, "exec approvals invalid; failing closed");
            Snapshot {
                path: path.to_path_buf(),
                exists: true,
                raw,
                hash,
                file: ApprovalsFile::fail_closed(),
                status: FileStatus::Invalid(message),
            }
        }
    }
}

/// 24 random bytes, base64url without padding.
pub fn generate_token() -> String {
    use base64::Engine as _;
    use rand::RngCore as _;
    let mut bytes = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
