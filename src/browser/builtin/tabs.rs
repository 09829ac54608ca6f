//! Tabs: listing page targets, aliases, resolving a tab reference, attaching sessions,
//! activating, closing, the tab limit, and navigation with its settle rules.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use super::*;
use crate::browser::cdp::{CdpClient, CdpError, CdpEvent};
use crate::browser::route::{RouteError, Settings, check_navigation};
use crate::browser::snapshot::RefTable;

pub(super) fn is_listed_url(url: &str) -> bool {
    const HIDDEN: [&str; 7] = [
        "chrome://",
        "chrome-untrusted://",
        "devtools://",
        "edge://",
        "brave://",
        "vivaldi://",
        "opera://",
    ];
    !HIDDEN.iter().any(|p| url.starts_with(p))
}

/// Page targets as `Target.getTargets` reports them.
pub(super) async fn list_page_targets(b: &Browser) -> Result<Vec<Value>, RouteError> {
    let r = b
        .cdp
        .call("Target.getTargets", json!({}), None, CDP_TIMEOUT)
        .await?;
    Ok(r.get("targetInfos")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter(|t| t.get("type").and_then(Value::as_str) == Some("page"))
                .filter(|t| is_listed_url(t.get("url").and_then(Value::as_str).unwrap_or("")))
                .cloned()
                .collect()
        })
        .unwrap_or_default())
}

pub(super) fn assign_alias(meta: &mut TabMeta, target_id: &str) -> u32 {
    if let Some(n) = meta.alias.get(target_id) {
        return *n;
    }
    meta.next_alias += 1;
    let n = meta.next_alias;
    meta.alias.insert(target_id.to_string(), n);
    n
}

pub(super) fn tab_json(profile: &Profile, target_id: &str, info: &Value) -> Value {
    let (alias, label) = {
        let mut meta = lock(&profile.meta);
        let n = assign_alias(&mut meta, target_id);
        (format!("t{n}"), meta.label.get(target_id).cloned())
    };
    let mut v = json!({
        "targetId": target_id,
        "title": info.get("title").and_then(Value::as_str).unwrap_or(""),
        "url": info.get("url").and_then(Value::as_str).unwrap_or(""),
        "type": "page",
        "suggestedTargetId": label.clone().unwrap_or_else(|| alias.clone()),
        "tabId": alias,
    });
    if let Some(l) = label {
        v["label"] = json!(l);
    }
    v
}

/// `/tabs` entries, most recently opened first.
pub(super) async fn list_tabs(profile: &Profile, b: &Browser) -> Result<Vec<Value>, RouteError> {
    let targets = list_page_targets(b).await?;
    let mut tabs: Vec<(u32, Value)> = targets
        .iter()
        .filter_map(|t| {
            let id = t.get("targetId").and_then(Value::as_str)?;
            let v = tab_json(profile, id, t);
            let n = lock(&profile.meta).alias.get(id).copied().unwrap_or(0);
            Some((n, v))
        })
        .collect();
    tabs.sort_by_key(|t| std::cmp::Reverse(t.0));
    Ok(tabs.into_iter().map(|(_, v)| v).collect())
}

pub(super) async fn resolve_reference(
    profile: &Profile,
    b: &Browser,
    reference: &str,
    raw_only: bool,
) -> Result<String, RouteError> {
    let tabs = list_tabs(profile, b).await?;
    let field = |t: &Value, k: &str| t.get(k).and_then(Value::as_str).map(str::to_string);
    let exact = tabs.iter().find(|t| {
        if raw_only {
            field(t, "targetId").as_deref() == Some(reference)
        } else {
            ["targetId", "suggestedTargetId", "tabId", "label"]
                .iter()
                .any(|k| field(t, k).as_deref() == Some(reference))
        }
    });
    if let Some(t) = exact {
        return field(t, "targetId").ok_or_else(|| RouteError::new(500, "Error: tab without id"));
    }
    if !raw_only {
        let lower = reference.to_ascii_lowercase();
        let matches: Vec<String> = tabs
            .iter()
            .filter_map(|t| field(t, "targetId"))
            .filter(|id| !lower.is_empty() && id.to_ascii_lowercase().starts_with(&lower))
            .collect();
        match matches.len() {
            1 => return Ok(matches[0].clone()),
            n if n > 1 => return Err(RouteError::new(409, "ambiguous browser tab reference")),
            _ => {}
        }
    }
    let mut msg = format!(
        "tab not found: browser tab {} not found.",
        Value::String(reference.to_string())
    );
    if !reference.is_empty() && reference.chars().all(|c| c.is_ascii_digit()) {
        msg.push_str(" Numeric values are not tab targets; use a stable tab id like \"t1\", a label, or a raw targetId. For positional selection, use \"openclaw browser tab select 2\".");
    } else {
        msg.push_str(" Use action=tabs and pass suggestedTargetId, tabId, label, or raw targetId.");
    }
    Err(RouteError::new(404, msg))
}

/// The sticky tab if it still exists, else the most recent page tab, else a new `about:blank`.
pub(super) async fn sticky_or_default(
    profile: &Profile,
    b: &Browser,
) -> Result<String, RouteError> {
    let targets = list_page_targets(b).await?;
    let ids: Vec<String> = targets
        .iter()
        .filter_map(|t| {
            t.get("targetId")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect();
    let sticky = lock(&profile.meta).sticky.clone();
    if let Some(s) = sticky.filter(|s| ids.contains(s)) {
        return Ok(s);
    }
    let newest = {
        let meta = lock(&profile.meta);
        ids.iter()
            .max_by_key(|id| meta.alias.get(*id).copied().unwrap_or(0))
            .cloned()
    };
    if let Some(id) = newest {
        return Ok(id);
    }
    let created = b
        .cdp
        .call(
            "Target.createTarget",
            json!({"url": "about:blank"}),
            None,
            CDP_TIMEOUT,
        )
        .await?;
    let id = created
        .get("targetId")
        .and_then(Value::as_str)
        .ok_or_else(|| RouteError::new(500, "Error: Target.createTarget returned no targetId"))?
        .to_string();
    assign_alias(&mut lock(&profile.meta), &id);
    Ok(id)
}

pub(super) async fn attach(b: &Browser, target_id: &str) -> Result<Arc<Tab>, RouteError> {
    if let Some(t) = lock(&b.sessions).by_target.get(target_id).cloned() {
        return Ok(t);
    }
    let _g = b.attach.lock().await;
    if let Some(t) = lock(&b.sessions).by_target.get(target_id).cloned() {
        return Ok(t);
    }
    let r = b
        .cdp
        .call(
            "Target.attachToTarget",
            json!({"targetId": target_id, "flatten": true}),
            None,
            CDP_TIMEOUT,
        )
        .await
        .map_err(|e| match e {
            CdpError::Protocol { .. } => RouteError::new(
                404,
                format!("tab not found: browser tab \"{target_id}\" not found. Use action=tabs and pass suggestedTargetId, tabId, label, or raw targetId."),
            ),
            other => cdp_err(other),
        })?;
    let session_id = r
        .get("sessionId")
        .and_then(Value::as_str)
        .ok_or_else(|| RouteError::new(500, "Error: Target.attachToTarget returned no sessionId"))?
        .to_string();
    let tab = Arc::new(Tab {
        target_id: target_id.to_string(),
        session_id: session_id.clone(),
        refs: Mutex::new(RefTable::default()),
        console: Mutex::new(VecDeque::new()),
        errors: Mutex::new(VecDeque::new()),
        dialogs: Mutex::new(Dialogs::default()),
    });
    {
        let mut s = lock(&b.sessions);
        s.by_target.insert(target_id.to_string(), tab.clone());
        s.by_session.insert(session_id.clone(), tab.clone());
    }
    for m in ["Page.enable", "Runtime.enable", "DOM.enable"] {
        b.cdp
            .call(m, json!({}), Some(&session_id), CDP_TIMEOUT)
            .await?;
    }
    Ok(tab)
}

pub(super) async fn activate(b: &Browser, target_id: &str) -> Result<(), RouteError> {
    b.cdp
        .call(
            "Target.activateTarget",
            json!({"targetId": target_id}),
            None,
            CDP_TIMEOUT,
        )
        .await?;
    let tab = lock(&b.sessions).by_target.get(target_id).cloned();
    if let Some(tab) = tab {
        let _ = b
            .cdp
            .call(
                "Page.bringToFront",
                json!({}),
                Some(&tab.session_id),
                CDP_TIMEOUT,
            )
            .await;
    }
    *lock(&b.active) = Some(target_id.to_string());
    Ok(())
}

pub(super) async fn close_target(
    profile: &Profile,
    b: &Browser,
    target_id: &str,
) -> Result<(), RouteError> {
    let mut events = b.cdp.subscribe();
    b.cdp
        .call(
            "Target.closeTarget",
            json!({"targetId": target_id}),
            None,
            CDP_TIMEOUT,
        )
        .await?;
    // `Target.closeTarget` returns before the target is gone; wait for it so the next
    // listing no longer shows it.
    let gone = async {
        loop {
            match events.recv().await {
                Ok(ev)
                    if ev.method == "Target.targetDestroyed"
                        && ev.params.get("targetId").and_then(Value::as_str) == Some(target_id) =>
                {
                    break;
                }
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => break,
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), gone).await;
    {
        let mut s = lock(&b.sessions);
        if let Some(tab) = s.by_target.remove(target_id) {
            s.by_session.remove(&tab.session_id);
        }
    }
    let mut meta = lock(&profile.meta);
    if meta.sticky.as_deref() == Some(target_id) {
        meta.sticky = None;
    }
    meta.label.remove(target_id);
    Ok(())
}

/// Keep at most 8 page tabs: close the oldest others (best effort).
pub(super) async fn enforce_tab_limit(profile: &Profile, b: &Browser, keep: &str) {
    let Ok(tabs) = list_tabs(profile, b).await else {
        return;
    };
    for t in tabs.iter().skip(MAX_PAGE_TABS) {
        if let Some(id) = t.get("targetId").and_then(Value::as_str)
            && id != keep
        {
            let _ = close_target(profile, b, id).await;
        }
    }
}

pub(super) async fn target_info(b: &Browser, target_id: &str) -> Result<Value, RouteError> {
    let r = b
        .cdp
        .call(
            "Target.getTargetInfo",
            json!({"targetId": target_id}),
            None,
            CDP_TIMEOUT,
        )
        .await?;
    Ok(r.get("targetInfo").cloned().unwrap_or(Value::Null))
}

/// After an action: if the main frame starts navigating within 150 ms, wait (up to 10 s) for
/// the new document's load event.
pub(super) async fn settle_navigation(
    mut rx: tokio::sync::broadcast::Receiver<CdpEvent>,
    session_id: &str,
    main_frame_id: &str,
) {
    let mine = |ev: &CdpEvent| ev.session_id.as_deref() == Some(session_id);
    let started = async {
        loop {
            match rx.recv().await {
                Ok(ev)
                    if mine(&ev)
                        && matches!(
                            ev.method.as_str(),
                            "Page.frameRequestedNavigation" | "Page.frameStartedNavigating"
                        )
                        // Chromium's main frame id is the page's target id; iframe
                        // navigations fire no page load event and are not waited for.
                        && ev.params.get("frameId").and_then(Value::as_str) == Some(main_frame_id) =>
                {
                    return true;
                }
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => return false,
            }
        }
    };
    if !matches!(
        tokio::time::timeout(Duration::from_millis(150), started).await,
        Ok(true)
    ) {
        return;
    }
    let loaded = async {
        loop {
            match rx.recv().await {
                Ok(ev)
                    if mine(&ev)
                        && matches!(
                            ev.method.as_str(),
                            "Page.loadEventFired" | "Page.navigatedWithinDocument"
                        ) =>
                {
                    return;
                }
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => return,
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(10), loaded).await;
}

/// Current URL of a target via a bare client handle.
pub(super) async fn target_info_cdp(cdp: &CdpClient, target_id: &str) -> String {
    cdp.call(
        "Target.getTargetInfo",
        json!({"targetId": target_id}),
        None,
        CDP_TIMEOUT,
    )
    .await
    .ok()
    .and_then(|r| {
        r.get("targetInfo")
            .and_then(|i| i.get("url"))
            .and_then(Value::as_str)
            .map(str::to_string)
    })
    .unwrap_or_default()
}

pub(super) async fn current_url(b: &Browser, target_id: &str) -> String {
    target_info(b, target_id)
        .await
        .ok()
        .and_then(|i| i.get("url").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_default()
}

pub(super) async fn navigate(
    b: &Browser,
    tab: &Tab,
    url: &str,
    timeout: Duration,
    settings: &Settings,
) -> Result<(), RouteError> {
    let mut events = b.cdp.subscribe();
    let r = b
        .cdp
        .call(
            "Page.navigate",
            json!({"url": url}),
            Some(&tab.session_id),
            timeout,
        )
        .await
        .map_err(|e| RouteError::new(500, format!("Error: page.goto: {e}")))?;
    if let Some(err) = r
        .get("errorText")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        return Err(RouteError::new(
            500,
            format!("Error: page.goto: {err} at {url}"),
        ));
    }
    if r.get("loaderId").is_some() {
        let wait = async {
            loop {
                match events.recv().await {
                    Ok(ev)
                        if ev.session_id.as_deref() == Some(tab.session_id.as_str())
                            && ev.method == "Page.loadEventFired" =>
                    {
                        break;
                    }
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(_) => break,
                }
            }
        };
        if tokio::time::timeout(timeout, wait).await.is_err() {
            return Err(RouteError::new(
                500,
                format!(
                    "Error: page.goto: Timeout {}ms exceeded waiting for load of {url}",
                    timeout.as_millis()
                ),
            ));
        }
    }
    // Re-check where we ended up (redirects).
    let final_url = current_url(b, &tab.target_id).await;
    if !final_url.is_empty()
        && final_url != url
        && let Err(e) = check_navigation(&final_url, settings).await
    {
        let _ = b
            .cdp
            .call(
                "Page.navigate",
                json!({"url": "about:blank"}),
                Some(&tab.session_id),
                CDP_TIMEOUT,
            )
            .await;
        return Err(e);
    }
    Ok(())
}
