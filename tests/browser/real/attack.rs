//! The attack the pipe closes: any process on the host could connect to the built-in browser's
//! `--remote-debugging-port` (127.0.0.1:18800+) and drive it (`Browser.setDownloadBehavior` to any
//! directory, `file://` reads, cookies). With the built-in backend started, no process of the
//! browser's tree owns a TCP listener; the scan that shows it is first shown to find listeners
//! (a throwaway one, and a Chromium started the old way). As root, the browser's processes run
//! as the dedicated uid, in a mount namespace where only its home is writable, with Chromium's
//! own sandbox on (required under `SANDBOX_MUST_WORK=1`).

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::CommandExt as _;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::browser::*;

/// pid → (ppid, real uid) for every process.
fn process_table() -> BTreeMap<u32, (u32, u32)> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
            continue;
        };
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<u32>().ok())
        };
        if let (Some(ppid), Some(uid)) = (field("PPid:"), field("Uid:")) {
            out.insert(pid, (ppid, uid));
        }
    }
    out
}

/// `root` and all its descendants.
fn tree(root: u32) -> BTreeSet<u32> {
    let table = process_table();
    let mut set = BTreeSet::from([root]);
    loop {
        let before = set.len();
        for (pid, (ppid, _)) in &table {
            if set.contains(ppid) {
                set.insert(*pid);
            }
        }
        if set.len() == before {
            return set;
        }
    }
}

/// Inodes of sockets in LISTEN state in the network namespace of `pid`.
fn listening_inodes(pid: u32) -> BTreeSet<u64> {
    let mut out = BTreeSet::new();
    for table in ["tcp", "tcp6"] {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
            if cols.len() > 9
                && cols[3] == "0A"
                && let Ok(inode) = cols[9].parse::<u64>()
            {
                out.insert(inode);
            }
        }
    }
    out
}

/// TCP listeners owned (as open fds) by `pid` or its descendants: `(pid, inode)`.
fn tcp_listeners_of_tree(root: u32) -> Vec<(u32, u64)> {
    let mut found = Vec::new();
    for pid in tree(root) {
        // Each process's own network namespace (Chromium's sandbox gives renderers a new one).
        let listening = listening_inodes(pid);
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Ok(link) = std::fs::read_link(fd.path()) else {
                continue;
            };
            let link = link.to_string_lossy().to_string();
            if let Some(inode) = link
                .strip_prefix("socket:[")
                .and_then(|r| r.strip_suffix(']'))
                .and_then(|i| i.parse::<u64>().ok())
                && listening.contains(&inode)
            {
                found.push((pid, inode));
            }
        }
    }
    found
}

/// Processes of the tree whose fds this process cannot read (the scan cannot see them).
fn unreadable_fd_dirs(root: u32) -> Vec<u32> {
    tree(root)
        .into_iter()
        .filter(|pid| {
            std::fs::read_dir(format!("/proc/{pid}/fd")).is_err()
                && std::path::Path::new(&format!("/proc/{pid}")).exists()
        })
        .collect()
}

/// Baseline: the scan finds a listener when one exists — a throwaway one in this process, and
/// Chromium started the old way (`--remote-debugging-port=0`).
#[test]
fn control_the_listener_scan_finds_listeners() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let found = tcp_listeners_of_tree(std::process::id());
    assert!(
        !found.is_empty(),
        "the scan must see this test's own listener {:?}",
        listener.local_addr()
    );
    drop(listener);

    if !chromium_available() {
        return;
    }
    let exe = openclaw_node::browser::launcher::detect(None).unwrap().path;
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(exe)
        .args([
            "--headless=new",
            "--remote-debugging-port=0",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-breakpad",
        ])
        .arg(format!("--user-data-dir={}", dir.path().display()))
        .arg("about:blank")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut found = Vec::new();
    while found.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        found = tcp_listeners_of_tree(pid);
    }
    let _ = nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    );
    let _ = child.wait();
    assert!(
        !found.is_empty(),
        "a Chromium with --remote-debugging-port owns a TCP listener the scan must see"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_browser_control_port_is_gone_and_chromium_is_confined() {
    if !chromium_available() {
        return;
    }
    let site = serve_site().await;
    let dir = state_dir(&local_site_config());
    let proxy = proxy(dir.path());
    open_tab(&proxy, &format!("http://{site}/index.html")).await;
    let st = ok(&proxy, json!({"method": "GET", "path": "/"})).await["result"].clone();
    let pid = st["pid"].as_u64().unwrap() as u32;
    let procs = tree(pid);
    assert!(procs.len() >= 3, "browser, zygote, renderer: {procs:?}");

    // (a) No TCP listener anywhere in the browser's tree (the old attack's precondition).
    assert_eq!(
        unreadable_fd_dirs(pid),
        Vec::<u32>::new(),
        "the scan sees every process"
    );
    let listeners = tcp_listeners_of_tree(pid);
    assert!(
        listeners.is_empty(),
        "browser processes own TCP listeners: {listeners:?}"
    );
    // …and nothing answers on the old managed range either.
    for port in 18800..=18899u16 {
        if let Ok(s) = std::net::TcpStream::connect_timeout(
            &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
            Duration::from_millis(20),
        ) {
            // Another program may own it; it must not be ours.
            let peer_inode_owned = tcp_listeners_of_tree(pid);
            assert!(peer_inode_owned.is_empty(), "port {port}: {s:?}");
        }
    }

    if !nix::unistd::geteuid().is_root() {
        eprintln!("not root: the uid and mount-namespace part applies to a root node only");
        proxy.shutdown().await;
        return;
    }
    if st["sandbox"]["mountNamespace"] != true {
        assert!(
            std::env::var("SANDBOX_MUST_WORK").as_deref() != Ok("1"),
            "SANDBOX_MUST_WORK=1 but the browser is not confined: {st}"
        );
        eprintln!("the browser could not be confined here: {}", st["sandbox"]);
        proxy.shutdown().await;
        return;
    }
    // (b) Every process of the tree runs as the browser's uid.
    let table = process_table();
    for p in &procs {
        let Some((_, uid)) = table.get(p) else {
            continue; // exited meanwhile
        };
        assert_eq!(*uid, 65533, "process {p} of the browser runs as uid {uid}");
    }
    // (c) Its mount namespace: `/` read-only, its home (on /var/tmp) the writable one.
    let mountinfo = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).unwrap();
    let opts = |mount_point: &str| {
        mountinfo
            .lines()
            .rfind(|l| l.split_whitespace().nth(4) == Some(mount_point))
            .map(|l| l.split_whitespace().nth(5).unwrap_or("").to_string())
            .unwrap_or_else(|| panic!("no {mount_point} in the browser's mountinfo:\n{mountinfo}"))
    };
    assert!(
        opts("/").split(',').any(|o| o == "ro"),
        "/ is {}",
        opts("/")
    );
    assert!(
        opts("/var/tmp").split(',').any(|o| o == "rw"),
        "/var/tmp is {}",
        opts("/var/tmp")
    );
    // A write attempt as the browser, from inside its namespace: its home works, a
    // world-writable host directory does not; the same write outside the namespace works
    // (baseline: the uid alone would not stop it).
    let host_target = format!("/tmp/openclaw-browser-escape-{}", std::process::id());
    let _ = std::fs::remove_file(&host_target);
    let as_browser_outside = std::process::Command::new("setpriv")
        .args([
            "--reuid=65533",
            "--regid=65533",
            "--clear-groups",
            "touch",
            &host_target,
        ])
        .status()
        .unwrap();
    assert!(
        as_browser_outside.success(),
        "baseline: uid 65533 can write {host_target}"
    );
    std::fs::remove_file(&host_target).unwrap();
    let inside = |path: &str| {
        std::process::Command::new("nsenter")
            .args([
                "-t",
                &pid.to_string(),
                "-m",
                "-S",
                "65533",
                "-G",
                "65533",
                "touch",
                path,
            ])
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap()
            .success()
    };
    assert!(!inside(&host_target), "the browser wrote {host_target}");
    assert!(!std::path::Path::new(&host_target).exists());
    assert!(
        inside("/var/tmp/written-by-the-browser"),
        "the browser can write its home"
    );
    let udd = std::path::PathBuf::from(st["userDataDir"].as_str().unwrap());
    let home = udd.parent().unwrap();
    assert!(
        home.join("written-by-the-browser").exists(),
        "its /var/tmp is its home"
    );

    // (d) Chromium's own sandbox: renderers live in another user namespace than the browser.
    let ns = |p: u32| std::fs::read_link(format!("/proc/{p}/ns/user")).ok();
    let renderers: Vec<u32> = procs
        .iter()
        .copied()
        .filter(|p| {
            std::fs::read(format!("/proc/{p}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains("--type=renderer"))
                .unwrap_or(false)
        })
        .collect();
    assert!(!renderers.is_empty(), "a renderer runs: {procs:?}");
    let own_sandbox = st["sandbox"]["enabled"] == true;
    if own_sandbox {
        assert_eq!(st["noSandbox"], false, "{st}");
        for r in &renderers {
            assert_ne!(
                ns(*r),
                ns(pid),
                "renderer {r} shares the browser's user namespace"
            );
        }
    } else {
        assert!(
            std::env::var("SANDBOX_MUST_WORK").as_deref() != Ok("1"),
            "SANDBOX_MUST_WORK=1 but Chromium runs without its own sandbox: {st}"
        );
        eprintln!("Chromium's own sandbox unavailable here: {}", st["sandbox"]);
    }
    proxy.shutdown().await;
}

/// The pipe cannot be reached around the node either: a `standard` run through
/// `openclaw-node exec` (root without capabilities, and root with `runAs` 65534) cannot open
/// the browser's fd 3 through `/proc/<pid>/fd` to send it a command (the kernel's ptrace-mode
/// check on `/proc/<pid>/fd` refuses it). Baseline: an unconfined root shell can (so the check
/// sees a command that arrives: a tab opened by it). The node-as-a-normal-user case is
/// `attack_user_node_sandboxed_run_cannot_write_to_the_browser_pipe`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_a_sandboxed_run_cannot_write_to_the_browser_pipe() {
    if !chromium_available() || !nix::unistd::geteuid().is_root() {
        return;
    }
    let dir = state_dir(&json!({}));
    let proxy = proxy(dir.path());
    ok(&proxy, json!({"method": "POST", "path": "/start"})).await;
    let st = ok(&proxy, json!({"method": "GET", "path": "/"})).await["result"].clone();
    if st["sandbox"]["mountNamespace"] != true {
        assert!(
            std::env::var("SANDBOX_MUST_WORK").as_deref() != Ok("1"),
            "SANDBOX_MUST_WORK=1 but the browser is not confined: {st}"
        );
        proxy.shutdown().await;
        return;
    }
    let pid = st["pid"].as_u64().unwrap();
    // Baseline: an unconfined root shell (this test's own privileges) reaches the pipe.
    let mut sh = std::process::Command::new("sh");
    sh.arg("-c");
    let (drove, stderr) = pipe_write_opens_tab(&proxy, pid, "baseline", sh).await;
    assert!(
        drove,
        "baseline: a command written to /proc/<pid>/fd/3 opens a tab: {stderr}"
    );

    // The same through the sandbox: root without capabilities, and root with runAs 65534.
    for (marker, run_as) in [("sandboxed", false), ("sandboxed-runas", true)] {
        let home = exec_home(false);
        if run_as {
            std::fs::write(
                home.path().join(".openclaw/node-host.json5"),
                "{ sandbox: { runAs: { uid: 65534 } } }",
            )
            .unwrap();
            std::os::unix::fs::chown(home.path().join("work"), Some(65534), Some(65534)).unwrap();
            std::fs::set_permissions(
                home.path(),
                std::os::unix::fs::PermissionsExt::from_mode(0o755),
            )
            .unwrap();
        }
        let (drove, stderr) =
            pipe_write_opens_tab(&proxy, pid, marker, exec_shell(home.path())).await;
        assert!(
            !drove,
            "a sandboxed run ({marker}) drove the browser: {stderr}"
        );
        assert!(
            stderr.contains(&format!(
                "cannot create /proc/{pid}/fd/3: Permission denied"
            )),
            "{marker}: refused by the kernel's access check: {stderr}"
        );
    }
    proxy.shutdown().await;
}

/// Writes a `Target.createTarget` for `about:blank#<marker>` to the browser's fd 3 with the
/// shell command `cmd` (`sh -c`, or `openclaw-node exec … --shell`; the script is its last
/// argument) and reports whether that tab appeared, with the command's stderr.
async fn pipe_write_opens_tab(
    proxy: &openclaw_node::browser::BrowserProxy,
    pid: u64,
    marker: &str,
    mut cmd: std::process::Command,
) -> (bool, String) {
    let script = format!(
        "printf '{{\"id\":434343,\"method\":\"Target.createTarget\",\"params\":{{\"url\":\"about:blank#{marker}\"}}}}\\0' > /proc/{pid}/fd/3"
    );
    let out = cmd.arg(script).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let tabs = ok(proxy, json!({"method": "GET", "path": "/tabs"})).await;
        let found = tabs["result"]["tabs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["url"].as_str().unwrap_or("").ends_with(marker));
        if found {
            return (true, stderr);
        }
        if Instant::now() > deadline {
            return (false, stderr);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A scratch `$HOME` for `openclaw-node exec`: approvals with security=full (the policy
/// allows the command; only the sandbox stands in the way).
fn exec_home(user_node: bool) -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join("work")).unwrap();
    std::fs::create_dir(home.path().join(".openclaw")).unwrap();
    std::fs::write(
        home.path().join(".openclaw/exec-approvals.json"),
        r#"{"version":1,"defaults":{"security":"full","ask":"off"}}"#,
    )
    .unwrap();
    if user_node {
        // An unprivileged node has no delegated cgroup here.
        std::fs::write(
            home.path().join(".openclaw/node-host.json5"),
            "{ sandbox: { useCgroups: false } }",
        )
        .unwrap();
    }
    home
}

fn exec_shell(home: &std::path::Path) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_openclaw-node"));
    c.args(["exec", "--cwd"])
        .arg(home.join("work"))
        .arg("--shell")
        .env_clear()
        .env("HOME", home)
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("LANG", "C")
        .current_dir(home.join("work"));
    c
}

/// Helper process for `attack_user_node_sandboxed_run_cannot_write_to_the_browser_pipe`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "helper process, started by attack_user_node_sandboxed_run_cannot_write_to_the_browser_pipe"]
async fn helper_user_node_pipe_attack() {
    let Ok(dir) = std::env::var("OPENCLAW_NODE_BROWSER_HELPER_DIR") else {
        return;
    };
    let proxy = proxy(std::path::Path::new(&dir));
    ok(&proxy, json!({"method": "POST", "path": "/start"})).await;
    let st = ok(&proxy, json!({"method": "GET", "path": "/"})).await["result"].clone();
    let pid = st["pid"].as_u64().unwrap();
    let mut sh = std::process::Command::new("sh");
    sh.arg("-c");
    let (baseline, base_err) = pipe_write_opens_tab(&proxy, pid, "user-baseline", sh).await;
    let home = exec_home(true);
    let (sandboxed, sb_err) =
        pipe_write_opens_tab(&proxy, pid, "user-sandboxed", exec_shell(home.path())).await;
    println!(
        "RESULT {}",
        json!({"uid": st["sandbox"]["uid"], "ownSandbox": st["sandbox"]["enabled"],
               "listeners": tcp_listeners_of_tree(pid as u32).len(),
               "unscanned": unreadable_fd_dirs(pid as u32).len(),
               "mountNamespace": st["sandbox"]["mountNamespace"], "baseline": baseline, "baselineStderr": base_err,
               "sandboxed": sandboxed, "sandboxedStderr": sb_err})
    );
    proxy.shutdown().await;
}

/// The same attack when the node is a normal user (uid 65534 here): the browser and the run
/// share the node's uid. Baseline: an unconfined shell of that uid drives the browser through
/// `/proc/<pid>/fd/3`; a `standard` run through `openclaw-node exec` must not.
#[test]
fn attack_user_node_sandboxed_run_cannot_write_to_the_browser_pipe() {
    use std::os::unix::fs::PermissionsExt as _;
    if !chromium_available() || !nix::unistd::geteuid().is_root() {
        return;
    }
    let base = tempfile::tempdir().unwrap();
    std::fs::set_permissions(base.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let state = base.path().join("state");
    std::fs::create_dir(&state).unwrap();
    std::fs::write(state.join("openclaw.json"), "{}").unwrap();
    std::os::unix::fs::chown(&state, Some(65534), Some(65534)).unwrap();
    std::os::unix::fs::chown(state.join("openclaw.json"), Some(65534), Some(65534)).unwrap();
    let tmp = base.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    std::os::unix::fs::chown(&tmp, Some(65534), Some(65534)).unwrap();
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "real::attack::helper_user_node_pipe_attack",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("OPENCLAW_NODE_BROWSER_HELPER_DIR", &state)
        .env("HOME", &state)
        .env("TMPDIR", &tmp)
        .current_dir(base.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let r: serde_json::Value = stdout
        .split("RESULT ")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| {
            panic!(
                "helper printed no result: {stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    eprintln!("{r}");
    assert_eq!(r["uid"], 65534, "the browser runs as the node's uid: {r}");
    // A normal user's node: no mount namespace; Chromium's own sandbox where user namespaces
    // exist (required under SANDBOX_MUST_WORK=1).
    assert_eq!(r["mountNamespace"], false, "{r}");
    assert_eq!(
        r["listeners"], 0,
        "no TCP listener in the browser's tree: {r}"
    );
    if std::env::var("SANDBOX_MUST_WORK").as_deref() == Ok("1") {
        assert_eq!(r["ownSandbox"], true, "{r}");
    }
    assert_eq!(
        r["baseline"], true,
        "baseline: the node's uid reaches the pipe: {r}"
    );
    assert_eq!(
        r["sandboxed"], false,
        "a sandboxed run drove the browser: {r}"
    );
    assert!(
        r["sandboxedStderr"]
            .as_str()
            .unwrap()
            .contains("/fd/3: Permission denied"),
        "{r}"
    );
}
