//! Per-rule seccomp validation (issue "Prove it" §3; Firecracker's `test_seccomp_validate`
//! approach): the rules are enumerated from `policies/seccomp/*.json` at test time, so a rule
//! without a probe in [`PROBES`] fails ("rule <profile>/<syscall> has no probe").
//!
//! For every rule, in the real kernel (the `openclaw-node-try-syscall seccomp-batch` helper
//! installs the compiled filter set of a confining run in its own process and forks one child
//! per probe; nothing is installed in this test process):
//! - a) the syscall with arguments matching the rule gets the rule's action (the configured
//!   errno, or SIGSYS for kill/trap), and the same call WITHOUT the filter gets a different
//!   outcome (it reaches the kernel: success, EBADF, EFAULT, ENOENT, ESRCH, ENOSYS …);
//! - b) for rules with argument conditions, each condition is perturbed to values just inside and
//!   just outside it (±1, flipped mask bits, garbage in the upper 32 bits of a 32-bit compare):
//!   inside → blocked, outside → the filtered outcome equals the unfiltered one; unconditional
//!   rules get several argument variations, all blocked;
//! - c) syscalls a command needs (read, write, openat, mmap, plain fork, exit_group, … and a
//!   whole `/bin/sh` pipeline) behave exactly as without the filter.
//!
//! The expected verdict of every probe comes from a reference model of the JSON written here
//! (independent of seccompiler), plus the two guards that live in code: wrong architecture →
//! kill (seccompiler) and x32 numbers → EPERM (`seccomp::x32_guard`). The userland evaluator
//! (`bpf_eval`) checks the compiled program against the same model exhaustively.
//!
//! `SANDBOX_MUST_WORK=1` turns a kernel without seccomp filters, or an unprivileged run (where
//! capability checks answer EPERM before the arguments are looked at), into a failure.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::support::sandbox::{helper, require};
use openclaw_node::sandbox::bpf_eval::{SeccompData, eval};
use openclaw_node::sandbox::seccomp::{
    NO_NETWORK_JSON, NO_UNIX_SOCKETS_JSON, STANDARD_JSON, X32_SYSCALL_BIT, compile_set,
    syscall_number,
};
use serde_json::Value;

// ================================================================ probe table

/// One probe argument (rendered as a helper token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum A {
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
    fn token(self) -> String {
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
    fn model(self) -> u64 {
        match self {
            A::L(v) => v,
            A::Bad => 8,
            A::Clone3Size => 88,
            A::Buf | A::Path(_) | A::Clone3(_) => 0x7fff_1234_5000,
        }
    }

    fn is_literal(self) -> bool {
        matches!(self, A::L(_))
    }
}

const Z: A = A::L(0);
const NEG1: A = A::L(u64::MAX);
const NOPID: A = A::L(0x7fff_ffff);
const NOFD: A = A::L(0x7fff_ffff);
const NOPATH: A = A::Path("/nonexistent-openclaw-probe");
/// A path in a directory that does not exist (for calls that would create it).
const NODIRPATH: A = A::Path("/nonexistent-openclaw-probe/file");
const HI: u64 = 0xdead_beef_0000_0000;

/// How a syscall is probed. `base` is always run; `extra` are further variations. For a rule
/// with argument conditions, each conditioned argument of `base` is replaced by generated values
/// around the condition's boundary, transformed as `(v & cond_mask) | cond_or` (clone: only
/// namespace and upper-half bits, plus SIGCHLD, so an unfiltered probe never creates a thread
/// on a null stack).
#[derive(Debug)]
struct Probe {
    syscall: &'static str,
    nr: i64,
    base: [A; 6],
    extra: &'static [[A; 6]],
    cond_mask: u64,
    cond_or: u64,
    /// What the unfiltered calls do (documentation; the test compares outcomes, not this text).
    unfiltered: &'static str,
}

const fn p(
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

const fn a1(x: A) -> [A; 6] {
    [x, Z, Z, Z, Z, Z]
}
const fn a2(x: A, y: A) -> [A; 6] {
    [x, y, Z, Z, Z, Z]
}
const fn a3(x: A, y: A, z: A) -> [A; 6] {
    [x, y, z, Z, Z, Z]
}
const fn a4(x: A, y: A, z: A, w: A) -> [A; 6] {
    [x, y, z, w, Z, Z]
}
const fn a5(x: A, y: A, z: A, w: A, v: A) -> [A; 6] {
    [x, y, z, w, v, Z]
}

const SIGCHLD: u64 = libc::SIGCHLD as u64;
const CLONE_NS_BITS: u64 = (libc::CLONE_NEWNS
    | libc::CLONE_NEWCGROUP
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET) as u64;
const NEWUSER: u64 = libc::CLONE_NEWUSER as u64;
const NEWNS: u64 = libc::CLONE_NEWNS as u64;
const NEWNET: u64 = libc::CLONE_NEWNET as u64;
const KEY_SPEC_SESSION_KEYRING: u64 = -3i64 as u64;
const AT_FDCWD: A = A::L(libc::AT_FDCWD as i64 as u64);

/// Every syscall named by a rule, with arguments that are harmless unfiltered (as root):
/// invalid fds/pids/pointers/flags or nonexistent paths, or effects confined to the throwaway
/// probe child (unshare, clone, keyrings, personality).
#[rustfmt::skip]
const PROBES: &[Probe] = &[
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
const KERNEL_LACKS: &[(&str, &str)] = &[
    ("kexec_load", "CONFIG_KEXEC is not set"),
    ("kexec_file_load", "CONFIG_KEXEC_FILE is not set"),
    ("init_module", "CONFIG_MODULES is not set"),
    ("finit_module", "CONFIG_MODULES is not set"),
    ("delete_module", "CONFIG_MODULES is not set"),
];

/// Syscalls a command and a shell need: with either filter set they must behave exactly as
/// without it. `(label, nr, args, unfiltered outcome)`.
#[rustfmt::skip]
const NEEDED: &[(&str, i64, [A; 6], &str)] = &[
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

// ================================================================ reference model of the JSON

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Allow,
    Errno(u32),
    KillThread,
    KillProcess,
    Trap,
    Log,
}

impl Action {
    fn parse(v: &Value, ctx: &str) -> Action {
        match v {
            Value::String(s) => match s.as_str() {
                "allow" => Action::Allow,
                "kill_thread" => Action::KillThread,
                "kill_process" => Action::KillProcess,
                "trap" => Action::Trap,
                "log" => Action::Log,
                other => panic!("{ctx}: action {other:?} is not modelled by this test"),
            },
            Value::Object(m) if m.len() == 1 && m.contains_key("errno") => {
                Action::Errno(m["errno"].as_u64().unwrap() as u32)
            }
            other => panic!("{ctx}: action {other} is not modelled by this test"),
        }
    }

    /// The seccomp return value.
    fn ret(self) -> u32 {
        match self {
            Action::Allow => libc::SECCOMP_RET_ALLOW,
            Action::Errno(e) => libc::SECCOMP_RET_ERRNO | (e & libc::SECCOMP_RET_DATA),
            Action::KillThread => libc::SECCOMP_RET_KILL_THREAD,
            Action::KillProcess => libc::SECCOMP_RET_KILL_PROCESS,
            Action::Trap => libc::SECCOMP_RET_TRAP,
            Action::Log => libc::SECCOMP_RET_LOG,
        }
    }

    /// The probe outcome this action produces; `None` when the call goes through.
    fn blocked_outcome(self) -> Option<String> {
        match self {
            Action::Allow | Action::Log => None,
            Action::Errno(e) => Some(format!("errno:{e}")),
            // A single-threaded probe child dies of SIGSYS for all three.
            Action::KillThread | Action::KillProcess | Action::Trap => {
                Some(format!("signal:{}", libc::SIGSYS))
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Eq,
    Ne,
    Ge,
    Gt,
    Le,
    Lt,
    MaskedEq(u64),
}

#[derive(Debug, Clone)]
struct Cond {
    index: usize,
    dword: bool,
    op: Op,
    val: u64,
}

impl Cond {
    fn holds(&self, args: &[u64; 6]) -> bool {
        let a = if self.dword {
            args[self.index] & 0xffff_ffff
        } else {
            args[self.index]
        };
        let v = self.val;
        match self.op {
            Op::Eq => a == v,
            Op::Ne => a != v,
            Op::Ge => a >= v,
            Op::Gt => a > v,
            Op::Le => a <= v,
            Op::Lt => a < v,
            Op::MaskedEq(m) => a & m == v,
        }
    }

    fn describe(&self) -> String {
        format!(
            "arg{} {} {:?} {:#x}",
            self.index,
            if self.dword { "dword" } else { "qword" },
            self.op,
            self.val
        )
    }

    /// Values hugging the condition's boundary (classified by [`Cond::holds`] afterwards).
    fn candidates(&self) -> Vec<u64> {
        let width = if self.dword { 0xffff_ffff } else { u64::MAX };
        let v = self.val;
        let mut out = vec![v, v.wrapping_add(1) & width, v.wrapping_sub(1) & width];
        if let Op::MaskedEq(m) = self.op {
            let m = m & width;
            if m != 0 {
                let low = m & m.wrapping_neg();
                let high = 1u64 << (63 - m.leading_zeros());
                out.push(v ^ low);
                out.push(v ^ high);
            }
        }
        if self.dword {
            // Garbage in the upper half: the kernel reads an int, and so must the filter.
            let base = out.clone();
            out.extend(base.iter().map(|x| x | HI));
            out.push(v << 32);
        }
        out
    }
}

#[derive(Debug, Clone)]
struct Rule {
    profile: String,
    filter: String,
    syscall: String,
    /// Position among the rules of this profile for this syscall (rules for one syscall or).
    nth: usize,
    conds: Vec<Cond>,
}

impl Rule {
    fn id(&self) -> String {
        format!("{}/{}", self.profile, self.syscall)
    }

    fn full_id(&self) -> String {
        if self.conds.is_empty() {
            self.id()
        } else {
            format!("{}#{} [{}]", self.id(), self.nth, self.describe())
        }
    }

    fn describe(&self) -> String {
        self.conds
            .iter()
            .map(Cond::describe)
            .collect::<Vec<_>>()
            .join(" && ")
    }

    fn matches(&self, args: &[u64; 6]) -> bool {
        self.conds.iter().all(|c| c.holds(args))
    }
}

#[derive(Debug, Clone)]
struct Filter {
    name: String,
    mismatch: Action,
    matched: Action,
    rules: Vec<Rule>,
}

fn policies_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("policies/seccomp")
}

/// Every profile (file stem) with its filters, read from disk.
fn load_policies() -> BTreeMap<String, Vec<Filter>> {
    let mut out = BTreeMap::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(policies_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no policies in {}",
        policies_dir().display()
    );
    for path in files {
        let profile = path.file_stem().unwrap().to_string_lossy().to_string();
        let json: BTreeMap<String, Value> =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let mut filters = Vec::new();
        for (name, f) in json {
            let ctx = format!("{profile}/{name}");
            let mut rules: Vec<Rule> = Vec::new();
            for r in f["filter"].as_array().unwrap() {
                let syscall = r["syscall"].as_str().unwrap().to_string();
                let nth = rules.iter().filter(|x| x.syscall == syscall).count();
                let conds = r
                    .get("args")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .map(|c| Cond {
                                index: c["index"].as_u64().unwrap() as usize,
                                dword: match c["type"].as_str().unwrap() {
                                    "dword" => true,
                                    "qword" => false,
                                    t => panic!("{ctx}/{syscall}: type {t}"),
                                },
                                op: match &c["op"] {
                                    Value::String(s) => match s.as_str() {
                                        "eq" => Op::Eq,
                                        "ne" => Op::Ne,
                                        "ge" => Op::Ge,
                                        "gt" => Op::Gt,
                                        "le" => Op::Le,
                                        "lt" => Op::Lt,
                                        o => panic!("{ctx}/{syscall}: op {o}"),
                                    },
                                    Value::Object(m) => {
                                        Op::MaskedEq(m["masked_eq"].as_u64().unwrap())
                                    }
                                    o => panic!("{ctx}/{syscall}: op {o}"),
                                },
                                val: c["val"].as_u64().unwrap(),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                rules.push(Rule {
                    profile: profile.clone(),
                    filter: name.clone(),
                    syscall,
                    nth,
                    conds,
                });
            }
            filters.push(Filter {
                mismatch: Action::parse(&f["mismatch_action"], &ctx),
                matched: Action::parse(&f["match_action"], &ctx),
                name,
                rules,
            });
        }
        out.insert(profile, filters);
    }
    out
}

/// A filter set as a confining run installs it (`seccomp::compile_set(network, unix_sockets)`).
#[derive(Debug, Clone, Copy)]
struct Config {
    /// The helper's name for it.
    name: &'static str,
    network: bool,
    /// `false`: the no-UNIX-sockets rule is in (a run without a filesystem view, Landlock < 9).
    unix_sockets: bool,
}

/// Ordered so the first config a rule is active in lets its perturbations escape (the
/// no-network rule's `AF_UNIX` and the no-UNIX-sockets rule's other domains are allowed there).
const CONFIGS: [Config; 4] = [
    Config {
        name: "net",
        network: true,
        unix_sockets: true,
    },
    Config {
        name: "nonet",
        network: false,
        unix_sockets: true,
    },
    Config {
        name: "net-nounix",
        network: true,
        unix_sockets: false,
    },
    Config {
        name: "nonet-nounix",
        network: false,
        unix_sockets: false,
    },
];

/// Which profiles a filter set contains (mirrors `seccomp::compile_set`).
fn active(profile: &str, cfg: Config) -> bool {
    match profile {
        "standard" => true,
        "no-network" => !cfg.network,
        "no-unix-sockets" => !cfg.unix_sockets,
        other => panic!(
            "policies/seccomp/{other}.json is not wired into any compiled filter set (this test \
             mirrors seccomp::compile_set; a new profile needs both)"
        ),
    }
}

fn probe_of(syscall: &str) -> Option<&'static Probe> {
    PROBES.iter().find(|p| p.syscall == syscall)
}

fn nr_of(rule: &Rule) -> i64 {
    probe_of(&rule.syscall)
        .unwrap_or_else(|| panic!("rule {} has no probe", rule.id()))
        .nr
}

const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
const AUDIT_ARCH_I386: u32 = 0x4000_0003;
const AUDIT_ARCH_AARCH64: u32 = 0xc000_00b7;

fn native_arch() -> u32 {
    SeccompData::native(0, [0; 6]).arch
}

struct Model {
    policies: BTreeMap<String, Vec<Filter>>,
}

impl Model {
    fn load() -> Self {
        Model {
            policies: load_policies(),
        }
    }

    fn rules(&self) -> impl Iterator<Item = &Rule> {
        self.policies.values().flatten().flat_map(|f| &f.rules)
    }

    fn filter_of(&self, rule: &Rule) -> &Filter {
        self.policies[&rule.profile]
            .iter()
            .find(|f| f.name == rule.filter)
            .unwrap()
    }

    /// The expected verdict, and the JSON rules that matched.
    fn verdict(&self, cfg: Config, arch: u32, nr: i64, args: &[u64; 6]) -> (Action, Vec<&Rule>) {
        // Guards in code: seccompiler's architecture check, then the x32 guard (x86_64).
        if arch != native_arch() {
            return (Action::KillProcess, Vec::new());
        }
        if cfg!(target_arch = "x86_64") && (nr as u32) & X32_SYSCALL_BIT != 0 {
            return (Action::Errno(libc::EPERM as u32), Vec::new());
        }
        let mut non_allow: Vec<Action> = Vec::new();
        let mut matched = Vec::new();
        for (profile, filters) in &self.policies {
            if !active(profile, cfg) {
                continue;
            }
            for f in filters {
                let hits: Vec<&Rule> = f
                    .rules
                    .iter()
                    .filter(|r| nr_of(r) == nr && r.matches(args))
                    .collect();
                let a = if hits.is_empty() {
                    f.mismatch
                } else {
                    f.matched
                };
                matched.extend(hits);
                if a != Action::Allow && !non_allow.contains(&a) {
                    non_allow.push(a);
                }
            }
        }
        assert!(
            non_allow.len() <= 1,
            "ambiguous policy: nr {nr} args {args:x?} gets {non_allow:?} from different filters \
             (the chained program would return the first; say which one is meant)"
        );
        (non_allow.first().copied().unwrap_or(Action::Allow), matched)
    }
}

// ================================================================ probes of a rule

/// One concrete call.
#[derive(Debug, Clone)]
struct Call {
    /// Human label.
    label: String,
    nr: i64,
    args: [A; 6],
}

impl Call {
    fn model_args(&self) -> [u64; 6] {
        self.args.map(A::model)
    }

    fn line(&self, id: usize) -> String {
        let mut s = format!("{id} {}", self.nr);
        for a in self.args {
            s.push(' ');
            s.push_str(&a.token());
        }
        s
    }
}

/// A probe of a rule in the deduplicated call list: `(call index, perturbed condition)`.
type ProbeRef = (usize, Option<usize>);

/// The calls probing one rule: `(call, perturbed condition index if any)`.
fn probes_of_rule(rule: &Rule) -> Vec<(Call, Option<usize>)> {
    let probe =
        probe_of(&rule.syscall).unwrap_or_else(|| panic!("rule {} has no probe", rule.id()));
    let mut out = Vec::new();
    let mut push = |label: String, args: [A; 6], cond: Option<usize>| {
        out.push((
            Call {
                label,
                nr: probe.nr,
                args,
            },
            cond,
        ));
    };
    for c in &rule.conds {
        assert!(
            probe.base[c.index].is_literal(),
            "rule {}: condition on arg{} but the probe passes a pointer there",
            rule.full_id(),
            c.index
        );
    }
    let shape = |v: u64| (v & probe.cond_mask) | probe.cond_or;
    // The base with every conditioned argument set to a value satisfying its condition.
    let mut inside = probe.base;
    for c in &rule.conds {
        let v = c
            .candidates()
            .into_iter()
            .map(shape)
            .find(|v| {
                let mut a = inside.map(A::model);
                a[c.index] = *v;
                c.holds(&a)
            })
            .unwrap_or_else(|| {
                panic!(
                    "rule {}: no generated value satisfies {} (cond_mask/cond_or of the probe?)",
                    rule.full_id(),
                    c.describe()
                )
            });
        inside[c.index] = A::L(v);
    }
    push("base".into(), probe.base, None);
    if !rule.conds.is_empty() {
        push("inside".into(), inside, None);
    }
    for (i, c) in rule.conds.iter().enumerate() {
        let mut seen = BTreeSet::new();
        for v in c.candidates().into_iter().map(shape) {
            if !seen.insert(v) {
                continue;
            }
            let mut args = inside;
            args[c.index] = A::L(v);
            push(format!("arg{}={v:#x}", c.index), args, Some(i));
        }
    }
    for (k, e) in probe.extra.iter().enumerate() {
        push(format!("extra#{k}"), *e, None);
    }
    out
}

// ================================================================ helper runs

fn seccomp_available() -> bool {
    let actions =
        std::fs::read_to_string("/proc/sys/kernel/seccomp/actions_avail").unwrap_or_default();
    let have = |a: &str| actions.split_whitespace().any(|x| x == a);
    have("errno") && have("kill_process")
}

/// Run `calls` under the filter set `which` (`none`, `net`, `nonet`), one child per call.
fn run_batch(which: &str, calls: &[Call]) -> Vec<String> {
    let mut input = String::new();
    for (i, c) in calls.iter().enumerate() {
        input.push_str(&c.line(i));
        input.push('\n');
    }
    run_lines(which, &input, calls.len())
}

fn run_lines(which: &str, input: &str, n: usize) -> Vec<String> {
    let mut child = Command::new(helper())
        .args(["seccomp-batch", which])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "helper seccomp-batch {which} failed: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut res = vec![String::new(); n];
    for line in text.lines() {
        let (id, outcome) = line.split_once(' ').unwrap();
        res[id.parse::<usize>().unwrap()] = outcome.to_string();
    }
    assert!(
        res.iter()
            .all(|r| !r.is_empty() && !r.starts_with("helper-error")),
        "helper seccomp-batch {which}: missing outcomes {res:?}"
    );
    res
}

fn pretty(outcome: &str) -> String {
    match outcome
        .strip_prefix("errno:")
        .and_then(|e| e.parse::<i32>().ok())
    {
        Some(e) => format!("{outcome} ({})", std::io::Error::from_raw_os_error(e)),
        None => outcome.to_string(),
    }
}

// ================================================================ tests

#[test]
fn every_rule_has_a_probe_and_every_probe_a_rule() {
    let model = Model::load();
    // The files on disk are the ones compiled into the binary.
    assert_eq!(
        std::fs::read_to_string(policies_dir().join("standard.json")).unwrap(),
        STANDARD_JSON
    );
    assert_eq!(
        std::fs::read_to_string(policies_dir().join("no-network.json")).unwrap(),
        NO_NETWORK_JSON
    );
    assert_eq!(
        std::fs::read_to_string(policies_dir().join("no-unix-sockets.json")).unwrap(),
        NO_UNIX_SOCKETS_JSON
    );
    let mut missing = Vec::new();
    for rule in model.rules() {
        for cfg in CONFIGS {
            active(&rule.profile, cfg); // panics on an unwired profile
        }
        match probe_of(&rule.syscall) {
            None => missing.push(format!("rule {} has no probe", rule.id())),
            Some(p) => assert_eq!(
                syscall_number(&rule.syscall),
                Some(p.nr),
                "seccomp::syscall_number({:?}) disagrees with libc::SYS_{}",
                rule.syscall,
                rule.syscall
            ),
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
    let named: BTreeSet<&str> = model.rules().map(|r| r.syscall.as_str()).collect();
    for p in PROBES {
        assert!(
            named.contains(p.syscall),
            "probe {} matches no rule in policies/seccomp/ (stale probe table)",
            p.syscall
        );
    }
    for (name, _) in KERNEL_LACKS {
        assert!(
            named.contains(name),
            "KERNEL_LACKS lists {name}, which no rule names"
        );
    }
    // Every rule's probes include one the rule itself matches, and every condition one that
    // leaves the first filter set the rule is active in (see CONFIGS) allowing the call.
    for rule in model.rules() {
        let probes = probes_of_rule(rule);
        let cfg = *CONFIGS.iter().find(|c| active(&rule.profile, **c)).unwrap();
        assert!(
            probes.iter().any(|(c, _)| rule.matches(&c.model_args())),
            "rule {}: no probe matches it",
            rule.full_id()
        );
        for (i, cond) in rule.conds.iter().enumerate() {
            let escapes = probes.iter().any(|(c, pi)| {
                *pi == Some(i)
                    && !cond.holds(&c.model_args())
                    && model.verdict(cfg, native_arch(), c.nr, &c.model_args()).0 == Action::Allow
            });
            assert!(
                escapes,
                "rule {}: no perturbation of {} leaves the filter (every value just outside \
                 it is blocked by another rule?)",
                rule.full_id(),
                cond.describe()
            );
        }
    }
}

#[test]
fn compiled_program_matches_the_json_model_exhaustively() {
    let model = Model::load();
    let mut checked = 0usize;
    for cfg in CONFIGS {
        let set = compile_set(cfg.network, cfg.unix_sockets).unwrap();
        let programs: Vec<&[seccompiler::sock_filter]> = set.programs().collect();
        let run = |d: &SeccompData| {
            // Several programs: the first non-allow verdict (they are ERRNO/KILL only).
            programs
                .iter()
                .map(|p| eval(p, d))
                .find(|v| *v != libc::SECCOMP_RET_ALLOW)
                .unwrap_or(libc::SECCOMP_RET_ALLOW)
        };
        let mut check = |arch: u32, nr: i64, args: [u64; 6], what: &str| {
            let d = SeccompData {
                arch,
                ..SeccompData::native(nr as u32, args)
            };
            let (want, _) = model.verdict(cfg, arch, nr, &args);
            assert_eq!(
                run(&d),
                want.ret(),
                "{}: {what}: arch {arch:#x} nr {nr:#x} args {args:x?}: program says {:#x}, JSON \
                 model says {want:?}",
                cfg.name,
                run(&d)
            );
            checked += 1;
        };
        // Every probe of every rule (pointer arguments as the model sees them).
        let mut arg0s: BTreeSet<u64> = [0, 1, 2, 10, 16, 17, 0xffff_ffff, u64::MAX, HI].into();
        for rule in model.rules() {
            for (call, _) in probes_of_rule(rule) {
                let args = call.model_args();
                arg0s.insert(args[0]);
                check(
                    native_arch(),
                    call.nr,
                    args,
                    &format!("{} {}", rule.full_id(), call.label),
                );
            }
        }
        for (name, nr, args, _) in NEEDED {
            check(native_arch(), *nr, args.map(A::model), name);
        }
        // Every syscall number × every interesting first argument; x32 numbers; other arches.
        for nr in 0..600i64 {
            for a0 in &arg0s {
                check(native_arch(), nr, [*a0, 1, 0, 0, 0, 0], "sweep");
            }
            check(
                native_arch(),
                nr | X32_SYSCALL_BIT as i64,
                [0; 6],
                "x32 sweep",
            );
            for arch in [AUDIT_ARCH_I386, AUDIT_ARCH_AARCH64, AUDIT_ARCH_X86_64, 0] {
                if arch != native_arch() {
                    check(arch, nr, [0; 6], "wrong-arch sweep");
                }
            }
        }
    }
    eprintln!("bpf_eval: {checked} (config, arch, nr, args) points agree with the JSON model");
}

#[test]
fn every_rule_holds_in_the_kernel() {
    if !require(
        seccomp_available(),
        "seccomp filters (errno, kill_process actions)",
    ) {
        return;
    }
    let model = Model::load();
    // All probes of all rules, deduplicated, each run unfiltered and under both filter sets.
    let mut calls: Vec<Call> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    let mut per_rule: Vec<(&Rule, Vec<ProbeRef>)> = Vec::new();
    for rule in model.rules() {
        let mut mine = Vec::new();
        for (call, cond) in probes_of_rule(rule) {
            let key = call.line(0);
            let i = *index.entry(key).or_insert_with(|| {
                calls.push(call.clone());
                calls.len() - 1
            });
            mine.push((i, cond));
        }
        per_rule.push((rule, mine));
    }
    let unfiltered = run_batch("none", &calls);
    let filtered: BTreeMap<&str, Vec<String>> = CONFIGS
        .iter()
        .map(|c| (c.name, run_batch(c.name, &calls)))
        .collect();

    let mut failures = Vec::new();
    let mut summary = Vec::new();
    // Unprivileged, several calls fail their capability check with EPERM before looking at
    // their arguments, so EPERM-from-the-filter cannot be told apart (CI runs as root).
    let root = nix::unistd::geteuid().is_root();
    let eperm = format!("errno:{}", libc::EPERM);
    let mut needs_root = BTreeSet::new();
    let mut lacks_seen = BTreeSet::new();
    let (mut blocked_checks, mut passed_checks, mut perturbations) = (0, 0, 0);
    for (rule, mine) in &per_rule {
        let action = model.filter_of(rule).matched;
        let mut rule_blocked_in_kernel = false;
        let mut tally = [(0, 0); CONFIGS.len()];
        let mut seen_unfiltered = BTreeSet::new();
        for (i, cond) in mine {
            let call = &calls[*i];
            let base = &unfiltered[*i];
            let what = format!(
                "rule {} probe {} ({})",
                rule.full_id(),
                call.label,
                call.line(*i)
            );
            if base == &format!("errno:{}", libc::ENOSYS) {
                if KERNEL_LACKS.iter().any(|(n, _)| *n == rule.syscall) {
                    lacks_seen.insert(rule.syscall.clone());
                } else {
                    failures.push(format!(
                        "{what}: unfiltered ENOSYS — this kernel lacks {}; list it in \
                         KERNEL_LACKS with the reason",
                        rule.syscall
                    ));
                }
            }
            if cond.is_some() {
                perturbations += 1;
            }
            seen_unfiltered.insert(base.clone());
            for (k, cfg) in CONFIGS.iter().enumerate() {
                let got = &filtered[cfg.name][*i];
                let (want, hits) = model.verdict(*cfg, native_arch(), call.nr, &call.model_args());
                match want.blocked_outcome() {
                    Some(blocked) => {
                        blocked_checks += 1;
                        tally[k].0 += 1;
                        if got != &blocked {
                            failures.push(format!(
                                "{what} [{}]: expected {} ({want:?}), got {}",
                                cfg.name,
                                pretty(&blocked),
                                pretty(got)
                            ));
                        }
                        if base == &blocked && !root && blocked == eperm {
                            // The kernel's own capability check answered first.
                            needs_root.insert(rule.id());
                        } else if base == &blocked {
                            failures.push(format!(
                                "{what}: the unfiltered call also gives {} — the probe does not \
                                 show the filter acting; choose arguments that reach the kernel",
                                pretty(base)
                            ));
                        }
                        if hits.iter().any(|h| std::ptr::eq(*h, *rule))
                            && want == action
                            && got == &blocked
                            && base != &blocked
                        {
                            rule_blocked_in_kernel = true;
                        }
                    }
                    None => {
                        passed_checks += 1;
                        tally[k].1 += 1;
                        if got != base {
                            failures.push(format!(
                                "{what} [{}]: the filter should let it through, but filtered {} \
                                 != unfiltered {}",
                                cfg.name,
                                pretty(got),
                                pretty(base)
                            ));
                        }
                    }
                }
            }
        }
        let tallies: Vec<String> = CONFIGS
            .iter()
            .zip(&tally)
            .map(|(c, t)| format!("{} {}/{}", c.name, t.0, t.1))
            .collect();
        summary.push(format!(
            "{:<52} {:>2} probes, blocked/passed {}, unfiltered {:?} ({})",
            rule.full_id(),
            mine.len(),
            tallies.join(" "),
            seen_unfiltered,
            probe_of(&rule.syscall).unwrap().unfiltered
        ));
        if !rule_blocked_in_kernel && !needs_root.contains(&rule.id()) {
            failures.push(format!(
                "rule {}: no probe showed its action ({action:?}) in the kernel",
                rule.full_id()
            ));
        }
    }
    let n_rules = per_rule.len();
    println!(
        "seccomp rules: {n_rules} rules, {} distinct probes ({perturbations} argument \
         perturbations), {blocked_checks} blocked + {passed_checks} passed-through checks over \
         {} filter sets, plus the unfiltered baseline",
        calls.len(),
        CONFIGS.len()
    );
    println!("not implemented by this kernel (filter verdict still distinguishable):");
    for (name, why) in KERNEL_LACKS {
        let seen = if lacks_seen.contains(*name) {
            "ENOSYS unfiltered here"
        } else {
            "implemented here"
        };
        println!("  {name:<18} {why} — {seen}");
    }
    println!("per rule: probes, blocked/passed under each filter set, unfiltered outcomes seen:");
    for line in &summary {
        println!("  {line}");
    }
    if !needs_root.is_empty() {
        require(
            false,
            &format!(
                "root: unprivileged, the kernel itself answers EPERM to {needs_root:?}, so these \
                 rules cannot be shown acting"
            ),
        );
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn needed_syscalls_and_a_shell_behave_as_without_the_filter() {
    if !require(
        seccomp_available(),
        "seccomp filters (errno, kill_process actions)",
    ) {
        return;
    }
    let model = Model::load();
    let calls: Vec<Call> = NEEDED
        .iter()
        .map(|(name, nr, args, _)| Call {
            label: (*name).into(),
            nr: *nr,
            args: *args,
        })
        .collect();
    let base = run_batch("none", &calls);
    for (i, (name, _, _, want)) in NEEDED.iter().enumerate() {
        assert_eq!(base[i], *want, "unfiltered {name}: {}", pretty(&base[i]));
    }
    for cfg in CONFIGS {
        let got = run_batch(cfg.name, &calls);
        for (i, c) in calls.iter().enumerate() {
            if !cfg.unix_sockets && c.label == "socket(AF_UNIX)" {
                // The one needed call this set denies on purpose (a run without a view on
                // Landlock < 9 must not reach host daemons; socketpair stays allowed).
                assert_eq!(got[i], "errno:1", "{}: {}", cfg.name, pretty(&got[i]));
                continue;
            }
            assert_eq!(
                model.verdict(cfg, native_arch(), c.nr, &c.model_args()).0,
                Action::Allow,
                "{}: the JSON denies needed syscall {}",
                cfg.name,
                c.label
            );
            assert_eq!(
                got[i], base[i],
                "{}: {} changed by the filter",
                cfg.name, c.label
            );
        }
        // A shell: command substitution, a pipeline, a subshell, fork/exec of external tools
        // (glibc falls back from clone3 to clone), redirections.
        let script = "x=$(echo hi); echo \"$x\" | cat; (exit 3); echo sub=$?; \
                      ls / >/dev/null && echo done";
        for which in ["none", cfg.name] {
            let out = Command::new(helper())
                .args(["seccomp-exec", which, "/bin/sh", "-c", script])
                .stdin(Stdio::null())
                .output()
                .unwrap();
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                "hi\nsub=3\ndone\n",
                "{which}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(out.status.success(), "{which}: {:?}", out.status);
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[test]
fn wrong_abi_calls_are_refused_in_the_kernel() {
    if !require(
        seccomp_available(),
        "seccomp filters (errno, kill_process actions)",
    ) {
        return;
    }
    // i386 getpid (20) through `int 0x80` (seccomp sees AUDIT_ARCH_I386, so no x86_64 rule
    // applies: the architecture check must kill), and x32 getpid (39 | 0x40000000).
    let input = format!(
        "0 i386:20\n1 {}\n",
        X32_SYSCALL_BIT as i64 | libc::SYS_getpid
    );
    let base = run_lines("none", &input, 2);
    // CONFIG_IA32_EMULATION=y here (ok); a kernel without it kills with SIGSEGV. No x32 ABI here
    // (ENOSYS); on an x32 kernel getpid succeeds.
    assert!(
        base[0] == "ok" || base[0] == format!("signal:{}", libc::SIGSEGV),
        "unfiltered i386 getpid: {}",
        base[0]
    );
    assert!(
        base[1] == "ok" || base[1] == format!("errno:{}", libc::ENOSYS),
        "unfiltered x32 getpid: {}",
        base[1]
    );
    for cfg in CONFIGS {
        let got = run_lines(cfg.name, &input, 2);
        assert_eq!(
            got[0],
            format!("signal:{}", libc::SIGSYS),
            "{}: i386 getpid",
            cfg.name
        );
        assert_eq!(
            got[1],
            format!("errno:{}", libc::EPERM),
            "{}: x32 getpid",
            cfg.name
        );
    }
}

#[test]
fn attack_pidfd_getfd_of_sibling_works_unfiltered_and_is_refused_filtered() {
    if !require(
        seccomp_available(),
        "seccomp filters (errno, kill_process actions)",
    ) {
        return;
    }
    // The attack behind the standard/pidfd_getfd rule: copying a file descriptor out of another
    // process (the same permission check as ptrace attach, which standard.json already denies).
    let run = |which: &str| {
        let h = helper();
        let out = Command::new(&h)
            .args([
                "seccomp-exec",
                which,
                h.to_str().unwrap(),
                "pidfd-getfd-sibling",
            ])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "{which}: {out:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(
        run("none"),
        "ok",
        "baseline control: the fd copy works unfiltered"
    );
    for cfg in CONFIGS {
        assert_eq!(run(cfg.name), "errno:EPERM", "{}", cfg.name);
    }
}

#[test]
fn dword_compares_read_what_the_kernel_reads() {
    if !require(
        seccomp_available(),
        "seccomp filters (errno, kill_process actions)",
    ) {
        return;
    }
    // The clone and socket rules compare only the low 32 bits. That is safe only if the kernel
    // ignores the upper half too; a probe whose outcome depends on it shows that it does:
    // CLONE_NEWUSER|CLONE_FS is EINVAL, so CLONE_FS|(CLONE_NEWUSER << 32) succeeding means the
    // kernel did not see CLONE_NEWUSER; socket(AF_INET << 32 | AF_UNIX) is an AF_UNIX socket.
    let fs = libc::CLONE_FS as u64;
    let cases = [
        (
            libc::SYS_clone,
            SIGCHLD | fs | NEWUSER,
            "errno:22",
            Some("errno:1"),
        ),
        (libc::SYS_clone, SIGCHLD | fs | (NEWUSER << 32), "ok", None),
        (libc::SYS_socket, (2 << 32) | 1, "ok", None),
        (libc::SYS_socket, (1 << 32) | 2, "ok", Some("errno:1")),
    ];
    let input: String = cases
        .iter()
        .enumerate()
        .map(|(i, (nr, a0, _, _))| {
            // clone: a null stack (fork-like); socket: SOCK_STREAM.
            let a1 = u64::from(*nr == libc::SYS_socket);
            format!("{i} {nr} {a0:#x} {a1} 0 0 0 0\n")
        })
        .collect();
    let base = run_lines("none", &input, cases.len());
    let nonet = run_lines("nonet", &input, cases.len());
    for (i, (nr, a0, want_base, want_nonet)) in cases.iter().enumerate() {
        assert_eq!(base[i], *want_base, "unfiltered nr {nr} arg0 {a0:#x}");
        let want = want_nonet.unwrap_or(want_base);
        assert_eq!(nonet[i], want, "nonet nr {nr} arg0 {a0:#x}");
    }
}
