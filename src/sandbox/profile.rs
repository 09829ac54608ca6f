//! The three launcher profiles and what each one enforces.
//!
//! | profile    | hygiene¹ | filesystem view² | no_new_privs + caps dropped | Landlock fs                     | seccomp                  | network          |
//! |------------|----------|------------------|-----------------------------|---------------------------------|--------------------------|------------------|
//! | `standard` | yes      | yes              | yes                         | read/exec everywhere; write cwd, private TMPDIR, writableRoots | deny-list (`policies/seccomp/standard.json`) | allowed (config) |
//! | `strict`   | yes      | yes, + `/etc/shadow`, `/etc/gshadow`, `/etc/ssl/private`, SSH host keys masked | yes | read system dirs + cwd + roots; same writes | deny-list + no-network | AF_UNIX only    |
//! | `off`      | yes      | no               | no                          | none                            | none                     | allowed          |
//!
//! ¹ new session/process group, stdin `/dev/null`, only fds 0–2, `RLIMIT_CORE` 0, configured
//! rlimits, per-run cgroup (tree kill, pids bound).
//! ² [`super::view`]: private mount namespace, read-only root, writable roots bound back, the
//! node's own state protected and its secrets masked.

use serde::Serialize;

/// A launcher profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    Standard,
    Strict,
    Off,
}

/// Minimum Landlock ABI the confining profiles need: V3 adds `Truncate`, without which a file
/// outside the writable roots could still be truncated.
pub const REQUIRED_LANDLOCK_ABI: i32 = 3;

/// Directories readable under `strict` (besides the cwd, TMPDIR and configured roots).
pub const STRICT_READ_DIRS: &[&str] = &[
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt", "/dev",
    "/proc", "/sys",
];

/// Device files `strict` may read besides the writable ones (the view's /dev is a fresh tmpfs,
/// so the `/dev` directory rule does not reach them).
pub const READABLE_DEVICES: &[&str] = &["/dev/random", "/dev/urandom", "/dev/tty"];

/// Device files every confining profile may write (`> /dev/null` is everywhere in scripts).
pub const WRITABLE_DEVICES: &[&str] = &["/dev/null", "/dev/zero", "/dev/full"];

impl Profile {
    /// All profiles, for `sandbox check`.
    pub const ALL: [Profile; 3] = [Profile::Standard, Profile::Strict, Profile::Off];

    /// Parse a config value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "standard" => Some(Self::Standard),
            "strict" => Some(Self::Strict),
            "off" => Some(Self::Off),
            _ => None,
        }
    }

    /// The config value.
    pub fn name(self) -> &'static str {
        match self {
            Self::Standard => "standard",
            Self::Strict => "strict",
            Self::Off => "off",
        }
    }

    /// Whether the profile confines (no_new_privs, caps, Landlock, seccomp).
    pub fn confines(self) -> bool {
        !matches!(self, Self::Off)
    }

    /// One-line description for `sandbox check`.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Standard => {
                "per-run filesystem view (read-only root; cwd, private TMPDIR and writableRoots \
                 bound back; the node's state, service files, binary, PATH and $HOME start-up \
                 files read-only; its secrets and the host's UNIX sockets masked; own IPC namespace), \
                 abstract-socket scope, no_new_privs, all capabilities dropped, \
                 Landlock: read/execute everywhere, write only cwd + private TMPDIR + \
                 writableRoots; seccomp deny-list (ptrace, \
                 process_vm_*, kexec, modules, mount, bpf, perf, keyring, userfaultfd, io_uring, \
                 namespaces, clone3→ENOSYS, personality, x32)"
            }
            Self::Strict => {
                "standard, plus: /etc/shadow, /etc/gshadow, /etc/ssl/private and SSH host keys \
                 masked, reads limited to system dirs + cwd + readableRoots, no network \
                 (only AF_UNIX sockets; Landlock TCP deny and abstract-socket scope when available)"
            }
            Self::Off => {
                "process hygiene only: own session/process group, stdin /dev/null, fds 0-2, \
                 rlimits, tree kill"
            }
        }
    }
}
