//! Spawn + wait of `/bin/true`: plain `std::process::Command` (stdio to /dev/null) vs the
//! launcher under each profile (`off`, `standard`, `strict`, and `standard` without per-run
//! cgroups), output captured through pipes.
//! Goal: `standard` ≤ 1.3× plain.
//!
//! `cargo bench --bench spawn -- --warm-up-time 1 --measurement-time 3`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};

use criterion::{Criterion, criterion_group, criterion_main};
use openclaw_node::sandbox::{LaunchRequest, Launcher, SandboxConfig};
use tokio_util::sync::CancellationToken;

fn spawn(c: &mut Criterion) {
    let mut g = c.benchmark_group("spawn_true");
    g.bench_function("plain_std_command", |b| {
        b.iter(|| {
            let s = Command::new("/bin/true")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .unwrap();
            assert!(s.success());
        })
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let cwd = tempfile::tempdir().unwrap();
    for (name, text) in [
        ("off", "{ profile: 'off' }"),
        ("standard", "{ profile: 'standard' }"),
        ("strict", "{ profile: 'strict' }"),
        (
            "standard_no_cgroups",
            "{ profile: 'standard', useCgroups: false }",
        ),
    ] {
        let cfg: SandboxConfig = json5::from_str(text).unwrap();
        let l = Launcher::new(&cfg).unwrap();
        let req = LaunchRequest {
            argv: vec!["/bin/true".into()],
            cwd: Some(cwd.path().to_path_buf()),
            env: vec![("PATH".into(), "/usr/bin:/bin".into())],
            timeout_ms: Some(10_000),
            agent_id: None,
        };
        g.bench_function(format!("launcher_{name}"), |b| {
            b.iter(|| {
                let o = rt
                    .block_on(l.run(req.clone(), CancellationToken::new()))
                    .unwrap();
                assert_eq!(o.exit_code, Some(0), "{o:?}");
            })
        });
    }
    g.finish();
}

criterion_group!(benches, spawn);
criterion_main!(benches);
