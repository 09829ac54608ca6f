//! Shared helpers for the sandbox integration tests (launcher construction, env, MUST_WORK).

use std::path::{Path, PathBuf};

use openclaw_node::sandbox::{LaunchRequest, Launcher, RunOutcome, SandboxConfig};
use tokio_util::sync::CancellationToken;

/// `SANDBOX_MUST_WORK=1`: a missing kernel feature is a failure, not a skip.
pub fn must_work() -> bool {
    std::env::var("SANDBOX_MUST_WORK").is_ok_and(|v| v == "1")
}

/// A launcher from a json5 `sandbox` section.
pub fn launcher(json5: &str) -> Launcher {
    let cfg: SandboxConfig = json5::from_str(json5).unwrap();
    Launcher::new(&cfg).unwrap()
}

/// Skip (loudly) or fail when the kernel cannot enforce what the test needs.
/// Returns true when the test should go on.
pub fn require(ok: bool, what: &str) -> bool {
    if ok {
        return true;
    }
    if must_work() {
        panic!("SANDBOX_MUST_WORK=1 but this machine lacks: {what}");
    }
    eprintln!(
        "SKIPPED (loudly): this machine lacks {what}; set SANDBOX_MUST_WORK=1 to fail instead"
    );
    false
}

/// The launcher can enforce confining profiles and tree kill here.
pub fn require_full(l: &Launcher) -> bool {
    let s = l.support();
    require(
        s.landlock_abi.is_some_and(|v| v >= 3) && s.seccomp_filter,
        "Landlock ABI >= 3 and seccomp filters",
    )
}

pub fn base_env() -> Vec<(String, String)> {
    vec![
        (
            "PATH".into(),
            "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin".into(),
        ),
        ("LANG".into(), "C".into()),
    ]
}

pub fn req(argv: &[&str], cwd: &Path) -> LaunchRequest {
    LaunchRequest {
        argv: argv.iter().map(|s| s.to_string()).collect(),
        cwd: Some(cwd.to_path_buf()),
        env: base_env(),
        timeout_ms: Some(20_000),
        agent_id: None,
    }
}

pub fn sh(script: &str, cwd: &Path) -> LaunchRequest {
    req(&["/bin/sh", "-c", script], cwd)
}

pub fn run(l: &Launcher, r: LaunchRequest) -> RunOutcome {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(l.run(r, CancellationToken::new())).unwrap()
}

/// A temp dir world-traversable (for runs as an unprivileged uid).
pub fn open_tempdir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().unwrap();
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    d
}

/// The try-syscall helper binary.
pub fn helper() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_openclaw-node-try-syscall"))
}

/// Is any live process's command line containing `marker`?
pub fn process_with_marker(marker: &str) -> Vec<i32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let text = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if text.contains(marker) {
            // Zombies have empty cmdlines, so these are live.
            out.push(pid);
        }
    }
    out
}

/// A launcher for run-semantics tests: the configured (confining) profile when this kernel can
/// enforce it; otherwise (loud skip of the confinement, or failure under MUST_WORK) `off`.
pub fn semantics_launcher(json5_text: &str) -> Launcher {
    let mut cfg: SandboxConfig = json5::from_str(json5_text).unwrap();
    let l = Launcher::new(&cfg).unwrap();
    let wanted = cfg
        .profile
        .as_deref()
        .and_then(openclaw_node::sandbox::Profile::parse)
        .unwrap_or(openclaw_node::sandbox::Profile::Standard);
    if let Some(why) = l.support().missing_for(wanted) {
        require(false, &why);
        cfg.profile = Some("off".into());
        return Launcher::new(&cfg).unwrap();
    }
    l
}
