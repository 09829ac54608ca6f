//! Shared helpers for the browser integration tests: a tiny hyper HTTP server on 127.0.0.1:0,
//! the static test site, temp state dirs with an `openclaw.json`, and Chromium detection.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use openclaw_node::browser::{BrowserProxy, BrowserProxyConfig};
use serde_json::Value;

/// A received request (for assertions in forwarder tests).
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub uri: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub type Handler = Arc<
    dyn Fn(Seen) -> Pin<Box<dyn Future<Output = (u16, &'static str, Vec<u8>)> + Send>>
        + Send
        + Sync,
>;

/// Serve `handler` on 127.0.0.1:0 until the test ends; returns the address.
pub async fn serve(handler: Handler) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                break;
            };
            let handler = handler.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let handler = handler.clone();
                    async move {
                        let method = req.method().to_string();
                        let uri = req.uri().to_string();
                        let headers = req
                            .headers()
                            .iter()
                            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
                            .collect();
                        let body = req.into_body().collect().await.unwrap().to_bytes().to_vec();
                        let (status, ctype, out) = handler(Seen {
                            method,
                            uri,
                            headers,
                            body,
                        })
                        .await;
                        Ok::<_, Infallible>(
                            Response::builder()
                                .status(status)
                                .header("content-type", ctype)
                                .body(Full::new(Bytes::from(out)))
                                .unwrap(),
                        )
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr
}

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/browser")
}

/// Serve the static test site (`index.html`, `page2.html`, `data.json`).
pub async fn serve_site() -> SocketAddr {
    serve(Arc::new(|seen: Seen| {
        Box::pin(async move {
            let path = seen.uri.split('?').next().unwrap_or("/").to_string();
            let name = match path.as_str() {
                "/" => "index.html",
                p => p.trim_start_matches('/'),
            };
            if name.contains('/') || name.contains("..") {
                return (404, "text/plain", b"not found".to_vec());
            }
            match std::fs::read(fixture_dir().join(name)) {
                Ok(b) if name.ends_with(".json") => (200, "application/json", b),
                Ok(b) => (200, "text/html; charset=utf-8", b),
                Err(_) => (404, "text/plain", b"not found".to_vec()),
            }
        })
    }))
    .await
}

/// A fresh state dir with `openclaw.json` set to `config`.
pub fn state_dir(config: &Value) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("openclaw.json"),
        serde_json::to_string_pretty(config).unwrap(),
    )
    .unwrap();
    dir
}

/// The config the real-browser tests use: private network allowed (the test site is on
/// 127.0.0.1).
pub fn local_site_config() -> Value {
    serde_json::json!({"browser": {"ssrfPolicy": {"dangerouslyAllowPrivateNetwork": true}}})
}

pub fn proxy(dir: &Path) -> BrowserProxy {
    BrowserProxy::new(dir.to_path_buf(), 18789, BrowserProxyConfig::default())
}

/// Whether a Chromium is available. Under `CI=true` a missing browser fails the test.
pub fn chromium_available() -> bool {
    let found = openclaw_node::browser::launcher::detect(None).is_ok();
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but no Chromium found: install it (apt-get install chromium)"
        );
        eprintln!("skipping: no Chromium/Chrome on this machine (apt-get install chromium)");
    }
    found
}

/// PIDs of live processes whose command line mentions `needle` (zombies have no cmdline).
pub fn processes_mentioning(needle: &str) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in entries.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        // The browser's own arguments name paths inside its mount namespace (`/var/tmp/…`); its
        // environment names the profile's host path.
        let mentions = |file: &str| {
            std::fs::read(format!("/proc/{pid}/{file}"))
                .map(|c| String::from_utf8_lossy(&c).contains(needle))
                .unwrap_or(false)
        };
        let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|st| st.rsplit_once(") ").map(|(_, r)| r.starts_with('Z')))
            .unwrap_or(true);
        if !zombie && (mentions("cmdline") || mentions("environ")) {
            out.push(pid);
        }
    }
    out
}

/// Call `handle` and unwrap the success payload.
pub async fn ok(proxy: &BrowserProxy, params: Value) -> Value {
    let started = std::time::Instant::now();
    let res = proxy.handle(params.clone()).await;
    if std::env::var_os("BROWSER_TEST_TIMINGS").is_some() {
        eprintln!("{:>6} ms  {}", started.elapsed().as_millis(), params);
    }
    match res {
        Ok(v) => v,
        Err(e) => panic!("browser.proxy {params} failed: {e:?}"),
    }
}

/// Open `url` in a new tab through `/tabs/open`; the new tab's targetId.
pub async fn open_tab(proxy: &BrowserProxy, url: &str) -> String {
    ok(
        proxy,
        serde_json::json!({"method": "POST", "path": "/tabs/open", "body": {"url": url}}),
    )
    .await["result"]["targetId"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Call `handle` and unwrap the error message.
pub async fn err(proxy: &BrowserProxy, params: Value) -> String {
    match proxy.handle(params.clone()).await {
        Ok(v) => panic!("browser.proxy {params} unexpectedly succeeded: {v}"),
        Err(e) => {
            let e = openclaw_node::commands::InvokeError::from(e);
            assert_eq!(e.code, "INVALID_REQUEST", "{e:?}");
            e.message
        }
    }
}
