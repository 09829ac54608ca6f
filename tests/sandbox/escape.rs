//! Escape suite (issue "hardened launcher" §4): every attack first runs WITHOUT the sandbox
//! (baseline control: the attack works, or at least reaches the kernel), then under `standard`
//! (and `strict` where relevant) where it must fail. Syscall attacks use the
//! `openclaw-node-try-syscall` helper, which passes bad fds/pointers where it can so "blocked"
//! (EPERM/ENOSYS/EACCES) is distinguishable from "ran" (EBADF/EFAULT).
//!
//! `SANDBOX_MUST_WORK=1` turns a missing kernel feature into a failure instead of a loud skip.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::sandbox::*;
use openclaw_node::sandbox::bpf_eval::{SeccompData, eval};
use openclaw_node::sandbox::seccomp::{compile_set, syscall_number};
use openclaw_node::sandbox::{Launcher, RunOutcome};

/// Run the helper unsandboxed (as the test user) and return its one-line verdict.
fn baseline(args: &[&str]) -> String {
    let out = Command::new(helper())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn sandboxed(l: &Launcher, args: &[&str]) -> String {
    let d = tempfile::tempdir().unwrap();
    let h = helper();
    let mut argv = vec![h.to_str().unwrap()];
    argv.extend_from_slice(args);
    let o = run(l, req(&argv, d.path()));
    assert!(o.error.is_none(), "helper did not run: {o:?}");
    o.stdout.trim().to_string()
}

fn standard() -> Option<Launcher> {
    let l = launcher("{ profile: 'standard' }");
    require_full(&l).then_some(l)
}

fn strict() -> Option<Launcher> {
    // The helper lives under target/, outside strict's readable system dirs.
    let dir = helper().parent().unwrap().to_path_buf();
    let l = launcher(&format!(
        "{{ profile: 'strict', readableRoots: ['{}'] }}",
        dir.display()
    ));
    require_full(&l).then_some(l)
}

/// Baseline must be one of `reached`; sandboxed must be `blocked`.
fn syscall_attack(args: &[&str], reached: &[&str], blocked: &str) {
    let base = baseline(args);
    assert!(
        reached.contains(&base.as_str()),
        "baseline control: `{}` should reach the kernel unsandboxed ({reached:?}), got {base}",
        args.join(" ")
    );
    if let Some(l) = standard() {
        assert_eq!(sandboxed(&l, args), blocked, "standard: {}", args.join(" "));
    }
    if let Some(l) = strict() {
        assert_eq!(sandboxed(&l, args), blocked, "strict: {}", args.join(" "));
    }
}

const EPERM: &str = "errno:EPERM";

/// The compiled standard filter's own verdict for `nr` (checked without the kernel).
fn filter_verdict(nr: u32) -> u32 {
    let set = compile_set(true, true).unwrap();
    let d = SeccompData::native(nr, [0; 6]);
    let mut verdict = libc::SECCOMP_RET_ALLOW;
    for p in set.programs() {
        let v = eval(p, &d);
        if v != libc::SECCOMP_RET_ALLOW {
            verdict = v;
        }
    }
    verdict
}

const RET_EPERM: u32 = libc::SECCOMP_RET_ERRNO | libc::EPERM as u32;

// ---------------------------------------------------------------- syscalls (seccomp)

#[test]
fn attack_ptrace_attach_to_sibling() {
    syscall_attack(&["ptrace-sibling"], &["ok"], EPERM);
}

#[test]
fn attack_process_vm_readv_of_sibling() {
    syscall_attack(&["process-vm-readv"], &["ok"], EPERM);
}

#[test]
fn attack_io_uring_setup() {
    syscall_attack(&["io-uring-setup"], &["ok"], EPERM);
}

#[test]
fn attack_unshare_user_namespace() {
    syscall_attack(&["unshare-user"], &["ok"], EPERM);
}

#[test]
fn attack_unshare_mount_namespace() {
    syscall_attack(&["unshare-mount"], &["ok"], EPERM);
}

#[test]
fn attack_unshare_net_namespace() {
    syscall_attack(&["unshare-net"], &["ok"], EPERM);
}

#[test]
fn attack_mount() {
    syscall_attack(&["mount"], &["errno:EFAULT"], EPERM);
}

#[test]
fn attack_bpf() {
    syscall_attack(&["bpf"], &["errno:EFAULT", "errno:EINVAL"], EPERM);
}

#[test]
fn attack_perf_event_open() {
    syscall_attack(&["perf-event-open"], &["errno:EFAULT"], EPERM);
}

#[test]
fn attack_keyctl_session_keyring() {
    syscall_attack(&["keyctl"], &["ok"], EPERM);
}

#[test]
fn attack_kexec_load() {
    // The CI kernel has no CONFIG_KEXEC: ENOSYS unsandboxed = "reached the kernel".
    syscall_attack(
        &["kexec-load"],
        &["errno:ENOSYS", "errno:EFAULT", "errno:EINVAL"],
        EPERM,
    );
    assert_eq!(
        filter_verdict(syscall_number("kexec_load").unwrap() as u32),
        RET_EPERM
    );
    assert_eq!(
        filter_verdict(syscall_number("kexec_file_load").unwrap() as u32),
        RET_EPERM
    );
}

#[test]
fn attack_init_module() {
    // The CI kernel has no CONFIG_MODULES: ENOSYS unsandboxed = "reached the kernel".
    syscall_attack(&["init-module"], &["errno:ENOSYS", "errno:EFAULT"], EPERM);
    for name in ["init_module", "finit_module", "delete_module"] {
        assert_eq!(
            filter_verdict(syscall_number(name).unwrap() as u32),
            RET_EPERM
        );
    }
}

#[cfg(target_arch = "x86_64")]
#[test]
fn attack_x32_syscall_numbers() {
    // No x32 ABI on the CI kernel: ENOSYS unsandboxed; on an x32 kernel getpid succeeds.
    syscall_attack(&["x32-getpid"], &["errno:ENOSYS", "ok"], EPERM);
    // x32 variants of denied calls (ptrace 521, kexec_load 528, …) by the filter itself.
    for nr in [39u32, 101, 521, 528, 175, 272, 546, 547] {
        assert_eq!(filter_verdict(0x4000_0000 | nr), RET_EPERM, "x32 nr {nr}");
    }
}

#[test]
fn attack_clone3_with_namespace_flags() {
    syscall_attack(&["clone3-newuser"], &["ok"], "errno:ENOSYS");
}

#[test]
fn attack_clone_with_namespace_flags() {
    syscall_attack(&["clone-newuser"], &["ok"], EPERM);
    syscall_attack(&["clone-newnet"], &["ok"], EPERM);
}

#[test]
fn attack_personality() {
    syscall_attack(&["personality"], &["ok"], EPERM);
}

#[test]
fn attack_userfaultfd() {
    syscall_attack(&["userfaultfd"], &["ok"], EPERM);
}

#[test]
fn attack_setns() {
    syscall_attack(&["setns"], &["errno:EBADF"], EPERM);
}

#[test]
fn attack_open_by_handle_at() {
    syscall_attack(
        &["open-by-handle-at"],
        &["errno:EBADF", "errno:EFAULT"],
        EPERM,
    );
}

#[test]
fn attack_af_inet_socket_under_strict() {
    assert_eq!(baseline(&["socket-inet"]), "ok", "baseline control");
    if let Some(l) = standard() {
        assert_eq!(
            sandboxed(&l, &["socket-inet"]),
            "ok",
            "standard keeps network"
        );
    }
    if let Some(l) = strict() {
        assert_eq!(sandboxed(&l, &["socket-inet"]), EPERM);
        assert_eq!(
            sandboxed(&l, &["socket-unix"]),
            "ok",
            "AF_UNIX stays allowed"
        );
    }
}

#[test]
fn attack_network_off_in_standard_by_config() {
    let l = launcher("{ profile: 'standard', network: false }");
    if require_full(&l) {
        assert_eq!(sandboxed(&l, &["socket-inet"]), EPERM);
    }
}

// ---------------------------------------------------------------- filesystem (Landlock)

fn sh_plain(script: &str, cwd: &Path) -> bool {
    Command::new("/bin/sh")
        .args(["-c", script])
        .current_dir(cwd)
        .stdout(Stdio::null())
        .status()
        .unwrap()
        .success()
}

#[test]
fn attack_write_outside_writable_roots() {
    let outside = tempfile::tempdir().unwrap();
    let cwd = tempfile::tempdir().unwrap();
    let target = outside.path().join("pwned");
    let script = format!("echo x > '{}'", target.display());
    assert!(sh_plain(&script, cwd.path()), "baseline control");
    std::fs::remove_file(&target).unwrap();
    for l in [standard(), strict()].into_iter().flatten() {
        let o = run(&l, sh(&script, cwd.path()));
        assert_ne!(o.exit_code, Some(0), "{o:?}");
        assert!(!target.exists());
    }
}

#[test]
fn attack_write_outside_via_symlink() {
    let outside = tempfile::tempdir().unwrap();
    let cwd = tempfile::tempdir().unwrap();
    let target = outside.path().join("victim");
    std::fs::write(&target, "original").unwrap();
    std::os::unix::fs::symlink(&target, cwd.path().join("link")).unwrap();
    assert!(
        sh_plain("echo pwned > link", cwd.path()),
        "baseline control"
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "pwned\n");
    std::fs::write(&target, "original").unwrap();
    for l in [standard(), strict()].into_iter().flatten() {
        let o = run(&l, sh("echo pwned > link", cwd.path()));
        assert_ne!(o.exit_code, Some(0), "{o:?}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "original");
    }
}

#[test]
fn attack_write_outside_via_dotdot() {
    let parent = tempfile::tempdir().unwrap();
    let cwd = parent.path().join("work");
    std::fs::create_dir(&cwd).unwrap();
    let target = parent.path().join("escaped");
    assert!(sh_plain("echo x > ../escaped", &cwd), "baseline control");
    std::fs::remove_file(&target).unwrap();
    for l in [standard(), strict()].into_iter().flatten() {
        let o = run(&l, sh("echo x > ../escaped && mkdir ../dir2", &cwd));
        assert_ne!(o.exit_code, Some(0));
        assert!(!target.exists() && !parent.path().join("dir2").exists());
    }
}

#[test]
fn attack_write_shared_tmp_instead_of_private_tmpdir() {
    let name = format!("/tmp/openclaw-escape-{}", uuid::Uuid::new_v4());
    let cwd = tempfile::tempdir().unwrap();
    let script = format!("echo x > {name}");
    assert!(sh_plain(&script, cwd.path()), "baseline control");
    std::fs::remove_file(&name).unwrap();
    for l in [standard(), strict()].into_iter().flatten() {
        let o = run(
            &l,
            sh(
                &format!("{script}; echo ok > \"$TMPDIR/f\" && cat \"$TMPDIR/f\""),
                cwd.path(),
            ),
        );
        assert!(
            !Path::new(&name).exists(),
            "shared /tmp must not be writable"
        );
        assert_eq!(o.stdout, "ok\n", "private TMPDIR is writable: {o:?}");
    }
}

#[test]
fn writable_roots_and_cwd_are_writable_positive_control() {
    let root = tempfile::tempdir().unwrap();
    let cwd = tempfile::tempdir().unwrap();
    let l = launcher(&format!(
        "{{ writableRoots: ['{}'] }}",
        root.path().display()
    ));
    if !require_full(&l) {
        return;
    }
    let script = format!(
        "echo a > here && echo b > '{}/there' && echo c > /dev/null && cat here",
        root.path().display()
    );
    let o = run(&l, sh(&script, cwd.path()));
    assert_eq!(o.exit_code, Some(0), "{o:?}");
    assert!(root.path().join("there").exists());
}

#[test]
fn attack_read_outside_system_dirs_under_strict() {
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret");
    std::fs::write(&secret, "s3cret").unwrap();
    let cwd = tempfile::tempdir().unwrap();
    let script = format!("cat '{}'", secret.display());
    assert!(sh_plain(&script, cwd.path()), "baseline control");
    if let Some(l) = standard() {
        assert_eq!(
            run(&l, sh(&script, cwd.path())).stdout,
            "s3cret",
            "standard reads everywhere"
        );
    }
    if let Some(l) = strict() {
        let o = run(&l, sh(&script, cwd.path()));
        assert_ne!(o.exit_code, Some(0));
        assert!(!o.stdout.contains("s3cret"));
    }
}

#[test]
fn attack_read_host_environ_via_proc() {
    // Secrets of the node host (tokens in its env) via /proc/<host pid>/environ.
    let cwd = tempfile::tempdir().unwrap();
    let script = format!("cat /proc/{}/environ > /dev/null", std::process::id());
    assert!(sh_plain(&script, cwd.path()), "baseline control");
    for l in [standard(), strict()].into_iter().flatten() {
        let o = run(&l, sh(&script, cwd.path()));
        assert_ne!(o.exit_code, Some(0), "{o:?}");
    }
}

#[test]
fn attack_signal_the_node_host() {
    let pid = std::process::id().to_string();
    assert_eq!(baseline(&["kill", &pid]), "ok", "baseline control");
    for l in [standard(), strict()].into_iter().flatten() {
        if !require(
            l.support().landlock_abi.is_some_and(|v| v >= 6),
            "Landlock ABI >= 6 (signal scope)",
        ) {
            return;
        }
        assert_eq!(sandboxed(&l, &["kill", &pid]), EPERM);
    }
}

// ---------------------------------------------------------------- privileges

#[test]
fn proc_self_status_shows_nnp_seccomp_and_no_caps() {
    let cwd = tempfile::tempdir().unwrap();
    let base = Command::new("/bin/cat")
        .arg("/proc/self/status")
        .output()
        .unwrap();
    let base = String::from_utf8_lossy(&base.stdout).to_string();
    assert!(base.contains("NoNewPrivs:\t0"), "baseline control");
    for l in [standard(), strict()].into_iter().flatten() {
        let o = run(&l, req(&["/bin/cat", "/proc/self/status"], cwd.path()));
        let s = o.stdout;
        assert!(s.contains("NoNewPrivs:\t1"), "{s}");
        assert!(s.contains("Seccomp:\t2"), "{s}");
        for set in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
            assert!(
                s.contains(&format!("{set}:\t0000000000000000")),
                "{set}: {s}"
            );
        }
    }
}

#[test]
fn attack_setuid_binary_gains_privilege() {
    if !require(
        nix::unistd::geteuid().is_root(),
        "root (to make a setuid-root binary)",
    ) {
        return;
    }
    let dir = open_tempdir();
    let suid = dir.path().join("id-suid");
    std::fs::copy("/usr/bin/id", &suid).unwrap();
    std::os::unix::fs::chown(&suid, Some(0), Some(0)).unwrap();
    std::fs::set_permissions(&suid, std::fs::Permissions::from_mode(0o4755)).unwrap();
    // Baseline: an unprivileged user running the setuid-root copy gets euid 0.
    let out = Command::new(&suid)
        .arg("-u")
        .uid(65534)
        .gid(65534)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "0",
        "baseline control"
    );
    for profile in ["standard", "strict"] {
        let l = launcher(&format!(
            "{{ profile: '{profile}', runAs: {{ uid: 65534 }}, readableRoots: ['{}'] }}",
            dir.path().display()
        ));
        if !require_full(&l) {
            return;
        }
        let o = run(&l, req(&[suid.to_str().unwrap(), "-u"], dir.path()));
        assert_eq!(o.stdout.trim(), "65534", "{profile}: no_new_privs: {o:?}");
    }
}

#[test]
fn attack_inherited_parent_fds() {
    use nix::fcntl::{OFlag, open};
    use nix::sys::stat::Mode;
    use std::os::fd::AsRawFd;
    // An fd the host leaked without O_CLOEXEC.
    let leaked = open("/etc/hostname", OFlag::O_RDONLY, Mode::empty()).unwrap();
    let n = leaked.as_raw_fd().to_string();
    let probe = format!("test -e /proc/self/fd/{n} && echo leaked || echo clean");
    let base = Command::new("/bin/sh")
        .args(["-c", &probe])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&base.stdout).trim(),
        "leaked",
        "baseline control"
    );
    let cwd = tempfile::tempdir().unwrap();
    for l in [Some(launcher("{ profile: 'off' }")), standard()]
        .into_iter()
        .flatten()
    {
        let o = run(&l, sh(&probe, cwd.path()));
        assert_eq!(o.stdout.trim(), "clean", "{o:?}");
        let o = run(&l, req(&["/bin/ls", "/proc/self/fd"], cwd.path()));
        let fds: Vec<&str> = o.stdout.split_whitespace().collect();
        // 0-2 plus the fd ls opened to list the directory.
        assert!(fds.len() <= 4, "only stdio inherited: {fds:?}");
    }
    drop(leaked);
}

// ---------------------------------------------------------------- process tree

fn cmdline_alive(marker: &str) -> bool {
    !process_with_marker(marker).is_empty()
}

fn kill_marker(marker: &str) {
    for pid in process_with_marker(marker) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::SIGKILL);
    }
}

#[test]
fn complaint_1_setsid_grandchild_dies_on_timeout() {
    let cwd = tempfile::tempdir().unwrap();
    // Baseline: killing only the process group leaves the setsid'd grandchild alive.
    let marker = format!("61.{}", std::process::id());
    let mut child = Command::new("/bin/sh")
        .args(["-c", &format!("setsid sleep {marker} & sleep 30")])
        .process_group(0)
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let pgid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::killpg(pgid, nix::sys::signal::SIGKILL).unwrap();
    child.wait().unwrap();
    let survived = cmdline_alive(&marker);
    kill_marker(&marker);
    assert!(
        survived,
        "baseline control: the grandchild escapes a process-group kill"
    );

    let l = launcher("{}");
    if !require(
        l.tree_kill_mechanism() == "cgroup-v2",
        "writable cgroup v2 with cgroup.kill",
    ) {
        return;
    }
    let marker = format!("62.{}", std::process::id());
    let mut r = sh(&format!("setsid sleep {marker} & sleep 30"), cwd.path());
    r.timeout_ms = Some(400);
    let o = run(&l, r);
    assert!(o.timed_out);
    let survived = cmdline_alive(&marker);
    kill_marker(&marker);
    assert!(!survived, "the setsid'd grandchild must die with the run");
}

#[test]
fn double_forked_daemon_does_not_outlive_the_run() {
    let cwd = tempfile::tempdir().unwrap();
    let l = launcher("{}");
    if !require(
        l.tree_kill_mechanism() == "cgroup-v2",
        "writable cgroup v2 with cgroup.kill",
    ) {
        return;
    }
    let marker = format!("63.{}", std::process::id());
    let o = run(
        &l,
        sh(
            &format!("(setsid sleep {marker} >/dev/null 2>&1 &) ; echo started"),
            cwd.path(),
        ),
    );
    assert_eq!(o.stdout, "started\n");
    let survived = cmdline_alive(&marker);
    kill_marker(&marker);
    assert!(!survived);
}

#[test]
fn complaint_2_child_holding_stdout_after_exit_does_not_hang() {
    let cwd = tempfile::tempdir().unwrap();
    let marker = format!("64.{}", std::process::id());
    let script = format!("sleep {marker} & echo done");
    // Baseline: a plain capture waits for EOF, which the background sleep withholds.
    let mut child = Command::new("/bin/sh")
        .args(["-c", &script])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut s);
        let _ = tx.send(s);
    });
    let hung = rx.recv_timeout(Duration::from_millis(1500)).is_err();
    kill_marker(&marker);
    child.wait().unwrap();
    assert!(hung, "baseline control: plain capture hangs");

    let l = launcher("{}");
    let t0 = Instant::now();
    let o = run(&l, sh(&script, cwd.path()));
    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "bounded post-exit drain"
    );
    assert_eq!(o.stdout, "done\n");
    assert_eq!(o.exit_code, Some(0));
    let survived = cmdline_alive(&marker);
    kill_marker(&marker);
    if l.tree_kill_mechanism() == "cgroup-v2" {
        assert!(!survived);
    }
}

#[test]
fn attack_fork_bomb_is_bounded() {
    assert_eq!(
        baseline(&["fork-count", "60"]),
        "60",
        "baseline control (capped at 60)"
    );
    let l = launcher("{ maxProcesses: 16 }");
    if !require(
        l.support().cgroup.pids_bound().is_some(),
        "a pids controller (cgroup v2 or v1)",
    ) {
        return;
    }
    let n: usize = sandboxed(&l, &["fork-count", "60"]).parse().unwrap();
    assert!(n < 16, "forks bounded by pids.max: {n}");
}

#[test]
fn attack_fork_bomb_as_unprivileged_user_hits_rlimit_nproc() {
    // RLIMIT_NPROC does not bind uid 0; with runAs it does (counted per uid).
    if !require(
        nix::unistd::geteuid().is_root(),
        "root (to switch to uid 65534)",
    ) {
        return;
    }
    let l = launcher("{ maxProcesses: 12, runAs: { uid: 65534 } }");
    if !require_full(&l) {
        return;
    }
    let d = open_tempdir();
    let h = helper();
    let o: RunOutcome = run(
        &l,
        req(&[h.to_str().unwrap(), "fork-count", "60"], d.path()),
    );
    let n: usize = o.stdout.trim().parse().unwrap();
    assert!(n < 12, "{n}");
    let limits = run(&l, req(&["/bin/cat", "/proc/self/limits"], d.path())).stdout;
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max processes"))
        .unwrap()
        .to_string();
    assert_eq!(line.split_whitespace().nth(2), Some("12"), "{line}");
}

#[test]
fn per_agent_override_tightens_one_agent_only() {
    let dir = helper().parent().unwrap().to_path_buf();
    let l = launcher(&format!(
        "{{ profile: 'standard', agents: {{ ops: {{ profile: 'strict' }} }}, readableRoots: ['{}'] }}",
        dir.display()
    ));
    if !require_full(&l) {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let h = helper();
    let mut r = req(&[h.to_str().unwrap(), "socket-inet"], d.path());
    assert_eq!(
        run(&l, r.clone()).stdout.trim(),
        "ok",
        "main agent: standard"
    );
    r.agent_id = Some("ops".into());
    assert_eq!(run(&l, r).stdout.trim(), EPERM, "ops agent: strict");
}
