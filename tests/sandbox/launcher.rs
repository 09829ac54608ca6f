//! Launcher run semantics (node-host-surface §6.2, §9): result shape, exit mapping, stdin EOF,
//! cwd errors, output cap, timeout TERM → grace → KILL, cancellation, post-exit drain.

use std::time::{Duration, Instant};

use crate::support::sandbox::*;
use openclaw_node::sandbox::{OUTPUT_CAP_BYTES, RunOutcome};
use tokio_util::sync::CancellationToken;

#[test]
fn result_payload_shape_matches_official_host() {
    let ok = RunOutcome {
        exit_code: Some(0),
        timed_out: false,
        success: true,
        stdout: "hi\n".into(),
        stderr: String::new(),
        error: None,
    };
    assert_eq!(
        serde_json::to_string(&ok).unwrap(),
        r#"{"exitCode":0,"timedOut":false,"success":true,"stdout":"hi\n","stderr":"","error":null}"#
    );
    let killed = RunOutcome {
        exit_code: None,
        ..ok
    };
    assert!(!serde_json::to_string(&killed).unwrap().contains("exitCode"));
}

/// A run that allocates past its memory bound is killed by the kernel and reported as such; the
/// launcher (this process) goes on and the next run works.
#[test]
fn memory_bound_kills_the_run_and_says_so() {
    let l = semantics_launcher("{ profile: 'standard', maxMemoryBytes: 67108864 }");
    if !require(
        l.support().cgroup.memory_bound().is_some(),
        "a cgroup memory controller (v2 memory or v1 memory)",
    ) {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    // Without the bound the same allocation succeeds (baseline control).
    let free = semantics_launcher("{ profile: 'standard', maxMemoryBytes: 0 }");
    let grab =
        "b = bytearray(200 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096]); print('got it')";
    let o = run(&free, req(&["/usr/bin/python3", "-c", grab], d.path()));
    assert_eq!(o.stdout.trim(), "got it", "{o:?}");
    let o = run(&l, req(&["/usr/bin/python3", "-c", grab], d.path()));
    assert!(!o.success, "{o:?}");
    assert!(
        o.error
            .as_deref()
            .is_some_and(|e| e.contains("out of memory") && e.contains("67108864")),
        "{o:?}"
    );
    let o = run(&l, req(&["/bin/echo", "after"], d.path()));
    assert_eq!(o.stdout, "after\n");
}

/// No file a run writes grows past `maxFileSizeBytes` (default 8 GiB); `0` lifts the bound.
#[test]
fn file_size_bound_stops_a_growing_file() {
    let d = tempfile::tempdir().unwrap();
    let write = "head -c 3000000 /dev/zero > big; ls -l big | awk '{print $5}'";
    let free = semantics_launcher("{ profile: 'standard', maxFileSizeBytes: 0 }");
    let o = run(&free, sh(write, d.path()));
    assert_eq!(o.stdout.trim(), "3000000", "baseline control: {o:?}");
    let bounded = semantics_launcher("{ profile: 'standard', maxFileSizeBytes: 1048576 }");
    let o = run(&bounded, sh(write, d.path()));
    assert_eq!(o.stdout.trim(), "1048576", "{o:?}");
    let cfg: openclaw_node::sandbox::SandboxConfig = json5::from_str("{}").unwrap();
    assert_eq!(cfg.max_file_size_bytes(), Some(8 << 30));
}

#[test]
fn echo_succeeds_with_exit_code_zero() {
    let l = semantics_launcher("{}");
    let d = tempfile::tempdir().unwrap();
    let o = run(&l, sh("echo hello; echo err >&2", d.path()));
    assert_eq!(o.exit_code, Some(0), "{o:?}");
    assert!(o.success && !o.timed_out && o.error.is_none());
    assert_eq!(o.stdout, "hello\n");
    assert_eq!(o.stderr, "err\n");
}

#[test]
fn nonzero_exit_is_reported_not_success() {
    let l = semantics_launcher("{ profile: 'off' }");
    let d = tempfile::tempdir().unwrap();
    let o = run(&l, sh("exit 3", d.path()));
    assert_eq!(o.exit_code, Some(3));
    assert!(!o.success && o.error.is_none());
}

#[test]
fn complaint_11_stdin_is_eof_interactive_commands_do_not_hang() {
    let l = semantics_launcher("{}");
    let d = tempfile::tempdir().unwrap();
    let mut r = req(&["/bin/cat"], d.path());
    r.timeout_ms = Some(5_000);
    let o = run(&l, r);
    assert_eq!(o.exit_code, Some(0), "{o:?}");
    assert!(!o.timed_out);
    assert_eq!(o.stdout, "");
}

#[test]
fn complaint_3_missing_cwd_names_the_directory() {
    let l = semantics_launcher("{}");
    let d = tempfile::tempdir().unwrap();
    let missing = d.path().join("nope");
    let o = run(&l, req(&["/bin/true"], &missing));
    assert_eq!(o.exit_code, None);
    assert!(!o.success);
    let e = o.error.unwrap();
    assert!(
        e.contains("does not exist") && e.contains(&*missing.to_string_lossy()),
        "{e}"
    );
    assert!(!missing.exists(), "never auto-create the cwd");
}

#[test]
fn cwd_that_is_a_file_is_reported() {
    let l = semantics_launcher("{}");
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("file");
    std::fs::write(&f, "x").unwrap();
    let o = run(&l, req(&["/bin/true"], &f));
    assert!(o.error.unwrap().contains("not a directory"));
}

#[test]
fn missing_executable_is_a_spawn_error_in_the_outcome() {
    let l = semantics_launcher("{}");
    let d = tempfile::tempdir().unwrap();
    let o = run(&l, req(&["/nonexistent/openclaw-binary"], d.path()));
    assert_eq!(o.exit_code, None);
    let e = o.error.unwrap();
    assert!(e.contains("/nonexistent/openclaw-binary"), "{e}");
}

#[test]
fn path_lookup_uses_the_child_env() {
    let l = semantics_launcher("{}");
    let d = tempfile::tempdir().unwrap();
    let o = run(&l, req(&["true"], d.path()));
    assert_eq!(o.exit_code, Some(0), "{o:?}");
}

#[test]
fn env_is_exactly_the_request_env_plus_private_tmpdir() {
    let l = semantics_launcher("{}");
    let d = tempfile::tempdir().unwrap();
    let mut r = req(&["/usr/bin/env"], d.path());
    r.env.push(("FOO".into(), "bar".into()));
    let o = run(&l, r);
    let mut keys: Vec<&str> = o
        .stdout
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, _)| k))
        .collect();
    keys.sort();
    assert_eq!(keys, ["FOO", "LANG", "PATH", "TMPDIR"], "{}", o.stdout);
    let tmpdir = o
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("TMPDIR="))
        .unwrap()
        .to_string();
    assert!(
        !std::path::Path::new(&tmpdir).exists(),
        "private TMPDIR removed after the run"
    );
}

#[test]
fn output_cap_keeps_head_and_marks_truncation() {
    let l = semantics_launcher("{}");
    let d = tempfile::tempdir().unwrap();
    let o = run(&l, sh("head -c 300000 /dev/zero | tr '\\0' a", d.path()));
    assert_eq!(o.exit_code, Some(0));
    assert_eq!(o.stdout.len(), OUTPUT_CAP_BYTES + "\n... (truncated)".len());
    assert!(o.stdout.ends_with("a\n... (truncated)"));
}

#[test]
fn truncation_marker_goes_to_stderr_when_stderr_has_text() {
    let l = semantics_launcher("{}");
    let d = tempfile::tempdir().unwrap();
    let o = run(
        &l,
        sh(
            "echo warn >&2; sleep 0.1; head -c 300000 /dev/zero",
            d.path(),
        ),
    );
    assert!(
        o.stderr.ends_with("warn\n\n... (truncated)"),
        "{:?}",
        o.stderr
    );
    assert_eq!(o.stdout.len() + "warn\n".len(), OUTPUT_CAP_BYTES);
}

#[test]
fn timeout_kills_with_term_and_reports_signal() {
    let l = semantics_launcher("{ termGraceMs: 300 }");
    let d = tempfile::tempdir().unwrap();
    let mut r = req(&["/bin/sleep", "30"], d.path());
    r.timeout_ms = Some(300);
    let t0 = Instant::now();
    let o = run(&l, r);
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert!(o.timed_out && !o.success);
    assert_eq!(o.exit_code, None, "signal death omits exitCode");
    assert_eq!(o.error.as_deref(), Some("process killed by signal SIGTERM"));
}

#[test]
fn timeout_escalates_to_kill_after_grace_when_term_is_ignored() {
    let l = semantics_launcher("{ termGraceMs: 200 }");
    let d = tempfile::tempdir().unwrap();
    let mut r = sh("trap '' TERM; while :; do sleep 0.05; done", d.path());
    r.timeout_ms = Some(300);
    let t0 = Instant::now();
    let o = run(&l, r);
    assert!(t0.elapsed() >= Duration::from_millis(450), "grace honoured");
    assert!(o.timed_out);
    assert_eq!(o.exit_code, None);
    assert_eq!(o.error.as_deref(), Some("process killed by signal SIGKILL"));
}

#[test]
fn ea_case_151_exit_zero_after_timeout_kill_reports_124() {
    let l = semantics_launcher("{ termGraceMs: 2000 }");
    let d = tempfile::tempdir().unwrap();
    let mut r = sh("trap 'exit 0' TERM; sleep 30 & wait", d.path());
    r.timeout_ms = Some(300);
    let o = run(&l, r);
    assert!(o.timed_out);
    assert_eq!(o.exit_code, Some(124), "{o:?}");
    assert!(!o.success);
}

/// Output is read during TERM → grace → KILL: a command that writes more than a pipe buffer
/// while it shuts down finishes within the grace period instead of blocking on a full pipe and
/// being killed (its exit after the timeout still reports 124).
#[test]
fn output_written_during_the_grace_period_is_read_and_the_command_exits() {
    let l = semantics_launcher("{ termGraceMs: 5000 }");
    let d = tempfile::tempdir().unwrap();
    let mut r = sh(
        "trap 'head -c 150000 /dev/zero | tr \"\\0\" x; exit 0' TERM; sleep 30 & wait",
        d.path(),
    );
    r.timeout_ms = Some(300);
    let t0 = Instant::now();
    let o = run(&l, r);
    assert!(o.timed_out);
    assert_eq!(
        o.exit_code,
        Some(124),
        "killed instead of exiting: {:?}",
        o.error
    );
    assert!(o.stdout.len() >= 150_000, "{}", o.stdout.len());
    assert!(t0.elapsed() < Duration::from_secs(4), "{:?}", t0.elapsed());
}

#[test]
fn default_timeout_applies_when_request_has_none_and_max_caps_requests() {
    let l = semantics_launcher("{ defaultTimeoutMs: 300, maxTimeoutMs: 400 }");
    let d = tempfile::tempdir().unwrap();
    let mut r = req(&["/bin/sleep", "30"], d.path());
    r.timeout_ms = None;
    assert!(run(&l, r.clone()).timed_out);
    r.timeout_ms = Some(60_000);
    let t0 = Instant::now();
    assert!(run(&l, r).timed_out);
    assert!(t0.elapsed() < Duration::from_secs(5));
}

#[test]
fn complaint_9_cancellation_kills_the_run() {
    let l = semantics_launcher("{}");
    let d = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let cancel = CancellationToken::new();
    let c2 = cancel.clone();
    let t0 = Instant::now();
    let o = rt.block_on(async {
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            c2.cancel();
        });
        l.run(req(&["/bin/sleep", "30"], d.path()), cancel).await
    });
    let o = o.unwrap();
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert!(!o.timed_out && !o.success);
    assert!(o.error.unwrap().starts_with("run cancelled"));
}

#[test]
fn complaint_8_signal_death_is_reported_in_error() {
    let l = semantics_launcher("{}");
    let d = tempfile::tempdir().unwrap();
    let o = run(&l, sh("kill -KILL $$", d.path()));
    assert_eq!(o.exit_code, None);
    assert_eq!(o.error.as_deref(), Some("process killed by signal SIGKILL"));
    assert!(!o.timed_out);
}

#[test]
fn child_runs_in_its_own_session_and_process_group() {
    let l = semantics_launcher("{}");
    let d = tempfile::tempdir().unwrap();
    let o = run(&l, sh("cat /proc/self/stat", d.path()));
    // fields: pid (comm) state ppid pgrp session
    let stat = o.stdout;
    let after = stat.rsplit_once(')').unwrap().1;
    let f: Vec<&str> = after.split_whitespace().collect();
    let (pgrp, sid): (i32, i32) = (f[2].parse().unwrap(), f[3].parse().unwrap());
    // SAFETY-free: getpgrp via std is not available; compare with /proc/self/stat of the test.
    let own = std::fs::read_to_string("/proc/self/stat").unwrap();
    let own_f: Vec<String> = own
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .map(String::from)
        .collect();
    assert_ne!(pgrp.to_string(), own_f[2], "own process group");
    assert_eq!(pgrp, sid, "session leader's group");
}

/// The exec'd program's own view of its cgroups: `(v2 path, v1 pids path)`.
fn child_cgroups(l: &openclaw_node::sandbox::Launcher) -> (String, Option<String>) {
    let d = tempfile::tempdir().unwrap();
    let o = run(l, req(&["/bin/cat", "/proc/self/cgroup"], d.path()));
    assert_eq!(o.exit_code, Some(0), "{o:?}");
    let v2 = o
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .unwrap_or_default()
        .to_string();
    let v1 = o.stdout.lines().find_map(|l| {
        let mut it = l.splitn(3, ':');
        let _id = it.next()?;
        let ctrl = it.next()?;
        ctrl.split(',')
            .any(|c| c == "pids")
            .then(|| it.next().unwrap_or_default().to_string())
    });
    (v2, v1)
}

fn assert_in_run_cgroups(l: &openclaw_node::sandbox::Launcher) {
    let run_prefix = format!("/openclaw-node/run-{}-", std::process::id());
    let (v2, v1) = child_cgroups(l);
    assert!(v2.contains(&run_prefix), "v2 cgroup {v2:?}");
    if l.support().cgroup.v1_pids_base.is_some() {
        let v1 = v1.unwrap_or_default();
        assert!(v1.contains(&run_prefix), "v1 pids cgroup {v1:?}");
    }
}

/// Spawn performance: with a v2 run cgroup and clone3 available, children are created directly
/// inside their run cgroup (`clone3(CLONE_INTO_CGROUP)`), not forked and migrated.
#[test]
fn spawn_clone3_child_starts_inside_its_run_cgroups() {
    let l = semantics_launcher("{}");
    if !require(
        l.support().cgroup.v2_base.is_some() && l.support().clone3_into_cgroup,
        "a writable cgroup v2 and clone3(CLONE_INTO_CGROUP)",
    ) {
        return;
    }
    assert_eq!(l.spawn_path(), "clone3");
    assert_eq!(l.support().spawn_path, "clone3");
    assert_in_run_cgroups(&l);
    assert_eq!(
        l.spawn_counts(),
        (1, 0),
        "the clone3 path created the child"
    );
}

/// `useClone3: false` forces the fork + `pre_exec` path, which still joins the run cgroups
/// before exec.
#[test]
fn spawn_fallback_fork_path_still_joins_run_cgroups() {
    let l = semantics_launcher("{ useClone3: false }");
    assert_eq!(l.spawn_path(), "fork");
    assert_eq!(l.support().spawn_path, "fork");
    if !require(
        l.support().cgroup.v2_base.is_some(),
        "a writable cgroup v2 (run cgroups)",
    ) {
        return;
    }
    assert_in_run_cgroups(&l);
    assert_eq!(l.spawn_counts(), (0, 1), "the fork path created the child");
}

/// Both spawn paths run the same child setup and report the same results.
#[test]
fn spawn_paths_agree_on_results_and_errors() {
    for cfg in ["{}", "{ useClone3: false }", "{ profile: 'off' }"] {
        let l = semantics_launcher(cfg);
        let d = tempfile::tempdir().unwrap();
        let o = run(&l, sh("echo out; echo err >&2; exit 7", d.path()));
        assert_eq!(o.exit_code, Some(7), "{cfg}: {o:?}");
        assert_eq!((o.stdout.as_str(), o.stderr.as_str()), ("out\n", "err\n"));
        let o = run(&l, req(&["no-such-program-openclaw"], d.path()));
        let e = o.error.unwrap_or_default();
        assert!(
            e.starts_with("spawn no-such-program-openclaw failed: No such file or directory"),
            "{cfg}: {e}"
        );
        let o = run(
            &l,
            sh("pwd; ls -l /proc/self/fd | grep -c -- '->'", d.path()),
        );
        let mut lines = o.stdout.lines();
        assert_eq!(
            lines.next().map(std::path::PathBuf::from),
            Some(d.path().canonicalize().unwrap()),
            "{cfg}: cwd"
        );
        let fds: usize = lines
            .next()
            .unwrap_or_default()
            .trim()
            .parse()
            .unwrap_or(99);
        assert!(
            fds <= 4,
            "{cfg}: only fds 0-2 (+ ls' own dir fd) are open: {fds}"
        );
    }
}

/// Under `strict` a bare name runs the file the policy resolved on the run's PATH, even when
/// that directory is outside strict's read list. Found by the soundness oracle: `git`, resolved
/// to a PATH entry under `/tmp`, ran `/usr/bin/git` instead (the view hid the entry). The
/// control shows strict still hides a directory that is not on the PATH.
#[test]
fn strict_runs_the_path_entry_the_policy_resolved() {
    use std::os::unix::fs::PermissionsExt;
    let l = launcher("{ profile: 'strict' }");
    if !require_full(&l) {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let bin = d.path().join("bin");
    let other = d.path().join("other");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(bin.join("uname"), "#!/bin/sh\necho STUB-UNAME\n").unwrap();
    std::fs::set_permissions(bin.join("uname"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(other.join("f"), "SECRET-OTHER\n").unwrap();
    let cwd = tempfile::tempdir().unwrap();
    let with_path = |script: &str| {
        let mut r = sh(script, cwd.path());
        for (k, v) in r.env.iter_mut() {
            if k == "PATH" {
                *v = format!("{}:/usr/bin:/bin", bin.display());
            }
        }
        r
    };
    let o = run(&l, with_path("uname"));
    assert_eq!(o.stdout.trim(), "STUB-UNAME", "{o:?}");
    let o = run(
        &l,
        with_path(&format!(
            "cat {} 2>&1 || echo DENIED",
            other.join("f").display()
        )),
    );
    assert!(!o.stdout.contains("SECRET-OTHER"), "control: {o:?}");
    assert!(o.stdout.contains("DENIED"), "control: {o:?}");
}
