//! The soundness rule (DIFFERENCES.md, "Soundness rule"): a shell payload can satisfy an
//! allowlist only when the analysis determines the argv the shell will execute.
//!
//! - Every word is literal after quote removal: no parameter, arithmetic or command expansion
//!   (unquoted or double-quoted `$…`, positional parameters included), no `$'…'`/`$"…"`, no
//!   `~user`, and under bash no brace expansion (`{a,b}`, `{1..3}`) and no `~` after the `=` (or a
//!   later `:`) of an argument that looks like an assignment (`a=~/x`: bash expands it).
//! - Exception: an unquoted glob (`*`, `?`, `[…]`) in a word that is not the command name and
//!   starts with a literal character other than `-` (or with `~/`): every expansion then starts
//!   with that character, so it can never become an option (`src/*.rs` yes; `*.txt`, `-exe[c]`
//!   no).
//! - No segment runs a builtin that evaluates its operands as code, assigns variables the rest
//!   of the payload depends on (`PATH`, `IFS`, subscripts run command substitution under bash),
//!   changes what a later command name means (`alias`, `hash`, `enable`) or the directory we
//!   resolved against (`pushd`/`popd`; `cd` is handled by the decision).
//!
//! The grammar is picked from the shell binary that will run the payload, by the file name of
//! its realpath (`/bin/sh` is dash on Debian and Ubuntu, bash on Fedora, RHEL and Arch): `dash`
//! gets the POSIX grammar; every other shell (bash, and shells we do not model: zsh, ksh, ash,
//! busybox) gets the bash grammar, whose extra expansions make the rule only stricter.

use std::path::Path;

use super::shell::{Segment, ShellAnalysis, WordShape};

/// Which word expansions the running shell performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grammar {
    /// dash: POSIX expansions only (no brace expansion).
    Posix,
    /// bash and every shell we do not model precisely.
    Bash,
}

impl Grammar {
    /// The grammar of the shell whose resolved realpath is `real` (the token's own name when it
    /// did not resolve).
    pub fn of_shell(real: Option<&Path>, token: &str) -> Self {
        let name = real
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| super::normalized_name(token));
        if name == "dash" {
            Self::Posix
        } else {
            Self::Bash
        }
    }
}

/// Builtins (and reserved words that reach us as a command name) that run code, define what a
/// later name means, or assign variables: a payload using one fails analysis.
const EVALUATING_BUILTINS: &[&str] = &[
    ".",
    "[[",
    "]]",
    "alias",
    "bind",
    "builtin",
    "caller",
    "command",
    "compgen",
    "complete",
    "compopt",
    "coproc",
    "declare",
    "disown",
    "enable",
    "eval",
    "exec",
    "export",
    "fc",
    "function",
    "getopts",
    "hash",
    "jobs",
    "let",
    "local",
    "mapfile",
    "popd",
    "pushd",
    "read",
    "readarray",
    "readonly",
    "select",
    "shopt",
    "source",
    "trap",
    "typeset",
    "unalias",
    "unset",
    "wait",
];

/// Reserved words: the segment is part of a compound command the analyser does not model
/// (`{ …; }`, `if`, loops, `!`), so its words are not a command's argv.
const RESERVED_WORDS: &[&str] = &[
    "!", "{", "}", "case", "do", "done", "elif", "else", "esac", "fi", "for", "if", "in", "then",
    "until", "while",
];

/// Builtins that are harmless unless an operand asks for evaluation (`-v` assignment / the
/// variable test, or a subscript).
fn builtin_evaluates(argv: &[String]) -> Option<String> {
    let first = argv.first()?;
    // `NAME=value cmd`: the assignment applies to the lookup of cmd (`PATH=/tmp uname`).
    if let Some((name, _)) = first.split_once('=')
        && !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '[' || c == ']')
    {
        return Some(format!("variable assignment {first}"));
    }
    // A command name with a `/` is never looked up as a builtin.
    if first.contains('/') {
        return None;
    }
    if EVALUATING_BUILTINS.contains(&first.as_str()) {
        return Some(format!("builtin {first} can evaluate its operands"));
    }
    if RESERVED_WORDS.contains(&first.as_str()) {
        return Some(format!("reserved word {first} (compound command)"));
    }
    let ops = &argv[1..];
    let subscript = ops.iter().any(|a| a.contains('['));
    let flag = |fs: &[&str]| {
        ops.iter().any(|a| {
            fs.iter()
                .any(|f| a == f || (a.starts_with(f) && f.len() == 2))
        })
    };
    let hit = match first.as_str() {
        "set" => !set_is_harmless(ops),
        "test" | "[" => subscript || ops.iter().any(|a| a == "-v" || a == "-R"),
        "printf" => subscript || flag(&["-v"]),
        "kill" | "ulimit" | "shift" | "return" | "exit" | "break" | "continue" => subscript,
        _ => false,
    };
    hit.then(|| format!("builtin {first} with these operands can evaluate code"))
}

/// `set` with only error/trace/glob options (`set -euo pipefail`, `set -x`, `set +e`): these do
/// not change which commands run or with which words (`-f` only turns globbing off).
fn set_is_harmless(ops: &[String]) -> bool {
    let mut i = 0;
    while i < ops.len() {
        let a = ops[i].as_str();
        let Some(letters) = a.strip_prefix('-').or_else(|| a.strip_prefix('+')) else {
            return false;
        };
        if letters.is_empty() || !letters.chars().all(|c| "euxvfnCo".contains(c)) {
            return false;
        }
        if letters.contains('o') {
            if !letters.ends_with('o') || letters.matches('o').count() > 1 {
                return false;
            }
            i += 1;
            if !ops
                .get(i)
                .is_some_and(|o| HARMLESS_OPTION_NAMES.contains(&o.as_str()))
            {
                return false;
            }
        }
        i += 1;
    }
    true
}

/// The `-o` option names that do not change which commands run or with which words.
const HARMLESS_OPTION_NAMES: &[&str] = &[
    "pipefail",
    "errexit",
    "nounset",
    "xtrace",
    "verbose",
    "noglob",
    "noclobber",
    "noexec",
];

/// The options of a shell running a `-c` payload (the words between the shell and the payload)
/// must not change how the payload's words expand or what runs: `bash -k -c 'ls X=1'` moves
/// `X=1` into the environment, `bash -O nullglob -c` drops a glob that matches nothing. Accepted:
/// clusters of `e u x v f n C` (and `c`, `l`), `+` clusters of `e u x v f n C`, `-o`/`+o` with a
/// name `set` accepts, `--noprofile`, `--norc`, `--command` and `--`.
pub fn check_shell_options(flags: &[String]) -> Result<(), String> {
    let mut i = 0;
    while i < flags.len() {
        let f = flags[i].as_str();
        if matches!(f, "--" | "--noprofile" | "--norc" | "--command") {
            i += 1;
            continue;
        }
        let (letters, allowed) = match (f.strip_prefix('-'), f.strip_prefix('+')) {
            (Some(l), _) if !l.starts_with('-') => (l, "euxvfnCclo"),
            (_, Some(l)) => (l, "euxvfnCo"),
            _ => return Err(format!("shell option {f} is not analysed")),
        };
        if letters.is_empty() || !letters.chars().all(|c| allowed.contains(c)) {
            return Err(format!("shell option {f} changes how the payload runs"));
        }
        if letters.contains('o') {
            if !letters.ends_with('o') || letters.matches('o').count() > 1 {
                return Err(format!("shell option {f} is not analysed"));
            }
            i += 1;
            if !flags
                .get(i)
                .is_some_and(|o| HARMLESS_OPTION_NAMES.contains(&o.as_str()))
            {
                return Err(format!(
                    "shell option {f} {:?} is not analysed",
                    flags.get(i)
                ));
            }
        }
        i += 1;
    }
    Ok(())
}

/// Check one word; `argv0`: the word is the command name.
pub fn check_word(shape: &WordShape, grammar: Grammar, argv0: bool) -> Result<(), &'static str> {
    if shape.expansion || shape.positional.is_some() {
        return Err("parameter or arithmetic expansion");
    }
    if shape.tilde_other {
        return Err("tilde expansion other than ~/");
    }
    if shape.brace && grammar == Grammar::Bash {
        return Err("brace expansion");
    }
    if shape.tilde_assign && grammar == Grammar::Bash {
        return Err("tilde expansion after = in an assignment-like word");
    }
    if shape.glob && (argv0 || !shape.literal_start) {
        return Err("pathname expansion that can produce an option or the command name");
    }
    Ok(())
}

/// Check a whole analysed payload for `grammar`; `Err` names the first offending word.
pub fn check(a: &ShellAnalysis, grammar: Grammar) -> Result<(), String> {
    for s in a.segments() {
        check_segment(s, grammar)?;
    }
    Ok(())
}

/// Check one segment (words + builtins).
pub fn check_segment(s: &Segment, grammar: Grammar) -> Result<(), String> {
    for (i, (w, shape)) in s.argv.iter().zip(s.shapes.iter()).enumerate() {
        check_word(shape, grammar, i == 0).map_err(|why| format!("{why} in word {w:?}"))?;
    }
    // Under bash `time` is a reserved word (it times the pipeline itself, options and all),
    // not `/usr/bin/time`: the argv bash runs is not the one a `time` wrapper analysis plans.
    // dash has no such word and runs /usr/bin/time.
    if grammar == Grammar::Bash && s.argv.first().is_some_and(|w| w == "time") {
        return Err("reserved word time under bash (it is not /usr/bin/time)".into());
    }
    check_builtins(&s.argv)
}

/// The builtin part of the rule, for an argv the shell will run (also a substituted carrier).
pub fn check_builtins(argv: &[String]) -> Result<(), String> {
    match builtin_evaluates(argv) {
        Some(why) => Err(why),
        None => Ok(()),
    }
}
