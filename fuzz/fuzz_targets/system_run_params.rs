//! Bytes → `paramsJSON` (`commands::decode_params`) → `system.run` / `system.run.prepare`
//! params decoding (`policy::plan::decode`), then the pure policy decision
//! (`policy::decide::decide`) and approval-plan builder (`policy::decide::prepare`) against a
//! fixed in-memory approvals file and the spec's virtual filesystem — nothing is spawned.
//!
//! Invariants: never panics; errors are non-empty; accepted params have a non-empty argv without
//! NUL bytes within the size limit, a positive timeout, trimmed ids; re-encoding the decoded
//! request decodes to the same request; a decision that is not `allow` has no exec argv and a
//! reason and message; an `allow` has an exec argv; a prepared plan decodes as a
//! `systemRunPlan`.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use openclaw_node::commands::decode_params;
use openclaw_node::policy::compiled::CompiledPolicy;
use openclaw_node::policy::decide::{Context, Outcome, decide, prepare};
use openclaw_node::policy::fsview::VirtualFs;
use openclaw_node::policy::plan::{MAX_COMMAND_BYTES, RunRequest, decode, decode_plan};
use openclaw_node::policy::resolve::Requested;
use openclaw_node::policy::safe_bins::SafeBinConfig;
use openclaw_node::policy::approvals::parse_text;
use openclaw_node::policy::types::{ApprovalDecision, Ask, Security};
use serde_json::{Value, json};

const APPROVALS: &str = r#"{"version":1,
 "defaults":{"security":"allowlist","ask":"on-miss","askFallback":"deny"},
 "agents":{"main":{"allowlist":["/usr/bin/rg","/usr/bin/e*",{"pattern":"/usr/bin/jq","argPattern":"^-r"}]},
           "ops":{"security":"full","ask":"off"},
           "*":{"allowlist":["/bin/echo"]}}}"#;

struct World {
    policy: CompiledPolicy,
    safe: SafeBinConfig,
    fs: VirtualFs,
    inherited: Vec<(String, String)>,
}

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| {
        let file = parse_text(APPROVALS).expect("static approvals file");
        World {
            policy: CompiledPolicy::from_file(file, Some(std::path::Path::new("/home/u"))),
            safe: SafeBinConfig::default().with_bin("head"),
            fs: VirtualFs::conventions().with_home(Some("/home/u")),
            inherited: vec![
                ("HOME".into(), "/home/u".into()),
                ("PATH".into(), "/usr/bin:/bin".into()),
            ],
        }
    })
}

/// The wire form of a decoded request (what a gateway would send for it).
fn encode(r: &RunRequest) -> Value {
    let mut v = json!({"command": r.argv, "env": r.env});
    let o = v.as_object_mut().expect("object");
    let mut put = |k: &str, x: Value| {
        o.insert(k.into(), x);
    };
    if let Some(x) = &r.raw_command {
        put("rawCommand", json!(x));
    }
    if let Some(x) = &r.cwd {
        put("cwd", json!(x));
    }
    if let Some(x) = r.timeout_ms {
        put("timeoutMs", json!(x));
    }
    put("needsScreenRecording", json!(r.needs_screen_recording));
    if let Some(x) = &r.agent_id {
        put("agentId", json!(x));
    }
    if let Some(x) = &r.session_key {
        put("sessionKey", json!(x));
    }
    if let Some(x) = &r.run_id {
        put("runId", json!(x));
    }
    put("approved", json!(r.approved));
    if let Some(d) = r.approval_decision {
        let s = match d {
            ApprovalDecision::AllowOnce => "allow-once",
            ApprovalDecision::AllowAlways => "allow-always",
        };
        put("approvalDecision", json!(s));
    }
    if let Some(p) = &r.plan {
        put("systemRunPlan", p.clone());
    }
    if let Some(x) = r.suppress_notify_on_exit {
        put("suppressNotifyOnExit", json!(x));
    }
    if let Some(x) = r.wake_on_exit {
        put("wakeOnExit", json!(x));
    }
    v
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let params = match decode_params(Some(text), true) {
        Ok(p) => p,
        Err(e) => {
            assert!(!e.message.is_empty());
            return;
        }
    };
    let req = match decode(&params) {
        Ok(r) => r,
        Err(m) => {
            assert!(!m.trim().is_empty(), "empty error");
            return;
        }
    };
    assert!(!req.argv.is_empty(), "accepted params have argv");
    assert!(req.argv.iter().all(|a| !a.contains('\0')));
    assert!(req.raw_command.as_ref().is_none_or(|r| !r.contains('\0')));
    assert!(
        req.env
            .iter()
            .all(|(k, v)| !k.contains('\0') && !v.contains('\0'))
    );
    let total: usize = req.argv.iter().map(String::len).sum::<usize>()
        + req.raw_command.as_ref().map_or(0, String::len);
    assert!(total <= MAX_COMMAND_BYTES);
    assert!(req.timeout_ms.is_none_or(|t| t > 0));
    for s in [&req.cwd, &req.agent_id, &req.session_key, &req.run_id]
        .into_iter()
        .flatten()
    {
        assert!(!s.is_empty() && s.trim() == s);
    }
    // decode → encode → decode is stable (timeouts beyond f64 precision are rounded).
    let again = decode(&encode(&req)).expect("re-encoded params must decode");
    let mut expect = req.clone();
    if expect.timeout_ms.is_some_and(|t| t > (1 << 53)) {
        expect.timeout_ms = again.timeout_ms;
    }
    assert_eq!(again, expect, "decode(encode(req)) != req");

    let w = world();
    for requested in [
        Requested::default(),
        Requested {
            security: Security::Allowlist,
            ask: Ask::OnMiss,
            security_configured: true,
            ask_configured: true,
            ..Requested::default()
        },
    ] {
        let ctx = Context {
            requested: requested.clone(),
            strict_inline_eval: true,
            safe_bins: &w.safe,
            skills: &[],
            node_path: "/usr/bin:/bin",
            inherited_env: &w.inherited,
        };
        let d = decide(&w.policy, &req, &ctx, &w.fs);
        if d.outcome == Outcome::Allow {
            assert!(!d.exec_argv.is_empty(), "allowed without an exec argv");
            assert!(d.exec_argv.iter().all(|a| !a.contains('\0')));
        } else {
            assert!(d.exec_argv.is_empty(), "{:?} with an exec argv", d.outcome);
            assert!(
                !d.reason.is_empty() && !d.message.is_empty(),
                "{:?}",
                d.outcome
            );
            assert!(d.persist_patterns.is_empty());
        }
        match prepare(&req, &requested, "/usr/bin:/bin", &w.fs) {
            Ok(v) => {
                let plan = v.get("plan").expect("{plan}");
                let p = decode_plan(plan).expect("a prepared plan decodes as systemRunPlan");
                assert!(!p.argv.is_empty());
                // The run the gateway sends after approval binds to the plan it was given.
                let bound = RunRequest {
                    argv: p.argv.clone(),
                    cwd: p.cwd.clone(),
                    agent_id: p.agent_id.clone(),
                    session_key: p.session_key.clone(),
                    env: req.env.clone(),
                    approved: true,
                    approval_decision: Some(ApprovalDecision::AllowOnce),
                    plan: Some(plan.clone()),
                    ..RunRequest::default()
                };
                let d = decide(&w.policy, &bound, &ctx, &w.fs);
                assert!(
                    !d.message.contains("systemRunPlan"),
                    "a prepared plan does not bind: {} ({plan})",
                    d.message
                );
            }
            Err(m) => assert!(!m.trim().is_empty()),
        }
    }
});
