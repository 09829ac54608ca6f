//! The shell grammar: quoting, simple commands, pipelines, chains and whole payloads.

use super::*;

pub(super) fn quote_single(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\"'\"'"))
}

pub(super) fn quote_double(s: &str) -> String {
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

pub(super) fn gen_simple(
    rng: &mut Rng,
    fx: &Fixture,
    tags: &mut Vec<String>,
    depth: u32,
) -> String {
    let mut parts: Vec<String> = Vec::new();
    // wrappers
    if rng.chance(18) {
        let w = *rng.pick(&[
            "env",
            "env FOO=1",
            "env -i",
            "env -S",
            "env --",
            "nice",
            "nice -n 5",
            "nohup",
            "nohup --foo",
            "timeout 10",
            "timeout",
            "stdbuf -o0",
            "sudo",
            "doas",
            "command",
            "exec",
            "builtin",
            "env env env env env",
            "busybox",
            "time",
        ]);
        tags.push(format!("sh-wrapper:{}", w.split(' ').next().unwrap_or(w)));
        parts.push(w.to_string());
    }
    // nested shells / interpreters
    if depth < 2 && rng.chance(10) {
        let inner = gen_chain(rng, fx, tags, depth + 1);
        let shell = *rng.pick(&["sh -c", "bash -lc", "sh -xc", "dash -c", "zsh -c", "ksh -c"]);
        tags.push("nested-shell".into());
        let q = if rng.chance(50) {
            quote_single(&inner)
        } else {
            quote_double(&inner)
        };
        parts.push(format!("{shell} {q}"));
        if rng.chance(20) {
            tags.push("positional-carrier".into());
            parts.push(
                rng.pick(&["{R}/bin/rg", "/usr/bin/touch", "rg", "x"])
                    .to_string(),
            );
        }
        return fx.expand(&parts.join(" "));
    }
    if rng.chance(6) {
        tags.push("inline-eval".into());
        parts.push(
            rng.pick(&[
                "python3 -c 'print(1)'",
                "python3.12 -Ic 'import os'",
                "node -e '1'",
                "awk 'BEGIN{print 1}'",
                "sed -e p",
                "find . -exec id \\;",
                "xargs id",
                "python3 run.py",
                "perl -e 1",
            ])
            .to_string(),
        );
        return fx.expand(&parts.join(" "));
    }
    // executable
    let exe = if rng.chance(25) {
        tags.push("path-exe".into());
        rng.pick(PATH_EXES).to_string()
    } else {
        rng.pick(BARE_EXES).to_string()
    };
    let exe_tok = match rng.below(12) {
        0 => quote_single(&exe),
        1 => quote_double(&exe),
        _ => exe.clone(),
    };
    parts.push(exe_tok);
    let base = exe.rsplit('/').next().unwrap_or(&exe).to_string();
    if [":", "cd", "false", "pwd", "test", "true"].contains(&exe.as_str()) {
        tags.push("shell-builtin".into());
    }
    if SAFE_BINS.contains(&base.as_str()) && rng.chance(70) {
        tags.push("safe-bin-args".into());
        parts.extend(safe_bin_args(rng, &base).iter().map(|s| s.to_string()));
    } else if base == "test" && rng.chance(30) {
        parts.push("-f".into());
        parts.push("x".into());
    } else {
        for _ in 0..rng.below(3) {
            if rng.chance(30) {
                tags.push("shell-word".into());
                parts.push(rng.pick(SHELL_WORDS).to_string());
            } else {
                parts.push(rng.pick(WORDS).to_string());
            }
        }
    }
    if rng.chance(8) {
        let r = *rng.pick(&[
            "> out.txt",
            "2>&1",
            ">/dev/null",
            "2>/dev/null",
            "1>&2",
            "< data.txt",
            ">> log",
            ">|x",
            "&>x",
        ]);
        tags.push(
            if r.contains("/dev/null") || r.contains(">&") && !r.starts_with('&') {
                "redirect:stream-only".into()
            } else {
                "redirect:file".into()
            },
        );
        parts.push(r.to_string());
    }
    if rng.chance(5) {
        let (delim, close) = *rng.pick(&[
            ("<<EOF", "EOF"),
            ("<<'EOF'", "EOF"),
            ("<<\"EOF\"", "EOF"),
            ("<<-EOF", "\tEOF"),
            ("<< EOF", "EOF"),
        ]);
        tags.push(if delim.contains('\'') || delim.contains('"') {
            "heredoc:quoted".into()
        } else {
            "heredoc:unquoted".into()
        });
        let body = *rng.pick(&[
            "hello",
            "$(id)",
            "`id`",
            "${HOME}",
            "$HOME",
            "$?",
            "a \\$(id)",
            "",
        ]);
        let closing = if rng.chance(10) { "" } else { close };
        return fx.expand(&format!("{} {delim}\n{body}\n{closing}", parts.join(" ")));
    }
    fx.expand(&parts.join(" "))
}

pub(super) fn gen_command(
    rng: &mut Rng,
    fx: &Fixture,
    tags: &mut Vec<String>,
    depth: u32,
) -> String {
    if depth < 2 && rng.chance(5) {
        tags.push("subshell".into());
        let inner = gen_chain(rng, fx, tags, depth + 1);
        return if rng.chance(50) {
            format!("( {inner} )")
        } else {
            format!("{{ {inner}; }}")
        };
    }
    gen_simple(rng, fx, tags, depth)
}

pub(super) fn gen_pipeline(
    rng: &mut Rng,
    fx: &Fixture,
    tags: &mut Vec<String>,
    depth: u32,
) -> String {
    let mut s = gen_command(rng, fx, tags, depth);
    while rng.chance(22) {
        tags.push("pipe".into());
        s.push_str(" | ");
        s.push_str(&gen_command(rng, fx, tags, depth));
    }
    s
}

pub(super) fn gen_chain(rng: &mut Rng, fx: &Fixture, tags: &mut Vec<String>, depth: u32) -> String {
    let mut s = gen_pipeline(rng, fx, tags, depth);
    while rng.chance(if depth == 0 { 30 } else { 15 }) {
        let op = *rng.weighted(&[
            (4, " && "),
            (3, " || "),
            (3, "; "),
            (1, ";"),
            (1, " & "),
            (1, "\n"),
            (1, " |& "),
            (1, "\r\n"),
        ]);
        tags.push(match op {
            "\n" => "op:newline".to_string(),
            "\r\n" => "op:crlf".to_string(),
            _ => format!("op:{}", op.trim()),
        });
        s.push_str(op);
        s.push_str(&gen_pipeline(rng, fx, tags, depth));
    }
    s
}

pub(super) fn gen_payload(rng: &mut Rng, fx: &Fixture, tags: &mut Vec<String>) -> String {
    let mut p = gen_chain(rng, fx, tags, 0);
    if rng.chance(8) {
        let inj = rng.below(9);
        tags.push(format!("inject:{inj}"));
        match inj {
            0 => {
                let at = p
                    .char_indices()
                    .map(|(i, _)| i)
                    .nth(rng.below(p.chars().count()))
                    .unwrap_or(0);
                p.insert_str(at, "\\\n");
            }
            1 => p.push_str(" &&"),
            2 => p.insert_str(0, "; "),
            3 => p.push_str(" 'unterminated"),
            4 => p = String::new(),
            5 => p = "   ".into(),
            6 => p.push_str(" # ; rm -rf /"),
            7 => p.push_str(" \\"),
            _ => p.push_str(" | "),
        }
    }
    p
}
