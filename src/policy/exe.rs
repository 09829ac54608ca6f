//! Executable resolution (EA §6): `~` expansion, path tokens against the cwd, bare names through
//! the node's PATH (never a request-supplied PATH), regular + executable files only, realpath.
//! The PATH search stops at the first empty or relative entry (the shell would search the cwd
//! there), so a name found only after one does not resolve.
//!
//! Intentional difference: argv0 is **not** trimmed before resolution. Upstream trims it, which
//! lets `"rg "` be analysed as `rg` while the spawn would run another file (CVE-2026-32065); here
//! the exact token is resolved, so such a token simply does not resolve.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::fsview::{FsView, Kind, normalize};

/// Where an argv0 token led.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Resolution {
    /// The token as given.
    pub raw: String,
    /// The path found (lexically normalised), if any.
    pub resolved_path: Option<PathBuf>,
    /// `realpath(resolved_path)`: the trust path that is matched and pinned.
    pub real_path: Option<PathBuf>,
    /// `basename(resolved_path)`, or the raw token when unresolved.
    pub executable_name: String,
    /// The token was a bare name (no `/`, `\`, `~`) looked up on PATH.
    pub bare: bool,
}

/// Expand a leading `~` / `~/` with `home`.
pub fn expand_home(token: &str, home: Option<&Path>) -> Option<PathBuf> {
    if token == "~" {
        return home.map(Path::to_path_buf);
    }
    if let Some(rest) = token.strip_prefix("~/") {
        return home.map(|h| h.join(rest));
    }
    None
}

/// Make `token` an absolute, lexically normalised path (relative to `cwd`).
pub fn absolutize(token: &str, cwd: &Path, home: Option<&Path>) -> PathBuf {
    if let Some(p) = expand_home(token, home) {
        return normalize(&p);
    }
    let p = Path::new(token);
    if p.is_absolute() {
        normalize(p)
    } else {
        normalize(&cwd.join(p))
    }
}

/// `Some(realpath)` when `p` is a regular executable file.
fn exec_file(fs: &dyn FsView, p: &Path) -> Option<PathBuf> {
    fs.stat_real(p)
        .filter(|(i, _)| i.kind == Kind::File && i.executable)
        .map(|(_, real)| real)
}

/// Resolve argv0. `cwd` must be absolute; `path_env` is the node PATH.
pub fn resolve(token: &str, cwd: &Path, path_env: &str, fs: &dyn FsView) -> Resolution {
    let bare = !token.contains(['/', '\\']) && !token.starts_with('~');
    let mut resolved = None;
    let mut real_path = None;
    if token.is_empty() || token.contains('\0') {
        // Nothing to resolve.
    } else if bare {
        for dir in path_env.split(':') {
            // An empty or relative PATH entry is searched by the shell relative to its cwd
            // (`./uname` would run instead of `/usr/bin/uname`): a name not found before such an
            // entry does not resolve (fail closed); one found earlier is what the shell finds too.
            if dir.is_empty() || !dir.starts_with('/') {
                break;
            }
            let cand = normalize(&Path::new(dir).join(token));
            if let Some(real) = exec_file(fs, &cand) {
                resolved = Some(cand);
                real_path = Some(real);
                break;
            }
        }
    } else {
        let home = fs.home();
        let p = absolutize(token, cwd, home.as_deref());
        if let Some(real) = exec_file(fs, &p) {
            resolved = Some(p);
            real_path = Some(real);
        }
    }
    let executable_name = resolved
        .as_ref()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| token.to_string());
    Resolution {
        raw: token.to_string(),
        resolved_path: resolved,
        real_path,
        executable_name,
        bare,
    }
}

impl Resolution {
    /// The trust path (realpath, else the resolved path).
    pub fn trust_path(&self) -> Option<&Path> {
        self.real_path.as_deref().or(self.resolved_path.as_deref())
    }
}
