//! The escape suite's attack probe (run as the `openclaw-node-try-syscall` helper binary; not
//! used by the node host itself). Each mode performs one attack and prints one line: `ok` when the attack reached its goal / the kernel,
//! `errno:<NAME>` with the errno otherwise, or a number for counting modes. Calls pass bad
//! fds/pointers where possible so "blocked by the sandbox" (EPERM/ENOSYS/EACCES) is
//! distinguishable from "reached the kernel" (EBADF/EFAULT/EINVAL) without side effects.
//!
//! Two further modes serve the per-rule seccomp validation (`tests/sandbox/seccomp_rules.rs`):
//! - `seccomp-batch <none|net|nonet>` installs the compiled filter set of a confining run
//!   (`net`: standard; `nonet`: standard + no-network; `none`: nothing), then reads raw syscall
//!   probes from stdin, one per line (`<id> <nr> <a0> … <a5>`, see [`ProbeArg`]), runs each in its
//!   own forked child and prints `<id> <outcome>` per probe: `ok`, `errno:<n>` (numeric),
//!   `signal:<n>` (the child was killed, e.g. SIGSYS by a kill/trap action) or `exit:<code>`.
//!   `<nr>` may be `i386:<n>` (x86_64 only): the call is made through `int 0x80`, the 32-bit ABI.
//! - `seccomp-exec <none|net|nonet> <program> [args…]` installs the filter set and execs.
#![expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    reason = "the attack probes pass raw syscall words through unchanged on purpose"
)]

use super::spawn::CloneArgs;
use std::io::Write;

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn name(e: i32) -> String {
    match e {
        libc::EPERM => "EPERM".into(),
        libc::ENOSYS => "ENOSYS".into(),
        libc::EACCES => "EACCES".into(),
        libc::EBADF => "EBADF".into(),
        libc::EFAULT => "EFAULT".into(),
        libc::EINVAL => "EINVAL".into(),
        libc::ESRCH => "ESRCH".into(),
        libc::EAGAIN => "EAGAIN".into(),
        libc::ENOENT => "ENOENT".into(),
        libc::EAFNOSUPPORT => "EAFNOSUPPORT".into(),
        e => format!("E{e}"),
    }
}

fn report(rc: libc::c_long) -> String {
    if rc < 0 {
        format!("errno:{}", name(errno()))
    } else {
        "ok".into()
    }
}

/// Fork a child that sleeps (a "sibling" target inside the same run); returns its pid.
fn spawn_target() -> libc::pid_t {
    // SAFETY: test helper; the child only calls async-signal-safe functions.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        loop {
            // SAFETY: pause(2) has no arguments.
            unsafe { libc::pause() };
        }
    }
    pid
}

fn reap(pid: libc::pid_t) {
    // SAFETY: kill/waitpid with integer arguments and a null status pointer.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        libc::waitpid(pid, std::ptr::null_mut(), 0);
    }
}

/// Run `f` in a forked child (so namespace changes etc. do not affect us); report its result.
fn in_child(f: impl FnOnce() -> libc::c_long) -> String {
    let mut fds = [0; 2];
    // SAFETY: pipe(2) into a two-element array.
    unsafe { libc::pipe(fds.as_mut_ptr()) };
    // SAFETY: test helper; fork without threads.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let rc = f();
        let e = if rc < 0 { errno() } else { 0 };
        let bytes = e.to_ne_bytes();
        // SAFETY: write/_exit in the child.
        unsafe {
            libc::write(fds[1], bytes.as_ptr().cast(), 4);
            libc::_exit(0);
        }
    }
    let mut buf = [0u8; 4];
    // SAFETY: read into a 4-byte buffer, then reap.
    unsafe {
        libc::close(fds[1]);
        libc::read(fds[0], buf.as_mut_ptr().cast(), 4);
        libc::waitpid(pid, std::ptr::null_mut(), 0);
    }
    let e = i32::from_ne_bytes(buf);
    if e == 0 {
        "ok".into()
    } else {
        format!("errno:{}", name(e))
    }
}

fn raw_clone(flags: u64) -> libc::c_long {
    // SAFETY: clone(2) with a null stack behaves like fork; the child exits immediately.
    let rc = unsafe { libc::syscall(libc::SYS_clone, flags | libc::SIGCHLD as u64, 0, 0, 0, 0) };
    if rc == 0 {
        // SAFETY: child exits immediately.
        unsafe { libc::_exit(0) };
    }
    if rc > 0 {
        // SAFETY: reap the child.
        unsafe { libc::waitpid(rc as i32, std::ptr::null_mut(), 0) };
    }
    rc
}

/// Run one probe mode (`args[0]`) and print its verdict; returns the process exit status.
pub fn main_with_args(args: &[String]) -> i32 {
    let mode = args.first().map(String::as_str).unwrap_or("");
    match mode {
        "seccomp-batch" => return seccomp_batch(args.get(1).map(String::as_str).unwrap_or("")),
        "seccomp-exec" => {
            return seccomp_exec(
                args.get(1).map(String::as_str).unwrap_or(""),
                &args[2.min(args.len())..],
            );
        }
        _ => {}
    }
    let bad = std::ptr::without_provenance::<libc::c_void>(8); // EFAULT-provoking pointer
    let out: String = match mode {
        "ptrace-sibling" => {
            let t = spawn_target();
            // SAFETY: PTRACE_ATTACH to our own forked target.
            let rc = unsafe { libc::ptrace(libc::PTRACE_ATTACH, t, 0, 0) };
            let r = report(rc);
            reap(t);
            r
        }
        "process-vm-readv" => {
            let t = spawn_target();
            let mut local = [0u8; 8];
            let secret: u64 = 0x5ec2e7;
            let liov = libc::iovec {
                iov_base: local.as_mut_ptr().cast(),
                iov_len: 8,
            };
            // The target is a fork: `secret` lives at the same address there.
            let riov = libc::iovec {
                iov_base: (&secret as *const u64) as *mut libc::c_void,
                iov_len: 8,
            };
            // SAFETY: both iovecs describe valid 8-byte buffers.
            let rc = unsafe { libc::process_vm_readv(t, &liov, 1, &riov, 1, 0) };
            reap(t);
            if rc == 8 && u64::from_ne_bytes(local) == secret {
                "ok".into()
            } else {
                report(if rc < 0 { -1 } else { 0 })
            }
        }
        "pidfd-getfd-sibling" => {
            // Copy fd 0 of a forked sibling: the fd-theft equivalent of ptrace attach.
            let t = spawn_target();
            // SAFETY: pidfd_open/pidfd_getfd with integer arguments; the copied fd is closed.
            let rc = unsafe {
                let pidfd = libc::syscall(libc::SYS_pidfd_open, t, 0);
                if pidfd < 0 {
                    pidfd
                } else {
                    let fd = libc::syscall(libc::SYS_pidfd_getfd, pidfd, 0, 0);
                    if fd >= 0 {
                        libc::close(fd as i32);
                    }
                    fd
                }
            };
            let r = report(rc);
            reap(t);
            r
        }
        "io-uring-setup" => {
            let mut params = [0u8; 120];
            // SAFETY: io_uring_setup with a zeroed params struct of the kernel's size.
            let rc = unsafe { libc::syscall(libc::SYS_io_uring_setup, 4, params.as_mut_ptr()) };
            report(rc)
        }
        "unshare-user" => in_child(|| {
            // SAFETY: in a throwaway child.
            unsafe { libc::unshare(libc::CLONE_NEWUSER) as libc::c_long }
        }),
        "unshare-mount" => in_child(|| {
            // SAFETY: in a throwaway child.
            unsafe { libc::unshare(libc::CLONE_NEWNS) as libc::c_long }
        }),
        "unshare-net" => in_child(|| {
            // SAFETY: in a throwaway child.
            unsafe { libc::unshare(libc::CLONE_NEWNET) as libc::c_long }
        }),
        "mount" => {
            // SAFETY: bad pointers: the kernel faults copying the source string (EFAULT).
            let rc =
                unsafe { libc::mount(bad.cast(), bad.cast(), bad.cast(), 0, std::ptr::null()) };
            report(rc as libc::c_long)
        }
        "bpf" => {
            // SAFETY: BPF_PROG_LOAD with a bad attr pointer → EFAULT when it reaches the kernel.
            report(unsafe { libc::syscall(libc::SYS_bpf, 5, bad, 128) })
        }
        "perf-event-open" => {
            // SAFETY: bad attr pointer → EFAULT.
            report(unsafe { libc::syscall(libc::SYS_perf_event_open, bad, 0, -1, -1, 0) })
        }
        "keyctl" => {
            // SAFETY: KEYCTL_GET_KEYRING_ID(KEY_SPEC_SESSION_KEYRING, create=1): integers only.
            report(unsafe { libc::syscall(libc::SYS_keyctl, 0, -3, 1) })
        }
        "kexec-load" => {
            // SAFETY: zero segments, bad pointer; ENOSYS on kernels without CONFIG_KEXEC.
            report(unsafe { libc::syscall(libc::SYS_kexec_load, 0, 0, bad, 0) })
        }
        "init-module" => {
            // SAFETY: bad image pointer; ENOSYS on kernels without CONFIG_MODULES.
            report(unsafe { libc::syscall(libc::SYS_init_module, bad, 0, bad) })
        }
        "x32-getpid" => {
            // SAFETY: x32 getpid (39 | X32 bit); integers only.
            report(unsafe { libc::syscall(0x4000_0000 | libc::SYS_getpid) })
        }
        "clone3-newuser" => {
            let args = CloneArgs {
                flags: libc::CLONE_NEWUSER as u64,
                exit_signal: libc::SIGCHLD as u64,
                ..Default::default()
            };
            // SAFETY: clone3 with a null stack behaves like fork; the child exits immediately.
            let rc = unsafe {
                libc::syscall(
                    libc::SYS_clone3,
                    &args as *const CloneArgs,
                    std::mem::size_of::<CloneArgs>(),
                )
            };
            if rc == 0 {
                // SAFETY: child exits immediately.
                unsafe { libc::_exit(0) };
            }
            if rc > 0 {
                // SAFETY: reap.
                unsafe { libc::waitpid(rc as i32, std::ptr::null_mut(), 0) };
            }
            report(rc)
        }
        "clone-newuser" => report(raw_clone(libc::CLONE_NEWUSER as u64)),
        "clone-newnet" => report(raw_clone(libc::CLONE_NEWNET as u64)),
        "personality" => {
            // SAFETY: query+set ADDR_NO_RANDOMIZE; integer argument.
            let rc = unsafe { libc::personality(0x0040000) };
            report(rc as libc::c_long)
        }
        "userfaultfd" => {
            // SAFETY: integer flags.
            report(unsafe { libc::syscall(libc::SYS_userfaultfd, libc::O_CLOEXEC) })
        }
        "setns" => {
            // SAFETY: bad fd → EBADF when it reaches the kernel.
            report(unsafe { libc::setns(-1, 0) } as libc::c_long)
        }
        "open-by-handle-at" => {
            // SAFETY: bad fd and handle pointer → EBADF/EFAULT when it reaches the kernel.
            report(unsafe { libc::syscall(libc::SYS_open_by_handle_at, -1, bad, 0) })
        }
        "socket-inet" => {
            // SAFETY: integer arguments.
            let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0) };
            report(fd as libc::c_long)
        }
        "socket-unix" => {
            // SAFETY: integer arguments.
            let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0) };
            report(fd as libc::c_long)
        }
        "kill" => {
            let pid: i32 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(0);
            // SAFETY: signal 0 (existence/permission check only).
            report(unsafe { libc::kill(pid, 0) } as libc::c_long)
        }
        "fork-count" => {
            // Capped fork "bomb": try n forks, children pause; count successes, kill them all.
            let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(50);
            let mut pids = Vec::new();
            for _ in 0..n {
                // SAFETY: the child only pauses until killed.
                let pid = unsafe { libc::fork() };
                match pid {
                    0 => loop {
                        // SAFETY: no arguments.
                        unsafe { libc::pause() };
                    },
                    p if p > 0 => pids.push(p),
                    _ => {}
                }
            }
            let count = pids.len();
            for p in pids {
                reap(p);
            }
            count.to_string()
        }
        _ => {
            eprintln!("usage: openclaw-node-try-syscall <mode> [args]");
            return 2;
        }
    };
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "{out}");
    0
}

// ------------------------------------------------------------- per-rule seccomp validation

/// Install the filter set named `which` (`none`, `net`, `nonet`, and with the no-UNIX-sockets
/// rule `net-nounix`, `nonet-nounix`) on this (single-threaded) process, exactly as the
/// launcher's child does: no_new_privs, then the compiled programs.
fn install_filters(which: &str) -> Result<(), String> {
    let (network, unix_sockets) = match which {
        "none" => return Ok(()),
        "net" => (true, true),
        "nonet" => (false, true),
        "net-nounix" => (true, false),
        "nonet-nounix" => (false, false),
        other => {
            return Err(format!(
                "unknown filter set {other:?} (none|net|nonet|net-nounix|nonet-nounix)"
            ));
        }
    };
    let set = super::seccomp::compile_set(network, unix_sockets).map_err(|e| e.to_string())?;
    super::seccomp::install_on_current_thread(&set).map_err(|e| format!("installing: {e}"))
}

/// One argument of a batch probe line.
#[derive(Debug)]
enum ProbeArg {
    /// A literal (decimal, negative decimal or `0x` hex).
    Lit(u64),
    /// `bad`: an unmapped pointer (the kernel faults: EFAULT).
    Bad,
    /// `buf`: a zeroed, writable 64 KiB buffer (an empty string when read as a path).
    Buf,
    /// `path:<p>`: a NUL-terminated string.
    Path(std::ffi::CString),
    /// `clone_args:<flags>`: a `struct clone_args` with these flags and SIGCHLD as exit signal.
    CloneArgs(u64),
    /// `clone_args_size`: `sizeof(struct clone_args)`.
    CloneArgsSize,
}

fn parse_u64(t: &str) -> Option<u64> {
    if let Some(h) = t.strip_prefix("0x") {
        u64::from_str_radix(h, 16).ok()
    } else if t.starts_with('-') {
        t.parse::<i64>().ok().map(|v| v as u64)
    } else {
        t.parse().ok()
    }
}

fn parse_arg(t: &str) -> Option<ProbeArg> {
    Some(match t {
        "bad" => ProbeArg::Bad,
        "buf" => ProbeArg::Buf,
        "clone_args_size" => ProbeArg::CloneArgsSize,
        _ => {
            if let Some(p) = t.strip_prefix("path:") {
                ProbeArg::Path(std::ffi::CString::new(p).ok()?)
            } else if let Some(f) = t.strip_prefix("clone_args:") {
                ProbeArg::CloneArgs(parse_u64(f)?)
            } else {
                ProbeArg::Lit(parse_u64(t)?)
            }
        }
    })
}

#[derive(Debug)]
struct BatchProbe {
    id: String,
    /// `(i386 ABI?, number)`.
    nr: (bool, i64),
    args: Vec<ProbeArg>,
}

/// The reboot(2) magic that must never reach the kernel unfiltered from a probe.
const LINUX_REBOOT_MAGIC1: u64 = 0xfee1_dead;

fn parse_probe(line: &str) -> Result<BatchProbe, String> {
    let mut it = line.split_whitespace();
    let id = it.next().ok_or("empty probe line")?.to_string();
    let nr_text = it
        .next()
        .ok_or_else(|| format!("{id}: missing syscall number"))?;
    let nr = match nr_text.strip_prefix("i386:") {
        Some(n) => (
            true,
            parse_u64(n).ok_or_else(|| format!("{id}: bad nr"))? as i64,
        ),
        None => (
            false,
            parse_u64(nr_text).ok_or_else(|| format!("{id}: bad nr"))? as i64,
        ),
    };
    let args = it
        .map(|t| parse_arg(t).ok_or_else(|| format!("{id}: bad argument {t:?}")))
        .collect::<Result<Vec<_>, _>>()?;
    if args.len() > 6 {
        return Err(format!("{id}: more than six arguments"));
    }
    // Defence in depth: a probe table typo must not reboot the machine the tests run on.
    if !nr.0
        && nr.1 == libc::SYS_reboot
        && matches!(args.first(), Some(ProbeArg::Lit(m)) if *m as u32 as u64 == LINUX_REBOOT_MAGIC1)
    {
        return Err(format!(
            "{id}: refusing a reboot(2) probe with the real magic"
        ));
    }
    Ok(BatchProbe { id, nr, args })
}

/// Make the call (in the probe child). Returns `-errno` or a non-negative result.
fn issue(p: &BatchProbe, buf: *mut libc::c_void) -> i64 {
    let mut a = [0u64; 6];
    let mut clone_args: [CloneArgs; 6] = Default::default();
    for ((slot, arg), ca) in a.iter_mut().zip(&p.args).zip(clone_args.iter_mut()) {
        *slot = match arg {
            ProbeArg::Lit(v) => *v,
            ProbeArg::Bad => 8,
            ProbeArg::Buf => buf as u64,
            ProbeArg::Path(c) => c.as_ptr() as u64,
            ProbeArg::CloneArgs(flags) => {
                ca.flags = *flags;
                ca.exit_signal = libc::SIGCHLD as u64;
                (ca as *const CloneArgs) as u64
            }
            ProbeArg::CloneArgsSize => std::mem::size_of::<CloneArgs>() as u64,
        };
    }
    if p.nr.0 {
        return issue_i386(p.nr.1);
    }
    // SAFETY: a raw syscall with the probe's arguments, in a throwaway forked child; pointer
    // arguments point into buffers owned by `p`/`buf` (alive for the call) or are deliberately
    // invalid (the kernel faults, it does not dereference them in our address space).
    let rc = unsafe { libc::syscall(p.nr.1, a[0], a[1], a[2], a[3], a[4], a[5]) };
    if rc < 0 { -(errno() as i64) } else { rc }
}

#[cfg(target_arch = "x86_64")]
fn issue_i386(nr: i64) -> i64 {
    let ret: i64;
    // SAFETY: `int 0x80` enters the kernel's 32-bit syscall table (seccomp sees
    // AUDIT_ARCH_I386); only argument-less calls are supported (rbx/rbp cannot be operands),
    // and the kernel clobbers nothing but rax (r8-r11 are declared clobbered for safety).
    unsafe {
        std::arch::asm!(
            "int 0x80",
            inlateout("rax") nr => ret,
            lateout("r8") _, lateout("r9") _, lateout("r10") _, lateout("r11") _,
            options(nostack)
        );
    }
    // The 32-bit ABI returns -errno in eax.
    i64::from(ret as i32)
}

#[cfg(not(target_arch = "x86_64"))]
fn issue_i386(_nr: i64) -> i64 {
    -(libc::ENOSYS as i64)
}

/// Run one probe in a forked child; the outcome as printed by `seccomp-batch`.
fn run_probe(p: &BatchProbe) -> String {
    let mut buf = vec![0u8; 64 * 1024];
    let mut fds = [-1; 2];
    // SAFETY: pipe2(2) into a two-element array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return format!("helper-error:pipe2 errno {}", errno());
    }
    // SAFETY: the helper is single-threaded; the child only makes raw syscalls and exits.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: plain syscalls with integer arguments or pointers to this frame's locals.
        unsafe {
            libc::close(fds[0]);
            libc::alarm(5); // a hanging call is reported as signal:14, not a hung test
            let me = libc::syscall(libc::SYS_getpid);
            let rc = issue(p, buf.as_mut_ptr().cast());
            if libc::syscall(libc::SYS_getpid) != me {
                // The child of a successful clone/clone3 probe.
                libc::_exit(0);
            }
            let e: i32 = if rc < 0 { (-rc) as i32 } else { 0 };
            libc::write(fds[1], (&e as *const i32).cast(), 4);
            // Reap whatever a clone-like probe created.
            while libc::waitpid(-1, std::ptr::null_mut(), libc::__WALL) > 0 {}
            libc::_exit(0);
        }
    }
    if pid < 0 {
        return format!("helper-error:fork errno {}", errno());
    }
    let mut e = [0u8; 4];
    let mut status = 0;
    // SAFETY: read into a 4-byte buffer, then reap the child.
    let n = unsafe {
        libc::close(fds[1]);
        let n = libc::read(fds[0], e.as_mut_ptr().cast(), 4);
        libc::close(fds[0]);
        libc::waitpid(pid, &mut status, 0);
        n
    };
    if libc::WIFSIGNALED(status) {
        format!("signal:{}", libc::WTERMSIG(status))
    } else if n == 4 {
        match i32::from_ne_bytes(e) {
            0 => "ok".into(),
            e => format!("errno:{e}"),
        }
    } else {
        format!("exit:{}", libc::WEXITSTATUS(status))
    }
}

fn seccomp_batch(which: &str) -> i32 {
    let mut input = String::new();
    if let Err(e) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut input) {
        eprintln!("seccomp-batch: reading stdin: {e}");
        return 2;
    }
    let probes = match input
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(parse_probe)
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(p) => p,
        Err(e) => {
            eprintln!("seccomp-batch: {e}");
            return 2;
        }
    };
    if let Err(e) = install_filters(which) {
        eprintln!("seccomp-batch: {e}");
        return 3;
    }
    let mut out = String::new();
    for p in &probes {
        out.push_str(&p.id);
        out.push(' ');
        out.push_str(&run_probe(p));
        out.push('\n');
    }
    let mut stdout = std::io::stdout();
    if stdout.write_all(out.as_bytes()).is_err() {
        return 4;
    }
    0
}

fn seccomp_exec(which: &str, argv: &[String]) -> i32 {
    use std::os::unix::process::CommandExt;
    let Some(prog) = argv.first() else {
        eprintln!(
            "usage: openclaw-node-try-syscall seccomp-exec <none|net|nonet> <program> [args]"
        );
        return 2;
    };
    if let Err(e) = install_filters(which) {
        eprintln!("seccomp-exec: {e}");
        return 3;
    }
    let err = std::process::Command::new(prog).args(&argv[1..]).exec();
    eprintln!("seccomp-exec: exec {prog}: {err}");
    127
}
