//! Types shared by the adapter and both backends: one in-memory route call
//! (`{method, path, query, body, profile}` → `{status, body}`), the settings we honour from
//! `openclaw.json`, and the navigation (SSRF) policy.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::{Value, json};

/// One route call after the adapter's validation.
#[derive(Debug, Clone)]
pub struct RouteRequest {
    pub method: String,
    pub path: String,
    pub query: BTreeMap<String, String>,
    pub body: Value,
    /// Effective profile (empty for `/profiles`).
    pub profile: String,
    pub settings: Settings,
}

impl RouteRequest {
    /// `body[key]` when the body is an object.
    pub fn body_field(&self, key: &str) -> Option<&Value> {
        self.body.as_object().and_then(|o| o.get(key))
    }
    pub fn body_str(&self, key: &str) -> Option<&str> {
        self.body_field(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }
    pub fn body_bool(&self, key: &str) -> bool {
        match self.body_field(key) {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => parse_bool(s) == Some(true),
            _ => false,
        }
    }
    pub fn query_str(&self, key: &str) -> Option<&str> {
        self.query
            .get(key)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }
    pub fn query_bool(&self, key: &str) -> bool {
        self.query_str(key).and_then(parse_bool) == Some(true)
    }
}

/// `true/false/1/0/yes/no`.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

/// A route's answer (`status` ≥ 400 means `body.error` explains).
#[derive(Debug, Clone, PartialEq)]
pub struct RouteResponse {
    pub status: u16,
    pub body: Value,
}

impl RouteResponse {
    pub fn ok(body: Value) -> Self {
        Self { status: 200, body }
    }
}

/// A route-level error (`{error, code?, reason?, details?}` with an HTTP status).
#[derive(Debug, Clone, PartialEq)]
pub struct RouteError {
    pub status: u16,
    pub body: Value,
}

impl RouteError {
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            body: json!({"error": message.into()}),
        }
    }
    pub fn with_code(status: u16, message: impl Into<String>, code: &str) -> Self {
        Self {
            status,
            body: json!({"error": message.into(), "code": code}),
        }
    }
    pub fn blocked(message: impl Into<String>) -> Self {
        Self {
            status: 400,
            body: json!({"error": message.into(), "reason": "navigation_blocked"}),
        }
    }
    pub fn not_found() -> Self {
        Self::new(404, "Not Found")
    }
}

impl From<RouteError> for RouteResponse {
    fn from(e: RouteError) -> Self {
        Self {
            status: e.status,
            body: e.body,
        }
    }
}

/// One entry of `browser.profiles`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfileSettings {
    pub cdp_port: Option<u16>,
    pub cdp_url: Option<String>,
    pub driver: Option<String>,
    pub color: Option<String>,
}

/// What we honour from `openclaw.json` (re-read on every call). Unknown keys are ignored — the
/// official CLI owns that file's schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `nodeHost.browserProxy.enabled` (default true).
    pub proxy_enabled: bool,
    /// `browser.enabled` (default true).
    pub browser_enabled: bool,
    /// `nodeHost.browserProxy.allowProfiles` (trimmed, blanks removed).
    pub allow_profiles: Vec<String>,
    /// `browser.defaultProfile` (default `openclaw`).
    pub default_profile: String,
    pub headless: Option<bool>,
    pub no_sandbox: Option<bool>,
    pub executable_path: Option<String>,
    /// `browser.evaluateEnabled` (default true).
    pub evaluate_enabled: bool,
    /// `browser.ssrfPolicy.dangerouslyAllowPrivateNetwork` (default false).
    pub allow_private_network: bool,
    /// `browser.ssrfPolicy.allowedHostnames` / `hostnameAllowlist`.
    pub allowed_hostnames: Vec<String>,
    pub profiles: BTreeMap<String, ProfileSettings>,
    pub color: String,
    /// `gateway.auth.token` / `gateway.auth.password` (forwarder auth).
    pub gateway_token: Option<String>,
    pub gateway_password: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self::from_json(&Value::Null)
    }
}

impl Settings {
    /// Pick our keys out of a parsed `openclaw.json` (tolerant: wrong types mean defaults).
    pub fn from_json(root: &Value) -> Self {
        let at = |path: &[&str]| -> Option<&Value> {
            let mut v = root;
            for p in path {
                v = v.get(p)?;
            }
            Some(v)
        };
        let b = |path: &[&str]| at(path).and_then(Value::as_bool);
        let s = |path: &[&str]| {
            at(path)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let list = |path: &[&str]| -> Vec<String> {
            at(path)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut allowed_hostnames = list(&["browser", "ssrfPolicy", "allowedHostnames"]);
        allowed_hostnames.extend(list(&["browser", "ssrfPolicy", "hostnameAllowlist"]));
        let profiles = at(&["browser", "profiles"])
            .and_then(Value::as_object)
            .map(|o| {
                o.iter()
                    .map(|(name, p)| {
                        (
                            name.clone(),
                            ProfileSettings {
                                cdp_port: p
                                    .get("cdpPort")
                                    .and_then(Value::as_u64)
                                    .and_then(|n| u16::try_from(n).ok()),
                                cdp_url: p.get("cdpUrl").and_then(Value::as_str).map(String::from),
                                driver: p.get("driver").and_then(Value::as_str).map(String::from),
                                color: p.get("color").and_then(Value::as_str).map(String::from),
                            },
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self {
            proxy_enabled: b(&["nodeHost", "browserProxy", "enabled"]) != Some(false),
            browser_enabled: b(&["browser", "enabled"]) != Some(false),
            allow_profiles: list(&["nodeHost", "browserProxy", "allowProfiles"]),
            default_profile: s(&["browser", "defaultProfile"])
                .unwrap_or_else(|| "openclaw".to_string()),
            headless: b(&["browser", "headless"]),
            no_sandbox: b(&["browser", "noSandbox"]),
            executable_path: s(&["browser", "executablePath"]),
            evaluate_enabled: b(&["browser", "evaluateEnabled"]) != Some(false),
            allow_private_network: b(&["browser", "ssrfPolicy", "dangerouslyAllowPrivateNetwork"])
                == Some(true),
            allowed_hostnames,
            profiles,
            color: s(&["browser", "color"]).unwrap_or_else(|| "#FF4500".to_string()),
            gateway_token: s(&["gateway", "auth", "token"]),
            gateway_password: s(&["gateway", "auth", "password"]),
        }
    }
}

/// Navigation policy (§2.5): `http:`, `https:` and exact `about:blank`; no URL credentials;
/// private/loopback/link-local destinations only with
/// `browser.ssrfPolicy.dangerouslyAllowPrivateNetwork` or an allowed hostname.
pub async fn check_navigation(url: &str, settings: &Settings) -> Result<(), RouteError> {
    let url = url.trim();
    if url == "about:blank" {
        return Ok(());
    }
    let scheme = url
        .split_once(':')
        .map(|(s, _)| s.to_ascii_lowercase())
        .unwrap_or_default();
    if scheme != "http" && scheme != "https" {
        let shown = if scheme.is_empty()
            || !scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            url.chars().take(32).collect::<String>()
        } else {
            format!("{scheme}:")
        };
        return Err(RouteError::blocked(format!(
            "Navigation blocked: unsupported protocol {}",
            Value::String(shown)
        )));
    }
    let uri: hyper::Uri = url
        .parse()
        .map_err(|_| RouteError::new(400, format!("invalid URL: {url}")))?;
    let Some(authority) = uri.authority() else {
        return Err(RouteError::new(400, format!("invalid URL: {url}")));
    };
    if authority.as_str().contains('@') {
        return Err(RouteError::blocked(
            "Navigation blocked: URL-embedded credentials are not supported for page navigation. Set HTTP Basic auth with `openclaw browser set credentials <username> <password>` or use an authenticated browser profile.",
        ));
    }
    if settings.allow_private_network {
        return Ok(());
    }
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    if host_allowed(&host, &settings.allowed_hostnames) {
        return Ok(());
    }
    let private_msg = || {
        RouteError::blocked(format!(
            "Navigation blocked: {host} is a private/internal network address. Set browser.ssrfPolicy.dangerouslyAllowPrivateNetwork=true (or list the host in browser.ssrfPolicy.allowedHostnames) in openclaw.json to allow it."
        ))
    };
    if let Ok(ip) = host.parse::<IpAddr>() {
        return if is_private(ip) {
            Err(private_msg())
        } else {
            Ok(())
        };
    }
    if host == "localhost"
        || host.ends_with(".localhost")
        || host.ends_with(".local")
        || host.ends_with(".internal")
    {
        return Err(private_msg());
    }
    let port = uri
        .port_u16()
        .unwrap_or(if scheme == "https" { 443 } else { 80 });
    if let Ok(Ok(addrs)) = tokio::time::timeout(
        std::time::Duration::from_secs(3),
        tokio::net::lookup_host((host.as_str(), port)),
    )
    .await
    {
        for a in addrs {
            if is_private(a.ip()) {
                return Err(private_msg());
            }
        }
    }
    Ok(())
}

fn host_allowed(host: &str, allowed: &[String]) -> bool {
    allowed.iter().any(|a| {
        let a = a.to_ascii_lowercase();
        match a.strip_prefix("*.") {
            Some(suffix) => host.ends_with(&format!(".{suffix}")),
            None => a == host,
        }
    })
}

fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.octets()[0] == 100 && (64..128).contains(&v4.octets()[1])
                || v4.octets()[0] == 0
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn navigation_policy_blocks_schemes_credentials_and_private_hosts() {
        let s = Settings::default();
        let e = check_navigation("data:text/html,<h1>x</h1>", &s)
            .await
            .unwrap_err();
        assert_eq!(
            e.body["error"],
            "Navigation blocked: unsupported protocol \"data:\""
        );
        assert_eq!(e.body["reason"], "navigation_blocked");
        let e = check_navigation("file:///etc/passwd", &s)
            .await
            .unwrap_err();
        assert_eq!(
            e.body["error"],
            "Navigation blocked: unsupported protocol \"file:\""
        );
        let e = check_navigation("http://user:pw@example.com/", &s)
            .await
            .unwrap_err();
        assert!(
            e.body["error"]
                .as_str()
                .unwrap()
                .contains("URL-embedded credentials")
        );
        assert!(check_navigation("http://127.0.0.1:9/", &s).await.is_err());
        assert!(check_navigation("http://[::1]/", &s).await.is_err());
        assert!(
            check_navigation("http://169.254.169.254/", &s)
                .await
                .is_err()
        );
        assert!(check_navigation("about:blank", &s).await.is_ok());
        assert!(check_navigation("https://93.184.215.14/", &s).await.is_ok());
        let allow = Settings::from_json(
            &json!({"browser":{"ssrfPolicy":{"dangerouslyAllowPrivateNetwork":true}}}),
        );
        assert!(
            check_navigation("http://127.0.0.1:9/", &allow)
                .await
                .is_ok()
        );
        let listed = Settings::from_json(
            &json!({"browser":{"ssrfPolicy":{"allowedHostnames":["127.0.0.1"]}}}),
        );
        assert!(
            check_navigation("http://127.0.0.1:9/", &listed)
                .await
                .is_ok()
        );
    }

    #[test]
    fn settings_defaults_and_keys() {
        let s = Settings::default();
        assert!(s.proxy_enabled && s.browser_enabled && s.evaluate_enabled);
        assert_eq!(s.default_profile, "openclaw");
        let s = Settings::from_json(&json!({
            "nodeHost": {"browserProxy": {"enabled": false, "allowProfiles": [" openclaw ", ""]}},
            "browser": {"enabled": false, "defaultProfile": "work", "headless": false, "noSandbox": true}
        }));
        assert!(!s.proxy_enabled && !s.browser_enabled);
        assert_eq!(s.allow_profiles, vec!["openclaw".to_string()]);
        assert_eq!(s.default_profile, "work");
        assert_eq!((s.headless, s.no_sandbox), (Some(false), Some(true)));
    }
}
