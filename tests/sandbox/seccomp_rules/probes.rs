//! The probe table: every syscall a rule names, with arguments that are harmless unfiltered.

/// One probe argument (rendered as a helper token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum A {
    /// A literal value.
    L(u64),
    /// An unmapped pointer (EFAULT if the kernel reads it).
    Bad,
    /// A zeroed writable buffer (an empty string as a path).
    Buf,
    /// A NUL-terminated string.
    Path(&'static str),
    /// A `struct clone_args` with these flags.
    Clone3(u64),
    /// `sizeof(struct clone_args)`.
    Clone3Size,
}

impl A {
    pub(super) fn token(self) -> String {
        match self {
            A::L(v) => format!("{v:#x}"),
            A::Bad => "bad".into(),
            A::Buf => "buf".into(),
            A::Path(p) => {
                assert!(!p.contains(char::is_whitespace), "{p:?}");
                format!("path:{p}")
            }
            A::Clone3(f) => format!("clone_args:{f:#x}"),
            A::Clone3Size => "clone_args_size".into(),
        }
    }

    /// The register value the filter sees (pointers: some user address; no rule conditions a
    /// pointer, which [`probes_of_rule`] asserts).
    pub(super) fn model(self) -> u64 {
        match self {
            A::L(v) => v,
            A::Bad => 8,
            A::Clone3Size => 88,
            A::Buf | A::Path(_) | A::Clone3(_) => 0x7fff_1234_5000,
        }
    }

    pub(super) fn is_literal(self) -> bool {
        matches!(self, A::L(_))
    }
}

pub(super) const Z: A = A::L(0);
pub(super) const NEG1: A = A::L(u64::MAX);
pub(super) const NOPID: A = A::L(0x7fff_ffff);
pub(super) const NOFD: A = A::L(0x7fff_ffff);
pub(super) const NOPATH: A = A::Path("/nonexistent-openclaw-probe");
/// A path in a directory that does not exist (for calls that would create it).
pub(super) const NODIRPATH: A = A::Path("/nonexistent-openclaw-probe/file");
pub(super) const HI: u64 = 0xdead_beef_0000_0000;

/// How a syscall is probed. `base` is always run; `extra` are further variations. For a rule
/// with argument conditions, each conditioned argument of `base` is replaced by generated values
/// around the condition's boundary, transformed as `(v & cond_mask) | cond_or` (clone: only
/// namespace and upper-half bits, plus SIGCHLD, so an unfiltered probe never creates a thread
/// on a null stack).
#[derive(Debug)]
pub(super) struct Probe {
    pub(super) syscall: &'static str,
    pub(super) nr: i64,
    pub(super) base: [A; 6],
    pub(super) extra: &'static [[A; 6]],
    pub(super) cond_mask: u64,
    pub(super) cond_or: u64,
    /// What the unfiltered calls do (documentation; the test compares outcomes, not this text).
    pub(super) unfiltered: &'static str,
}

pub(super) const fn p(
    syscall: &'static str,
    nr: i64,
    base: [A; 6],
    extra: &'static [[A; 6]],
    unfiltered: &'static str,
) -> Probe {
    Probe {
        syscall,
        nr,
        base,
        extra,
        cond_mask: u64::MAX,
        cond_or: 0,
        unfiltered,
    }
}

pub(super) const fn a1(x: A) -> [A; 6] {
    [x, Z, Z, Z, Z, Z]
}
pub(super) const fn a2(x: A, y: A) -> [A; 6] {
    [x, y, Z, Z, Z, Z]
}
pub(super) const fn a3(x: A, y: A, z: A) -> [A; 6] {
    [x, y, z, Z, Z, Z]
}
pub(super) const fn a4(x: A, y: A, z: A, w: A) -> [A; 6] {
    [x, y, z, w, Z, Z]
}
pub(super) const fn a5(x: A, y: A, z: A, w: A, v: A) -> [A; 6] {
    [x, y, z, w, v, Z]
}

pub(super) const SIGCHLD: u64 = libc::SIGCHLD as u64;
pub(super) const CLONE_NS_BITS: u64 = (libc::CLONE_NEWNS
    | libc::CLONE_NEWCGROUP
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET) as u64;
pub(super) const NEWUSER: u64 = libc::CLONE_NEWUSER as u64;
pub(super) const NEWNS: u64 = libc::CLONE_NEWNS as u64;
pub(super) const NEWNET: u64 = libc::CLONE_NEWNET as u64;
pub(super) const KEY_SPEC_SESSION_KEYRING: u64 = -3i64 as u64;
pub(super) const AT_FDCWD: A = A::L(libc::AT_FDCWD as i64 as u64);

/// Every syscall named by a rule, with arguments that are harmless unfiltered (as root):
/// invalid fds/pids/pointers/flags or nonexistent paths, or effects confined to the throwaway
/// probe child (unshare, clone, keyrings, personality).
#[rustfmt::skip]
pub(super) const PROBES: &[Probe] = &[
    p("ptrace", libc::SYS_ptrace,
        a2(A::L(libc::PTRACE_ATTACH as u64), NOPID),
        &[a2(A::L(0x4206), NOPID), a4(A::L(libc::PTRACE_PEEKDATA as u64), NOPID, Z, A::Bad)],
        "ESRCH (no such pid)"),
    p("process_vm_readv", libc::SYS_process_vm_readv,
        [NOPID, A::Bad, A::L(1), A::Bad, A::L(1), Z],
        &[[NOPID, Z, Z, Z, Z, A::L(1)], [NOPID, A::Buf, Z, A::Buf, Z, Z]],
        "EFAULT/ESRCH, EINVAL (flags), ok (zero iovecs)"),
    p("process_vm_writev", libc::SYS_process_vm_writev,
        [NOPID, A::Bad, A::L(1), A::Bad, A::L(1), Z],
        &[[NOPID, Z, Z, Z, Z, A::L(1)], [NOPID, A::Buf, Z, A::Buf, Z, Z]],
        "EFAULT/ESRCH, EINVAL (flags), ok (zero iovecs)"),
    p("pidfd_getfd", libc::SYS_pidfd_getfd,
        a3(NEG1, Z, Z),
        &[a3(NEG1, Z, A::L(1)), a3(NOFD, A::L(1), Z)],
        "EBADF, EINVAL (flags)"),
    p("kexec_load", libc::SYS_kexec_load,
        a4(Z, A::L(1000), A::Bad, Z),
        &[a4(Z, A::L(1), A::Bad, A::L(0x7fff_0000)), a4(Z, A::L(17), A::Bad, Z)],
        "EINVAL (too many segments / bad arch flags); ENOSYS without CONFIG_KEXEC"),
    p("kexec_file_load", libc::SYS_kexec_file_load,
        a5(NEG1, NEG1, Z, Z, A::L(0x8000_0000)),
        &[a5(NEG1, NEG1, Z, Z, A::L(0x100)), a5(NEG1, NEG1, NEG1, A::Bad, A::L(0x8000_0000))],
        "EINVAL (unknown flags); ENOSYS without CONFIG_KEXEC_FILE"),
    p("init_module", libc::SYS_init_module,
        a3(A::Bad, A::L(16), A::Bad),
        &[a3(A::Bad, Z, A::Bad), a3(Z, A::L(16), Z)],
        "EFAULT; ENOSYS without CONFIG_MODULES"),
    p("finit_module", libc::SYS_finit_module,
        a3(NEG1, A::Bad, Z),
        &[a3(NEG1, A::Path(""), A::L(0x100)), a3(NOFD, A::Path(""), Z)],
        "EBADF, EINVAL (flags); ENOSYS without CONFIG_MODULES"),
    p("delete_module", libc::SYS_delete_module,
        a2(A::Bad, Z),
        &[a2(A::Path("openclaw_no_such_module"), Z), a2(A::Path("x"), A::L(0x800))],
        "EFAULT, ENOENT; ENOSYS without CONFIG_MODULES"),
    p("mount", libc::SYS_mount,
        a5(A::Bad, A::Bad, A::Bad, Z, Z),
        &[a5(A::Path(""), A::Path(""), A::Path(""), Z, Z), a5(Z, A::Bad, Z, Z, Z)],
        "EFAULT, ENOENT (empty target)"),
    p("umount2", libc::SYS_umount2,
        a2(A::Bad, Z),
        &[a2(A::Path(""), Z), a2(NOPATH, A::L(0x8000_0000))],
        "EFAULT, ENOENT, EINVAL (flags)"),
    p("pivot_root", libc::SYS_pivot_root,
        a2(A::Bad, A::Bad),
        &[a2(A::Path(""), A::Path("")), a2(NOPATH, A::Bad)],
        "EFAULT, ENOENT"),
    p("chroot", libc::SYS_chroot,
        a1(A::Bad),
        &[a1(A::Path("")), a1(NOPATH)],
        "EFAULT, ENOENT"),
    p("fsopen", libc::SYS_fsopen,
        a2(A::Bad, Z),
        &[a2(A::Path("openclaw-no-such-fs"), Z), a2(A::Path("tmpfs"), A::L(0x8000))],
        "EFAULT, ENODEV, EINVAL (flags)"),
    p("fsconfig", libc::SYS_fsconfig,
        a5(NEG1, Z, Z, Z, Z),
        &[a5(NEG1, A::L(6), Z, Z, Z), a5(NOFD, A::L(0xffff), A::Bad, A::Bad, Z)],
        "EINVAL, EOPNOTSUPP (unknown command)"),
    p("fsmount", libc::SYS_fsmount,
        a3(NEG1, Z, Z),
        &[a3(NEG1, A::L(0x8000), Z), a3(NOFD, Z, Z)],
        "EBADF, EINVAL (flags)"),
    p("fspick", libc::SYS_fspick,
        a3(NEG1, A::Bad, Z),
        &[a3(NEG1, NOPATH, Z), a3(NEG1, A::Path(""), A::L(0x8000_0000))],
        "EFAULT, ENOENT, EINVAL (flags)"),
    p("move_mount", libc::SYS_move_mount,
        a5(NEG1, A::Bad, NEG1, A::Bad, Z),
        &[a5(NEG1, NOPATH, NEG1, NOPATH, Z),
          a5(NEG1, A::Path(""), NEG1, A::Path(""), A::L(0x8000_0000))],
        "EFAULT, ENOENT, EINVAL (flags)"),
    p("open_tree", libc::SYS_open_tree,
        a3(NEG1, A::Bad, Z),
        &[a3(NEG1, NOPATH, Z), a3(NEG1, A::Path(""), A::L(0x8000_0000))],
        "EFAULT, ENOENT, EINVAL (flags)"),
    p("mount_setattr", libc::SYS_mount_setattr,
        a5(NEG1, A::Bad, Z, A::Bad, Z),
        &[a5(NEG1, NOPATH, Z, A::Buf, A::L(32)),
          a5(NEG1, A::Path(""), A::L(0x8000_0000), A::Buf, A::L(32))],
        "EINVAL (size/flags), ok (an empty attr returns before any lookup)"),
    p("open_by_handle_at", libc::SYS_open_by_handle_at,
        a3(NEG1, A::Bad, Z),
        &[a3(NOFD, A::Buf, Z), a3(NEG1, A::Bad, A::L(0x8000_0000))],
        "EFAULT/EBADF/EINVAL"),
    p("bpf", libc::SYS_bpf,
        a3(A::L(5), A::Bad, A::L(128)),
        &[a3(A::L(0xffff), A::Bad, Z), a3(Z, A::Buf, Z)],
        "EFAULT, EINVAL"),
    p("perf_event_open", libc::SYS_perf_event_open,
        a5(A::Bad, Z, NEG1, NEG1, Z),
        &[a5(A::Buf, Z, NEG1, NEG1, A::L(0xffff_0000)), a5(A::Bad, NOPID, NEG1, NEG1, Z)],
        "EFAULT, EINVAL (flags)"),
    p("keyctl", libc::SYS_keyctl,
        a3(Z, A::L(KEY_SPEC_SESSION_KEYRING), A::L(1)),
        &[a1(A::L(0xffff)), a4(A::L(11), NOPID, A::Bad, A::L(16))],
        "ok (session keyring id), EOPNOTSUPP, ENOKEY"),
    p("add_key", libc::SYS_add_key,
        a5(A::Bad, A::Bad, Z, Z, Z),
        &[a5(A::Path("user"), A::Bad, Z, Z, A::L(KEY_SPEC_SESSION_KEYRING)),
          a5(A::Path(""), A::Path("x"), Z, Z, A::L(KEY_SPEC_SESSION_KEYRING))],
        "EFAULT, EINVAL (empty type)"),
    p("request_key", libc::SYS_request_key,
        a4(A::Bad, A::Bad, Z, Z),
        &[a4(A::Path("user"), A::Path("openclaw-no-such-key"), Z, Z),
          a4(A::Path(""), A::Path("x"), Z, Z)],
        "EFAULT, ENOKEY, EINVAL"),
    p("userfaultfd", libc::SYS_userfaultfd,
        a1(A::L(libc::O_CLOEXEC as u64)),
        &[a1(Z), a1(A::L(0xffff))],
        "ok (a new uffd in the probe child), EINVAL (flags)"),
    p("io_uring_setup", libc::SYS_io_uring_setup,
        a2(A::L(4), A::Buf),
        &[a2(Z, A::Buf), a2(A::L(4), A::Bad)],
        "ok (a ring in the probe child), EINVAL, EFAULT"),
    p("io_uring_enter", libc::SYS_io_uring_enter,
        [NEG1, Z, Z, Z, Z, Z],
        &[[NOFD, A::L(1), A::L(1), A::L(1), Z, Z], [NEG1, Z, Z, A::L(0xffff_ffff), Z, Z]],
        "EBADF, EINVAL (flags)"),
    p("io_uring_register", libc::SYS_io_uring_register,
        a4(NEG1, Z, Z, Z),
        &[a4(NEG1, A::L(0xffff), A::Bad, A::L(1)), a4(NOFD, Z, Z, Z)],
        "EINVAL/EBADF"),
    p("unshare", libc::SYS_unshare,
        a1(A::L(NEWUSER)),
        &[a1(Z), a1(A::L(NEWNS)), a1(A::L(NEWNET))],
        "ok (new namespaces of the probe child; unshare(0) is a no-op)"),
    p("setns", libc::SYS_setns,
        a2(NEG1, Z),
        &[a2(NEG1, A::L(NEWNET)), a2(NOFD, A::L(NEWUSER))],
        "EBADF"),
    p("personality", libc::SYS_personality,
        a1(A::L(0xffff_ffff)),
        &[a1(A::L(0x0040000)), a1(Z)],
        "ok (query; ADDR_NO_RANDOMIZE / PER_LINUX in the probe child)"),
    // Only the mode is conditioned; the path/fd never exists, so an unfiltered call changes
    // nothing.
    p("chmod", libc::SYS_chmod,
        a2(NOPATH, A::L(0o4755)),
        &[a2(NOPATH, A::L(0o2755)), a2(NOPATH, A::L(0o755))],
        "ENOENT"),
    p("fchmod", libc::SYS_fchmod,
        a2(NOFD, A::L(0o4755)),
        &[a2(NOFD, A::L(0o2755)), a2(NOFD, A::L(0o755))],
        "EBADF"),
    p("fchmodat", libc::SYS_fchmodat,
        a3(A::L(libc::AT_FDCWD as u64), NOPATH, A::L(0o4755)),
        &[a3(A::L(libc::AT_FDCWD as u64), NOPATH, A::L(0o6755))],
        "ENOENT"),
    p("fchmodat2", 452,
        a4(A::L(libc::AT_FDCWD as u64), NOPATH, A::L(0o4755), Z),
        &[a4(A::L(libc::AT_FDCWD as u64), NOPATH, A::L(0o2755), Z)],
        "ENOENT (ENOSYS before Linux 6.6)"),
    // Creation with a set-id mode: the path lies in a directory that does not exist, so an
    // unfiltered call creates nothing (ENOENT).
    p("open", libc::SYS_open,
        a3(NODIRPATH, A::L((libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC) as u64), A::L(0o4755)),
        &[a3(NODIRPATH, A::L((libc::O_CREAT | libc::O_WRONLY) as u64), A::L(0o644))],
        "ENOENT"),
    p("openat", libc::SYS_openat,
        a4(A::L(libc::AT_FDCWD as u64), NODIRPATH, A::L((libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC) as u64), A::L(0o2755)),
        &[a4(A::L(libc::AT_FDCWD as u64), NODIRPATH, A::L(libc::O_RDONLY as u64), Z)],
        "ENOENT"),
    p("creat", libc::SYS_creat,
        a2(NODIRPATH, A::L(0o4755)),
        &[a2(NODIRPATH, A::L(0o644))],
        "ENOENT"),
    p("mknod", libc::SYS_mknod,
        a3(NODIRPATH, A::L(libc::S_IFREG as u64 | 0o4755), Z),
        &[a3(NODIRPATH, A::L(libc::S_IFREG as u64 | 0o644), Z)],
        "ENOENT"),
    p("mknodat", libc::SYS_mknodat,
        a4(A::L(libc::AT_FDCWD as u64), NODIRPATH, A::L(libc::S_IFREG as u64 | 0o2755), Z),
        &[a4(A::L(libc::AT_FDCWD as u64), NODIRPATH, A::L(libc::S_IFREG as u64 | 0o644), Z)],
        "ENOENT"),
    p("openat2", libc::SYS_openat2,
        a4(A::L(libc::AT_FDCWD as u64), A::Bad, A::Bad, A::L(24)),
        &[a4(A::L(libc::AT_FDCWD as u64), NODIRPATH, A::Bad, A::L(24))],
        "EFAULT"),
    p("swapon", libc::SYS_swapon,
        a2(A::Bad, Z),
        &[a2(A::Path(""), Z), a2(NOPATH, A::L(0x8000_0000))],
        "EFAULT, ENOENT, EINVAL (flags)"),
    p("swapoff", libc::SYS_swapoff,
        a1(A::Bad),
        &[a1(A::Path("")), a1(NOPATH)],
        "EFAULT, ENOENT"),
    p("reboot", libc::SYS_reboot,
        a4(Z, Z, Z, Z),
        // Never the real LINUX_REBOOT_MAGIC1 (0xfee1dead): the helper refuses it anyway.
        &[a4(A::L(0x1234_5678), A::L(672_274_793), A::L(0x4321_fedc), Z),
          a4(A::L(0xfee1_deae), A::L(85_072_278), A::L(0xcdef_0123), Z)],
        "EINVAL (wrong magic)"),
    p("acct", libc::SYS_acct,
        a1(A::Bad),
        &[a1(A::Path("")), a1(NOPATH)],
        "EFAULT, ENOENT"),
    p("quotactl", libc::SYS_quotactl,
        a4(A::L(0x8000_0400), A::Bad, Z, A::Buf),
        &[a4(A::L(0x8000_0400), A::Path(""), Z, A::Buf),
          a4(A::L(0x8000_0400), NOPATH, Z, A::Buf)],
        "EFAULT, ENOENT (Q_GETFMT on no device)"),
    p("clone3", libc::SYS_clone3,
        a2(A::Clone3(0), A::Clone3Size),
        &[a2(A::Bad, A::L(88)), a2(Z, Z), a2(A::Clone3(NEWUSER), A::Clone3Size)],
        "ok (a child that exits at once), EFAULT, EINVAL"),
    Probe {
        syscall: "clone",
        nr: libc::SYS_clone,
        base: a1(A::L(SIGCHLD)),
        extra: &[a1(A::L(SIGCHLD | NEWUSER | NEWNS)),
                 a1(A::L(SIGCHLD | libc::CLONE_SYSVSEM as u64))],
        cond_mask: CLONE_NS_BITS | 0xffff_ffff_0000_0000,
        cond_or: SIGCHLD,
        unfiltered: "ok (fork-like, the child exits at once; the kernel ignores the upper 32 bits)",
    },
    Probe {
        syscall: "socket",
        nr: libc::SYS_socket,
        base: a3(Z, A::L((libc::SOCK_STREAM | libc::SOCK_CLOEXEC) as u64), Z),
        extra: &[a3(A::L(libc::AF_INET6 as u64), A::L(libc::SOCK_DGRAM as u64), Z),
                 a3(A::L(libc::AF_NETLINK as u64), A::L(libc::SOCK_RAW as u64), Z),
                 a3(A::L(libc::AF_PACKET as u64), A::L(libc::SOCK_RAW as u64), Z)],
        cond_mask: u64::MAX,
        cond_or: 0,
        unfiltered: "ok (AF_UNIX, AF_INET, …), EAFNOSUPPORT (AF_UNSPEC)",
    },
    Probe {
        syscall: "socketpair",
        nr: libc::SYS_socketpair,
        base: a4(Z, A::L(libc::SOCK_STREAM as u64), Z, A::Buf),
        extra: &[a4(A::L(libc::AF_INET as u64), A::L(libc::SOCK_STREAM as u64), Z, A::Buf)],
        cond_mask: u64::MAX,
        cond_or: 0,
        unfiltered: "ok (AF_UNIX), EOPNOTSUPP (AF_INET), EAFNOSUPPORT (AF_UNSPEC)",
    },
];

/// Syscalls the CI kernel does not implement (ENOSYS unfiltered). For their EPERM rules the
/// kernel check still discriminates (filtered EPERM vs unfiltered ENOSYS), but the probes
/// cannot show the call's own argument handling; an ENOSYS not listed here fails the test.
pub(super) const KERNEL_LACKS: &[(&str, &str)] = &[
    ("kexec_load", "CONFIG_KEXEC is not set"),
    ("kexec_file_load", "CONFIG_KEXEC_FILE is not set"),
    ("init_module", "CONFIG_MODULES is not set"),
    ("finit_module", "CONFIG_MODULES is not set"),
    ("delete_module", "CONFIG_MODULES is not set"),
];

/// Syscalls a command and a shell need: with either filter set they must behave exactly as
/// without it. `(label, nr, args, unfiltered outcome)`.
#[rustfmt::skip]
pub(super) const NEEDED: &[(&str, i64, [A; 6], &str)] = &[
    ("read", libc::SYS_read, a3(Z, A::Buf, Z), "ok"),
    ("write", libc::SYS_write, a3(A::L(1), A::Buf, Z), "ok"),
    ("openat", libc::SYS_openat,
        a3(AT_FDCWD, A::Path("/"), A::L((libc::O_RDONLY | libc::O_DIRECTORY) as u64)), "ok"),
    ("close", libc::SYS_close, a1(Z), "ok"),
    ("newfstatat", libc::SYS_newfstatat, a4(AT_FDCWD, A::Path("/"), A::Buf, Z), "ok"),
    ("mmap", libc::SYS_mmap,
        [Z, A::L(4096), A::L(libc::PROT_READ as u64),
         A::L((libc::MAP_PRIVATE | libc::MAP_ANONYMOUS) as u64), NEG1, Z], "ok"),
    ("brk", libc::SYS_brk, a1(Z), "ok"),
    ("getpid", libc::SYS_getpid, a1(Z), "ok"),
    ("getuid", libc::SYS_getuid, a1(Z), "ok"),
    ("getcwd", libc::SYS_getcwd, a2(A::Buf, A::L(4096)), "ok"),
    ("chdir", libc::SYS_chdir, a1(A::Path("/")), "ok"),
    ("pipe2", libc::SYS_pipe2, a2(A::Buf, A::L(libc::O_CLOEXEC as u64)), "ok"),
    ("dup", libc::SYS_dup, a1(Z), "ok"),
    ("rt_sigaction", libc::SYS_rt_sigaction,
        a4(A::L(libc::SIGUSR1 as u64), Z, A::Buf, A::L(8)), "ok"),
    ("wait4 (no children)", libc::SYS_wait4,
        a4(NEG1, Z, A::L(libc::WNOHANG as u64), Z), "errno:10"),
    ("uname", libc::SYS_uname, a1(A::Buf), "ok"),
    ("getrandom", libc::SYS_getrandom, a3(A::Buf, A::L(16), Z), "ok"),
    ("clock_gettime", libc::SYS_clock_gettime, a2(Z, A::Buf), "ok"),
    ("prctl(PR_GET_DUMPABLE)", libc::SYS_prctl, a1(A::L(libc::PR_GET_DUMPABLE as u64)), "ok"),
    ("clone(SIGCHLD) = fork", libc::SYS_clone, a1(A::L(SIGCHLD)), "ok"),
    ("socket(AF_UNIX)", libc::SYS_socket,
        a2(A::L(libc::AF_UNIX as u64), A::L(libc::SOCK_STREAM as u64)), "ok"),
    ("exit_group(42)", libc::SYS_exit_group, a1(A::L(42)), "exit:42"),
];
