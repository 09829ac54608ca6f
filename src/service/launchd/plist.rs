//! The LaunchAgent plist: renderer and a reader for the `ProgramArguments` and
//! `EnvironmentVariables` of a plist we wrote (for `status`). Pure; built and tested on every
//! platform.
//!
//! Secrets are not written into the plist: `ProgramArguments` start with a tiny `/bin/sh`
//! wrapper that sources the 0600 environment file (when readable) and `exec`s the node, so the
//! plist itself can stay 0644 like any other LaunchAgent.

use std::path::{Path, PathBuf};

use crate::service::{ServiceError, check_no_control, valid_env_name};

/// Shell wrapper run as `/bin/sh -c WRAPPER <env-file> <program> <args…>`.
pub const ENV_WRAPPER: &str = "if [ -r \"$0\" ]; then set -a; . \"$0\"; set +a; fi; exec \"$@\"";

/// What goes into the plist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlistSpec {
    pub label: String,
    pub comment: String,
    /// The node's own argv (absolute program first).
    pub program_arguments: Vec<String>,
    /// When set, the argv is wrapped so this file is sourced first.
    pub environment_file: Option<PathBuf>,
    pub environment: Vec<(String, String)>,
    pub working_directory: Option<PathBuf>,
    pub stdout_path: PathBuf,
    pub stderr_path: PathBuf,
}

/// Escape text for an XML element body.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Undo [`xml_escape`] (`&amp;` last, so an escaped entity stays literal text).
fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn path_str<'a>(what: &str, p: &'a Path) -> Result<&'a str, ServiceError> {
    p.to_str()
        .ok_or_else(|| ServiceError::Invalid(format!("{what} {} is not valid UTF-8", p.display())))
}

/// The full argv launchd runs (wrapper included when an environment file is configured).
pub fn launch_argv(spec: &PlistSpec) -> Result<Vec<String>, ServiceError> {
    let mut argv = Vec::new();
    if let Some(f) = &spec.environment_file {
        argv.push("/bin/sh".to_string());
        argv.push("-c".to_string());
        argv.push(ENV_WRAPPER.to_string());
        argv.push(path_str("the environment file", f)?.to_string());
    }
    argv.extend(spec.program_arguments.iter().cloned());
    Ok(argv)
}

/// Render the plist XML.
pub fn render_plist(spec: &PlistSpec) -> Result<String, ServiceError> {
    let Some(program) = spec.program_arguments.first() else {
        return Err(ServiceError::Invalid("empty service command line".into()));
    };
    if !program.starts_with('/') {
        return Err(ServiceError::Invalid(format!(
            "the service program {program:?} must be an absolute path"
        )));
    }
    let argv = launch_argv(spec)?;
    for a in &spec.program_arguments {
        check_no_control("a service command-line argument", a)?;
    }
    check_no_control("the service label", &spec.label)?;
    check_no_control("the service comment", &spec.comment)?;
    let string = |indent: &str, v: &str| format!("{indent}<string>{}</string>\n", xml_escape(v));
    let mut s = String::new();
    s.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    s.push_str("<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n");
    s.push_str("<plist version=\"1.0\">\n<dict>\n");
    s.push_str("  <key>Label</key>\n");
    s.push_str(&string("  ", &spec.label));
    s.push_str("  <key>Comment</key>\n");
    s.push_str(&string("  ", &spec.comment));
    s.push_str("  <key>RunAtLoad</key>\n  <true/>\n");
    // Restart after a crash, but not after a clean exit.
    s.push_str("  <key>KeepAlive</key>\n  <dict>\n    <key>SuccessfulExit</key>\n    <false/>\n  </dict>\n");
    s.push_str("  <key>ThrottleInterval</key>\n  <integer>10</integer>\n");
    s.push_str("  <key>ExitTimeOut</key>\n  <integer>30</integer>\n");
    s.push_str("  <key>ProcessType</key>\n  <string>Background</string>\n");
    s.push_str("  <key>ProgramArguments</key>\n  <array>\n");
    for a in &argv {
        s.push_str(&string("    ", a));
    }
    s.push_str("  </array>\n");
    if let Some(dir) = &spec.working_directory {
        s.push_str("  <key>WorkingDirectory</key>\n");
        s.push_str(&string("  ", path_str("the working directory", dir)?));
    }
    s.push_str("  <key>StandardOutPath</key>\n");
    s.push_str(&string("  ", path_str("the log file", &spec.stdout_path)?));
    s.push_str("  <key>StandardErrorPath</key>\n");
    s.push_str(&string("  ", path_str("the log file", &spec.stderr_path)?));
    let env: Vec<_> = spec
        .environment
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .collect();
    if !env.is_empty() {
        s.push_str("  <key>EnvironmentVariables</key>\n  <dict>\n");
        for (k, v) in env {
            if !valid_env_name(k) {
                return Err(ServiceError::InvalidEnvName(k.clone()));
            }
            check_no_control(&format!("environment variable {k}"), v)?;
            s.push_str(&format!("    <key>{}</key>\n", xml_escape(k)));
            s.push_str(&string("    ", v));
        }
        s.push_str("  </dict>\n");
    }
    s.push_str("</dict>\n</plist>\n");
    Ok(s)
}

/// Extract `ProgramArguments` and `EnvironmentVariables` back from a plist we rendered.
pub fn parse_plist(text: &str) -> (Vec<String>, Vec<(String, String)>) {
    fn inner<'a>(line: &'a str, tag: &str) -> Option<&'a str> {
        line.trim()
            .strip_prefix(&format!("<{tag}>"))?
            .strip_suffix(&format!("</{tag}>"))
    }
    let mut argv = Vec::new();
    let mut env = Vec::new();
    let mut mode = "";
    let mut pending_key: Option<String> = None;
    for line in text.lines() {
        let t = line.trim();
        match t {
            "<key>ProgramArguments</key>" => mode = "args",
            "<key>EnvironmentVariables</key>" => mode = "env",
            "</array>" | "</dict>" => mode = "",
            _ => match mode {
                "args" => {
                    if let Some(v) = inner(t, "string") {
                        argv.push(xml_unescape(v));
                    }
                }
                "env" => {
                    if let Some(k) = inner(t, "key") {
                        pending_key = Some(xml_unescape(k));
                    } else if let (Some(v), Some(k)) = (inner(t, "string"), pending_key.take()) {
                        env.push((k, xml_unescape(v)));
                    }
                }
                _ => {}
            },
        }
    }
    if argv.first().map(String::as_str) == Some("/bin/sh")
        && argv.get(2).map(String::as_str) == Some(ENV_WRAPPER)
    {
        argv.drain(..4.min(argv.len()));
    }
    (argv, env)
}

/// `ProgramArguments` exactly as written (wrapper included).
pub(super) fn parse_plist_raw_args(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_args = false;
    for line in text.lines() {
        let t = line.trim();
        if t == "<key>ProgramArguments</key>" {
            in_args = true;
        } else if t == "</array>" {
            in_args = false;
        } else if in_args
            && let Some(v) = t
                .strip_prefix("<string>")
                .and_then(|v| v.strip_suffix("</string>"))
        {
            out.push(xml_unescape(v));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn golden_spec() -> PlistSpec {
        PlistSpec {
            label: "ai.openclaw.node".into(),
            comment: "OpenClaw Node Host (openclaw-node v0.0.0-test)".into(),
            program_arguments: vec![
                "/Users/dev/.local/bin/openclaw-node".into(),
                "run".into(),
                "--host".into(),
                "gw.example.com".into(),
                "--port".into(),
                "18789".into(),
                "--tls".into(),
                "--display-name".into(),
                "Dev's <Mac> & \"more\"".into(),
            ],
            environment_file: Some(PathBuf::from("/Users/dev/.openclaw/node.launchd.env")),
            environment: vec![
                ("HOME".into(), "/Users/dev".into()),
                ("EMPTY".into(), String::new()),
                (
                    "PATH".into(),
                    "/opt/homebrew/bin:/usr/local/bin:/usr/bin:/bin".into(),
                ),
                ("OPENCLAW_LAUNCHD_LABEL".into(), "ai.openclaw.node".into()),
            ],
            working_directory: None,
            stdout_path: PathBuf::from("/Users/dev/.openclaw/logs/node.log"),
            stderr_path: PathBuf::from("/Users/dev/.openclaw/logs/node.err.log"),
        }
    }

    #[test]
    fn plist_matches_golden_file() {
        let rendered = render_plist(&golden_spec()).unwrap();
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/golden/ai.openclaw.node.plist"
        );
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(path, &rendered).unwrap();
        }
        let golden = std::fs::read_to_string(path).unwrap();
        pretty_assertions::assert_eq!(rendered, golden);
    }

    #[test]
    fn plist_round_trips_and_drops_wrapper() {
        let spec = golden_spec();
        let (argv, env) = parse_plist(&render_plist(&spec).unwrap());
        assert_eq!(argv, spec.program_arguments);
        assert_eq!(env.len(), 3, "empty values are dropped: {env:?}");
    }

    #[test]
    fn plist_rejects_control_characters() {
        let mut spec = golden_spec();
        spec.program_arguments.push("a\nb".into());
        assert!(render_plist(&spec).is_err());
    }

    #[test]
    fn wrapper_sources_env_file_then_execs() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("env");
        std::fs::write(&f, "SECRET=\"s p\"\n").unwrap();
        let out = std::process::Command::new("/bin/sh")
            .args(["-c", ENV_WRAPPER])
            .arg(&f)
            .args(["/bin/sh", "-c", "printf %s \"$SECRET\""])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), "s p");
        // A missing file is tolerated.
        let out = std::process::Command::new("/bin/sh")
            .args(["-c", ENV_WRAPPER, "/nonexistent/env", "/bin/echo", "ok"])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), "ok\n");
    }
}
