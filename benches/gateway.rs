//! Node-side costs on the invoke path: `system.which` (goal ≤ 100 µs), decoding a
//! `node.invoke.request` frame, signing the `connect` device proof, and shaping `exec.finished`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use openclaw_node::commands::{finished_payload, system_which};
use openclaw_node::gateway::DeviceIdentity;
use openclaw_node::gateway::frames::{Inbound, InvokeRequest, parse_inbound};
use openclaw_node::gateway::identity::{ProofFields, SignatureVersion, proof_payload};
use openclaw_node::policy::RunIdentity;
use openclaw_node::sandbox::RunOutcome;
use serde_json::json;

fn benches(c: &mut Criterion) {
    let path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    let one = json!({"bins": ["sh"]});
    c.bench_function("system.which sh", |b| {
        b.iter(|| system_which(black_box(&one), path))
    });
    let five = json!({"bins": ["sh", "git", "python3", "node", "definitely-missing-xyz"]});
    c.bench_function("system.which 5 bins (1 missing)", |b| {
        b.iter(|| system_which(black_box(&five), path))
    });

    let frame = json!({"type":"event","event":"node.invoke.request","payload":{
        "id":"0c5f7a0e-3d5b-4c1c-9d0e-8f7a6b5c4d3e","nodeId":"a".repeat(64),
        "command":"system.run","paramsJSON":"{\"command\":[\"/bin/true\"],\"runId\":\"r\"}",
        "timeoutMs":15000,"idempotencyKey":"k"}})
    .to_string();
    c.bench_function("decode node.invoke.request", |b| {
        b.iter(|| match parse_inbound(black_box(&frame)) {
            Ok(Inbound::Event(e)) => e.payload.as_ref().and_then(InvokeRequest::from_payload),
            _ => None,
        })
    });

    let id = DeviceIdentity::from_seed([7u8; 32]);
    c.bench_function("sign connect proof (v3)", |b| {
        b.iter(|| {
            let p = proof_payload(
                SignatureVersion::V3,
                id.device_id(),
                &ProofFields {
                    client_id: "node-host",
                    client_mode: "node",
                    role: "node",
                    scopes: &[],
                    signed_at_ms: 1_737_264_000_000,
                    token: "shared-token",
                    nonce: "00000000-0000-4000-8000-000000000000",
                    platform: "linux",
                    device_family: "Linux",
                },
            );
            id.sign(black_box(&p))
        })
    });

    let run = RunIdentity {
        session_key: "node".into(),
        run_id: "r".into(),
        command_text: "echo hi".into(),
        suppress_notify_on_exit: None,
        wake_on_exit: None,
    };
    let out = RunOutcome {
        exit_code: Some(0),
        timed_out: false,
        success: true,
        stdout: "hi\n".into(),
        stderr: String::new(),
        error: None,
    };
    c.bench_function("exec.finished payload", |b| {
        b.iter(|| finished_payload(black_box(&run), black_box(&out)))
    });
}

criterion_group!(gateway, benches);
criterion_main!(gateway);
