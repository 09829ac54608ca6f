//! `/proc` readings for the process tests: the process table, a process's descendants and
//! zombies, its command line and `status` fields, and polling until a condition holds.

use std::time::{Duration, Instant};

use super::T;

/// A command tree with a backgrounded grandchild: `sh` → (`sleep 30` &, `sleep 30`).
pub const TREE_CMD: &str = "sleep 30 & sleep 30; wait";

/// `(pid, ppid, state)` of every process.
pub fn procs() -> Vec<(i32, i32, char)> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // comm may contain spaces and parentheses: parse after the last ')'.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let mut f = rest.split_whitespace();
        let state = f.next().and_then(|s| s.chars().next()).unwrap_or('?');
        let ppid = f.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        out.push((pid, ppid, state));
    }
    out
}

/// All descendants of `root` (not `root` itself), with their state.
pub fn descendants(root: i32) -> Vec<(i32, char)> {
    let all = procs();
    let mut out = Vec::new();
    let mut frontier = vec![root];
    while let Some(p) = frontier.pop() {
        for &(pid, ppid, st) in &all {
            if ppid == p {
                out.push((pid, st));
                frontier.push(pid);
            }
        }
    }
    out
}

/// Live (non-zombie) descendants of `root` whose command line contains `needle`.
pub fn live_descendants_running(root: i32, needle: &str) -> Vec<i32> {
    descendants(root)
        .into_iter()
        .filter(|&(_, st)| st != 'Z')
        .filter(|&(pid, _)| cmdline(pid).contains(needle))
        .map(|(pid, _)| pid)
        .collect()
}

pub fn cmdline(pid: i32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .unwrap_or_default()
}

/// The command name of a process (`/proc/<pid>/comm`).
pub fn comm(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|c| c.trim_end().to_string())
        .unwrap_or_default()
}

/// How many children of `pid` (zombies included) have the command name `name`.
pub fn children_named(pid: i32, name: &str) -> usize {
    procs()
        .into_iter()
        .filter(|&(p, ppid, _)| ppid == pid && comm(p) == name)
        .count()
}

/// A process exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    procs().iter().any(|&(p, _, st)| p == pid && st != 'Z')
}

/// Zombie children of `pid`.
pub fn zombie_children(pid: i32) -> Vec<i32> {
    procs()
        .into_iter()
        .filter(|&(_, ppid, st)| ppid == pid && st == 'Z')
        .map(|(p, _, _)| p)
        .collect()
}

/// Poll until `f` holds (true) or `within` passes (false).
pub async fn eventually(within: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Wait until the run's tree (`sh` plus both `sleep 30`) is up; returns its pids.
pub async fn wait_tree(node_pid: i32) -> Vec<i32> {
    let mut tree = Vec::new();
    let up = eventually(T, || {
        let sleeps = live_descendants_running(node_pid, "sleep 30");
        tree = live_descendants_running(node_pid, "");
        // sh -c '…sleep 30…' itself also matches "sleep 30": sh + 2 sleeps.
        sleeps.len() >= 3
    })
    .await;
    assert!(
        up,
        "the run's process tree never came up: {:?}",
        descendants(node_pid)
    );
    tree
}

/// A `kB` field of `/proc/<pid>/status`.
pub fn status_kb(pid: i32, key: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
