//! The child half of the view: [`ChildView`] is compiled from a plan in the parent (every path
//! as a C string, every mount as an operation) and applied in the forked child before
//! capabilities are dropped, with raw syscalls only and nothing allocated; [`spawn_in_view`]
//! spawns a process in a view (probes, benches).

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::sandbox::cgroup::errno;

use super::plan::*;

pub(crate) const OPEN_TREE_CLONE: libc::c_uint = 1;
pub(crate) const AT_RECURSIVE: libc::c_uint = 0x8000;
pub(crate) const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
pub(crate) const MOUNT_ATTR_RDONLY: u64 = 0x1;
pub(crate) const MOUNT_ATTR_NOSUID: u64 = 0x2;
pub(crate) const MOUNT_ATTR_NODEV: u64 = 0x4;

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// The identity maps written for an unprivileged node (its own uid/gid mapped to themselves).
#[derive(Debug, Clone)]
pub struct UsernsMaps {
    uid_map: Vec<u8>,
    gid_map: Vec<u8>,
}

/// One operation of the child, for error messages (`VIEW_ERROR` carries its index).
#[derive(Debug, Clone)]
enum Op {
    /// `open_tree(OPEN_TREE_CLONE | AT_RECURSIVE)` of a host path into capture slot `slot`.
    Capture { path: CString },
    /// Attach capture `slot` at its own path with these attributes.
    Attach {
        slot: usize,
        path: CString,
        attrs: u64,
    },
    /// An empty read-only tmpfs; `expose`: mkdir `sub` in it and attach capture `slot` there.
    MaskDir {
        path: CString,
        expose: Option<(usize, CString)>,
    },
    /// `/dev/null` over a file, without device access.
    MaskFile { path: CString },
    /// A fresh read-only tmpfs on `/dev` holding only [`MIN_DEVICES`] (captures bound back), a
    /// private `devpts`, an empty `shm`, and the `fd`/`stdin`/`stdout`/`stderr`/`ptmx` links.
    MinimalDev { devices: Vec<(usize, CString)> },
}

/// The device files a confined run sees: no disks, no `/dev/kvm`, `/dev/userfaultfd`, VTs, …
pub const MIN_DEVICES: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
    "/dev/tty",
];

/// The links of the minimal /dev: `(target, link)`.
const DEV_LINKS: &[(&std::ffi::CStr, &std::ffi::CStr)] = &[
    (c"/proc/self/fd", c"/dev/fd"),
    (c"/proc/self/fd/0", c"/dev/stdin"),
    (c"/proc/self/fd/1", c"/dev/stdout"),
    (c"/proc/self/fd/2", c"/dev/stderr"),
    (c"pts/ptmx", c"/dev/ptmx"),
];

/// Build the minimal /dev (see [`Op::MinimalDev`]).
///
/// # Safety
/// As [`ChildView::apply`]; `fds` holds the captured device clones.
unsafe fn minimal_dev(devices: &[(usize, CString)], fds: &[libc::c_int]) -> Result<(), ()> {
    // SAFETY: mount(2) of a new tmpfs on /dev with static strings.
    if unsafe {
        libc::mount(
            c"tmpfs".as_ptr(),
            c"/dev".as_ptr(),
            c"tmpfs".as_ptr(),
            libc::MS_NOSUID | libc::MS_NOEXEC,
            c"mode=0755,size=64k".as_ptr().cast(),
        )
    } < 0
    {
        return Err(());
    }
    for (slot, path) in devices {
        // SAFETY: create an empty mount point in our own tmpfs, then attach the device clone.
        let fd = unsafe {
            libc::open(
                path.as_ptr(),
                libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC,
                0o666 as libc::c_uint,
            )
        };
        if fd < 0 {
            return Err(());
        }
        // SAFETY: close(2) of our own fd.
        unsafe { libc::close(fd) };
        let clone = fds[*slot];
        // SAFETY: attach the detached device clone at the NUL-terminated path.
        if unsafe { attach(clone, path.as_ptr(), MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID) } < 0 {
            return Err(());
        }
        // SAFETY: close(2) of our own fd.
        unsafe { libc::close(clone) };
    }
    // SAFETY: mkdir(2)/mount(2) with static strings. A private devpts is best effort (a
    // headless run rarely needs a pty); its failure leaves /dev/pts empty.
    unsafe {
        if libc::mkdir(c"/dev/pts".as_ptr(), 0o755) < 0
            || libc::mkdir(c"/dev/shm".as_ptr(), 0o1777) < 0
        {
            return Err(());
        }
        libc::mount(
            c"devpts".as_ptr(),
            c"/dev/pts".as_ptr(),
            c"devpts".as_ptr(),
            libc::MS_NOSUID | libc::MS_NOEXEC,
            c"newinstance,ptmxmode=0666,mode=0620".as_ptr().cast(),
        );
        if libc::mount(
            c"tmpfs".as_ptr(),
            c"/dev/shm".as_ptr(),
            c"tmpfs".as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            c"mode=1777,size=64m".as_ptr().cast(),
        ) < 0
        {
            return Err(());
        }
    }
    for (target, link) in DEV_LINKS {
        // SAFETY: symlink(2) with static NUL-terminated strings, inside our tmpfs.
        if unsafe { libc::symlink(target.as_ptr(), link.as_ptr()) } < 0 {
            return Err(());
        }
    }
    // SAFETY: mount_setattr on our /dev tmpfs (not recursive: pts and shm keep their flags).
    if unsafe { setattr(libc::AT_FDCWD, c"/dev".as_ptr(), 0, MOUNT_ATTR_RDONLY) } < 0 {
        return Err(());
    }
    Ok(())
}

/// What the child does, prepared in the parent. See [`ChildView::apply`].
#[derive(Debug, Clone)]
pub struct ChildView {
    userns: Option<UsernsMaps>,
    /// Captures first (in order), then the read-only root, then attaches and masks.
    ops: Vec<Op>,
    captures: usize,
    cwd: CString,
    /// Paths for the error messages, by op index.
    names: Vec<String>,
}

fn cpath(p: &Path) -> Result<CString, String> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| format!("{} contains a NUL byte", p.display()))
}

impl ChildView {
    /// Compile a plan for the child. `userns`: the node is not root (map its ids).
    pub fn compile(plan: &ViewPlan, cwd: &Path, userns: bool) -> Result<Self, String> {
        let mut ops = Vec::new();
        let mut names = Vec::new();
        let mut push = |op: Op, name: String, ops: &mut Vec<Op>| {
            ops.push(op);
            names.push(name);
        };
        // Slots 0..: the devices of the minimal /dev (bound back with device access).
        let mut devices = Vec::new();
        for (i, d) in MIN_DEVICES
            .iter()
            .filter(|d| Path::new(d).exists())
            .enumerate()
        {
            let p = Path::new(d);
            push(Op::Capture { path: cpath(p)? }, (*d).to_string(), &mut ops);
            devices.push((i, cpath(p)?));
        }
        let mut slots = devices.len();
        let mut bind_slots = Vec::new();
        for (p, _) in &plan.binds {
            push(
                Op::Capture { path: cpath(p)? },
                p.display().to_string(),
                &mut ops,
            );
            bind_slots.push(slots);
            slots += 1;
        }
        let mut expose_slots = Vec::new();
        for (d, sub) in &plan.mask_dirs {
            if let Some(s) = sub {
                let p = d.join(s);
                push(
                    Op::Capture { path: cpath(&p)? },
                    p.display().to_string(),
                    &mut ops,
                );
                expose_slots.push(Some(slots));
                slots += 1;
            } else {
                expose_slots.push(None);
            }
        }
        let captures = slots;
        push(Op::MinimalDev { devices }, "/dev".into(), &mut ops);
        for ((p, ro), slot) in plan.binds.iter().zip(bind_slots) {
            let attrs = if *ro {
                MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV
            } else {
                MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV
            };
            push(
                Op::Attach {
                    slot,
                    path: cpath(p)?,
                    attrs,
                },
                p.display().to_string(),
                &mut ops,
            );
        }
        for ((d, sub), slot) in plan.mask_dirs.iter().zip(expose_slots) {
            let expose = match (sub, slot) {
                (Some(s), Some(slot)) => Some((slot, cpath(&d.join(s))?)),
                _ => None,
            };
            push(
                Op::MaskDir {
                    path: cpath(d)?,
                    expose,
                },
                d.display().to_string(),
                &mut ops,
            );
        }
        for f in &plan.mask_files {
            push(
                Op::MaskFile { path: cpath(f)? },
                f.display().to_string(),
                &mut ops,
            );
        }
        if captures > MAX_VIEW_MOUNTS + 8 {
            return Err(format!("the run's view needs {captures} mounts"));
        }
        let userns = userns.then(|| {
            // SAFETY: getuid(2)/getgid(2) have no arguments.
            let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
            UsernsMaps {
                uid_map: format!("{uid} {uid} 1\n").into_bytes(),
                gid_map: format!("{gid} {gid} 1\n").into_bytes(),
            }
        });
        Ok(Self {
            userns,
            ops,
            captures,
            cwd: cpath(cwd)?,
            names,
        })
    }

    /// The path an encoded view error refers to.
    pub fn describe_error(&self, code: i32) -> Option<String> {
        if code & VIEW_ERROR == 0 {
            return None;
        }
        let op = usize::try_from((code & !VIEW_ERROR) >> 12).unwrap_or(usize::MAX);
        let err = std::io::Error::from_raw_os_error(code & 0xfff);
        let step = match op {
            0 => "creating the private namespaces".to_string(),
            1 => "writing the user namespace's id maps".to_string(),
            2 => "making the mount tree private".to_string(),
            3 => "making the root read-only".to_string(),
            4 => "entering the working directory".to_string(),
            n => match (self.ops.get(n - 5), self.names.get(n - 5)) {
                (Some(Op::Capture { .. }), Some(p)) => format!("cloning {p}"),
                (Some(Op::Attach { .. }), Some(p)) => format!("binding {p}"),
                (Some(Op::MaskDir { .. } | Op::MaskFile { .. }), Some(p)) => format!("masking {p}"),
                (Some(Op::MinimalDev { .. }), _) => "building the minimal /dev".to_string(),
                _ => format!("step {n}"),
            },
        };
        Some(format!(
            "cannot build the run's filesystem view ({step}: {err})"
        ))
    }

    /// Build the view in the calling process.
    ///
    /// # Safety
    /// Only in a freshly forked/cloned single-threaded child before `execve`: it changes the
    /// process' namespaces irreversibly. Performs raw syscalls only and never allocates.
    pub unsafe fn apply(&self) -> Result<(), i32> {
        // Ops are numbered from 0 to a few hundred; an out-of-range number reads as "step ?".
        let fail = |op: usize| {
            VIEW_ERROR | (i32::try_from(op).unwrap_or(0x3_ffff) << 12) | (errno() & 0xfff)
        };
        // A private IPC namespace too: SysV shared memory, semaphores and message queues of one
        // run are neither visible to the next nor left behind by the tree kill.
        let mut flags = libc::CLONE_NEWNS | libc::CLONE_NEWIPC;
        if self.userns.is_some() {
            flags |= libc::CLONE_NEWUSER;
        }
        // SAFETY: unshare(2) with integer flags; we are single-threaded (required for NEWUSER).
        if unsafe { libc::unshare(flags) } < 0 {
            return Err(fail(0));
        }
        if let Some(maps) = &self.userns {
            // SAFETY: NUL-terminated static paths and parent-built buffers.
            unsafe {
                if write_file(c"/proc/self/setgroups", b"deny").is_err()
                    || write_file(c"/proc/self/uid_map", &maps.uid_map).is_err()
                    || write_file(c"/proc/self/gid_map", &maps.gid_map).is_err()
                {
                    return Err(fail(1));
                }
            }
        }
        // SAFETY: mount(2) with a static path and NULL source/type/data: changes propagation only.
        if unsafe {
            libc::mount(
                std::ptr::null(),
                c"/".as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_SLAVE,
                std::ptr::null(),
            )
        } < 0
        {
            return Err(fail(2));
        }
        let mut fds = [-1 as libc::c_int; MAX_VIEW_MOUNTS + 8];
        let mut next_slot = 0;
        let mut root_done = false;
        for (i, op) in self.ops.iter().enumerate() {
            let op_code = i + 5;
            if !matches!(op, Op::Capture { .. }) && !root_done {
                // SAFETY: mount_setattr on "/" with a stack-allocated attr.
                if unsafe {
                    setattr(
                        libc::AT_FDCWD,
                        c"/".as_ptr(),
                        AT_RECURSIVE,
                        MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
                    )
                } < 0
                {
                    return Err(fail(3));
                }
                root_done = true;
            }
            match op {
                Op::Capture { path } => {
                    // SAFETY: open_tree(2) with a NUL-terminated path built by the parent.
                    let fd = unsafe {
                        libc::syscall(
                            libc::SYS_open_tree,
                            libc::AT_FDCWD,
                            path.as_ptr(),
                            OPEN_TREE_CLONE
                                | libc::O_CLOEXEC as libc::c_uint
                                | AT_RECURSIVE
                                | libc::AT_SYMLINK_NOFOLLOW as libc::c_uint,
                        )
                    };
                    let Ok(fd) = libc::c_int::try_from(fd) else {
                        return Err(fail(op_code));
                    };
                    if fd < 0 || next_slot >= fds.len() {
                        return Err(fail(op_code));
                    }
                    fds[next_slot] = fd;
                    next_slot += 1;
                }
                Op::Attach { slot, path, attrs } => {
                    let fd = fds[*slot];
                    // SAFETY: attach the detached clone `fd` at `path` (NUL-terminated).
                    if unsafe { attach(fd, path.as_ptr(), *attrs) } < 0 {
                        return Err(fail(op_code));
                    }
                    // SAFETY: close(2) of our own fd.
                    unsafe { libc::close(fd) };
                }
                Op::MaskDir { path, expose } => {
                    // SAFETY: mount(2) of a new tmpfs on a NUL-terminated path; static strings.
                    let rc = unsafe {
                        libc::mount(
                            c"tmpfs".as_ptr(),
                            path.as_ptr(),
                            c"tmpfs".as_ptr(),
                            libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                            c"mode=0555,size=16k".as_ptr().cast(),
                        )
                    };
                    if rc < 0 {
                        return Err(fail(op_code));
                    }
                    if let Some((slot, sub)) = expose {
                        let fd = fds[*slot];
                        // SAFETY: mkdir(2) inside our own tmpfs (NUL-terminated path).
                        if unsafe { libc::mkdir(sub.as_ptr(), 0o555) } < 0 {
                            return Err(fail(op_code));
                        }
                        let ro = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
                        // SAFETY: attach the detached clone `fd` at the NUL-terminated `sub`.
                        if unsafe { attach(fd, sub.as_ptr(), ro) } < 0 {
                            return Err(fail(op_code));
                        }
                        // SAFETY: close(2) of our own fd.
                        unsafe { libc::close(fd) };
                    }
                    // SAFETY: mount_setattr on the tmpfs just mounted (not recursive).
                    if unsafe { setattr(libc::AT_FDCWD, path.as_ptr(), 0, MOUNT_ATTR_RDONLY) } < 0 {
                        return Err(fail(op_code));
                    }
                }
                Op::MinimalDev { devices } => {
                    // SAFETY: as this function's contract; `fds` holds the device clones.
                    if unsafe { minimal_dev(devices, &fds) }.is_err() {
                        return Err(fail(op_code));
                    }
                }
                Op::MaskFile { path } => {
                    // SAFETY: open_tree(2) of the static /dev/null path.
                    let fd = unsafe {
                        libc::syscall(
                            libc::SYS_open_tree,
                            libc::AT_FDCWD,
                            c"/dev/null".as_ptr(),
                            OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint,
                        )
                    };
                    let Ok(fd) = libc::c_int::try_from(fd) else {
                        return Err(fail(op_code));
                    };
                    if fd < 0 {
                        return Err(fail(op_code));
                    }
                    // SAFETY: attach the /dev/null clone over the NUL-terminated path.
                    let rc = unsafe {
                        attach(
                            fd,
                            path.as_ptr(),
                            MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
                        )
                    };
                    // SAFETY: close(2) of our own fd.
                    unsafe { libc::close(fd) };
                    if rc < 0 {
                        return Err(fail(op_code));
                    }
                }
            }
        }
        debug_assert!(next_slot == self.captures);
        // SAFETY: chdir(2) with the NUL-terminated cwd: re-enter it through the new mounts.
        if unsafe { libc::chdir(self.cwd.as_ptr()) } < 0 {
            return Err(fail(4));
        }
        Ok(())
    }
}

/// Run `program` (no arguments, stdio to `/dev/null`) in a forked child that first builds
/// `view`: the probe behind `sandbox check`, and the benchmark of the view's own cost.
pub fn spawn_in_view(
    view: &std::sync::Arc<ChildView>,
    program: &Path,
) -> std::io::Result<std::process::ExitStatus> {
    use std::os::unix::process::CommandExt;
    let in_child = view.clone();
    let mut cmd = std::process::Command::new(program);
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let hook = move || {
        // SAFETY: `pre_exec` runs this in the forked child before exec, as `apply` requires.
        unsafe { in_child.apply() }.map_err(std::io::Error::from_raw_os_error)
    };
    // SAFETY: the hook only calls `ChildView::apply`, which performs raw syscalls on data
    // prepared in the parent and never allocates.
    unsafe {
        cmd.pre_exec(hook);
    }
    cmd.status()
}

/// `mount_setattr(dfd, path, flags, {attr_set})`.
///
/// # Safety
/// `path` must be NUL-terminated.
pub(crate) unsafe fn setattr(
    dfd: libc::c_int,
    path: *const libc::c_char,
    flags: libc::c_uint,
    set: u64,
) -> i64 {
    let attr = MountAttr {
        attr_set: set,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: mount_setattr(2) reads the stack-allocated attr of the given size.
    unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            dfd,
            path,
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    }
}

/// Set `attrs` on the detached tree `fd` (recursively), then attach it at `path`.
///
/// # Safety
/// `path` must be NUL-terminated; `fd` a detached mount from `open_tree(OPEN_TREE_CLONE)`.
pub(crate) unsafe fn attach(fd: libc::c_int, path: *const libc::c_char, attrs: u64) -> i64 {
    // SAFETY: AT_EMPTY_PATH on the fd; the empty string is a static NUL-terminated literal.
    let rc = unsafe {
        setattr(
            fd,
            c"".as_ptr(),
            libc::AT_EMPTY_PATH as libc::c_uint | AT_RECURSIVE,
            attrs,
        )
    };
    if rc < 0 {
        return rc;
    }
    // SAFETY: move_mount(2) from the fd (empty path) to the NUL-terminated target.
    unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            fd,
            c"".as_ptr(),
            libc::AT_FDCWD,
            path,
            MOVE_MOUNT_F_EMPTY_PATH,
        )
    }
}

/// Write `data` to `path` with raw syscalls (open, write, close).
///
/// # Safety
/// `path` must be NUL-terminated.
unsafe fn write_file(path: &std::ffi::CStr, data: &[u8]) -> Result<(), ()> {
    // SAFETY: open(2) of a NUL-terminated path.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(());
    }
    // SAFETY: write(2) of the caller's buffer, then close(2) of our fd.
    let n = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
    // SAFETY: close(2) of our own fd.
    unsafe { libc::close(fd) };
    if usize::try_from(n).is_ok_and(|n| n == data.len()) {
        Ok(())
    } else {
        Err(())
    }
}
