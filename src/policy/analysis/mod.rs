//! Command analysis: canonical command text, shell-wrapper recognition, dispatch wrappers
//! (EA §4.2, §7) and the POSIX payload analyser ([`shell`]).

pub mod shell;
pub mod soundness;
pub mod wrappers;

/// `formatExecCommand`: tokens joined by single spaces; an empty token renders as `""`; a token
/// containing whitespace or `"` is double-quoted with inner `"` escaped.
pub fn format_exec_command(argv: &[String]) -> String {
    let mut out = String::with_capacity(argv.iter().map(|t| t.len() + 3).sum());
    for (i, t) in argv.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if t.is_empty() {
            out.push_str("\"\"");
        } else if t.chars().any(|c| c.is_whitespace() || c == '"') {
            out.push('"');
            out.push_str(&t.replace('"', "\\\""));
            out.push('"');
        } else {
            out.push_str(t);
        }
    }
    out
}

/// Lower-case basename with `.exe/.cmd/.bat/.com` stripped (wrapper/shell name matching).
pub fn normalized_name(token: &str) -> String {
    let base = token
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(token)
        .to_lowercase();
    for ext in [".exe", ".cmd", ".bat", ".com"] {
        if let Some(s) = base.strip_suffix(ext) {
            return s.to_string();
        }
    }
    base
}

/// POSIX shells we analyse as transports / nested shells.
pub const POSIX_SHELLS: &[&str] = &["ash", "bash", "dash", "fish", "ksh", "sh", "zsh"];

/// Is this (normalised) name a shell of any kind?
pub fn is_shell_name(name: &str) -> bool {
    POSIX_SHELLS.contains(&name) || matches!(name, "cmd" | "powershell" | "pwsh")
}

/// Is this a POSIX shell name?
pub fn is_posix_shell(name: &str) -> bool {
    POSIX_SHELLS.contains(&name)
}

/// How a shell argv is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShellForm {
    /// `sh [opts] -c PAYLOAD [positional…]`: index of the payload token.
    Inline { payload_index: usize },
    /// `sh [opts] SCRIPT [args…]`: index of the script token.
    Script { script_index: usize },
    /// PowerShell/cmd invocations we never analyse (encoded commands, `cmd /c`, …).
    Opaque,
    /// A shell reading stdin (`sh`, `sh -s`, `bash -i`): only the binary runs.
    Plain,
}

/// Classify a shell argv (argv[0] is the shell).
pub fn shell_form(argv: &[String]) -> ShellForm {
    let name = argv.first().map(|a| normalized_name(a)).unwrap_or_default();
    if matches!(name.as_str(), "cmd" | "powershell" | "pwsh") {
        return if argv.len() > 1 {
            ShellForm::Opaque
        } else {
            ShellForm::Plain
        };
    }
    let mut i = 1;
    let mut stdin_mode = false;
    while i < argv.len() {
        let t = argv[i].as_str();
        if t == "--" {
            i += 1;
            break;
        }
        if t == "-" {
            // `sh -` reads commands from stdin.
            return ShellForm::Plain;
        }
        if t == "--command" {
            return if i + 1 < argv.len() {
                ShellForm::Inline {
                    payload_index: i + 1,
                }
            } else {
                ShellForm::Opaque
            };
        }
        if matches!(t, "--rcfile" | "--init-file" | "--startup-file") {
            // Startup files run arbitrary code: never a plain script form.
            return ShellForm::Opaque;
        }
        if let Some(long) = t.strip_prefix("--") {
            let _ = long;
            i += 1;
            continue;
        }
        if (t.starts_with('-') || t.starts_with('+')) && t.len() > 1 {
            let flags = &t[1..];
            if t.starts_with('-') && flags.contains('c') {
                return if i + 1 < argv.len() {
                    ShellForm::Inline {
                        payload_index: i + 1,
                    }
                } else {
                    ShellForm::Opaque
                };
            }
            if flags.contains('s') {
                stdin_mode = true;
            }
            if flags.ends_with('o') || flags.ends_with('O') {
                // `-o option` / `+o option` consume a value.
                i += 2;
                continue;
            }
            i += 1;
            continue;
        }
        break;
    }
    if stdin_mode || i >= argv.len() {
        return ShellForm::Plain;
    }
    ShellForm::Script { script_index: i }
}

#[cfg(test)]
mod tests {
    use super::format_exec_command;

    /// `formatExecCommand` spelling: spaces between tokens, `""` for empty, quoted when needed.
    #[test]
    fn format_exec_command_spelling() {
        let argv: Vec<String> = ["rg", "", "a b", "say \"hi\"", "tab\tx", "x"]
            .iter()
            .map(|s| (*s).to_string())
            .collect();
        assert_eq!(
            format_exec_command(&argv),
            "rg \"\" \"a b\" \"say \\\"hi\\\"\" \"tab\tx\" x"
        );
        assert_eq!(format_exec_command(&[]), "");
    }
}
