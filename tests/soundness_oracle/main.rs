//! Soundness oracle: "what runs is exactly what was analysed" (DIFFERENCES.md, "Soundness
//! rule"), checked against the real shells.
//!
//! Seeded payloads (the differential generator's shell grammar plus words and forms that stress
//! the rule) are decided by the engine under `security=allowlist` with allowlists of real
//! executables and stubs. Every allowed run's `exec_argv` is executed as decided under the real
//! `dash` and `bash` (and, for `/bin/sh` transports, once more decided and run with bash as the
//! shell, the Fedora/RHEL layout) with `strace -f`, and every program a shell of the run
//! executes must be one the analysis planned (same file, same words; a planned glob word stands
//! for the words its pattern matches). A sample also runs through the real launcher
//! (`openclaw-node exec --profile strict`), which must execute exactly `exec_argv`.
//!
//! `ORACLE_CASES` (payloads, default 3000) and `ORACLE_SEED` make a long run
//! (`scripts/soundness-oracle.sh`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed unwrap is a failed test"
)]

#[path = "../support/mod.rs"]
mod support;

/// Payloads that stress the soundness rule (on top of the shared generator's grammar).
mod payloads;
/// strace plumbing that reads back what the real shells execute.
mod trace;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use openclaw_node::policy::decide::Decision;
use openclaw_node::policy::fsview::RealFs;
use openclaw_node::policy::plan::RunRequest;
use openclaw_node::policy::{PolicyEngine, PolicyPaths};
use openclaw_node::sandbox::profile::STRICT_READ_DIRS;
use serde_json::json;
use support::generator::{self, Rng};
use trace::{Planned, Traced};

const DEFAULT_SEED: u64 = 20_261_203;
const DEFAULT_CASES: usize = 3000;
const RUN_TIMEOUT: Duration = Duration::from_secs(10);
const LAUNCHER_EVERY: usize = 25;

fn env_num(key: &str, default: u64) -> u64 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn node_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_openclaw-node"))
}

fn must_run() -> bool {
    std::env::var("ORACLE_MUST_RUN").is_ok_and(|v| v == "1")
}

fn have_tools() -> bool {
    let ok = ["/usr/bin/strace", "/usr/bin/dash", "/usr/bin/bash"]
        .iter()
        .all(|p| Path::new(p).exists());
    if !ok && must_run() {
        panic!("ORACLE_MUST_RUN=1 but strace, dash or bash is missing");
    }
    if !ok {
        eprintln!(
            "SKIPPED (loudly): strace, dash and bash are needed; set ORACLE_MUST_RUN=1 to fail"
        );
    }
    ok
}

fn write_exe(p: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// One allowlist + safe-bin configuration, with its own state dir (approvals, openclaw.json).
struct Variant {
    name: &'static str,
    state: PathBuf,
    engine: PolicyEngine,
}

/// The scratch world: the differential fixture (stub executables on PATH), a stub dir, a scratch
/// HOME, per-case working directories, and the allowlist variants.
struct Fx {
    diff: generator::Fixture,
    root: PathBuf,
    home: PathBuf,
    path_env: String,
    inherited: Vec<(String, String)>,
    variants: Vec<Variant>,
}

impl Fx {
    fn new(home_name: &str) -> Self {
        let diff = generator::Fixture::create();
        let root = diff.root.clone();
        // Fedora/RHEL: `/bin/sh` is bash (running in POSIX mode because of its name).
        std::fs::create_dir_all(root.join("fedora/bin")).unwrap();
        std::os::unix::fs::symlink("/usr/bin/bash", root.join("fedora/bin/sh")).unwrap();
        let ostub = root.join("ostub");
        write_exe(&ostub.join("stub"), "#!/bin/sh\nexit 0\n");
        let home = root.join(home_name);
        std::fs::create_dir_all(home.join("x")).unwrap();
        std::fs::write(home.join("notes.txt"), "n\n").unwrap();
        let evil = root.join("evil-env.sh");
        std::fs::write(&evil, "/usr/bin/id\n").unwrap();
        let path_env = format!(
            "{}:{}:/usr/bin:/bin",
            diff.path_env.trim_end_matches(":/usr/bin:/bin"),
            ostub.display()
        );
        // The node's own environment, hostile parts included: the engine must strip them.
        let inherited: Vec<(String, String)> = vec![
            ("HOME".into(), home.display().to_string()),
            ("PATH".into(), path_env.clone()),
            ("LANG".into(), "C".into()),
            ("BASH_ENV".into(), evil.display().to_string()),
            ("ENV".into(), evil.display().to_string()),
            ("BASH_FUNC_ls%%".into(), "() { /usr/bin/id; }".into()),
            ("BASH_FUNC_cat%%".into(), "() { /usr/bin/id; }".into()),
        ];
        let mut fx = Self {
            diff,
            root,
            home,
            path_env,
            inherited,
            variants: Vec::new(),
        };
        let core: Vec<String> = [
            "/usr/bin/find",
            "/usr/bin/ls",
            "/usr/bin/cat",
            "/usr/bin/uname",
            "/usr/bin/true",
            "/usr/bin/head",
            "/usr/bin/printf",
            "{R}/bin/tool",
            "{R}/bin/rg",
            "{R}/ostub/stub",
        ]
        .iter()
        .map(|p| fx.diff.expand(p))
        .collect();
        let mut wide = core.clone();
        wide.extend(
            [
                "/usr/bin/wc",
                "/usr/bin/sort",
                "/usr/bin/dash",
                "/usr/bin/bash",
                "/usr/bin/id",
            ]
            .map(String::from),
        );
        let narrow: Vec<String> = vec!["/usr/bin/find".into(), "/usr/bin/cat".into()];
        fx.add_variant("core+safe", &core, None);
        fx.add_variant("core", &core, Some(json!([])));
        fx.add_variant("narrow", &narrow, Some(json!([])));
        fx.add_variant("star", &["*".to_string()], None);
        fx.add_variant("wide+safe", &wide, None);
        fx
    }

    fn add_variant(
        &mut self,
        name: &'static str,
        patterns: &[String],
        safe: Option<serde_json::Value>,
    ) {
        let state = self.root.join("states").join(name);
        std::fs::create_dir_all(&state).unwrap();
        let entries: Vec<_> = patterns.iter().map(|p| json!({ "pattern": p })).collect();
        let approvals = state.join("exec-approvals.json");
        std::fs::write(
            &approvals,
            json!({"version": 1, "agents": {"main": {"allowlist": entries}}}).to_string(),
        )
        .unwrap();
        let mut exec = json!({"security": "allowlist", "ask": "off"});
        if let Some(s) = safe {
            exec["safeBins"] = s;
        }
        let cfg = json!({"tools": {"exec": exec}});
        std::fs::write(state.join("openclaw.json"), cfg.to_string()).unwrap();
        std::fs::write(
            state.join("node-host.json5"),
            "{ sandbox: { profile: 'strict' } }",
        )
        .unwrap();
        let engine = PolicyEngine::new(
            PolicyPaths {
                approvals,
                state_dir: state.clone(),
            },
            self.path_env.clone(),
        )
        .with_config(cfg)
        .with_legacy_approvals(None)
        .with_filesystem(Arc::new(RealFs {
            home: Some(self.home.clone()),
        }))
        .with_inherited_env(self.inherited.clone());
        self.variants.push(Variant {
            name,
            state,
            engine,
        });
    }

    /// A fresh working directory with files the globs can match (hostile names included).
    fn cwd(&self, name: &str) -> PathBuf {
        let d = self.root.join("cases").join(name);
        std::fs::create_dir_all(d.join("src")).unwrap();
        for f in [
            "a.txt", "b.txt", "data.txt", "-exec", "-n.txt", "ab1", "bq", "x", ".hidden",
        ] {
            std::fs::write(d.join(f), "a\nb\n").unwrap();
        }
        for f in ["a.rs", "b.rs"] {
            std::fs::write(d.join("src").join(f), "fn main() {}\n").unwrap();
        }
        std::fs::write(d.join("evil.sh"), "/usr/bin/id\n").unwrap();
        d
    }

    fn decide(&self, v: &Variant, argv: &[String], cwd: &Path) -> Decision {
        let mut req = RunRequest::argv(argv);
        req.cwd = Some(cwd.display().to_string());
        v.engine.decide_request(&req)
    }

    fn home_str(&self) -> String {
        self.home.display().to_string()
    }
}

/// One allowed run to execute.
struct Job {
    label: String,
    variant: usize,
    argv: Vec<String>,
    decision: Decision,
    cwd: PathBuf,
    launcher: bool,
}

impl Job {
    fn describe(&self, fx: &Fx) -> String {
        format!(
            "{}{} [{}] argv={:?}\n  exec_argv={:?}\n  segments planned={:?}",
            self.label,
            if self.launcher { " (launcher)" } else { "" },
            fx.variants[self.variant].name,
            self.argv,
            self.decision.exec_argv,
            trace::planned(&self.decision, &self.cwd, &fx.path_env)
                .iter()
                .map(|p| (p.real.display().to_string(), p.args.clone()))
                .collect::<Vec<_>>()
        )
    }
}

/// Start-up execs of login shells with an empty HOME (`/etc/profile` runs `id -u`).
fn startup_execs(fx: &Fx, v: &Variant) -> Vec<Planned> {
    let mut out = Vec::new();
    let cwd = fx.cwd("startup");
    for shell in ["/bin/sh", "/usr/bin/dash", "/usr/bin/bash"] {
        let argv: Vec<String> = vec![shell.into(), "-lc".into(), "true".into()];
        let d = fx.decide(v, &argv, &cwd);
        assert!(
            d.allowed(),
            "{shell} -lc true must be allowed: {}",
            d.message
        );
        let t = trace::trace(
            &d.exec_argv,
            &d.env,
            &cwd,
            &fx.root.join("logs/startup").join(shell.replace('/', "_")),
            RUN_TIMEOUT,
        );
        for x in t.execs.iter().skip(1) {
            if let Ok(real) = std::fs::canonicalize(&x.path) {
                out.push(Planned {
                    real,
                    args: x.argv[1..].to_vec(),
                    startup: true,
                });
            }
        }
    }
    out
}

/// The request argvs a payload is decided as: the transport, and for `/bin/sh` also bash as the
/// shell (Fedora/RHEL, where `/bin/sh` is bash): `/usr/bin/bash -lc`, and an `sh` that is a
/// symlink to bash (bash in POSIX mode, as Fedora runs `/bin/sh`).
fn forms(fx: &Fx, transport: usize, payload: &str) -> Vec<(&'static str, Vec<String>)> {
    let p = payload.to_string();
    let fedora_sh = fx.root.join("fedora/bin/sh").display().to_string();
    match transport {
        0 => vec![
            ("sh-lc", vec!["/bin/sh".into(), "-lc".into(), p.clone()]),
            (
                "bash-as-sh-lc",
                vec!["/usr/bin/bash".into(), "-lc".into(), p.clone()],
            ),
            ("bash-named-sh-lc", vec![fedora_sh, "-lc".into(), p]),
        ],
        1 => vec![("dash-c", vec!["/usr/bin/dash".into(), "-c".into(), p])],
        _ => vec![("bash-c", vec!["/usr/bin/bash".into(), "-c".into(), p])],
    }
}

/// A shell payload from the differential generator's grammar, when its case is a shell run.
fn differential_payload(seed: u64, id: u64, fx: &Fx) -> Option<String> {
    let case = generator::generate(seed, id, &fx.diff);
    let argv: Vec<String> = case.params["command"]
        .as_array()?
        .iter()
        .filter_map(|v| v.as_str().map(String::from))
        .collect();
    let n = argv.len();
    if n < 3 {
        return None;
    }
    let flag = &argv[n - 2];
    (flag.starts_with('-') && flag.ends_with('c')).then(|| argv[n - 1].clone())
}

#[derive(Default)]
struct Figures {
    decided: usize,
    allowed: usize,
    executed: usize,
    through_launcher: usize,
    checked_execs: usize,
    program_execs: usize,
    timeouts: usize,
}

fn run_job(fx: &Fx, job: &Job, startup: &[Planned], n: usize) -> (trace::Verdict, bool) {
    let mut planned = trace::planned(&job.decision, &job.cwd, &fx.path_env);
    planned.extend(startup.iter().cloned());
    let logs = fx.root.join("logs").join(n.to_string());
    let t: Traced = if job.launcher {
        let v = &fx.variants[job.variant];
        let mut env = fx.inherited.clone();
        env.push(("OPENCLAW_STATE_DIR".into(), v.state.display().to_string()));
        let mut argv: Vec<String> = vec![
            node_bin().display().to_string(),
            "exec".into(),
            "--profile".into(),
            "strict".into(),
            "--cwd".into(),
            job.cwd.display().to_string(),
            "--".into(),
        ];
        argv.extend(job.argv.iter().cloned());
        trace::trace(&argv, &env, &job.cwd, &logs, RUN_TIMEOUT * 2)
    } else {
        trace::trace(
            &job.decision.exec_argv,
            &job.decision.env,
            &job.cwd,
            &logs,
            RUN_TIMEOUT,
        )
    };
    let skip = job
        .launcher
        .then(|| std::fs::canonicalize(node_bin()).unwrap());
    let v = trace::verdict(
        &t,
        &job.decision.exec_argv,
        skip.as_deref(),
        &planned,
        &fx.home_str(),
    );
    let _ = std::fs::remove_dir_all(&logs);
    (v, t.timed_out)
}

#[test]
fn soundness_oracle_generated_payloads_run_as_analysed() {
    if !have_tools() {
        return;
    }
    trace::self_check();
    let started = Instant::now();
    let seed = env_num("ORACLE_SEED", DEFAULT_SEED);
    let cases = env_num("ORACLE_CASES", DEFAULT_CASES as u64) as usize;
    let fx = Fx::new("home");
    let startup = startup_execs(&fx, &fx.variants[0]);
    let mut fig = Figures::default();
    let mut jobs: Vec<Job> = Vec::new();
    let mut visible_allowed = 0usize;
    for id in 0..cases as u64 {
        let mut rng = Rng::new(seed.wrapping_mul(0x9E37_79B9).wrapping_add(id));
        let payload = if rng.chance(30) {
            differential_payload(seed, id, &fx).unwrap_or_else(|| payloads::payload(&mut rng))
        } else {
            payloads::payload(&mut rng)
        };
        let transport = rng.below(3);
        let variant = *rng.weighted(&[(30, 0usize), (20, 1), (10, 2), (20, 3), (20, 4)]);
        let cwd = fx.cwd(&id.to_string());
        for (label, argv) in forms(&fx, transport, &payload) {
            let d = fx.decide(&fx.variants[variant], &argv, &cwd);
            fig.decided += 1;
            if !d.allowed() {
                continue;
            }
            fig.allowed += 1;
            // The strict view shows its read dirs, the cwd and every directory on the run's
            // PATH (so a bare name runs the entry the policy resolved); a planned program
            // anywhere else is not readable there, so such a run is not sampled.
            let path_dirs: Vec<std::path::PathBuf> = std::env::split_paths(&fx.path_env).collect();
            let visible = trace::planned(&d, &cwd, &fx.path_env).iter().all(|p| {
                p.real.starts_with(&cwd)
                    || STRICT_READ_DIRS.iter().any(|r| p.real.starts_with(r))
                    || p.real
                        .parent()
                        .is_some_and(|dir| path_dirs.iter().any(|d| d == dir))
            });
            visible_allowed += usize::from(visible);
            let launcher = visible && visible_allowed.is_multiple_of(LAUNCHER_EVERY);
            jobs.push(Job {
                label: format!("case {id} {label}"),
                variant,
                argv,
                decision: d,
                cwd: cwd.clone(),
                launcher,
            });
        }
    }
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(2, 8)
        * 2;
    let next = AtomicUsize::new(0);
    let results: Vec<(usize, trace::Verdict, bool)> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(job) = jobs.get(i) else { break };
                        let (v, to) = run_job(&fx, job, &startup, i);
                        out.push((i, v, to));
                    }
                    out
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let mut failures = Vec::new();
    for (i, v, to) in &results {
        let job = &jobs[*i];
        fig.executed += 1;
        fig.through_launcher += usize::from(job.launcher);
        fig.checked_execs += v.checked;
        fig.program_execs += v.by_programs;
        fig.timeouts += usize::from(*to);
        if !v.mismatches.is_empty() {
            failures.push(format!(
                "{}\n  {}",
                job.describe(&fx),
                v.mismatches.join("\n  ")
            ));
        }
    }
    failures.sort();
    for (i, _, _) in results.iter().filter(|r| r.2).take(5) {
        eprintln!("timed out: {}", jobs[*i].describe(&fx));
    }
    eprintln!(
        "soundness oracle: seed {seed}, {cases} payloads, {} decided, {} allowed, {} executed \
         ({} through the launcher), {} shell execs checked, {} program execs not checked, \
         {} timeouts, {} mismatches, {:.1}s",
        fig.decided,
        fig.allowed,
        fig.executed,
        fig.through_launcher,
        fig.checked_execs,
        fig.program_execs,
        fig.timeouts,
        failures.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} runs executed something the analysis did not plan:\n{}",
        failures.len(),
        failures
            .iter()
            .take(30)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    if cases >= DEFAULT_CASES {
        assert!(fig.decided >= 3000, "{} decided", fig.decided);
        assert!(
            fig.executed >= 300,
            "only {} allowed runs executed",
            fig.executed
        );
        assert!(
            fig.through_launcher >= 10,
            "{} launcher runs",
            fig.through_launcher
        );
        assert!(fig.checked_execs >= fig.executed, "too few execs checked");
    }
}

/// Launcher argv for a decided request: `openclaw-node exec --profile strict --cwd CWD -- ARGV`.
fn launcher_run(fx: &Fx, v: &Variant, argv: &[String], cwd: &Path) -> std::process::Output {
    let mut c = std::process::Command::new(node_bin());
    c.args(["exec", "--profile", "strict", "--cwd"])
        .arg(cwd)
        .arg("--")
        .args(argv)
        .env_clear()
        .envs(fx.inherited.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("OPENCLAW_STATE_DIR", &v.state)
        .current_dir(cwd)
        .stdin(std::process::Stdio::null());
    c.output().unwrap()
}

/// Decide, run as decided under strace, and give the verdict.
fn oracle_once(
    fx: &Fx,
    v: &Variant,
    argv: &[String],
    cwd: &Path,
    startup: &[Planned],
) -> trace::Verdict {
    let d = fx.decide(v, argv, cwd);
    assert!(
        d.allowed(),
        "{argv:?} must be allowed: {} {:?}",
        d.message,
        d.analysis_error
    );
    let job = Job {
        label: "control".into(),
        variant: 0,
        argv: argv.to_vec(),
        decision: d,
        cwd: cwd.to_path_buf(),
        launcher: false,
    };
    run_job(fx, &job, startup, 900_000 + argv.len()).0
}

const EVIL_PROFILE: &str =
    "ls() { /usr/bin/id; }\nalias ls=/usr/bin/id\nalias uname=/usr/bin/id\nid\n";

/// Control (the oracle can fail): a hostile start-up file placed directly in HOME defines a
/// function and an alias named like an allowlisted command and runs `id`; a traced login-shell
/// run then executes programs its plan does not have.
#[test]
fn soundness_oracle_control_hostile_profile_in_home_is_a_mismatch() {
    if !have_tools() {
        return;
    }
    let fx = Fx::new("home");
    let v = &fx.variants[0];
    let startup = startup_execs(&fx, v);
    let cwd = fx.cwd("control");
    for shell in ["/bin/sh", "/usr/bin/bash"] {
        let argv: Vec<String> = vec![shell.into(), "-lc".into(), "ls a.txt && uname".into()];
        let clean = oracle_once(&fx, v, &argv, &cwd, &startup);
        assert!(
            clean.mismatches.is_empty(),
            "{shell}: {:?}",
            clean.mismatches
        );
        for f in [".profile", ".bash_profile"] {
            std::fs::write(fx.home.join(f), EVIL_PROFILE).unwrap();
        }
        let bad = oracle_once(&fx, v, &argv, &cwd, &startup);
        for f in [".profile", ".bash_profile"] {
            std::fs::remove_file(fx.home.join(f)).unwrap();
        }
        assert!(
            bad.mismatches.iter().any(|m| m.contains("/usr/bin/id")),
            "{shell}: a hostile ~/.profile must make the oracle report /usr/bin/id: {:?}",
            bad.mismatches
        );
    }
}

/// Through the real launcher with cwd = the node's HOME (a writable root covering HOME), allowed
/// payloads that plant start-up files fail to plant them, and the next traced `sh -lc` run
/// matches its plan. Each payload first plants without the launcher (it does plant).
#[test]
fn soundness_oracle_runs_cannot_plant_startup_files_through_the_launcher() {
    if !have_tools() {
        return;
    }
    if !nix::unistd::geteuid().is_root() {
        assert!(
            !must_run(),
            "ORACLE_MUST_RUN=1: the launcher's strict view needs root here"
        );
        eprintln!("SKIPPED (loudly): the launcher's strict view needs root here");
        return;
    }
    let mut fx = Fx::new("home");
    let plant: Vec<String> = [
        "/usr/bin/cp",
        "/usr/bin/tee",
        "/usr/bin/cat",
        "/usr/bin/ls",
        "/usr/bin/uname",
    ]
    .map(String::from)
    .to_vec();
    fx.add_variant("plant", &plant, Some(json!([])));
    let v = fx.variants.last().unwrap();
    let startup = startup_execs(&fx, v);
    let home = fx.home.clone();
    std::fs::write(home.join("evil.txt"), EVIL_PROFILE).unwrap();
    let files = [".profile", ".bashrc", ".bash_profile", ".shrc", ".kshrc"];
    let payloads = [
        ("cp evil.txt .profile", ".profile"),
        ("cat evil.txt | tee .bashrc", ".bashrc"),
        ("cp evil.txt .bash_profile", ".bash_profile"),
        ("cp evil.txt .shrc", ".shrc"),
        ("cat evil.txt | tee .kshrc", ".kshrc"),
        ("tee .profile", ".profile"),
    ];
    // A redirection is not analysable: never allowed, nothing to run.
    let d = fx.decide(
        v,
        &["/bin/sh".into(), "-lc".into(), ">.profile".into()],
        &home,
    );
    assert!(!d.allowed(), ">.profile must not be allowed");
    let next: Vec<String> = vec![
        "/bin/sh".into(),
        "-lc".into(),
        "ls evil.txt && uname".into(),
    ];
    for (payload, target) in payloads {
        let argv: Vec<String> = vec!["/bin/sh".into(), "-lc".into(), payload.into()];
        let d = fx.decide(v, &argv, &home);
        assert!(
            d.allowed(),
            "{payload}: {} {:?}",
            d.message,
            d.analysis_error
        );
        // Control: without the launcher the payload plants the file.
        let st = std::process::Command::new(&d.exec_argv[0])
            .args(&d.exec_argv[1..])
            .env_clear()
            .envs(d.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .current_dir(&home)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(
            home.join(target).exists(),
            "{payload}: control must plant {target}: {st:?}"
        );
        std::fs::remove_file(home.join(target)).unwrap();
        // Through the launcher it does not.
        let out = launcher_run(&fx, v, &argv, &home);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !err.contains("denied ("),
            "{payload}: the launcher must allow it: {err}"
        );
        assert!(
            !err.contains("refused:"),
            "{payload}: the run must start: {err}"
        );
        assert!(
            err.contains("Read-only file system"),
            "{payload}: the run must start and fail at the write: exit {:?}: {err}",
            out.status.code()
        );
        for f in files {
            assert!(
                !home.join(f).exists(),
                "{payload}: {f} planted through the launcher: {err}"
            );
        }
        let after = oracle_once(&fx, v, &next, &home, &startup);
        assert!(
            after.mismatches.is_empty(),
            "{payload}: {:?}",
            after.mismatches
        );
    }
}
