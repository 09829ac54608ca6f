//! Deterministic, grammar-based generator of `system.run` cases for the policy differential test:
//! a fixture filesystem (executables, symlinks, scripts, a PATH pointing at them), approvals
//! files, `openclaw.json` exec settings, and `system.run` params (shell payloads through shell
//! transports, direct argv forms, wrappers, env overrides).
//!
//! Everything derives from one `u64` seed through a small SplitMix64 PRNG, so a case id + seed
//! reproduces a case exactly.

#![allow(
    clippy::explicit_auto_deref,
    reason = "`*rng.pick(..)` fixes the element type for inference; the suggestion does not compile"
)]

mod approvals;
mod shell;
pub use approvals::*;
pub use shell::*;

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

/// SplitMix64: tiny, fast, good enough for test-case generation, and fully deterministic.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
    pub fn chance(&mut self, pct: usize) -> bool {
        self.below(100) < pct
    }
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    /// Pick from `(weight, value)` pairs.
    pub fn weighted<'a, T>(&mut self, xs: &'a [(usize, T)]) -> &'a T {
        let total: usize = xs.iter().map(|(w, _)| *w).sum();
        let mut r = self.below(total);
        for (w, v) in xs {
            if r < *w {
                return v;
            }
            r -= w;
        }
        &xs[xs.len() - 1].1
    }
}

/// The temp directory tree both implementations resolve executables in.
#[derive(Debug)]
pub struct Fixture {
    pub root: PathBuf,
    pub path_env: String,
    /// State dir for our engine (approvals file + openclaw.json, rewritten per case).
    pub state: PathBuf,
    /// State dir given to the official oracle (never written by the test itself).
    pub oracle_state: PathBuf,
    _tmp: tempfile::TempDir,
}

const FAKE_EXE: &str = "#!/bin/sh\nexit 0\n";

fn write_exe(path: &Path, mode: u32) {
    fs::write(path, FAKE_EXE).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

impl Fixture {
    pub fn create() -> Self {
        let tmp = tempfile::Builder::new()
            .prefix("oc-difftest-")
            .tempdir()
            .unwrap();
        let root = tmp.path().canonicalize().unwrap();
        let bin = root.join("bin");
        let alt = root.join("alt");
        let links = root.join("links");
        let work = root.join("work");
        for d in [
            &bin,
            &alt,
            &links,
            &work,
            &work.join("sub"),
            &root.join("state"),
        ] {
            fs::create_dir_all(d).unwrap();
        }
        fs::create_dir_all(root.join("oracle-state")).unwrap();
        for name in [
            "rg",
            "python3.12",
            "tool",
            "gog",
            "git",
            "curl",
            "uniq",
            "sudo",
            "busybox",
            "doas",
            "Tool",
            "ｒg",
        ] {
            write_exe(&bin.join(name), 0o755);
        }
        write_exe(&bin.join("noexec"), 0o644);
        write_exe(&alt.join("rg"), 0o755);
        write_exe(&alt.join("tool2"), 0o755);
        symlink(bin.join("rg"), links.join("rgl")).unwrap();
        symlink("/usr/bin/id", links.join("myid")).unwrap();
        symlink(bin.join("missing-target"), links.join("dangling")).unwrap();
        for name in ["rg", "check.sh", "script.sh", "sh", "run.py"] {
            write_exe(&work.join(name), 0o755);
        }
        fs::write(work.join("data.txt"), "a\nb\n").unwrap();
        write_exe(&work.join("sub").join("tool"), 0o755);
        let path_env = format!(
            "{}:{}:{}:/usr/bin:/bin",
            bin.display(),
            links.display(),
            alt.display()
        );
        Self {
            state: root.join("state"),
            oracle_state: root.join("oracle-state"),
            root,
            path_env,
            _tmp: tmp,
        }
    }

    pub fn expand(&self, s: &str) -> String {
        s.replace("{R}", &self.root.display().to_string())
    }
}

/// One generated request with everything both sides need.
#[derive(Debug, Clone)]
pub struct Case {
    pub id: u64,
    pub tags: Vec<String>,
    /// Raw text of `exec-approvals.json` (None: no file).
    pub approvals_raw: Option<String>,
    /// `openclaw.json` content (None: no file).
    pub config: Option<Value>,
    /// `system.run` params.
    pub params: Value,
}

impl Case {
    pub fn oracle_line(&self) -> String {
        json!({
            "id": self.id,
            "approvalsRaw": self.approvals_raw,
            "config": self.config,
            "params": self.params,
        })
        .to_string()
    }
    /// A self-contained reproducer (paths are those of this run's fixture).
    pub fn describe(&self) -> String {
        format!(
            "case {} tags={:?}\n  params: {}\n  approvals: {}\n  config: {}",
            self.id,
            self.tags,
            self.params,
            self.approvals_raw.as_deref().unwrap_or("<none>"),
            self.config
                .as_ref()
                .map(|c| c.to_string())
                .unwrap_or_else(|| "<none>".into()),
        )
    }
    /// Text the known-difference regexes match against: argv items joined by U+2420 (␠).
    pub fn command_text(&self) -> String {
        self.params["command"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|v| v.as_str().unwrap_or_default().to_string())
                    .collect::<Vec<_>>()
                    .join("\u{2420}")
            })
            .unwrap_or_default()
    }
}

// ---------------------------------------------------------------- pools

const BARE_EXES: &[&str] = &[
    "rg",
    "rg",
    "jq",
    "python3",
    "python3.12",
    "node",
    "tool",
    "gog",
    "git",
    "curl",
    "uniq",
    "rgl",
    "myid",
    "dangling",
    "noexec",
    "head",
    "head",
    "tail",
    "tr",
    "tr",
    "wc",
    "wc",
    "cut",
    "sort",
    "grep",
    "id",
    "echo",
    "cat",
    "touch",
    "awk",
    "sed",
    "missingcmd",
    "true",
    "false",
    "test",
    ":",
    "cd",
    "pwd",
    "Tool",
    "ｒg",
    "find",
    "xargs",
    "tool2",
];

const PATH_EXES: &[&str] = &[
    "{R}/bin/rg",
    "{R}/alt/rg",
    "{R}/links/rgl",
    "{R}/links/myid",
    "{R}/bin/noexec",
    "{R}/bin/missing",
    "{R}/bin/../bin/rg",
    "{R}/bin/python3.12",
    "/usr/bin/head",
    "/usr/bin/id",
    "/bin/echo",
    "/usr/bin/../bin/id",
    "/usr/bin/tr",
    "./rg",
    "./check.sh",
    "./script.sh",
    "./sub/tool",
    "../work/rg",
    "sub/tool",
    "~/bin/tool",
];

const WORDS: &[&str] = &[
    "foo", "TODO", "x.txt", "data.txt", "a", "b", "-n", "-l", "5", "--", "-", "abc", "1",
];

const SHELL_WORDS: &[&str] = &[
    "'a b'",
    "\"a && b\"",
    "\"x; y\"",
    "'a | b'",
    "\"out: $(whoami)\"",
    "\"out: \\$(whoami)\"",
    "'$(id)'",
    "`id`",
    "$(id)",
    "${HOME}",
    "$HOME",
    "\"$HOME\"",
    "$1",
    "a#b",
    "\"a\\\"b\"",
    "'it'\"'\"'s'",
    "\\;",
    "\\|",
    "*.txt",
    "~/x",
    "''",
    "\"\"",
    "<(id)",
    "\"ok $\\\n(id -u)\"",
    "$((1+2))",
    "a=b",
];

/// Safe-bin invocations (argv after the name), by bin.
fn safe_bin_args(rng: &mut Rng, bin: &str) -> Vec<&'static str> {
    let opts: &[&[&str]] = match bin {
        "head" => &[
            &["-n", "5"],
            &["-n5"],
            &["--lines=5"],
            &["--lin=5"],
            &["-c", "16"],
            &["-q"],
            &["-z"],
            &["--zero"],
            &["/etc/passwd"],
            &["*"],
            &["-"],
            &["--", "-"],
            &["-n", "$HOME"],
            &["-c${IFS}16"],
            &["-f"],
            &[],
        ],
        "tail" => &[
            &["-n", "3"],
            &["-f"],
            &["--follow"],
            &["--pid", "5"],
            &["-c", "2"],
            &["--sleep-interval=1"],
            &["x.txt"],
        ],
        "tr" => &[
            &["a", "b"],
            &["a"],
            &[],
            &["a", "b", "c"],
            &["-d", "abc"],
            &["-s", "abc"],
            &["-S", "a", "b"],
            &["[:upper:]", "[:lower:]"],
            &["-cd", "a"],
        ],
        "wc" => &[
            &["-l"],
            &["-Z"],
            &["--lines=5"],
            &["--files0-from=x"],
            &["--files0-fro=x"],
            &["--l"],
            &["--lines"],
            &["-lw"],
            &["x.txt"],
            &[],
        ],
        "cut" => &[
            &["-f1"],
            &["-f1", "--", "-"],
            &["-d", ",", "-f", "2"],
            &["-f1", "--", "../x"],
            &["--complement", "-f1"],
            &["--comp", "-f1"],
            &["-c1-3"],
            &["-x"],
        ],
        "uniq" => &[&["-c"], &["-d"], &["--count"], &["-f", "1"], &["x.txt"]],
        "sort" => &[
            &["-S", "1M"],
            &["-o", "/tmp/x"],
            &["--compress-prog=sh"],
            &["--f=1"],
            &["--key=1,1"],
            &["--ke=1,1"],
            &["-r"],
        ],
        "grep" => &[
            &["-e", "needle"],
            &["needle"],
            &["-r", "x"],
            &["-e", "n", "--", "-"],
            &["-e", "n", "--", "../s.txt"],
            &["-f", "x"],
            &["--file=x"],
            &["--regexp=n"],
        ],
        _ => &[&["foo"], &["-n", "TODO"], &[]],
    };
    rng.pick(opts).to_vec()
}

const SAFE_BINS: &[&str] = &["head", "tail", "tr", "wc", "cut", "uniq", "sort", "grep"];

// ---------------------------------------------------------------- argv forms

fn gen_direct_argv(rng: &mut Rng, fx: &Fixture, tags: &mut Vec<String>) -> Vec<String> {
    let mut argv: Vec<String> = Vec::new();
    if rng.chance(25) {
        let w: &[&str] = *rng.pick(&[
            &["env"][..],
            &["env", "FOO=bar"],
            &["env", "-S", "sh -c x"],
            &["env", "-i"],
            &["env", "--"],
            &["/usr/bin/env"],
            &["nice", "-n", "5"],
            &["nice", "-5"],
            &["nohup"],
            &["nohup", "--foo"],
            &["timeout", "10"],
            &["timeout", "-k", "1", "10"],
            &["timeout"],
            &["stdbuf", "-o", "0"],
            &["sudo"],
            &["busybox"],
            &["env", "env", "env", "env", "env"],
            &["env", "LD_PRELOAD=/tmp/x.so"],
            &["env", "SHELLOPTS=xtrace", "PS4=$(id)"],
            &["env", "LANG=C"],
        ]);
        tags.push(format!("argv-wrapper:{}", w.join(" ")));
        argv.extend(w.iter().map(|s| s.to_string()));
    }
    let exe = if rng.chance(30) {
        tags.push("path-exe".into());
        fx.expand(*rng.pick(PATH_EXES))
    } else {
        rng.pick(BARE_EXES).to_string()
    };
    let exe = match rng.below(25) {
        0 => format!("{exe} "),
        1 => format!(" {exe}"),
        _ => exe,
    };
    if exe.trim() != exe {
        tags.push("argv0-space".into());
    }
    let base = exe.trim().rsplit('/').next().unwrap_or("").to_string();
    argv.push(exe);
    if SAFE_BINS.contains(&base.as_str()) && rng.chance(70) {
        tags.push("safe-bin-args".into());
        argv.extend(safe_bin_args(rng, &base).iter().map(|s| s.to_string()));
    } else if base.starts_with("python") && rng.chance(50) {
        tags.push("inline-eval".into());
        argv.extend(["-c".to_string(), "print(1)".to_string()]);
    } else {
        for _ in 0..rng.below(3) {
            argv.push(if rng.chance(20) {
                tags.push("argv-shell-chars".into());
                rng.pick(&["a;b", "$(id)", "x | y", "`id`", "", "  "])
                    .to_string()
            } else {
                rng.pick(WORDS).to_string()
            });
        }
    }
    argv
}

fn format_exec_command(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if a.is_empty() {
                "\"\"".to_string()
            } else if a.chars().any(|c| c.is_whitespace() || c == '"') {
                format!("\"{}\"", a.replace('"', "\\\""))
            } else {
                a.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn gen_command_params(
    rng: &mut Rng,
    fx: &Fixture,
    tags: &mut Vec<String>,
) -> (Vec<String>, Option<String>) {
    let form = rng.weighted(&[(60, 0u8), (25, 1), (15, 2)]);
    match form {
        0 => {
            // shell transport, as the Gateway sends it
            let payload = gen_payload(rng, fx, tags);
            let transport: &[&str] = *rng.weighted(&[
                (12, &["/bin/sh", "-lc"][..]),
                (2, &["/bin/sh", "-c"]),
                (2, &["bash", "-c"]),
                (1, &["sh", "-xc"]),
                (1, &["/usr/bin/dash", "-c"]),
                (1, &["zsh", "-c"]),
                (1, &["./sh", "-lc"]),
                (1, &["env", "sh", "-c"]),
                (1, &["env", "FOO=1", "sh", "-c"]),
                (1, &["busybox", "sh", "-c"]),
                (1, &["nice", "/bin/sh", "-c"]),
                (1, &["/bin/sh", "-l", "-c"]),
                (1, &["sh", "-c", "--"]),
            ]);
            tags.push(format!("transport:{}", transport.join(" ")));
            let mut argv: Vec<String> = transport.iter().map(|s| s.to_string()).collect();
            argv.push(payload.clone());
            if rng.chance(5) {
                tags.push("transport-positional".into());
                argv.push(fx.expand(*rng.pick(&["{R}/bin/rg", "/usr/bin/touch", "x"])));
            }
            let raw = match rng.below(25) {
                0..=17 => Some(payload.clone()),
                18 | 19 => Some(format_exec_command(&argv)),
                20 => {
                    tags.push("raw-mismatch".into());
                    Some(format!("{payload} x"))
                }
                21 => Some(payload.trim().to_string()),
                _ => None,
            };
            (argv, raw)
        }
        1 => {
            let argv = gen_direct_argv(rng, fx, tags);
            let raw = match rng.below(25) {
                0..=2 => Some(format_exec_command(&argv)),
                3 => {
                    tags.push("raw-mismatch".into());
                    Some(argv.iter().map(|s| s.trim()).collect::<Vec<_>>().join(" "))
                }
                _ => None,
            };
            (argv, raw)
        }
        _ => {
            let argv: Vec<String> = (*rng.pick(&[
                &["/bin/sh", "./script.sh"][..],
                &["/bin/sh", "./script.sh", "arg"],
                &["sh", "./check.sh"],
                &["bash", "--rcfile", "x", "./script.sh"],
                &["/bin/sh", "-s", "./script.sh"],
                &["/bin/sh", "-lc", "$0 \"$1\"", "/usr/bin/touch", "/tmp/m"],
                &["sh", "-c", "$0 \"$1\"", "{R}/bin/rg", "x"],
                &["./sh", "-lc", "/bin/echo hi"],
                &["{R}/work/sh", "-lc", "/bin/echo hi"],
                &["busybox", "wget", "http://x"],
                &["busybox", "sh", "-c", "id"],
                &["env", "env", "env", "env", "env", "/bin/sh", "-c", "echo x"],
                &["python3", "-c", "print(1)"],
                &["node", "-e", "1"],
                &["awk", "-F", ",", "-f", "script.awk", "data.csv"],
                &[],
                &[""],
                &["  "],
                &["/bin/sh", "-lc", ""],
                &["/bin/sh"],
                &["/bin/sh", "-c"],
            ]))
            .iter()
            .map(|s| fx.expand(s))
            .collect();
            tags.push("fixed-form".into());
            let raw = if rng.chance(20) {
                Some(format_exec_command(&argv))
            } else if argv.is_empty() && rng.chance(50) {
                Some("id".to_string())
            } else {
                None
            };
            (argv, raw)
        }
    }
}

/// Generate case `id` of the run with seed `seed`.
pub fn generate(seed: u64, id: u64, fx: &Fixture) -> Case {
    let mut rng = Rng::new(seed.wrapping_mul(0x1000_0000_01B3).wrapping_add(id));
    let mut tags = Vec::new();
    let approvals_raw = gen_approvals(&mut rng, fx, &mut tags);
    let config = gen_config(&mut rng, &mut tags);
    let (argv, raw) = gen_command_params(&mut rng, fx, &mut tags);
    let mut params = Map::new();
    params.insert("command".into(), json!(argv));
    // Official normalises an empty/blank rawCommand to "absent".
    if raw.as_deref().is_none_or(|r| r.trim().is_empty()) {
        tags.push("raw-absent".into());
    }
    if let Some(r) = raw {
        if r.trim() != r || r.is_empty() {
            tags.push("raw-untrimmed".into());
        }
        params.insert("rawCommand".into(), json!(r));
    }
    let cwd = rng.weighted(&[
        (8, Some("work")),
        (1, Some("work/sub")),
        (1, None),
        (1, Some("nonexistent")),
    ]);
    if let Some(c) = cwd {
        if *c == "nonexistent" {
            tags.push("cwd-missing".into());
        }
        params.insert("cwd".into(), json!(fx.root.join(c).display().to_string()));
    } else {
        tags.push("cwd-absent".into());
    }
    if let Some(env) = gen_env(&mut rng, &mut tags) {
        params.insert("env".into(), env);
    }
    match rng.below(10) {
        0 => {
            params.insert("agentId".into(), json!("ops"));
        }
        1 => {
            params.insert("agentId".into(), json!("other"));
        }
        2 => {
            params.insert("agentId".into(), json!("main"));
        }
        _ => tags.push("agent-absent".into()),
    }
    tags.sort();
    tags.dedup();
    Case {
        id,
        tags,
        approvals_raw,
        config,
        params: Value::Object(params),
    }
}
