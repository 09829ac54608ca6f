//! Seccomp policies: the reviewed JSON files in `policies/seccomp/` (seccompiler's JSON schema:
//! `{name: {mismatch_action, match_action, filter: [{syscall, args?, comment?}]}}`, rules for one
//! syscall or-ed, conditions within a rule and-ed) embedded at build time and compiled to BPF once,
//! when the launcher is created. Syscall names are resolved against `libc::SYS_*` of the build
//! target; an unknown name is a hard error (a typo must never silently drop a rule), and so is a
//! filter name the launcher does not install (`deny_eperm`, `deny_enosys`).
//! Every rule is validated in the real kernel by `tests/sandbox/seccomp_rules.rs`.
//!
//! On x86_64 an extra hand-written guard refuses every x32-ABI syscall number
//! (`nr & 0x40000000`), which seccompiler's generated code does not check.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch, sock_filter,
};
use serde::Deserialize;

/// The standard deny-list (all confining profiles).
pub const STANDARD_JSON: &str = include_str!("../../policies/seccomp/standard.json");
/// The no-network additions (strict, or `network: false`).
pub const NO_NETWORK_JSON: &str = include_str!("../../policies/seccomp/no-network.json");
/// The no-UNIX-sockets addition (a confined run without a filesystem view on Landlock ABI < 9,
/// unless `sandbox.allowUnixSockets`).
pub const NO_UNIX_SOCKETS_JSON: &str = include_str!("../../policies/seccomp/no-unix-sockets.json");

/// x32 syscall numbers have this bit set.
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// Errors compiling a policy (these are bugs in reviewed data; tests compile every file).
#[derive(Debug, thiserror::Error)]
pub enum PolicyLoadError {
    #[error("seccomp policy {file} is not valid JSON for the seccompiler schema: {message}")]
    Parse { file: &'static str, message: String },
    #[error("seccomp policy {file}: unknown syscall {name:?} for this architecture")]
    UnknownSyscall { file: &'static str, name: String },
    #[error("seccomp policy {file}: {message}")]
    Compile { file: &'static str, message: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonFilter {
    mismatch_action: JsonAction,
    match_action: JsonAction,
    filter: Vec<JsonRule>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum JsonAction {
    Allow,
    Errno(u32),
    KillThread,
    KillProcess,
    Log,
    Trap,
}

impl From<JsonAction> for SeccompAction {
    fn from(a: JsonAction) -> Self {
        match a {
            JsonAction::Allow => SeccompAction::Allow,
            JsonAction::Errno(e) => SeccompAction::Errno(e),
            JsonAction::KillThread => SeccompAction::KillThread,
            JsonAction::KillProcess => SeccompAction::KillProcess,
            JsonAction::Log => SeccompAction::Log,
            JsonAction::Trap => SeccompAction::Trap,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonRule {
    syscall: String,
    #[serde(default)]
    args: Option<Vec<JsonCondition>>,
    #[serde(default)]
    #[expect(
        dead_code,
        reason = "reviewers read it in the JSON; the filter does not need it"
    )]
    comment: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonCondition {
    index: u8,
    #[serde(rename = "type")]
    arg_len: JsonArgLen,
    op: JsonOp,
    val: u64,
    #[serde(default)]
    #[expect(
        dead_code,
        reason = "reviewers read it in the JSON; the filter does not need it"
    )]
    comment: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum JsonArgLen {
    Dword,
    Qword,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum JsonOp {
    Eq,
    Ge,
    Gt,
    Le,
    Lt,
    MaskedEq(u64),
    Ne,
}

/// One named filter of a policy file, before compilation.
#[derive(Debug, Clone)]
pub struct FilterSpec {
    pub name: String,
    mismatch: JsonAction,
    matched: JsonAction,
    /// syscall number → or-ed rules; an empty vector matches unconditionally.
    rules: BTreeMap<i64, Vec<SeccompRule>>,
}

impl FilterSpec {
    /// Merge another filter with the same actions (rules or-ed per syscall).
    pub fn merge(&mut self, other: &FilterSpec) {
        for (nr, rules) in &other.rules {
            match self.rules.get_mut(nr) {
                None => {
                    self.rules.insert(*nr, rules.clone());
                }
                Some(mine) => {
                    if mine.is_empty() || rules.is_empty() {
                        mine.clear();
                    } else {
                        mine.extend(rules.iter().cloned());
                    }
                }
            }
        }
    }

    /// Compile to BPF for the build target.
    pub fn compile(&self, file: &'static str) -> Result<BpfProgram, PolicyLoadError> {
        let filter = SeccompFilter::new(
            self.rules.clone(),
            self.mismatch.into(),
            self.matched.into(),
            target_arch(),
        )
        .map_err(|e| PolicyLoadError::Compile {
            file,
            message: e.to_string(),
        })?;
        BpfProgram::try_from(filter).map_err(|e| PolicyLoadError::Compile {
            file,
            message: e.to_string(),
        })
    }
}

fn target_arch() -> TargetArch {
    #[cfg(target_arch = "aarch64")]
    {
        TargetArch::aarch64
    }
    #[cfg(target_arch = "riscv64")]
    {
        TargetArch::riscv64
    }
    #[cfg(not(any(target_arch = "aarch64", target_arch = "riscv64")))]
    {
        TargetArch::x86_64
    }
}

/// Parse a policy file into its named filters (sorted by name).
pub fn parse_policy(
    file: &'static str,
    text: &str,
) -> Result<BTreeMap<String, FilterSpec>, PolicyLoadError> {
    let raw: BTreeMap<String, JsonFilter> =
        serde_json::from_str(text).map_err(|e| PolicyLoadError::Parse {
            file,
            message: e.to_string(),
        })?;
    let mut out = BTreeMap::new();
    for (name, f) in raw {
        // syscall number → (unconditional?, or-ed conditional rules)
        let mut chains: BTreeMap<i64, (bool, Vec<SeccompRule>)> = BTreeMap::new();
        for r in f.filter {
            let nr = syscall_number(&r.syscall).ok_or_else(|| PolicyLoadError::UnknownSyscall {
                file,
                name: r.syscall.clone(),
            })?;
            let entry = chains.entry(nr).or_default();
            let Some(args) = r.args else {
                entry.0 = true;
                continue;
            };
            let compile_err = |e: seccompiler::BackendError| PolicyLoadError::Compile {
                file,
                message: format!("{}: {e}", r.syscall),
            };
            let conds = args
                .into_iter()
                .map(|c| {
                    SeccompCondition::new(
                        c.index,
                        match c.arg_len {
                            JsonArgLen::Dword => SeccompCmpArgLen::Dword,
                            JsonArgLen::Qword => SeccompCmpArgLen::Qword,
                        },
                        match c.op {
                            JsonOp::Eq => SeccompCmpOp::Eq,
                            JsonOp::Ge => SeccompCmpOp::Ge,
                            JsonOp::Gt => SeccompCmpOp::Gt,
                            JsonOp::Le => SeccompCmpOp::Le,
                            JsonOp::Lt => SeccompCmpOp::Lt,
                            JsonOp::MaskedEq(m) => SeccompCmpOp::MaskedEq(m),
                            JsonOp::Ne => SeccompCmpOp::Ne,
                        },
                        c.val,
                    )
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(compile_err)?;
            entry.1.push(SeccompRule::new(conds).map_err(compile_err)?);
        }
        // seccompiler represents "always matches" by an empty chain.
        let rules = chains
            .into_iter()
            .map(|(nr, (always, rules))| (nr, if always { Vec::new() } else { rules }))
            .collect();
        out.insert(
            name.clone(),
            FilterSpec {
                name,
                mismatch: f.mismatch_action,
                matched: f.match_action,
                rules,
            },
        );
    }
    Ok(out)
}

/// The compiled programs of a confining run. They are installed as ONE program ([`Self::combined`])
/// so the kernel prepares one filter (and its constant-action cache) per spawn instead of three.
#[derive(Debug, Clone)]
pub struct CompiledSet {
    /// x86_64 only: refuses x32 syscall numbers with EPERM.
    pub x32_guard: Option<Vec<sock_filter>>,
    /// clone3 → ENOSYS.
    pub enosys: Vec<sock_filter>,
    /// The EPERM deny-list (standard, optionally + no-network).
    pub eperm: Vec<sock_filter>,
    /// x32 guard, then enosys, then eperm, chained (see [`chain`]).
    pub combined: Vec<sock_filter>,
}

impl CompiledSet {
    /// The programs to install, in order (one: the combined program).
    pub fn programs(&self) -> impl Iterator<Item = &[sock_filter]> {
        std::iter::once(self.combined.as_slice())
    }
}

const BPF_RET_K: u16 = 0x06;
const BPF_JA: u16 = 0x05;

/// Chain self-contained seccomp programs: in every program but the last, each `RET ALLOW`
/// becomes a jump to the start of the next program, so a syscall is allowed only if every
/// program allows it and the first non-allow verdict wins (programs only jump forward, and each
/// loads the fields it tests itself, so this is exactly "install them one after the other" with
/// the earlier program's verdict taking precedence).
pub fn chain(parts: &[&[sock_filter]]) -> Vec<sock_filter> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len()).sum());
    let last = parts.len().saturating_sub(1);
    for (i, part) in parts.iter().enumerate() {
        let len = part.len();
        for (j, ins) in part.iter().enumerate() {
            if i != last && ins.code == BPF_RET_K && ins.k == libc::SECCOMP_RET_ALLOW {
                out.push(sock_filter {
                    code: BPF_JA,
                    jt: 0,
                    jf: 0,
                    // Jump past the rest of this part: lands on the next part's first insn. (A
                    // part is at most 4096 instructions; an impossible longer one gets a jump
                    // out of the program, which the kernel's verifier refuses: fail closed.)
                    k: u32::try_from(len - j - 1).unwrap_or(u32::MAX),
                });
            } else {
                out.push(ins.clone());
            }
        }
    }
    out
}

/// Compile the filters a confining run installs; `network: false` adds the no-network rules,
/// `unix_sockets: false` the no-UNIX-sockets rule.
pub fn compile_set(network: bool, unix_sockets: bool) -> Result<CompiledSet, PolicyLoadError> {
    compile_set_from(
        STANDARD_JSON,
        NO_NETWORK_JSON,
        NO_UNIX_SOCKETS_JSON,
        network,
        unix_sockets,
    )
}

/// Whether a confined run's seccomp filter denies `socket(AF_UNIX)`: only when it has no
/// filesystem view (which masks every host socket) and Landlock cannot mediate `connect` to
/// pathname sockets (ABI < 9), and `sandbox.allowUnixSockets` does not opt out.
pub fn deny_unix_sockets(has_view: bool, landlock_abi: Option<i32>, allow: bool) -> bool {
    !has_view && landlock_abi.is_none_or(|v| v < LANDLOCK_ABI_CONNECT_UNIX) && !allow
}

/// The Landlock ABI that mediates `connect` to pathname UNIX sockets (`AccessFs::ResolveUnix`).
pub const LANDLOCK_ABI_CONNECT_UNIX: i32 = 9;

/// The filter names each policy file may contain (anything else would be silently ignored by
/// [`compile_set`], so it is an error instead).
const STANDARD_FILTERS: &[&str] = &["deny_enosys", "deny_eperm"];
const NO_NETWORK_FILTERS: &[&str] = &["deny_eperm"];
const NO_UNIX_SOCKETS_FILTERS: &[&str] = &["deny_eperm"];

fn check_filter_names(
    file: &'static str,
    filters: &BTreeMap<String, FilterSpec>,
    known: &[&str],
) -> Result<(), PolicyLoadError> {
    match filters.keys().find(|k| !known.contains(&k.as_str())) {
        None => Ok(()),
        Some(k) => Err(PolicyLoadError::Compile {
            file,
            message: format!(
                "filter {k:?} is not installed by the launcher (this file may contain only \
                 {known:?}); its rules would be silently dropped"
            ),
        }),
    }
}

/// [`compile_set`] over explicit policy texts (the embedded files in production).
fn compile_set_from(
    standard_json: &str,
    no_network_json: &str,
    no_unix_json: &str,
    network: bool,
    unix_sockets: bool,
) -> Result<CompiledSet, PolicyLoadError> {
    const STD: &str = "policies/seccomp/standard.json";
    const NONET: &str = "policies/seccomp/no-network.json";
    const NOUNIX: &str = "policies/seccomp/no-unix-sockets.json";
    let std_filters = parse_policy(STD, standard_json)?;
    check_filter_names(STD, &std_filters, STANDARD_FILTERS)?;
    let get = |m: &BTreeMap<String, FilterSpec>, file: &'static str, name: &str| {
        m.get(name)
            .cloned()
            .ok_or_else(|| PolicyLoadError::Compile {
                file,
                message: format!("missing filter {name:?}"),
            })
    };
    let mut eperm = get(&std_filters, STD, "deny_eperm")?;
    let enosys = get(&std_filters, STD, "deny_enosys")?;
    // Parsed (and checked) whether or not it is used, so a broken file fails every launcher.
    let nonet = parse_policy(NONET, no_network_json)?;
    check_filter_names(NONET, &nonet, NO_NETWORK_FILTERS)?;
    let nounix = parse_policy(NOUNIX, no_unix_json)?;
    check_filter_names(NOUNIX, &nounix, NO_UNIX_SOCKETS_FILTERS)?;
    for (file, filters, wanted) in [(NONET, &nonet, !network), (NOUNIX, &nounix, !unix_sockets)] {
        if !wanted {
            continue;
        }
        let extra = get(filters, file, "deny_eperm")?;
        if extra.matched != eperm.matched || extra.mismatch != eperm.mismatch {
            return Err(PolicyLoadError::Compile {
                file,
                message: "deny_eperm actions differ from standard.json".into(),
            });
        }
        // Rules for one syscall are or-ed: no-network's `socket(domain != AF_UNIX)` with this
        // file's `socket(domain == AF_UNIX)` denies every socket(), while socketpair keeps
        // no-network's rule only (AF_UNIX pairs stay allowed).
        eperm.merge(&extra);
    }
    let x32 = x32_guard();
    let enosys = enosys.compile(STD)?;
    let eperm = eperm.compile(STD)?;
    let mut parts: Vec<&[sock_filter]> = Vec::new();
    if let Some(g) = &x32 {
        parts.push(g);
    }
    parts.push(&enosys);
    parts.push(&eperm);
    let combined = chain(&parts);
    if combined.len() >= 4096 {
        return Err(PolicyLoadError::Compile {
            file: STD,
            message: format!("combined filter too long ({} instructions)", combined.len()),
        });
    }
    Ok(CompiledSet {
        x32_guard: x32,
        enosys,
        eperm,
        combined,
    })
}

/// Install `set` on the calling thread the way the launcher's child does (no_new_privs, then
/// every program). Used by the seccomp validation helper; the calling process must be
/// single-threaded for the filter to cover it entirely.
pub fn install_on_current_thread(set: &CompiledSet) -> std::io::Result<()> {
    // SAFETY: prctl(2) with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    for prog in set.programs() {
        let Ok(len) = libc::c_ushort::try_from(prog.len()) else {
            return Err(std::io::Error::from_raw_os_error(libc::E2BIG));
        };
        let fprog = libc::sock_fprog {
            len,
            filter: prog.as_ptr() as *mut libc::sock_filter,
        };
        // SAFETY: seccomp(2) copies the program `fprog` describes; `prog` is borrowed from
        // `set` for the duration of the call and seccompiler's `sock_filter` is `repr(C)` with
        // libc's layout.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                0 as libc::c_uint,
                &fprog as *const libc::sock_fprog,
            )
        };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The hand-written x32 guard (x86_64): `arch == X86_64 && nr >= 0x40000000` → EPERM.
pub fn x32_guard() -> Option<Vec<sock_filter>> {
    #[cfg(target_arch = "x86_64")]
    {
        const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
        const BPF_LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
        const BPF_JEQ_K: u16 = 0x05 | 0x10;
        const BPF_JSET_K: u16 = 0x05 | 0x40;
        const BPF_RET_K: u16 = 0x06;
        let ins = |code, jt, jf, k| sock_filter { code, jt, jf, k };
        Some(vec![
            ins(BPF_LD_W_ABS, 0, 0, 4), // seccomp_data.arch
            ins(BPF_JEQ_K, 0, 3, AUDIT_ARCH_X86_64),
            ins(BPF_LD_W_ABS, 0, 0, 0), // seccomp_data.nr
            ins(BPF_JSET_K, 0, 1, X32_SYSCALL_BIT),
            ins(
                BPF_RET_K,
                0,
                0,
                libc::SECCOMP_RET_ERRNO | libc::EPERM as u32,
            ),
            ins(BPF_RET_K, 0, 0, libc::SECCOMP_RET_ALLOW),
        ])
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        None
    }
}

/// Resolve a syscall name for the build target (only names the policies may use).
pub fn syscall_number(name: &str) -> Option<i64> {
    use libc::*;
    let nr = match name {
        "ptrace" => SYS_ptrace,
        "chmod" => SYS_chmod,
        "fchmod" => SYS_fchmod,
        "fchmodat" => SYS_fchmodat,
        "fchmodat2" => 452,
        "open" => SYS_open,
        "openat" => SYS_openat,
        "creat" => SYS_creat,
        "mknod" => SYS_mknod,
        "mknodat" => SYS_mknodat,
        "openat2" => SYS_openat2,
        "process_vm_readv" => SYS_process_vm_readv,
        "process_vm_writev" => SYS_process_vm_writev,
        "pidfd_getfd" => SYS_pidfd_getfd,
        "kexec_load" => SYS_kexec_load,
        "kexec_file_load" => SYS_kexec_file_load,
        "init_module" => SYS_init_module,
        "finit_module" => SYS_finit_module,
        "delete_module" => SYS_delete_module,
        "mount" => SYS_mount,
        "umount2" => SYS_umount2,
        "pivot_root" => SYS_pivot_root,
        "chroot" => SYS_chroot,
        "fsopen" => SYS_fsopen,
        "fsconfig" => SYS_fsconfig,
        "fsmount" => SYS_fsmount,
        "fspick" => SYS_fspick,
        "move_mount" => SYS_move_mount,
        "open_tree" => SYS_open_tree,
        "mount_setattr" => SYS_mount_setattr,
        "open_by_handle_at" => SYS_open_by_handle_at,
        "bpf" => SYS_bpf,
        "perf_event_open" => SYS_perf_event_open,
        "keyctl" => SYS_keyctl,
        "add_key" => SYS_add_key,
        "request_key" => SYS_request_key,
        "userfaultfd" => SYS_userfaultfd,
        "io_uring_setup" => SYS_io_uring_setup,
        "io_uring_enter" => SYS_io_uring_enter,
        "io_uring_register" => SYS_io_uring_register,
        "unshare" => SYS_unshare,
        "setns" => SYS_setns,
        "personality" => SYS_personality,
        "swapon" => SYS_swapon,
        "swapoff" => SYS_swapoff,
        "reboot" => SYS_reboot,
        "acct" => SYS_acct,
        "quotactl" => SYS_quotactl,
        "clone" => SYS_clone,
        "clone3" => SYS_clone3,
        "socket" => SYS_socket,
        "socketpair" => SYS_socketpair,
        _ => return None,
    };
    Some(nr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::bpf_eval::{SeccompData, eval};

    const EPERM_RET: u32 = libc::SECCOMP_RET_ERRNO | libc::EPERM as u32;

    fn data(nr: i64, args: [u64; 6]) -> SeccompData {
        SeccompData::native(u32::try_from(nr).unwrap(), args)
    }

    #[test]
    fn every_policy_file_compiles() {
        for network in [true, false] {
            for unix_sockets in [true, false] {
                compile_set(network, unix_sockets).unwrap();
            }
        }
    }

    #[test]
    fn unknown_syscall_name_is_rejected_not_dropped() {
        let text = r#"{"f":{"mismatch_action":"allow","match_action":{"errno":1},
            "filter":[{"syscall":"io_destroyio_getevents"}]}}"#;
        let err = parse_policy("t.json", text).unwrap_err().to_string();
        assert!(err.contains("io_destroyio_getevents"), "{err}");
    }

    #[test]
    fn unknown_filter_name_is_rejected_not_dropped() {
        // A filter the launcher does not install (here: a typo of deny_eperm) used to be parsed
        // and then ignored, so its rules silently protected nothing.
        let extra = r#"{"deny_eprem":{"mismatch_action":"allow","match_action":{"errno":1},
            "filter":[{"syscall":"ptrace"}]}}"#;
        let mut std_plus: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(STANDARD_JSON).unwrap();
        std_plus.extend(
            serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(extra).unwrap(),
        );
        let std_plus = serde_json::to_string(&std_plus).unwrap();
        let err = compile_set_from(&std_plus, NO_NETWORK_JSON, NO_UNIX_SOCKETS_JSON, true, true)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("deny_eprem") && err.contains("standard.json"),
            "{err}"
        );
        // Also in no-network.json, and even when network is allowed (the file is still checked).
        let err = compile_set_from(STANDARD_JSON, extra, NO_UNIX_SOCKETS_JSON, true, true)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("deny_eprem") && err.contains("no-network.json"),
            "{err}"
        );
        // And in no-unix-sockets.json, even when the rule is not wanted.
        let err = compile_set_from(STANDARD_JSON, NO_NETWORK_JSON, extra, true, true)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("deny_eprem") && err.contains("no-unix-sockets.json"),
            "{err}"
        );
        compile_set_from(
            STANDARD_JSON,
            NO_NETWORK_JSON,
            NO_UNIX_SOCKETS_JSON,
            true,
            true,
        )
        .unwrap();
    }

    #[test]
    fn standard_filter_denies_listed_syscalls_and_allows_others() {
        let set = compile_set(true, true).unwrap();
        for name in [
            "ptrace",
            "process_vm_readv",
            "kexec_load",
            "init_module",
            "mount",
            "bpf",
            "perf_event_open",
            "keyctl",
            "userfaultfd",
            "io_uring_setup",
            "unshare",
            "setns",
            "personality",
        ] {
            let nr = syscall_number(name).unwrap();
            assert_eq!(eval(&set.eperm, &data(nr, [0; 6])), EPERM_RET, "{name}");
        }
        assert_eq!(
            eval(&set.eperm, &data(libc::SYS_getpid, [0; 6])),
            libc::SECCOMP_RET_ALLOW
        );
        // Sockets are fine with network allowed.
        assert_eq!(
            eval(&set.eperm, &data(libc::SYS_socket, [2, 1, 0, 0, 0, 0])),
            libc::SECCOMP_RET_ALLOW
        );
    }

    #[test]
    fn clone_with_namespace_flags_is_denied_plain_clone_allowed() {
        let set = compile_set(true, true).unwrap();
        let fork_flags = (libc::CLONE_CHILD_SETTID | libc::CLONE_CHILD_CLEARTID) as u64 | 17;
        assert_eq!(
            eval(
                &set.eperm,
                &data(libc::SYS_clone, [fork_flags, 0, 0, 0, 0, 0])
            ),
            libc::SECCOMP_RET_ALLOW
        );
        for flag in [
            libc::CLONE_NEWUSER,
            libc::CLONE_NEWNS,
            libc::CLONE_NEWNET,
            libc::CLONE_NEWPID,
            libc::CLONE_NEWIPC,
            libc::CLONE_NEWUTS,
            libc::CLONE_NEWCGROUP,
        ] {
            let args = [fork_flags | u64::try_from(flag).unwrap(), 0, 0, 0, 0, 0];
            assert_eq!(eval(&set.eperm, &data(libc::SYS_clone, args)), EPERM_RET);
        }
        assert_eq!(
            eval(&set.enosys, &data(libc::SYS_clone3, [0; 6])),
            libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32
        );
    }

    #[test]
    fn no_network_allows_only_af_unix_even_with_high_garbage_bits() {
        let set = compile_set(false, true).unwrap();
        let sock = |domain: u64| eval(&set.eperm, &data(libc::SYS_socket, [domain, 1, 0, 0, 0, 0]));
        assert_eq!(sock(libc::AF_UNIX as u64), libc::SECCOMP_RET_ALLOW);
        assert_eq!(sock(libc::AF_INET as u64), EPERM_RET);
        assert_eq!(sock(libc::AF_INET6 as u64), EPERM_RET);
        assert_eq!(sock(libc::AF_NETLINK as u64), EPERM_RET);
        // The kernel reads `int domain`: high bits are ignored by the kernel and by the dword
        // compare alike, so AF_UNIX with garbage above bit 31 is still AF_UNIX.
        assert_eq!(sock(0xdead_0000_0000_0001), libc::SECCOMP_RET_ALLOW);
        assert_eq!(sock(0xdead_0000_0000_0002), EPERM_RET);
    }

    #[test]
    fn no_unix_sockets_denies_af_unix_socket_even_with_high_garbage_bits_keeps_socketpair() {
        let set = compile_set(true, false).unwrap();
        let sock = |domain: u64| eval(&set.eperm, &data(libc::SYS_socket, [domain, 1, 0, 0, 0, 0]));
        let pair = |domain: u64| {
            eval(
                &set.eperm,
                &data(libc::SYS_socketpair, [domain, 1, 0, 0, 0, 0]),
            )
        };
        assert_eq!(sock(libc::AF_UNIX as u64), EPERM_RET);
        // The kernel reads `int domain`: garbage above bit 31 must not smuggle AF_UNIX past.
        assert_eq!(sock(0xdead_0000_0000_0001), EPERM_RET);
        assert_eq!(sock(0xffff_ffff_0000_0001), EPERM_RET);
        // Other domains are the network rules' business (allowed here: network on).
        assert_eq!(sock(libc::AF_INET as u64), libc::SECCOMP_RET_ALLOW);
        assert_eq!(sock(libc::AF_INET6 as u64), libc::SECCOMP_RET_ALLOW);
        assert_eq!(pair(libc::AF_UNIX as u64), libc::SECCOMP_RET_ALLOW);
        assert_eq!(pair(0xdead_0000_0000_0001), libc::SECCOMP_RET_ALLOW);
        // Without the rule AF_UNIX sockets are fine.
        let open = compile_set(true, true).unwrap();
        assert_eq!(
            eval(&open.eperm, &data(libc::SYS_socket, [1, 1, 0, 0, 0, 0])),
            libc::SECCOMP_RET_ALLOW
        );
    }

    #[test]
    fn no_unix_sockets_with_no_network_denies_every_socket_keeps_unix_socketpair() {
        let set = compile_set(false, false).unwrap();
        let sock = |domain: u64| eval(&set.eperm, &data(libc::SYS_socket, [domain, 1, 0, 0, 0, 0]));
        let pair = |domain: u64| {
            eval(
                &set.eperm,
                &data(libc::SYS_socketpair, [domain, 1, 0, 0, 0, 0]),
            )
        };
        for domain in [
            libc::AF_UNIX as u64,
            libc::AF_INET as u64,
            libc::AF_INET6 as u64,
            libc::AF_NETLINK as u64,
            0xdead_0000_0000_0001,
            0xdead_0000_0000_0002,
        ] {
            assert_eq!(sock(domain), EPERM_RET, "socket({domain:#x})");
        }
        assert_eq!(pair(libc::AF_UNIX as u64), libc::SECCOMP_RET_ALLOW);
        assert_eq!(pair(0xdead_0000_0000_0001), libc::SECCOMP_RET_ALLOW);
        assert_eq!(pair(libc::AF_INET as u64), EPERM_RET);
    }

    #[test]
    fn unix_socket_rule_applies_only_without_view_before_abi_9_unless_allowed() {
        assert!(deny_unix_sockets(false, Some(6), false));
        assert!(deny_unix_sockets(false, Some(8), false));
        assert!(deny_unix_sockets(false, None, false));
        assert!(
            !deny_unix_sockets(false, Some(9), false),
            "Landlock mediates connect"
        );
        assert!(
            !deny_unix_sockets(true, Some(6), false),
            "the view masks host sockets"
        );
        assert!(
            !deny_unix_sockets(false, Some(6), true),
            "sandbox.allowUnixSockets"
        );
    }

    #[test]
    fn combined_program_equals_the_separate_filters_on_every_syscall() {
        for (network, unix_sockets) in [(true, true), (false, true), (true, false), (false, false)]
        {
            let set = compile_set(network, unix_sockets).unwrap();
            let separate = |d: &SeccompData| {
                let mut progs: Vec<&[sock_filter]> = Vec::new();
                if let Some(g) = &set.x32_guard {
                    progs.push(g);
                }
                progs.push(&set.enosys);
                progs.push(&set.eperm);
                // Kernel semantics for several filters: the most restrictive verdict wins; here
                // all non-allow verdicts are ERRNO, so the first non-allow equals the chain's.
                progs
                    .iter()
                    .map(|p| eval(p, d))
                    .find(|v| *v != libc::SECCOMP_RET_ALLOW)
                    .unwrap_or(libc::SECCOMP_RET_ALLOW)
            };
            for nr in (0..500u32).chain((0..500).map(|n| n | X32_SYSCALL_BIT)) {
                for arg0 in [0u64, 1, 2, 10, 16, 0x1000_0000, 0x4000_0011, u64::MAX] {
                    let d = SeccompData::native(nr, [arg0, 0, 0, 0, 0, 0]);
                    assert_eq!(
                        eval(&set.combined, &d),
                        separate(&d),
                        "nr {nr} arg0 {arg0:#x}"
                    );
                }
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn x32_guard_refuses_x32_numbers() {
        let guard = x32_guard().unwrap();
        for nr in [101u32, 246, 175, 512, 521] {
            let d = SeccompData::native(X32_SYSCALL_BIT | nr, [0; 6]);
            assert_eq!(eval(&guard, &d), EPERM_RET);
        }
        assert_eq!(
            eval(&guard, &SeccompData::native(39, [0; 6])),
            libc::SECCOMP_RET_ALLOW
        );
    }
}
