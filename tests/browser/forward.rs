//! Backend B (forwarder) against a local HTTP test server: target URL (gateway port + 2), auth
//! header and the 401 retry, query/body encoding, timeouts with diagnostics, unreachable
//! server, file shipping and the file/payload limits — all through `BrowserProxy::handle`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::browser::*;
use base64::Engine as _;
use openclaw_node::browser::{BrowserProxy, BrowserProxyConfig};
use serde_json::{Value, json};

type Log = Arc<Mutex<Vec<Seen>>>;

/// A fake control server: `/` status, `/tabs`, `/slow` (2 s), `/file?p=…`, `/big`, `/err`,
/// auth enforced when `password` is set (401 unless `x-openclaw-password` matches).
async fn control_server(password: Option<&'static str>) -> (std::net::SocketAddr, Log) {
    let log: Log = Arc::new(Mutex::new(Vec::new()));
    let log2 = log.clone();
    let addr = serve(Arc::new(move |seen: Seen| {
        let log = log2.clone();
        Box::pin(async move {
            log.lock().unwrap().push(seen.clone());
            if let Some(pw) = password
                && seen.header("x-openclaw-password") != Some(pw)
            {
                return (401, "application/json", br#"{"error":"unauthorized"}"#.to_vec());
            }
            let path = seen.uri.split('?').next().unwrap().to_string();
            let body = match path.as_str() {
                "/" => json!({"enabled": true, "profile": "openclaw", "running": true, "cdpHttp": true,
                    "cdpReady": true, "transport": "cdp", "cdpUrl": "http://127.0.0.1:18800"}),
                "/tabs" => json!({"running": true, "tabs": []}),
                "/echo" => json!({"ok": true, "got": serde_json::from_slice::<Value>(&seen.body).unwrap_or(Value::Null)}),
                "/slow" => {
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    json!({"ok": true})
                }
                "/file" => {
                    let q = seen.uri.split_once("p=").unwrap().1.split('&').next().unwrap();
                    let p = percent_encoding::percent_decode_str(q).decode_utf8().unwrap().to_string();
                    json!({"ok": true, "path": p, "result": {"path": "/etc/passwd"}})
                }
                "/big" => json!({"ok": true, "blob": "x".repeat(25 * 1024 * 1024)}),
                "/err" => {
                    return (
                        400,
                        "application/json",
                        json!({"error": "kind is required", "code": "ACT_KIND_REQUIRED", "secret": "x"})
                            .to_string()
                            .into_bytes(),
                    );
                }
                _ => return (404, "application/json", br#"{"error":"Not Found"}"#.to_vec()),
            };
            (200, "application/json", body.to_string().into_bytes())
        })
    }))
    .await;
    (addr, log)
}

fn forwarder(
    dir: &std::path::Path,
    gateway_port: u16,
    control_url: Option<String>,
) -> BrowserProxy {
    BrowserProxy::new(
        dir.to_path_buf(),
        gateway_port,
        BrowserProxyConfig {
            backend: Some("forward".into()),
            control_url,
            ..Default::default()
        },
    )
}

#[tokio::test]
async fn forwards_to_gateway_port_plus_two_with_bearer_token_and_encoded_query() {
    let (addr, log) = control_server(None).await;
    let dir = state_dir(&json!({"gateway": {"auth": {"token": "tok-123"}}}));
    let p = forwarder(dir.path(), addr.port() - 2, None);
    let r = ok(
        &p,
        json!({"method": "GET", "path": "tabs/", "query": {"a b": "x&y", "n": 15, "t": true, "z": null}}),
    )
    .await;
    assert_eq!(r, json!({"result": {"running": true, "tabs": []}}));
    let seen = log.lock().unwrap()[0].clone();
    assert_eq!(seen.method, "GET");
    assert_eq!(seen.header("authorization"), Some("Bearer tok-123"));
    assert!(seen.uri.starts_with("/tabs?"), "{}", seen.uri);
    assert!(seen.uri.contains("a%20b=x%26y"), "{}", seen.uri);
    assert!(
        seen.uri.contains("n=15") && seen.uri.contains("t=true"),
        "{}",
        seen.uri
    );
    assert!(seen.uri.contains("profile=openclaw"), "{}", seen.uri);
    assert!(!seen.uri.contains("z="), "{}", seen.uri);

    // POST bodies go as JSON.
    let r = ok(
        &p,
        json!({"method": "POST", "path": "/echo", "body": {"kind": "click", "ref": "e1"}}),
    )
    .await;
    assert_eq!(r["result"]["got"], json!({"kind": "click", "ref": "e1"}));
    let seen = log.lock().unwrap()[1].clone();
    assert_eq!(seen.header("content-type"), Some("application/json"));
}

#[tokio::test]
async fn unauthorized_is_retried_once_with_the_password() {
    let (addr, log) = control_server(Some("s3cret")).await;
    let dir = state_dir(&json!({"gateway": {"auth": {"token": "tok", "password": "s3cret"}}}));
    let p = forwarder(dir.path(), 0, Some(format!("http://{addr}/")));
    let r = ok(&p, json!({"method": "GET", "path": "/tabs"})).await;
    assert_eq!(r["result"]["running"], true);
    let seen = log.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "one retry");
    assert_eq!(seen[0].header("authorization"), Some("Bearer tok"));
    assert_eq!(seen[1].header("x-openclaw-password"), Some("s3cret"));
    let basic = base64::engine::general_purpose::STANDARD.encode(":s3cret");
    assert_eq!(
        seen[1].header("authorization"),
        Some(format!("Basic {basic}").as_str())
    );

    // Without a password there is nothing to retry with: the 401 is reported.
    let (addr, log) = control_server(Some("s3cret")).await;
    let dir = state_dir(&json!({}));
    let p = forwarder(dir.path(), 0, Some(format!("http://{addr}")));
    assert_eq!(
        err(&p, json!({"method": "GET", "path": "/tabs"})).await,
        "Error: 401: unauthorized"
    );
    assert_eq!(log.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn slow_control_server_times_out_with_diagnostics() {
    let (addr, _log) = control_server(None).await;
    let dir = state_dir(&json!({}));
    let p = forwarder(dir.path(), 0, Some(format!("http://{addr}")));
    let t = Instant::now();
    let e = err(
        &p,
        json!({"method": "GET", "path": "/slow", "timeoutMs": 300}),
    )
    .await;
    assert!(
        t.elapsed() < Duration::from_millis(1800),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(
        e,
        "Error: browser proxy timed out for GET /slow after 300ms; browser action; profile=openclaw; status(running=true, cdpHttp=true, cdpReady=true, transport=cdp, cdpUrl=http://127.0.0.1:18800)"
    );
    // `timeoutMs: 0` means 1 ms, not "default" (browser-routes §6 item 6).
    let e = err(
        &p,
        json!({"method": "POST", "path": "/slow", "timeoutMs": 0}),
    )
    .await;
    assert!(
        e.starts_with("Error: browser proxy timed out for POST /slow after 1ms; browser action; profile=openclaw;"),
        "{e}"
    );
}

#[tokio::test]
async fn unreachable_control_server_says_how_to_fix_it() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let dir = state_dir(&json!({}));
    let p = forwarder(dir.path(), port - 2, None);
    let e = err(&p, json!({"method": "GET", "path": "/tabs"})).await;
    assert!(
        e.starts_with(&format!(
            "Error: browser control server at http://127.0.0.1:{port} is not reachable"
        )),
        "{e}"
    );
    assert!(
        e.contains("browserProxy.controlUrl") && e.contains("builtin"),
        "{e}"
    );

    let p = forwarder(dir.path(), 0, Some("https://example.com".into()));
    let e = err(&p, json!({"method": "GET", "path": "/tabs"})).await;
    assert!(e.contains("must be an http:// URL"), "{e}");
}

#[tokio::test]
async fn result_files_are_shipped_and_limited() {
    let (addr, _log) = control_server(None).await;
    let dir = state_dir(&json!({}));
    let p = forwarder(dir.path(), 0, Some(format!("http://{addr}")));

    let png = dir.path().join("shot.png");
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend_from_slice(&[0u8; 64]);
    std::fs::write(&png, &bytes).unwrap();
    let r = ok(
        &p,
        json!({"method": "GET", "path": "/file", "query": {"p": png.to_str().unwrap()}}),
    )
    .await;
    let files = r["files"].as_array().unwrap();
    assert_eq!(files.len(), 1, "nested result.path is not collected: {r}");
    assert_eq!(files[0]["path"], png.to_str().unwrap());
    assert_eq!(files[0]["mimeType"], "image/png");
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(files[0]["base64"].as_str().unwrap())
            .unwrap(),
        bytes
    );

    let big = dir.path().join("big.pdf");
    std::fs::write(&big, vec![b'x'; 10 * 1024 * 1024 + 1]).unwrap();
    let e = err(
        &p,
        json!({"method": "GET", "path": "/file", "query": {"p": big.to_str().unwrap()}}),
    )
    .await;
    assert_eq!(
        e,
        format!(
            "Error: browser proxy file read failed for {}: browser proxy file exceeds 10 MiB limit",
            big.display()
        )
    );

    let e = err(
        &p,
        json!({"method": "GET", "path": "/file", "query": {"p": "/nonexistent/x.png"}}),
    )
    .await;
    assert_eq!(
        e,
        "Error: browser proxy file read failed for /nonexistent/x.png: file not found"
    );

    let e = err(&p, json!({"method": "GET", "path": "/big"})).await;
    assert_eq!(
        e,
        "Error: browser proxy payload exceeds 24 MiB encoded limit"
    );
}

#[tokio::test]
async fn forwarded_route_errors_follow_the_envelope_rules() {
    let (addr, _log) = control_server(None).await;
    let dir = state_dir(&json!({}));
    let p = forwarder(dir.path(), 0, Some(format!("http://{addr}")));
    assert_eq!(
        err(&p, json!({"method": "POST", "path": "/err"})).await,
        "Error: 400: kind is required"
    );
    assert_eq!(
        ok(
            &p,
            json!({"method": "POST", "path": "/err", "errorEnvelope": "browser-v1"})
        )
        .await,
        json!({"error": {"status": 400, "body": {"error": "kind is required", "code": "ACT_KIND_REQUIRED"}},
               "route": {"status": "resolved", "profile": "openclaw", "driver": "openclaw"}})
    );
    // Validation happens before forwarding.
    assert_eq!(
        err(&p, json!({"method": "POST", "path": "/profiles/import"})).await,
        "Error: INVALID_REQUEST: browser.proxy cannot mutate persistent browser profiles"
    );
}
