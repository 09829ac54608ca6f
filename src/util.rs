//! Leaf helpers every layer uses, defined once: the atomic file writer (every state, approvals
//! and service file), the wall clock in milliseconds, and the default PATH. Imports nothing from
//! the crate, so any module may depend on it without a circle.

use std::io::Write;
use std::path::Path;

/// The PATH a node uses when its environment has none (also the base of the service PATH).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Current unix time in ms.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Write `bytes` to `path` atomically with `mode`: a temp file created with that mode in the
/// same directory (so it never exists with a wider one), written and fsynced, renamed over
/// `path`, then the directory fsynced so the rename survives a crash. Missing parent
/// directories are created with mode 0700. A `path` that is a symlink is refused: replacing it
/// would silently drop the link the operator made, and following it would write elsewhere.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32, prefix: &str) -> std::io::Result<()> {
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(std::io::Error::other(
            "it is a symlink; refusing to replace it (point the setting at the real file)",
        ));
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    ensure_dir(dir, 0o700)?;
    let mut b = tempfile::Builder::new();
    b.prefix(prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        b.permissions(std::fs::Permissions::from_mode(mode));
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut tmp = b.tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // The umask does not apply to an explicit chmod: the final mode is exactly `mode`.
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Create `dir` (and parents) if missing; new directories get `mode`.
pub fn ensure_dir(dir: &Path, mode: u32) -> std::io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    b.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_atomic_sets_mode_replaces_and_refuses_symlinks() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/f.json");
        write_atomic(&p, b"one", 0o600, ".t").unwrap();
        write_atomic(&p, b"two", 0o600, ".t").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let m = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(m, 0o600);
        let d = std::fs::metadata(p.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(d, 0o700);
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&p, &link).unwrap();
        let e = write_atomic(&link, b"three", 0o600, ".t").unwrap_err();
        assert!(e.to_string().contains("symlink"), "{e}");
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        // No temp file is left behind.
        let left: Vec<_> = std::fs::read_dir(p.parent().unwrap()).unwrap().collect();
        assert_eq!(left.len(), 1);
    }
}
