//! Node commands as thin adapters, one command per file: each decodes its own params once at
//! the boundary (`parse`) and then applies them (`apply`) through the policy engine, the launcher
//! or the browser proxy, shaping the result and events exactly as the official host does. This
//! module owns the dispatch ([`Command::from_invoke`]), the shared param decoding and the
//! backend traits the adapters are written against.
//!
//! Commands advertised (exactly those implemented): `system.run.prepare`, `system.run`,
//! `system.which`, `system.execApprovals.get`, `system.execApprovals.set`, and `browser.proxy`
//! when the browser proxy is enabled (re-checked on every connect). Anything else is answered
//! `UNAVAILABLE` "command not supported".
//!
//! - [`system_run`] — `system.run` (decision, launch, `exec.denied` / `exec.finished`).
//! - [`run_prepare`] — `system.run.prepare`.
//! - [`which`] — `system.which`.
//! - [`exec_approvals`] — `system.execApprovals.get` / `.set`.
//! - [`browser_proxy`] — `browser.proxy`.

use std::future::Future;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::browser::BrowserProxy;
use crate::gateway::frames::InvokeRequest;
use crate::gateway::invoke::{InvokeContext, InvokeHandler};
use crate::policy::plan::RunRequest;
use crate::policy::{ApprovalsGet, ApprovalsSet, PolicyEngine, PolicyError, RunDecision};
use crate::sandbox::{LaunchRequest, Launcher, RunOutcome, SandboxError};

pub mod browser_proxy;
pub mod exec_approvals;
pub mod run_prepare;
pub mod system_run;
pub mod which;

pub use system_run::{EVENT_OUTPUT_CHARS, denied_payload, finished_payload, launch_request};
pub use which::{MAX_WHICH_BINS, system_which};

pub use crate::gateway::invoke::InvokeError;

/// Policy errors carry their wire code; the commands layer maps them onto the invoke result.
impl From<PolicyError> for InvokeError {
    fn from(e: PolicyError) -> Self {
        Self {
            code: e.kind.wire_code().to_string(),
            message: e.message,
            details: e.details,
        }
    }
}

/// Largest `paramsJSON` accepted (bigger → `INVALID_REQUEST`, the connection stays up).
pub const MAX_PARAMS_BYTES: usize = 4 * 1024 * 1024;
/// PATH used when the node has none.
pub use crate::util::DEFAULT_PATH;

/// The policy side of the adapters (implemented by [`PolicyEngine`]; injectable for tests). It
/// takes requests the commands decoded at the boundary, never wire JSON. Calls are synchronous
/// and may do file IO: the adapters run them on blocking threads.
pub trait PolicyBackend: Send + Sync + 'static {
    /// `system.run`: the typed verdict (allowed plan, denial with its reason, or invalid).
    fn evaluate(&self, req: &RunRequest) -> RunDecision;
    /// `system.run.prepare`: the approval plan.
    fn prepare_run(&self, req: &RunRequest) -> Result<Value, PolicyError>;
    /// `system.execApprovals.get`: the redacted snapshot.
    fn approvals(&self, q: &ApprovalsGet) -> Result<Value, PolicyError>;
    /// `system.execApprovals.set`: replace the file (compare-and-set on `baseHash`).
    fn set_approvals(&self, s: &ApprovalsSet) -> Result<Value, PolicyError>;
}

impl PolicyBackend for PolicyEngine {
    fn evaluate(&self, req: &RunRequest) -> RunDecision {
        PolicyEngine::evaluate(self, req)
    }
    fn prepare_run(&self, req: &RunRequest) -> Result<Value, PolicyError> {
        PolicyEngine::prepare_run(self, req)
    }
    fn approvals(&self, q: &ApprovalsGet) -> Result<Value, PolicyError> {
        PolicyEngine::approvals(self, q)
    }
    fn set_approvals(&self, s: &ApprovalsSet) -> Result<Value, PolicyError> {
        PolicyEngine::set_approvals(self, s)
    }
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

/// One invoke, decoded at the boundary: the command and its own params.
#[derive(Debug)]
pub enum Command {
    SystemRun(system_run::SystemRun),
    RunPrepare(run_prepare::RunPrepare),
    Which(which::Which),
    ExecApprovals(exec_approvals::ExecApprovals),
    BrowserProxy(browser_proxy::BrowserProxyCall),
}

impl Command {
    /// Decode `command` + `paramsJSON`; an unknown command (or `browser.proxy` while the browser
    /// proxy is disabled) is `UNAVAILABLE` "command not supported".
    pub fn from_invoke(
        command: &str,
        params_json: Option<&str>,
        browser_enabled: bool,
    ) -> Result<Self, InvokeError> {
        Ok(match command {
            "system.run" => Self::SystemRun(system_run::SystemRun::parse(params_json)?),
            "system.run.prepare" => Self::RunPrepare(run_prepare::RunPrepare::parse(params_json)?),
            "system.which" => Self::Which(which::Which::parse(params_json)?),
            "system.execApprovals.get" => {
                Self::ExecApprovals(exec_approvals::ExecApprovals::parse_get(params_json)?)
            }
            "system.execApprovals.set" => {
                Self::ExecApprovals(exec_approvals::ExecApprovals::parse_set(params_json)?)
            }
            "browser.proxy" if browser_enabled => {
                Self::BrowserProxy(browser_proxy::BrowserProxyCall::parse(params_json)?)
            }
            _ => return Err(InvokeError::unavailable("command not supported")),
        })
    }
}

/// The node's command set.
#[derive(Debug)]
pub struct NodeCommands<P: PolicyBackend = PolicyEngine, L: LaunchBackend = Launcher> {
    policy: Arc<P>,
    launcher: Arc<L>,
    browser: Option<Arc<BrowserProxy>>,
    path_env: String,
    runs: Mutex<system_run::RunIds>,
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
            runs: Mutex::new(system_run::RunIds::default()),
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
        let value = match Command::from_invoke(command, params_json, self.browser_enabled())? {
            Command::SystemRun(c) => return c.apply(self, ctx).await,
            Command::Which(c) => c.apply(&self.path_env)?,
            Command::RunPrepare(c) => c.apply(self).await?,
            Command::ExecApprovals(c) => c.apply(self).await?,
            Command::BrowserProxy(c) => c.apply(self.browser.as_deref()).await?,
        };
        Ok(value.to_string())
    }

    pub(crate) async fn blocking<F>(&self, f: F) -> Result<Value, InvokeError>
    where
        F: FnOnce(&P) -> Result<Value, PolicyError> + Send + 'static,
    {
        let policy = self.policy.clone();
        tokio::task::spawn_blocking(move || f(policy.as_ref()))
            .await
            .map_err(|e| InvokeError::unavailable(format!("policy engine failed: {e}")))?
            .map_err(InvokeError::from)
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

/// Decode the `paramsJSON` of `system.run` and `system.run.prepare` (required) into the
/// engine's [`RunRequest`]; a field of the wrong type or shape is `INVALID_REQUEST`.
pub fn decode_run_request(params_json: Option<&str>) -> Result<RunRequest, InvokeError> {
    let params = decode_params(params_json, true)?;
    crate::policy::plan::decode(&params).map_err(InvokeError::invalid)
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

#[cfg(test)]
mod tests;
