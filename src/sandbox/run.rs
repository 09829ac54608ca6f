//! One run, end to end: resolve the effective policy, refuse what the kernel cannot enforce,
//! prepare (private TMPDIR, Landlock ruleset, cgroups) in the parent, spawn with the
//! [`ChildSetup`] applied in `pre_exec`, capture output, enforce the timeout (TERM to the group
//! and the cgroup → grace → KILL), drain (bounded) and map the result to the `system.run` payload.
//!
//! A run owns its processes: when the direct child has exited and output is drained, whatever is
//! left of its tree (backgrounded or `setsid`'d descendants) is killed and the run's cgroup
//! removed, so nothing outlives the run, a timeout, a cancellation or the node host.

use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio::process::Child;
use tokio_util::sync::CancellationToken;

use super::cgroup::RunCgroup;
use super::child::{ChildSetup, MAX_RLIMITS};
use super::config::{EffectivePolicy, POST_EXIT_DRAIN_MS, SandboxConfig};
use super::landlock::{RulesetSpec, build_ruleset};
use super::output::{Capture, Stream};
use super::probe::KernelSupport;
use super::seccomp::{CompiledSet, compile_set};
use super::{LaunchRequest, RunOutcome, SandboxError};

/// The launcher's state (see [`super::Launcher`]).
#[derive(Debug)]
pub struct LauncherInner {
    config: SandboxConfig,
    pub support: KernelSupport,
    seccomp_net: Arc<CompiledSet>,
    seccomp_nonet: Arc<CompiledSet>,
}

enum Stop {
    Exited(std::io::Result<ExitStatus>),
    TimedOut,
    Cancelled,
}

/// `SIGKILL`, `SIGTERM`, … for a signal number.
pub fn signal_name(sig: i32) -> String {
    nix::sys::signal::Signal::try_from(sig)
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|_| format!("signal {sig}"))
}

/// Signal a process group, never our own and never pgid ≤ 1.
fn signal_group(pgid: i32, sig: libc::c_int) {
    // SAFETY: getpgrp(2) has no arguments.
    let own = unsafe { libc::getpgrp() };
    if pgid > 1 && pgid != own {
        // SAFETY: killpg(2) with integer arguments.
        unsafe { libc::killpg(pgid, sig) };
    }
}

fn cwd_error(cwd: &std::path::Path) -> Option<String> {
    match std::fs::metadata(cwd) {
        Ok(m) if m.is_dir() => None,
        Ok(_) => Some(format!(
            "node exec working directory is not a directory on the node host: {}",
            cwd.display()
        )),
        Err(e) => Some(format!(
            "node exec working directory does not exist on the node host: {} (os reported: {e})",
            cwd.display()
        )),
    }
}

impl LauncherInner {
    pub fn new(config: &SandboxConfig) -> Result<Self, SandboxError> {
        config.validate()?;
        let compile = |network| {
            compile_set(network)
                .map(Arc::new)
                .map_err(|e| SandboxError::Setup(e.to_string()))
        };
        let mut support = KernelSupport::probe();
        if config.use_cgroups == Some(false) {
            support.cgroup = super::cgroup::CgroupSupport {
                notes: vec!["per-run cgroups disabled by `sandbox.useCgroups: false`".into()],
                ..Default::default()
            };
        }
        Ok(Self {
            config: config.clone(),
            support,
            seccomp_net: compile(true)?,
            seccomp_nonet: compile(false)?,
        })
    }

    pub fn tree_kill_mechanism(&self) -> &'static str {
        if self.support.cgroup.v2_base.is_some() {
            "cgroup-v2"
        } else {
            "process-group"
        }
    }

    fn rlimits(&self) -> [Option<(u32, u64)>; MAX_RLIMITS] {
        let c = &self.config;
        [
            Some((libc::RLIMIT_CORE, 0)),
            c.max_open_files.map(|n| (libc::RLIMIT_NOFILE, n)),
            c.max_file_size_bytes.map(|n| (libc::RLIMIT_FSIZE, n)),
            c.run_as
                .map(|_| (libc::RLIMIT_NPROC, self.config.max_processes())),
        ]
    }

    pub async fn run(
        &self,
        req: LaunchRequest,
        cancel: CancellationToken,
    ) -> Result<RunOutcome, SandboxError> {
        let policy = self.config.effective(req.agent_id.as_deref())?;
        if let Some(why) = self.support.missing_for(policy.profile) {
            return Err(SandboxError::Unavailable(why));
        }
        let Some(argv0) = req.argv.first() else {
            return Ok(RunOutcome::spawn_failure("command is empty".into()));
        };
        let cwd = match &req.cwd {
            Some(c) => c.clone(),
            None => std::env::current_dir().map_err(|e| {
                SandboxError::Setup(format!("the node host's own cwd is unusable: {e}"))
            })?,
        };
        if let Some(msg) = cwd_error(&cwd) {
            return Ok(RunOutcome::spawn_failure(msg));
        }

        let run_as = self.config.run_as.map(|r| (r.uid, r.gid.unwrap_or(r.uid)));
        let tmp = tempfile::Builder::new()
            .prefix("openclaw-run-")
            .tempdir()
            .map_err(|e| SandboxError::Setup(format!("cannot create the private TMPDIR: {e}")))?;
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(tmp.path(), Some(uid), Some(gid)).map_err(|e| {
                SandboxError::Setup(format!("cannot hand the private TMPDIR to runAs: {e}"))
            })?;
        }

        let landlock_fd = match (policy.profile.confines(), self.support.landlock_abi) {
            (true, Some(abi)) => Some(
                build_ruleset(&RulesetSpec {
                    profile: policy.profile,
                    abi,
                    network: policy.network,
                    cwd: &cwd,
                    tmp: tmp.path(),
                    writable_roots: &policy.writable_roots,
                    readable_roots: &policy.readable_roots,
                })
                .map_err(SandboxError::Unavailable)?,
            ),
            _ => None,
        };

        let cgroup_wanted =
            self.support.cgroup.v2_base.is_some() || self.support.cgroup.v1_pids_base.is_some();
        let mut cgroup = if cgroup_wanted {
            Some(
                RunCgroup::create(&self.support.cgroup, self.config.max_processes())
                    .map_err(SandboxError::Setup)?,
            )
        } else {
            None
        };

        let seccomp = policy.profile.confines().then(|| {
            if policy.network {
                self.seccomp_net.clone()
            } else {
                self.seccomp_nonet.clone()
            }
        });
        let setup = ChildSetup {
            cgroup_procs: cgroup.as_ref().map_or([-1, -1], |c| c.procs_fds()),
            rlimits: self.rlimits(),
            drop_caps: policy.profile.confines(),
            run_as,
            no_new_privs: policy.profile.confines(),
            landlock_fd: landlock_fd
                .as_ref()
                .map_or(-1, std::os::fd::AsRawFd::as_raw_fd),
            seccomp,
        };

        let mut cmd = tokio::process::Command::new(argv0);
        cmd.args(req.argv.iter().skip(1))
            .env_clear()
            .envs(req.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("TMPDIR", tmp.path())
            .current_dir(&cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let hook = move || {
            // SAFETY: `pre_exec` runs this in the forked child before exec, as `apply` requires.
            unsafe { setup.apply() }
        };
        // SAFETY: the hook only calls `ChildSetup::apply`, which performs raw async-signal-safe
        // syscalls on data prepared in the parent and does not allocate.
        unsafe {
            cmd.pre_exec(hook);
        }
        let spawned = cmd.spawn();
        drop(cmd);
        drop(landlock_fd);
        if let Some(c) = cgroup.as_mut() {
            c.close_fds();
        }
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) => {
                if let Some(c) = cgroup.as_mut() {
                    c.shutdown().await;
                }
                return Ok(RunOutcome::spawn_failure(format!(
                    "spawn {argv0} failed: {e}"
                )));
            }
        };
        let outcome = self
            .supervise(&mut child, &policy, &req, cgroup.as_ref(), cancel)
            .await;
        if let Some(c) = cgroup.as_mut() {
            c.shutdown().await;
        }
        drop(tmp);
        Ok(outcome)
    }

    async fn supervise(
        &self,
        child: &mut Child,
        policy: &EffectivePolicy,
        req: &LaunchRequest,
        cgroup: Option<&RunCgroup>,
        cancel: CancellationToken,
    ) -> RunOutcome {
        let pgid = child.id().and_then(|p| i32::try_from(p).ok()).unwrap_or(0);
        let capture = Capture::new();
        let mut readers = Vec::with_capacity(2);
        if let Some(out) = child.stdout.take() {
            readers.push(tokio::spawn(capture.clone().pump(Stream::Stdout, out)));
        }
        if let Some(err) = child.stderr.take() {
            readers.push(tokio::spawn(capture.clone().pump(Stream::Stderr, err)));
        }

        let timeout = policy.timeout_ms(req.timeout_ms);
        let expire = async {
            match timeout {
                Some(ms) => tokio::time::sleep(Duration::from_millis(ms)).await,
                None => std::future::pending().await,
            }
        };
        let stop = tokio::select! {
            s = child.wait() => Stop::Exited(s),
            () = expire => Stop::TimedOut,
            () = cancel.cancelled() => Stop::Cancelled,
        };
        let (status, timed_out, cancelled) = match stop {
            Stop::Exited(s) => (s, false, false),
            Stop::TimedOut => (self.terminate(child, pgid, cgroup).await, true, false),
            Stop::Cancelled => (self.terminate(child, pgid, cgroup).await, false, true),
        };

        // Bounded drain: descendants may still hold the pipes.
        let mut all = futures_util::future::join_all(readers.iter_mut());
        let drained = tokio::time::timeout(Duration::from_millis(POST_EXIT_DRAIN_MS), &mut all)
            .await
            .is_ok();
        if !drained {
            match cgroup {
                Some(c) => c.kill_all(),
                None => signal_group(pgid, libc::SIGKILL),
            }
            if tokio::time::timeout(Duration::from_millis(500), &mut all)
                .await
                .is_err()
            {
                // A descendant outside our reach holds a pipe: stop reading.
                drop(all);
                for r in &readers {
                    r.abort();
                }
            }
        }
        let (stdout, stderr) = capture.finish();

        let (mut exit_code, signal, wait_error) = match status {
            Ok(s) => (s.code(), s.signal(), None),
            Err(e) => (
                None,
                None,
                Some(format!("waiting for the process failed: {e}")),
            ),
        };
        if timed_out && exit_code == Some(0) {
            exit_code = Some(124);
        }
        let signal_msg = signal.map(|s| format!("process killed by signal {}", signal_name(s)));
        let error = if cancelled {
            Some(match signal_msg {
                Some(m) => format!("run cancelled; {m}"),
                None => "run cancelled".to_string(),
            })
        } else {
            wait_error.or(signal_msg)
        };
        RunOutcome {
            success: exit_code == Some(0) && !timed_out && error.is_none(),
            exit_code,
            timed_out,
            stdout,
            stderr,
            error,
        }
    }

    /// TERM to the group and every process of the run's cgroup, grace, then KILL everything.
    async fn terminate(
        &self,
        child: &mut Child,
        pgid: i32,
        cgroup: Option<&RunCgroup>,
    ) -> std::io::Result<ExitStatus> {
        signal_group(pgid, libc::SIGTERM);
        if let Some(c) = cgroup {
            c.signal_all(libc::SIGTERM);
        }
        let grace = Duration::from_millis(self.config.term_grace_ms());
        let early = tokio::time::timeout(grace, child.wait()).await;
        // KILL the rest of the tree either way (descendants may ignore TERM).
        match cgroup {
            Some(c) => {
                if early.is_err() {
                    signal_group(pgid, libc::SIGKILL);
                }
                c.kill_all();
            }
            None => signal_group(pgid, libc::SIGKILL),
        }
        match early {
            Ok(s) => s,
            Err(_) => child.wait().await,
        }
    }
}
