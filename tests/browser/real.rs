//! `browser.proxy` against a REAL headless Chromium (no mocks), driven through
//! `BrowserProxy::handle` with the same params JSON the gateway sends. Each test has its own
//! state dir (own profile, own browser). Under `CI=true` a missing Chromium fails.

use std::time::{Duration, Instant};

use crate::support::browser::*;
use base64::Engine as _;
use serde_json::{Value, json};

fn decode_file(payload: &Value) -> (String, Vec<u8>, String) {
    let files = payload["files"].as_array().expect("files array");
    assert_eq!(files.len(), 1, "{payload}");
    let f = &files[0];
    assert_eq!(
        f["path"], payload["result"]["path"],
        "file path matches result.path"
    );
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(f["base64"].as_str().unwrap())
        .unwrap();
    (
        f["path"].as_str().unwrap().to_string(),
        bytes,
        f["mimeType"].as_str().unwrap_or("").to_string(),
    )
}

fn png_dimensions(bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.len() > 24, "PNG too short");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR", "first chunk is IHDR");
    let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    (w, h)
}

fn ref_for(snapshot: &Value, role: &str, name: &str) -> String {
    let refs = snapshot["result"]["refs"].as_object().expect("refs");
    refs.iter()
        .find(|(_, v)| v["role"] == role && v["name"] == name)
        .map(|(k, _)| k.clone())
        .unwrap_or_else(|| panic!("no {role} {name:?} in {snapshot}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_browser_start_open_snapshot_act_screenshot_pdf_stop() {
    if !chromium_available() {
        return;
    }
    let site = serve_site().await;
    let dir = state_dir(&local_site_config());
    let proxy = proxy(dir.path());
    let base = format!("http://{site}");

    // GET / never launches.
    let st = ok(&proxy, json!({"method": "GET", "path": "/"})).await;
    assert_eq!(st["result"]["running"], false);
    assert_eq!(st["result"]["profile"], "openclaw");
    assert_eq!(st["result"]["driver"], "openclaw");

    let started = ok(&proxy, json!({"method": "POST", "path": "/start"})).await;
    assert_eq!(
        started,
        json!({"result": {"ok": true, "profile": "openclaw"}})
    );
    let st = ok(&proxy, json!({"method": "GET", "path": "/"})).await["result"].clone();
    assert_eq!(st["running"], true);
    // CDP runs over a pipe: no port, no HTTP endpoint (null as for a port-less profile).
    assert_eq!(st["cdpHttp"], false, "{st}");
    assert_eq!(st["cdpPort"], Value::Null, "{st}");
    assert_eq!(st["cdpUrl"], Value::Null, "{st}");
    assert_eq!(st["sandbox"]["cdp"], "pipe", "{st}");
    let pid = st["pid"].as_u64().unwrap();
    let user_data_dir = st["userDataDir"].as_str().unwrap().to_string();
    assert!(
        user_data_dir.starts_with(dir.path().to_str().unwrap()),
        "{st}"
    );
    if nix::unistd::geteuid().is_root() {
        // Confined: its own uid and read-only mount namespace (checked from /proc in
        // `attack_browser_control_port_is_gone_and_chromium_is_confined`).
        if st["sandbox"]["mountNamespace"] == true {
            assert_eq!(st["sandbox"]["uid"], 65533, "{st}");
        } else {
            // No CAP_SYS_ADMIN: unconfined, and said so.
            assert_eq!(st["noSandbox"], true, "{st}");
            assert!(st["sandbox"]["note"].as_str().unwrap().contains("as root"));
        }
    }

    // Open a tab on the test page.
    let opened = ok(
        &proxy,
        json!({"method": "POST", "path": "/tabs/open", "body": {"url": format!("{base}/index.html"), "label": "main"}}),
    )
    .await["result"]
        .clone();
    let target = opened["targetId"].as_str().unwrap().to_string();
    assert_eq!(opened["label"], "main");
    assert_eq!(opened["suggestedTargetId"], "main");
    assert_eq!(opened["type"], "page");
    assert_eq!(opened["resolvedProfile"], "openclaw");
    // No DevTools WebSocket exists for a page (absent, as for Playwright-enumerated tabs).
    assert!(opened.get("wsUrl").is_none(), "{opened}");

    let tabs = ok(&proxy, json!({"method": "GET", "path": "/tabs"})).await["result"].clone();
    assert_eq!(tabs["running"], true);
    let listed = tabs["tabs"].as_array().unwrap();
    assert_eq!(listed[0]["targetId"], target, "most recent first: {tabs}");
    assert_eq!(listed[0]["title"], "Proxy Test Page");
    assert!(listed[0]["tabId"].as_str().unwrap().starts_with('t'));

    // Navigate away and back (sticky tab = the opened one).
    let nav = ok(
        &proxy,
        json!({"method": "POST", "path": "/navigate", "body": {"url": format!("{base}/page2.html")}}),
    )
    .await;
    assert_eq!(
        nav,
        json!({"result": {"ok": true, "url": format!("{base}/page2.html"), "targetId": target}})
    );
    ok(
        &proxy,
        json!({"method": "POST", "path": "/navigate", "body": {"url": format!("{base}/index.html"), "targetId": "main"}}),
    )
    .await;

    // Snapshot: text and refs.
    let snap = ok(&proxy, json!({"method": "GET", "path": "/snapshot"})).await;
    let text = snap["result"]["snapshot"].as_str().unwrap();
    assert_eq!(snap["result"]["format"], "ai");
    assert_eq!(snap["result"]["targetId"], target);
    assert!(text.contains("heading \"Hello Proxy\""), "{text}");
    assert!(text.contains("This is a test paragraph"), "{text}");
    let button = ref_for(&snap, "button", "Click me");
    assert!(
        text.contains(&format!("button \"Click me\" [ref={button}]")),
        "{text}"
    );
    assert_eq!(
        snap["result"]["stats"]["refs"].as_u64().unwrap() as usize,
        snap["result"]["refs"].as_object().unwrap().len()
    );

    // Act: click changes the page, the next snapshot shows it.
    let clicked = ok(
        &proxy,
        json!({"method": "POST", "path": "/act", "body": {"kind": "click", "ref": button}}),
    )
    .await;
    assert_eq!(
        clicked,
        json!({"result": {"ok": true, "targetId": target, "url": format!("{base}/index.html")}})
    );
    let snap2 = ok(&proxy, json!({"method": "GET", "path": "/snapshot"})).await;
    let text2 = snap2["result"]["snapshot"].as_str().unwrap();
    assert!(text2.contains("heading \"Clicked!\""), "{text2}");
    assert!(!text2.contains("Hello Proxy"), "{text2}");
    assert_eq!(
        ref_for(&snap2, "button", "Click me"),
        button,
        "refs are stable"
    );

    // Type + press Enter submits the form; hover changes the heading.
    let name_box = ref_for(&snap2, "textbox", "Name");
    ok(
        &proxy,
        json!({"method": "POST", "path": "/act", "body": {"kind": "type", "ref": name_box, "text": "Ada", "submit": true}}),
    )
    .await;
    let eval = ok(
        &proxy,
        json!({"method": "POST", "path": "/act", "body": {"kind": "evaluate", "fn": "() => document.getElementById('title').textContent"}}),
    )
    .await;
    assert_eq!(eval["result"]["result"], "Submitted: Ada");
    let hover = ref_for(&snap2, "button", "Hover target");
    ok(
        &proxy,
        json!({"method": "POST", "path": "/act", "body": {"kind": "hover", "ref": format!("@{hover}")}}),
    )
    .await;
    ok(
        &proxy,
        json!({"method": "POST", "path": "/act", "body": {"kind": "press", "key": "Tab"}}),
    )
    .await;
    let snap3 = ok(
        &proxy,
        json!({"method": "GET", "path": "/snapshot", "query": {"interactive": true}}),
    )
    .await;
    let eval = ok(
        &proxy,
        json!({"method": "POST", "path": "/act", "body": {"kind": "evaluate", "fn": "() => document.getElementById('title').textContent"}}),
    )
    .await;
    assert_eq!(eval["result"]["result"], "Hovered!");
    assert!(
        !snap3["result"]["snapshot"]
            .as_str()
            .unwrap()
            .contains("heading"),
        "interactive snapshot lists only interactive roles: {snap3}"
    );

    // Screenshot: a real PNG shipped as a file.
    let shot = ok(&proxy, json!({"method": "POST", "path": "/screenshot"})).await;
    let (path, bytes, mime) = decode_file(&shot);
    assert_eq!(mime, "image/png");
    assert!(
        path.starts_with(dir.path().join("media/browser").to_str().unwrap()),
        "{path}"
    );
    assert!(path.ends_with(".png"));
    assert_eq!(
        std::fs::read(&path).unwrap(),
        bytes,
        "file on disk = shipped bytes"
    );
    let (w, h) = png_dimensions(&bytes);
    assert!(w >= 200 && h >= 200, "viewport screenshot {w}x{h}");
    assert_eq!(shot["result"]["targetId"], target);

    // Element screenshot by ref is smaller than the viewport.
    let el = ok(
        &proxy,
        json!({"method": "POST", "path": "/screenshot", "body": {"ref": button}}),
    )
    .await;
    let (_, el_bytes, _) = decode_file(&el);
    let (ew, eh) = png_dimensions(&el_bytes);
    assert!(
        ew < w && eh < h && ew > 0 && eh > 0,
        "element {ew}x{eh} vs {w}x{h}"
    );

    // PDF.
    let pdf = ok(&proxy, json!({"method": "POST", "path": "/pdf"})).await;
    let (ppath, pbytes, pmime) = decode_file(&pdf);
    assert_eq!(pmime, "application/pdf");
    assert!(ppath.ends_with(".pdf"));
    assert!(pbytes.starts_with(b"%PDF-"), "PDF header");
    assert!(
        pbytes.windows(5).any(|w| w == b"%%EOF"),
        "PDF trailer present"
    );

    // Console: captured from the first load on (the tab was attached before navigating).
    let console = ok(&proxy, json!({"method": "GET", "path": "/console"})).await["result"].clone();
    let texts: Vec<&str> = console["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert!(texts.contains(&"page loaded 42"), "{console}");
    assert!(texts.contains(&"button clicked"), "{console}");
    let warn = ok(
        &proxy,
        json!({"method": "GET", "path": "/console", "query": {"level": "warn"}}),
    )
    .await;
    assert!(
        warn["result"]["messages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["type"] == "warning" || m["type"] == "error"),
        "{warn}"
    );

    // Stop: no browser process is left behind.
    let stopped = ok(&proxy, json!({"method": "POST", "path": "/stop"})).await;
    assert_eq!(
        stopped,
        json!({"result": {"ok": true, "stopped": true, "profile": "openclaw"}})
    );
    assert!(
        processes_mentioning(&user_data_dir).is_empty(),
        "browser processes survived /stop"
    );
    assert!(
        nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pid as i32),
            None::<nix::sys::signal::Signal>
        )
        .is_err()
            || processes_mentioning(&user_data_dir).is_empty()
    );
    let tabs = ok(&proxy, json!({"method": "GET", "path": "/tabs"})).await;
    assert_eq!(tabs, json!({"result": {"running": false, "tabs": []}}));
    let again = ok(&proxy, json!({"method": "POST", "path": "/stop"})).await;
    assert_eq!(again["result"]["stopped"], false);
}

/// browser-routes §6 item 4: a stale ref must fail at once, not after the 8–20 s interaction
/// timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pitfall_stale_ref_fails_at_once() {
    if !chromium_available() {
        return;
    }
    let site = serve_site().await;
    let dir = state_dir(&local_site_config());
    let proxy = proxy(dir.path());
    let base = format!("http://{site}");
    open_tab(&proxy, &format!("{base}/index.html")).await;
    let snap = ok(&proxy, json!({"method": "GET", "path": "/snapshot"})).await;
    let button = ref_for(&snap, "button", "Click me");
    let remover = ref_for(&snap, "button", "Remove click me");

    // The element leaves the document: the ref is bound to a node that is gone.
    ok(
        &proxy,
        json!({"method": "POST", "path": "/act", "body": {"kind": "click", "ref": remover}}),
    )
    .await;
    let t = Instant::now();
    let e = err(
        &proxy,
        json!({"method": "POST", "path": "/act", "body": {"kind": "click", "ref": button}}),
    )
    .await;
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "took {:?}",
        t.elapsed()
    );
    assert!(
        e.starts_with("Error: 500: Element \"") && e.contains("not found or not visible"),
        "{e}"
    );

    // A navigation clears the table: immediate `Unknown ref`.
    ok(
        &proxy,
        json!({"method": "POST", "path": "/navigate", "body": {"url": format!("{base}/page2.html")}}),
    )
    .await;
    let t = Instant::now();
    let e = err(
        &proxy,
        json!({"method": "POST", "path": "/act", "body": {"kind": "click", "ref": remover}}),
    )
    .await;
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "took {:?}",
        t.elapsed()
    );
    assert_eq!(
        e,
        format!(
            "Error: 500: Error: Unknown ref \"{remover}\". Run a new snapshot and use a ref from that snapshot."
        )
    );
    // The same through the browser-v1 envelope (what the gateway's browser.request uses).
    let env = ok(
        &proxy,
        json!({"method": "POST", "path": "/act", "body": {"kind": "click", "ref": "e999"}, "errorEnvelope": "browser-v1"}),
    )
    .await;
    assert_eq!(env["error"]["status"], 500);
    assert_eq!(
        env["route"],
        json!({"status": "resolved", "profile": "openclaw", "driver": "openclaw"})
    );
    proxy.shutdown().await;
}

/// browser-routes §6 item 3: a screenshot of a never-focused background tab must not hang.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pitfall_background_tab_screenshot_does_not_hang() {
    if !chromium_available() {
        return;
    }
    let site = serve_site().await;
    let dir = state_dir(&local_site_config());
    let proxy = proxy(dir.path());
    let base = format!("http://{site}");
    let first = open_tab(&proxy, &format!("{base}/index.html")).await;
    // A second background tab becomes sticky; then shoot the first one, which is in the
    // background and was never focused.
    open_tab(&proxy, &format!("{base}/page2.html")).await;
    let t = Instant::now();
    let shot = ok(
        &proxy,
        json!({"method": "POST", "path": "/screenshot", "body": {"targetId": first, "timeoutMs": 3000}, "timeoutMs": 8000}),
    )
    .await;
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "took {:?}",
        t.elapsed()
    );
    let (_, bytes, _) = decode_file(&shot);
    png_dimensions(&bytes);
    proxy.shutdown().await;
}

/// browser-routes §6 item 2: closing the default tab (also via `/act close`) must not break
/// later calls without a `targetId`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pitfall_closing_sticky_tab_does_not_break_later_calls() {
    if !chromium_available() {
        return;
    }
    let site = serve_site().await;
    let dir = state_dir(&local_site_config());
    let proxy = proxy(dir.path());
    let base = format!("http://{site}");
    let a = open_tab(&proxy, &format!("{base}/index.html")).await;
    let b = ok(
        &proxy,
        json!({"method": "POST", "path": "/tabs/open", "body": {"url": format!("{base}/page2.html")}}),
    )
    .await["result"]["tabId"]
        .as_str()
        .unwrap()
        .to_string();
    let closed = ok(
        &proxy,
        json!({"method": "POST", "path": "/act", "body": {"kind": "close", "targetId": b}}),
    )
    .await;
    assert_eq!(closed["result"]["ok"], true);
    let snap = ok(&proxy, json!({"method": "GET", "path": "/snapshot"})).await;
    assert_ne!(snap["result"]["targetId"].as_str().unwrap(), "");

    // Close every tab with DELETE; the next implicit call opens a fresh about:blank.
    let tabs = ok(&proxy, json!({"method": "GET", "path": "/tabs"})).await;
    for t in tabs["result"]["tabs"].as_array().unwrap() {
        let id = t["targetId"].as_str().unwrap();
        let del = ok(
            &proxy,
            json!({"method": "DELETE", "path": format!("/tabs/{id}"), "query": {"targetIdMode": "raw"}}),
        )
        .await;
        assert_eq!(del["result"]["targetId"], id);
    }
    let e = err(
        &proxy,
        json!({"method": "DELETE", "path": format!("/tabs/{a}")}),
    )
    .await;
    assert!(
        e.starts_with("Error: 404: tab not found: browser tab"),
        "{e}"
    );
    let snap = ok(&proxy, json!({"method": "GET", "path": "/snapshot"})).await;
    assert_eq!(snap["result"]["url"], "about:blank");
    assert_eq!(snap["result"]["snapshot"], "");
    proxy.shutdown().await;
}

/// Timeout diagnostics (spec §9 item 23): method, path, kind, profile and a status probe.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_timeout_names_route_profile_and_browser_status() {
    if !chromium_available() {
        return;
    }
    let dir = state_dir(&local_site_config());
    let proxy = proxy(dir.path());
    ok(&proxy, json!({"method": "POST", "path": "/start"})).await;
    let t = Instant::now();
    let e = err(
        &proxy,
        json!({"method": "POST", "path": "/act", "body": {"kind": "wait", "timeMs": 3000}, "timeoutMs": 500}),
    )
    .await;
    assert!(
        t.elapsed() < Duration::from_millis(2500),
        "took {:?}",
        t.elapsed()
    );
    assert!(
        e.starts_with("Error: browser proxy timed out for POST /act after 500ms; ws-backed browser action; profile=openclaw; status(running=true, cdpHttp=false, cdpReady=true, transport=cdp, cdpUrl=null)"),
        "{e}"
    );
    // The browser still works afterwards.
    let st = ok(&proxy, json!({"method": "GET", "path": "/"})).await;
    assert_eq!(st["result"]["running"], true);
    proxy.shutdown().await;
    let st = ok(&proxy, json!({"method": "GET", "path": "/"})).await;
    assert_eq!(st["result"]["running"], false);
}

/// Navigation policy without `dangerouslyAllowPrivateNetwork`, and the envelope shapes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn navigation_policy_and_error_envelopes() {
    if !chromium_available() {
        return;
    }
    let site = serve_site().await;
    let dir = state_dir(&json!({}));
    let proxy = proxy(dir.path());
    let env = ok(
        &proxy,
        json!({"method": "POST", "path": "/navigate", "body": {"url": "javascript:alert(1)"}, "errorEnvelope": "browser-v1"}),
    )
    .await;
    assert_eq!(
        env,
        json!({"error": {"status": 400, "body": {"error": "Navigation blocked: unsupported protocol \"javascript:\"", "reason": "navigation_blocked"}},
               "route": {"status": "resolved", "profile": "openclaw", "driver": "openclaw"}})
    );
    let e = err(
        &proxy,
        json!({"method": "POST", "path": "/tabs/open", "body": {"url": format!("http://{site}/")}}),
    )
    .await;
    assert!(
        e.starts_with("Error: 400: Navigation blocked: 127.0.0.1 is a private"),
        "{e}"
    );
    // Validation inside /act happens before any launch.
    let env = ok(
        &proxy,
        json!({"method": "POST", "path": "/act", "body": {}, "errorEnvelope": "browser-v1"}),
    )
    .await;
    assert_eq!(
        env["error"],
        json!({"status": 400, "body": {"error": "kind is required", "code": "ACT_KIND_REQUIRED"}})
    );
    let st = ok(&proxy, json!({"method": "GET", "path": "/"})).await;
    assert_eq!(
        st["result"]["running"], false,
        "nothing above launched a browser"
    );

    // The policy also applies to where a tab already is: allow private addresses, open the
    // local page, then tighten the policy (re-read per call) — page routes refuse the tab.
    std::fs::write(
        dir.path().join("openclaw.json"),
        local_site_config().to_string(),
    )
    .unwrap();
    open_tab(&proxy, &format!("http://{site}/")).await;
    ok(&proxy, json!({"method": "GET", "path": "/snapshot"})).await;
    std::fs::write(dir.path().join("openclaw.json"), "{}").unwrap();
    let e = err(&proxy, json!({"method": "GET", "path": "/snapshot"})).await;
    assert!(
        e.starts_with("Error: 400: Navigation blocked: 127.0.0.1 is a private"),
        "{e}"
    );
    proxy.shutdown().await;
}

/// Helper process for `node_killed_outright_takes_the_browser_with_it` (does nothing unless
/// started by that test).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "helper process, started by node_killed_outright_takes_the_browser_with_it"]
async fn helper_start_browser_and_wait() {
    let Ok(dir) = std::env::var("OPENCLAW_NODE_BROWSER_HELPER_DIR") else {
        return;
    };
    let proxy = proxy(std::path::Path::new(&dir));
    ok(&proxy, json!({"method": "POST", "path": "/start"})).await;
    let st = ok(&proxy, json!({"method": "GET", "path": "/"})).await;
    println!("READY {}", st["result"]["userDataDir"].as_str().unwrap());
    tokio::time::sleep(Duration::from_secs(120)).await;
}

/// The browser dies with the node even when the node is SIGKILLed (no chance to clean up).
#[test]
fn node_killed_outright_takes_the_browser_with_it() {
    use std::io::BufRead as _;
    if !chromium_available() {
        return;
    }
    let dir = state_dir(&json!({}));
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "real::helper_start_browser_and_wait",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("OPENCLAW_NODE_BROWSER_HELPER_DIR", dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            // libtest prints `test <name> ... ` without a newline before our line.
            if let Some((_, udd)) = line.split_once("READY ") {
                let _ = tx.send(udd.trim().to_string());
            }
        }
    });
    let udd = rx
        .recv_timeout(Duration::from_secs(40))
        .expect("helper started a browser");
    assert!(
        !processes_mentioning(&udd).is_empty(),
        "browser runs while the node runs"
    );
    child.kill().unwrap(); // SIGKILL: no destructor, no shutdown hook runs
    child.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !processes_mentioning(&udd).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        processes_mentioning(&udd).is_empty(),
        "browser processes outlived the killed node: {:?}",
        processes_mentioning(&udd)
    );
}

/// node-host-surface §9 item 24: a failed start is not cached — fixing the config makes the
/// next call work without restarting the node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_start_is_not_cached() {
    if !chromium_available() {
        return;
    }
    let dir = state_dir(&json!({"browser": {"executablePath": "/nonexistent/chromium"}}));
    let proxy = proxy(dir.path());
    let e = err(&proxy, json!({"method": "POST", "path": "/start"})).await;
    assert!(
        e.starts_with(
            "Error: 500: Error: browser.executablePath /nonexistent/chromium does not exist"
        ),
        "{e}"
    );
    let st = ok(&proxy, json!({"method": "GET", "path": "/"})).await;
    assert!(
        st["result"]["detectError"]
            .as_str()
            .unwrap()
            .contains("/nonexistent/chromium")
    );
    std::fs::write(dir.path().join("openclaw.json"), "{}").unwrap();
    let started = ok(&proxy, json!({"method": "POST", "path": "/start"})).await;
    assert_eq!(started["result"]["ok"], true);
    proxy.shutdown().await;
}

/// A browser that died behind our back is noticed and relaunched by the next page route.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashed_browser_is_relaunched() {
    if !chromium_available() {
        return;
    }
    let dir = state_dir(&json!({}));
    let proxy = proxy(dir.path());
    ok(&proxy, json!({"method": "POST", "path": "/start"})).await;
    let st = ok(&proxy, json!({"method": "GET", "path": "/"})).await;
    let pid = st["result"]["pid"].as_u64().unwrap() as i32;
    nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let tabs = ok(&proxy, json!({"method": "GET", "path": "/tabs"})).await;
        if tabs["result"]["running"] == false {
            break;
        }
        assert!(Instant::now() < deadline, "death not noticed: {tabs}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let snap = ok(&proxy, json!({"method": "GET", "path": "/snapshot"})).await;
    assert_eq!(snap["result"]["url"], "about:blank");
    let st = ok(&proxy, json!({"method": "GET", "path": "/"})).await;
    assert_eq!(st["result"]["running"], true);
    assert_ne!(st["result"]["pid"].as_u64().unwrap() as i32, pid);
    proxy.shutdown().await;
}

/// JavaScript dialogs: an action that opens one returns `blockedByDialog` instead of hanging,
/// later calls report the pending dialog, and `POST /hooks/dialog` handles it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dialogs_block_reported_and_handled() {
    if !chromium_available() {
        return;
    }
    let site = serve_site().await;
    let dir = state_dir(&local_site_config());
    let proxy = proxy(dir.path());
    open_tab(&proxy, &format!("http://{site}/index.html")).await;
    let snap = ok(&proxy, json!({"method": "GET", "path": "/snapshot"})).await;
    let alert = ref_for(&snap, "button", "Alert me");
    let e = err(
        &proxy,
        json!({"method": "POST", "path": "/hooks/dialog", "body": {"accept": true}}),
    )
    .await;
    assert_eq!(e, "Error: 409: no JavaScript dialog is open on this tab");

    let t = Instant::now();
    let clicked = ok(
        &proxy,
        json!({"method": "POST", "path": "/act", "body": {"kind": "click", "ref": alert}, "timeoutMs": 8000}),
    )
    .await["result"]
        .clone();
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "took {:?}",
        t.elapsed()
    );
    assert_eq!(clicked["blockedByDialog"], true, "{clicked}");
    let pending = &clicked["browserState"]["dialogs"]["pending"][0];
    assert_eq!(pending["type"], "alert");
    assert_eq!(pending["message"], "hello dialog");

    let snap = ok(
        &proxy,
        json!({"method": "GET", "path": "/snapshot", "timeoutMs": 8000}),
    )
    .await["result"]
        .clone();
    assert_eq!(snap["blockedByDialog"], true, "{snap}");
    assert_eq!(snap["snapshot"], "");

    let handled = ok(
        &proxy,
        json!({"method": "POST", "path": "/hooks/dialog", "body": {"accept": true}}),
    )
    .await;
    assert_eq!(handled, json!({"result": {"ok": true}}));
    let snap = ok(&proxy, json!({"method": "GET", "path": "/snapshot"})).await["result"].clone();
    assert!(snap.get("blockedByDialog").is_none(), "{snap}");
    assert!(snap["snapshot"].as_str().unwrap().contains("Hello Proxy"));
    let recent = &snap["browserState"]["dialogs"]["recent"][0];
    assert_eq!(recent["closedBy"], "agent", "{snap}");
    proxy.shutdown().await;
}

/// `/act {kind:"batch"}`: per-step results, stop on the first error, abort on navigation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn act_batch_records_failures_and_stops_on_navigation() {
    if !chromium_available() {
        return;
    }
    let site = serve_site().await;
    let dir = state_dir(&local_site_config());
    let proxy = proxy(dir.path());
    open_tab(&proxy, &format!("http://{site}/index.html")).await;
    let snap = ok(&proxy, json!({"method": "GET", "path": "/snapshot"})).await;
    let button = ref_for(&snap, "button", "Click me");
    let name = ref_for(&snap, "textbox", "Name");
    let link = ref_for(&snap, "link", "Go to page two");
    let r = ok(
        &proxy,
        json!({"method": "POST", "path": "/act", "body": {"kind": "batch", "actions": [
            {"kind": "click", "ref": button}, {"kind": "type", "ref": name, "text": "Batch"},
            {"kind": "click", "ref": "e999"}, {"kind": "press", "key": "Enter"}]}}),
    )
    .await["result"]
        .clone();
    let results = r["results"].as_array().unwrap();
    assert_eq!(results.len(), 3, "{r}");
    assert_eq!(results[0], json!({"ok": true}));
    assert_eq!(results[1], json!({"ok": true}));
    assert_eq!(results[2]["ok"], false);
    assert!(
        results[2]["error"]
            .as_str()
            .unwrap()
            .contains("Unknown ref \"e999\""),
        "{r}"
    );
    let title = ok(
        &proxy,
        json!({"method": "POST", "path": "/act", "body": {"kind": "evaluate", "fn": "() => [document.getElementById('title').textContent, document.getElementById('name').value]"}}),
    )
    .await;
    assert_eq!(
        title["result"]["result"],
        json!(["Clicked!", "Batch"]),
        "Enter was not pressed"
    );

    let r = ok(
        &proxy,
        json!({"method": "POST", "path": "/act", "body": {"kind": "batch", "actions": [
            {"kind": "click", "ref": link}, {"kind": "click", "ref": button}]}}),
    )
    .await["result"]
        .clone();
    let page2 = format!("http://{site}/page2.html");
    assert_eq!(
        r["results"],
        json!([{"ok": true, "navigated": true, "url": page2}]),
        "{r}"
    );
    assert_eq!(
        r["aborted"],
        json!({"reason": "navigation", "afterAction": 1, "url": page2, "skipped": 1})
    );
    assert_eq!(r["url"], page2);
    proxy.shutdown().await;
}

mod attack;

mod fallbacks;
