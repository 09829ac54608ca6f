//! Backend B: forward route calls over HTTP to an existing OpenClaw browser control server
//! (`browserProxy.controlUrl`, default `http://127.0.0.1:<gateway port + 2>`), with the Windows
//! node's auth behaviour: `Authorization: Bearer <gateway token>`; on `401`, retry once with
//! `x-openclaw-password: <password>` plus HTTP Basic `:<password>`.
//!
//! Credentials come from `node-host.json5` (`browserProxy.controlToken` / `controlPassword`),
//! else `gateway.auth.token` / `gateway.auth.password` in `openclaw.json`, else
//! `OPENCLAW_GATEWAY_TOKEN` / `OPENCLAW_GATEWAY_PASSWORD`.

use std::time::Duration;

use base64::Engine as _;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};

use super::http::{self, HttpError};
use super::route::{RouteRequest, RouteResponse};

/// Characters escaped in query components (everything but unreserved).
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The forwarder's target and explicit credentials.
#[derive(Debug, Clone)]
pub struct Forwarder {
    base: String,
    token: Option<String>,
    password: Option<String>,
}

/// Why a forwarded call produced no route answer.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    #[error(
        "browser control server at {base} is not reachable ({source}). Start OpenClaw's browser control server on this host (the gateway starts it with OPENCLAW_EAGER_BROWSER_CONTROL_SERVER=1), point browserProxy.controlUrl in node-host.json5 at it, or set browserProxy.backend = \"builtin\" to let openclaw-node drive a local Chromium itself"
    )]
    Unreachable {
        base: String,
        #[source]
        source: HttpError,
    },
    #[error("browser control server at {base} timed out: {source}")]
    Timeout {
        base: String,
        #[source]
        source: HttpError,
    },
}

impl Forwarder {
    /// Validate the control URL (must be `http://host:port[/prefix]`).
    pub fn new(
        control_url: &str,
        token: Option<String>,
        password: Option<String>,
    ) -> Result<Self, String> {
        let base = control_url.trim().trim_end_matches('/').to_string();
        let uri: hyper::Uri = base.parse().map_err(|e| {
            format!("browserProxy.controlUrl {control_url:?} in node-host.json5 is not a URL: {e}")
        })?;
        if uri.scheme_str() != Some("http") || uri.host().is_none() {
            return Err(format!(
                "browserProxy.controlUrl {control_url:?} in node-host.json5 must be an http:// URL of a local browser control server"
            ));
        }
        Ok(Self {
            base,
            token,
            password,
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn url(&self, req: &RouteRequest) -> String {
        let mut url = format!("{}{}", self.base, req.path);
        let pairs: Vec<String> = req
            .query
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    utf8_percent_encode(k, QUERY),
                    utf8_percent_encode(v, QUERY)
                )
            })
            .collect();
        if !pairs.is_empty() {
            url.push('?');
            url.push_str(&pairs.join("&"));
        }
        url
    }

    /// Forward one route call within `timeout`.
    pub async fn dispatch(
        &self,
        req: &RouteRequest,
        timeout: Duration,
    ) -> Result<RouteResponse, ForwardError> {
        let token = self
            .token
            .clone()
            .or_else(|| req.settings.gateway_token.clone())
            .or_else(|| env_nonempty("OPENCLAW_GATEWAY_TOKEN"));
        let password = self
            .password
            .clone()
            .or_else(|| req.settings.gateway_password.clone())
            .or_else(|| env_nonempty("OPENCLAW_GATEWAY_PASSWORD"));
        let url = self.url(req);
        let body = match req.method.as_str() {
            "POST" | "DELETE" => Some(
                serde_json::to_vec(if req.body.is_null() {
                    &Value::Null
                } else {
                    &req.body
                })
                .unwrap_or_default(),
            )
            .map(|b| if b == b"null" { b"{}".to_vec() } else { b }),
            _ => None,
        };
        let started = tokio::time::Instant::now();
        let mut headers = Vec::new();
        if let Some(t) = &token {
            headers.push(("authorization".to_string(), format!("Bearer {t}")));
        }
        let mut resp = self
            .send(&req.method, &url, &headers, body.clone(), timeout)
            .await?;
        if resp.status == 401
            && let Some(pw) = &password
        {
            let basic = base64::engine::general_purpose::STANDARD.encode(format!(":{pw}"));
            let retry_headers = vec![
                ("x-openclaw-password".to_string(), pw.clone()),
                ("authorization".to_string(), format!("Basic {basic}")),
            ];
            let left = timeout.saturating_sub(started.elapsed());
            resp = self
                .send(
                    &req.method,
                    &url,
                    &retry_headers,
                    body,
                    left.max(Duration::from_millis(1)),
                )
                .await?;
        }
        let parsed: Value = serde_json::from_slice(&resp.body).unwrap_or_else(|_| {
            let text = String::from_utf8_lossy(&resp.body).trim().to_string();
            if resp.status >= 400 {
                json!({"error": if text.is_empty() { format!("HTTP {}", resp.status) } else { text }})
            } else {
                Value::String(text)
            }
        });
        Ok(RouteResponse {
            status: resp.status,
            body: parsed,
        })
    }

    async fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: Option<Vec<u8>>,
        timeout: Duration,
    ) -> Result<http::HttpResponse, ForwardError> {
        http::request(method, url, headers, body, timeout)
            .await
            .map_err(|e| match e {
                HttpError::Timeout { .. } => ForwardError::Timeout {
                    base: self.base.clone(),
                    source: e,
                },
                other => ForwardError::Unreachable {
                    base: self.base.clone(),
                    source: other,
                },
            })
    }
}

fn env_nonempty(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.trim().is_empty())
}
