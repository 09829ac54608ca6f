//! Unit tests of the command adapters with a fake policy and launcher.

use super::system_run::finished_payload;
use super::which::system_which;
use super::*;
use crate::policy::ExecPlan;
use crate::policy::RunIdentity;

fn ident(run_id: &str) -> RunIdentity {
    RunIdentity {
        session_key: "node".into(),
        run_id: run_id.into(),
        command_text: "echo hi".into(),
        suppress_notify_on_exit: None,
        wake_on_exit: None,
    }
}

/// Answers every run with one canned decision.
struct CannedPolicy(RunDecision);
impl PolicyBackend for CannedPolicy {
    fn evaluate(&self, _: &RunRequest) -> RunDecision {
        self.0.clone()
    }
    fn prepare_run(&self, r: &RunRequest) -> Result<Value, PolicyError> {
        Ok(json!({"plan": {"argv": r.argv}}))
    }
    fn approvals(&self, _: &ApprovalsGet) -> Result<Value, PolicyError> {
        Err(PolicyError {
            kind: crate::policy::ErrorKind::Timeout,
            message: "timed out".into(),
            details: None,
        })
    }
    fn set_approvals(&self, _: &ApprovalsSet) -> Result<Value, PolicyError> {
        Ok(json!({}))
    }
}

/// Answers every launch with one canned outcome (or sandbox error).
struct CannedLauncher(Result<RunOutcome, String>);
impl LaunchBackend for CannedLauncher {
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
) -> NodeCommands<CannedPolicy, CannedLauncher> {
    NodeCommands::new(
        Arc::new(CannedPolicy(d)),
        Arc::new(CannedLauncher(l)),
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
            reason: crate::policy::DenyReason::AllowlistMiss,
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
