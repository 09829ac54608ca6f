//! The fast spawn path: `clone3(CLONE_INTO_CGROUP | CLONE_PIDFD)` creates the child directly
//! inside its v2 run cgroup, so no migration (and no RCU grace period on the global
//! `cgroup_threadgroup_rwsem`) is paid per spawn. The parent then waits on the pidfd.
//!
//! Without `CLONE_VM` the child is a copy-on-write duplicate of the calling thread, exactly as
//! after `fork(2)`: it runs on a copy of the parent's stack (`stack` = 0), only the calling thread
//! exists in it, so it may only do async-signal-safe work. Everything is prepared in the parent
//! (program path resolved against the child's `PATH`, argv/envp as `CString`s and pointer arrays,
//! pipes, `/dev/null`); the child performs only raw syscalls and never allocates:
//! default signal mask and `SIGPIPE`, `dup2` of stdin (`/dev/null`) / stdout / stderr (pipes),
//! `chdir`, then [`ChildSetup::apply`] (session, v1 `tasks` join, fd hygiene, rlimits, caps,
//! no_new_privs, Landlock, seccomp last), then `execve`. A failure before `execve` is reported as
//! an errno over a close-on-exec pipe, as `std::process` does.
//!
//! Used when the run has a v2 cgroup and the kernel accepts `clone3` (Linux >= 5.7); any
//! refusal (`ENOSYS`, `EPERM` from a host seccomp filter, `E2BIG`, `EINVAL`) falls back to the
//! `tokio::process` + `pre_exec` path in [`super::run`].

use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;

use tokio::io::unix::AsyncFd;
use tokio::net::unix::pipe;

use super::cgroup::errno;
use super::child::ChildSetup;

const CLONE_PIDFD: u64 = 0x0000_1000;
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// `struct clone_args` (version 2, 88 bytes, with `cgroup`).
/// Shared with the escape-suite probes in `try_syscall`.
#[repr(C)]
#[derive(Default)]
pub(crate) struct CloneArgs {
    pub(crate) flags: u64,
    pub(crate) pidfd: u64,
    pub(crate) child_tid: u64,
    pub(crate) parent_tid: u64,
    pub(crate) exit_signal: u64,
    pub(crate) stack: u64,
    pub(crate) stack_size: u64,
    pub(crate) tls: u64,
    pub(crate) set_tid: u64,
    pub(crate) set_tid_size: u64,
    pub(crate) cgroup: u64,
}

/// Whether this kernel offers `clone3` with `CLONE_INTO_CGROUP` (Linux >= 5.7), probed without
/// creating a process: `clone3(NULL, 0)` is `EINVAL` where the syscall exists.
pub fn clone3_available(kernel_release: &str) -> bool {
    let mut it = kernel_release
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|p| p.parse::<u32>().ok());
    let (major, minor) = (it.next().unwrap_or(0), it.next().unwrap_or(0));
    if (major, minor) < (5, 7) {
        return false;
    }
    // SAFETY: clone3 with a NULL argument pointer and size 0 is rejected by the kernel before it
    // reads anything or creates a process (EINVAL; ENOSYS where unavailable or filtered).
    let rc = unsafe { libc::syscall(libc::SYS_clone3, std::ptr::null::<CloneArgs>(), 0usize) };
    rc < 0 && errno() == libc::EINVAL
}

/// Why the fast path could not create a child.
#[derive(Debug)]
pub enum SpawnError {
    /// `clone3` refused (no child was created): use the fallback path. Carries the errno.
    Unsupported(i32),
    /// The child could not be started (bad program, setup failure, …).
    Failed(io::Error),
}

/// What to exec, prepared in the parent.
#[derive(Debug)]
pub struct ExecSpec<'a> {
    pub argv: &'a [String],
    /// The complete child environment (`TMPDIR` included).
    pub env: &'a [(String, String)],
    pub cwd: &'a Path,
}

fn cstr(bytes: &[u8]) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "nul byte found in provided data",
        )
    })
}

fn is_executable(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// `execvp` semantics, resolved in the parent against the child's `PATH` (glibc's default
/// `/bin:/usr/bin` when unset); relative `PATH` entries are relative to the child's cwd.
fn resolve_program(argv0: &str, env: &[(String, String)], cwd: &Path) -> io::Result<PathBuf> {
    if argv0.is_empty() {
        return Err(io::Error::from_raw_os_error(libc::ENOENT));
    }
    if argv0.contains('/') {
        return Ok(PathBuf::from(argv0));
    }
    let path = env
        .iter()
        .rev()
        .find(|(k, _)| k == "PATH")
        .map_or("/bin:/usr/bin", |(_, v)| v.as_str());
    for dir in path.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let candidate = cwd.join(dir).join(argv0);
        if is_executable(&candidate) {
            return Ok(candidate);
        }
    }
    Err(io::Error::from_raw_os_error(libc::ENOENT))
}

fn pipe_cloexec() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [-1 as libc::c_int; 2];
    // SAFETY: pipe2(2) writes two fds into the two-element array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both fds were just created by pipe2 and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// A child created by `clone3`, waited for through its pidfd. Dropping it before it was reaped
/// kills it (as `kill_on_drop`) and reaps it.
#[derive(Debug)]
pub struct Clone3Child {
    pid: i32,
    pidfd: AsyncFd<OwnedFd>,
    status: Option<ExitStatus>,
    pub stdout: Option<pipe::Receiver>,
    pub stderr: Option<pipe::Receiver>,
}

/// Fds the child installs, all prepared in the parent.
struct ChildFds {
    stdin: RawFd,
    stdout: RawFd,
    stderr: RawFd,
    err_report: RawFd,
}

/// `dup2(from, to)`, clearing close-on-exec also when `from == to`.
fn dup_onto(from: RawFd, to: RawFd) -> Result<(), i32> {
    if from == to {
        // SAFETY: fcntl(2) on an integer fd.
        if unsafe { libc::fcntl(from, libc::F_SETFD, 0) } < 0 {
            return Err(errno());
        }
    } else {
        // SAFETY: dup2(2) on integer fds.
        if unsafe { libc::dup2(from, to) } < 0 {
            return Err(errno());
        }
    }
    Ok(())
}

/// The child between `clone3` and `execve`. Never returns.
///
/// # Safety
/// Only in the child created by `clone3` without `CLONE_VM`; all pointers point to
/// NUL-terminated data prepared by the parent (copied into the child's address space).
unsafe fn child_main(
    setup: &ChildSetup,
    fds: &ChildFds,
    path: *const libc::c_char,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    cwd: *const libc::c_char,
) -> ! {
    // SAFETY: as documented for this function: we are the fresh single-threaded child.
    let err = unsafe { child_setup(setup, fds, cwd) }.err().unwrap_or(0);
    if err == 0 {
        // SAFETY: execve(2) with NUL-terminated path and NULL-terminated pointer arrays the
        // parent built; it only returns on failure.
        unsafe { libc::execve(path, argv, envp) };
    }
    let code = if err == 0 { errno() } else { err };
    let bytes = code.to_ne_bytes();
    // SAFETY: write(2) of a 4-byte stack buffer to the report pipe, then _exit(2); both
    // async-signal-safe.
    unsafe {
        libc::write(fds.err_report, bytes.as_ptr().cast(), bytes.len());
        libc::_exit(127)
    }
}

/// # Safety
/// See [`child_main`].
unsafe fn child_setup(
    setup: &ChildSetup,
    fds: &ChildFds,
    cwd: *const libc::c_char,
) -> Result<(), i32> {
    // Default signal mask and SIGPIPE (the Rust runtime ignores SIGPIPE), as std::process.
    // SAFETY: sigset_t is plain data; sigemptyset/sigprocmask/signal are async-signal-safe and
    // only touch this stack frame and the process' signal state.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        if libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut()) < 0 {
            return Err(errno());
        }
        if libc::signal(libc::SIGPIPE, libc::SIG_DFL) == libc::SIG_ERR {
            return Err(errno());
        }
    }
    dup_onto(fds.stdin, 0)?;
    dup_onto(fds.stdout, 1)?;
    dup_onto(fds.stderr, 2)?;
    // SAFETY: chdir(2) with a NUL-terminated path built by the parent.
    if unsafe { libc::chdir(cwd) } < 0 {
        return Err(errno());
    }
    // SAFETY: we are the child before execve, as `apply` requires.
    unsafe { setup.apply() }.map_err(|e| e.raw_os_error().unwrap_or(libc::EINVAL))
}

/// Spawn `spec` inside the v2 cgroup `cgroup_dir_fd` with `setup` applied before exec.
/// Must be called within a tokio runtime (the pidfd and pipes are registered with it).
pub fn spawn(
    spec: &ExecSpec<'_>,
    setup: &ChildSetup,
    cgroup_dir_fd: RawFd,
) -> Result<Clone3Child, SpawnError> {
    let fail = SpawnError::Failed;
    // Everything the child needs, prepared here.
    let argv0 = spec.argv.first().map_or("", String::as_str);
    let program = resolve_program(argv0, spec.env, spec.cwd).map_err(fail)?;
    let path = cstr(program.as_os_str().as_bytes()).map_err(fail)?;
    let argv = spec
        .argv
        .iter()
        .map(|a| cstr(a.as_bytes()))
        .collect::<io::Result<Vec<_>>>()
        .map_err(fail)?;
    let mut env: std::collections::BTreeMap<&str, &str> = std::collections::BTreeMap::new();
    for (k, v) in spec.env {
        env.insert(k, v);
    }
    let envp = env
        .iter()
        .map(|(k, v)| cstr(format!("{k}={v}").as_bytes()))
        .collect::<io::Result<Vec<_>>>()
        .map_err(fail)?;
    let cwd = cstr(OsStr::as_bytes(spec.cwd.as_os_str())).map_err(fail)?;
    let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|c| c.as_ptr()).collect();
    argv_ptrs.push(std::ptr::null());
    let mut envp_ptrs: Vec<*const libc::c_char> = envp.iter().map(|c| c.as_ptr()).collect();
    envp_ptrs.push(std::ptr::null());

    let devnull = std::fs::File::open("/dev/null").map_err(fail)?;
    let (out_r, out_w) = pipe_cloexec().map_err(fail)?;
    let (err_r, err_w) = pipe_cloexec().map_err(fail)?;
    let (report_r, report_w) = pipe_cloexec().map_err(fail)?;
    let fds = ChildFds {
        stdin: devnull.as_raw_fd(),
        stdout: out_w.as_raw_fd(),
        stderr: err_w.as_raw_fd(),
        err_report: report_w.as_raw_fd(),
    };

    let mut pidfd: libc::c_int = -1;
    let args = CloneArgs {
        flags: CLONE_PIDFD | CLONE_INTO_CGROUP,
        pidfd: std::ptr::addr_of_mut!(pidfd) as u64,
        exit_signal: libc::SIGCHLD as u64,
        cgroup: u64::try_from(cgroup_dir_fd)
            .map_err(|_| fail(io::Error::from_raw_os_error(libc::EBADF)))?,
        ..CloneArgs::default()
    };
    // SAFETY: clone3 without CLONE_VM (and with stack 0) duplicates the calling thread like
    // fork(2): the child gets a copy-on-write copy of this address space and continues on a copy
    // of this stack with only this thread. In the child (rc == 0) we call `child_main`, which
    // performs only async-signal-safe raw syscalls on data prepared above and never returns
    // (execve or _exit), so no destructor, lock or allocator of the copied process is touched.
    // The kernel writes the pidfd into `pidfd` (a live stack variable) in the parent.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            std::ptr::addr_of!(args),
            std::mem::size_of::<CloneArgs>(),
        )
    };
    if rc == 0 {
        // SAFETY: we are the child of clone3 without CLONE_VM; all pointers are to data built
        // above (NUL-terminated strings, NULL-terminated arrays) that the child owns a copy of.
        unsafe {
            child_main(
                setup,
                &fds,
                path.as_ptr(),
                argv_ptrs.as_ptr(),
                envp_ptrs.as_ptr(),
                cwd.as_ptr(),
            )
        }
    }
    if rc < 0 {
        let e = errno();
        return Err(match e {
            libc::EAGAIN | libc::ENOMEM => fail(io::Error::from_raw_os_error(e)),
            _ => SpawnError::Unsupported(e),
        });
    }
    // clone3 returns a pid, which always fits a pid_t.
    let pid = libc::pid_t::try_from(rc).map_err(|_| SpawnError::Unsupported(libc::EOVERFLOW))?;
    // SAFETY: CLONE_PIDFD succeeded, so the kernel stored a new pidfd we now own.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
    drop((devnull, out_w, err_w, report_w));

    // exec succeeded when the report pipe closes without data (close-on-exec).
    let mut buf = [0u8; 4];
    let n = loop {
        // SAFETY: read(2) into the 4-byte stack buffer.
        let n = unsafe { libc::read(report_r.as_raw_fd(), buf.as_mut_ptr().cast(), 4) };
        if n < 0 && errno() == libc::EINTR {
            continue;
        }
        break n;
    };
    drop(report_r);
    if n != 0 {
        let mut status = 0;
        // SAFETY: waitpid(2) on our own unreaped child, status into a stack variable.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        let code = if n == 4 {
            i32::from_ne_bytes(buf)
        } else {
            libc::EIO
        };
        return Err(fail(io::Error::from_raw_os_error(code)));
    }

    let mut child = Clone3Child {
        pid,
        // SAFETY: the `OwnedFd` is moved into the `AsyncFd`, which owns it (and so keeps it open
        // and unchanged) until it is dropped.
        pidfd: match unsafe { AsyncFd::register(pidfd) } {
            Ok(fd) => fd,
            Err(e) => {
                let e = io::Error::other(e.to_string());
                // SAFETY: kill(2)/waitpid(2) on our own unreaped child.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                    libc::waitpid(pid, std::ptr::null_mut(), 0);
                }
                return Err(fail(e));
            }
        },
        status: None,
        stdout: None,
        stderr: None,
    };
    // On error `child` is dropped, which kills and reaps it.
    child.stdout = Some(pipe::Receiver::from_owned_fd(out_r).map_err(fail)?);
    child.stderr = Some(pipe::Receiver::from_owned_fd(err_r).map_err(fail)?);
    Ok(child)
}

impl Clone3Child {
    /// The child's pid (also its process group and session id).
    pub fn id(&self) -> i32 {
        self.pid
    }

    fn try_reap(&mut self) -> io::Result<Option<ExitStatus>> {
        if let Some(s) = self.status {
            return Ok(Some(s));
        }
        let mut status = 0;
        // SAFETY: waitpid(2) on our own child (the pidfd keeps its pid from being reused until
        // it is reaped here), status into a stack variable.
        let rc = unsafe { libc::waitpid(self.pid, &mut status, libc::WNOHANG) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        if rc == 0 {
            return Ok(None);
        }
        let s = ExitStatus::from_raw(status);
        self.status = Some(s);
        Ok(Some(s))
    }

    /// Wait for the child to exit (cancel-safe; the pidfd becomes readable on exit).
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        loop {
            if let Some(s) = self.try_reap()? {
                return Ok(s);
            }
            let mut guard = self.pidfd.readable().await?;
            guard.clear_ready();
        }
    }
}

impl Drop for Clone3Child {
    fn drop(&mut self) {
        if self.status.is_some() {
            return;
        }
        let pid = self.pid;
        // SAFETY: kill(2) on our own unreaped child (its pid cannot have been reused).
        unsafe { libc::kill(pid, libc::SIGKILL) };
        if matches!(self.try_reap(), Ok(None)) {
            // Still exiting: reap it off-thread rather than blocking here.
            let _ = std::thread::Builder::new()
                .name("openclaw-reap".into())
                .spawn(move || {
                    // SAFETY: blocking waitpid(2) on our own killed child.
                    unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
                });
        }
    }
}

/// Make `cmd` spawn through fork + exec with an empty `pre_exec` hook, the path a view's spawn
/// takes (std otherwise prefers `posix_spawn`): the baseline the spawn benches compare against.
pub fn force_fork_exec(cmd: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the hook does nothing, so it is async-signal-safe and touches no state shared
    // with the parent.
    unsafe {
        cmd.pre_exec(|| Ok(()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_program_follows_the_child_path() {
        let env = vec![("PATH".to_string(), "/nonexistent:/bin:/usr/bin".to_string())];
        let p = resolve_program("sh", &env, Path::new("/")).unwrap();
        assert!(p.ends_with("sh") && p.is_absolute(), "{p:?}");
        let e = resolve_program("no-such-program-xyz", &env, Path::new("/")).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENOENT));
        assert_eq!(
            resolve_program("./x", &env, Path::new("/")).unwrap(),
            PathBuf::from("./x")
        );
    }

    #[test]
    fn kernel_version_gate() {
        assert!(!clone3_available("5.6.19"));
        assert!(!clone3_available(""));
    }
}
