//! Spawn + wait of `/bin/true`: plain `std::process::Command` (stdio to /dev/null) vs the
//! launcher under each profile (`off`, `standard`, `strict`, and `standard` without per-run
//! cgroups), output captured through pipes.
//! Goal: `standard` ≤ 1.3× plain.
//!
//! `cargo bench --bench spawn -- --warm-up-time 1 --measurement-time 3`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

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

/// The filesystem view's own cost: fork + exec of `/bin/true` with a no-op view-less hook vs the
/// same child building (a) an empty view (namespaces, read-only root, `/dev`) and (b) the view
/// of a run with cwd = a `$HOME` of a dozen entries (closed home, state dir masked).
fn view(c: &mut Criterion) {
    use openclaw_node::sandbox::view::{
        ChildView, NodeProtection, ViewInput, ViewPlan, plan_view, spawn_in_view,
    };
    let mut g = c.benchmark_group("view_true");
    let root = nix::unistd::geteuid().is_root();
    let none = Arc::new(ChildView::compile(&ViewPlan::default(), Path::new("/"), !root).unwrap());
    let home = tempfile::tempdir().unwrap();
    let h = std::fs::canonicalize(home.path()).unwrap();
    std::fs::create_dir_all(h.join(".openclaw/identity")).unwrap();
    for i in 0..8 {
        std::fs::create_dir_all(h.join(format!("proj{i}"))).unwrap();
        std::fs::write(h.join(format!(".rc{i}")), "x").unwrap();
    }
    std::fs::write(h.join("notes.txt"), "x").unwrap();
    let node = NodeProtection {
        home: Some(h.clone()),
        state_dir: Some(h.join(".openclaw")),
        protected: vec![h.join(".local/bin"), "/usr/bin".into()],
        masked_files: vec![],
        other_homes: vec![],
    };
    let tmp = tempfile::tempdir().unwrap();
    let plan = plan_view(&ViewInput {
        writable: &[h.clone(), tmp.path().to_path_buf()],
        run_path_dirs: &[],
        node: &node,
        strict: false,
        closed_only: false,
        sockets: vec![],
    })
    .unwrap();
    let home_view = Arc::new(ChildView::compile(&plan, &h, !root).unwrap());
    g.bench_function("fork_exec_no_view", |b| {
        b.iter(|| {
            let mut cmd = Command::new("/bin/true");
            cmd.stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            openclaw_node::sandbox::spawn::force_fork_exec(&mut cmd);
            assert!(cmd.status().unwrap().success());
        })
    });
    g.bench_function("fork_exec_empty_view", |b| {
        b.iter(|| {
            assert!(
                spawn_in_view(&none, Path::new("/bin/true"))
                    .unwrap()
                    .success()
            )
        })
    });
    g.bench_function(
        format!("fork_exec_home_view_{}_binds", plan.binds.len()),
        |b| {
            b.iter(|| {
                assert!(
                    spawn_in_view(&home_view, Path::new("/bin/true"))
                        .unwrap()
                        .success()
                )
            })
        },
    );
    g.finish();
}

criterion_group!(benches, spawn, view);
criterion_main!(benches);
