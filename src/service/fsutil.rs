//! Small filesystem helpers for service files: tolerant reads and removals. Atomic writes use
//! the shared [`crate::gateway::state::write_atomic`].

use std::path::Path;

use super::ServiceError;

/// Remove a file; a missing file is not an error. Returns whether something was removed.
pub fn remove_if_exists(path: &Path) -> Result<bool, ServiceError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(ServiceError::Remove {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Read a file as UTF-8; `Ok(None)` when it does not exist.
pub fn read_optional(path: &Path) -> Result<Option<String>, ServiceError> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ServiceError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remove_missing_is_ok() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!remove_if_exists(&dir.path().join("nope")).unwrap());
    }
}
