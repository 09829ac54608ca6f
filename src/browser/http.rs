//! Minimal HTTP/1.1 client on hyper for the forwarder to an existing OpenClaw browser control
//! server (the built-in backend speaks CDP over a pipe and needs no HTTP). Plain `http://` only — both
//! peers are local services; TLS is refused with a clear message.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// Largest response body we accept (the proxy's own payload limit is 24 MiB encoded).
pub const MAX_RESPONSE_BYTES: usize = 64 << 20;

/// Errors of one HTTP exchange.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("invalid URL {url}: {message}")]
    BadUrl { url: String, message: String },
    #[error("connection to {url} failed: {message}")]
    Connect { url: String, message: String },
    #[error("request to {url} timed out after {ms}ms")]
    Timeout { url: String, ms: u64 },
    #[error("reading the response from {url} failed: {message}")]
    Body { url: String, message: String },
}

/// A response: status, selected headers and the body.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub body: Bytes,
}

/// Send one request. `headers` are added as-is; `body` is sent with `content-type:
/// application/json` when present.
pub async fn request(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: Option<Vec<u8>>,
    timeout: Duration,
) -> Result<HttpResponse, HttpError> {
    let uri: hyper::Uri =
        url.parse()
            .map_err(|e: hyper::http::uri::InvalidUri| HttpError::BadUrl {
                url: url.to_string(),
                message: e.to_string(),
            })?;
    if uri.scheme_str() != Some("http") {
        return Err(HttpError::BadUrl {
            url: url.to_string(),
            message: "only http:// URLs are supported (a local control server)".to_string(),
        });
    }
    let mut builder = hyper::Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    let has_body = body.is_some();
    if has_body {
        builder = builder.header("content-type", "application/json");
    }
    let req = builder
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .map_err(|e| HttpError::BadUrl {
            url: url.to_string(),
            message: e.to_string(),
        })?;
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(timeout));
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build(connector);
    let ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
    let exchange = async {
        let resp = client.request(req).await.map_err(|e| HttpError::Connect {
            url: url.to_string(),
            message: describe_client_error(&e),
        })?;
        let status = resp.status().as_u16();
        let collected = Limited::new(resp.into_body(), MAX_RESPONSE_BYTES)
            .collect()
            .await
            .map_err(|e| HttpError::Body {
                url: url.to_string(),
                message: e.to_string(),
            })?;
        Ok(HttpResponse {
            status,
            body: collected.to_bytes(),
        })
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(r) => r,
        Err(_) => Err(HttpError::Timeout {
            url: url.to_string(),
            ms,
        }),
    }
}

fn describe_client_error(e: &hyper_util::client::legacy::Error) -> String {
    use std::error::Error as _;
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}
