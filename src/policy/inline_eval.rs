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
    let short_cluster = |letters: &str| -> Option<String> {
        for a in args {
            if a == "--" || !a.starts_with('-') {
                break;
            }
            if a.starts_with("--") {
                continue;
            }
            for l in letters.chars() {
                if a[1..].contains(l) {
                    return Some(format!("-{l}"));
                }
            }
        }
        None
    };
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
    match family(&exe) {
        "python" => short_cluster("c").and_then(|f| hit(&exe, &f)),
        "node" => any_flag(&["-e", "--eval", "-p", "--print"]).and_then(|f| hit(&exe, &f)),
        "ruby" | "r" | "lua" | "osascript" | "dash-e" => {
            any_flag(&["-e"]).and_then(|f| hit(&exe, &f))
        }
        "perl" => short_cluster("eE").and_then(|f| hit(&exe, &f)),
        "php" => any_flag(&["-r", "-B", "-E", "-R"]).and_then(|f| hit(&exe, &f)),
        "julia" => any_flag(&["-e", "--eval", "--print", "-E"]).and_then(|f| hit(&exe, &f)),
        "expect" => any_flag(&["-c"]).and_then(|f| hit(&exe, &f)),
        "gdb" => any_flag(&["-ex", "-iex", "--eval-command"]).and_then(|f| hit(&exe, &f)),
        "erl" => any_flag(&["-eval"]).and_then(|f| hit(&exe, &f)),
        "find" => any_flag(&["-exec", "-execdir", "-ok", "-okdir"]).and_then(|f| hit(&exe, &f)),
        "make" => {
            any_flag(&["-f", "--file", "--makefile", "--eval", "-E"]).and_then(|f| hit(&exe, &f))
        }
        "xargs" => {
            // xargs with a command (any non-option token).
            args.iter()
                .any(|a| !a.starts_with('-'))
                .then(|| InlineEvalHit {
                    executable: exe.clone(),
                    flag: "<command>".into(),
                })
        }
        "sed" | "awk" => {
            if let Some(f) = any_flag(&["-e", "--expression", "--source"]) {
                return hit(&exe, &f);
            }
            // A program from a file (`-f`) is not inline; otherwise the first positional is.
            let from_file = args.iter().any(|a| {
                a == "-f" || a.starts_with("--file") || (a.starts_with("-f") && exe.contains("awk"))
            });
            if from_file {
                return None;
            }
            hit(&exe, "<program>")
        }
        _ => None,
    }
}
