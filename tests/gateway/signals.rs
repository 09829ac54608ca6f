//! SIGTERM / SIGINT to `openclaw-node run` while `system.run` trees are running (issue 8 §3):
//! every tree is killed, the node exits promptly with the documented status 0 (src/cli/run.rs:
//! "0 after SIGINT/SIGTERM (in-flight runs killed, socket closed cleanly)"), closes the socket
//! with 1000, nothing is left behind, and the state files (`node.json`, `exec-approvals.json`,
//! `node-host-status.json`) are intact, parseable and mode 0600.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use crate::support::gateway::*;
use crate::support::node::*;
use crate::support::procfs::*;
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

async fn signal_during_runs(sig: Signal) {
    let gw = Gw::abrupt().await;
    let mut node = NodeProc::start(gw.port(), FULL_APPROVALS);
    let pid = node.pid();
    let (mut ws, node_id) = gw.connect(MAX_PAYLOAD).await;

    // Let the node rewrite exec-approvals.json itself (socket defaults): it is then its own file.
    let got = call(
        &mut ws,
        "get",
        &node_id,
        "system.execApprovals.get",
        json!({}),
    )
    .await;
    assert_eq!(got["ok"], true, "{got}");

    // Two concurrent runs, each with a backgrounded grandchild.
    send_invoke(&mut ws, "a", &node_id, "system.run", sh_run(TREE_CMD, "ra")).await;
    send_invoke(&mut ws, "b", &node_id, "system.run", sh_run(TREE_CMD, "rb")).await;
    let mut tree = Vec::new();
    let up = eventually(T, || {
        tree = live_descendants_running(pid, "");
        live_descendants_running(pid, "sleep 30").len() >= 6
    })
    .await;
    assert!(up, "both run trees must be up: {:?}", descendants(pid));

    nix::sys::signal::kill(Pid::from_raw(pid), sig).unwrap();
    let t = Instant::now();
    let status = node.wait_exit(Duration::from_secs(8));
    let took = t.elapsed();
    let status = status.unwrap_or_else(|| panic!("node still running after {sig}\n{}", node.log()));
    assert_eq!(status.code(), Some(0), "{sig}: {status:?}\n{}", node.log());
    assert!(took < Duration::from_secs(3), "{sig}: exit took {took:?}");

    // Every process of both trees is gone (the node no longer exists to reap them: anything
    // left would be reparented, so check the pids themselves).
    let gone = eventually(T, || tree.iter().all(|&p| !alive(p))).await;
    assert!(
        gone,
        "{sig}: run processes outlived the node: {:?}",
        tree.iter()
            .filter(|&&p| alive(p))
            .map(|&p| (p, cmdline(p)))
            .collect::<Vec<_>>()
    );

    // The gateway saw a clean close.
    let mut close = None;
    while let Some(m) = next(&mut ws, Duration::from_secs(2)).await {
        if let Message::Close(f) = m {
            close = f.map(|f| u16::from(f.code));
            break;
        }
    }
    assert_eq!(close, Some(1000), "{sig}: close code\n{}", node.log());

    for name in ["node.json", "exec-approvals.json", "node-host-status.json"] {
        let path = node.state(name);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{sig}: {name} missing after exit: {e}"));
        let v: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{sig}: {name} is not valid JSON ({e}): {text:?}"));
        assert!(v.is_object(), "{sig}: {name}: {v}");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{sig}: {name} mode {mode:o}");
    }
    let status: Value = serde_json::from_str(
        &std::fs::read_to_string(node.state("node-host-status.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(status["state"], "stopped", "{status}");
    // No temp files left next to the state files.
    let stray: Vec<_> = std::fs::read_dir(node.dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(stray.is_empty(), "{sig}: stray temp files {stray:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_runs_kills_the_trees_and_exits_0_with_intact_state() {
    signal_during_runs(Signal::SIGTERM).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_during_runs_kills_the_trees_and_exits_0_with_intact_state() {
    signal_during_runs(Signal::SIGINT).await;
}
