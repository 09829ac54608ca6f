//! `openclaw-node-faults-helper`: one node command (`get`, `set`, `run` or `prepare`) through the real
//! commands layer (`NodeCommands` + `PolicyEngine`, a recording launcher) against the approvals
//! file of a state dir, in its own process, so the fault tests can run it with dropped
//! capabilities (`setpriv`) or a file-size limit.
//!
//! Usage: `openclaw-node-faults-helper <state-dir> <get|set|run|prepare> <params-json> [<fsize-bytes>]`.
//! Prints one JSON line: `{"ok":true,"value":…,"events":[…]}` or
//! `{"ok":false,"code":…,"message":…,"events":[…]}`.

use std::sync::Arc;

use openclaw_node::commands::{LaunchBackend, NodeCommands};
use openclaw_node::gateway::InvokeContext;
use openclaw_node::policy::{PolicyEngine, PolicyPaths};
use openclaw_node::sandbox::{LaunchRequest, RunOutcome, SandboxError};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// Runs nothing: reports what it would have run.
struct Recorder;
impl LaunchBackend for Recorder {
    async fn launch(
        &self,
        req: LaunchRequest,
        _cancel: CancellationToken,
    ) -> Result<RunOutcome, SandboxError> {
        Ok(RunOutcome {
            exit_code: Some(0),
            timed_out: false,
            success: true,
            stdout: format!("launched {}", req.argv.join(" ")),
            stderr: String::new(),
            error: None,
        })
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("openclaw-node-faults-helper: {msg}");
    std::process::exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(dir), Some(op), Some(params)) = (args.first(), args.get(1), args.get(2)) else {
        fail("usage: <state-dir> <get|set|run|prepare> <params-json> [<fsize-bytes>]")
    };
    if let Some(limit) = args.get(3) {
        let Ok(bytes) = limit.parse::<u64>() else {
            fail("fsize must be a number of bytes")
        };
        // Writes past the limit fail with EFBIG instead of killing us with SIGXFSZ (the signal
        // stays pending while blocked; threads inherit the mask).
        let mut set = nix::sys::signal::SigSet::empty();
        set.add(nix::sys::signal::Signal::SIGXFSZ);
        if set.thread_block().is_err() {
            fail("cannot block SIGXFSZ");
        }
        if nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_FSIZE, bytes, bytes)
            .is_err()
        {
            fail("cannot set RLIMIT_FSIZE");
        }
    }
    let command = match op.as_str() {
        "get" => "system.execApprovals.get",
        "set" => "system.execApprovals.set",
        "run" => "system.run",
        "prepare" => "system.run.prepare",
        _ => fail("op must be get, set, run or prepare"),
    };
    let state = std::path::PathBuf::from(dir);
    let policy = Arc::new(PolicyEngine::new(
        PolicyPaths {
            approvals: state.join("exec-approvals.json"),
            state_dir: state,
        },
        "/usr/bin:/bin".into(),
    ));
    let cmds = NodeCommands::new(policy, Arc::new(Recorder), None, "/usr/bin:/bin".into());
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        fail("cannot start a runtime")
    };
    let (ctx, mut events) = InvokeContext::detached(CancellationToken::new());
    let result = rt.block_on(cmds.dispatch(command, Some(params), &ctx));
    drop(ctx);
    let mut evs = Vec::new();
    while let Ok((event, payload)) = events.try_recv() {
        evs.push(json!({"event": event, "payload": serde_json::from_str::<Value>(&payload).unwrap_or(Value::Null)}));
    }
    let out = match result {
        Ok(v) => json!({"ok": true, "value": v, "events": evs}),
        Err(e) => json!({"ok": false, "code": e.code, "message": e.message, "events": evs}),
    };
    println!("{out}");
}
