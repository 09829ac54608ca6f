//! The systemd user unit: renderer (pure) and a reader for the `ExecStart=`, `Environment=` and
//! `EnvironmentFile=` lines of a unit we wrote (for `status`).
//!
//! Quoting follows systemd.service(5) / systemd.syntax(7): words containing whitespace, quotes,
//! backslashes or `;` are double-quoted with `\` and `"` escaped; `%` is doubled everywhere
//! (specifiers) and `$` is doubled in arguments (variable expansion). Control characters (line
//! breaks included) are rejected: they could inject directives.

use std::path::PathBuf;

use crate::service::{ServiceError, check_no_control, valid_env_name};

/// What goes into the unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitSpec {
    /// `Description=`.
    pub description: String,
    /// `ExecStart=` argv; the first element must be an absolute path.
    pub exec_start: Vec<String>,
    /// Non-secret `Environment=` pairs, in order.
    pub environment: Vec<(String, String)>,
    /// Optional `EnvironmentFile=-<path>` (the leading `-` makes a missing file non-fatal).
    pub environment_file: Option<PathBuf>,
    /// Optional `WorkingDirectory=`.
    pub working_directory: Option<PathBuf>,
}

fn escape_specifiers(s: &str) -> String {
    s.replace('%', "%%")
}

/// Quote one `ExecStart=` word. `first` is the executable (no `$` escaping there).
pub fn quote_exec_word(word: &str, first: bool) -> Result<String, ServiceError> {
    check_no_control("a service command-line argument", word)?;
    let mut w = escape_specifiers(word);
    if !first {
        w = w.replace('$', "$$");
    }
    let needs_quotes = w.is_empty()
        || w.chars()
            .any(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '\\' | ';'));
    if !needs_quotes {
        return Ok(w);
    }
    let mut out = String::with_capacity(w.len() + 2);
    out.push('"');
    for c in w.chars() {
        if matches!(c, '\\' | '"') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    Ok(out)
}

fn quote_assignment(key: &str, value: &str) -> Result<String, ServiceError> {
    if !valid_env_name(key) {
        return Err(ServiceError::InvalidEnvName(key.to_string()));
    }
    check_no_control(&format!("environment variable {key}"), value)?;
    let kv = escape_specifiers(&format!("{key}={value}"));
    let needs_quotes = kv
        .chars()
        .any(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '\\'));
    if !needs_quotes {
        return Ok(kv);
    }
    let mut out = String::from("\"");
    for c in kv.chars() {
        if matches!(c, '\\' | '"') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    Ok(out)
}

fn path_value(what: &str, p: &std::path::Path) -> Result<String, ServiceError> {
    let s = p.to_str().ok_or_else(|| {
        ServiceError::Invalid(format!("{what} {} is not valid UTF-8", p.display()))
    })?;
    if !p.is_absolute() {
        return Err(ServiceError::Invalid(format!(
            "{what} {s} must be an absolute path"
        )));
    }
    check_no_control(what, s)?;
    Ok(escape_specifiers(s))
}

/// Render the unit text.
pub fn render_unit(spec: &UnitSpec) -> Result<String, ServiceError> {
    let Some(program) = spec.exec_start.first() else {
        return Err(ServiceError::Invalid("empty service command line".into()));
    };
    if !program.starts_with('/') {
        return Err(ServiceError::Invalid(format!(
            "the service program {program:?} must be an absolute path"
        )));
    }
    check_no_control("the unit description", &spec.description)?;
    let mut exec = Vec::with_capacity(spec.exec_start.len());
    for (i, w) in spec.exec_start.iter().enumerate() {
        exec.push(quote_exec_word(w, i == 0)?);
    }
    let mut s = String::new();
    s.push_str("[Unit]\n");
    s.push_str(&format!(
        "Description={}\n",
        escape_specifiers(&spec.description)
    ));
    s.push_str("Documentation=https://docs.openclaw.ai/cli/node\n");
    s.push_str("After=network-online.target\n");
    s.push_str("Wants=network-online.target\n");
    s.push_str("StartLimitIntervalSec=60\n");
    s.push_str("StartLimitBurst=5\n");
    s.push('\n');
    s.push_str("[Service]\n");
    s.push_str("Type=simple\n");
    s.push_str(&format!("ExecStart={}\n", exec.join(" ")));
    s.push_str("Restart=on-failure\n");
    s.push_str("RestartSec=5\n");
    s.push_str(&format!(
        "RestartPreventExitStatus={}\n",
        crate::service::EXIT_CONFIG
    ));
    s.push_str("KillMode=control-group\n");
    s.push_str("TimeoutStartSec=30\n");
    s.push_str("TimeoutStopSec=30\n");
    s.push_str("OOMPolicy=continue\n");
    if let Some(dir) = &spec.working_directory {
        s.push_str(&format!(
            "WorkingDirectory={}\n",
            path_value("the working directory", dir)?
        ));
    }
    for (k, v) in &spec.environment {
        s.push_str(&format!("Environment={}\n", quote_assignment(k, v)?));
    }
    if let Some(f) = &spec.environment_file {
        s.push_str(&format!(
            "EnvironmentFile=-{}\n",
            path_value("the environment file", f)?
        ));
    }
    s.push('\n');
    s.push_str("[Install]\n");
    s.push_str("WantedBy=default.target\n");
    Ok(s)
}

/// What `status` reads back from a unit file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedUnit {
    pub exec_start: Option<Vec<String>>,
    pub environment: Vec<(String, String)>,
    pub environment_files: Vec<String>,
    pub working_directory: Option<String>,
}

/// Split a systemd command line / assignment list into words (quotes and C escapes removed,
/// `%%` → `%`). `dollar` additionally turns `$$` into `$`.
pub fn split_words(line: &str, dollar: bool) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (_, '\\') => {
                in_word = true;
                match chars.next() {
                    Some('n') => cur.push('\n'),
                    Some('t') => cur.push('\t'),
                    Some(other) => cur.push(other),
                    None => {}
                }
            }
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (_, '%') if chars.peek() == Some(&'%') => {
                chars.next();
                cur.push('%');
                in_word = true;
            }
            (_, '$') if dollar && chars.peek() == Some(&'$') => {
                chars.next();
                cur.push('$');
                in_word = true;
            }
            (_, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

/// Read the interesting lines of a unit's `[Service]` section.
pub fn parse_unit(text: &str) -> ParsedUnit {
    let mut out = ParsedUnit::default();
    let mut section = String::new();
    for raw in text.lines() {
        let line = raw.trim();
        if line.starts_with('[') && line.ends_with(']') {
            section = line.to_string();
            continue;
        }
        if section != "[Service]" || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        match key.trim() {
            "ExecStart" => {
                let v = value.trim().trim_start_matches(['@', '-', ':', '+', '!']);
                out.exec_start = Some(split_words(v, true));
            }
            "Environment" => {
                for w in split_words(value, false) {
                    if let Some((k, v)) = w.split_once('=') {
                        out.environment.push((k.to_string(), v.to_string()));
                    }
                }
            }
            "EnvironmentFile" => {
                let v = value.trim();
                let v = v.strip_prefix('-').unwrap_or(v);
                out.environment_files.push(v.replace("%%", "%"));
            }
            "WorkingDirectory" => out.working_directory = Some(value.trim().replace("%%", "%")),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> UnitSpec {
        UnitSpec {
            description: "OpenClaw Node Host (openclaw-node v1.2.3)".into(),
            exec_start: vec![
                "/usr/local/bin/openclaw-node".into(),
                "run".into(),
                "--host".into(),
                "gw.example".into(),
                "--display-name".into(),
                "Build \"Node\" 100% $HOME;x".into(),
            ],
            environment: vec![
                ("HOME".into(), "/home/u".into()),
                ("PATH".into(), "/usr/bin:/bin".into()),
                ("ODD".into(), "a b%c\\d".into()),
            ],
            environment_file: Some(PathBuf::from("/home/u/.openclaw/node.systemd.env")),
            working_directory: None,
        }
    }

    #[test]
    fn renders_hardened_unit_shape() {
        let u = render_unit(&spec()).unwrap();
        for needle in [
            "[Unit]\nDescription=OpenClaw Node Host (openclaw-node v1.2.3)\n",
            "ExecStart=/usr/local/bin/openclaw-node run --host gw.example --display-name \"Build \\\"Node\\\" 100%% $$HOME;x\"\n",
            "Restart=on-failure\n",
            "RestartPreventExitStatus=78\n",
            "KillMode=control-group\n",
            "Environment=HOME=/home/u\n",
            "Environment=\"ODD=a b%%c\\\\d\"\n",
            "EnvironmentFile=-/home/u/.openclaw/node.systemd.env\n",
            "[Install]\nWantedBy=default.target\n",
        ] {
            assert!(u.contains(needle), "missing {needle:?} in\n{u}");
        }
        assert!(!u.contains("TOKEN"));
    }

    #[test]
    fn round_trips_through_parser() {
        let s = spec();
        let parsed = parse_unit(&render_unit(&s).unwrap());
        assert_eq!(parsed.exec_start.as_deref(), Some(&s.exec_start[..]));
        assert_eq!(parsed.environment, s.environment);
        assert_eq!(
            parsed.environment_files,
            ["/home/u/.openclaw/node.systemd.env"]
        );
    }

    #[test]
    fn rejects_injection_and_relative_program() {
        let mut s = spec();
        s.exec_start[3] = "x\nExecStartPre=/bin/evil".into();
        assert!(matches!(
            render_unit(&s),
            Err(ServiceError::ControlCharacter { .. })
        ));
        let mut s = spec();
        s.environment.push(("T".into(), "a\rb".into()));
        assert!(render_unit(&s).is_err());
        let mut s = spec();
        s.exec_start[0] = "openclaw-node".into();
        assert!(render_unit(&s).is_err());
        let mut s = spec();
        s.environment.push(("BAD NAME".into(), "x".into()));
        assert!(render_unit(&s).is_err());
    }

    #[test]
    fn empty_and_semicolon_words_are_quoted() {
        assert_eq!(quote_exec_word("", false).unwrap(), "\"\"");
        assert_eq!(quote_exec_word(";", false).unwrap(), "\";\"");
        assert_eq!(
            split_words("a \"\" \";\" 'b c'", true),
            ["a", "", ";", "b c"]
        );
    }
}
