//! The `launchctl` driver: the `gui/<uid>` domain, running `launchctl`, and reading
//! `launchctl print`. Used at run time on macOS only; compiled everywhere so it is type-checked.

use std::process::Command;

/// `gui/<uid>` domain target.
pub fn domain() -> String {
    format!("gui/{}", nix::unistd::getuid().as_raw())
}

/// Run `launchctl <args>`; Ok(stdout) on success, Err(detail) otherwise.
pub fn run(args: &[&str]) -> Result<String, String> {
    match Command::new("launchctl").args(args).output() {
        Ok(o) if o.status.success() => Ok(String::from_utf8_lossy(&o.stdout).into_owned()),
        Ok(o) => {
            let err = String::from_utf8_lossy(&o.stderr).trim().to_string();
            let out = String::from_utf8_lossy(&o.stdout).trim().to_string();
            Err(if err.is_empty() { out } else { err })
        }
        Err(e) => Err(format!("cannot run launchctl: {e}")),
    }
}

/// Parse `launchctl print` output: (state, pid, last exit code).
pub fn parse_print(text: &str) -> (Option<String>, Option<u32>, Option<i64>) {
    let mut state = None;
    let mut pid = None;
    let mut last = None;
    for line in text.lines() {
        let t = line.trim();
        if let Some(v) = t.strip_prefix("state = ") {
            state.get_or_insert_with(|| v.trim().to_string());
        } else if let Some(v) = t.strip_prefix("pid = ") {
            pid = pid.or_else(|| v.trim().parse().ok());
        } else if let Some(v) = t.strip_prefix("last exit code = ") {
            let num: String = v
                .trim()
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '-')
                .collect();
            last = last.or_else(|| num.parse().ok());
        }
    }
    (state, pid, last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_launchctl_print() {
        let text = "gui/501/ai.openclaw.node = {\n\tstate = running\n\tpid = 4242\n\tlast exit code = 78: EX_CONFIG\n}\n";
        assert_eq!(
            parse_print(text),
            (Some("running".into()), Some(4242), Some(78))
        );
    }
}
