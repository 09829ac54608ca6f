//! Observation routes: `/snapshot` (aria/ai refs), `/dialog`, `/console`, `/errors`.

use std::sync::Arc;

use serde_json::{Value, json};

use super::*;
use crate::browser::route::{RouteError, RouteRequest};
use crate::browser::snapshot::{self, SnapshotOptions};

impl Builtin {
    pub(super) async fn snapshot_route(
        &self,
        profile: &Arc<Profile>,
        req: &RouteRequest,
    ) -> RouteResult {
        let format = req.query_str("format").unwrap_or("ai");
        if format != "ai" && format != "aria" {
            return Err(RouteError::new(400, "format must be \"ai\" or \"aria\""));
        }
        let efficient = req.query_str("mode") == Some("efficient");
        let labels = req.query_bool("labels");
        if format == "aria" && (labels || efficient) {
            return Err(RouteError::new(
                400,
                "labels/mode=efficient require format=ai",
            ));
        }
        if req.query_str("selector").is_some() || req.query_str("frame").is_some() {
            if req.query_str("refs") == Some("aria") {
                return Err(RouteError::new(
                    500,
                    "Error: refs=aria does not support selector/frame snapshots yet.",
                ));
            }
            return Err(RouteError::new(
                501,
                "selector/frame snapshots are not supported by openclaw-node's built-in browser backend",
            ));
        }
        if labels {
            return Err(RouteError::new(
                501,
                "labels=true is not supported by openclaw-node's built-in browser backend; take a POST /screenshot instead",
            ));
        }
        let (b, tab) = self
            .page(profile, req, req.query_str("targetId").map(str::to_string))
            .await?;
        let dialog_state = {
            let d = lock(&tab.dialogs);
            (d.pending.is_some(), d.state(), !d.recent.is_empty())
        };
        if dialog_state.0 {
            // The page is blocked by a dialog: answer at once instead of hanging.
            let url = current_url(&b, &tab.target_id).await;
            let mut out = json!({"ok": true, "format": format, "targetId": tab.target_id,
                "url": url, "blockedByDialog": true, "browserState": dialog_state.1});
            if format == "aria" {
                out["nodes"] = json!([]);
            } else {
                out["snapshot"] = json!("");
                out["refs"] = json!({});
            }
            return Ok(out);
        }
        let tree = b
            .cdp
            .call(
                "Accessibility.getFullAXTree",
                json!({}),
                Some(&tab.session_id),
                CDP_TIMEOUT,
            )
            .await?;
        let nodes = tree
            .get("nodes")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let url = current_url(&b, &tab.target_id).await;
        if format == "aria" {
            let limit = req
                .query_str("limit")
                .and_then(|l| l.parse::<usize>().ok())
                .unwrap_or(500)
                .clamp(1, 2000);
            let list = snapshot::render_aria(&nodes, limit, &mut lock(&tab.refs));
            return Ok(
                json!({"ok": true, "format": "aria", "targetId": tab.target_id,
                "url": url, "nodes": list}),
            );
        }
        let num = |k: &str| req.query_str(k).and_then(|v| v.parse::<usize>().ok());
        let opts = SnapshotOptions {
            interactive: req.query_bool("interactive") || efficient,
            compact: req.query_bool("compact") || efficient,
            depth: num("depth").or(efficient.then_some(6)),
            max_chars: num("maxChars").unwrap_or(if efficient { 8000 } else { 40_000 }),
        };
        let r = snapshot::render_ai(&nodes, &opts, &mut lock(&tab.refs));
        let text = r.snapshot;
        let mut out = json!({"ok": true, "format": "ai", "targetId": tab.target_id, "url": url,
            "snapshot": text,
            "refs": r.refs,
            "stats": {"lines": r.lines, "chars": text.chars().count(), "refs": r.refs.len(),
                "interactive": r.interactive}});
        if r.truncated {
            out["truncated"] = json!(true);
        }
        if dialog_state.2 {
            out["browserState"] = dialog_state.1;
        }
        Ok(out)
    }

    pub(super) async fn dialog_route(
        &self,
        profile: &Arc<Profile>,
        req: &RouteRequest,
    ) -> RouteResult {
        let accept = match req.body_field("accept") {
            Some(Value::Bool(b)) => *b,
            _ => return Err(RouteError::new(400, "accept is required")),
        };
        let (b, tab) = self.page(profile, req, Self::target_ref(req)).await?;
        if lock(&tab.dialogs).pending.is_none() {
            return Err(RouteError::new(
                409,
                "no JavaScript dialog is open on this tab",
            ));
        }
        lock(&tab.dialogs).closing_by_agent = true;
        let mut params = json!({"accept": accept});
        if let Some(t) = req.body_field("promptText").and_then(Value::as_str) {
            params["promptText"] = json!(t);
        }
        b.cdp
            .call(
                "Page.handleJavaScriptDialog",
                params,
                Some(&tab.session_id),
                CDP_TIMEOUT,
            )
            .await?;
        Ok(json!({"ok": true}))
    }

    pub(super) async fn console_route(
        &self,
        profile: &Arc<Profile>,
        req: &RouteRequest,
    ) -> RouteResult {
        let (b, tab) = self
            .page(profile, req, req.query_str("targetId").map(str::to_string))
            .await?;
        let min = req.query_str("level").map(level_rank).unwrap_or(0);
        let messages: Vec<Value> = lock(&tab.console)
            .iter()
            .filter(|m| level_rank(m["type"].as_str().unwrap_or("log")) >= min)
            .cloned()
            .collect();
        let url = current_url(&b, &tab.target_id).await;
        Ok(json!({"ok": true, "targetId": tab.target_id, "url": url, "messages": messages}))
    }

    pub(super) async fn errors_route(
        &self,
        profile: &Arc<Profile>,
        req: &RouteRequest,
    ) -> RouteResult {
        let (b, tab) = self
            .page(profile, req, req.query_str("targetId").map(str::to_string))
            .await?;
        let errors: Vec<Value> = {
            let mut e = lock(&tab.errors);
            let list = e.iter().cloned().collect();
            if req.query_bool("clear") {
                e.clear();
            }
            list
        };
        let url = current_url(&b, &tab.target_id).await;
        Ok(json!({"ok": true, "targetId": tab.target_id, "url": url, "errors": errors}))
    }

    // ---- act ------------------------------------------------------------------------------
}
