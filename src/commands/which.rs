//! `system.which {bins}`: which of the named programs the node's PATH has.

use std::path::Path;

use serde_json::{Value, json};

use super::{InvokeError, decode_params};

/// Largest number of names in one `system.which`.
pub const MAX_WHICH_BINS: usize = 1024;

/// A decoded `system.which` invoke.
#[derive(Debug)]
pub struct Which {
    params: Value,
}

impl Which {
    /// `paramsJSON` is required.
    pub fn parse(params_json: Option<&str>) -> Result<Self, InvokeError> {
        Ok(Self {
            params: decode_params(params_json, true)?,
        })
    }

    pub fn apply(self, path_env: &str) -> Result<Value, InvokeError> {
        system_which(&self.params, path_env)
    }
}

/// `system.which {bins}` → `{bins: {name: path}}`, only names found on `path_env`; names with a
/// path separator or NUL are skipped.
pub fn system_which(params: &Value, path_env: &str) -> Result<Value, InvokeError> {
    let Some(bins) = params.get("bins").and_then(Value::as_array) else {
        return Err(InvokeError::invalid(
            "Error: INVALID_REQUEST: bins required",
        ));
    };
    if bins.len() > MAX_WHICH_BINS {
        return Err(InvokeError::invalid(format!(
            "too many bins ({}); at most {MAX_WHICH_BINS} per call",
            bins.len()
        )));
    }
    let dirs: Vec<&str> = path_env.split(':').filter(|d| !d.is_empty()).collect();
    let mut found = serde_json::Map::new();
    for b in bins {
        let Some(name) = b.as_str().map(str::trim) else {
            continue;
        };
        if name.is_empty()
            || name.contains('/')
            || name.contains('\\')
            || name.contains('\0')
            || found.contains_key(name)
        {
            continue;
        }
        for d in &dirs {
            let candidate = Path::new(d).join(name);
            if is_executable_file(&candidate) {
                found.insert(
                    name.to_string(),
                    Value::String(candidate.to_string_lossy().into_owned()),
                );
                break;
            }
        }
    }
    Ok(json!({ "bins": found }))
}

fn is_executable_file(p: &Path) -> bool {
    match std::fs::metadata(p) {
        Ok(m) if m.is_file() => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                m.permissions().mode() & 0o111 != 0
            }
            #[cfg(not(unix))]
            {
                true
            }
        }
        _ => false,
    }
}
