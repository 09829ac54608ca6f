//! The service's secrets file (`<state>/node.systemd.env`, mode 0600), read by the systemd unit
//! through `EnvironmentFile=` (and sourced by the LaunchAgent wrapper on macOS).
//!
//! Format: `KEY=VALUE` lines; `#`/`;` comments and blank lines. Values are written bare when they
//! only contain safe characters, else double-quoted with `\`, `"`, `$` and `` ` `` escaped, which
//! both systemd and POSIX `sh` read back identically. Lines for keys we do not manage (added by an
//! operator) are kept verbatim on reinstall.

use super::{ServiceError, check_no_control, valid_env_name};

/// Keys `install` copies from the installer's environment into the file (secrets and values that
/// may carry credentials, such as proxy URLs with userinfo).
pub const MANAGED_KEYS: &[&str] = &[
    "OPENCLAW_GATEWAY_TOKEN",
    "OPENCLAW_GATEWAY_PASSWORD",
    "CF_ACCESS_CLIENT_ID",
    "CF_ACCESS_CLIENT_SECRET",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "all_proxy",
];

const HEADER: &str = "# openclaw-node service environment: secrets for the background node host.\n\
# Mode 0600. Read by the service through EnvironmentFile=; never copied into the unit.\n\
# `openclaw-node install` refreshes the OpenClaw/proxy keys; lines you add are kept.\n";

/// Quote a value for the file.
pub fn quote_value(value: &str) -> String {
    let safe = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c));
    if safe {
        return value.to_string();
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if matches!(c, '\\' | '"' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The key of an assignment line (`KEY=…`, optionally prefixed by `export `), if it is one.
pub fn line_key(line: &str) -> Option<&str> {
    let t = line.trim_start();
    if t.starts_with('#') || t.starts_with(';') {
        return None;
    }
    let t = t.strip_prefix("export ").unwrap_or(t).trim_start();
    let (key, _) = t.split_once('=')?;
    let key = key.trim_end();
    valid_env_name(key).then_some(key)
}

/// Keys assigned in an env file's text, in order, without duplicates.
pub fn keys(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        if let Some(k) = line_key(line)
            && !out.iter().any(|o| o == k)
        {
            out.push(k.to_string());
        }
    }
    out
}

/// Merge `set` into `existing` (if any): assignments to keys in `set` are replaced in place (the
/// first occurrence; later duplicates dropped), new keys are appended, everything else is kept.
pub fn merge(existing: Option<&str>, set: &[(String, String)]) -> Result<String, ServiceError> {
    for (k, v) in set {
        if !valid_env_name(k) {
            return Err(ServiceError::InvalidEnvName(k.clone()));
        }
        check_no_control(&format!("environment variable {k}"), v)?;
    }
    let mut out = String::new();
    let mut written: Vec<&str> = Vec::new();
    match existing {
        Some(text) => {
            for line in text.lines() {
                match line_key(line).and_then(|k| set.iter().find(|(sk, _)| sk == k)) {
                    Some((k, v)) => {
                        if !written.contains(&k.as_str()) {
                            out.push_str(&format!("{k}={}\n", quote_value(v)));
                            written.push(k);
                        }
                    }
                    None => {
                        out.push_str(line);
                        out.push('\n');
                    }
                }
            }
        }
        None => out.push_str(HEADER),
    }
    for (k, v) in set {
        if !written.contains(&k.as_str()) {
            out.push_str(&format!("{k}={}\n", quote_value(v)));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(k: &str, v: &str) -> (String, String) {
        (k.to_string(), v.to_string())
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_value("abc-123_x.y"), "abc-123_x.y");
        assert_eq!(quote_value(""), "\"\"");
        assert_eq!(quote_value("a b"), "\"a b\"");
        assert_eq!(quote_value("a\"b$c\\d`"), "\"a\\\"b\\$c\\\\d\\`\"");
    }

    #[test]
    fn quoted_values_read_back_through_sh() {
        let v = "p@ss w\"o$rd\\`x'y";
        let text = merge(None, &[kv("SECRET", v)]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("env");
        std::fs::write(&f, &text).unwrap();
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(". \"$0\"; printf %s \"$SECRET\"")
            .arg(&f)
            .output()
            .unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), v);
    }

    #[test]
    fn complaint_14_operator_lines_survive_reinstall() {
        let existing = "# mine\nEXTRA=1\nOPENCLAW_GATEWAY_TOKEN=old\nexport OTHER=\"x y\"\nOPENCLAW_GATEWAY_TOKEN=dup\n";
        let merged = merge(
            Some(existing),
            &[
                kv("OPENCLAW_GATEWAY_TOKEN", "new"),
                kv("HTTPS_PROXY", "http://p:3128"),
            ],
        )
        .unwrap();
        assert_eq!(
            merged,
            "# mine\nEXTRA=1\nOPENCLAW_GATEWAY_TOKEN=new\nexport OTHER=\"x y\"\nHTTPS_PROXY=http://p:3128\n"
        );
        assert_eq!(
            keys(&merged),
            ["EXTRA", "OPENCLAW_GATEWAY_TOKEN", "OTHER", "HTTPS_PROXY"]
        );
    }

    #[test]
    fn new_file_has_header_and_rejects_newlines() {
        let t = merge(None, &[kv("OPENCLAW_GATEWAY_TOKEN", "t")]).unwrap();
        assert!(t.starts_with("# openclaw-node"));
        assert!(t.ends_with("OPENCLAW_GATEWAY_TOKEN=t\n"));
        assert!(merge(None, &[kv("OPENCLAW_GATEWAY_TOKEN", "a\nB=c")]).is_err());
        assert!(merge(None, &[kv("BAD-NAME", "x")]).is_err());
    }
}
