//! Interpreter inline-eval detection (EA §12, `strictInlineEval`).

use super::analysis::normalized_name;

/// A detected inline-eval form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineEvalHit {
    /// Normalised executable name (`python3`, `awk`, …).
    pub executable: String,
    /// The flag (`-c`, `-e`, …), or `<program>` / `<command>` for positional programs.
    pub flag: String,
}

impl InlineEvalHit {
    /// `describeInterpreterInlineEval`.
    pub fn describe(&self) -> String {
        match self.flag.as_str() {
            "<command>" => format!("{} inline command", self.executable),
            "<program>" => format!("{} inline program", self.executable),
            f => format!("{} {}", self.executable, f),
        }
    }
}

/// Strip a version suffix: `python3.12` → `python3` family check uses the stem.
fn family(name: &str) -> &'static str {
    let stem = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.' || c == '-');
    match stem {
        "python" | "pypy" => "python",
        "node" | "nodejs" | "bun" | "deno" => "node",
        "ruby" => "ruby",
        "perl" => "perl",
        "php" => "php",
        "r" | "rscript" => "r",
        "julia" => "julia",
        "lua" | "luajit" => "lua",
        "osascript" => "osascript",
        "expect" => "expect",
        "gdb" => "gdb",
        "elixir" | "guile" | "groovy" | "scala" | "clojure" | "raku" | "ghc" => "dash-e",
        "erl" => "erl",
        "find" => "find",
        "make" | "gmake" => "make",
        "sed" | "gsed" => "sed",
        "awk" | "gawk" | "mawk" | "nawk" => "awk",
        "xargs" => "xargs",
        _ => "",
    }
}

/// Is this an interpreter-like executable (never persisted by allow-always unless strict)?
pub fn is_interpreter_like(name: &str) -> bool {
    !matches!(
        family(&normalized_name(name)),
        "" | "find" | "make" | "xargs"
    )
}

/// Do two executable names belong to the same interpreter family (`python3` / `python3.12`)?
pub fn same_family(a: &str, b: &str) -> bool {
    let fa = family(&normalized_name(a));
    !fa.is_empty() && fa == family(&normalized_name(b))
}

/// Would this program read program text from its stdin (a heredoc or a pipe)? Interpreters
/// do when given no script; `sed`/`awk`/`make` only with a program file that is stdin.
pub fn reads_program_from_stdin(name: &str, argv: &[String]) -> bool {
    match family(&normalized_name(name)) {
        "" | "find" | "xargs" => false,
        "sed" | "awk" | "make" => argv.iter().skip(1).any(|a| {
            matches!(
                a.as_str(),
                "-" | "/dev/stdin" | "/dev/fd/0" | "/proc/self/fd/0" | "-f-" | "--file=-"
            ) || a.ends_with("=/dev/stdin")
        }),
        _ => true,
    }
}

/// A short-option cluster `-<prefix><flag>…` whose prefix letters are all boolean options
/// (`prefix_ok`; a letter of `numeric` and a `0` may be followed by digits): `-Ic`, `-ne`, `-l0e`.
fn cluster(t: &str, flag: char, prefix_ok: &str, numeric: &str) -> bool {
    let Some(body) = t.strip_prefix('-') else {
        return false;
    };
    if body.starts_with('-') {
        return false;
    }
    let mut chars = body.chars().peekable();
    let mut first = true;
    while let Some(c) = chars.next() {
        if c == flag {
            return !first;
        }
        first = false;
        if prefix_ok.contains(c) || c == '0' {
            if numeric.contains(c) || c == '0' {
                while chars.peek().is_some_and(char::is_ascii_digit) {
                    chars.next();
                }
            }
            continue;
        }
        return false;
    }
    false
}

fn hit(exe: &str, flag: &str) -> Option<InlineEvalHit> {
    Some(InlineEvalHit {
        executable: exe.to_string(),
        flag: flag.to_string(),
    })
}

/// Detect an inline-eval form in an effective argv.
pub fn detect(argv: &[String]) -> Option<InlineEvalHit> {
    let exe = normalized_name(argv.first()?);
    let args = &argv[1..];
    let any_flag = |flags: &[&str]| -> Option<String> {
        args.iter()
            .take_while(|a| a.as_str() != "--")
            .find(|a| {
                flags.iter().any(|f| {
                    a.as_str() == *f || (f.starts_with("--") && a.starts_with(&format!("{f}=")))
                })
            })
            .map(|a| a.split('=').next().unwrap_or(a).to_string())
    };
    // Every option token up to `--` (value-taking options before `-c`/`-e` do not hide it, as in
    // the official detection): `python3 -X dev -c`, `node -r fs -pe`, `perl -I x -e`.
    let scan = |f: &dyn Fn(&str, &str) -> Option<String>| -> Option<InlineEvalHit> {
        args.iter()
            .map(|a| a.trim())
            .filter(|a| !a.is_empty())
            .take_while(|a| *a != "--")
            .find_map(|t| f(t, &t.to_lowercase()))
            .and_then(|flag| hit(&exe, &flag))
    };
    match family(&exe) {
        "python" => scan(&|t, lower| {
            (lower == "-c" || t.starts_with("-c") || cluster(t, 'c', "BEIOPRSbdiqsuvx", ""))
                .then(|| "-c".into())
        }),
        "node" => scan(&|t, lower| {
            for f in ["--eval", "--print"] {
                if lower == f || (lower.starts_with(f) && lower[f.len()..].starts_with('=')) {
                    return Some(f.into());
                }
            }
            ["-e", "-p"]
                .into_iter()
                .find(|f| t.starts_with(f))
                .map(str::to_string)
        }),
        "ruby" => scan(&|t, _| {
            (t.starts_with("-e") || cluster(t, 'e', "SUWacdlnpsvw", "W")).then(|| "-e".into())
        }),
        "perl" => scan(&|t, _| {
            let pre = "STWXUVacdflnpstuw";
            if t.starts_with("-e") || cluster(t, 'e', pre, "l") {
                return Some("-e".into());
            }
            (t.starts_with("-E") || cluster(t, 'E', pre, "l")).then(|| "-E".into())
        }),
        "r" | "lua" | "osascript" | "dash-e" => any_flag(&["-e"]).and_then(|f| hit(&exe, &f)),
        "php" => any_flag(&["-r", "-B", "-E", "-R"]).and_then(|f| hit(&exe, &f)),
        "julia" => any_flag(&["-e", "--eval", "--print", "-E"]).and_then(|f| hit(&exe, &f)),
        "expect" => any_flag(&["-c"]).and_then(|f| hit(&exe, &f)),
        "gdb" => any_flag(&["-ex", "-iex", "--eval-command"]).and_then(|f| hit(&exe, &f)),
        "erl" => any_flag(&["-eval"]).and_then(|f| hit(&exe, &f)),
        "find" => any_flag(&["-exec", "-execdir", "-ok", "-okdir"]).and_then(|f| hit(&exe, &f)),
        "make" => scan(&|t, lower| {
            if t.starts_with("-E") {
                return Some("-E".into());
            }
            if t.starts_with("-f") {
                return Some("-f".into());
            }
            for f in ["--file", "--makefile", "--eval"] {
                if lower == f || (lower.starts_with(f) && lower[f.len()..].starts_with('=')) {
                    return Some(f.into());
                }
            }
            let name = lower.split('=').next().unwrap_or(lower);
            (name.len() >= 4 && "--eval".starts_with(name)).then(|| "--eval".into())
        }),
        "xargs" => positional(&exe, args, &XARGS, "<command>"),
        "sed" => {
            // `-e PROGRAM`, `-ePROGRAM` (raw, case-sensitive) and `--expression[=…]`.
            if let Some(a) = args.iter().take_while(|a| a.as_str() != "--").find(|a| {
                a.starts_with("-e")
                    || a.as_str() == "--expression"
                    || a.starts_with("--expression=")
            }) {
                let f = if a.starts_with("--") {
                    "--expression"
                } else {
                    "-e"
                };
                return hit(&exe, f);
            }
            positional(&exe, args, &SED, "<program>")
        }
        "awk" => {
            if let Some(a) = args.iter().take_while(|a| a.as_str() != "--").find(|a| {
                a.as_str() == "-e"
                    || a.starts_with("--source=")
                    || a.split('=').next().is_some_and(|o| {
                        o.len() >= 3 && o.starts_with("--") && "--source".starts_with(o)
                    })
            }) {
                let f = if a.starts_with("--") {
                    "--source"
                } else {
                    "-e"
                };
                return hit(&exe, f);
            }
            positional(&exe, args, &AWK, "<program>")
        }
        _ => None,
    }
}

/// Option grammar of a tool whose first positional argument is a program (`sed`, `awk`) or a
/// command (`xargs`): which options name a program file (no inline program), which take a value.
struct PositionalSpec {
    file_flags: &'static [&'static str],
    file_flag_prefixes: &'static [&'static str],
    value_flags: &'static [&'static str],
    optional_value_flags: &'static [&'static str],
    value_prefixes: &'static [&'static str],
}

const SED: PositionalSpec = PositionalSpec {
    file_flags: &["-f", "--file"],
    file_flag_prefixes: &["-f", "--file="],
    value_flags: &["-l", "--line-length"],
    optional_value_flags: &["-i", "--in-place"],
    value_prefixes: &["--in-place=", "--line-length="],
};

const AWK: PositionalSpec = PositionalSpec {
    file_flags: &["-f", "--file"],
    file_flag_prefixes: &["-f", "--file="],
    value_flags: &[
        "-F",
        "--field-separator",
        "-v",
        "--assign",
        "-i",
        "--include",
        "-l",
        "--load",
        "-W",
    ],
    optional_value_flags: &[],
    value_prefixes: &[
        "-F",
        "--field-separator=",
        "-v",
        "--assign=",
        "--include=",
        "--load=",
    ],
};

const XARGS: PositionalSpec = PositionalSpec {
    file_flags: &[],
    file_flag_prefixes: &[],
    value_flags: &[
        "-a",
        "--arg-file",
        "-d",
        "--delimiter",
        "-E",
        "-I",
        "-L",
        "--max-lines",
        "-n",
        "--max-args",
        "-P",
        "--max-procs",
        "-s",
        "--max-chars",
    ],
    optional_value_flags: &["--eof", "--replace"],
    value_prefixes: &[
        "-a",
        "--arg-file=",
        "-d",
        "--delimiter=",
        "-E",
        "--eof=",
        "-I",
        "--replace=",
        "-i",
        "-L",
        "--max-lines=",
        "-l",
        "-n",
        "--max-args=",
        "-P",
        "--max-procs=",
        "-s",
        "--max-chars=",
    ],
};

/// EA §12 positional program / command: the first operand after the options (a lone `-` is
/// stdin, not a program; `sed`/`awk` without any operand have no inline program).
fn positional(
    exe: &str,
    args: &[String],
    spec: &PositionalSpec,
    flag: &str,
) -> Option<InlineEvalHit> {
    let mut i = 0;
    while i < args.len() {
        let t = args[i].trim();
        i += 1;
        if t.is_empty() {
            continue;
        }
        if t == "--" {
            return args
                .get(i)
                .filter(|a| !a.trim().is_empty())
                .and_then(|_| hit(exe, flag));
        }
        if spec.file_flags.contains(&t)
            || spec
                .file_flag_prefixes
                .iter()
                .any(|p| t.starts_with(p) && t.len() > p.len())
        {
            return None;
        }
        if spec.value_flags.contains(&t) {
            i += 1;
            continue;
        }
        if spec.optional_value_flags.contains(&t)
            || spec
                .value_prefixes
                .iter()
                .any(|p| t.starts_with(p) && t.len() > p.len())
            || t.starts_with('-')
        {
            continue;
        }
        return hit(exe, flag);
    }
    None
}

/// Maximum nesting (carriers, nested shells, `env -S` strings) followed by [`detect_deep`].
const MAX_DEEP: usize = 8;

fn is_assignment(t: &str) -> bool {
    t.split_once('=').is_some_and(|(k, _)| {
        !k.is_empty()
            && !k.starts_with(|c: char| c.is_ascii_digit())
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// EA §12 on the *effective* command of a segment, fail closed: the argv itself, then what it
/// carries — leading `NAME=value` assignments, transparent dispatch wrappers, the command behind
/// `env` (also with assignments/options and `-S` strings), `sudo`/`doas`, `command`/`builtin`/
/// `exec`, blocked wrappers such as `setsid`/`chrt`/`taskset`/`ionice`, and the inline command
/// of a nested shell (`sh -c '…'`, positional carriers `sh -c '$0 "$@"' python3 -c …`).
pub fn detect_deep(argv: &[String]) -> Option<InlineEvalHit> {
    deep(argv, 0)
}

fn deep(argv: &[String], depth: usize) -> Option<InlineEvalHit> {
    if depth > MAX_DEEP {
        return None;
    }
    let start = argv.iter().take_while(|t| is_assignment(t)).count();
    let argv = &argv[start..];
    let first = argv.first()?;
    if let Some(h) = detect(argv) {
        return Some(h);
    }
    let name = normalized_name(first);
    // Transparent dispatch wrappers (and multiplexers) first.
    let u = super::analysis::wrappers::unwrap(argv);
    if !u.argv.is_empty() && u.argv.len() < argv.len() {
        return deep(&u.argv, depth + 1);
    }
    if super::analysis::is_posix_shell(&name) {
        return nested_shell(argv, depth);
    }
    let carried: Vec<Vec<String>> = match name.as_str() {
        "env" => env_carried(argv),
        "sudo" => option_carried(
            argv,
            &[
                "-C",
                "-D",
                "-g",
                "-h",
                "-p",
                "-R",
                "-r",
                "-t",
                "-T",
                "-U",
                "-u",
                "--chdir",
                "--close-from",
                "--group",
                "--host",
                "--prompt",
                "--role",
                "--type",
                "--command-timeout",
                "--other-user",
                "--user",
                "--chroot",
            ],
        )
        .into_iter()
        .collect(),
        "doas" => option_carried(argv, &["-C", "-u"]).into_iter().collect(),
        "command" | "builtin" => {
            if argv[1..].iter().any(|t| t == "-v" || t == "-V") {
                Vec::new()
            } else {
                option_carried(argv, &[]).into_iter().collect()
            }
        }
        "exec" => option_carried(argv, &["-a"]).into_iter().collect(),
        // Blocked wrappers whose grammar we do not model: every operand position may start the
        // carried command (over-approximation, fail closed).
        "setsid" | "chrt" | "ionice" | "taskset" | "nice" | "nohup" | "timeout" | "stdbuf"
        | "time" | "flock" | "su" | "runuser" | "pkexec" | "unshare" | "nsenter" | "chroot" => (1
            ..argv.len())
            .filter(|&i| !argv[i].starts_with('-'))
            .take(3)
            .map(|i| argv[i..].to_vec())
            .collect(),
        _ => Vec::new(),
    };
    carried
        .iter()
        .filter(|c| !c.is_empty() && c.as_slice() != argv)
        .find_map(|c| deep(c, depth + 1))
}

/// The argv after the options of a carrier (`value_flags` consume the next token).
fn option_carried(argv: &[String], value_flags: &[&str]) -> Option<Vec<String>> {
    let mut i = 1;
    while i < argv.len() {
        let t = argv[i].as_str();
        if t == "--" {
            return Some(argv[i + 1..].to_vec());
        }
        if !t.starts_with('-') || t == "-" {
            return Some(argv[i..].to_vec());
        }
        i += if value_flags.contains(&t) { 2 } else { 1 };
    }
    None
}

/// Commands carried by `env` (with assignments, options, `-S`/`--split-string` strings).
fn env_carried(argv: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut i = 1;
    while i < argv.len() {
        let t = argv[i].as_str();
        if is_assignment(t) {
            i += 1;
            continue;
        }
        if t == "--" || t == "-" {
            i += 1;
            break;
        }
        if let Some(rest) = t.strip_prefix('-') {
            let split = if t == "-S" || t == "-s" || t == "--split-string" {
                let v = argv.get(i + 1).cloned();
                i += 2;
                v
            } else if let Some(v) = t.strip_prefix("--split-string=") {
                i += 1;
                Some(v.to_string())
            } else if !t.starts_with("--") && rest.contains(['S', 's']) {
                // `-iS'…'` / `-vSstring`: the value follows the S inside the token, else next.
                let pos = rest.find(['S', 's']).unwrap_or(0);
                let inline = &rest[pos + 1..];
                if inline.is_empty() {
                    let v = argv.get(i + 1).cloned();
                    i += 2;
                    v
                } else {
                    i += 1;
                    Some(inline.to_string())
                }
            } else {
                let takes_value = matches!(
                    t,
                    "-C" | "-P"
                        | "-u"
                        | "--argv0"
                        | "--block-signal"
                        | "--chdir"
                        | "--default-signal"
                        | "--ignore-signal"
                        | "--unset"
                );
                i += if takes_value { 2 } else { 1 };
                None
            };
            if let Some(s) = split {
                for mut words in lenient_commands(&s) {
                    words.extend(argv.get(i..).unwrap_or_default().iter().cloned());
                    out.push(words);
                }
            }
            continue;
        }
        break;
    }
    if i < argv.len() {
        out.push(argv[i..].to_vec());
    }
    out
}

/// The inline command of a nested POSIX shell: its segments, or its positional carrier.
fn nested_shell(argv: &[String], depth: usize) -> Option<InlineEvalHit> {
    let super::analysis::ShellForm::Inline { payload_index } = super::analysis::shell_form(argv)
    else {
        return None;
    };
    let payload = &argv[payload_index];
    let commands: Vec<Vec<String>> = match super::analysis::shell::analyze(payload) {
        Ok(a) => a.segments().map(|s| s.argv.clone()).collect(),
        Err(_) => lenient_commands(payload),
    };
    for c in &commands {
        let positional = c
            .first()
            .is_some_and(|t| matches!(t.as_str(), "$0" | "${0}"));
        let h = if positional {
            let carried = &argv[payload_index + 1..];
            deep(carried, depth + 1)
        } else {
            deep(c, depth + 1)
        };
        if h.is_some() {
            return h;
        }
    }
    None
}

/// Lenient, fail-closed split of a shell payload the analyser rejected (EA §12 still applies):
/// quote-aware words, cut into commands at every unquoted operator, parenthesis, backtick,
/// newline or redirection; `$(…)` bodies inside double quotes become commands too. Leading shell
/// keywords (`!`, `{`, `if`, `then`, …) are dropped.
pub fn lenient_commands(payload: &str) -> Vec<Vec<String>> {
    let mut cmds: Vec<Vec<String>> = Vec::new();
    let mut cur: Vec<String> = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = payload.chars().peekable();
    let finish_word = |word: &mut Option<String>, cur: &mut Vec<String>| {
        if let Some(w) = word.take() {
            cur.push(w);
        }
    };
    let finish_cmd = |cur: &mut Vec<String>, cmds: &mut Vec<Vec<String>>| {
        let skip = cur
            .iter()
            .take_while(|w| {
                matches!(
                    w.as_str(),
                    "!" | "{"
                        | "}"
                        | "if"
                        | "then"
                        | "else"
                        | "elif"
                        | "fi"
                        | "do"
                        | "done"
                        | "while"
                        | "until"
                        | "time"
                )
            })
            .count();
        if cur.len() > skip {
            cmds.push(cur[skip..].to_vec());
        }
        cur.clear();
    };
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let w = word.get_or_insert_with(String::new);
                if let Some(n) = chars.next() {
                    w.push(n);
                }
            }
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                for n in chars.by_ref() {
                    if n == '\'' {
                        break;
                    }
                    w.push(n);
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                let mut inner = String::new();
                let mut subst = false;
                while let Some(n) = chars.next() {
                    match n {
                        '"' => break,
                        '\\' => {
                            if let Some(m) = chars.next() {
                                w.push(m);
                                inner.push(m);
                            }
                        }
                        '$' if chars.peek() == Some(&'(') => {
                            subst = true;
                            w.push(n);
                            inner.push(';');
                        }
                        '`' => {
                            subst = true;
                            w.push(n);
                            inner.push(';');
                        }
                        _ => {
                            w.push(n);
                            inner.push(n);
                        }
                    }
                }
                if subst {
                    cmds.extend(lenient_commands(&inner.replace(['(', ')'], ";")));
                }
            }
            '#' if word.is_none() => {
                for n in chars.by_ref() {
                    if n == '\n' {
                        break;
                    }
                }
                finish_cmd(&mut cur, &mut cmds);
            }
            // A command substitution is a command of its own *and* a word of the enclosing
            // command (`xargs `id` 1` still carries a command).
            '`' => {
                let mut inner = String::new();
                for n in chars.by_ref() {
                    if n == '`' {
                        break;
                    }
                    inner.push(n);
                }
                cmds.extend(lenient_commands(&inner));
                let w = word.get_or_insert_with(String::new);
                w.push('`');
                w.push_str(&inner);
                w.push('`');
            }
            '$' if chars.peek() == Some(&'(') => {
                chars.next();
                let mut inner = String::new();
                let mut open = 1usize;
                for n in chars.by_ref() {
                    match n {
                        '(' => open += 1,
                        ')' => {
                            open -= 1;
                            if open == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    inner.push(n);
                }
                cmds.extend(lenient_commands(&inner));
                let w = word.get_or_insert_with(String::new);
                w.push_str("$(");
                w.push_str(&inner);
                w.push(')');
            }
            ';' | '|' | '&' | '(' | ')' | '\n' | '\r' | '<' | '>' => {
                finish_word(&mut word, &mut cur);
                finish_cmd(&mut cur, &mut cmds);
            }
            c if c.is_whitespace() => finish_word(&mut word, &mut cur),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    finish_word(&mut word, &mut cur);
    finish_cmd(&mut cur, &mut cmds);
    cmds
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_string()).collect()
    }

    /// EA §12 sed/awk: no operand, `-` (stdin) and program files are not inline programs.
    #[test]
    fn sed_awk_positional_program_rules() {
        for a in [
            &["sed"][..],
            &["sed", "-"],
            &["sed", "-n"],
            &["sed", "-f", "x.sed", "data"],
            &["sed", "--file=x.sed"],
            &["awk"],
            &["awk", "-F", ",", "-f", "p.awk", "data"],
            &["xargs", "-n", "1"],
        ] {
            assert_eq!(detect(&v(a)), None, "{a:?}");
        }
        for (a, f) in [
            (&["sed", "s/a/b/"][..], "<program>"),
            (&["sed", "-n", "p", "f"], "<program>"),
            (&["sed", "-e", "p"], "-e"),
            (&["sed", "-i", "s/a/b/", "f"], "<program>"),
            (&["awk", "-F", ",", "{print}"], "<program>"),
            (&["awk", "--", "1"], "<program>"),
            (&["awk", "--so", "x"], "--source"),
            (&["xargs", "-n", "1", "id"], "<command>"),
        ] {
            assert_eq!(detect(&v(a)).map(|h| h.flag), Some(f.to_string()), "{a:?}");
        }
    }

    /// Carriers, assignments and nested shells are looked through.
    #[test]
    fn detect_deep_follows_carriers_and_nested_shells() {
        for a in [
            &["env", "FOO=bar", "python3.12", "-c", "1"][..],
            &["FOO=1", "python3", "-c", "1"],
            &["sudo", "-u", "root", "awk", "1", "f"],
            &["sudo", "awk", "1"],
            &["env", "-S", "node -e 1"],
            &["setsid", "perl", "-e", "1"],
            &["sh", "-xc", "env -i python3 -c 'print(1)'"],
            &["sh", "-c", "$0 \"$@\"", "node", "-e", "1"],
            &["bash", "-c", "( ruby -e 1 ) |& cat"],
        ] {
            assert!(detect_deep(&v(a)).is_some(), "{a:?}");
        }
        for a in [
            &["env", "FOO=bar", "rg", "x"][..],
            &["sudo", "id"],
            &["sh", "-c", "rg x"],
        ] {
            assert_eq!(detect_deep(&v(a)), None, "{a:?}");
        }
    }

    /// A payload the analyser rejects is still scanned for inline eval.
    #[test]
    fn lenient_commands_split_failed_payloads() {
        let c = lenient_commands("; ( node -e '1' ) | gog\n\"Tool\" 5 & x \"$(python3 -c 1)\"");
        assert!(c.contains(&v(&["node", "-e", "1"])), "{c:?}");
        assert!(c.contains(&v(&["python3", "-c", "1"])), "{c:?}");
        assert!(c.contains(&v(&["Tool", "5"])), "{c:?}");
        // Substitutions are commands and words: xargs still carries a command.
        let c = lenient_commands("xargs `id` 1 || x $(node -e 1) y");
        assert!(c.contains(&v(&["xargs", "`id`", "1"])), "{c:?}");
        assert!(c.contains(&v(&["id"])), "{c:?}");
        assert!(c.contains(&v(&["node", "-e", "1"])), "{c:?}");
        assert!(c.contains(&v(&["x", "$(node -e 1)", "y"])), "{c:?}");
    }
}
