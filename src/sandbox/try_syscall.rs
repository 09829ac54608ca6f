//! The escape suite's attack probe (run as the `openclaw-node-try-syscall` helper binary; not
//! used by the node host itself). Each mode performs one attack and prints one line: `ok` when the attack reached its goal / the kernel,
//! `errno:<NAME>` with the errno otherwise, or a number for counting modes. Calls pass bad
//! fds/pointers where possible so "blocked by the sandbox" (EPERM/ENOSYS/EACCES) is
//! distinguishable from "reached the kernel" (EBADF/EFAULT/EINVAL) without side effects.

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
