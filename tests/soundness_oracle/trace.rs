//! Running an argv under `strace` and reading back every successful `execve`, and matching the
//! executed programs against what the analysis planned.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use openclaw_node::policy::decide::{Decision, SegmentReport};

pub const STRACE: &str = "/usr/bin/strace";

/// One successful `execve`.
#[derive(Debug, Clone, PartialEq)]
pub struct Exec {
    pub time: f64,
    pub pid: u32,
    pub path: String,
    pub argv: Vec<String>,
}

impl Exec {
    pub fn show(&self) -> String {
        format!("[{}] {} {:?}", self.pid, self.path, self.argv)
    }
}

/// A process creation seen in the parent (`clone`, `clone3`, `fork`, `vfork`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fork {
    pub time: f64,
    pub parent: u32,
    pub child: u32,
}

/// What a traced run gave.
#[derive(Debug)]
pub struct Traced {
    pub execs: Vec<Exec>,
    pub forks: Vec<Fork>,
    pub timed_out: bool,
    #[expect(dead_code, reason = "shown in a failing run's Debug output")]
    pub status: Option<i32>,
}

/// Run `argv` under strace (`-f -ff`, one log per pid) with exactly `env`, in `cwd`, stdin
/// `/dev/null`, killed after `timeout`.
pub fn trace(
    argv: &[String],
    env: &[(String, String)],
    cwd: &Path,
    log_dir: &Path,
    timeout: Duration,
) -> Traced {
    use std::os::unix::process::CommandExt;
    std::fs::create_dir_all(log_dir).unwrap();
    let log = log_dir.join("t");
    let mut c = Command::new(STRACE);
    c.args([
        "-f",
        "-ff",
        "-qq",
        "-ttt",
        "-s",
        "4096",
        "-e",
        "trace=execve,execveat,clone,clone3,fork,vfork",
        "-e",
        "signal=none",
        "-o",
    ])
    .arg(&log)
    .arg("--")
    .args(argv)
    .env_clear()
    .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    .current_dir(cwd)
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .process_group(0);
    let mut child = c.spawn().expect("spawn strace");
    let start = Instant::now();
    let mut timed_out = false;
    let status = loop {
        match child.try_wait().unwrap() {
            Some(s) => break s.code(),
            None if start.elapsed() > timeout => {
                timed_out = true;
                let pgid = nix::unistd::Pid::from_raw(child.id() as i32);
                let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
                let _ = child.wait();
                break None;
            }
            None => std::thread::sleep(Duration::from_millis(3)),
        }
    };
    let mut execs = Vec::new();
    let mut forks = Vec::new();
    for e in std::fs::read_dir(log_dir).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix("t.").and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        let text = std::fs::read(e.path()).unwrap();
        for line in String::from_utf8_lossy(&text).lines() {
            if let Some(x) = parse_exec_line(line, pid) {
                execs.push(x);
            } else if let Some(f) = parse_fork_line(line, pid) {
                forks.push(f);
            }
        }
    }
    execs.sort_by(|a, b| a.time.total_cmp(&b.time));
    forks.sort_by(|a, b| a.time.total_cmp(&b.time));
    Traced {
        execs,
        forks,
        timed_out,
        status,
    }
}

/// Decode one strace string literal starting at `s[0] == '"'`; returns the bytes and the rest
/// after the closing quote (and a `...` truncation mark, which is an error here).
fn string_literal(s: &[u8]) -> Option<(Vec<u8>, &[u8])> {
    if s.first() != Some(&b'"') {
        return None;
    }
    let mut out = Vec::new();
    let mut i = 1;
    while i < s.len() {
        match s[i] {
            b'"' => {
                let rest = &s[i + 1..];
                if rest.starts_with(b"...") {
                    return None; // truncated: -s too small
                }
                return Some((out, rest));
            }
            b'\\' => {
                i += 1;
                let c = *s.get(i)?;
                match c {
                    b'n' => out.push(b'\n'),
                    b't' => out.push(b'\t'),
                    b'r' => out.push(b'\r'),
                    b'v' => out.push(0x0b),
                    b'f' => out.push(0x0c),
                    b'a' => out.push(0x07),
                    b'b' => out.push(0x08),
                    b'e' => out.push(0x1b),
                    b'x' => {
                        let h = std::str::from_utf8(s.get(i + 1..i + 3)?).ok()?;
                        out.push(u8::from_str_radix(h, 16).ok()?);
                        i += 2;
                    }
                    b'0'..=b'7' => {
                        let mut v: u32 = 0;
                        let mut n = 0;
                        while n < 3 && i < s.len() && (b'0'..=b'7').contains(&s[i]) {
                            v = v * 8 + u32::from(s[i] - b'0');
                            i += 1;
                            n += 1;
                        }
                        out.push(v as u8);
                        continue;
                    }
                    other => out.push(other),
                }
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    None
}

fn lossy(b: Vec<u8>) -> String {
    String::from_utf8(b).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// `1796276966.959278 execve("/usr/bin/ls", ["ls", "-l"], 0x… /* 3 vars */) = 0`; `None` for
/// anything else, failed calls included.
pub fn parse_exec_line(line: &str, pid: u32) -> Option<Exec> {
    let (time, rest) = line.split_once(' ')?;
    let time: f64 = time.parse().ok()?;
    let rest = rest.trim_start();
    let body = if let Some(b) = rest.strip_prefix("execve(") {
        b.as_bytes()
    } else {
        let b = rest.strip_prefix("execveat(")?;
        let comma = b.find(", ")?;
        &b.as_bytes()[comma + 2..]
    };
    if !line.trim_end().ends_with("= 0") {
        return None;
    }
    let (path, rest) = string_literal(body)?;
    let mut rest = rest.strip_prefix(b", [")?;
    let mut argv = Vec::new();
    loop {
        if let Some(r) = rest.strip_prefix(b"]") {
            rest = r;
            break;
        }
        let (a, r) = string_literal(rest)?;
        argv.push(lossy(a));
        rest = r.strip_prefix(b", ").unwrap_or(r);
    }
    let _ = rest;
    Some(Exec {
        time,
        pid,
        path: lossy(path),
        argv,
    })
}

/// `1.5 clone(child_stack=NULL, flags=…) = 4242` (also `clone3`, `fork`, `vfork`).
pub fn parse_fork_line(line: &str, pid: u32) -> Option<Fork> {
    let (time, rest) = line.split_once(' ')?;
    let time: f64 = time.parse().ok()?;
    let rest = rest.trim_start();
    if !["clone(", "clone3(", "fork(", "vfork("]
        .iter()
        .any(|p| rest.starts_with(p))
    {
        return None;
    }
    let (_, ret) = rest.rsplit_once(" = ")?;
    let child: u32 = ret.split_whitespace().next()?.parse().ok()?;
    (child > 0).then_some(Fork {
        time,
        parent: pid,
        child,
    })
}

/// A program the analysis planned: its file and the words after argv0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub real: PathBuf,
    pub args: Vec<String>,
    /// Start-up file executions measured with an empty HOME (system files, not the payload).
    pub startup: bool,
}

fn realpath(p: &Path) -> Option<PathBuf> {
    std::fs::canonicalize(p).ok()
}

/// The file a command word names: a path, or the first executable on `path_env`.
pub fn which(word: &str, cwd: &Path, path_env: &str) -> Option<PathBuf> {
    if word.contains('/') {
        return realpath(&cwd.join(word));
    }
    for dir in path_env.split(':') {
        if dir.is_empty() {
            return None;
        }
        let p = Path::new(dir).join(word);
        if let Ok(md) = std::fs::metadata(&p) {
            use std::os::unix::fs::PermissionsExt;
            if md.is_file() && md.permissions().mode() & 0o111 != 0 {
                return realpath(&p);
            }
        }
    }
    None
}

/// Every program+argv the decision's segment reports plan (recursively through nested shells
/// and positional carriers), plus the argv prefixes of transparent dispatch wrappers.
pub fn planned(d: &Decision, cwd: &Path, path_env: &str) -> Vec<Planned> {
    let mut out = Vec::new();
    collect(&d.segments, cwd, path_env, &mut out);
    out
}

fn collect(reps: &[SegmentReport], cwd: &Path, path_env: &str, out: &mut Vec<Planned>) {
    for r in reps {
        if let Some(p) = &r.planned_argv {
            // Pinned (absolute) for allowlisted and safe-bin segments; a nested shell keeps its
            // word, which the shell looks up on PATH.
            if let Some(real) = which(&p[0], cwd, path_env) {
                out.push(Planned {
                    real,
                    args: p[1..].to_vec(),
                    startup: false,
                });
            }
            // `nice ls`: the wrapper runs first, with the words as written.
            let offset = r.argv.len().saturating_sub(r.effective_argv.len());
            if !r.wrappers.is_empty() {
                for k in 0..offset {
                    if let Some(real) = which(&r.argv[k], cwd, path_env) {
                        out.push(Planned {
                            real,
                            args: r.argv[k + 1..].to_vec(),
                            startup: false,
                        });
                    }
                }
            }
        }
        collect(&r.nested, cwd, path_env, out);
    }
}

// ---------------------------------------------------------------- word matching

fn is_glob_char(c: char) -> bool {
    matches!(c, '*' | '?' | '[')
}

/// fnmatch with FNM_PATHNAME | FNM_PERIOD semantics (what a shell's pathname expansion gives):
/// `*`, `?` and brackets never match `/`, nor a leading `.` of a component.
pub fn fnmatch(pat: &str, s: &str) -> bool {
    let p: Vec<char> = pat.chars().collect();
    let t: Vec<char> = s.chars().collect();
    fn at_component_start(t: &[char], j: usize) -> bool {
        j == 0 || t[j - 1] == '/'
    }
    fn bracket(p: &[char], i: usize, c: char) -> Option<(bool, usize)> {
        // returns (matched, index after `]`)
        let mut k = i + 1;
        let neg = matches!(p.get(k), Some('!' | '^'));
        if neg {
            k += 1;
        }
        let mut matched = false;
        let mut first = true;
        while k < p.len() {
            if p[k] == ']' && !first {
                return Some((matched != neg, k + 1));
            }
            first = false;
            if p[k] == '[' && p.get(k + 1) == Some(&':') {
                let rest: String = p[k + 2..].iter().collect();
                if let Some(end) = rest.find(":]") {
                    let class = &rest[..end];
                    let ok = match class {
                        "alpha" => c.is_alphabetic(),
                        "digit" => c.is_ascii_digit(),
                        "alnum" => c.is_alphanumeric(),
                        "upper" => c.is_uppercase(),
                        "lower" => c.is_lowercase(),
                        "space" => c.is_whitespace(),
                        "punct" => c.is_ascii_punctuation(),
                        _ => false,
                    };
                    matched |= ok;
                    k += 2 + class.chars().count() + 2;
                    continue;
                }
            }
            if p.get(k + 1) == Some(&'-') && p.get(k + 2).is_some_and(|&e| e != ']') {
                matched |= p[k] <= c && c <= p[k + 2];
                k += 3;
            } else {
                matched |= p[k] == c;
                k += 1;
            }
        }
        None
    }
    fn go(p: &[char], t: &[char], i: usize, j: usize) -> bool {
        if i == p.len() {
            return j == t.len();
        }
        match p[i] {
            '*' => {
                if j < t.len() && t[j] == '.' && at_component_start(t, j) {
                    return go(p, t, i + 1, j);
                }
                let mut k = j;
                loop {
                    if go(p, t, i + 1, k) {
                        return true;
                    }
                    if k == t.len() || t[k] == '/' {
                        return false;
                    }
                    k += 1;
                }
            }
            '?' => {
                j < t.len()
                    && t[j] != '/'
                    && !(t[j] == '.' && at_component_start(t, j))
                    && go(p, t, i + 1, j + 1)
            }
            '[' => match bracket(p, i, *t.get(j).unwrap_or(&'\0')) {
                Some((m, next)) => {
                    j < t.len()
                        && m
                        && t[j] != '/'
                        && !(t[j] == '.' && at_component_start(t, j))
                        && go(p, t, next, j + 1)
                }
                None => j < t.len() && t[j] == '[' && go(p, t, i + 1, j + 1),
            },
            c => j < t.len() && t[j] == c && go(p, t, i + 1, j + 1),
        }
    }
    go(&p, &t, 0, 0)
}

/// The word with a leading `~` or `~/` replaced by `home`.
fn tilde(word: &str, home: &str) -> Option<String> {
    if word == "~" {
        return Some(home.to_string());
    }
    word.strip_prefix("~/").map(|r| format!("{home}/{r}"))
}

/// Does executed `arg` fit planned `word` (one field)?
fn word_fits(word: &str, arg: &str, home: &str) -> bool {
    if word == arg {
        return true;
    }
    let mut forms = vec![word.to_string()];
    if let Some(t) = tilde(word, home) {
        if t == arg {
            return true;
        }
        forms.push(t);
    }
    forms.iter().any(|w| {
        let Some(first) = w.find(is_glob_char) else {
            return false;
        };
        arg.starts_with(&w[..first]) && fnmatch(w, arg)
    })
}

/// Planned words vs executed words: a glob word may stand for one or more executed words.
pub fn args_match(planned: &[String], exec: &[String], home: &str) -> bool {
    fn go(p: &[String], e: &[String], home: &str) -> bool {
        let Some((w, prest)) = p.split_first() else {
            return e.is_empty();
        };
        let globby = w.contains(is_glob_char);
        if !globby {
            return e
                .split_first()
                .is_some_and(|(a, erest)| word_fits(w, a, home) && go(prest, erest, home));
        }
        let mut k = 0;
        while k < e.len() && word_fits(w, &e[k], home) {
            k += 1;
            if go(prest, &e[k..], home) {
                return true;
            }
        }
        false
    }
    go(planned, exec, home)
}

/// Is this exec one of the planned programs?
pub fn exec_is_planned(x: &Exec, planned: &[Planned], home: &str) -> bool {
    let Some(real) = realpath(Path::new(&x.path)) else {
        return false;
    };
    let args = x.argv.get(1..).unwrap_or_default();
    planned.iter().any(|p| {
        p.real == real
            && if p.startup {
                p.args == args
            } else {
                args_match(&p.args, args, home)
            }
    })
}

/// Self-checks of the parser and the matcher (run as part of the oracle test).
pub fn self_check() {
    let l = r#"1796276966.959278 execve("/usr/bin/ls", ["ls", "a=/root/x", "q\"\\\nz", "\1\303\251"], 0x5640 /* 35 vars */) = 0"#;
    let x = parse_exec_line(l, 7).unwrap();
    assert_eq!(x.path, "/usr/bin/ls");
    assert_eq!(x.argv, ["ls", "a=/root/x", "q\"\\\nz", "\u{1}é"]);
    assert!(
        parse_exec_line(
            r#"1.0 execve("/x/ls", ["ls"], 0x1 /* 1 vars */) = -1 ENOENT (No such file or directory)"#,
            1
        )
        .is_none()
    );
    assert!(fnmatch("*.txt", "a.txt"));
    assert!(!fnmatch("*.txt", ".a.txt"));
    assert!(!fnmatch("*.txt", "d/a.txt"));
    assert!(fnmatch("src/*.rs", "src/a.rs"));
    assert!(fnmatch("[ab]*", "b1"));
    assert!(!fnmatch("[!ab]*", "b1"));
    assert!(fnmatch("-exe[c]", "-exec"));
    let h = "/h";
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert!(args_match(
        &s(&["-l", "src/*.rs"]),
        &s(&["-l", "src/a.rs", "src/b.rs"]),
        h
    ));
    assert!(args_match(&s(&["src/*.rs"]), &s(&["src/*.rs"]), h));
    assert!(!args_match(&s(&["src/*.rs"]), &s(&["-exec"]), h));
    assert!(!args_match(&s(&["a"]), &s(&["a", "b"]), h));
    assert!(args_match(&s(&["~/x"]), &s(&["/h/x"]), h));
    assert!(!args_match(&s(&["a=~/x"]), &s(&["a=/h/x"]), h));
}

/// Is this file a shell (its execs are what the payload runs)?
pub fn is_shell_file(path: &Path) -> bool {
    realpath(path)
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .is_some_and(|n| matches!(n.as_str(), "dash" | "bash" | "sh" | "zsh" | "ksh" | "mksh"))
}

/// The verdict on one traced run.
#[derive(Debug, Default)]
pub struct Verdict {
    /// Execs issued by the shells of the run (after the first one), all checked.
    pub checked: usize,
    /// Execs issued by the programs the shells started (their own behaviour, not checked).
    pub by_programs: usize,
    /// Unplanned execs, and a wrong first exec.
    pub mismatches: Vec<String>,
}

/// Check a traced run: the run's first exec is `first` exactly, and every later exec issued by a
/// shell of the run (a process whose ancestry since that exec has only ever run shells) is
/// planned. `launcher`: the traced program is the node binary at this path, which may exec itself
/// and its view probe (`/bin/true`) before the run, and nothing else.
pub fn verdict(
    t: &Traced,
    first: &[String],
    launcher: Option<&Path>,
    planned: &[Planned],
    home: &str,
) -> Verdict {
    let mut v = Verdict::default();
    let mut rooted = false;
    let mut scope: std::collections::HashMap<u32, bool> = std::collections::HashMap::new();
    let mut forks = t.forks.iter().peekable();
    let first_file = which(&first[0], Path::new("/"), "");
    for x in &t.execs {
        while let Some(f) = forks.next_if(|f| f.time <= x.time) {
            let s = scope.get(&f.parent).copied().unwrap_or(rooted);
            scope.insert(f.child, s);
        }
        let real = realpath(Path::new(&x.path));
        if !rooted {
            if x.argv == first && real == first_file {
                rooted = true;
                scope.insert(x.pid, is_shell_file(Path::new(&x.path)));
                continue;
            }
            let probe = matches!(x.path.as_str(), "/bin/true" | "/usr/bin/true")
                && x.argv.len() == 1
                && x.argv[0] == x.path;
            let own = launcher.is_some_and(|b| real.as_deref() == Some(b));
            if launcher.is_some() && (own || probe) {
                scope.insert(x.pid, false);
                continue;
            }
            v.mismatches
                .push(format!("first exec {} is not {first:?}", x.show()));
            return v;
        }
        // A process we did not see being created is checked (fail closed).
        let in_scope = scope.get(&x.pid).copied().unwrap_or(true);
        if !in_scope {
            v.by_programs += 1;
            continue;
        }
        v.checked += 1;
        if !exec_is_planned(x, planned, home) {
            v.mismatches.push(format!("unplanned exec {}", x.show()));
        }
        scope.insert(x.pid, is_shell_file(Path::new(&x.path)));
    }
    if !rooted {
        v.mismatches.push(format!(
            "{first:?} was never executed (timed out: {})",
            t.timed_out
        ));
    }
    v
}
