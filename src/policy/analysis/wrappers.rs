//! Dispatch wrappers and shell multiplexers (EA §7.1, §7.2): `env`, `nice`, `nohup`, `stdbuf`,
//! `timeout`, `time`, `flock` are transparent when used without semantic options; `sudo`,
//! `doas`, `chrt`, `ionice`, `setsid`, `taskset` (and anything we cannot unwrap) block the
//! segment. `busybox`/`toybox` unwrap only to a shell applet.
//!
//! On Linux the macOS-only wrappers (`caffeinate`, `sandbox-exec`, `arch`, `xcrun`) and BSD
//! `script` are treated as blocking.

use super::{is_shell_name, normalized_name};

/// Maximum number of dispatch wrappers unwrapped before the segment is blocked.
pub const MAX_WRAPPER_DEPTH: usize = 4;

/// The result of unwrapping.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Unwrapped {
    /// The effective inner argv (what runs after the wrappers).
    pub argv: Vec<String>,
    /// Names of the wrappers removed, outermost first.
    pub chain: Vec<String>,
    /// Why the segment is policy-blocked, if it is.
    pub blocked: Option<String>,
    /// Keys of `env NAME=value` assignments met anywhere in the chain.
    pub env_assignment_keys: Vec<String>,
    /// An `env` wrapper with modifiers precedes the inner command.
    pub env_modifying: bool,
    /// A `busybox`/`toybox` multiplexer was unwrapped.
    pub multiplexer: Option<String>,
}

fn is_env_name(t: &str) -> bool {
    let Some((k, _)) = t.split_once('=') else {
        return false;
    };
    !k.is_empty() && !k.starts_with('-')
}

/// Unwrap transparent dispatch wrappers (up to [`MAX_WRAPPER_DEPTH`]).
pub fn unwrap(argv: &[String]) -> Unwrapped {
    let mut out = Unwrapped {
        argv: argv.to_vec(),
        ..Default::default()
    };
    let mut depth = 0;
    loop {
        let Some(first) = out.argv.first() else {
            return out;
        };
        let name = normalized_name(first);
        let step = match name.as_str() {
            "env" => {
                let a = out.argv.clone();
                unwrap_env(&a, &mut out)
            }
            "nice" => unwrap_simple(&out.argv, &["-n", "--adjustment", "--priority"], &[], |t| {
                t.len() > 1 && t.starts_with('-') && t[1..].chars().all(|c| c.is_ascii_digit())
                    || t.starts_with("-n")
                    || t.starts_with("--adjustment=")
            }),
            "nohup" => unwrap_simple(&out.argv, &[], &[], |_| false),
            "stdbuf" => unwrap_simple(
                &out.argv,
                &["-i", "-o", "-e", "--input", "--output", "--error"],
                &[],
                // Values attached with `=` only, as 2026.9.6 (`-o 0`, `--output=0`): the GNU
                // short form `-o0` is blocked there, so it is here (never looser, was D27).
                |t| {
                    ["--input=", "--output=", "--error=", "-i=", "-o=", "-e="]
                        .iter()
                        .any(|p| t.starts_with(p))
                },
            ),
            "timeout" => unwrap_timeout(&out.argv),
            "time" => unwrap_simple(&out.argv, &[], &["-p"], |_| false),
            "flock" => unwrap_flock(&out.argv),
            "busybox" | "toybox" => {
                let mut i = 1;
                if out.argv.get(1).is_some_and(|t| t == "--") {
                    i = 2;
                }
                match out.argv.get(i) {
                    Some(applet) if is_shell_name(&normalized_name(applet)) => {
                        out.multiplexer = Some(name.clone());
                        Step::Inner(i)
                    }
                    Some(applet) => Step::Blocked(format!("{name} applet {applet} is not a shell")),
                    None => Step::NotWrapper,
                }
            }
            "sudo" | "doas" | "chrt" | "ionice" | "setsid" | "taskset" | "caffeinate"
            | "sandbox-exec" | "arch" | "xcrun" | "script" | "su" | "runuser" | "pkexec"
            | "unshare" | "nsenter" | "chroot" | "xargs" => {
                // `xargs` even without arguments is a command carrier (it runs `echo`, or
                // whatever a later token names): an allowlisted xargs never satisfies a segment.
                if out.argv.len() > 1 || matches!(name.as_str(), "sudo" | "doas" | "xargs") {
                    Step::Blocked(format!("{name} is never transparent"))
                } else {
                    Step::NotWrapper
                }
            }
            // `find … -exec/-execdir/-ok/-okdir CMD` carries an arbitrary command: allowlisting
            // find must not allow whatever it runs (D28 in DIFFERENCES.md; anchors §2.4 lesson 8).
            "find"
                if out.argv[1..]
                    .iter()
                    .any(|t| matches!(t.as_str(), "-exec" | "-execdir" | "-ok" | "-okdir")) =>
            {
                Step::Blocked("find -exec/-execdir/-ok/-okdir runs a carried command".into())
            }
            _ => Step::NotWrapper,
        };
        match step {
            Step::NotWrapper => return out,
            Step::Blocked(reason) => {
                out.chain.push(name);
                out.blocked = Some(reason);
                return out;
            }
            Step::Inner(i) => {
                depth += 1;
                out.chain.push(name.clone());
                if depth > MAX_WRAPPER_DEPTH {
                    out.blocked = Some(format!(
                        "more than {MAX_WRAPPER_DEPTH} dispatch wrapper levels"
                    ));
                    return out;
                }
                out.argv = out.argv[i..].to_vec();
                if out.argv.is_empty() {
                    out.blocked = Some(format!("{name} has no inner command"));
                    return out;
                }
            }
        }
    }
}

enum Step {
    NotWrapper,
    Blocked(String),
    /// The inner command starts at this index.
    Inner(usize),
}

/// Generic wrapper: `value_flags` take the next token (unless `inline` says the value is inside
/// the token), `bool_flags` take none; anything else starting with `-` blocks.
fn unwrap_simple(
    argv: &[String],
    value_flags: &[&str],
    bool_flags: &[&str],
    inline: impl Fn(&str) -> bool,
) -> Step {
    let name = normalized_name(&argv[0]);
    if argv.len() == 1 {
        return Step::NotWrapper;
    }
    let mut i = 1;
    while i < argv.len() {
        let t = argv[i].as_str();
        if t == "--" {
            i += 1;
            break;
        }
        if !t.starts_with('-') || t == "-" {
            break;
        }
        if value_flags.contains(&t) {
            if i + 1 >= argv.len() {
                return Step::Blocked(format!("{name} {t} needs a value"));
            }
            i += 2;
        } else if bool_flags.contains(&t) || inline(t) {
            i += 1;
        } else {
            return Step::Blocked(format!("{name} option {t} is not understood"));
        }
    }
    if i >= argv.len() {
        return Step::Blocked(format!("{name} has no inner command"));
    }
    Step::Inner(i)
}

fn unwrap_env(argv: &[String], out: &mut Unwrapped) -> Step {
    if argv.len() == 1 {
        return Step::NotWrapper;
    }
    let mut i = 1;
    let mut blocked: Option<String> = None;
    while i < argv.len() {
        let t = argv[i].as_str();
        if t == "--" {
            i += 1;
            break;
        }
        if is_env_name(t) {
            if let Some((k, _)) = t.split_once('=') {
                out.env_assignment_keys.push(k.to_string());
            }
            blocked.get_or_insert_with(|| "env with an assignment is semantic".into());
            out.env_modifying = true;
            i += 1;
            continue;
        }
        if t.starts_with('-') {
            out.env_modifying = true;
            blocked.get_or_insert_with(|| format!("env option {t} is semantic"));
            if matches!(
                t,
                "-u" | "--unset" | "-C" | "--chdir" | "-S" | "--split-string"
            ) {
                i += 2;
            } else {
                i += 1;
            }
            continue;
        }
        break;
    }
    if let Some(reason) = blocked {
        return Step::Blocked(reason);
    }
    if i >= argv.len() {
        return Step::Blocked("env has no inner command".into());
    }
    Step::Inner(i)
}

/// Skip a wrapper's options, from `argv[1]`: `--` ends them, and so does the first operand (a
/// lone `-` is an operand when `dash_is_operand`). `words(option, has_next)` says how many words
/// the option takes, or why it stops the unwrap. Returns the index after the options.
fn skip_options(
    argv: &[String],
    dash_is_operand: bool,
    words: impl Fn(&str, bool) -> Result<usize, String>,
) -> Result<usize, String> {
    let mut i = 1;
    while i < argv.len() {
        let t = argv[i].as_str();
        if t == "--" {
            return Ok(i + 1);
        }
        if !t.starts_with('-') || (dash_is_operand && t == "-") {
            break;
        }
        i += words(t, i + 1 < argv.len())?;
    }
    Ok(i)
}

fn unwrap_timeout(argv: &[String]) -> Step {
    if argv.len() == 1 {
        return Step::NotWrapper;
    }
    let skipped = skip_options(argv, true, |t, has_next| match t {
        "--foreground" | "--preserve-status" | "-v" | "--verbose" => Ok(1),
        "-k" | "-s" | "--kill-after" | "--signal" => {
            if has_next {
                Ok(2)
            } else {
                Err(format!("timeout {t} needs a value"))
            }
        }
        _ if t.starts_with("--kill-after=")
            || t.starts_with("--signal=")
            || (t.starts_with("-k") || t.starts_with("-s")) && t.len() > 2 =>
        {
            Ok(1)
        }
        _ => Err(format!("timeout option {t} is not understood")),
    });
    let mut i = match skipped {
        Ok(i) => i,
        Err(why) => return Step::Blocked(why),
    };
    // The duration token.
    if i >= argv.len() {
        return Step::Blocked("timeout has no duration".into());
    }
    i += 1;
    if i >= argv.len() {
        return Step::Blocked("timeout has no inner command".into());
    }
    Step::Inner(i)
}

fn unwrap_flock(argv: &[String]) -> Step {
    if argv.len() == 1 {
        return Step::NotWrapper;
    }
    let skipped = skip_options(argv, false, |t, _| match t {
        "-s" | "--shared" | "-x" | "-e" | "--exclusive" | "-n" | "--nb" | "--nonblock" | "-o"
        | "--close" | "-F" | "--no-fork" | "-v" | "--verbose" => Ok(1),
        "-w" | "--wait" | "--timeout" | "-E" | "--conflict-exit-code" => Ok(2),
        _ if t.starts_with("--timeout=")
            || t.starts_with("--wait=")
            || t.starts_with("--conflict-exit-code=") =>
        {
            Ok(1)
        }
        _ => Err(format!("flock option {t} is not understood")),
    });
    let mut i = match skipped {
        Ok(i) => i,
        Err(why) => return Step::Blocked(why),
    };
    // Lock file, then the command.
    i += 1;
    if i >= argv.len() {
        return Step::Blocked("flock has no inner command".into());
    }
    if matches!(argv[i].as_str(), "-c" | "--command") {
        return Step::Blocked("flock -c runs a shell string".into());
    }
    Step::Inner(i)
}
