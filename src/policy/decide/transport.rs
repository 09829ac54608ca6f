//! The top-level shell transport (`/bin/sh -lc X`, EA §7.3): finding it, trusting it only when
//! the shell resolves into `/bin` or `/usr/bin`, the rawCommand binding (EA §4.2), and the
//! login-shell PATH carrier.

use std::path::Path;

use serde_json::Value;

use crate::policy::analysis::wrappers::Unwrapped;
use crate::policy::analysis::{ShellForm, is_posix_shell, normalized_name, shell_form};
use crate::policy::exe::{self};
use crate::policy::fsview::FsView;
use crate::policy::plan::RunRequest;

use super::*;

/// Where the shell payload of a request argv is, if any.
#[derive(Debug, Clone)]
pub(super) struct Transport {
    /// The unwrapped argv (shell first).
    pub(super) argv: Vec<String>,
    pub(super) payload_index: usize,
    /// Offset of `argv` inside the request argv.
    pub(super) offset: usize,
}

pub(super) fn find_transport(argv: &[String], u: &Unwrapped) -> Option<Transport> {
    if u.blocked.is_some() {
        return None;
    }
    let first = u.argv.first()?;
    if !is_posix_shell(&normalized_name(first)) {
        return None;
    }
    match shell_form(&u.argv) {
        ShellForm::Inline { payload_index } => Some(Transport {
            argv: u.argv.clone(),
            payload_index,
            offset: argv.len() - u.argv.len(),
        }),
        _ => None,
    }
}

/// Is the transport shell trusted (resolves into `/bin` or `/usr/bin`)?
pub(super) fn trusted_transport(
    argv: &[String],
    t: &Transport,
    u: &Unwrapped,
    cwd: &Path,
    ctx: &Context<'_>,
    fs: &dyn FsView,
) -> bool {
    let trusted = |tok: &str| {
        let r = exe::resolve(tok, cwd, ctx.node_path, fs);
        r.trust_path()
            .and_then(Path::parent)
            .is_some_and(|d| d == Path::new("/bin") || d == Path::new("/usr/bin"))
    };
    if u.multiplexer.is_some() {
        // The multiplexer binary sits just before the applet (optionally followed by `--`).
        let mut j = t.offset;
        while j > 0 {
            j -= 1;
            let n = normalized_name(&argv[j]);
            if n == "busybox" || n == "toybox" {
                return trusted(&argv[j]);
            }
        }
        return false;
    }
    trusted(&t.argv[0])
}

/// EA §4.2: a non-blank `rawCommand` (trimmed) must equal the canonical command text or the
/// shell preview (trimmed payload, only without env-modifying wrappers and positional args).
pub(super) fn check_raw_command(
    req: &RunRequest,
    command_text: &str,
    u0: &Unwrapped,
    transport: Option<&Transport>,
) -> Result<(), Value> {
    let Some(raw) = req
        .raw_command
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
    else {
        return Ok(());
    };
    let preview = transport.and_then(|t| {
        let positional = t.argv[t.payload_index + 1..]
            .iter()
            .any(|a| !a.trim().is_empty());
        (!u0.env_modifying && !positional).then(|| t.argv[t.payload_index].trim().to_string())
    });
    if raw == command_text || preview.as_deref() == Some(raw) {
        return Ok(());
    }
    Err(serde_json::json!({
        "code": "RAW_COMMAND_MISMATCH",
        "rawCommand": raw,
        "inferred": command_text,
        "formattedArgv": command_text,
    }))
}

/// argv exactly `<sh|bash|dash|zsh> -l…c <payload>`.
pub fn is_login_shell_carrier(argv: &[String]) -> bool {
    if argv.len() != 3 {
        return false;
    }
    let name = normalized_name(&argv[0]);
    if !matches!(name.as_str(), "sh" | "bash" | "dash" | "zsh") {
        return false;
    }
    let f = argv[1].as_str();
    f.starts_with("-l") && f.ends_with('c') && f[1..].chars().all(|c| c.is_ascii_alphabetic())
}
