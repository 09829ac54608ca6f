//! The behaviour cases of the spec (`exec-approvals.md` §19) that are decidable by the
//! differential harness, as fixed cases run before the generated ones in every run. Paths use
//! the generator fixture (`{R}` = fixture root); the approvals file sets
//! `defaults = {security: allowlist, ask}` and `agents["*"].allowlist`; `openclaw.json` requests
//! `full/off`, so the approvals file decides.

use serde_json::json;

use crate::support::generator::{Case, Fixture};

/// Case ids of the spec corpus start here (generated cases use 0..CASES).
pub const SPEC_ID_BASE: u64 = 1_000_000_000;

/// `(spec case id, allowlist, ask, argv)`.
type SpecRow = (
    &'static str,
    &'static [&'static str],
    &'static str,
    &'static [&'static str],
);

const ROWS: &[SpecRow] = &[
    (
        "22",
        &["{R}/bin/rg"],
        "off",
        &["/bin/sh", "-lc", "rg -n TODO | head -n 5"],
    ),
    (
        "23",
        &["{R}/bin/rg"],
        "off",
        &["/bin/sh", "-lc", "rg foo && rm -rf /"],
    ),
    (
        "25",
        &["/usr/bin/echo"],
        "off",
        &["/bin/sh", "-lc", "/usr/bin/echo \"foo && bar\""],
    ),
    (
        "26",
        &["/usr/bin/echo"],
        "off",
        &["/bin/sh", "-lc", "echo $(id)"],
    ),
    (
        "27",
        &["/usr/bin/echo"],
        "off",
        &["/bin/sh", "-lc", "echo \"out: $(whoami)\""],
    ),
    (
        "29",
        &["/usr/bin/echo"],
        "off",
        &["/bin/sh", "-lc", "echo \"out: \\$(whoami)\""],
    ),
    (
        "30",
        &["/usr/bin/echo"],
        "off",
        &["/bin/sh", "-lc", "echo `id`"],
    ),
    (
        "31",
        &["/usr/bin/cat"],
        "off",
        &["/bin/sh", "-lc", "cat < /etc/passwd"],
    ),
    (
        "32",
        &["/usr/bin/echo"],
        "off",
        &["/bin/sh", "-lc", "echo ok > out.txt"],
    ),
    (
        "32b",
        &["/usr/bin/echo"],
        "off",
        &["/bin/sh", "-lc", "echo ok >/dev/null"],
    ),
    (
        "32c",
        &["/usr/bin/echo"],
        "off",
        &["/bin/sh", "-lc", "echo ok 2>&1"],
    ),
    (
        "33",
        &["/usr/bin/sleep"],
        "off",
        &["/bin/sh", "-lc", "sleep 5 &"],
    ),
    (
        "34",
        &["{R}/bin/rg"],
        "off",
        &["/bin/sh", "-lc", "rg a |& head"],
    ),
    (
        "36",
        &["{R}/bin/rg", "/usr/bin/id"],
        "off",
        &["/bin/sh", "-lc", "rg a\nid"],
    ),
    (
        "37",
        &["/usr/bin/echo"],
        "off",
        &["/bin/sh", "-lc", "/usr/bin/echo ok &&"],
    ),
    ("38", &["{R}/bin/rg"], "off", &["/bin/sh", "-lc", "rg a | "]),
    (
        "39",
        &["{R}/bin/rg"],
        "off",
        &["/bin/sh", "-lc", "rg 'unterminated"],
    ),
    (
        "40",
        &["/usr/bin/echo"],
        "off",
        &["/bin/sh", "-lc", "echo \"ok $\\\n(id -u)\""],
    ),
    (
        "41",
        &["/usr/bin/cat"],
        "off",
        &["/bin/sh", "-lc", "/usr/bin/cat <<EOF\n$(id)\nEOF"],
    ),
    (
        "41b",
        &["/usr/bin/cat"],
        "off",
        &["/bin/sh", "-lc", "/usr/bin/cat <<EOF\n$HOME\nEOF"],
    ),
    (
        "43",
        &["/usr/bin/cat"],
        "off",
        &["/bin/sh", "-lc", "/usr/bin/cat <<'EOF'\n$(id)\nEOF"],
    ),
    (
        "44",
        &["/usr/bin/cat"],
        "off",
        &["/bin/sh", "-lc", "/usr/bin/cat <<EOF\nline one"],
    ),
    (
        "45",
        &["{R}/bin/rg"],
        "off",
        &["/bin/sh", "-lc", "rg foo # ; rm -rf /"],
    ),
    (
        "46",
        &["{R}/bin/rg"],
        "off",
        &["/bin/sh", "-lc", "rg foo#bar"],
    ),
    ("47", &[], "on-miss", &["/bin/sh", "-lc", ""]),
    ("51", &["{R}/bin/rg"], "off", &["./rg"]),
    ("52", &["{R}/bin/rg"], "off", &["{R}/bin/../bin/rg"]),
    ("53", &["{R}/bin/../bin/rg"], "off", &["{R}/bin/rg"]),
    ("55", &["/usr/bin/*"], "off", &["python3", "x.py"]),
    ("57", &["/usr/**"], "off", &["python3"]),
    ("58", &["{R}/bin/r?"], "off", &["rg"]),
    ("58b", &["{R}/bin?rg"], "off", &["rg"]),
    ("59", &["{R}/BIN/RG"], "off", &["rg"]),
    ("60", &["{R}/bin/[r]g"], "off", &["rg"]),
    ("61", &["*"], "off", &["definitely-not-installed"]),
    ("62", &["rg"], "off", &["rg"]),
    ("62b", &["rg"], "off", &["{R}/bin/rg"]),
    ("64", &["{R}/bin/nope"], "off", &["{R}/bin/nope"]),
    ("66", &["{R}/bin/rg"], "off", &["rgl"]),
    ("66b", &["{R}/links/rgl"], "off", &["rgl"]),
    ("71", &[], "off", &["env", "tr", "a", "b"]),
    (
        "72",
        &["/usr/bin/tr"],
        "off",
        &["env", "FOO=bar", "tr", "a", "b"],
    ),
    (
        "75",
        &["/usr/bin/env"],
        "off",
        &["env", "-S", "sh -c \"echo pwned\""],
    ),
    (
        "76",
        &["/usr/bin/id", "{R}/bin/sudo"],
        "off",
        &["sudo", "/usr/bin/id"],
    ),
    (
        "78",
        &["{R}/bin/rg"],
        "off",
        &["nice", "-n", "5", "rg", "x"],
    ),
    ("79", &["{R}/bin/rg"], "off", &["timeout", "10", "rg", "x"]),
    ("79b", &["{R}/bin/rg"], "off", &["timeout", "rg"]),
    ("80", &["{R}/bin/rg"], "off", &["nohup", "--foo", "rg"]),
    (
        "81",
        &["/usr/bin/env"],
        "on-miss",
        &["env", "env", "env", "env", "env", "/bin/sh", "-c", "echo x"],
    ),
    (
        "82",
        &["{R}/bin/busybox"],
        "off",
        &["busybox", "sh", "-c", "id"],
    ),
    (
        "83",
        &["{R}/bin/busybox"],
        "off",
        &["busybox", "wget", "http://x"],
    ),
    (
        "85",
        &["{R}/bin/rg"],
        "off",
        &["/bin/sh", "-c", "rg a && head -n 1"],
    ),
    ("86", &["{R}/bin/rg"], "off", &["/bin/bash", "-c", "rg a"]),
    (
        "86b",
        &["{R}/bin/rg"],
        "off",
        &["/bin/sh", "-lc", "sh -c 'rg a'"],
    ),
    ("87", &[], "on-miss", &["./sh", "-lc", "/bin/echo hi"]),
    (
        "87b",
        &["/usr/bin/echo"],
        "on-miss",
        &["./sh", "-lc", "/bin/echo hi"],
    ),
    (
        "88",
        &["/usr/bin/touch"],
        "off",
        &["/bin/sh", "-lc", "sh -c '$0 \"$1\"' /usr/bin/touch /tmp/m"],
    ),
    (
        "88b",
        &["/usr/bin/touch"],
        "off",
        &["/bin/sh", "-lc", "$0 \"$1\"", "/usr/bin/touch", "/tmp/m"],
    ),
    (
        "89",
        &["{R}/work/check.sh"],
        "off",
        &["/bin/sh", "-lc", "./check.sh --limit 5"],
    ),
    ("94", &[], "off", &["/bin/sh", "-lc", "head -n 5"]),
    ("95", &[], "off", &["/bin/sh", "-lc", "head /etc/passwd"]),
    ("96", &[], "off", &["/bin/sh", "-lc", "head *"]),
    (
        "97",
        &[],
        "off",
        &[
            "/bin/sh",
            "-lc",
            "head -c${IFS}16${IFS}${OPENCLAW_CONFIG_PATH}",
        ],
    ),
    ("99", &[], "off", &["/bin/sh", "-lc", "wc -l"]),
    ("99b", &[], "off", &["/bin/sh", "-lc", "wc -Z"]),
    ("99c", &[], "off", &["/bin/sh", "-lc", "wc --lines=5"]),
    ("99d", &[], "off", &["/bin/sh", "-lc", "wc --files0-fro=x"]),
    ("100", &[], "off", &["/bin/sh", "-lc", "tr a b"]),
    ("100b", &[], "off", &["/bin/sh", "-lc", "tr"]),
    ("100c", &[], "off", &["/bin/sh", "-lc", "tr a b c"]),
    ("100d", &[], "off", &["/bin/sh", "-lc", "tr -S a b"]),
    ("101", &[], "off", &["/bin/sh", "-lc", "cut -f1 -- -"]),
    ("101b", &[], "off", &["/bin/sh", "-lc", "cut -f1 -- ../x"]),
    ("102", &[], "off", &["/bin/sh", "-lc", "sort -o /tmp/x"]),
    ("106", &[], "off", &["head", "-n", "1"]),
    (
        "115",
        &["/usr/bin/python3*"],
        "off",
        &["python3", "-c", "import os"],
    ),
    ("12", &[], "off", &["/bin/sh", "-lc", "true && pwd"]),
    ("rawCommand", &[], "off", &["rg ", "-n"]),
];

pub fn spec_cases(fx: &Fixture) -> Vec<Case> {
    ROWS.iter()
        .enumerate()
        .map(|(i, (sid, allowlist, ask, argv))| {
            let argv: Vec<String> = argv.iter().map(|a| fx.expand(a)).collect();
            let patterns: Vec<_> = allowlist
                .iter()
                .map(|p| json!({"pattern": fx.expand(p)}))
                .collect();
            let approvals = json!({
                "version": 1,
                "defaults": {"security": "allowlist", "ask": ask},
                "agents": {"*": {"allowlist": patterns}},
            });
            let mut params = json!({
                "command": argv,
                "cwd": fx.root.join("work").display().to_string(),
            });
            let mut tags = vec![format!("spec:{sid}")];
            if argv.len() == 3 && argv[0] == "/bin/sh" && argv[1] == "-lc" {
                params["rawCommand"] = json!(argv[2]);
                if argv[2].trim() != argv[2] || argv[2].is_empty() {
                    tags.push("raw-untrimmed".into());
                }
            }
            if params.get("rawCommand").is_none() {
                tags.push("raw-absent".into());
            }
            Case {
                id: SPEC_ID_BASE + i as u64,
                tags,
                approvals_raw: Some(approvals.to_string()),
                config: Some(json!({"tools": {"exec": {"security": "full", "ask": "off"}}})),
                params,
            }
        })
        .collect()
}
