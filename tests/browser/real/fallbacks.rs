//! What the built-in browser falls back to, and says, when part of its confinement cannot be
//! had: no unprivileged user namespaces (Chromium's own sandbox), `browser.noSandbox=false`
//! then refusing, and a root node without `CAP_SYS_ADMIN` (no mount namespace).

use std::os::unix::fs::PermissionsExt as _;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::browser::*;

/// An executable that behaves like Chromium on a host without user namespaces: without
/// `--no-sandbox` it prints Chromium's message and exits; with it, it runs the real Chromium.
fn chromium_without_userns() -> tempfile::TempDir {
    let real = openclaw_node::browser::launcher::detect(None).unwrap().path;
    let dir = tempfile::tempdir().unwrap();
    // Reachable by the browser's uid (a tempdir is 0700).
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let exe = dir.path().join("chromium");
    std::fs::write(
        &exe,
        format!(
            "#!/bin/sh\nfor a in \"$@\"; do [ \"$a\" = --no-sandbox ] && exec {} \"$@\"; done\n\
             echo '[1:1:ERROR:zygote_host_impl_linux.cc(130)] No usable sandbox! (simulated)' >&2\nexit 1\n",
            real.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_user_namespaces_chromium_runs_with_no_sandbox_and_says_so() {
    if !chromium_available() {
        return;
    }
    let fake = chromium_without_userns();
    let exe = fake.path().join("chromium");
    let dir = state_dir(&json!({"browser": {"executablePath": exe}}));
    let proxy = proxy(dir.path());
    ok(&proxy, json!({"method": "POST", "path": "/start"})).await;
    let st = ok(&proxy, json!({"method": "GET", "path": "/"})).await["result"].clone();
    assert_eq!(st["running"], true, "{st}");
    assert_eq!(st["noSandbox"], true, "{st}");
    assert_eq!(st["sandbox"]["enabled"], false, "{st}");
    let note = st["sandbox"]["note"].as_str().unwrap();
    assert!(note.contains("--no-sandbox"), "{note}");
    if nix::unistd::geteuid().is_root() {
        // Still its own uid in its read-only namespace.
        assert_eq!(st["sandbox"]["uid"], 65533, "{st}");
        assert_eq!(st["sandbox"]["mountNamespace"], true, "{st}");
        assert!(note.contains("read-only mount namespace"), "{note}");
    }
    proxy.shutdown().await;

    // browser.noSandbox=false refuses instead of falling back.
    std::fs::write(
        dir.path().join("openclaw.json"),
        json!({"browser": {"executablePath": exe, "noSandbox": false}}).to_string(),
    )
    .unwrap();
    let e = err(&proxy, json!({"method": "POST", "path": "/start"})).await;
    assert!(
        e.contains("browser.noSandbox=false") && e.contains("not available"),
        "{e}"
    );
    let st = ok(&proxy, json!({"method": "GET", "path": "/"})).await;
    assert_eq!(st["result"]["running"], false);
}

/// Helper process for `root_without_cap_sys_admin_runs_chromium_unconfined_and_says_so`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "helper process, started by root_without_cap_sys_admin_runs_chromium_unconfined_and_says_so"]
async fn helper_status_after_start() {
    let Ok(dir) = std::env::var("OPENCLAW_NODE_BROWSER_HELPER_DIR") else {
        return;
    };
    let proxy = proxy(std::path::Path::new(&dir));
    ok(&proxy, json!({"method": "POST", "path": "/start"})).await;
    let st = ok(&proxy, json!({"method": "GET", "path": "/"})).await;
    println!("STATUS {}", st["result"]);
    proxy.shutdown().await;
}

/// A root node that cannot create a mount namespace (no `CAP_SYS_ADMIN`, as in a default
/// container) still starts the browser — unconfined, as root with `--no-sandbox` — and says so.
#[test]
fn root_without_cap_sys_admin_runs_chromium_unconfined_and_says_so() {
    if !chromium_available() || !nix::unistd::geteuid().is_root() {
        return;
    }
    let dir = state_dir(&json!({}));
    // Dropping it from the bounding set: the exec'd root process has it nowhere.
    let out = std::process::Command::new("setpriv")
        .args(["--bounding-set", "-sys_admin", "--"])
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "real::fallbacks::helper_status_after_start",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("OPENCLAW_NODE_BROWSER_HELPER_DIR", dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let st: Value = stdout
        .split("STATUS ")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| {
            panic!(
                "helper printed no status: {stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    assert_eq!(st["running"], true, "{st}");
    assert_eq!(st["sandbox"]["mountNamespace"], false, "{st}");
    assert_eq!(st["sandbox"]["uid"], 0, "{st}");
    assert_eq!(st["noSandbox"], true, "{st}");
    assert!(
        st["sandbox"]["note"]
            .as_str()
            .unwrap()
            .contains("could not give Chromium its own mount namespace"),
        "{st}"
    );
    std::thread::sleep(Duration::from_millis(10));
}
