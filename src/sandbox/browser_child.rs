//! The built-in browser's path between `fork` and `execve` (a `pre_exec` hook installed by
//! [`install`] for `crate::browser::launcher`). Everything is prepared in the parent; the hook
//! performs only raw, async-signal-safe syscalls and never allocates:
//!
//! 1. the CDP pipe: each prepared fd is first duplicated above 10 (close-on-exec), then
//!    `dup2`'d onto its target number (3 and 4 for `--remote-debugging-pipe`), so a source that
//!    already sits on a target number is never clobbered;
//! 2. when a [`Confinement`] is given (the node is root): a private mount namespace (`MS_PRIVATE`,
//!    nothing propagates back to the host) in which the whole tree is read-only and `nosuid`,
//!    `/proc` is the host's `/proc` cloned before (Chromium's own sandbox writes its children's
//!    `uid_map` there), and the browser's home directory is bound read-write, `nosuid`, `nodev`
//!    onto `/var/tmp`; the working directory becomes `/var/tmp`;
//! 3. with `run_as`: the one supplementary group, then gid, then uid (real, effective, saved) —
//!    a uid change away from 0 clears every capability;
//! 4. `PR_SET_NO_NEW_PRIVS` (no setuid binary can raise the browser's privileges again);
//! 5. `PR_SET_PDEATHSIG(SIGKILL)` (after the uid change, which resets it), and a check that the
//!    parent is still the node (it could have died before the signal was armed).

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::cgroup::errno;
use super::view::{
    AT_RECURSIVE, MOUNT_ATTR_NODEV, MOUNT_ATTR_NOSUID, MOUNT_ATTR_RDONLY, OPEN_TREE_CLONE, attach,
    setattr,
};

/// Most fds [`install`] places in the child.
pub const MAX_CHILD_FDS: usize = 4;

/// Marks a raw OS error from the namespace or identity steps (`CONFINE_ERROR | errno`), as
/// opposed to a failing `execve` (missing or unreadable executable).
pub const CONFINE_ERROR: i32 = 0x2000_0000;

/// The errno of a spawn error raised by the confinement steps (not by `execve`).
pub fn confinement_refused(e: &io::Error) -> Option<i32> {
    e.raw_os_error()
        .filter(|c| c & CONFINE_ERROR != 0)
        .map(|c| c & !CONFINE_ERROR)
}

/// Where the browser may write when the node is root: its home is the only writable mount of
/// its private mount namespace, seen there as `/tmp`.
#[derive(Debug, Clone)]
pub struct Confinement {
    home: CString,
}

impl Confinement {
    /// `home` must exist (a directory); it is bound onto [`Self::MOUNT_POINT`] in the browser's
    /// namespace.
    pub fn new(home: &Path) -> io::Result<Self> {
        let home = CString::new(home.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))?;
        Ok(Self { home })
    }

    /// Where the home appears inside the namespace (`/var/tmp`: present on every Linux tree,
    /// and unlike `/tmp` nobody's executables or X11 sockets live there). The host's `/tmp`
    /// stays visible, read-only.
    pub const MOUNT_POINT: &'static str = "/var/tmp";
}

/// What the browser's child applies to itself.
#[derive(Debug)]
pub struct BrowserChild {
    /// `(source, target fd number)`; the sources stay open (in the hook) until the `Command`
    /// is dropped.
    pub fds: Vec<(OwnedFd, RawFd)>,
    pub confinement: Option<Confinement>,
    /// `(uid, gid)` to switch to (only meaningful when the node is root).
    pub run_as: Option<(u32, u32)>,
}

fn os_err(e: i32) -> io::Error {
    io::Error::from_raw_os_error(e)
}

fn check(rc: libc::c_long) -> io::Result<()> {
    if rc < 0 { Err(os_err(errno())) } else { Ok(()) }
}

/// A file descriptor a raw syscall returned as a `long` (never above `c_int`; EBADF if it were).
fn fd_of(rc: libc::c_long) -> io::Result<libc::c_int> {
    libc::c_int::try_from(rc).map_err(|_| os_err(libc::EBADF))
}

/// Install the hook on `cmd`. The command must be spawned from the thread that should count as
/// the browser's parent for `PR_SET_PDEATHSIG` (any thread of the node's runtime that lives as
/// long as the node).
pub fn install(cmd: &mut tokio::process::Command, child: BrowserChild) -> io::Result<()> {
    if child.fds.len() > MAX_CHILD_FDS {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "too many fds for the browser child",
        ));
    }
    if child.fds.iter().any(|(_, to)| !(0..10).contains(to)) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "browser child fd targets must be below 10",
        ));
    }
    // SAFETY: getpid(2) has no preconditions.
    let parent = unsafe { libc::getpid() };
    let hook = move || {
        // SAFETY: runs in the forked child before execve; `apply` only performs raw syscalls on
        // data owned by this closure and allocates nothing.
        unsafe { apply(&child, parent) }
    };
    // SAFETY: the hook is async-signal-safe (see `apply`): no allocation, no locks, raw
    // syscalls only, on data prepared here in the parent.
    unsafe {
        cmd.pre_exec(hook);
    }
    Ok(())
}

/// # Safety
/// Only in the forked child before `execve`: it changes the calling process irreversibly.
unsafe fn apply(child: &BrowserChild, parent: libc::pid_t) -> io::Result<()> {
    // 1. fds: first out of the way (≥ 10, close-on-exec), then onto their numbers.
    let mut tmp = [-1 as RawFd; MAX_CHILD_FDS];
    for (i, (fd, _)) in child.fds.iter().enumerate() {
        // SAFETY: fcntl(2) F_DUPFD_CLOEXEC on an fd this closure owns.
        let rc = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 10) };
        check(rc as libc::c_long)?;
        tmp[i] = rc;
    }
    for (i, (_, to)) in child.fds.iter().enumerate() {
        // SAFETY: dup2(2) on integer fds; the result has close-on-exec cleared.
        check(unsafe { libc::dup2(tmp[i], *to) } as libc::c_long)?;
    }

    // 2.–3. namespace and identity: failures are marked, so the parent can tell them from a
    // failing execve.
    // SAFETY: `confine` has this function's contract, which holds here (forked child, before
    // execve).
    unsafe { confine(child) }.map_err(|e| os_err(CONFINE_ERROR | e.raw_os_error().unwrap_or(0)))?;

    // 4. no_new_privs.
    // SAFETY: prctl(2) with integer arguments.
    check(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } as libc::c_long)?;

    // 5. die with the node.
    // SAFETY: prctl(2) with integer arguments.
    check(unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) } as libc::c_long)?;
    // SAFETY: getppid(2) has no preconditions.
    if unsafe { libc::getppid() } != parent {
        return Err(os_err(libc::ESRCH));
    }
    Ok(())
}

/// Steps 2 and 3.
///
/// # Safety
/// As [`apply`].
unsafe fn confine(child: &BrowserChild) -> io::Result<()> {
    // 2. the mount namespace.
    if let Some(c) = &child.confinement {
        // SAFETY: unshare(2) with an integer flag.
        check(unsafe { libc::unshare(libc::CLONE_NEWNS) } as libc::c_long)?;
        // SAFETY: mount(2) changing propagation only; the path is a static C string.
        check(unsafe {
            libc::mount(
                std::ptr::null(),
                c"/".as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            )
        } as libc::c_long)?;
        // Clones taken before the tree goes read-only.
        // SAFETY: open_tree(2) of a static C string.
        let proc_fd = unsafe {
            libc::syscall(
                libc::SYS_open_tree,
                libc::AT_FDCWD,
                c"/proc".as_ptr(),
                OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint | AT_RECURSIVE,
            )
        };
        check(proc_fd)?;
        // SAFETY: open_tree(2) of the NUL-terminated home path prepared in the parent.
        let home_fd = unsafe {
            libc::syscall(
                libc::SYS_open_tree,
                libc::AT_FDCWD,
                c.home.as_ptr(),
                OPEN_TREE_CLONE
                    | libc::O_CLOEXEC as libc::c_uint
                    | libc::AT_SYMLINK_NOFOLLOW as libc::c_uint,
            )
        };
        check(home_fd)?;
        // SAFETY: mount_setattr on "/" (static C string) with a stack-allocated attr.
        check(unsafe {
            setattr(
                libc::AT_FDCWD,
                c"/".as_ptr(),
                AT_RECURSIVE,
                MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID,
            )
        })?;
        // SAFETY: `proc_fd` is a detached tree from open_tree(OPEN_TREE_CLONE); static path.
        check(unsafe { attach(fd_of(proc_fd)?, c"/proc".as_ptr(), 0) })?;
        // SAFETY: `home_fd` is a detached tree from open_tree(OPEN_TREE_CLONE); static path.
        check(unsafe {
            attach(
                fd_of(home_fd)?,
                c"/var/tmp".as_ptr(),
                MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
            )
        })?;
        // SAFETY: chdir(2) to a static C string.
        check(unsafe { libc::chdir(c"/var/tmp".as_ptr()) } as libc::c_long)?;
    }

    // 3. identity. Raw syscalls (see `super::child`): the child is single-threaded.
    if let Some((uid, gid)) = child.run_as {
        let groups = [gid as libc::gid_t];
        // SAFETY: setgroups(2) reads the one-element stack array.
        check(unsafe { libc::syscall(libc::SYS_setgroups, 1usize, groups.as_ptr()) })?;
        // SAFETY: integer arguments only.
        check(unsafe { libc::syscall(libc::SYS_setresgid, gid, gid, gid) })?;
        // SAFETY: integer arguments only.
        check(unsafe { libc::syscall(libc::SYS_setresuid, uid, uid, uid) })?;
    }
    Ok(())
}
