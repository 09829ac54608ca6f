//! The route table (browser-routes §3) and the validation of `/act` bodies, decoded once before
//! anything touches the browser.

use serde_json::Value;

use crate::browser::route::{RouteError, RouteRequest};

/// A built-in route (browser-routes §3) other than `GET /profiles`, which is served before
/// profile resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Status,
    Start,
    Stop,
    Tabs,
    OpenTab,
    FocusTab,
    Navigate,
    Screenshot,
    Snapshot,
    Act,
    Console,
    Errors,
    Dialog,
    Pdf,
    /// `DELETE /tabs/:targetId` with the percent-decoded id.
    CloseTab(String),
}

/// Match a method and normalised path to a route: `404 Not Found` for anything else, `400` for
/// a malformed `:targetId` encoding.
pub fn match_route(method: &str, path: &str) -> Result<Route, RouteError> {
    Ok(match (method, path) {
        ("GET", "/") => Route::Status,
        ("POST", "/start") => Route::Start,
        ("POST", "/stop") => Route::Stop,
        ("GET", "/tabs") => Route::Tabs,
        ("POST", "/tabs/open") => Route::OpenTab,
        ("POST", "/tabs/focus") => Route::FocusTab,
        ("POST", "/navigate") => Route::Navigate,
        ("POST", "/screenshot") => Route::Screenshot,
        ("GET", "/snapshot") => Route::Snapshot,
        ("POST", "/act") => Route::Act,
        ("GET", "/console") => Route::Console,
        ("GET", "/errors") => Route::Errors,
        ("POST", "/hooks/dialog") => Route::Dialog,
        ("POST", "/pdf") => Route::Pdf,
        ("DELETE", p) if p.starts_with("/tabs/") && p[6..].split('/').count() == 1 => {
            let raw = &p[6..];
            let bytes = raw.as_bytes();
            let malformed = bytes.iter().enumerate().any(|(i, c)| {
                *c == b'%'
                    && !(bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                        && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
            });
            if malformed {
                return Err(RouteError::new(
                    400,
                    "invalid path parameter encoding: targetId",
                ));
            }
            let id = percent_encoding::percent_decode_str(raw)
                .decode_utf8()
                .map_err(|_| RouteError::new(400, "invalid path parameter encoding: targetId"))?
                .to_string();
            Route::CloseTab(id)
        }
        _ => return Err(RouteError::not_found()),
    })
}

/// Validate one `/act` body (recursively for `batch`); returns its kind.
pub fn validate_act(req: &RouteRequest, depth: usize) -> Result<String, RouteError> {
    let kind = req.body_str("kind").unwrap_or("").to_string();
    const KINDS: [&str; 16] = [
        "click",
        "clickCoords",
        "type",
        "insertText",
        "press",
        "hover",
        "scrollIntoView",
        "drag",
        "select",
        "fill",
        "resize",
        "wait",
        "evaluate",
        "close",
        "batch",
        "",
    ];
    if kind.is_empty() || !KINDS.contains(&kind.as_str()) {
        return Err(RouteError::with_code(
            400,
            "kind is required",
            "ACT_KIND_REQUIRED",
        ));
    }
    let invalid = |m: &str| RouteError::with_code(400, m, "ACT_INVALID_REQUEST");
    const SELECTOR_KINDS: [&str; 8] = [
        "batch",
        "click",
        "drag",
        "hover",
        "scrollIntoView",
        "select",
        "type",
        "wait",
    ];
    if req.body_field("selector").is_some() && !SELECTOR_KINDS.contains(&kind.as_str()) {
        return Err(RouteError::with_code(
            400,
            "Error: 'selector' is not supported. Use 'ref' from snapshot instead.\n\nExample workflow:\n1. snapshot action to get page state with refs\n2. act with ref: \"e123\" to interact with element\n\nThis is more reliable for modern SPAs.",
            "ACT_SELECTOR_UNSUPPORTED",
        ));
    }
    let ref_or_selector = || req.body_str("ref").is_some() || req.body_str("selector").is_some();
    match kind.as_str() {
        "click" | "hover" | "scrollIntoView" | "type" | "select" if !ref_or_selector() => {
            return Err(invalid(&format!("{kind} requires ref or selector")));
        }
        "type" if req.body_field("text").and_then(Value::as_str).is_none() => {
            return Err(invalid("type requires text"));
        }
        "insertText" if req.body_field("text").and_then(Value::as_str).is_none() => {
            return Err(invalid("insertText requires text"));
        }
        "press" if req.body_str("key").is_none() => return Err(invalid("press requires key")),
        "evaluate" if req.body_str("fn").is_none() => {
            return Err(invalid("evaluate requires fn"));
        }
        "drag" => {
            return Err(RouteError::with_code(
                501,
                format!(
                    "act kind \"{kind}\" is not supported by openclaw-node's built-in browser backend"
                ),
                "ACT_OPERATION_FAILED",
            ));
        }
        _ => {}
    }
    if (kind == "evaluate" || (kind == "wait" && req.body_field("fn").is_some()))
        && !req.settings.evaluate_enabled
    {
        return Err(RouteError::with_code(
            403,
            "evaluate is disabled (browser.evaluateEnabled=false)",
            "ACT_EVALUATE_DISABLED",
        ));
    }
    if kind == "wait" {
        let t = req.body_field("timeMs").and_then(Value::as_f64);
        if t.is_some_and(|t| t > 30_000.0) {
            return Err(invalid("wait timeMs exceeds maximum of 30000ms"));
        }
        let any = [
            "timeMs",
            "text",
            "textGone",
            "selector",
            "url",
            "loadState",
            "fn",
        ]
        .iter()
        .any(|k| req.body_field(k).is_some());
        if !any {
            return Err(invalid(
                "wait requires at least one of timeMs, text, textGone, selector, url, loadState, fn",
            ));
        }
    }
    if kind == "batch" {
        let actions = req
            .body_field("actions")
            .and_then(Value::as_array)
            .filter(|a| !a.is_empty())
            .ok_or_else(|| invalid("batch requires actions"))?;
        if depth > 0 {
            return Err(invalid("nested batch actions are not supported"));
        }
        if actions.len() > 100 {
            return Err(invalid("batch exceeds 100 actions"));
        }
        let outer = req.body_str("targetId");
        for a in actions {
            if let Some(inner) = a.get("targetId").and_then(Value::as_str)
                && Some(inner) != outer
            {
                return Err(RouteError::with_code(
                    403,
                    "batched action targetId must match request targetId",
                    "ACT_TARGET_ID_MISMATCH",
                ));
            }
            let mut sub = req.clone();
            sub.body = a.clone();
            validate_act(&sub, depth + 1)?;
        }
    }
    Ok(kind)
}
