//! Benchmarks for `browser.proxy`: snapshot rendering and file collection (pure), and — when a
//! Chromium is installed — real route latency through `BrowserProxy::handle` (compare with the
//! official host's numbers in browser-routes.md §5).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use openclaw_node::browser::snapshot::{RefTable, SnapshotOptions, render_ai};
use openclaw_node::browser::{BrowserProxy, BrowserProxyConfig, files};
use serde_json::{Value, json};

/// A synthetic AX tree: a root with `n` sections, each a heading, a paragraph and a button.
fn ax_tree(n: usize) -> Vec<Value> {
    let mut nodes = vec![
        json!({"nodeId": "0", "role": {"value": "RootWebArea"}, "name": {"value": "Bench"},
        "childIds": (0..n).map(|i| format!("s{i}")).collect::<Vec<_>>(), "backendDOMNodeId": 1}),
    ];
    for i in 0..n {
        let b = (i as i64) * 10 + 100;
        nodes.push(json!({"nodeId": format!("s{i}"), "parentId": "0", "role": {"value": "generic"}, "name": {"value": ""},
            "childIds": [format!("h{i}"), format!("p{i}"), format!("b{i}")], "backendDOMNodeId": b}));
        nodes.push(json!({"nodeId": format!("h{i}"), "parentId": format!("s{i}"), "role": {"value": "heading"},
            "name": {"value": format!("Section {i}")}, "properties": [{"name": "level", "value": {"value": 2}}],
            "childIds": [], "backendDOMNodeId": b + 1}));
        nodes.push(json!({"nodeId": format!("p{i}"), "parentId": format!("s{i}"), "role": {"value": "paragraph"},
            "name": {"value": ""}, "childIds": [format!("t{i}")], "backendDOMNodeId": b + 2}));
        nodes.push(json!({"nodeId": format!("t{i}"), "parentId": format!("p{i}"), "role": {"value": "StaticText"},
            "name": {"value": "Lorem ipsum dolor sit amet, consectetur adipiscing elit."}, "childIds": [], "backendDOMNodeId": b + 3}));
        nodes.push(json!({"nodeId": format!("b{i}"), "parentId": format!("s{i}"), "role": {"value": "button"},
            "name": {"value": format!("Action {i}")}, "childIds": [], "backendDOMNodeId": b + 4}));
    }
    nodes
}

fn pure(c: &mut Criterion) {
    let tree = ax_tree(1000);
    let mut table = RefTable::default();
    c.bench_function("snapshot_render_ai_5000_nodes", |b| {
        b.iter(|| {
            black_box(render_ai(
                black_box(&tree),
                &SnapshotOptions::default(),
                &mut table,
            ))
        })
    });
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("shot.png");
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.resize(1024 * 1024, 7);
    std::fs::write(&png, &bytes).unwrap();
    let result = json!({"ok": true, "path": png.to_str().unwrap()});
    c.bench_function("files_collect_1mib_png", |b| {
        b.iter(|| black_box(files::collect(black_box(&result)).unwrap()))
    });
}

fn real_browser(c: &mut Criterion) {
    if openclaw_node::browser::launcher::detect(None).is_err() {
        eprintln!("no Chromium: skipping real-browser benchmarks");
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("openclaw.json"),
        r#"{"browser":{"ssrfPolicy":{"dangerouslyAllowPrivateNetwork":true}}}"#,
    )
    .unwrap();
    let proxy = BrowserProxy::new(
        dir.path().to_path_buf(),
        18789,
        BrowserProxyConfig::default(),
    );
    let html = "<h1 id=t>Bench</h1><button onclick=\"document.getElementById('t').textContent='x'\">Click me</button>";
    // data: URLs are blocked by the navigation policy: load about:blank and write the DOM.
    let call = |p: Value| rt.block_on(proxy.handle(p)).unwrap();
    call(json!({"method": "POST", "path": "/tabs/open", "body": {"url": "about:blank"}}));
    call(
        json!({"method": "POST", "path": "/act", "body": {"kind": "evaluate",
        "fn": format!("() => {{ document.body.innerHTML = {}; }}", Value::String(html.to_string()))}}),
    );
    let snap = call(json!({"method": "GET", "path": "/snapshot"}));
    let button = snap["result"]["refs"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, v)| v["role"] == "button")
        .map(|(k, _)| k.clone())
        .unwrap();

    let mut g = c.benchmark_group("route");
    g.sample_size(20).measurement_time(Duration::from_secs(4));
    g.bench_function("GET /tabs", |b| {
        b.iter(|| call(json!({"method": "GET", "path": "/tabs"})))
    });
    g.bench_function("GET /snapshot", |b| {
        b.iter(|| call(json!({"method": "GET", "path": "/snapshot"})))
    });
    g.bench_function("POST /act click", |b| {
        b.iter(|| {
            call(
                json!({"method": "POST", "path": "/act", "body": {"kind": "click", "ref": button}}),
            )
        })
    });
    g.bench_function("POST /screenshot", |b| {
        b.iter(|| call(json!({"method": "POST", "path": "/screenshot"})))
    });
    g.bench_function("POST /pdf", |b| {
        b.iter(|| call(json!({"method": "POST", "path": "/pdf"})))
    });
    g.finish();
    let mut g = c.benchmark_group("lifecycle");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.bench_function("POST /start + POST /stop", |b| {
        b.iter(|| {
            call(json!({"method": "POST", "path": "/stop"}));
            call(json!({"method": "POST", "path": "/start"}));
        })
    });
    g.finish();
    rt.block_on(proxy.shutdown());
}

criterion_group!(benches, pure, real_browser);
criterion_main!(benches);
