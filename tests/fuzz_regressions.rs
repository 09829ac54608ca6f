//! Fuzzing regressions: every input a fuzz target ever crashed on is pinned here as a named
//! test (`fuzz_<target>_<what>`, input kept in `fuzz/regressions/<target>/`), and the committed
//! seed corpora (`fuzz/corpus/<target>/`) are replayed through the same production decoders on
//! stable Rust, so CI exercises them without cargo-fuzz. See FUZZING.md.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use openclaw_node::browser::builtin::{match_route, validate_act};
use openclaw_node::browser::route::Settings;
use openclaw_node::browser::snapshot::{RefTable, SnapshotOptions, render_ai, render_aria};
use openclaw_node::browser::{check_route, decode_params as browser_params, resolve_call};
use openclaw_node::commands::decode_params;
use openclaw_node::gateway::frames::{Inbound, InvokeRequest, parse_inbound};
use openclaw_node::policy::approvals::{normalize_remote, parse_text};
use openclaw_node::policy::decode_approvals_set;
use openclaw_node::policy::plan;

fn inputs(kind: &str, target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(kind)
        .join(target);
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out: Vec<_> = rd
        .map(|e| e.unwrap().path())
        .map(|p| {
            let data = std::fs::read(&p).unwrap();
            (p, data)
        })
        .collect();
    out.sort();
    out
}

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let mut v = inputs("corpus", target);
    v.extend(inputs("regressions", target));
    v
}

/// The gateway client's decoding of one inbound text frame (what `gateway_frame` fuzzes).
fn gateway_frame(text: &str) -> Option<InvokeRequest> {
    match parse_inbound(text).ok()? {
        Inbound::Event(ev) => {
            assert!(!ev.event.is_empty());
            let req = InvokeRequest::from_payload(ev.payload.as_ref()?)?;
            assert!(!req.id.is_empty() && !req.node_id.is_empty() && !req.command.is_empty());
            Some(req)
        }
        Inbound::Res(r) => {
            assert!(!r.id.is_empty());
            None
        }
        Inbound::Req(_) => None,
    }
}

fn system_run(text: &str) -> Result<plan::RunRequest, String> {
    let v = decode_params(Some(text), true).map_err(|e| e.message)?;
    let r = plan::decode(&v)?;
    assert!(!r.argv.is_empty());
    Ok(r)
}

fn approvals_set(text: &str) -> Result<String, String> {
    let v = decode_params(Some(text), true).map_err(|e| e.message)?;
    let (file, _) = decode_approvals_set(&v).map_err(|e| e.message)?;
    let mut f = normalize_remote(file)?;
    f.ensure_ids();
    let canonical = f.to_canonical_string();
    parse_text(&canonical).map_err(|m| format!("written file does not read back: {m}"))?;
    Ok(canonical)
}

fn browser_proxy(text: &str) -> Result<(String, String), String> {
    let v = decode_params(Some(text), false).map_err(|e| e.message)?;
    let (obj, raw) = browser_params(&v).map_err(|e| e.message)?;
    let s = Settings::default();
    let (m, p) = check_route(obj, &raw, &s).map_err(|e| e.message)?;
    let call = resolve_call(obj, m, p, s).map_err(|e| e.message)?;
    if let Ok(openclaw_node::browser::builtin::Route::Act) =
        match_route(&call.req.method, &call.req.path)
    {
        let _ = validate_act(&call.req, 0);
    }
    Ok((call.req.method, call.req.path))
}

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

#[test]
fn fuzz_corpus_gateway_frame_replays() {
    let seeds = corpus("gateway_frame");
    assert!(seeds.len() >= 50, "gateway_frame seeds missing");
    let invokes = seeds
        .iter()
        .filter_map(|(_, d)| text(d).and_then(gateway_frame))
        .count();
    assert!(
        invokes >= 10,
        "expected node.invoke.request seeds, got {invokes}"
    );
}

#[test]
fn fuzz_corpus_system_run_params_replays() {
    let seeds = corpus("system_run_params");
    assert!(seeds.len() >= 50, "system_run_params seeds missing");
    let accepted = seeds
        .iter()
        .filter(|(_, d)| text(d).is_some_and(|t| system_run(t).is_ok()))
        .count();
    assert!(accepted >= 40, "only {accepted} seeds decode");
}

#[test]
fn fuzz_corpus_exec_approvals_set_params_replays() {
    let seeds = corpus("exec_approvals_set_params");
    assert!(seeds.len() >= 10, "exec_approvals_set_params seeds missing");
    let accepted = seeds
        .iter()
        .filter(|(_, d)| text(d).is_some_and(|t| approvals_set(t).is_ok()))
        .count();
    assert!(accepted >= 5, "only {accepted} seeds normalise");
}

#[test]
fn fuzz_corpus_browser_proxy_params_replays() {
    let seeds = corpus("browser_proxy_params");
    assert!(seeds.len() >= 50, "browser_proxy_params seeds missing");
    let accepted = seeds
        .iter()
        .filter(|(_, d)| text(d).is_some_and(|t| browser_proxy(t).is_ok()))
        .count();
    assert!(accepted >= 40, "only {accepted} seeds validate");
}

#[test]
fn fuzz_corpus_approvals_file_replays() {
    let seeds = corpus("approvals_file");
    assert!(seeds.len() >= 20, "approvals_file seeds missing");
    for (p, d) in &seeds {
        if let Ok(f) = parse_text(&String::from_utf8_lossy(d)) {
            let once = f.to_canonical_string();
            let again = parse_text(&once).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            assert_eq!(again.to_canonical_string(), once, "{}", p.display());
        }
    }
}

/// The pure decoders split out of `BrowserProxy::handle` / `Builtin::route` for fuzzing keep the
/// adapter's messages and route table.
#[test]
fn fuzz_browser_proxy_params_split_decoders_keep_behaviour() {
    use openclaw_node::browser::builtin::Route;
    use serde_json::json;
    let e = browser_params(&json!([])).unwrap_err();
    assert_eq!(
        e.message,
        "Error: INVALID_REQUEST: paramsJSON must be a JSON object"
    );
    let e = browser_params(&json!({"path": "  "})).unwrap_err();
    assert_eq!(e.message, "Error: INVALID_REQUEST: path required");
    assert_eq!(
        browser_proxy(r#"{"method":" post ","path":"tabs/open/","timeoutMs":0.5}"#).unwrap(),
        ("POST".to_string(), "/tabs/open".to_string())
    );
    let e = browser_proxy(r#"{"method":"PUT","path":"/"}"#).unwrap_err();
    assert_eq!(
        e,
        "Error: INVALID_REQUEST: method must be GET, POST, or DELETE"
    );
    let e = browser_proxy(r#"{"method":"DELETE","path":"/profiles/work"}"#).unwrap_err();
    assert!(
        e.contains("cannot mutate persistent browser profiles"),
        "{e}"
    );
    assert_eq!(
        match_route("DELETE", "/tabs/a%2Fb").unwrap(),
        Route::CloseTab("a/b".into())
    );
    assert_eq!(match_route("DELETE", "/tabs/%zz").unwrap_err().status, 400);
    assert_eq!(match_route("GET", "/start").unwrap_err().status, 404);
    assert_eq!(match_route("POST", "/act").unwrap(), Route::Act);
}

/// `system.execApprovals.set` params and remote-file checks, split out of `Store::set_remote`.
#[test]
fn fuzz_exec_approvals_set_params_split_decoders_keep_behaviour() {
    let e = approvals_set(r#"{"file":"x"}"#).unwrap_err();
    assert_eq!(e, "exec approvals file required");
    let e = approvals_set(r#"{"file":{"agents":[]}}"#).unwrap_err();
    assert!(!e.is_empty());
    let e = approvals_set(r#"{"file":{"version":1,"socket":{"path":"a\u0000b"}}}"#).unwrap_err();
    assert_eq!(e, "file contains NUL characters");
    let ok = approvals_set(
        r#"{"file":{"version":2,"agents":{"main":{"allowlist":["/usr/bin/rg"]}}},"baseHash":"x"}"#,
    )
    .unwrap();
    assert!(ok.contains("\"/usr/bin/rg\""), "{ok}");
}

/// Run the `browser_snapshot` target's renderers on one input (flag byte + AX node list), on a
/// thread, failing if it does not finish in time.
fn snapshot_within(data: &[u8], secs: u64) -> (String, usize) {
    let data = data.to_vec();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let nodes: Vec<serde_json::Value> = serde_json::from_slice(&data[1..]).unwrap();
        let opts = SnapshotOptions {
            interactive: data[0] & 1 != 0,
            compact: data[0] & 2 != 0,
            ..SnapshotOptions::default()
        };
        let mut table = RefTable::default();
        let r = render_ai(&nodes, &opts, &mut table);
        let aria = render_aria(&nodes, 1000, &mut table);
        let _ = tx.send((r.snapshot, aria.len()));
    });
    rx.recv_timeout(std::time::Duration::from_secs(secs))
        .expect("snapshot rendering did not terminate")
}

/// Found by `browser_snapshot` in 12 s: an AX node listed as a child twice (or a cycle) made
/// `render_ai` walk the tree once per path — 2^100 paths for a 100-deep chain.
#[test]
fn fuzz_browser_snapshot_shared_children_render_once() {
    let nodes = br#"[{"nodeId":"1","role":{"value":"button"},"name":{"value":"a"},"childIds":["2","2"]},
        {"nodeId":"2","parentId":"1","role":{"value":"button"},"name":{"value":"b"},"childIds":["3","3"]},
        {"nodeId":"3","parentId":"2","role":{"value":"button"},"name":{"value":"c"},"childIds":["1"]}]"#;
    let mut input = vec![0u8];
    input.extend_from_slice(nodes);
    let (text, aria) = snapshot_within(&input, 10);
    assert_eq!(text.lines().count(), 3, "each node once:\n{text}");
    assert_eq!(aria, 3);
    for (name, data) in inputs("regressions", "browser_snapshot") {
        snapshot_within(&data, 10);
        eprintln!("{} ok", name.display());
    }
}

/// An ignored AX node that is its own child made `render_aria` loop forever (the depth guard
/// does not grow through ignored nodes).
#[test]
fn fuzz_browser_snapshot_ignored_self_loop_terminates() {
    let input = b"\x00[{\"nodeId\":\"1\",\"ignored\":true,\"childIds\":[\"1\"]}]";
    let (text, aria) = snapshot_within(input, 10);
    assert_eq!((text.as_str(), aria), ("", 0));
}

/// Found by `approvals_file` (seeded run): a number in an unknown field kept verbatim was
/// written as `1.333333333333333e+55` and read back as a different float, so the canonical file
/// was not a fixed point (every read would rewrite it and change its hash). JSON floats must
/// round-trip exactly (serde_json `float_roundtrip`).
#[test]
fn fuzz_approvals_file_float_round_trips() {
    for (name, data) in inputs("regressions", "approvals_file") {
        let f = parse_text(&String::from_utf8_lossy(&data)).unwrap();
        let once = f.to_canonical_string();
        let again = parse_text(&once).unwrap().to_canonical_string();
        assert_eq!(again, once, "{}", name.display());
    }
    let text = r#"{"version":1,"agents":{"main":{"x":1.333333333333333e+55,"allowlist":[]}}}"#;
    let once = parse_text(text).unwrap().to_canonical_string();
    assert_eq!(parse_text(&once).unwrap().to_canonical_string(), once);
    let v: serde_json::Value = serde_json::from_str("1.333333333333333e+55").unwrap();
    assert_eq!(v.as_f64(), Some(1.333333333333333e55));
}
