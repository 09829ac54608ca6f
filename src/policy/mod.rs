//! The policy engine: the exec-approvals store and the pure `system.run` decision.
//!
//! Owns everything in `spec/exec-approvals.md`: the approvals file (location, schema,
//! normalisation, atomic writes, hash snapshots, redaction), policy resolution, request analysis,
//! the POSIX shell payload analyser, executable resolution, wrappers, allowlist matching, safe bins,
//! approval plans, and allow-always persistence. It never spawns processes: it returns an
//! [`ExecPlan`] that the sandbox launcher enforces.
//!
//! Layers:
//! - [`approvals`]: the approvals file: schema, parsing, and the store on disk →
//!   [`approvals::Snapshot`] (normalised, hashed).
//! - [`compiled`]: a snapshot → immutable [`compiled::CompiledPolicy`] (globsets per agent),
//!   cached by hash in [`PolicyEngine`].
//! - [`decide`]: the pure function (compiled policy, request, [`fsview::FsView`], context) →
//!   self-explaining [`decide::Decision`].
//! - [`PolicyEngine`]: the node-facing contract; applies side effects (allow-always persistence,
//!   `lastUsed*` bookkeeping) and maps decisions to [`RunDecision`].
//!
//! Requested (gateway-side) policy: `tools.exec.security` / `tools.exec.ask` (and per-agent
//! `agents.list[].tools.exec.*`) from `openclaw.json` when present, else the conservative
//! built-ins `allowlist / on-miss` with ask fallback `deny` (EA §3.2 recommendation).
//! `approvalSource` (ask-fallback / auto-review, [newest]) is not honoured: such runs need a real
//! approval or the allowlist.
#![forbid(unsafe_code)]

pub mod analysis;
pub mod approvals;
pub mod compiled;
pub mod decide;
pub mod env;
pub mod exe;
pub mod explain;
pub mod fsview;
pub mod inline_eval;
pub mod matcher;
pub mod persist;
pub mod plan;
pub mod resolve;
pub mod safe_bins;
pub mod types;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use serde_json::{Value, json};

use approvals::{ApprovalsFile, FileStatus, Store};
use compiled::CompiledPolicy;
use decide::{Context, Decision, Outcome, SkillTrust};
use fsview::{FsView, RealFs};
use resolve::Requested;
use safe_bins::SafeBinConfig;
use types::{Ask, Security};
pub use types::{DenyReason, ErrorKind};

/// An error the engine reports for a node command (the commands layer maps `kind` to the wire
/// error code).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}: {message}", kind.wire_code())]
pub struct PolicyError {
    pub kind: ErrorKind,
    pub message: String,
    /// Structure the caller may pass on (e.g. the rawCommand mismatch details).
    pub details: Option<Value>,
}

impl PolicyError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            details: None,
        }
    }

    fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidRequest, message)
    }
}

impl From<approvals::StoreError> for PolicyError {
    fn from(e: approvals::StoreError) -> Self {
        Self::new(e.kind(), e.to_string())
    }
}

/// Where the engine reads its inputs.
#[derive(Debug, Clone)]
pub struct PolicyPaths {
    /// `<state>/exec-approvals.json`.
    pub approvals: PathBuf,
    /// The state directory (legacy fallbacks, `openclaw.json` for `tools.exec.*`).
    pub state_dir: PathBuf,
}

/// What the launcher must run once the engine allowed it. `argv` is exactly what was analysed.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecPlan {
    pub argv: Vec<String>,
    /// Working directory (None: the node's own cwd).
    pub cwd: Option<PathBuf>,
    /// The complete child environment (sanitised inherited env + accepted overrides + markers).
    pub env: Vec<(String, String)>,
    /// Requested timeout (`timeoutMs > 0`), before the launcher applies its default/maximum.
    pub timeout_ms: Option<u64>,
    /// The agent this run is attributed to (`main` when absent).
    pub agent_id: String,
}

/// Identity of a run for `exec.denied` / `exec.finished` events.
#[derive(Debug, Clone, PartialEq)]
pub struct RunIdentity {
    pub session_key: String,
    pub run_id: String,
    /// Canonical command text (`formatExecCommand(argv)`).
    pub command_text: String,
    /// `suppressNotifyOnExit` / legacy `wakeOnExit`, echoed in `exec.finished` when present.
    pub suppress_notify_on_exit: Option<bool>,
    pub wake_on_exit: Option<bool>,
}

/// The outcome of `system.run` request analysis + policy decision.
#[derive(Debug, Clone, PartialEq)]
pub enum RunDecision {
    /// Malformed request: reply `INVALID_REQUEST` with `message`; no event.
    Invalid {
        message: String,
        details: Option<Value>,
    },
    /// Refused: emit `exec.denied {reason}` and reply `SYSTEM_RUN_DENIED` with `message`
    /// (which says, for a file that fails closed or a grant that could not be written, which
    /// file and what is wrong).
    Denied {
        reason: DenyReason,
        message: String,
        run: RunIdentity,
    },
    /// Allowed: the launcher runs `plan`, then `exec.finished` is emitted.
    Allowed { plan: ExecPlan, run: RunIdentity },
}

/// Gateway-side settings read from `openclaw.json` (`tools.exec.*`).
#[derive(Debug, Clone, Default)]
pub struct ExecConfig {
    pub requested: Requested,
    pub strict_inline_eval: bool,
    pub safe_bins: SafeBinConfig,
}

impl ExecConfig {
    /// Extract `tools.exec.*` (with `agents.list[id].tools.exec.*` overriding) from a config value.
    pub fn from_openclaw_json(cfg: &Value, agent_id: &str) -> Self {
        let global = cfg.pointer("/tools/exec");
        let agent = cfg
            .pointer("/agents/list")
            .and_then(Value::as_array)
            .and_then(|l| {
                l.iter()
                    .find(|a| a.get("id").and_then(Value::as_str) == Some(agent_id))
            })
            .and_then(|a| a.pointer("/tools/exec"));
        let get = |k: &str| -> Option<(&Value, String)> {
            if let Some(v) = agent.and_then(|a| a.get(k)) {
                return Some((v, format!("agents.list[{agent_id}].tools.exec.{k}")));
            }
            global
                .and_then(|g| g.get(k))
                .map(|v| (v, format!("tools.exec.{k}")))
        };
        let mut requested = Requested::default();
        if let Some((v, src)) = get("security")
            && let Some(s) = v.as_str().and_then(Security::parse)
        {
            requested.security = s;
            requested.security_source = src;
            requested.security_configured = true;
        }
        if let Some((v, src)) = get("ask")
            && let Some(a) = v.as_str().and_then(Ask::parse)
        {
            requested.ask = a;
            requested.ask_source = src;
            requested.ask_configured = true;
        }
        let strict_inline_eval = get("strictInlineEval")
            .and_then(|(v, _)| v.as_bool())
            .unwrap_or(false);
        let safe_bins = SafeBinConfig::new(
            get("safeBins").map(|(v, _)| v),
            get("safeBinProfiles").map(|(v, _)| v),
            get("safeBinTrustedDirs").map(|(v, _)| v),
        );
        Self {
            requested,
            strict_inline_eval,
            safe_bins,
        }
    }
}

/// The engine handle the node holds. Cheap to share (`Arc`); recompiles only when the approvals
/// file's hash changes.
#[derive(Debug)]
pub struct PolicyEngine {
    paths: PolicyPaths,
    node_path_env: String,
    store: Store,
    fs: Arc<dyn FsView>,
    inherited_env: Vec<(String, String)>,
    cache: Mutex<Option<Arc<CompiledPolicy>>>,
    skills: RwLock<Vec<SkillTrust>>,
    config_override: Option<Value>,
}

fn legacy_path(approvals: &Path) -> Option<PathBuf> {
    std::env::var_os("OPENCLAW_STATE_DIR").filter(|v| !v.is_empty())?;
    let home = std::env::var_os("HOME").filter(|v| !v.is_empty())?;
    let legacy = PathBuf::from(home)
        .join(".openclaw")
        .join("exec-approvals.json");
    (legacy != approvals).then_some(legacy)
}

impl PolicyEngine {
    /// `node_path_env` is the node's own PATH (advertised as `pathEnv`), used for resolution.
    pub fn new(paths: PolicyPaths, node_path_env: String) -> Self {
        let home = std::env::var_os("HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        let store = Store::new(paths.approvals.clone())
            .with_legacy(legacy_path(&paths.approvals))
            .with_home(home);
        let node_path_env = if node_path_env.trim().is_empty() {
            env::DEFAULT_NODE_PATH.to_string()
        } else {
            node_path_env
        };
        Self {
            paths,
            node_path_env,
            store,
            fs: Arc::new(RealFs::from_env()),
            inherited_env: std::env::vars().collect(),
            cache: Mutex::new(None),
            skills: RwLock::new(Vec::new()),
            config_override: None,
        }
    }

    /// Use another filesystem view (tests).
    pub fn with_filesystem(mut self, fs: Arc<dyn FsView>) -> Self {
        self.fs = fs;
        self
    }

    /// Replace the inherited process environment (tests).
    pub fn with_inherited_env(mut self, env: Vec<(String, String)>) -> Self {
        self.inherited_env = env;
        self
    }

    /// Use this `openclaw.json` value instead of reading the file (tests, CLI).
    pub fn with_config(mut self, cfg: Value) -> Self {
        self.config_override = Some(cfg);
        self
    }

    /// Replace the legacy fallback file (default: `~/.openclaw/exec-approvals.json` when
    /// `OPENCLAW_STATE_DIR` is set).
    pub fn with_legacy_approvals(mut self, legacy: Option<PathBuf>) -> Self {
        self.store = self.store.with_legacy(legacy);
        self
    }

    /// Replace the skill-bin trust entries (EA §11; fed from `skills.bins`).
    pub fn set_skill_bins(&self, skills: Vec<SkillTrust>) {
        if let Ok(mut s) = self.skills.write() {
            *s = skills;
        }
    }

    /// The node's PATH used for executable resolution.
    pub fn node_path_env(&self) -> &str {
        &self.node_path_env
    }

    /// The approvals store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The exec settings for an agent from `openclaw.json` (built-ins when absent/invalid).
    pub fn exec_config(&self, agent_id: &str) -> ExecConfig {
        let cfg = match &self.config_override {
            Some(v) => v.clone(),
            None => match crate::config::load_openclaw_json(&self.paths.state_dir) {
                Ok(v) => v,
                Err(e) => {
                    tracing::warn!(error = %e, "ignoring openclaw.json for tools.exec; using built-in defaults");
                    Value::Null
                }
            },
        };
        ExecConfig::from_openclaw_json(&cfg, agent_id)
    }

    /// The compiled policy for the file as it is now (recompiled only when its hash changed).
    pub fn compiled(&self) -> Arc<CompiledPolicy> {
        let snap = match self.store.read_snapshot() {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "exec approvals unreadable; failing closed");
                return Arc::new(CompiledPolicy::compile(
                    ApprovalsFile::fail_closed(),
                    String::new(),
                    FileStatus::Invalid(e.to_string()),
                    self.fs.home().as_deref(),
                ));
            }
        };
        let key = match &snap.status {
            FileStatus::Legacy(p) => format!("legacy:{}:{}", p.display(), snap.hash),
            _ => snap.hash.clone(),
        };
        if let Ok(guard) = self.cache.lock()
            && let Some(c) = guard.as_ref()
            && c.hash == key
        {
            return c.clone();
        }
        let compiled = Arc::new(CompiledPolicy::compile(
            snap.file,
            key,
            snap.status,
            self.fs.home().as_deref(),
        ));
        if let Ok(mut guard) = self.cache.lock() {
            *guard = Some(compiled.clone());
        }
        compiled
    }

    /// Decide a decoded request without side effects.
    pub fn decide_request(&self, req: &plan::RunRequest) -> Decision {
        self.decide_with(req, &self.compiled())
    }

    /// [`Self::decide_request`] against an already compiled policy.
    fn decide_with(&self, req: &plan::RunRequest, compiled: &CompiledPolicy) -> Decision {
        let agent = req.agent_id.as_deref().unwrap_or(resolve::DEFAULT_AGENT_ID);
        let cfg = self.exec_config(agent);
        let skills = self.skills.read().map(|s| s.clone()).unwrap_or_default();
        let ctx = Context {
            requested: cfg.requested,
            strict_inline_eval: cfg.strict_inline_eval,
            safe_bins: &cfg.safe_bins,
            skills: &skills,
            node_path: &self.node_path_env,
            inherited_env: &self.inherited_env,
        };
        decide::decide(compiled, req, &ctx, self.fs.as_ref())
    }

    /// `system.run` params → [`RunDecision`]: decode once, then [`Self::evaluate`].
    pub fn evaluate_run(&self, params: &Value) -> RunDecision {
        match plan::decode(params) {
            Ok(req) => self.evaluate(&req),
            Err(message) => RunDecision::Invalid {
                message,
                details: None,
            },
        }
    }

    /// The full `system.run` pipeline up to (not including) the spawn for a decoded request:
    /// analyse, decide, persist allow-always grants. The verdict is typed; the explanation
    /// ([`Self::decide_request`]'s [`Decision`]) stays apart.
    pub fn evaluate(&self, req: &plan::RunRequest) -> RunDecision {
        if let Err(message) = req.validate() {
            return RunDecision::Invalid {
                message,
                details: None,
            };
        }
        let run = RunIdentity {
            session_key: req.session_key.clone().unwrap_or_else(|| "node".into()),
            run_id: req
                .run_id
                .clone()
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            command_text: analysis::format_exec_command(&req.argv),
            suppress_notify_on_exit: req.suppress_notify_on_exit,
            wake_on_exit: req.wake_on_exit,
        };
        // One snapshot of the approvals file serves the decision and its explanation.
        let compiled = self.compiled();
        let d = self.decide_with(req, &compiled);
        match d.outcome {
            Outcome::Invalid => {
                return RunDecision::Invalid {
                    message: d.message,
                    details: d.details,
                };
            }
            Outcome::Allow => {}
            _ => {
                let reason = DenyReason::parse(&d.reason).unwrap_or_else(|| {
                    tracing::error!(reason = %d.reason, "unknown deny reason; reporting approval-required");
                    DenyReason::ApprovalRequired
                });
                return RunDecision::Denied {
                    message: self.explain_fail_closed(&compiled, reason, d.message),
                    reason,
                    run,
                };
            }
        }
        if let Err(e) = persist::apply(&self.store, &d) {
            tracing::warn!(error = %e, "could not persist allow-always patterns");
            let reason = DenyReason::ApprovalStateWriteFailed;
            return RunDecision::Denied {
                message: self.explain_fail_closed(
                    &compiled,
                    reason,
                    "SYSTEM_RUN_DENIED: approval state could not be persisted".into(),
                ),
                reason,
                run,
            };
        }
        RunDecision::Allowed {
            plan: ExecPlan {
                argv: d.exec_argv,
                cwd: d.cwd,
                env: d.env,
                timeout_ms: req.timeout_ms,
                agent_id: d.agent_id,
            },
            run,
        }
    }

    /// A denial caused by an unusable approvals file (unreadable, not a file, invalid content)
    /// or by an allow-always grant that could not be written says so: the operator sees which
    /// file and what is wrong with it, not only `security=deny`.
    fn explain_fail_closed(
        &self,
        compiled: &CompiledPolicy,
        reason: DenyReason,
        message: String,
    ) -> String {
        let path = self.store.path().display().to_string();
        if reason == DenyReason::ApprovalStateWriteFailed {
            return format!(
                "{message} (could not write exec approvals {path}: full disk, read-only or \
                 unwritable directory; the node log has the exact error)"
            );
        }
        let FileStatus::Invalid(problem) = &compiled.status else {
            return message;
        };
        let problem = if problem.contains(&path) {
            problem.clone()
        } else {
            format!("exec approvals {path} is invalid: {problem}")
        };
        format!(
            "{message} (failing closed: {problem}; fix the file or replace it with \
             system.execApprovals.set)"
        )
    }

    /// `system.run.prepare` params (wire JSON) → [`Self::prepare_run`].
    pub fn prepare(&self, params: &Value) -> Result<Value, PolicyError> {
        let req = plan::decode(params).map_err(PolicyError::invalid)?;
        self.prepare_run(&req)
    }

    /// `system.run.prepare` for a decoded request: returns `{plan: {...}}`.
    pub fn prepare_run(&self, req: &plan::RunRequest) -> Result<Value, PolicyError> {
        let agent = req.agent_id.as_deref().unwrap_or(resolve::DEFAULT_AGENT_ID);
        let cfg = self.exec_config(agent);
        decide::prepare(req, &cfg.requested, &self.node_path_env, self.fs.as_ref())
            .map_err(PolicyError::invalid)
    }

    /// `system.execApprovals.get` params (wire JSON) → [`Self::approvals`].
    pub fn approvals_get(&self, params: &Value) -> Result<Value, PolicyError> {
        self.approvals(&ApprovalsGet::decode(params)?)
    }

    /// `system.execApprovals.get`: returns `{path, exists, hash, file}` (token redacted).
    pub fn approvals(&self, q: &ApprovalsGet) -> Result<Value, PolicyError> {
        let include = q.include_resolved_defaults;
        let snap = self.store.ensure()?;
        let mut out = snap.to_rpc_value();
        if include && let Value::Object(o) = &mut out {
            let cfg = self.exec_config(resolve::DEFAULT_AGENT_ID);
            let host = resolve::host_policy(&snap.file, resolve::DEFAULT_AGENT_ID, &cfg.requested);
            o.insert(
                "resolvedDefaults".into(),
                json!({"security": host.security, "ask": host.ask, "askFallback": host.ask_fallback,
                       "autoAllowSkills": host.auto_allow_skills}),
            );
        }
        Ok(out)
    }

    /// `system.execApprovals.set {file, baseHash}`: returns the fresh redacted snapshot. A remote
    /// `socket.token` is ignored (the node keeps its own token); `baseHash` is checked under the
    /// lock.
    pub fn approvals_set(&self, params: &Value) -> Result<Value, PolicyError> {
        self.set_approvals(&ApprovalsSet::decode(params)?)
    }

    /// `system.execApprovals.set` for decoded params.
    pub fn set_approvals(&self, s: &ApprovalsSet) -> Result<Value, PolicyError> {
        let snap = self.store.set_remote(&s.file, s.base_hash.as_deref())?;
        Ok(snap.to_rpc_value())
    }
}

/// Decoded `system.execApprovals.get` params.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApprovalsGet {
    /// Add `resolvedDefaults` (the effective defaults for the default agent) to the snapshot.
    pub include_resolved_defaults: bool,
}

impl ApprovalsGet {
    /// `{includeResolvedDefaults?: boolean}` (null or absent: false).
    pub fn decode(params: &Value) -> Result<Self, PolicyError> {
        let include_resolved_defaults = match params.get("includeResolvedDefaults") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(PolicyError::invalid(
                    "includeResolvedDefaults must be a boolean",
                ));
            }
        };
        Ok(Self {
            include_resolved_defaults,
        })
    }
}

/// Decoded `system.execApprovals.set` params.
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalsSet {
    /// The new approvals file (an object; validated and normalised by the store).
    pub file: Value,
    /// The hash the editor read (`baseHash`): the set applies only if the file still has it.
    pub base_hash: Option<String>,
}

impl ApprovalsSet {
    /// `{file: object, baseHash?: string}`.
    pub fn decode(params: &Value) -> Result<Self, PolicyError> {
        let (file, base) = decode_approvals_set(params)?;
        Ok(Self {
            file: file.clone(),
            base_hash: base.map(str::to_string),
        })
    }
}

/// Decode `system.execApprovals.set` params: `(file, baseHash)`; `file` must be an object.
pub fn decode_approvals_set(params: &Value) -> Result<(&Value, Option<&str>), PolicyError> {
    let file = params
        .get("file")
        .filter(|f| f.is_object())
        .ok_or_else(|| PolicyError::invalid("exec approvals file required"))?;
    let base = params.get("baseHash").and_then(Value::as_str);
    Ok((file, base))
}
