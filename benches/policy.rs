//! Policy engine benchmarks: compile a 1 000-entry allowlist (goal ≤ 10 ms) and decide a
//! 3-segment shell payload against it (goal ≤ 5 µs median).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use openclaw_node::policy::approvals::{ApprovalsFile, Strictness, normalize_value};
use openclaw_node::policy::compiled::CompiledPolicy;
use openclaw_node::policy::decide::{Context, decide};
use openclaw_node::policy::fsview::VirtualFs;
use openclaw_node::policy::plan::RunRequest;
use openclaw_node::policy::resolve::Requested;
use openclaw_node::policy::safe_bins::SafeBinConfig;
use openclaw_node::policy::types::{Ask, Security};
use serde_json::json;

fn file_with_entries(n: usize) -> ApprovalsFile {
    let mut list: Vec<String> = (0..n)
        .map(|i| match i % 4 {
            0 => format!("/opt/tool{i}/bin/tool{i}"),
            1 => format!("/usr/lib/pkg{i}/*"),
            2 => format!("/srv/app{i}/**"),
            _ => format!("bin{i}"),
        })
        .collect();
    list.push("/usr/bin/rg".into());
    list.push("/usr/bin/grep".into());
    normalize_value(
        &json!({"version": 1, "agents": {"main": {"allowlist": list}}}),
        Strictness::Disk,
    )
    .unwrap()
}

fn benches(c: &mut Criterion) {
    let file = file_with_entries(1000);
    c.bench_function("compile_1000_entry_allowlist", |b| {
        b.iter(|| CompiledPolicy::from_file(black_box(file.clone()), None))
    });

    let policy = CompiledPolicy::from_file(file, None);
    let fs = VirtualFs::conventions();
    let safe = SafeBinConfig::default();
    let ctx = Context {
        requested: Requested {
            security: Security::Allowlist,
            ask: Ask::OnMiss,
            security_source: "bench".into(),
            ask_source: "bench".into(),
            security_configured: true,
            ask_configured: true,
        },
        strict_inline_eval: false,
        safe_bins: &safe,
        skills: &[],
        node_path: "/usr/bin:/bin",
        inherited_env: &[],
    };
    let req = RunRequest::shell("rg -n TODO src | grep -e fixme | head -n 5");
    let d = decide(&policy, &req, &ctx, &fs);
    assert!(d.allowed(), "{}", d.message);
    c.bench_function("decide_3_segment_payload", |b| {
        b.iter(|| decide(black_box(&policy), black_box(&req), &ctx, &fs))
    });
}

criterion_group!(policy, benches);
criterion_main!(policy);
