//! CDP events: the per-browser task that files console messages, page errors, dialogs and
//! target changes under their sessions.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::*;
use crate::browser::cdp::CdpEvent;

pub(super) fn spawn_event_task(
    mut rx: tokio::sync::broadcast::Receiver<CdpEvent>,
    sessions: Arc<Mutex<Sessions>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let ev = match rx.recv().await {
                Ok(ev) => ev,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => break,
            };
            handle_event(&sessions, ev);
        }
    })
}

pub(super) fn handle_event(sessions: &Mutex<Sessions>, ev: CdpEvent) {
    match ev.method.as_str() {
        "Target.detachedFromTarget" => {
            if let Some(sid) = ev.params.get("sessionId").and_then(Value::as_str) {
                let mut s = lock(sessions);
                if let Some(tab) = s.by_session.remove(sid) {
                    s.by_target.remove(&tab.target_id);
                }
            }
            return;
        }
        "Target.targetDestroyed" => {
            if let Some(tid) = ev.params.get("targetId").and_then(Value::as_str) {
                let mut s = lock(sessions);
                if let Some(tab) = s.by_target.remove(tid) {
                    s.by_session.remove(&tab.session_id);
                }
            }
            return;
        }
        _ => {}
    }
    let Some(sid) = ev.session_id.as_deref() else {
        return;
    };
    let Some(tab) = lock(sessions).by_session.get(sid).cloned() else {
        return;
    };
    match ev.method.as_str() {
        "Page.javascriptDialogOpening" => {
            let mut d = lock(&tab.dialogs);
            d.next += 1;
            d.pending = Some(json!({
                "id": format!("d{}", d.next),
                "type": ev.params.get("type").and_then(Value::as_str).unwrap_or("alert"),
                "message": ev.params.get("message").and_then(Value::as_str).unwrap_or(""),
                "openedAt": now_iso(),
            }));
        }
        "Page.javascriptDialogClosed" => {
            let mut d = lock(&tab.dialogs);
            let by_agent = std::mem::take(&mut d.closing_by_agent);
            if let Some(mut p) = d.pending.take() {
                p["closedAt"] = json!(now_iso());
                p["closedBy"] = json!(if by_agent { "agent" } else { "browser" });
                p["accepted"] = ev.params.get("result").cloned().unwrap_or(Value::Null);
                d.recent.push_back(p);
                while d.recent.len() > 10 {
                    d.recent.pop_front();
                }
            }
        }
        "Page.frameNavigated" => {
            let main = ev
                .params
                .get("frame")
                .is_some_and(|f| f.get("parentId").is_none());
            if main {
                lock(&tab.refs).clear();
            }
        }
        "Runtime.consoleAPICalled" => {
            let p = &ev.params;
            let text: Vec<String> = p
                .get("args")
                .and_then(Value::as_array)
                .map(|args| {
                    args.iter()
                        .map(|a| match a.get("value") {
                            Some(Value::String(s)) => s.clone(),
                            Some(v) => v.to_string(),
                            None => a
                                .get("description")
                                .and_then(Value::as_str)
                                .unwrap_or("")
                                .to_string(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let text: String = text.join(" ").chars().take(2048).collect();
            let frame = p
                .get("stackTrace")
                .and_then(|s| s.get("callFrames"))
                .and_then(|f| f.get(0))
                .cloned()
                .unwrap_or(Value::Null);
            let line = frame.get("lineNumber").cloned().unwrap_or(json!(0));
            let col = frame.get("columnNumber").cloned().unwrap_or(json!(0));
            let msg = json!({
                "type": p.get("type").and_then(Value::as_str).unwrap_or("log"),
                "text": text,
                "timestamp": iso_from_epoch_ms(p.get("timestamp").and_then(Value::as_f64).unwrap_or(0.0)),
                "location": {"url": frame.get("url").cloned().unwrap_or(json!("")),
                    "line": line, "column": col, "lineNumber": line, "columnNumber": col},
            });
            let mut c = lock(&tab.console);
            c.push_back(msg);
            while c.len() > MAX_CONSOLE {
                c.pop_front();
            }
        }
        "Runtime.exceptionThrown" => {
            let d = ev
                .params
                .get("exceptionDetails")
                .cloned()
                .unwrap_or(Value::Null);
            let exc = d.get("exception").cloned().unwrap_or(Value::Null);
            let stack = exc
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_else(|| d.get("text").and_then(Value::as_str).unwrap_or(""))
                .to_string();
            let first = stack.lines().next().unwrap_or("").to_string();
            let (name, message) = match first.split_once(": ") {
                Some((n, m)) => (n.to_string(), m.to_string()),
                None => ("Error".to_string(), first),
            };
            let e = json!({"message": message, "name": name, "stack": stack,
                "timestamp": iso_from_epoch_ms(ev.params.get("timestamp").and_then(Value::as_f64).unwrap_or(0.0))});
            let mut errs = lock(&tab.errors);
            errs.push_back(e);
            while errs.len() > MAX_ERRORS {
                errs.pop_front();
            }
        }
        _ => {}
    }
}
