//! The `sandbox` section of `<state>/node-host.json5` and its resolution into the effective
//! policy of one run (global settings, then the per-agent override).
//!
//! ```json5
//! {
//!   sandbox: {
//!     profile: "standard",          // "standard" (default) | "strict" | "off"
//!     writableRoots: ["/srv/lab"],  // extra writable directories (must exist)
//!     readableRoots: [],            // extra readable directories under "strict"
//!     network: true,                // default: true for standard/off, false for strict
//!     defaultTimeoutMs: 600000,     // when the request has none (0 = no default)
//!     maxTimeoutMs: 3600000,        // upper bound for any request (0 = no maximum)
//!     termGraceMs: 300,             // SIGTERM → SIGKILL grace on timeout/cancel
//!     maxProcesses: 512,            // pids.max of the run's cgroup (and RLIMIT_NPROC with runAs)
//!     maxMemoryBytes: 4294967296,   // memory bound of one run (default: half the RAM; 0 = none)
//!     maxOpenFiles: null,           // RLIMIT_NOFILE (null = inherit)
//!     maxFileSizeBytes: null,       // RLIMIT_FSIZE (default 8 GiB; 0 = inherit)
//!     runAs: { uid: 65534, gid: 65534 }, // run children as this unprivileged user (host is root)
//!     useCgroups: true,             // per-run cgroup: tree kill + pids bound (false: process group only)
//!     useClone3: true,              // create children inside their cgroup with clone3 (false: fork + migrate)
//!     protectedPaths: ["/srv/lab/ci"], // read-only in every confined run, existing or not
//!     allowUnixSockets: false,      // true: keep socket(AF_UNIX) in runs without a filesystem view
//!                                   // on Landlock ABI < 9 (where they could reach host daemons)
//!     agents: { ops: { profile: "strict" } }, // per-agent overrides
//!   },
//! }
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::SandboxError;
use super::profile::Profile;

/// Default timeout when a request carries none (10 minutes; the official host has none).
pub const DEFAULT_TIMEOUT_MS: u64 = 600_000;
/// Default upper bound on any requested timeout (1 hour).
pub const DEFAULT_MAX_TIMEOUT_MS: u64 = 3_600_000;
/// Default SIGTERM → SIGKILL grace (the official host's 300 ms).
pub const DEFAULT_TERM_GRACE_MS: u64 = 300;
/// Default `RLIMIT_FSIZE` of a run: 8 GiB (a run cannot fill the disk with one file).
pub const DEFAULT_MAX_FILE_SIZE_BYTES: u64 = 8 << 30;
/// Default bound on the number of processes of one run.
pub const DEFAULT_MAX_PROCESSES: u64 = 512;
/// How long output is drained after the direct child exited (descendants holding the pipes).
pub const POST_EXIT_DRAIN_MS: u64 = 250;

/// Half of `MemTotal` (a run can never take the host down by memory alone); 0 if unknown.
fn default_memory_bound() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024 / 2)
}

/// The `sandbox` section of `node-host.json5`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SandboxConfig {
    /// `standard` (default), `strict` or `off`.
    #[serde(default)]
    pub profile: Option<String>,
    /// Extra directories runs may write to.
    #[serde(default)]
    pub writable_roots: Vec<PathBuf>,
    /// Extra directories runs may read under `strict` (system dirs and the cwd are always readable).
    #[serde(default)]
    pub readable_roots: Vec<PathBuf>,
    /// Allow network sockets (default: the profile's choice; `strict` forbids all but AF_UNIX).
    #[serde(default)]
    pub network: Option<bool>,
    /// Timeout applied when the request has none; `0` disables the default.
    #[serde(default)]
    pub default_timeout_ms: Option<u64>,
    /// Upper bound on any requested timeout; `0` disables the maximum.
    #[serde(default)]
    pub max_timeout_ms: Option<u64>,
    /// Grace between SIGTERM and SIGKILL when a run is stopped.
    #[serde(default)]
    pub term_grace_ms: Option<u64>,
    /// Bound on the processes of one run (`pids.max`; `RLIMIT_NPROC` too when `runAs` is set).
    #[serde(default)]
    pub max_processes: Option<u64>,
    /// Memory bound of one run in bytes (cgroup `memory.max`, or v1 `memory.limit_in_bytes` on
    /// hybrid hosts); default half of the host's RAM, `0` = none.
    #[serde(default)]
    pub max_memory_bytes: Option<u64>,
    /// `RLIMIT_NOFILE` for the child (unset: inherited).
    #[serde(default)]
    pub max_open_files: Option<u64>,
    /// `RLIMIT_FSIZE` for the child in bytes: no file a run writes grows past it (default
    /// 8 GiB; `0` = inherit the node's).
    #[serde(default)]
    pub max_file_size_bytes: Option<u64>,
    /// Run children as this (unprivileged) user instead of the host's own uid.
    #[serde(default)]
    pub run_as: Option<RunAs>,
    /// Per-run cgroups (complete tree kill, pids bound). Default true; `false` trades them for
    /// ~one RCU grace period less per spawn (process-group kill only, descendants calling
    /// `setsid` can then escape a timeout).
    #[serde(default)]
    pub use_cgroups: Option<bool>,
    /// Create children directly inside their v2 run cgroup with `clone3(CLONE_INTO_CGROUP)`
    /// (default true where the kernel offers it); `false` forces fork + `pre_exec` + migration.
    #[serde(default)]
    pub use_clone3: Option<bool>,
    /// Extra paths every confined run sees read-only (existing or not), on top of what the node
    /// always protects (its state dir, service files, binary, PATH directories and, when a
    /// writable root covers `$HOME`, `$HOME` and its dot-entries).
    #[serde(default)]
    pub protected_paths: Vec<PathBuf>,
    /// Keep `socket(AF_UNIX)` allowed in confined runs that have no filesystem view (a normal
    /// user's node on a host without unprivileged user namespaces) while Landlock cannot
    /// mediate `connect` to pathname sockets (ABI < 9). Default false: such runs could otherwise
    /// connect to any host daemon's socket (docker, the systemd user manager, the session bus,
    /// ssh-agent), so their seccomp filter denies creating UNIX sockets (`socketpair` stays
    /// allowed). Set true for runs that must talk to a daemon. Global only.
    #[serde(default, deserialize_with = "named_bool::allow_unix_sockets")]
    pub allow_unix_sockets: Option<bool>,
    /// Per-agent overrides, keyed by agent id.
    #[serde(default)]
    pub agents: BTreeMap<String, AgentSandboxOverride>,
}

/// Booleans whose type errors name their key (serde's own message names only the type).
mod named_bool {
    use serde::{Deserialize, Deserializer, de::Error};

    fn named<'de, D: Deserializer<'de>>(d: D, key: &str) -> Result<Option<bool>, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Bool(b) => Ok(Some(b)),
            serde_json::Value::Null => Ok(None),
            other => Err(D::Error::custom(format!(
                "`{key}` must be true or false, not {other}"
            ))),
        }
    }

    pub fn allow_unix_sockets<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        named(d, "sandbox.allowUnixSockets")
    }
}

/// `runAs`: numeric ids (no name lookup after fork).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RunAs {
    pub uid: u32,
    /// Defaults to `uid`.
    #[serde(default)]
    pub gid: Option<u32>,
}

/// `agents.<id>`: fields replace the global ones, except `writableRoots` which add to them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AgentSandboxOverride {
    #[serde(default)]
    pub profile: Option<String>,
    #[serde(default)]
    pub writable_roots: Vec<PathBuf>,
    #[serde(default)]
    pub network: Option<bool>,
    #[serde(default)]
    pub default_timeout_ms: Option<u64>,
    #[serde(default)]
    pub max_timeout_ms: Option<u64>,
}

/// The effective policy of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectivePolicy {
    pub profile: Profile,
    pub network: bool,
    pub writable_roots: Vec<PathBuf>,
    pub readable_roots: Vec<PathBuf>,
    pub default_timeout_ms: u64,
    pub max_timeout_ms: u64,
}

impl EffectivePolicy {
    /// The timeout for a request: its own (`> 0`) or the default, capped by the maximum;
    /// `None` means no limit.
    pub fn timeout_ms(&self, requested: Option<u64>) -> Option<u64> {
        let mut t = match requested {
            Some(n) if n > 0 => n,
            _ => self.default_timeout_ms,
        };
        if self.max_timeout_ms > 0 && (t == 0 || t > self.max_timeout_ms) {
            t = self.max_timeout_ms;
        }
        (t > 0).then_some(t)
    }
}

fn parse_profile(key: &str, value: Option<&str>) -> Result<Option<Profile>, SandboxError> {
    match value {
        None => Ok(None),
        Some(v) => Profile::parse(v).map(Some).ok_or_else(|| {
            SandboxError::Config(format!(
                "`{key}`: unknown profile {v:?} (expected \"standard\", \"strict\" or \"off\")"
            ))
        }),
    }
}

fn check_roots(key: &str, roots: &[PathBuf]) -> Result<(), SandboxError> {
    for root in roots {
        if !root.is_absolute() {
            return Err(SandboxError::Config(format!(
                "`{key}`: {} is not an absolute path",
                root.display()
            )));
        }
        if !root.is_dir() {
            return Err(SandboxError::Config(format!(
                "`{key}`: {} does not exist or is not a directory (a writable/readable root must \
                 exist: rules for missing paths are never silently dropped)",
                root.display()
            )));
        }
    }
    Ok(())
}

impl SandboxConfig {
    /// Check every key that serde cannot: profile names, roots, numeric ranges, `runAs`.
    pub fn validate(&self) -> Result<(), SandboxError> {
        parse_profile("sandbox.profile", self.profile.as_deref())?;
        check_roots("sandbox.writableRoots", &self.writable_roots)?;
        check_roots("sandbox.readableRoots", &self.readable_roots)?;
        if let Some(p) = self.protected_paths.iter().find(|p| !p.is_absolute()) {
            return Err(SandboxError::Config(format!(
                "`sandbox.protectedPaths`: {} is not an absolute path",
                p.display()
            )));
        }
        if let Some(0) = self.max_processes {
            return Err(SandboxError::Config(
                "`sandbox.maxProcesses` must be at least 1".into(),
            ));
        }
        if let Some(g) = self.term_grace_ms
            && g > 60_000
        {
            return Err(SandboxError::Config(
                "`sandbox.termGraceMs` must be at most 60000".into(),
            ));
        }
        if let Some(r) = self.run_as
            && r.uid == 0
        {
            return Err(SandboxError::Config(
                "`sandbox.runAs.uid` must not be 0 (omit `runAs` to run as the host's user)".into(),
            ));
        }
        for (id, o) in &self.agents {
            parse_profile(
                &format!("sandbox.agents.{id}.profile"),
                o.profile.as_deref(),
            )?;
            check_roots(
                &format!("sandbox.agents.{id}.writableRoots"),
                &o.writable_roots,
            )?;
        }
        Ok(())
    }

    /// The effective policy for an agent (validated config assumed; unknown names fall back to
    /// `standard` only if `validate` was skipped).
    pub fn effective(&self, agent_id: Option<&str>) -> Result<EffectivePolicy, SandboxError> {
        let over = agent_id.and_then(|id| self.agents.get(id));
        let profile_key = match over.and_then(|o| o.profile.as_deref()) {
            Some(p) => (
                format!("sandbox.agents.{}.profile", agent_id.unwrap_or("")),
                Some(p),
            ),
            None => ("sandbox.profile".to_string(), self.profile.as_deref()),
        };
        let profile = parse_profile(&profile_key.0, profile_key.1)?.unwrap_or(Profile::Standard);
        let network = over
            .and_then(|o| o.network)
            .or(self.network)
            .unwrap_or(profile != Profile::Strict);
        let mut writable_roots = self.writable_roots.clone();
        if let Some(o) = over {
            writable_roots.extend(o.writable_roots.iter().cloned());
        }
        Ok(EffectivePolicy {
            profile,
            network,
            writable_roots,
            readable_roots: self.readable_roots.clone(),
            default_timeout_ms: over
                .and_then(|o| o.default_timeout_ms)
                .or(self.default_timeout_ms)
                .unwrap_or(DEFAULT_TIMEOUT_MS),
            max_timeout_ms: over
                .and_then(|o| o.max_timeout_ms)
                .or(self.max_timeout_ms)
                .unwrap_or(DEFAULT_MAX_TIMEOUT_MS),
        })
    }

    /// SIGTERM → SIGKILL grace.
    pub fn term_grace_ms(&self) -> u64 {
        self.term_grace_ms.unwrap_or(DEFAULT_TERM_GRACE_MS)
    }

    /// `RLIMIT_FSIZE` of a run (`None`: inherited).
    pub fn max_file_size_bytes(&self) -> Option<u64> {
        match self.max_file_size_bytes {
            Some(0) => None,
            Some(n) => Some(n),
            None => Some(DEFAULT_MAX_FILE_SIZE_BYTES),
        }
    }

    /// `sandbox.allowUnixSockets` (default false).
    pub fn allow_unix_sockets(&self) -> bool {
        self.allow_unix_sockets.unwrap_or(false)
    }

    /// Process bound of one run.
    pub fn max_processes(&self) -> u64 {
        self.max_processes.unwrap_or(DEFAULT_MAX_PROCESSES)
    }

    /// Memory bound of one run (`0`: none): the configured one, else half of the host's RAM.
    pub fn max_memory_bytes(&self) -> u64 {
        self.max_memory_bytes.unwrap_or_else(default_memory_bound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SandboxConfig, String> {
        json5::from_str::<SandboxConfig>(text).map_err(|e| e.to_string())
    }

    #[test]
    fn unknown_sandbox_key_is_named() {
        let err = parse("{ profil: 'strict' }").unwrap_err();
        assert!(err.contains("profil"), "{err}");
    }

    #[test]
    fn allow_unix_sockets_is_a_named_boolean() {
        assert!(!parse("{}").unwrap().allow_unix_sockets());
        assert!(
            parse("{ allowUnixSockets: true }")
                .unwrap()
                .allow_unix_sockets()
        );
        assert!(
            !parse("{ allowUnixSockets: false }")
                .unwrap()
                .allow_unix_sockets()
        );
        let err = parse("{ allowUnixSockets: 'yes' }").unwrap_err();
        assert!(err.contains("sandbox.allowUnixSockets"), "{err}");
        let err = parse("{ allowUnixSocket: true }").unwrap_err();
        assert!(err.contains("allowUnixSocket"), "{err}");
    }

    #[test]
    fn unknown_profile_names_the_key() {
        let cfg = parse("{ profile: 'paranoid' }").unwrap();
        let err = cfg.validate().unwrap_err().to_string();
        assert!(
            err.contains("sandbox.profile") && err.contains("paranoid"),
            "{err}"
        );
    }

    #[test]
    fn missing_writable_root_is_an_error_not_dropped() {
        let cfg = parse("{ writableRoots: ['/definitely/not/here'] }").unwrap();
        let err = cfg.validate().unwrap_err().to_string();
        assert!(err.contains("sandbox.writableRoots") && err.contains("/definitely/not/here"));
    }

    #[test]
    fn run_as_root_is_rejected() {
        let cfg = parse("{ runAs: { uid: 0 } }").unwrap();
        assert!(
            cfg.validate()
                .unwrap_err()
                .to_string()
                .contains("runAs.uid")
        );
    }

    #[test]
    fn agent_override_replaces_profile_and_adds_roots() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "{{ profile: 'standard', writableRoots: ['/tmp'], agents: {{ ops: {{ profile: 'strict', \
             writableRoots: ['{}'] }} }} }}",
            dir.path().display()
        );
        let cfg = parse(&text).unwrap();
        cfg.validate().unwrap();
        let main = cfg.effective(Some("main")).unwrap();
        assert_eq!(main.profile, Profile::Standard);
        assert!(main.network);
        let ops = cfg.effective(Some("ops")).unwrap();
        assert_eq!(ops.profile, Profile::Strict);
        assert!(!ops.network, "strict defaults to no network");
        assert_eq!(ops.writable_roots.len(), 2);
    }

    #[test]
    fn timeout_default_and_maximum() {
        let cfg = parse("{ defaultTimeoutMs: 1000, maxTimeoutMs: 5000 }").unwrap();
        let p = cfg.effective(None).unwrap();
        assert_eq!(p.timeout_ms(None), Some(1000));
        assert_eq!(p.timeout_ms(Some(0)), Some(1000));
        assert_eq!(p.timeout_ms(Some(2000)), Some(2000));
        assert_eq!(p.timeout_ms(Some(9000)), Some(5000));
        let none = parse("{ defaultTimeoutMs: 0, maxTimeoutMs: 0 }").unwrap();
        assert_eq!(none.effective(None).unwrap().timeout_ms(None), None);
    }
}
