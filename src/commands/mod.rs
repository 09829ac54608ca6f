//! Node commands as thin adapters: decode the invoke, call the policy engine / launcher / browser
//! proxy, shape the result and events exactly as the official host does.
//!
//! Commands advertised (exactly those implemented): `system.run.prepare`, `system.run`,
//! `system.which`, `system.execApprovals.get`, `system.execApprovals.set`, and `browser.proxy`
//! when the browser proxy is enabled (re-checked on every connect). Anything else is answered
//! `UNAVAILABLE` "command not supported".
//!
//! `system.run` (spec node-host-surface §6.2): policy decision (on a blocking thread: it may do
//! file IO) → `Denied`: `exec.denied` event, then error `SYSTEM_RUN_DENIED` with the engine's
//! message (the official host's code on the wire) → `Allowed`: the launcher runs the plan with the
//! invoke's cancellation token (deadline / disconnect / shutdown kill the tree), then
//! `exec.finished`, then the result. Events are queued before the result on the same ordered
//! connection, and at most once per `runId` (a replayed `runId` is refused without running).
//! A launcher error (the sandbox cannot start the run) is treated like a denial: `exec.denied`
//! with reason `sandbox-unavailable`, then `UNAVAILABLE` "SYSTEM_RUN_DENIED: <why>" — nothing ran,
//! so no `exec.finished`.

use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::browser::BrowserProxy;
use crate::gateway::frames::InvokeRequest;
use crate::gateway::invoke::{InvokeContext, InvokeHandler};
use crate::policy::store::FileStatus;
use crate::policy::{ExecPlan, PolicyEngine, PolicyError, RunDecision, RunIdentity};
use crate::sandbox::{LaunchRequest, Launcher, RunOutcome, SandboxError};

pub use crate::gateway::invoke::InvokeError;

/// Policy errors carry their wire code; the commands layer maps them onto the invoke result.
impl From<PolicyError> for InvokeError {
    fn from(e: PolicyError) -> Self {
        Self {
            code: e.code.to_string(),
            message: e.message,
            details: e.details,
        }
    }
}

/// Largest `paramsJSON` accepted (bigger → `INVALID_REQUEST`, the connection stays up).
pub const MAX_PARAMS_BYTES: usize = 4 * 1024 * 1024;
/// Largest number of names in one `system.which`.
pub const MAX_WHICH_BINS: usize = 1024;
/// `exec.finished.output` tail length (chars).
pub const EVENT_OUTPUT_CHARS: usize = 20_000;
/// How many `runId`s are remembered for the once-per-run guarantee.
const RUN_ID_MEMORY: usize = 4096;
/// PATH used when the node has none.
pub use crate::util::DEFAULT_PATH;

/// The policy side of the adapters (implemented by [`PolicyEngine`]; injectable for tests).
/// Calls are synchronous and may do file IO: the adapters run them on blocking threads.
pub trait PolicyBackend: Send + Sync + 'static {
    fn evaluate_run(&self, params: &Value) -> RunDecision;
    fn prepare(&self, params: &Value) -> Result<Value, PolicyError>;
    fn approvals_get(&self, params: &Value) -> Result<Value, PolicyError>;
    fn approvals_set(&self, params: &Value) -> Result<Value, PolicyError>;
}

impl PolicyBackend for PolicyEngine {
    fn evaluate_run(&self, params: &Value) -> RunDecision {
        match PolicyEngine::evaluate_run(self, params) {
            RunDecision::Denied {
                reason,
                message,
                run,
            } => RunDecision::Denied {
                message: explain_fail_closed(self, &reason, message),
                reason,
                run,
            },
            other => other,
        }
    }
    fn prepare(&self, params: &Value) -> Result<Value, PolicyError> {
        PolicyEngine::prepare(self, params)
    }
    fn approvals_get(&self, params: &Value) -> Result<Value, PolicyError> {
        PolicyEngine::approvals_get(self, params)
    }
    fn approvals_set(&self, params: &Value) -> Result<Value, PolicyError> {
        PolicyEngine::approvals_set(self, params)
    }
}

/// A denial caused by an unusable approvals file (unreadable, not a file, invalid content) or by
/// an allow-always decision that could not be written says so: the operator sees which file and
/// what is wrong with it, not only `security=deny`.
fn explain_fail_closed(engine: &PolicyEngine, reason: &str, message: String) -> String {
    let path = engine.store().path().display().to_string();
    if reason == "approval-state-write-failed" {
        return format!(
            "{message} (could not write exec approvals {path}: full disk, read-only or \
             unwritable directory; the node log has the exact error)"
        );
    }
    let FileStatus::Invalid(problem) = &engine.compiled().status else {
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

/// The launcher side (implemented by [`Launcher`]; injectable for tests).
pub trait LaunchBackend: Send + Sync + 'static {
    fn launch(
        &self,
        req: LaunchRequest,
        cancel: CancellationToken,
    ) -> impl Future<Output = Result<RunOutcome, SandboxError>> + Send;
}

impl LaunchBackend for Launcher {
    fn launch(
        &self,
        req: LaunchRequest,
        cancel: CancellationToken,
    ) -> impl Future<Output = Result<RunOutcome, SandboxError>> + Send {
        self.run(req, cancel)
    }
}

/// The node's command set.
#[derive(Debug)]
pub struct NodeCommands<P: PolicyBackend = PolicyEngine, L: LaunchBackend = Launcher> {
    policy: Arc<P>,
    launcher: Arc<L>,
    browser: Option<Arc<BrowserProxy>>,
    path_env: String,
    runs: Mutex<RunIds>,
}

#[derive(Debug, Default)]
struct RunIds {
    order: VecDeque<String>,
    set: HashSet<String>,
}

impl RunIds {
    /// `true` the first time `id` is seen.
    fn claim(&mut self, id: &str) -> bool {
        if self.set.contains(id) {
            return false;
        }
        if self.order.len() >= RUN_ID_MEMORY
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        self.order.push_back(id.to_string());
        self.set.insert(id.to_string());
        true
    }
}

impl<P: PolicyBackend, L: LaunchBackend> NodeCommands<P, L> {
    /// `path_env`: the node's PATH (used by `system.which`; empty → [`DEFAULT_PATH`]).
    pub fn new(
        policy: Arc<P>,
        launcher: Arc<L>,
        browser: Option<Arc<BrowserProxy>>,
        path_env: String,
    ) -> Self {
        let path_env = if path_env.is_empty() {
            DEFAULT_PATH.to_string()
        } else {
            path_env
        };
        Self {
            policy,
            launcher,
            browser,
            path_env,
            runs: Mutex::new(RunIds::default()),
        }
    }

    fn browser_enabled(&self) -> bool {
        self.browser.as_ref().is_some_and(|b| b.enabled())
    }

    /// Dispatch one invoke.
    pub async fn dispatch(
        &self,
        command: &str,
        params_json: Option<&str>,
        ctx: &InvokeContext,
    ) -> Result<Value, InvokeError> {
        let text = self.dispatch_json(command, params_json, ctx).await?;
        serde_json::from_str(&text)
            .map_err(|e| InvokeError::unavailable(format!("invalid result JSON: {e}")))
    }

    /// Dispatch one invoke; the result is the `payloadJSON` text (for `system.run` with the
    /// official host's key order: `exitCode, timedOut, success, stdout, stderr, error`).
    pub async fn dispatch_json(
        &self,
        command: &str,
        params_json: Option<&str>,
        ctx: &InvokeContext,
    ) -> Result<String, InvokeError> {
        if command == "system.run" {
            let p = decode_params(params_json, true)?;
            return self.system_run(p, ctx).await;
        }
        self.dispatch_value(command, params_json)
            .await
            .map(|v| v.to_string())
    }

    async fn dispatch_value(
        &self,
        command: &str,
        params_json: Option<&str>,
    ) -> Result<Value, InvokeError> {
        match command {
            "system.which" => {
                let p = decode_params(params_json, true)?;
                system_which(&p, &self.path_env)
            }
            "system.run.prepare" => {
                let p = decode_params(params_json, true)?;
                self.blocking(move |pol| pol.prepare(&p)).await
            }
            "system.execApprovals.get" => {
                let p = decode_params(params_json, false)?;
                self.blocking(move |pol| pol.approvals_get(&p)).await
            }
            "system.execApprovals.set" => {
                let p = decode_params(params_json, true)?;
                self.blocking(move |pol| pol.approvals_set(&p)).await
            }
            "browser.proxy" if self.browser_enabled() => {
                let p = decode_params(params_json, false)?;
                match &self.browser {
                    Some(b) => b.handle(p).await,
                    None => Err(InvokeError::unavailable("command not supported")),
                }
            }
            _ => Err(InvokeError::unavailable("command not supported")),
        }
    }

    async fn blocking<F>(&self, f: F) -> Result<Value, InvokeError>
    where
        F: FnOnce(&P) -> Result<Value, PolicyError> + Send + 'static,
    {
        let policy = self.policy.clone();
        tokio::task::spawn_blocking(move || f(policy.as_ref()))
            .await
            .map_err(|e| InvokeError::unavailable(format!("policy engine failed: {e}")))?
            .map_err(InvokeError::from)
    }

    fn claim_run(&self, run_id: &str) -> bool {
        self.runs
            .lock()
            .map(|mut r| r.claim(run_id))
            .unwrap_or(false)
    }

    async fn system_run(&self, params: Value, ctx: &InvokeContext) -> Result<String, InvokeError> {
        let policy = self.policy.clone();
        let t0 = std::time::Instant::now();
        let decision = tokio::task::spawn_blocking(move || policy.evaluate_run(&params))
            .await
            .map_err(|e| InvokeError::unavailable(format!("policy engine failed: {e}")))?;
        tracing::debug!(
            "system.run policy decision in {} µs",
            t0.elapsed().as_micros()
        );
        match decision {
            RunDecision::Invalid { message, .. } => Err(InvokeError::invalid(message)),
            RunDecision::Denied {
                reason,
                message,
                run,
            } => {
                if !self.claim_run(&run.run_id) {
                    return Err(duplicate_run(&run.run_id));
                }
                ctx.emit("exec.denied", &denied_payload(&run, &reason))
                    .await;
                Err(InvokeError::new("SYSTEM_RUN_DENIED", message))
            }
            RunDecision::Allowed { plan, run } => {
                if !self.claim_run(&run.run_id) {
                    return Err(duplicate_run(&run.run_id));
                }
                let req = launch_request(plan);
                let t1 = std::time::Instant::now();
                let launched = self.launcher.launch(req, ctx.cancel.clone()).await;
                tracing::debug!("system.run launch in {} µs", t1.elapsed().as_micros());
                match launched {
                    Ok(outcome) => {
                        ctx.emit("exec.finished", &finished_payload(&run, &outcome))
                            .await;
                        serde_json::to_string(&outcome).map_err(|e| {
                            InvokeError::unavailable(format!("cannot encode the result: {e}"))
                        })
                    }
                    Err(e) => {
                        ctx.emit("exec.denied", &denied_payload(&run, "sandbox-unavailable"))
                            .await;
                        Err(InvokeError::unavailable(format!("SYSTEM_RUN_DENIED: {e}")))
                    }
                }
            }
        }
    }
}

impl<P: PolicyBackend, L: LaunchBackend> InvokeHandler for NodeCommands<P, L> {
    fn caps(&self) -> Vec<String> {
        let mut caps = vec!["system".to_string()];
        if self.browser_enabled() {
            caps.insert(0, "browser".to_string());
        }
        caps
    }

    fn commands(&self) -> Vec<String> {
        let mut c: Vec<String> = [
            "system.run.prepare",
            "system.run",
            "system.which",
            "system.execApprovals.get",
            "system.execApprovals.set",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if self.browser_enabled() {
            c.push("browser.proxy".to_string());
        }
        c
    }

    async fn handle(&self, req: InvokeRequest, ctx: InvokeContext) -> Result<String, InvokeError> {
        self.dispatch_json(&req.command, req.params_json.as_deref(), &ctx)
            .await
    }
}

/// The sandbox launch for an allowed plan: the policy's decision, passed on unchanged.
pub fn launch_request(plan: ExecPlan) -> LaunchRequest {
    LaunchRequest {
        argv: plan.argv,
        cwd: plan.cwd,
        env: plan.env,
        timeout_ms: plan.timeout_ms,
        agent_id: Some(plan.agent_id),
    }
}

fn duplicate_run(run_id: &str) -> InvokeError {
    InvokeError::invalid(format!(
        "runId {run_id} was already used on this node; refusing to run it twice"
    ))
}

/// Decode `paramsJSON`. `required`: absent → `INVALID_REQUEST: paramsJSON required`
/// (otherwise absent means `{}`).
pub fn decode_params(params_json: Option<&str>, required: bool) -> Result<Value, InvokeError> {
    let Some(text) = params_json else {
        return if required {
            Err(InvokeError::invalid("INVALID_REQUEST: paramsJSON required"))
        } else {
            Ok(json!({}))
        };
    };
    if text.len() > MAX_PARAMS_BYTES {
        return Err(InvokeError::invalid(format!(
            "paramsJSON is {} bytes; the node accepts at most {MAX_PARAMS_BYTES}",
            text.len()
        )));
    }
    serde_json::from_str(text)
        .map_err(|e| InvokeError::invalid(format!("paramsJSON is not valid JSON: {e}")))
}

/// `system.which {bins}` → `{bins: {name: path}}`, only names found on `path_env`; names with a
/// path separator or NUL are skipped.
pub fn system_which(params: &Value, path_env: &str) -> Result<Value, InvokeError> {
    let Some(bins) = params.get("bins").and_then(Value::as_array) else {
        return Err(InvokeError::invalid(
            "Error: INVALID_REQUEST: bins required",
        ));
    };
    if bins.len() > MAX_WHICH_BINS {
        return Err(InvokeError::invalid(format!(
            "too many bins ({}); at most {MAX_WHICH_BINS} per call",
            bins.len()
        )));
    }
    let dirs: Vec<&str> = path_env.split(':').filter(|d| !d.is_empty()).collect();
    let mut found = serde_json::Map::new();
    for b in bins {
        let Some(name) = b.as_str().map(str::trim) else {
            continue;
        };
        if name.is_empty()
            || name.contains('/')
            || name.contains('\\')
            || name.contains('\0')
            || found.contains_key(name)
        {
            continue;
        }
        for d in &dirs {
            let candidate = Path::new(d).join(name);
            if is_executable_file(&candidate) {
                found.insert(
                    name.to_string(),
                    Value::String(candidate.to_string_lossy().into_owned()),
                );
                break;
            }
        }
    }
    Ok(json!({ "bins": found }))
}

fn is_executable_file(p: &Path) -> bool {
    match std::fs::metadata(p) {
        Ok(m) if m.is_file() => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                m.permissions().mode() & 0o111 != 0
            }
            #[cfg(not(unix))]
            {
                true
            }
        }
        _ => false,
    }
}

/// `exec.denied` payload.
pub fn denied_payload(run: &RunIdentity, reason: &str) -> Value {
    let mut v = json!({
        "sessionKey": run.session_key,
        "runId": run.run_id,
        "host": "node",
        "command": run.command_text,
        "reason": reason,
        "suppressNotifyOnExit": run.suppress_notify_on_exit.unwrap_or(false),
    });
    if let (Some(w), Some(o)) = (run.wake_on_exit, v.as_object_mut()) {
        o.insert("wakeOnExit".into(), Value::Bool(w));
    }
    v
}

/// `exec.finished` payload: `output` = non-empty stdout, stderr, error joined by `\n`, trimmed,
/// tail-truncated to 20 000 chars with a `... (truncated) ` prefix.
pub fn finished_payload(run: &RunIdentity, out: &RunOutcome) -> Value {
    let parts: Vec<&str> = [
        out.stdout.as_str(),
        out.stderr.as_str(),
        out.error.as_deref().unwrap_or(""),
    ]
    .into_iter()
    .filter(|s| !s.is_empty())
    .collect();
    let joined = parts.join("\n");
    let trimmed = joined.trim();
    let count = trimmed.chars().count();
    let output = if count > EVENT_OUTPUT_CHARS {
        let tail: String = trimmed.chars().skip(count - EVENT_OUTPUT_CHARS).collect();
        format!("... (truncated) {tail}")
    } else {
        trimmed.to_string()
    };
    let mut v = json!({
        "sessionKey": run.session_key,
        "runId": run.run_id,
        "host": "node",
        "command": run.command_text,
        "timedOut": out.timed_out,
        "success": out.success,
        "output": output,
        "suppressNotifyOnExit": run.suppress_notify_on_exit.unwrap_or(false),
    });
    if let Some(o) = v.as_object_mut() {
        if let Some(code) = out.exit_code {
            o.insert("exitCode".into(), json!(code));
        }
        if let Some(w) = run.wake_on_exit {
            o.insert("wakeOnExit".into(), Value::Bool(w));
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::ExecPlan;

    fn ident(run_id: &str) -> RunIdentity {
        RunIdentity {
            session_key: "node".into(),
            run_id: run_id.into(),
            command_text: "echo hi".into(),
            suppress_notify_on_exit: None,
            wake_on_exit: None,
        }
    }

    struct FakePolicy(RunDecision);
    impl PolicyBackend for FakePolicy {
        fn evaluate_run(&self, _: &Value) -> RunDecision {
            self.0.clone()
        }
        fn prepare(&self, p: &Value) -> Result<Value, PolicyError> {
            Ok(json!({"plan": {"argv": p["command"]}}))
        }
        fn approvals_get(&self, _: &Value) -> Result<Value, PolicyError> {
            Err(PolicyError {
                code: "TIMEOUT",
                message: "timed out".into(),
                details: None,
            })
        }
        fn approvals_set(&self, _: &Value) -> Result<Value, PolicyError> {
            Ok(json!({}))
        }
    }

    struct FakeLauncher(Result<RunOutcome, String>);
    impl LaunchBackend for FakeLauncher {
        async fn launch(
            &self,
            _req: LaunchRequest,
            _cancel: CancellationToken,
        ) -> Result<RunOutcome, SandboxError> {
            self.0.clone().map_err(SandboxError::Unavailable)
        }
    }

    fn outcome() -> RunOutcome {
        RunOutcome {
            exit_code: Some(0),
            timed_out: false,
            success: true,
            stdout: "hi\n".into(),
            stderr: String::new(),
            error: None,
        }
    }

    fn allowed(run_id: &str) -> RunDecision {
        RunDecision::Allowed {
            plan: ExecPlan {
                argv: vec!["echo".into(), "hi".into()],
                cwd: None,
                env: vec![],
                timeout_ms: None,
                agent_id: "main".into(),
            },
            run: ident(run_id),
        }
    }

    fn cmds(
        d: RunDecision,
        l: Result<RunOutcome, String>,
    ) -> NodeCommands<FakePolicy, FakeLauncher> {
        NodeCommands::new(
            Arc::new(FakePolicy(d)),
            Arc::new(FakeLauncher(l)),
            None,
            "/usr/bin:/bin".into(),
        )
    }

    #[tokio::test]
    async fn spec_6_2_exec_finished_is_emitted_once_before_the_result() {
        let c = cmds(allowed("r1"), Ok(outcome()));
        let (ctx, mut rx) = InvokeContext::detached(CancellationToken::new());
        let v = c
            .dispatch("system.run", Some(r#"{"command":["echo","hi"]}"#), &ctx)
            .await
            .unwrap();
        assert_eq!(
            v,
            json!({"exitCode":0,"timedOut":false,"success":true,"stdout":"hi\n","stderr":"","error":null})
        );
        let (ev, payload) = rx.try_recv().unwrap();
        assert_eq!(ev, "exec.finished");
        let p: Value = serde_json::from_str(&payload).unwrap();
        assert_eq!(p["output"], "hi");
        assert_eq!(p["runId"], "r1");
        assert_eq!(p["host"], "node");
        assert_eq!(p["exitCode"], 0);
        assert!(rx.try_recv().is_err());
        // spec complaint #10: a replayed runId neither runs nor emits again
        let e = c
            .dispatch("system.run", Some(r#"{"command":["echo","hi"]}"#), &ctx)
            .await
            .unwrap_err();
        assert_eq!(e.code, "INVALID_REQUEST");
        assert!(rx.try_recv().is_err());
    }

    #[tokio::test]
    async fn system_run_payload_keeps_the_official_key_order() {
        let c = cmds(allowed("r-order"), Ok(outcome()));
        let (ctx, _rx) = InvokeContext::detached(CancellationToken::new());
        let text = c
            .dispatch_json("system.run", Some(r#"{"command":["echo","hi"]}"#), &ctx)
            .await
            .unwrap();
        assert_eq!(
            text,
            r#"{"exitCode":0,"timedOut":false,"success":true,"stdout":"hi\n","stderr":"","error":null}"#
        );
    }

    #[tokio::test]
    async fn denial_emits_exec_denied_and_system_run_denied_code() {
        let c = cmds(
            RunDecision::Denied {
                reason: "allowlist-miss".into(),
                message: "SYSTEM_RUN_DENIED: allowlist miss".into(),
                run: ident("r2"),
            },
            Ok(outcome()),
        );
        let (ctx, mut rx) = InvokeContext::detached(CancellationToken::new());
        let e = c
            .dispatch("system.run", Some(r#"{"command":["x"]}"#), &ctx)
            .await
            .unwrap_err();
        assert_eq!(e.code, "SYSTEM_RUN_DENIED");
        assert_eq!(e.message, "SYSTEM_RUN_DENIED: allowlist miss");
        let (ev, payload) = rx.try_recv().unwrap();
        assert_eq!(ev, "exec.denied");
        assert!(payload.contains("\"reason\":\"allowlist-miss\""));
    }

    #[tokio::test]
    async fn invalid_request_has_no_event_and_launcher_error_is_denial_like() {
        let c = cmds(
            RunDecision::Invalid {
                message: "command required".into(),
                details: None,
            },
            Ok(outcome()),
        );
        let (ctx, mut rx) = InvokeContext::detached(CancellationToken::new());
        let e = c
            .dispatch("system.run", Some(r#"{"command":[]}"#), &ctx)
            .await
            .unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("INVALID_REQUEST", "command required")
        );
        assert!(rx.try_recv().is_err());

        let c = cmds(allowed("r3"), Err("no landlock".into()));
        let e = c
            .dispatch("system.run", Some(r#"{"command":["echo"]}"#), &ctx)
            .await
            .unwrap_err();
        assert_eq!(e.code, "UNAVAILABLE");
        assert!(e.message.contains("no landlock"));
        let (ev, payload) = rx.try_recv().unwrap();
        assert_eq!(ev, "exec.denied");
        assert!(payload.contains("sandbox-unavailable"));
    }

    #[tokio::test]
    async fn params_decoding_errors_and_unknown_commands() {
        let c = cmds(allowed("r"), Ok(outcome()));
        let (ctx, _rx) = InvokeContext::detached(CancellationToken::new());
        let e = c.dispatch("system.which", None, &ctx).await.unwrap_err();
        assert_eq!(e.message, "INVALID_REQUEST: paramsJSON required");
        let e = c
            .dispatch("system.which", Some("{bad"), &ctx)
            .await
            .unwrap_err();
        assert_eq!(e.code, "INVALID_REQUEST");
        let big = format!("{{\"bins\":[\"{}\"]}}", "a".repeat(MAX_PARAMS_BYTES));
        let e = c
            .dispatch("system.which", Some(&big), &ctx)
            .await
            .unwrap_err();
        assert!(e.message.contains("at most"), "{}", e.message);
        let e = c
            .dispatch("system.notify", Some("{}"), &ctx)
            .await
            .unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("UNAVAILABLE", "command not supported")
        );
        // browser.proxy is not served (nor advertised) without an enabled proxy
        let e = c
            .dispatch("browser.proxy", Some("{}"), &ctx)
            .await
            .unwrap_err();
        assert_eq!(e.message, "command not supported");
        assert!(!c.commands().contains(&"browser.proxy".to_string()));
        assert_eq!(c.caps(), vec!["system".to_string()]);
        // policy errors keep their code
        let e = c
            .dispatch("system.execApprovals.get", None, &ctx)
            .await
            .unwrap_err();
        assert_eq!(e.code, "TIMEOUT");
        let v = c
            .dispatch("system.run.prepare", Some(r#"{"command":["a"]}"#), &ctx)
            .await
            .unwrap();
        assert_eq!(v["plan"]["argv"], json!(["a"]));
    }

    #[test]
    fn which_finds_executables_and_skips_paths_and_missing() {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("tool");
        std::fs::write(&exe, "#!/bin/sh\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(dir.path().join("data"), "").unwrap();
        let path = format!("{}:/bin", dir.path().display());
        let v = system_which(
            &json!({"bins":["tool","data","/bin/sh","nope-xyz"," tool ","a\u{0}b",5]}),
            &path,
        )
        .unwrap();
        assert_eq!(v, json!({"bins":{"tool": exe.to_string_lossy()}}));
        let e = system_which(&json!({}), &path).unwrap_err();
        assert_eq!(e.message, "Error: INVALID_REQUEST: bins required");
        assert!(system_which(&json!({"bins":"sh"}), &path).is_err());
    }

    #[test]
    fn finished_output_is_joined_trimmed_and_tail_truncated() {
        let mut o = outcome();
        o.stdout = "out\n".into();
        o.stderr = "err\n".into();
        o.exit_code = None;
        let p = finished_payload(&ident("r"), &o);
        assert_eq!(p["output"], "out\n\nerr");
        assert!(p.get("exitCode").is_none());
        o.stdout = "x".repeat(30_000) + "END";
        o.stderr = String::new();
        let p = finished_payload(&ident("r"), &o);
        let s = p["output"].as_str().unwrap();
        assert!(s.starts_with("... (truncated) "));
        assert!(s.ends_with("END"));
        assert_eq!(
            s.chars().count(),
            EVENT_OUTPUT_CHARS + "... (truncated) ".len()
        );
    }
}
