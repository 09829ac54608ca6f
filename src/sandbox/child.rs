//! The child's path between `fork`/`clone3` and `execve` (`pre_exec`, or [`super::spawn`]).
//! Everything is computed in the parent; this code performs only raw, async-signal-safe syscalls
//! and never allocates (and no glibc call that assumes glibc's own thread bookkeeping, which a
//! raw `clone3` child does not reset):
//!
//! 1. `setsid` (new session and process group, no controlling tty),
//! 2. join the run's cgroups (write `0` to the v2 `cgroup.procs` / v1 `tasks` fds opened by the
//!    parent; the v2 write is skipped when `clone3(CLONE_INTO_CGROUP)` already placed us),
//! 3. mark every fd ≥ 3 close-on-exec (`close_range(3, ~0, CLOSE_RANGE_CLOEXEC)`),
//!    then build the run's filesystem view ([`super::view`]: private mount namespace, through a
//!    user namespace when the node is not root),
//! 4. rlimits (`RLIMIT_CORE` 0 always, configured NPROC/NOFILE/FSIZE),
//! 5. drop the capability bounding set and ambient set (needs `CAP_SETPCAP`, so before the uid
//!    switch), switch to `runAs` uid/gid, clear effective/permitted/inheritable,
//! 6. `PR_SET_NO_NEW_PRIVS`,
//! 7. `landlock_restrict_self` on the ruleset fd built by the parent,
//! 8. seccomp filters, last.

use std::io;
use std::os::fd::RawFd;
use std::sync::Arc;

use super::cgroup::{errno, join_fd_raw};
use super::seccomp::CompiledSet;
use super::view::ChildView;

/// Maximum number of rlimits applied.
pub const MAX_RLIMITS: usize = 4;

/// What the child applies to itself. Built in the parent; only read in the child.
#[derive(Debug, Clone)]
pub struct ChildSetup {
    pub cgroup_procs: [RawFd; 3],
    pub rlimits: [Option<(u32, u64)>; MAX_RLIMITS],
    pub drop_caps: bool,
    pub run_as: Option<(u32, u32)>,
    pub no_new_privs: bool,
    pub landlock_fd: RawFd,
    pub seccomp: Option<Arc<CompiledSet>>,
    /// The per-run filesystem view (private mount namespace), built before rlimits and the
    /// capability drop; it ends by entering the cwd again through the new mounts.
    pub view: Option<Arc<ChildView>>,
}

fn os_err(e: i32) -> io::Error {
    io::Error::from_raw_os_error(e)
}

fn check(rc: libc::c_long) -> io::Result<()> {
    if rc < 0 { Err(os_err(errno())) } else { Ok(()) }
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;

impl ChildSetup {
    /// Apply everything, in order.
    ///
    /// # Safety
    /// Must only be called in the forked child before `execve` (from `pre_exec`): it changes
    /// the calling process irreversibly. It performs no allocation.
    pub unsafe fn apply(&self) -> io::Result<()> {
        // 1. New session: pgid = sid = our pid.
        // SAFETY: setsid(2) has no memory arguments.
        check(unsafe { libc::setsid() } as libc::c_long)?;

        // 2. Join the run's cgroups (before anything can fork).
        for fd in self.cgroup_procs {
            join_fd_raw(fd).map_err(os_err)?;
        }

        // 3. Only fds 0-2 survive exec.
        // SAFETY: close_range(2) with integer arguments only.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_close_range,
                3 as libc::c_uint,
                libc::c_uint::MAX,
                CLOSE_RANGE_CLOEXEC,
            )
        };
        if rc < 0 {
            // Kernels < 5.11: set FD_CLOEXEC one by one.
            for fd in 3..65536 {
                // SAFETY: fcntl(2) on an integer fd; EBADF for closed fds is ignored.
                unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
            }
        }

        // 3b. The filesystem view (needs CAP_SYS_ADMIN in its namespace, and fds for its
        // clones before RLIMIT_NOFILE applies).
        if let Some(view) = &self.view {
            // SAFETY: we are the child before execve, as `apply` requires.
            unsafe { view.apply() }.map_err(os_err)?;
        }

        // 4. rlimits.
        for (resource, value) in self.rlimits.iter().flatten() {
            let lim = libc::rlimit {
                rlim_cur: *value,
                rlim_max: *value,
            };
            // SAFETY: setrlimit(2) reads the stack-allocated `lim`.
            check(unsafe { libc::setrlimit(*resource as _, &lim) } as libc::c_long)?;
        }

        // 5. Capabilities and identity.
        if self.drop_caps || self.run_as.is_some() {
            for cap in 0..64 {
                // SAFETY: prctl(2) with integer arguments.
                let rc = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) };
                if rc < 0 {
                    match errno() {
                        // Past the last capability this kernel knows.
                        libc::EINVAL => break,
                        // Unprivileged host: no CAP_SETPCAP, and nothing to drop that could be
                        // regained (no_new_privs below blocks setuid/file caps).
                        libc::EPERM => break,
                        e => return Err(os_err(e)),
                    }
                }
            }
            // SAFETY: prctl(2) with integer arguments. EINVAL on kernels without ambient caps.
            let rc = unsafe {
                libc::prctl(
                    libc::PR_CAP_AMBIENT,
                    libc::PR_CAP_AMBIENT_CLEAR_ALL,
                    0,
                    0,
                    0,
                )
            };
            if rc < 0 && errno() != libc::EINVAL {
                return Err(os_err(errno()));
            }
        }
        if let Some((uid, gid)) = self.run_as {
            // Raw syscalls, not the glibc wrappers: those broadcast the change to every thread
            // glibc believes exists (SIGSETXID) and would wait forever for threads that do not
            // exist in a child created by a raw `clone3`. The kernel calls change the calling
            // thread, which is the whole (single-threaded) child.
            let groups = [gid as libc::gid_t];
            // SAFETY: setgroups(2) reads the one-element stack array.
            check(unsafe { libc::syscall(libc::SYS_setgroups, 1usize, groups.as_ptr()) })?;
            // SAFETY: integer arguments only.
            check(unsafe { libc::syscall(libc::SYS_setresgid, gid, gid, gid) })?;
            // SAFETY: integer arguments only.
            check(unsafe { libc::syscall(libc::SYS_setresuid, uid, uid, uid) })?;
        }
        if self.drop_caps || self.run_as.is_some() {
            let mut header = CapHeader {
                version: LINUX_CAPABILITY_VERSION_3,
                pid: 0,
            };
            let data = [CapData {
                effective: 0,
                permitted: 0,
                inheritable: 0,
            }; 2];
            // SAFETY: capset(2) reads the header and the two-element data array (version 3
            // layout), both on this stack frame.
            check(unsafe {
                libc::syscall(
                    libc::SYS_capset,
                    &mut header as *mut CapHeader,
                    data.as_ptr(),
                )
            })?;
        }

        // 6. no_new_privs (also required by Landlock and seccomp without CAP_SYS_ADMIN).
        if self.no_new_privs {
            // SAFETY: prctl(2) with integer arguments.
            check(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } as libc::c_long)?;
        }

        // 7. Landlock.
        if self.landlock_fd >= 0 {
            // SAFETY: landlock_restrict_self(2) with the ruleset fd the parent created and no
            // flags; integer arguments only.
            check(unsafe {
                libc::syscall(libc::SYS_landlock_restrict_self, self.landlock_fd, 0u32)
            })?;
        }

        // 8. seccomp, last (it could otherwise deny the calls above).
        if let Some(set) = &self.seccomp {
            for prog in set.programs() {
                // The kernel takes at most BPF_MAXINSNS (4096) instructions: a longer program is
                // refused by seccomp(2) itself, a length above u16 is refused here.
                let Ok(len) = libc::c_ushort::try_from(prog.len()) else {
                    return Err(io::Error::from_raw_os_error(libc::E2BIG));
                };
                let fprog = libc::sock_fprog {
                    len,
                    filter: prog.as_ptr() as *mut libc::sock_filter,
                };
                // SAFETY: seccomp(2) copies the program (which lives in the parent-built,
                // immutable `CompiledSet`) described by the stack-allocated `fprog`.
                // seccompiler's `sock_filter` is `repr(C)` with libc's layout.
                check(unsafe {
                    libc::syscall(
                        libc::SYS_seccomp,
                        libc::SECCOMP_SET_MODE_FILTER,
                        0 as libc::c_uint,
                        &fprog as *const libc::sock_fprog,
                    )
                })?;
            }
        }
        Ok(())
    }
}
