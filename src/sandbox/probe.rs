//! What this machine's kernel can enforce, probed once per launcher: Landlock ABI, seccomp
//! filter mode and actions, user namespaces, cgroups (tree kill, pids bound). Used to refuse runs
//! a profile cannot enforce (fail closed) and by `openclaw-node sandbox check`.

use serde::Serialize;

use super::cgroup::{self, CgroupSupport};
use super::landlock::probe_abi;
use super::profile::{Profile, REQUIRED_LANDLOCK_ABI};

/// Kernel support, as probed.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KernelSupport {
    pub kernel_release: String,
    /// Landlock ABI version, when available.
    pub landlock_abi: Option<i32>,
    /// Why Landlock is unavailable.
    pub landlock_error: Option<String>,
    /// seccomp filter mode available (`CONFIG_SECCOMP_FILTER`).
    pub seccomp_filter: bool,
    /// `/proc/sys/kernel/seccomp/actions_avail`.
    pub seccomp_actions: Vec<String>,
    /// Unprivileged user namespaces appear enabled (sysctls).
    pub user_namespaces: bool,
    pub cgroup: CgroupSupport,
    /// `clone3` with `CLONE_INTO_CGROUP` is available (Linux >= 5.7, not filtered).
    pub clone3_into_cgroup: bool,
    /// How the launcher creates children (`clone3` or `fork`; set by the launcher).
    pub spawn_path: &'static str,
    /// How confined runs get their filesystem view: `"mount-namespace"` (root node),
    /// `"user+mount-namespace"` (unprivileged node), or `None` (see `view_error`).
    pub view: Option<&'static str>,
    /// Why no view can be built here, with the fix.
    pub view_error: Option<String>,
}

/// Environment variable (value `1`) that makes the probe report no filesystem view, for tests
/// of the Landlock-only fallback (see [`KernelSupport::probe`]).
pub const SIMULATE_NO_VIEW_ENV: &str = "OPENCLAW_NODE_TEST_NO_VIEW";

/// Build an empty view in a throw-away child (`/bin/true`), exactly as a run would.
fn probe_view() -> (Option<&'static str>, Option<String>) {
    // SAFETY: geteuid(2) has no arguments.
    let root = unsafe { libc::geteuid() } == 0;
    let plan = super::view::ViewPlan::default();
    let view = match super::view::ChildView::compile(&plan, std::path::Path::new("/"), !root) {
        Ok(v) => v,
        Err(e) => return (None, Some(e)),
    };
    let view = std::sync::Arc::new(view);
    let program = ["/bin/true", "/usr/bin/true"]
        .into_iter()
        .map(std::path::Path::new)
        .find(|p| p.exists())
        .unwrap_or(std::path::Path::new("/bin/true"));
    let status = super::view::spawn_in_view(&view, program);
    let mechanism = if root {
        "mount-namespace"
    } else {
        "user+mount-namespace"
    };
    match status {
        Ok(s) if s.success() => (Some(mechanism), None),
        Ok(s) => (None, Some(format!("the probe child failed ({s})"))),
        Err(e) => {
            let detail = e
                .raw_os_error()
                .and_then(|c| view.describe_error(c))
                .unwrap_or_else(|| e.to_string());
            let fix = if root {
                "the node runs as root but cannot create a private mount namespace (a container \
                 without CAP_SYS_ADMIN, or a seccomp profile that blocks unshare/mount_setattr); \
                 give the node's container CAP_SYS_ADMIN or run the node outside it"
            } else {
                "unprivileged user namespaces are restricted here (Ubuntu >= 23.10 with AppArmor: \
                 install policies/apparmor/openclaw-node, see the README; elsewhere check \
                 user.max_user_namespaces and kernel.unprivileged_userns_clone)"
            };
            (None, Some(format!("{detail}; {fix}")))
        }
    }
}

fn read_trim(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

impl KernelSupport {
    /// Probe now (creates `<own cgroup>/openclaw-node` where cgroups are writable).
    pub fn probe() -> Self {
        let (landlock_abi, landlock_error) = match probe_abi() {
            Ok(v) => (Some(v), None),
            Err(e) => (None, Some(e)),
        };
        // PR_GET_SECCOMP returns 0 (not in a seccomp mode) when seccomp is compiled in.
        // SAFETY: prctl(2) with integer arguments only.
        let seccomp_mode = unsafe { libc::prctl(libc::PR_GET_SECCOMP, 0, 0, 0, 0) };
        let seccomp_actions: Vec<String> = read_trim("/proc/sys/kernel/seccomp/actions_avail")
            .map(|s| s.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default();
        let seccomp_filter = seccomp_mode >= 0 && seccomp_actions.iter().any(|a| a == "errno");
        let userns_max = read_trim("/proc/sys/user/max_user_namespaces")
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0);
        let userns_clone = read_trim("/proc/sys/kernel/unprivileged_userns_clone")
            .map(|s| s != "0")
            .unwrap_or(true);
        let apparmor_restrict = read_trim("/proc/sys/kernel/apparmor_restrict_unprivileged_userns")
            .map(|s| s == "1")
            .unwrap_or(false);
        Self {
            kernel_release: read_trim("/proc/sys/kernel/osrelease").unwrap_or_default(),
            landlock_abi,
            landlock_error,
            seccomp_filter,
            seccomp_actions,
            user_namespaces: userns_max > 0 && userns_clone && !apparmor_restrict,
            cgroup: cgroup::detect(),
            clone3_into_cgroup: super::spawn::clone3_available(
                &read_trim("/proc/sys/kernel/osrelease").unwrap_or_default(),
            ),
            spawn_path: "fork",
            view: None,
            view_error: None,
        }
        .with_view_probe()
    }

    fn with_view_probe(mut self) -> Self {
        // Test hook: behave as on a host where the view cannot be built (a normal user's node
        // without unprivileged user namespaces), so tests can reach the Landlock-only fallback
        // on machines that have them. It only removes the view: a root node then refuses
        // confined runs, a normal user's node takes the fallback it would take on such a host.
        if std::env::var_os(SIMULATE_NO_VIEW_ENV).is_some_and(|v| v == "1") {
            self.view = None;
            self.view_error = Some(format!(
                "disabled by {SIMULATE_NO_VIEW_ENV}=1 (test hook: as on a host without \
                 unprivileged user namespaces)"
            ));
            return self;
        }
        let (view, view_error) = probe_view();
        self.view = view;
        self.view_error = view_error;
        self
    }

    /// Why `profile` cannot be enforced here (`None`: it can).
    pub fn missing_for(&self, profile: Profile) -> Option<String> {
        if !profile.confines() {
            return None;
        }
        let switch = "set `sandbox.profile` to \"off\" in node-host.json5 (or for one agent, \
                      `sandbox.agents.<id>.profile`) to run with process hygiene only";
        match self.landlock_abi {
            None => {
                return Some(format!(
                    "profile \"{}\" needs Landlock (ABI >= {REQUIRED_LANDLOCK_ABI}, Linux 6.2) \
                     but {}; {switch}",
                    profile.name(),
                    self.landlock_error
                        .as_deref()
                        .unwrap_or("it is unavailable")
                ));
            }
            Some(v) if v < REQUIRED_LANDLOCK_ABI => {
                return Some(format!(
                    "profile \"{}\" needs Landlock ABI >= {REQUIRED_LANDLOCK_ABI} (Linux 6.2, \
                     truncate control) but this kernel has ABI {v}; {switch}",
                    profile.name()
                ));
            }
            Some(_) => {}
        }
        // SAFETY: geteuid(2) has no arguments.
        if self.view.is_none() && unsafe { libc::geteuid() } == 0 {
            return Some(format!(
                "profile \"{}\" needs a per-run filesystem view (a private mount namespace) \
                 when the node runs as root, and a root node has no weaker fallback, but {}; \
                 {switch}",
                profile.name(),
                self.view_error
                    .as_deref()
                    .unwrap_or("it cannot be built here")
            ));
        }
        if !self.seccomp_filter {
            return Some(format!(
                "profile \"{}\" needs seccomp filters (CONFIG_SECCOMP_FILTER with the errno \
                 action) but this kernel does not offer them; {switch}",
                profile.name()
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn support(abi: Option<i32>, seccomp: bool) -> KernelSupport {
        KernelSupport {
            kernel_release: "test".into(),
            landlock_abi: abi,
            landlock_error: abi
                .is_none()
                .then(|| "Landlock is not built into this kernel".into()),
            seccomp_filter: seccomp,
            seccomp_actions: Vec::new(),
            user_namespaces: false,
            cgroup: CgroupSupport::default(),
            clone3_into_cgroup: false,
            spawn_path: "fork",
            view: Some("mount-namespace"),
            view_error: None,
        }
    }

    #[test]
    fn root_node_without_a_view_refuses_confined_profiles() {
        let mut s = support(Some(7), true);
        s.view = None;
        s.view_error = Some("unshare(CLONE_NEWNS): Operation not permitted".into());
        // SAFETY: geteuid(2) has no arguments.
        let root = unsafe { libc::geteuid() } == 0;
        let why = s.missing_for(Profile::Standard);
        if root {
            let why = why.unwrap();
            assert!(
                why.contains("filesystem view") && why.contains("Operation not permitted"),
                "{why}"
            );
        } else {
            assert!(why.is_none(), "a normal user's node falls back to Landlock");
        }
        assert!(s.missing_for(Profile::Off).is_none());
    }

    #[test]
    fn fail_closed_message_names_missing_feature_and_config_switch() {
        let s = support(None, true);
        let why = s.missing_for(Profile::Standard).unwrap();
        assert!(
            why.contains("Landlock") && why.contains("sandbox.profile"),
            "{why}"
        );
        assert!(s.missing_for(Profile::Off).is_none(), "off needs nothing");

        let old = support(Some(2), true).missing_for(Profile::Strict).unwrap();
        assert!(
            old.contains("ABI 2") && old.contains("sandbox.profile"),
            "{old}"
        );

        let nosec = support(Some(7), false)
            .missing_for(Profile::Standard)
            .unwrap();
        assert!(nosec.contains("seccomp"), "{nosec}");
        assert!(
            support(Some(7), true)
                .missing_for(Profile::Strict)
                .is_none()
        );
    }
}
