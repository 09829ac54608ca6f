//! `system.run` (node-host-surface §6.2): decode the params once, ask the policy engine (on a
//! blocking thread: it may do file IO), then either emit `exec.denied` and answer
//! `SYSTEM_RUN_DENIED`, or launch the plan with the invoke's cancellation token and emit
//! `exec.finished` before the result. Events are queued before the result on the same ordered
//! connection, and at most once per `runId` (a replayed `runId` is refused without running). A
//! launcher error (the sandbox cannot start the run) is treated like a denial: `exec.denied` with
//! reason `sandbox-unavailable`, then `UNAVAILABLE` "SYSTEM_RUN_DENIED: <why>" — nothing ran, so
//! no `exec.finished`.

use std::collections::{HashSet, VecDeque};

use serde_json::{Value, json};

use super::{InvokeError, LaunchBackend, NodeCommands, PolicyBackend, decode_run_request};
use crate::gateway::invoke::InvokeContext;
use crate::policy::plan::RunRequest;
use crate::policy::{ExecPlan, RunDecision, RunIdentity};
use crate::sandbox::{LaunchRequest, RunOutcome};

/// `exec.finished.output` tail length (chars).
pub const EVENT_OUTPUT_CHARS: usize = 20_000;
/// How many `runId`s are remembered for the once-per-run guarantee.
const RUN_ID_MEMORY: usize = 4096;

/// A decoded `system.run` invoke.
#[derive(Debug)]
pub struct SystemRun {
    req: RunRequest,
}

impl SystemRun {
    /// `paramsJSON` is required; a field of the wrong type or shape is `INVALID_REQUEST` here,
    /// before the engine or the launcher see anything.
    pub fn parse(params_json: Option<&str>) -> Result<Self, InvokeError> {
        Ok(Self {
            req: decode_run_request(params_json)?,
        })
    }

    /// Decide, run, emit the events; the result is the `payloadJSON` text with the official
    /// host's key order (`exitCode, timedOut, success, stdout, stderr, error`).
    pub async fn apply<P: PolicyBackend, L: LaunchBackend>(
        self,
        node: &NodeCommands<P, L>,
        ctx: &InvokeContext,
    ) -> Result<String, InvokeError> {
        node.system_run(self.req, ctx).await
    }
}

/// The `runId`s seen lately (bounded), for the once-per-run guarantee.
#[derive(Debug, Default)]
pub(super) struct RunIds {
    order: VecDeque<String>,
    set: HashSet<String>,
}

impl RunIds {
    /// `true` the first time `id` is seen.
    pub(super) fn claim(&mut self, id: &str) -> bool {
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
    fn claim_run(&self, run_id: &str) -> bool {
        self.runs
            .lock()
            .map(|mut r| r.claim(run_id))
            .unwrap_or(false)
    }

    async fn system_run(
        &self,
        req: RunRequest,
        ctx: &InvokeContext,
    ) -> Result<String, InvokeError> {
        let policy = self.policy.clone();
        let t0 = std::time::Instant::now();
        let decision = tokio::task::spawn_blocking(move || policy.evaluate(&req))
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
                ctx.emit("exec.denied", &denied_payload(&run, reason.as_str()))
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
