//! The per-run Landlock ruleset, built entirely in the parent (paths opened `O_PATH` there); the
//! child only calls `landlock_restrict_self` on the resulting fd. Access sets follow the best ABI
//! both the kernel and the crate know ([`best_abi`]: ABI 3 is the floor a confining profile
//! needs, each newer one adds rights — `ioctl` on devices from 5, connecting to pathname UNIX
//! sockets from 9), and the ruleset is created with `CompatLevel::HardRequirement` for exactly
//! those rights, so a kernel that cannot enforce one makes the build fail instead of silently
//! weakening it. [`handled_rights`] names them for `sandbox check`.
//! Paths that cannot be opened are errors naming the path (the crate's `path_beneath_rules`
//! would skip them).

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use landlock::{
    ABI, Access, AccessFs, AccessNet, CompatLevel, Compatible, PathBeneath, PathFd, Ruleset,
    RulesetAttr, RulesetCreatedAttr, Scope,
};

use super::profile::{Profile, READABLE_DEVICES, STRICT_READ_DIRS, WRITABLE_DEVICES};

/// Probe the Landlock ABI version of the running kernel (`None`: not supported or disabled).
pub fn probe_abi() -> Result<i32, String> {
    const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;
    // SAFETY: landlock_create_ruleset with a NULL attr, size 0 and the VERSION flag only returns
    // the ABI version (or an error); it reads no memory and creates no fd.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    if rc < 0 {
        let err = std::io::Error::last_os_error();
        return Err(match err.raw_os_error() {
            Some(libc::ENOSYS) => "Landlock is not built into this kernel (ENOSYS)".into(),
            Some(libc::EOPNOTSUPP) => {
                "Landlock is built in but disabled (add `landlock` to the `lsm=` boot parameter)"
                    .into()
            }
            _ => format!("Landlock probe failed: {err}"),
        });
    }
    i32::try_from(rc).map_err(|_| format!("Landlock probe returned {rc}"))
}

/// The newest ABI this build knows (the crate's newest).
pub const NEWEST_KNOWN_ABI: i32 = 10;

/// The ABI the ruleset is built for: the kernel's, capped at the newest this build knows.
pub fn best_abi(kernel_abi: i32) -> ABI {
    match kernel_abi {
        i32::MIN..=0 => ABI::Unsupported,
        1 => ABI::V1,
        2 => ABI::V2,
        3 => ABI::V3,
        4 => ABI::V4,
        5 => ABI::V5,
        6 => ABI::V6,
        7 => ABI::V7,
        8 => ABI::V8,
        9 => ABI::V9,
        _ => ABI::V10,
    }
}

/// What a ruleset built for `kernel_abi` mediates, in words (`sandbox check`).
pub fn handled_rights(kernel_abi: i32) -> Vec<&'static str> {
    let mut out = vec!["filesystem read/write/execute/make/remove"];
    if kernel_abi >= 2 {
        out.push("cross-directory rename and link (refer)");
    }
    if kernel_abi >= 3 {
        out.push("truncate");
    }
    if kernel_abi >= 4 {
        out.push("TCP bind and connect (strict)");
    }
    if kernel_abi >= 5 {
        out.push("ioctl on devices");
    }
    if kernel_abi >= 6 {
        out.push("signals and abstract UNIX sockets scoped to the run");
    }
    if kernel_abi >= 9 {
        out.push("connect to pathname UNIX sockets");
    }
    out
}

/// What one run's ruleset grants.
#[derive(Debug, Clone)]
pub struct RulesetSpec<'a> {
    pub profile: Profile,
    pub abi: i32,
    pub network: bool,
    pub cwd: &'a Path,
    pub tmp: &'a Path,
    pub writable_roots: &'a [PathBuf],
    pub readable_roots: &'a [PathBuf],
    /// Without a filesystem view: write only here (the view plan's bound-back entries, which
    /// leave out everything protected) instead of the cwd and writable roots.
    pub write_only: Option<&'a [PathBuf]>,
}

fn err(context: &str, e: impl std::fmt::Display) -> String {
    format!("Landlock: {context}: {e}")
}

fn path_fd(path: &Path) -> Result<PathFd, String> {
    PathFd::new(path).map_err(|e| err(&format!("cannot open {}", path.display()), e))
}

/// Build the ruleset and return its fd (to be passed to `landlock_restrict_self` in the child).
pub fn build_ruleset(spec: &RulesetSpec<'_>) -> Result<OwnedFd, String> {
    let best = best_abi(spec.abi);
    let read = AccessFs::from_read(best);
    let all = AccessFs::from_all(best);
    let file_rw = AccessFs::from_file(best) & !AccessFs::Execute;

    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(all)
        .map_err(|e| err("filesystem rights", e))?;
    if !spec.network && spec.abi >= 4 {
        ruleset = ruleset
            .handle_access(AccessNet::from_all(ABI::V4))
            .map_err(|e| err("TCP rights", e))?;
    }
    if spec.abi >= 6 {
        ruleset = ruleset
            .scope(Scope::Signal)
            .map_err(|e| err("signal scope", e))?;
        // Both confining profiles: a run connects only to abstract sockets made inside it.
        ruleset = ruleset
            .scope(Scope::AbstractUnixSocket)
            .map_err(|e| err("abstract UNIX socket scope", e))?;
    }
    let mut created = ruleset.create().map_err(|e| err("create ruleset", e))?;

    let mut add = |path: &Path, access| -> Result<(), String> {
        let fd = path_fd(path)?;
        (&mut created)
            .add_rule(PathBeneath::new(fd, access))
            .map_err(|e| err(&format!("rule for {}", path.display()), e))?;
        Ok(())
    };

    match spec.profile {
        Profile::Strict => {
            for dir in STRICT_READ_DIRS {
                let p = Path::new(dir);
                // System directories that do not exist on this distribution are simply absent.
                if p.exists() {
                    add(p, read)?;
                }
            }
            for root in spec.readable_roots {
                add(root, read)?;
            }
            // In the view, /dev is a fresh tmpfs: the devices read through their own inodes.
            for dev in READABLE_DEVICES {
                let p = Path::new(dev);
                if p.exists() {
                    add(p, AccessFs::ReadFile.into())?;
                }
            }
        }
        _ => add(Path::new("/"), read)?,
    }
    match spec.write_only {
        Some(paths) => {
            if spec.profile == Profile::Strict {
                add(spec.cwd, read)?;
            }
            for p in paths {
                let access = if p.is_dir() {
                    all
                } else {
                    file_rw | AccessFs::Execute
                };
                add(p, access)?;
            }
        }
        None => {
            add(spec.cwd, all)?;
            add(spec.tmp, all)?;
            for root in spec.writable_roots {
                add(root, all)?;
            }
        }
    }
    for dev in WRITABLE_DEVICES {
        let p = Path::new(dev);
        if p.exists() {
            add(p, file_rw)?;
        }
    }
    let fd: Option<OwnedFd> = created.into();
    fd.ok_or_else(|| "Landlock: the kernel returned no ruleset (not enforced)".to_string())
}
