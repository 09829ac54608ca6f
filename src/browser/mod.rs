//! `browser.proxy`: the adapter (validation, processing order, limits, envelopes, files) and its
//! two backends — a built-in CDP driver for a local Chromium ([`builtin`]) and an HTTP
//! forwarder to an existing OpenClaw browser control server ([`forward`]).
//!
//! The adapter follows browser-routes.md §1.2 step by step (see [`BrowserProxy::handle`]). Every
//! failure is reported like the official host: node error code `INVALID_REQUEST`, message
//! `String(err)` (so it starts with `Error: `, and nested `INVALID_REQUEST:`/`UNAVAILABLE:`
//! prefixes are part of the text).
//!
//! Configuration:
//! - `<state>/node-host.json5` (ours): `browserProxy: { backend: "builtin" | "forward",
//!   controlUrl, controlToken, controlPassword }` — see [`BrowserProxyConfig`].
//! - `openclaw.json` (the official CLI's; read-only, re-read on every call):
//!   `nodeHost.browserProxy.enabled`, `nodeHost.browserProxy.allowProfiles`, `browser.enabled`,
//!   `browser.headless`, `browser.noSandbox`, `browser.executablePath`,
//!   `browser.defaultProfile`, `browser.profiles.<name>.{cdpPort,cdpUrl,driver,color}` (`cdpPort`
//!   is ignored by the built-in backend, which has no port),
//!   `browser.color`, `browser.evaluateEnabled`, `browser.ssrfPolicy.{dangerouslyAllowPrivateNetwork,
//!   allowedHostnames,hostnameAllowlist}`, `gateway.auth.{token,password}` (forwarder auth).

pub mod builtin;
pub mod cdp;
pub mod files;
pub mod forward;
pub mod http;
pub mod launcher;
pub mod route;
pub mod snapshot;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use route::{RouteRequest, RouteResponse, Settings};

/// Default whole-request budget (`timeoutMs` absent).
pub const DEFAULT_TIMEOUT_MS: u64 = 20_000;
/// Largest accepted `timeoutMs` (10 minutes; the gateway's own deadline is shorter anyway).
pub const MAX_TIMEOUT_MS: u64 = 600_000;
/// Limit on the payload after JSON-string encoding.
pub const MAX_ENCODED_PAYLOAD: usize = 24 * 1024 * 1024;

/// The `browserProxy` section of `node-host.json5` (ours; never in `openclaw.json`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BrowserProxyConfig {
    /// `builtin` (default) or `forward`.
    #[serde(default)]
    pub backend: Option<String>,
    /// Forwarder target (default `http://127.0.0.1:<gateway port + 2>`).
    #[serde(default)]
    pub control_url: Option<String>,
    /// Forwarder bearer token (default: `gateway.auth.token`, then `OPENCLAW_GATEWAY_TOKEN`).
    #[serde(default)]
    pub control_token: Option<String>,
    /// Forwarder password for the 401 retry (default: `gateway.auth.password`, then
    /// `OPENCLAW_GATEWAY_PASSWORD`).
    #[serde(default)]
    pub control_password: Option<String>,
}

/// A started backend (cached only after it was created successfully).
#[derive(Debug)]
enum Backend {
    Builtin(builtin::Builtin),
    Forward(forward::Forwarder),
}

/// The `browser.proxy` command handler the node holds (contract used by `crate::commands`).
#[derive(Debug)]
pub struct BrowserProxy {
    state_dir: PathBuf,
    gateway_port: u16,
    config: BrowserProxyConfig,
    backend: tokio::sync::Mutex<Option<Arc<Backend>>>,
}

/// A refused or failed `browser.proxy` request: the message the gateway relays to the agent
/// (`Error: …`, as the official host words it). The command adapter maps it to the wire's error
/// shape; the official host answers every such failure with `INVALID_REQUEST`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct BrowserError {
    pub message: String,
}

/// `Error: <msg>`.
fn fail(msg: impl AsRef<str>) -> BrowserError {
    BrowserError {
        message: format!("Error: {}", msg.as_ref()),
    }
}

/// Paths that mutate persistent profiles (refused regardless of `allowProfiles`).
fn is_profile_mutation(method: &str, path: &str) -> bool {
    (method == "POST"
        && matches!(
            path,
            "/profiles/create" | "/profiles/import" | "/reset-profile"
        ))
        || (method == "DELETE"
            && path
                .strip_prefix("/profiles/")
                .is_some_and(|rest| !rest.is_empty()))
}

/// Host-local routes that never run over a node proxy.
fn is_host_local(path: &str) -> bool {
    matches!(
        path,
        "/system-profiles" | "/system-profile-import/status" | "/system-profile-import/dismiss"
    )
}

/// Routes whose work goes over the page WebSocket (timeout diagnostics wording).
fn is_ws_backed(path: &str) -> bool {
    matches!(
        path,
        "/act"
            | "/download"
            | "/navigate"
            | "/pdf"
            | "/screenshot"
            | "/snapshot"
            | "/wait/download"
    )
}

/// Trim, add a leading `/`, strip trailing `/`s (`""` → `/`).
pub fn normalize_path(raw: &str) -> String {
    let t = raw.trim();
    let with_slash = if t.starts_with('/') {
        t.to_string()
    } else {
        format!("/{t}")
    };
    let stripped = with_slash.trim_end_matches('/');
    if stripped.is_empty() {
        "/".to_string()
    } else {
        stripped.to_string()
    }
}

fn non_blank(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// A `browser.proxy` call after the adapter's validation (browser-routes §1.2 steps 1–7).
#[derive(Debug, Clone)]
pub struct ProxyCall {
    /// The route call (`profile` is the effective profile, also in `query.profile`).
    pub req: RouteRequest,
    /// The profile the caller asked for (query, body or params), if any.
    pub requested: Option<String>,
    /// `GET /profiles` (filtered by `allowProfiles` afterwards).
    pub is_profiles: bool,
    /// Whole-request budget, `1..=MAX_TIMEOUT_MS`.
    pub timeout_ms: u64,
    /// `errorEnvelope: "browser-v1"`.
    pub envelope: bool,
}

/// Step 1: the params object, no upload envelope, a non-blank `path` (returned trimmed).
pub fn decode_params(params: &Value) -> Result<(&Map<String, Value>, String), BrowserError> {
    let Some(obj) = params.as_object() else {
        return Err(fail("INVALID_REQUEST: paramsJSON must be a JSON object"));
    };
    if obj.get("upload").is_some_and(|u| !u.is_null()) {
        return Err(fail(
            "INVALID_REQUEST: browser.proxy does not accept upload envelopes",
        ));
    }
    let Some(raw_path) = non_blank(obj.get("path")) else {
        return Err(fail("INVALID_REQUEST: path required"));
    };
    Ok((obj, raw_path))
}

/// Steps 2–3: the enabled switches, the method and the normalised path → `(method, path)`.
pub fn check_route(
    obj: &Map<String, Value>,
    raw_path: &str,
    settings: &Settings,
) -> Result<(String, String), BrowserError> {
    if !settings.proxy_enabled {
        return Err(fail("UNAVAILABLE: node browser proxy disabled"));
    }
    if !settings.browser_enabled {
        return Err(fail(
            "UNAVAILABLE: browser control disabled (browser.enabled is false in openclaw.json)",
        ));
    }
    let method = match obj.get("method") {
        Some(Value::String(m)) => m.trim().to_ascii_uppercase(),
        _ => "GET".to_string(),
    };
    let method = if method.is_empty() {
        "GET".to_string()
    } else {
        method
    };
    if !matches!(method.as_str(), "GET" | "POST" | "DELETE") {
        return Err(fail("INVALID_REQUEST: method must be GET, POST, or DELETE"));
    }
    let path = normalize_path(raw_path);
    if path.contains("://") || path.starts_with("//") {
        return Err(fail(
            "INVALID_REQUEST: path must be a browser control route (no scheme, no leading //)",
        ));
    }
    Ok((method, path))
}

/// Steps 4–7: query, body, profile resolution, refused routes, `allowProfiles`, budget.
pub fn resolve_call(
    obj: &Map<String, Value>,
    method: String,
    path: String,
    settings: Settings,
) -> Result<ProxyCall, BrowserError> {
    // 4. Query, body, profile.
    let mut query: BTreeMap<String, String> = BTreeMap::new();
    if let Some(q) = obj.get("query").and_then(Value::as_object) {
        for (k, v) in q {
            let s = match v {
                Value::Null => continue,
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            query.insert(k.clone(), s);
        }
    }
    let body = obj.get("body").cloned().unwrap_or(Value::Null);
    let requested = query
        .get("profile")
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| non_blank(body.get("profile")))
        .or_else(|| non_blank(obj.get("profile")));
    let is_profiles = path == "/profiles";
    let effective = match (&requested, is_profiles) {
        (Some(p), _) => p.clone(),
        (None, true) => String::new(),
        (None, false) => settings.default_profile.clone(),
    };
    // 5./6. Refused routes.
    if is_profile_mutation(&method, &path) {
        return Err(fail(
            "INVALID_REQUEST: browser.proxy cannot mutate persistent browser profiles",
        ));
    }
    if is_host_local(&path) {
        return Err(fail(
            "INVALID_REQUEST: browser.proxy cannot run host-local browser routes",
        ));
    }
    // 7. allowProfiles.
    if !settings.allow_profiles.is_empty() {
        let checked = if is_profiles {
            requested.clone()
        } else {
            Some(effective.clone())
        };
        if let Some(p) = checked
            && !settings.allow_profiles.contains(&p)
        {
            return Err(fail("INVALID_REQUEST: browser profile not allowed"));
        }
    }
    if !effective.is_empty() {
        query.insert("profile".to_string(), effective.clone());
    }
    let timeout_ms = match obj.get("timeoutMs").and_then(Value::as_f64) {
        Some(t) if t.is_finite() => (t.floor().max(1.0) as u64).min(MAX_TIMEOUT_MS),
        _ => DEFAULT_TIMEOUT_MS,
    };
    let envelope = obj.get("errorEnvelope").and_then(Value::as_str) == Some("browser-v1");
    Ok(ProxyCall {
        req: RouteRequest {
            method,
            path,
            query,
            body,
            profile: effective,
            settings,
        },
        requested,
        is_profiles,
        timeout_ms,
        envelope,
    })
}

impl BrowserProxy {
    pub fn new(state_dir: PathBuf, gateway_port: u16, config: BrowserProxyConfig) -> Self {
        Self {
            state_dir,
            gateway_port,
            config,
            backend: tokio::sync::Mutex::new(None),
        }
    }

    fn settings(&self) -> Result<Settings, String> {
        crate::config::load_openclaw_json(&self.state_dir)
            .map(|v| Settings::from_json(&v))
            .map_err(|e| e.to_string())
    }

    /// Whether `browser.proxy` is advertised: false when `nodeHost.browserProxy.enabled` or
    /// `browser.enabled` is `false` in `openclaw.json` (re-read on every call). An unreadable
    /// `openclaw.json` also disables it (fail closed; the reason is logged).
    pub fn enabled(&self) -> bool {
        match self.settings() {
            Ok(s) => s.proxy_enabled && s.browser_enabled,
            Err(e) => {
                tracing::warn!("browser proxy disabled: {e}");
                false
            }
        }
    }

    /// The forwarder's target URL (configured, else `http://127.0.0.1:<gateway port + 2>`).
    pub fn control_url(&self) -> String {
        self.config.control_url.clone().unwrap_or_else(|| {
            format!(
                "http://127.0.0.1:{}",
                u32::from(self.gateway_port).saturating_add(2)
            )
        })
    }

    async fn backend(&self) -> Result<Arc<Backend>, BrowserError> {
        let mut slot = self.backend.lock().await;
        if let Some(b) = slot.as_ref() {
            return Ok(b.clone());
        }
        let backend = match self.config.backend.as_deref().map(str::trim) {
            None | Some("") | Some("builtin") => {
                Backend::Builtin(builtin::Builtin::new(self.state_dir.clone()))
            }
            Some("forward") => Backend::Forward(
                forward::Forwarder::new(
                    &self.control_url(),
                    self.config.control_token.clone(),
                    self.config.control_password.clone(),
                )
                .map_err(|e| fail(format!("UNAVAILABLE: {e}")))?,
            ),
            Some(other) => {
                return Err(fail(format!(
                    "UNAVAILABLE: browserProxy.backend must be \"builtin\" or \"forward\" in node-host.json5 (got {other:?})"
                )));
            }
        };
        // Only a successfully created backend is cached (a failure is retried next call).
        let backend = Arc::new(backend);
        *slot = Some(backend.clone());
        Ok(backend)
    }

    async fn dispatch(
        backend: &Backend,
        req: &RouteRequest,
        timeout: Duration,
    ) -> Result<RouteResponse, String> {
        match backend {
            Backend::Builtin(b) => Ok(b.dispatch(req).await),
            // The adapter's own race decides timeouts (with the diagnostic message); the HTTP
            // layer gets a little slack so it never wins that race.
            Backend::Forward(f) => f
                .dispatch(req, timeout + Duration::from_millis(500))
                .await
                .map_err(|e| e.to_string()),
        }
    }

    /// Serve one `browser.proxy` invoke (`params` = the decoded `paramsJSON`).
    ///
    /// Processing order (browser-routes §1.2): reject `upload`, require `path`; disabled
    /// check; method; backend; path normalisation and profile resolution; refusal of
    /// persistent-profile mutations and host-local routes; `allowProfiles`; dispatch racing
    /// `timeoutMs` (timeout → diagnostic message with a status probe); route errors
    /// (`browser-v1` envelope or `<status>: <error>`); `/profiles` filtering; file collection
    /// and the 24 MiB encoded payload limit.
    pub async fn handle(&self, params: Value) -> Result<Value, BrowserError> {
        // 1. Params, upload, path.
        let (obj, raw_path) = decode_params(&params)?;
        // 2. Disabled by config (re-read per call).
        let settings = self
            .settings()
            .map_err(|e| fail(format!("UNAVAILABLE: {e}")))?;
        // 3. Method, backend.
        let (method, path) = check_route(obj, &raw_path, &settings)?;
        let backend = self.backend().await?;
        // 4.–7. Query, body, profile, refused routes, allowProfiles.
        let call = resolve_call(obj, method, path, settings)?;
        let ProxyCall {
            req,
            is_profiles,
            timeout_ms,
            envelope,
            ..
        } = call;
        let (method, path, effective, settings) =
            (&req.method, &req.path, &req.profile, &req.settings);
        let timeout = Duration::from_millis(timeout_ms);
        // 8./9. Dispatch racing the budget.
        let resp = match tokio::time::timeout(timeout, Self::dispatch(&backend, &req, timeout))
            .await
        {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => return Err(fail(e)),
            Err(_) => {
                let status = self.probe(&backend, &req).await;
                let kind = if is_ws_backed(path) {
                    "ws-backed browser action"
                } else {
                    "browser action"
                };
                let shown_profile = if effective.is_empty() {
                    settings.default_profile.clone()
                } else {
                    effective.clone()
                };
                return Err(fail(format!(
                    "browser proxy timed out for {method} {path} after {timeout_ms}ms; {kind}; profile={shown_profile}; {status}"
                )));
            }
        };
        let route_info = self.route_info(&backend, &resp, effective, settings);
        // 10. Route errors.
        if resp.status >= 400 {
            if envelope {
                return Ok(json!({
                    "error": {"status": resp.status, "body": filter_error_body(&resp.body)},
                    "route": route_info,
                }));
            }
            let msg = match resp.body.get("error").and_then(Value::as_str) {
                Some(e) => format!("{}: {e}", resp.status),
                None => format!("HTTP {}", resp.status),
            };
            return Err(fail(msg));
        }
        let mut result = resp.body;
        // /profiles filtering.
        if is_profiles
            && !settings.allow_profiles.is_empty()
            && let Some(list) = result.get_mut("profiles").and_then(Value::as_array_mut)
        {
            list.retain(|p| {
                p.get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| settings.allow_profiles.iter().any(|a| a == n))
            });
        }
        // 11. Files and the payload limit.
        let files = files::collect(&result).map_err(fail)?;
        let mut payload = json!({"result": result});
        if !files.is_empty() {
            payload["files"] = Value::Array(files);
        }
        if envelope {
            payload["route"] = route_info;
        }
        let compact = payload.to_string();
        let encoded_len = Value::String(compact).to_string().len();
        if encoded_len > MAX_ENCODED_PAYLOAD {
            return Err(fail("browser proxy payload exceeds 24 MiB encoded limit"));
        }
        Ok(payload)
    }

    fn route_info(
        &self,
        backend: &Backend,
        resp: &RouteResponse,
        profile: &str,
        settings: &Settings,
    ) -> Value {
        let unknown_profile = resp.status == 404
            && resp
                .body
                .get("error")
                .and_then(Value::as_str)
                .is_some_and(|e| e.starts_with("Profile \""));
        if unknown_profile {
            return json!({"status": "unavailable"});
        }
        let profile = if profile.is_empty() {
            settings.default_profile.as_str()
        } else {
            profile
        };
        let driver = match backend {
            Backend::Builtin(_) => "openclaw",
            Backend::Forward(_) => match settings
                .profiles
                .get(profile)
                .and_then(|p| p.driver.as_deref())
            {
                Some("existing-session") => "existing-session",
                Some("extension") => "extension",
                _ => "openclaw",
            },
        };
        json!({"status": "resolved", "profile": profile, "driver": driver})
    }

    /// `status(running=…, cdpHttp=…, cdpReady=…, transport=…, cdpUrl=…)` from a 750 ms `GET /`.
    async fn probe(&self, backend: &Backend, req: &RouteRequest) -> String {
        let mut probe = req.clone();
        probe.method = "GET".to_string();
        probe.path = "/".to_string();
        probe.body = Value::Null;
        probe.query.retain(|k, _| k == "profile");
        let budget = Duration::from_millis(750);
        let st = match tokio::time::timeout(budget, Self::dispatch(backend, &probe, budget)).await {
            Ok(Ok(r)) if r.status < 400 => r.body,
            _ => return "status(unavailable)".to_string(),
        };
        let b = |k: &str| st.get(k).and_then(Value::as_bool).unwrap_or(false);
        // As the official template literal prints them: a null `cdpUrl` (no port) is `null`.
        let s = |k: &str| match st.get(k) {
            Some(Value::String(v)) => v.clone(),
            Some(Value::Null) => "null".to_string(),
            _ => "unknown".to_string(),
        };
        format!(
            "status(running={}, cdpHttp={}, cdpReady={}, transport={}, cdpUrl={})",
            b("running"),
            b("cdpHttp"),
            b("cdpReady"),
            s("transport"),
            s("cdpUrl")
        )
    }

    /// Stop any browser this proxy started (node shutdown).
    pub async fn shutdown(&self) {
        let backend = self.backend.lock().await.clone();
        if let Some(b) = backend
            && let Backend::Builtin(builtin) = b.as_ref()
        {
            builtin.shutdown().await;
        }
    }
}

/// The closed set of error-body fields the `browser-v1` envelope carries (§1.4).
fn filter_error_body(body: &Value) -> Value {
    let mut out = serde_json::Map::new();
    let error = match body.get("error") {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => "Unknown error".to_string(),
    };
    out.insert("error".into(), Value::String(error));
    match body.get("code").and_then(Value::as_str) {
        Some(c) if c.starts_with("ACT_") => {
            out.insert("code".into(), json!(c));
        }
        Some(_) => {
            out.insert("unrecognizedCode".into(), json!(true));
        }
        None => {}
    }
    match body.get("reason").and_then(Value::as_str) {
        Some(r @ "navigation_blocked") => {
            out.insert("reason".into(), json!(r));
        }
        Some(r @ "no_display_for_headed_profile") => {
            out.insert("reason".into(), json!(r));
            if let Some(d) = body.get("details") {
                out.insert("details".into(), d.clone());
            }
        }
        _ => {}
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_normalisation() {
        assert_eq!(normalize_path(" tabs/ "), "/tabs");
        assert_eq!(normalize_path("/"), "/");
        assert_eq!(normalize_path("///"), "/");
        assert_eq!(normalize_path("/tabs/open//"), "/tabs/open");
    }

    #[test]
    fn refused_routes() {
        assert!(is_profile_mutation("POST", "/profiles/create"));
        assert!(is_profile_mutation("POST", "/profiles/import"));
        assert!(is_profile_mutation("POST", "/reset-profile"));
        assert!(is_profile_mutation("DELETE", "/profiles/user"));
        assert!(!is_profile_mutation("GET", "/profiles"));
        assert!(is_host_local("/system-profiles"));
    }

    #[test]
    fn envelope_body_is_filtered_to_the_closed_set() {
        let b = filter_error_body(&json!({"error": "x", "code": "ACT_KIND_REQUIRED", "extra": 1}));
        assert_eq!(b, json!({"error": "x", "code": "ACT_KIND_REQUIRED"}));
        let b = filter_error_body(&json!({"error": "x", "code": "OTHER", "reason": "nope"}));
        assert_eq!(b, json!({"error": "x", "unrecognizedCode": true}));
    }
}
