//! One run, end to end: resolve the effective policy, refuse what the kernel cannot enforce,
//! prepare (private TMPDIR, Landlock ruleset, cgroups) in the parent, spawn with the
//! [`ChildSetup`] applied before exec (by `clone3(CLONE_INTO_CGROUP)` straight into the run's v2
//! cgroup, see [`super::spawn`], else fork + `pre_exec`), capture output, enforce the timeout (TERM to the group
//! and the cgroup → grace → KILL), drain (bounded) and map the result to the `system.run` payload.
//!
//! A run owns its processes: when the direct child has exited and output is drained, whatever is
//! left of its tree (backgrounded or `setsid`'d descendants) is killed and the run's cgroup
//! removed, so nothing outlives the run, a timeout, a cancellation or the node host.

use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::process::Child;
use tokio_util::sync::CancellationToken;

use super::cgroup::RunCgroup;
use super::child::{ChildSetup, MAX_RLIMITS};
use super::config::{EffectivePolicy, POST_EXIT_DRAIN_MS, SandboxConfig};
use super::landlock::{RulesetSpec, build_ruleset};
use super::output::{Capture, Stream};
use super::probe::KernelSupport;
use super::seccomp::{CompiledSet, compile_set, deny_unix_sockets};
use super::spawn::{self, Clone3Child, ExecSpec, SpawnError};
use super::view::{self, ChildView, NodeProtection, ViewInput, ViewPlan};
use super::{LaunchRequest, RunOutcome, SandboxError};

/// The launcher's state (see [`super::Launcher`]).
#[derive(Debug)]
pub struct LauncherInner {
    config: SandboxConfig,
    pub support: KernelSupport,
    /// What no confined run may change or read (state dir, service files, binary, PATH, HOME
    /// start-up files): gathered once, applied to every run's view.
    protection: NodeProtection,
    /// The compiled filter sets, indexed `[network][unix_sockets]` (see [`compile_set`]).
    seccomp: [[Arc<CompiledSet>; 2]; 2],
    /// `clone3` spawns are enabled (cleared after the kernel refused one).
    clone3: AtomicBool,
    clone3_spawns: AtomicU64,
    fork_spawns: AtomicU64,
}

/// The spawned direct child, by spawn path.
enum RunChild {
    Forked(Child),
    Cloned(Clone3Child),
}

impl RunChild {
    fn pid(&self) -> i32 {
        match self {
            Self::Forked(c) => c.id().and_then(|p| i32::try_from(p).ok()).unwrap_or(0),
            Self::Cloned(c) => c.id(),
        }
    }

    async fn wait(&mut self) -> std::io::Result<ExitStatus> {
        match self {
            Self::Forked(c) => c.wait().await,
            Self::Cloned(c) => c.wait().await,
        }
    }

    /// The output readers, as futures the supervising task polls itself. They are not spawned
    /// as tasks: a spawned reader can sit unpolled in a worker's LIFO slot while that worker does
    /// synchronous launch work for another run, and the bounded drain would then give up on
    /// bytes already in the pipe (a finished run reported with its output missing).
    fn pump_output(&mut self, capture: &Capture) -> Vec<Reader> {
        let mut readers: Vec<Reader> = Vec::with_capacity(2);
        match self {
            Self::Forked(c) => {
                if let Some(out) = c.stdout.take() {
                    readers.push(Box::pin(capture.clone().pump(Stream::Stdout, out)));
                }
                if let Some(err) = c.stderr.take() {
                    readers.push(Box::pin(capture.clone().pump(Stream::Stderr, err)));
                }
            }
            Self::Cloned(c) => {
                if let Some(out) = c.stdout.take() {
                    readers.push(Box::pin(capture.clone().pump(Stream::Stdout, out)));
                }
                if let Some(err) = c.stderr.take() {
                    readers.push(Box::pin(capture.clone().pump(Stream::Stderr, err)));
                }
            }
        }
        readers
    }
}

/// One output stream's reader (see [`RunChild::pump_output`]).
type Reader = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

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

/// When a run failed on a read-only place inside its writable roots, say why on stderr (one
/// line from the node), so "Read-only file system" in `$HOME` is not a mystery.
fn explain_read_only(outcome: &mut RunOutcome, plan: &ViewPlan) {
    if outcome.success
        || plan.read_only_inside.is_empty()
        || !(outcome.stderr.contains("Read-only file system")
            || outcome.stdout.contains("Read-only file system"))
    {
        return;
    }
    let mut places: Vec<String> = plan
        .read_only_inside
        .iter()
        .take(4)
        .map(|p| p.display().to_string())
        .collect();
    if plan.read_only_inside.len() > 4 {
        places.push(format!("and {} more", plan.read_only_inside.len() - 4));
    }
    if !outcome.stderr.is_empty() && !outcome.stderr.ends_with('\n') {
        outcome.stderr.push('\n');
    }
    outcome.stderr.push_str(&format!(
        "openclaw-node: read-only in this run although inside its writable roots: {} (the node \
         protects its state, service files, binary, PATH directories, and $HOME itself with its \
         dot-entries when a run can write $HOME: new top-level entries there are refused; work \
         in a subdirectory)\n",
        places.join(", ")
    ));
}

impl LauncherInner {
    pub fn new(config: &SandboxConfig, protection: NodeProtection) -> Result<Self, SandboxError> {
        config.validate()?;
        let compile = |network, unix_sockets| {
            compile_set(network, unix_sockets)
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
        let clone3 = config.use_clone3 != Some(false)
            && support.clone3_into_cgroup
            && support.cgroup.v2_base.is_some();
        support.spawn_path = if clone3 { "clone3" } else { "fork" };
        let note = if clone3 {
            "spawn: clone3(CLONE_INTO_CGROUP | CLONE_PIDFD) creates each child inside its v2 run \
             cgroup (no migration)"
                .to_string()
        } else if support.cgroup.v2_base.is_some() {
            let why = if config.use_clone3 == Some(false) {
                "`sandbox.useClone3: false`"
            } else {
                "clone3 with CLONE_INTO_CGROUP is unavailable (Linux < 5.7 or filtered)"
            };
            let cheap = if support.cgroup.v2_favordynmods {
                "cheap with `favordynmods`"
            } else {
                "one RCU grace period, often 3-16 ms on a busy machine; mounting cgroup2 with \
                 `favordynmods` makes it cheap"
            };
            format!(
                "spawn: fork + pre_exec, joining the v2 run cgroup by migration ({why}; {cheap})"
            )
        } else {
            "spawn: fork + pre_exec (no v2 run cgroup)".to_string()
        };
        support.cgroup.notes.push(note);
        if support.cgroup.v1_pids_base.is_some() {
            support.cgroup.notes.push(
                "v1 pids: the child joins its run cgroup by writing its own thread to `tasks` \
                 (single-thread migration, no grace period)"
                    .into(),
            );
        }
        Ok(Self {
            config: config.clone(),
            support,
            protection,
            seccomp: [
                [compile(false, false)?, compile(false, true)?],
                [compile(true, false)?, compile(true, true)?],
            ],
            clone3: AtomicBool::new(clone3),
            clone3_spawns: AtomicU64::new(0),
            fork_spawns: AtomicU64::new(0),
        })
    }

    pub fn spawn_path(&self) -> &'static str {
        if self.clone3.load(Ordering::Relaxed) {
            "clone3"
        } else {
            "fork"
        }
    }

    pub fn spawn_counts(&self) -> (u64, u64) {
        (
            self.clone3_spawns.load(Ordering::Relaxed),
            self.fork_spawns.load(Ordering::Relaxed),
        )
    }

    /// The fast path: `Ok(None)` when `clone3` is not usable for this run (fall back).
    fn try_clone3(
        &self,
        req: &LaunchRequest,
        env: &[(String, String)],
        cwd: &std::path::Path,
        setup: &ChildSetup,
        cgroup: Option<&RunCgroup>,
    ) -> Result<Option<RunChild>, std::io::Error> {
        if !self.clone3.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let Some(dir_fd) = cgroup.and_then(RunCgroup::v2_dir_fd) else {
            return Ok(None);
        };
        // The kernel puts the child into the v2 cgroup: no `cgroup.procs` write.
        let mut setup = setup.clone();
        setup.cgroup_procs[0] = -1;
        let spec = ExecSpec {
            argv: &req.argv,
            env,
            cwd,
        };
        match spawn::spawn(&spec, &setup, dir_fd) {
            Ok(c) => {
                self.clone3_spawns.fetch_add(1, Ordering::Relaxed);
                Ok(Some(RunChild::Cloned(c)))
            }
            Err(SpawnError::Failed(e)) => Err(e),
            Err(SpawnError::Unsupported(e)) => {
                tracing::warn!(
                    "clone3(CLONE_INTO_CGROUP) refused ({}); falling back to fork + cgroup \
                     migration",
                    std::io::Error::from_raw_os_error(e)
                );
                self.clone3.store(false, Ordering::Relaxed);
                Ok(None)
            }
        }
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
            c.max_file_size_bytes().map(|n| {
                // Never above the node's own hard limit (raising it needs CAP_SYS_RESOURCE).
                let hard =
                    nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_FSIZE)
                        .map_or(u64::MAX, |(_, hard)| hard);
                (libc::RLIMIT_FSIZE, n.min(hard))
            }),
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
        if policy.profile.confines()
            && let Some(msg) = view::refuse_cwd(
                &cwd,
                self.protection.state_dir.as_deref(),
                &policy.writable_roots,
            )
        {
            return Ok(RunOutcome::spawn_failure(msg));
        }

        let run_as = self.config.run_as.map(|r| (r.uid, r.gid.unwrap_or(r.uid)));
        let tmp = tempfile::Builder::new()
            .prefix("openclaw-run-")
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .tempdir()
            .map_err(|e| SandboxError::Setup(format!("cannot create the private TMPDIR: {e}")))?;
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(tmp.path(), Some(uid), Some(gid)).map_err(|e| {
                SandboxError::Setup(format!("cannot hand the private TMPDIR to runAs: {e}"))
            })?;
        }

        // The filesystem view: mounts where the kernel lets us, else (unprivileged node only)
        // the same plan as Landlock write rules.
        let run_path: Vec<std::path::PathBuf> = req
            .env
            .iter()
            .rev()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| {
                std::env::split_paths(v)
                    .filter(|p| p.is_absolute())
                    .collect()
            })
            .unwrap_or_default();
        let (view_plan, child_view) = if policy.profile.confines() {
            let mut writable = vec![cwd.clone(), tmp.path().to_path_buf()];
            writable.extend(policy.writable_roots.iter().cloned());
            let closed_only = self.support.view.is_none();
            let plan = view::plan_view(&ViewInput {
                writable: &writable,
                run_path_dirs: &run_path,
                node: &self.protection,
                strict: policy.profile == super::Profile::Strict,
                closed_only,
                sockets: view::host_unix_sockets(),
            })
            .map_err(SandboxError::Setup)?;
            let child = if closed_only {
                None
            } else {
                // SAFETY: geteuid(2) has no arguments.
                let userns = unsafe { libc::geteuid() } != 0;
                Some(Arc::new(
                    ChildView::compile(&plan, &cwd, userns).map_err(SandboxError::Setup)?,
                ))
            };
            (Some(plan), child)
        } else {
            (None, None)
        };
        let fallback_writes: Option<Vec<std::path::PathBuf>> = match (&view_plan, &child_view) {
            (Some(plan), None) => Some(
                plan.binds
                    .iter()
                    .filter(|(_, ro)| !ro)
                    .map(|(p, _)| p.clone())
                    .collect(),
            ),
            _ => None,
        };

        // `strict` reads only system directories, the cwd and the configured readable roots —
        // plus every directory on the run's PATH: the policy resolved each bare name on that
        // PATH, so the shell must find the same file there, not a later entry of the same name
        // in a directory the view left readable. (The PATH directories are read-only in the
        // view anyway.)
        let mut readable = policy.readable_roots.clone();
        if policy.profile == super::Profile::Strict {
            for d in &run_path {
                // `/` on a PATH would void strict's read restriction: never granted that way.
                if d.parent().is_some() && d.is_dir() && !readable.contains(d) {
                    readable.push(d.clone());
                }
            }
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
                    readable_roots: &readable,
                    write_only: fallback_writes.as_deref(),
                })
                .map_err(SandboxError::Unavailable)?,
            ),
            _ => None,
        };

        let cgroup_wanted = self.support.cgroup.v2_base.is_some()
            || self.support.cgroup.v1_pids_base.is_some()
            || self.support.cgroup.v1_memory_base.is_some();
        let mut cgroup = if cgroup_wanted {
            Some(
                RunCgroup::create(
                    &self.support.cgroup,
                    self.config.max_processes(),
                    self.config.max_memory_bytes(),
                )
                .map_err(SandboxError::Setup)?,
            )
        } else {
            None
        };

        // Without a view (which masks every host socket) and before Landlock mediates connect
        // to pathname sockets, a run could reach any host daemon: no UNIX sockets then, unless
        // `sandbox.allowUnixSockets`.
        let unix_sockets = !deny_unix_sockets(
            child_view.is_some(),
            self.support.landlock_abi,
            self.config.allow_unix_sockets(),
        );
        let seccomp = policy
            .profile
            .confines()
            .then(|| self.seccomp[usize::from(policy.network)][usize::from(unix_sockets)].clone());
        let setup = ChildSetup {
            cgroup_procs: cgroup.as_ref().map_or([-1, -1, -1], |c| c.procs_fds()),
            rlimits: self.rlimits(),
            drop_caps: policy.profile.confines(),
            run_as,
            no_new_privs: policy.profile.confines(),
            landlock_fd: landlock_fd
                .as_ref()
                .map_or(-1, std::os::fd::AsRawFd::as_raw_fd),
            seccomp,
            view: child_view.clone(),
        };

        let mut env: Vec<(String, String)> = req
            .env
            .iter()
            .filter(|(k, _)| k != "TMPDIR")
            .cloned()
            .collect();
        env.push(("TMPDIR".into(), tmp.path().to_string_lossy().into_owned()));
        let spawned = match self.try_clone3(&req, &env, &cwd, &setup, cgroup.as_ref()) {
            Ok(Some(c)) => Ok(c),
            Err(e) => Err(e),
            Ok(None) => self.spawn_fork(&req, argv0, &tmp, &cwd, setup),
        };
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
                let why = e
                    .raw_os_error()
                    .and_then(|c| child_view.as_ref().and_then(|v| v.describe_error(c)));
                return Ok(RunOutcome::spawn_failure(match why {
                    Some(why) => format!("spawn {argv0} failed: {why}"),
                    None => format!("spawn {argv0} failed: {e}"),
                }));
            }
        };
        let mut outcome = self
            .supervise(&mut child, &policy, &req, cgroup.as_ref(), cancel)
            .await;
        if let Some(plan) = &view_plan {
            explain_read_only(&mut outcome, plan);
        }
        if cgroup.as_ref().is_some_and(RunCgroup::oom_killed) {
            let why = format!(
                "out of memory: the run exceeded its memory bound of {} bytes \
                 (`sandbox.maxMemoryBytes`) and the kernel killed it",
                self.config.max_memory_bytes()
            );
            outcome.success = false;
            outcome.error = Some(match outcome.error.take() {
                Some(e) => format!("{why}; {e}"),
                None => why,
            });
        }
        if let Some(c) = cgroup.as_mut() {
            c.shutdown().await;
        }
        drop(tmp);
        Ok(outcome)
    }

    /// The fallback path: `tokio::process` with [`ChildSetup::apply`] in `pre_exec`.
    fn spawn_fork(
        &self,
        req: &LaunchRequest,
        argv0: &str,
        tmp: &tempfile::TempDir,
        cwd: &std::path::Path,
        setup: ChildSetup,
    ) -> std::io::Result<RunChild> {
        let mut cmd = tokio::process::Command::new(argv0);
        cmd.args(req.argv.iter().skip(1))
            .env_clear()
            .envs(req.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("TMPDIR", tmp.path())
            .current_dir(cwd)
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
        let child = cmd.spawn()?;
        self.fork_spawns.fetch_add(1, Ordering::Relaxed);
        Ok(RunChild::Forked(child))
    }

    async fn supervise(
        &self,
        child: &mut RunChild,
        policy: &EffectivePolicy,
        req: &LaunchRequest,
        cgroup: Option<&RunCgroup>,
        cancel: CancellationToken,
    ) -> RunOutcome {
        let pgid = child.pid();
        let capture = Capture::new();
        // Readers are driven by this task, concurrently with the wait (a child blocks once a
        // pipe is full), then through the bounded drain.
        let mut readers =
            std::pin::pin!(futures_util::future::join_all(child.pump_output(&capture)));
        let mut readers_done = false;

        let timeout = policy.timeout_ms(req.timeout_ms);
        let mut expire = std::pin::pin!(async {
            match timeout {
                Some(ms) => tokio::time::sleep(Duration::from_millis(ms)).await,
                None => std::future::pending().await,
            }
        });
        let stop = loop {
            tokio::select! {
                s = child.wait() => break Stop::Exited(s),
                () = &mut expire => break Stop::TimedOut,
                () = cancel.cancelled() => break Stop::Cancelled,
                _ = &mut readers, if !readers_done => readers_done = true,
            }
        };
        let (status, timed_out, cancelled) = match stop {
            Stop::Exited(s) => (s, false, false),
            stop => {
                // Keep reading during TERM → grace → KILL: a child that writes while it shuts
                // down must not block on a full pipe.
                let mut term = std::pin::pin!(self.terminate(child, pgid, cgroup));
                let status = loop {
                    tokio::select! {
                        s = &mut term => break s,
                        _ = &mut readers, if !readers_done => readers_done = true,
                    }
                };
                let timed_out = matches!(stop, Stop::TimedOut);
                (status, timed_out, !timed_out)
            }
        };

        // Bounded drain: descendants may still hold the pipes.
        if !readers_done {
            let drained =
                tokio::time::timeout(Duration::from_millis(POST_EXIT_DRAIN_MS), &mut readers)
                    .await
                    .is_ok();
            if !drained {
                match cgroup {
                    Some(c) => c.kill_all(),
                    None => signal_group(pgid, libc::SIGKILL),
                }
                // A descendant outside our reach may still hold a pipe: after this, stop
                // reading (the readers are dropped with this frame).
                let _ = tokio::time::timeout(Duration::from_millis(500), &mut readers).await;
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
        child: &mut RunChild,
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
