//! Seeded payloads that stress the soundness rule: globs, expansions, brace expansion, builtins
//! that evaluate or assign, nested shells, positional carriers, heredocs, chains and pipes.

#![allow(
    clippy::explicit_auto_deref,
    reason = "`*rng.pick(..)` fixes the element type for inference; the suggestion does not compile"
)]

use crate::support::generator::Rng;

/// Words after a command name.
const ARGS: &[&str] = &[
    // literal
    "a.txt",
    "b.txt",
    "src",
    "./src",
    "-l",
    "-1",
    "--",
    "x",
    "'a b'",
    "\"q\"",
    "'*.txt'",
    "\"src/*.rs\"",
    "\\*",
    "\\~",
    "'$X'",
    "\\$X",
    "{}",
    // globs
    "*.txt",
    "src/*.rs",
    "-exe[c]",
    "[ab]*",
    "a*",
    "?.txt",
    "./*.txt",
    "'src'/*.rs",
    "\\-x*",
    "\"s\"rc/*",
    "~/*",
    "x*[",
    ".*",
    "src/[ab].rs",
    "[-]*",
    // expansions
    "$X",
    "\"$X\"",
    "${X:--exec}",
    "\"$@\"",
    "$@",
    "$*",
    "$0",
    "$1",
    "\"$1\"",
    "$((1))",
    "$'\\x2d'exec",
    "$'\\x2d'",
    "$\"x\"",
    "~",
    "~/x",
    "~root",
    "~+",
    "a=~/x",
    "--o=~",
    "x:~/y",
    "a=b:~/c",
    "$HOME",
    "\"${HOME}\"",
    "$[1]",
    "$$",
    "$?",
    "$-",
    "$#",
    "$!",
    "\"$\"",
    "a$",
    // bash brace expansion
    "{a,b}",
    "{1..3}",
    "{-exec,id,\\;}",
    "a{b,c}",
    "{x}",
    "\\{a,b\\}",
    "\"{a,b}\"",
    "{a,b}.txt",
];

/// Words for `find` after `. -maxdepth 1`.
const FIND_ARGS: &[&str] = &[
    "-name",
    "'*.txt'",
    "*.txt",
    "src/*.rs",
    "-exe[c]",
    "-print",
    "-type",
    "f",
    "${X:--exec}",
    "$X",
    "{-exec,id,\\;}",
    "-exec",
    "id",
    "\\;",
    "-newer",
    "a.txt",
    "[-]*",
    "$'\\x2d'exec",
    "-o",
    "-true",
];

/// Simple commands whose program may be allowlisted.
const PROGRAMS: &[&str] = &[
    "ls",
    "cat",
    "head -n 1",
    "printf '%s\\n'",
    "/usr/bin/printf '%s\\n'",
    "uname",
    "true",
    "/usr/bin/true",
    "tool",
    "stub",
    "wc -l",
    "tr a b",
    "cut -c1",
    "echo",
    "/usr/bin/ls",
    "/usr/bin/cat",
    "rg",
];

/// Builtins and assignment forms the rule must refuse (or allow when harmless).
const BUILTINS: &[&str] = &[
    "test -v X",
    "[ -v 'a[$(id)]' ]",
    "[ -f a.txt ]",
    "test -n x",
    "test -R X",
    "let x=1",
    "let 'a[$(id)]=1'",
    "((x=1))",
    "eval ls",
    "eval 'id'",
    ". ./evil.sh",
    "source ./evil.sh",
    "trap id EXIT",
    "trap 'id' EXIT",
    "alias ls=id",
    "alias uname=id",
    "X=1 ls",
    "PATH=/tmp uname",
    "PATH=. stub",
    "printf -v X %s id",
    "printf -v 'a[$(id)]' x",
    "read -a X",
    "read X",
    "cd src",
    "pwd",
    ":",
    "set -e",
    "set -f",
    "set -k",
    "set -o pipefail",
    "set +f",
    "export X=-exec",
    "export PATH=.",
    "command ls",
    "exec ls",
    "exec id",
    "unset PATH",
    "hash -p /usr/bin/id ls",
    "type ls",
    "local x",
    "declare -x X=1",
    "shopt -s nullglob",
    "enable -n echo",
    "false",
    "kill -0 1",
    "builtin echo x",
    "ulimit -n",
    "umask 022",
    "getopts a X",
    "printf '%s' 'a[$(id)]'",
];

/// Positional carriers.
const CARRIERS: &[&str] = &[
    "sh -c '$0 \"$@\"' find . -maxdepth 0",
    "sh -c '$0 \"$@\"' ls -l",
    "sh -c '$0 $1' cat a.txt",
    "bash -c '\"$0\" \"$1\"' head a.txt",
    "sh -c '$0 \"$@\"' find . -exec id \\;",
    "sh -c '$0 \"$@\"' sh -c id",
    "sh -c '$0 $1' ls 'a b'",
    "sh -c '$0 $1' ls '*.txt'",
    "sh -c '$0 \"$@\" $X' ls",
    "dash -c '$0 \"$@\"' uname -s",
    "bash -c '$0 \"$@\"' /usr/bin/printf '%s\\n' x",
    "sh -c '$0 \"$@\"' eval id",
    "sh -c '$0' stub",
    "sh -c '$0 \"$1\"' ls '-l'",
    "sh -c '$0 $1' ls '~root'",
];

/// Shells whose commands come from somewhere the analysis does not see.
const STDIN_SHELLS: &[&str] = &[
    "cat evil.sh | sh",
    "cat evil.sh | bash -s",
    "cat evil.sh | dash -",
    "bash --rcfile ./evil.sh -i",
    "bash --init-file ./evil.sh -i",
    "sh -i",
    "bash -s",
    "sh ./evil.sh",
    "bash evil.sh",
    "sh -c 'ls; uname' | sh",
    "sh -lc 'ls; uname'",
    "bash -lc 'ls a.txt; uname -s'",
    // options of a nested shell that change how its words expand or what runs
    "bash -k -c 'ls X=1 a.txt; uname'",
    "sh -k -c 'ls X=1 a.txt; uname'",
    "bash -O nullglob -c 'ls x.nomatch* a.txt; uname'",
    "bash -O dotglob -c 'ls src/* a.txt; uname'",
    "bash -O failglob -c 'ls x.nomatch* a.txt; uname'",
    "bash -O extglob -c 'ls a.txt; uname'",
    "bash -f -c 'ls src/*.rs; uname'",
    "sh -f -c 'ls src/*.rs; uname'",
    "bash -o noglob -c 'ls src/*.rs; uname'",
    "bash --posix -c 'ls a=~/x; uname'",
    "bash +B -c 'ls {a,b}; uname'",
    "sh -a -c 'ls a.txt; uname'",
    "sh -n -c 'ls a.txt; uname'",
    "bash -x -c 'ls a.txt; uname'",
    "sh -e -c 'ls a.txt; uname'",
    "bash -r -c 'ls a.txt; uname'",
    "bash -p -c 'ls a.txt; uname'",
    "sh -C -c 'ls a.txt; uname'",
    "bash -c 'ls a.txt; uname' -k",
    "bash -ck 'ls X=1; uname'",
    "bash -kc 'ls X=1; uname'",
];

/// Heredocs (only at the end of a payload: text after a body is rejected).
const HEREDOCS: &[&str] = &[
    "cat <<'EOF'\nhello $(id)\nEOF",
    "cat <<EOF\nhello\nEOF",
    "cat <<EOF\n$(id)\nEOF",
    "sh <<'EOF'\nid\nEOF",
    "bash <<EOF\nid\nEOF",
    "dash <<'EOF'\nls\nEOF",
    "python3 <<'EOF'\nprint(1)\nEOF",
    "head -n 1 <<'EOF'\nx\nEOF",
    "tr a b <<'EOF'\nabc\nEOF",
    "sh -s <<'EOF'\nid\nEOF",
];

const REDIRECTS: &[&str] = &[">/dev/null", "2>/dev/null", "< a.txt", "> out.txt", "2>&1"];

fn quote_single(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\"'\"'"))
}

fn quote_double(s: &str) -> String {
    let mut out = String::from("\"");
    for ch in s.chars() {
        if matches!(ch, '"' | '\\' | '$' | '`') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('"');
    out
}

fn simple(rng: &mut Rng, depth: u32) -> String {
    let r = rng.below(100);
    if r < 10 {
        return rng.pick(BUILTINS).to_string();
    }
    if r < 16 {
        return rng.pick(CARRIERS).to_string();
    }
    if r < 21 {
        return rng.pick(STDIN_SHELLS).to_string();
    }
    if r < 27 && depth < 2 {
        let inner = chain(rng, depth + 1);
        let sh = *rng.pick(&["sh -c", "bash -c", "dash -c", "/bin/sh -c", "sh -lc"]);
        let q = if rng.chance(60) {
            quote_single(&inner)
        } else {
            quote_double(&inner)
        };
        return format!("{sh} {q}");
    }
    let mut parts: Vec<String> = Vec::new();
    if rng.chance(5) {
        parts.push(rng.pick(&["nice", "env", "timeout 5", "nohup"]).to_string());
    }
    if rng.chance(20) {
        parts.push("find . -maxdepth 1".into());
        for _ in 0..rng.below(4) {
            parts.push(rng.pick(FIND_ARGS).to_string());
        }
    } else {
        parts.push(rng.pick(PROGRAMS).to_string());
        for _ in 0..rng.below(4) {
            parts.push(rng.pick(ARGS).to_string());
        }
    }
    if rng.chance(4) {
        parts.push(rng.pick(REDIRECTS).to_string());
    }
    parts.join(" ")
}

fn pipeline(rng: &mut Rng, depth: u32) -> String {
    let mut s = simple(rng, depth);
    while rng.chance(15) {
        s.push_str(" | ");
        s.push_str(&simple(rng, depth));
    }
    s
}

fn chain(rng: &mut Rng, depth: u32) -> String {
    let mut s = pipeline(rng, depth);
    while rng.chance(if depth == 0 { 35 } else { 20 }) {
        s.push_str(*rng.pick(&[" && ", " || ", "; ", ";"]));
        s.push_str(&pipeline(rng, depth));
    }
    s
}

/// One payload.
pub fn payload(rng: &mut Rng) -> String {
    let mut p = chain(rng, 0);
    if rng.chance(7) {
        p.push_str(*rng.pick(&[" && ", "; ", " | "]));
        p.push_str(*rng.pick(HEREDOCS));
    } else if rng.chance(3) {
        p = rng.pick(HEREDOCS).to_string();
    }
    p
}
