//! `/act`: clicks, typing, keys, hovering, selects, drags, waits and evaluation, and the DOM
//! helpers they use (refs to nodes, element geometry, mouse and keyboard events).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::*;
use crate::browser::route::{RouteError, RouteRequest};
use crate::browser::snapshot::{self};

impl Builtin {
    pub(super) async fn act_route(
        &self,
        profile: &Arc<Profile>,
        req: &RouteRequest,
    ) -> RouteResult {
        let kind = validate_act(req, 0)?;
        let (b, tab) = self.page(profile, req, Self::target_ref(req)).await?;
        let blocked = |b: &Browser, tab: &Arc<Tab>| {
            let tab = tab.clone();
            let b = b.cdp.clone();
            let target = tab.target_id.clone();
            async move {
                // The watcher has its own event subscription: the session's event handler may
                // not have recorded the dialog yet. Report it once it has (bounded).
                for _ in 0..100 {
                    if lock(&tab.dialogs).pending.is_some() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                let state = lock(&tab.dialogs).state();
                let url = target_info_cdp(&b, &target).await;
                json!({"ok": true, "targetId": target, "url": url,
                    "blockedByDialog": true, "browserState": state})
            }
        };
        if lock(&tab.dialogs).pending.is_some() && kind != "close" {
            return Ok(blocked(&b, &tab).await);
        }
        // An action that opens a dialog must not hang on the blocked page.
        let watcher = dialog_opened(b.cdp.subscribe(), &tab.session_id);
        let outcome = tokio::select! {
            r = self.perform_act(profile, &b, &tab, req, &kind) => r?,
            () = watcher => return Ok(blocked(&b, &tab).await),
        };
        let Some(extra) = outcome else {
            return Ok(json!({"ok": true, "targetId": tab.target_id}));
        };
        let url = current_url(&b, &tab.target_id).await;
        let mut out = json!({"ok": true, "targetId": tab.target_id, "url": url});
        if let Some(o) = out.as_object_mut() {
            o.extend(extra);
        }
        Ok(out)
    }

    /// Run one act kind; `None` when the action closed the tab.
    pub(super) async fn perform_act(
        &self,
        profile: &Arc<Profile>,
        b: &Browser,
        tab: &Tab,
        req: &RouteRequest,
        kind: &str,
    ) -> Result<Option<Map<String, Value>>, RouteError> {
        // Actions that may start a navigation get a short settle window (and then wait for
        // the load), so a following snapshot sees the new page.
        let guarded = matches!(
            kind,
            "click"
                | "clickCoords"
                | "press"
                | "type"
                | "insertText"
                | "select"
                | "fill"
                | "evaluate"
        );
        let nav_events = guarded.then(|| b.cdp.subscribe());
        let invalid = |m: &str| RouteError::with_code(400, m, "ACT_INVALID_REQUEST");
        let mut extra = Map::new();
        match kind {
            "click" | "hover" | "scrollIntoView" => {
                let node = self.target_node(b, tab, req).await?;
                let label = req
                    .body_str("ref")
                    .or(req.body_str("selector"))
                    .unwrap_or("");
                let (x, y) = element_center(b, tab, node, label).await?;
                if kind == "click" {
                    let button = req.body_str("button").unwrap_or("left");
                    if !["left", "right", "middle"].contains(&button) {
                        return Err(invalid("button must be left, right or middle"));
                    }
                    let count = if req.body_bool("doubleClick") { 2 } else { 1 };
                    mouse_click(b, tab, x, y, button, count).await?;
                } else if kind == "hover" {
                    mouse_move(b, tab, x, y).await?;
                }
            }
            "clickCoords" => {
                let x = req.body_field("x").and_then(Value::as_f64);
                let y = req.body_field("y").and_then(Value::as_f64);
                let (Some(x), Some(y)) = (x, y) else {
                    return Err(invalid("clickCoords requires x and y"));
                };
                if x < 0.0 || y < 0.0 {
                    return Err(invalid("clickCoords requires x and y >= 0"));
                }
                let count = if req.body_bool("doubleClick") { 2 } else { 1 };
                mouse_click(
                    b,
                    tab,
                    x,
                    y,
                    req.body_str("button").unwrap_or("left"),
                    count,
                )
                .await?;
            }
            "type" => {
                let node = self.target_node(b, tab, req).await?;
                let text = req.body_field("text").and_then(Value::as_str).unwrap_or("");
                call_on_node(
                    b,
                    tab,
                    node,
                    "function(){ this.scrollIntoView({block:'center'}); this.focus(); if ('value' in this) { this.value=''; this.dispatchEvent(new Event('input',{bubbles:true})); } else if (this.isContentEditable) { this.textContent=''; } }",
                    json!([]),
                )
                .await?;
                b.cdp
                    .call(
                        "Input.insertText",
                        json!({"text": text}),
                        Some(&tab.session_id),
                        CDP_TIMEOUT,
                    )
                    .await?;
                if req.body_bool("submit") {
                    press_key(b, tab, "Enter").await?;
                }
            }
            "insertText" => {
                let text = req.body_field("text").and_then(Value::as_str).unwrap_or("");
                b.cdp
                    .call(
                        "Input.insertText",
                        json!({"text": text}),
                        Some(&tab.session_id),
                        CDP_TIMEOUT,
                    )
                    .await?;
            }
            "press" => {
                press_key(b, tab, req.body_str("key").unwrap_or("")).await?;
            }
            "select" => {
                let values: Vec<String> = req
                    .body_field("values")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(String::from)
                            .collect()
                    })
                    .unwrap_or_default();
                if values.is_empty() {
                    return Err(invalid("select requires values"));
                }
                let node = self.target_node(b, tab, req).await?;
                call_on_node(b, tab, node,
                    "function(vals){ for (const o of this.options||[]) { o.selected = vals.includes(o.value) || vals.includes(o.label); } this.dispatchEvent(new Event('input',{bubbles:true})); this.dispatchEvent(new Event('change',{bubbles:true})); }",
                    json!([{"value": values}])).await?;
            }
            "fill" => {
                let fields = req
                    .body_field("fields")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                if fields.is_empty() {
                    return Err(invalid("fill requires fields"));
                }
                for f in &fields {
                    let Some(r) = f.get("ref").and_then(Value::as_str) else {
                        return Err(invalid("fill fields require ref"));
                    };
                    let node = resolve_ref(tab, r)?;
                    let ty = f.get("type").and_then(Value::as_str).unwrap_or("text");
                    let value = f.get("value").cloned().unwrap_or(Value::Null);
                    if ty == "checkbox" || ty == "radio" {
                        let on = matches!(&value, Value::Bool(true))
                            || value.as_i64() == Some(1)
                            || matches!(value.as_str(), Some("1" | "true"));
                        call_on_node(
                            b,
                            tab,
                            node,
                            "function(on){ if (this.checked !== on) { this.click(); } }",
                            json!([{"value": on}]),
                        )
                        .await?;
                    } else {
                        let text = match &value {
                            Value::String(s) => s.clone(),
                            Value::Null => String::new(),
                            other => other.to_string(),
                        };
                        call_on_node(b, tab, node,
                            "function(v){ this.focus(); this.value = v; this.dispatchEvent(new Event('input',{bubbles:true})); this.dispatchEvent(new Event('change',{bubbles:true})); }",
                            json!([{"value": text}])).await?;
                    }
                }
            }
            "resize" => {
                let dim = |k: &str| {
                    req.body_field(k)
                        .and_then(Value::as_u64)
                        .filter(|v| (1..=8192).contains(v))
                };
                let (Some(w), Some(h)) = (dim("width"), dim("height")) else {
                    return Err(invalid("resize requires positive width and height <= 8192"));
                };
                b.cdp
                    .call(
                        "Emulation.setDeviceMetricsOverride",
                        json!({"width": w, "height": h, "deviceScaleFactor": 0, "mobile": false}),
                        Some(&tab.session_id),
                        CDP_TIMEOUT,
                    )
                    .await?;
            }
            "wait" => self.wait(b, tab, req).await?,
            "evaluate" => {
                let f = req.body_str("fn").unwrap_or("");
                let timeout = clamp_ms(req.body_field("timeoutMs"), 20_000, 500, 120_000);
                let value = if let Some(r) = req.body_str("ref") {
                    let node = resolve_ref(tab, r)?;
                    let decl = format!(
                        "async function(){{ const __f = ({f}); return typeof __f === 'function' ? await __f(this) : __f; }}"
                    );
                    call_on_node_timeout(b, tab, node, &decl, json!([]), timeout).await?
                } else {
                    evaluate(b, tab, f, timeout).await?
                };
                extra.insert("result".to_string(), value);
            }
            "close" => {
                close_target(profile, b, &tab.target_id).await?;
                return Ok(None);
            }
            "batch" => {
                let actions = req
                    .body_field("actions")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let stop_on_error =
                    !matches!(req.body_field("stopOnError"), Some(Value::Bool(false)));
                let mut results = Vec::new();
                let total = actions.len();
                for (i, a) in actions.into_iter().enumerate() {
                    let sub_kind = a
                        .get("kind")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string();
                    let mut sub = req.clone();
                    sub.body = a;
                    let before = current_url(b, &tab.target_id).await;
                    let r = Box::pin(self.perform_act(profile, b, tab, &sub, &sub_kind)).await;
                    match r {
                        // `evaluate` inside a batch returns no value (as upstream).
                        Ok(Some(_)) => {
                            let mut entry = json!({"ok": true});
                            let after = current_url(b, &tab.target_id).await;
                            if after != before {
                                entry["navigated"] = json!(true);
                                entry["url"] = json!(after);
                                results.push(entry);
                                if i + 1 < total {
                                    extra.insert("aborted".into(), json!({"reason": "navigation",
                                        "afterAction": i + 1, "url": after, "skipped": total - i - 1}));
                                }
                                break;
                            }
                            results.push(entry);
                        }
                        Ok(None) => {
                            results.push(json!({"ok": true}));
                            if i + 1 < total {
                                extra.insert(
                                    "aborted".into(),
                                    json!({"reason": "closed", "afterAction": i + 1,
                                        "skipped": total - i - 1}),
                                );
                            }
                            break;
                        }
                        Err(e) => {
                            let msg = match e.body.get("error") {
                                Some(Value::String(m)) => m.clone(),
                                _ => format!("HTTP {}", e.status),
                            };
                            results.push(json!({"ok": false, "error": msg}));
                            if stop_on_error {
                                break;
                            }
                        }
                    }
                }
                extra.insert("results".into(), Value::Array(results));
            }
            _ => {}
        }
        if let Some(rx) = nav_events {
            settle_navigation(rx, &tab.session_id, &tab.target_id).await;
        }
        Ok(Some(extra))
    }

    pub(super) async fn target_node(
        &self,
        b: &Browser,
        tab: &Tab,
        req: &RouteRequest,
    ) -> Result<i64, RouteError> {
        match req.body_str("ref") {
            Some(r) => resolve_ref(tab, r),
            None => query_selector(b, tab, req.body_str("selector").unwrap_or("")).await,
        }
    }

    pub(super) async fn wait(
        &self,
        b: &Browser,
        tab: &Tab,
        req: &RouteRequest,
    ) -> Result<(), RouteError> {
        if let Some(t) = req.body_field("timeMs").and_then(Value::as_f64) {
            tokio::time::sleep(Duration::from_millis(t.max(0.0) as u64)).await;
        }
        let timeout = clamp_ms(req.body_field("timeoutMs"), 20_000, 500, 120_000);
        let mut checks: Vec<(String, String)> = Vec::new();
        let js = |s: &str| Value::String(s.to_string()).to_string();
        if let Some(t) = req.body_str("text") {
            checks.push((
                format!(
                    "(document.body && document.body.innerText.includes({}))",
                    js(t)
                ),
                format!("text {}", js(t)),
            ));
        }
        if let Some(t) = req.body_str("textGone") {
            checks.push((
                format!(
                    "!(document.body && document.body.innerText.includes({}))",
                    js(t)
                ),
                format!("textGone {}", js(t)),
            ));
        }
        if let Some(s) = req.body_str("selector") {
            checks.push((
                format!("!!document.querySelector({})", js(s)),
                format!("selector {}", js(s)),
            ));
        }
        if let Some(u) = req.body_str("url") {
            let pattern = glob_to_regex(u);
            checks.push((
                format!("new RegExp({}).test(location.href)", js(&pattern)),
                format!("url {}", js(u)),
            ));
        }
        if let Some(state) = req.body_str("loadState") {
            let cond = match state {
                "domcontentloaded" => "document.readyState !== 'loading'",
                _ => "document.readyState === 'complete'",
            };
            checks.push((cond.to_string(), format!("loadState {state}")));
        }
        if let Some(f) = req.body_str("fn") {
            checks.push((format!("(async () => {{ const __f = ({f}); return !!(typeof __f === 'function' ? await __f() : __f); }})()"), "fn".to_string()));
        }
        let deadline = tokio::time::Instant::now() + timeout;
        for (expr, what) in checks {
            loop {
                let ok = evaluate(b, tab, &expr, Duration::from_secs(5))
                    .await
                    .map(|v| v == Value::Bool(true))
                    .unwrap_or(false);
                if ok {
                    break;
                }
                if tokio::time::Instant::now() >= deadline {
                    return Err(RouteError::new(
                        500,
                        format!(
                            "TimeoutError: wait for {what}: Timeout {}ms exceeded.",
                            timeout.as_millis()
                        ),
                    ));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(())
    }
}

pub(super) fn resolve_ref(tab: &Tab, raw: &str) -> Result<i64, RouteError> {
    let norm = snapshot::normalize_ref(raw);
    lock(&tab.refs)
        .resolve(norm)
        .map(|e| e.backend_node_id)
        .ok_or_else(|| {
            RouteError::new(
                500,
                format!("Error: Unknown ref \"{norm}\". Run a new snapshot and use a ref from that snapshot."),
            )
        })
}

pub(super) fn not_visible(label: &str) -> RouteError {
    RouteError::new(
        500,
        format!(
            "Element \"{label}\" not found or not visible. Run a new snapshot to see current page elements."
        ),
    )
}

pub(super) async fn query_selector(
    b: &Browser,
    tab: &Tab,
    selector: &str,
) -> Result<i64, RouteError> {
    let expr = format!(
        "document.querySelector({})",
        Value::String(selector.to_string())
    );
    let r = b
        .cdp
        .call(
            "Runtime.evaluate",
            json!({"expression": expr}),
            Some(&tab.session_id),
            CDP_TIMEOUT,
        )
        .await?;
    if let Some(ex) = r.get("exceptionDetails") {
        let d = ex
            .get("exception")
            .and_then(|e| e.get("description"))
            .and_then(Value::as_str)
            .unwrap_or("invalid selector");
        return Err(RouteError::new(
            400,
            format!("invalid selector {selector:?}: {d}"),
        ));
    }
    let Some(object_id) = r
        .get("result")
        .and_then(|o| o.get("objectId"))
        .and_then(Value::as_str)
    else {
        return Err(not_visible(selector));
    };
    let d = b
        .cdp
        .call(
            "DOM.describeNode",
            json!({"objectId": object_id}),
            Some(&tab.session_id),
            CDP_TIMEOUT,
        )
        .await?;
    d.get("node")
        .and_then(|n| n.get("backendNodeId"))
        .and_then(Value::as_i64)
        .ok_or_else(|| not_visible(selector))
}

/// Center of the element in viewport CSS pixels (scrolled into view first). Fails at once when
/// the node is gone or has no box.
/// A DOM method on one node (`{backendNodeId}`); any failure reads as "not visible".
async fn node_call(
    b: &Browser,
    tab: &Tab,
    method: &str,
    node: i64,
    label: &str,
) -> Result<Value, RouteError> {
    b.cdp
        .call(
            method,
            json!({"backendNodeId": node}),
            Some(tab.session_id.as_str()),
            CDP_TIMEOUT,
        )
        .await
        .map_err(|_| not_visible(label))
}

/// The 8 numbers of a quad at `v[key][index]` (content quad or box-model border), or "not
/// visible".
fn quad_of(v: &Value, key: &str, index: Option<&str>, label: &str) -> Result<Vec<f64>, RouteError> {
    let q = v.get(key);
    let q = match index {
        Some(k) => q.and_then(|q| q.get(k)),
        None => q.and_then(|q| q.get(0)),
    };
    let quad: Vec<f64> = q
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    if quad.len() == 8 {
        Ok(quad)
    } else {
        Err(not_visible(label))
    }
}

pub(super) async fn element_center(
    b: &Browser,
    tab: &Tab,
    node: i64,
    label: &str,
) -> Result<(f64, f64), RouteError> {
    node_call(b, tab, "DOM.scrollIntoViewIfNeeded", node, label).await?;
    let q = node_call(b, tab, "DOM.getContentQuads", node, label).await?;
    let quad = quad_of(&q, "quads", None, label)?;
    let x = (quad[0] + quad[2] + quad[4] + quad[6]) / 4.0;
    let y = (quad[1] + quad[3] + quad[5] + quad[7]) / 4.0;
    Ok((x, y))
}

pub(super) async fn element_clip(
    b: &Browser,
    tab: &Tab,
    node: i64,
    label: &str,
) -> Result<Value, RouteError> {
    element_center(b, tab, node, label).await?;
    let sid = Some(tab.session_id.as_str());
    let q = node_call(b, tab, "DOM.getBoxModel", node, label).await?;
    let border = quad_of(&q, "model", Some("border"), label)?;
    let m = b
        .cdp
        .call("Page.getLayoutMetrics", json!({}), sid, CDP_TIMEOUT)
        .await?;
    let vp = m.get("cssLayoutViewport").cloned().unwrap_or(Value::Null);
    let px = vp.get("pageX").and_then(Value::as_f64).unwrap_or(0.0);
    let py = vp.get("pageY").and_then(Value::as_f64).unwrap_or(0.0);
    let xs = [border[0], border[2], border[4], border[6]];
    let ys = [border[1], border[3], border[5], border[7]];
    let min_x = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let max_x = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let min_y = ys.iter().copied().fold(f64::INFINITY, f64::min);
    let max_y = ys.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if max_x - min_x < 1.0 || max_y - min_y < 1.0 {
        return Err(not_visible(label));
    }
    Ok(
        json!({"x": min_x + px, "y": min_y + py, "width": max_x - min_x, "height": max_y - min_y, "scale": 1}),
    )
}

pub(super) async fn mouse_move(b: &Browser, tab: &Tab, x: f64, y: f64) -> Result<(), RouteError> {
    b.cdp
        .call(
            "Input.dispatchMouseEvent",
            json!({"type": "mouseMoved", "x": x, "y": y}),
            Some(&tab.session_id),
            CDP_TIMEOUT,
        )
        .await?;
    Ok(())
}

pub(super) async fn mouse_click(
    b: &Browser,
    tab: &Tab,
    x: f64,
    y: f64,
    button: &str,
    count: u32,
) -> Result<(), RouteError> {
    mouse_move(b, tab, x, y).await?;
    let buttons = match button {
        "right" => 2,
        "middle" => 4,
        _ => 1,
    };
    for n in 1..=count {
        for ty in ["mousePressed", "mouseReleased"] {
            b.cdp
                .call(
                    "Input.dispatchMouseEvent",
                    json!({"type": ty, "x": x, "y": y, "button": button, "buttons": buttons, "clickCount": n}),
                    Some(&tab.session_id),
                    CDP_TIMEOUT,
                )
                .await?;
        }
    }
    Ok(())
}

/// `(key, code, windowsVirtualKeyCode, text)` for a key name.
pub(super) fn key_def(name: &str) -> Option<(String, String, i64, Option<String>)> {
    let named = |k: &str, code: &str, vk: i64, text: Option<&str>| {
        Some((k.to_string(), code.to_string(), vk, text.map(String::from)))
    };
    match name.to_ascii_lowercase().as_str() {
        "enter" | "return" => named("Enter", "Enter", 13, Some("\r")),
        "tab" => named("Tab", "Tab", 9, None),
        "escape" | "esc" => named("Escape", "Escape", 27, None),
        "backspace" => named("Backspace", "Backspace", 8, None),
        "delete" | "del" => named("Delete", "Delete", 46, None),
        "space" | " " => named(" ", "Space", 32, Some(" ")),
        "arrowup" => named("ArrowUp", "ArrowUp", 38, None),
        "arrowdown" => named("ArrowDown", "ArrowDown", 40, None),
        "arrowleft" => named("ArrowLeft", "ArrowLeft", 37, None),
        "arrowright" => named("ArrowRight", "ArrowRight", 39, None),
        "home" => named("Home", "Home", 36, None),
        "end" => named("End", "End", 35, None),
        "pageup" => named("PageUp", "PageUp", 33, None),
        "pagedown" => named("PageDown", "PageDown", 34, None),
        "shift" => named("Shift", "ShiftLeft", 16, None),
        "control" | "ctrl" => named("Control", "ControlLeft", 17, None),
        "alt" => named("Alt", "AltLeft", 18, None),
        "meta" | "cmd" => named("Meta", "MetaLeft", 91, None),
        _ => {
            let mut chars = name.chars();
            let c = chars.next()?;
            if chars.next().is_some() {
                return None;
            }
            let upper = c.to_ascii_uppercase();
            let code = if c.is_ascii_alphabetic() {
                format!("Key{upper}")
            } else if c.is_ascii_digit() {
                format!("Digit{c}")
            } else {
                String::new()
            };
            Some((
                c.to_string(),
                code,
                i64::from(u32::from(upper)),
                Some(c.to_string()),
            ))
        }
    }
}

pub(super) async fn press_key(b: &Browser, tab: &Tab, chord: &str) -> Result<(), RouteError> {
    let parts: Vec<&str> = if chord == "+" {
        vec!["+"]
    } else {
        chord.split('+').collect()
    };
    let mut modifiers = 0;
    let mut held = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let lower = p.to_ascii_lowercase();
        let bit = match lower.as_str() {
            "alt" => 1,
            "control" | "ctrl" | "controlormeta" => 2,
            "meta" | "cmd" => 4,
            "shift" => 8,
            _ => 0,
        };
        if !last && bit == 0 {
            return Err(RouteError::with_code(
                400,
                format!("unknown modifier \"{p}\" in key \"{chord}\""),
                "ACT_INVALID_REQUEST",
            ));
        }
        let name = if lower == "controlormeta" {
            "Control"
        } else {
            p
        };
        let Some((key, code, vk, text)) = key_def(name) else {
            return Err(RouteError::with_code(
                400,
                format!("unknown key \"{p}\""),
                "ACT_INVALID_REQUEST",
            ));
        };
        let text = if modifiers & 0b110 != 0 { None } else { text };
        let mut down = json!({"type": if text.is_some() {"keyDown"} else {"rawKeyDown"},
            "key": key, "code": code, "windowsVirtualKeyCode": vk, "modifiers": modifiers | bit});
        if let Some(t) = &text {
            down["text"] = json!(t);
        }
        b.cdp
            .call(
                "Input.dispatchKeyEvent",
                down,
                Some(&tab.session_id),
                CDP_TIMEOUT,
            )
            .await?;
        modifiers |= bit;
        held.push((key, code, vk));
    }
    for (key, code, vk) in held.into_iter().rev() {
        b.cdp
            .call(
                "Input.dispatchKeyEvent",
                json!({"type": "keyUp", "key": key, "code": code, "windowsVirtualKeyCode": vk, "modifiers": modifiers}),
                Some(&tab.session_id),
                CDP_TIMEOUT,
            )
            .await?;
    }
    Ok(())
}

pub(super) fn exception_text(r: &Value) -> Option<String> {
    let ex = r.get("exceptionDetails")?;
    Some(
        ex.get("exception")
            .and_then(|e| e.get("description"))
            .and_then(Value::as_str)
            .or_else(|| ex.get("text").and_then(Value::as_str))
            .unwrap_or("exception")
            .to_string(),
    )
}

pub(super) async fn evaluate(
    b: &Browser,
    tab: &Tab,
    f: &str,
    timeout: Duration,
) -> Result<Value, RouteError> {
    let expr = format!(
        "(async () => {{ const __f = ({f}\n); return typeof __f === 'function' ? await __f() : __f; }})()"
    );
    let r = b
        .cdp
        .call(
            "Runtime.evaluate",
            json!({"expression": expr, "awaitPromise": true, "returnByValue": true, "userGesture": true}),
            Some(&tab.session_id),
            timeout,
        )
        .await?;
    if let Some(t) = exception_text(&r) {
        return Err(RouteError::new(500, format!("Error: page.evaluate: {t}")));
    }
    Ok(r.get("result")
        .and_then(|v| v.get("value"))
        .cloned()
        .unwrap_or(Value::Null))
}

pub(super) async fn call_on_node(
    b: &Browser,
    tab: &Tab,
    node: i64,
    decl: &str,
    args: Value,
) -> Result<Value, RouteError> {
    call_on_node_timeout(b, tab, node, decl, args, CDP_TIMEOUT).await
}

pub(super) async fn call_on_node_timeout(
    b: &Browser,
    tab: &Tab,
    node: i64,
    decl: &str,
    args: Value,
    timeout: Duration,
) -> Result<Value, RouteError> {
    let sid = Some(tab.session_id.as_str());
    let resolved = b
        .cdp
        .call(
            "DOM.resolveNode",
            json!({"backendNodeId": node}),
            sid,
            CDP_TIMEOUT,
        )
        .await
        .map_err(|_| not_visible(&format!("node {node}")))?;
    let object_id = resolved
        .get("object")
        .and_then(|o| o.get("objectId"))
        .and_then(Value::as_str)
        .ok_or_else(|| not_visible(&format!("node {node}")))?;
    let r = b
        .cdp
        .call(
            "Runtime.callFunctionOn",
            json!({"objectId": object_id, "functionDeclaration": decl, "arguments": args,
                "awaitPromise": true, "returnByValue": true, "userGesture": true}),
            sid,
            timeout,
        )
        .await?;
    if let Some(t) = exception_text(&r) {
        return Err(RouteError::new(500, format!("Error: page.evaluate: {t}")));
    }
    Ok(r.get("result")
        .and_then(|v| v.get("value"))
        .cloned()
        .unwrap_or(Value::Null))
}
