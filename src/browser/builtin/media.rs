//! Media routes: `/screenshot` and `/pdf`, and the `<state>/media/browser` files they ship (private
//! files, pruned after a day).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

use super::*;
use crate::browser::cdp::CdpError;
use crate::browser::route::{RouteError, RouteRequest};

impl Builtin {
    pub(super) async fn screenshot_route(
        &self,
        profile: &Arc<Profile>,
        req: &RouteRequest,
    ) -> RouteResult {
        let full_page = req.body_bool("fullPage");
        let reference = req.body_str("ref").map(str::to_string);
        let element = req.body_str("element").map(str::to_string);
        if full_page && (reference.is_some() || element.is_some()) {
            return Err(RouteError::new(
                400,
                "fullPage is not supported for element screenshots",
            ));
        }
        let jpeg = req.body_str("type") == Some("jpeg");
        let timeout = clamp_ms(req.body_field("timeoutMs"), 20_000, 1, 120_000);
        let (b, tab) = self.page(profile, req, Self::target_ref(req)).await?;
        // Pitfall fix: a never-focused background tab produces no frames; activate it first.
        activate(&b, &tab.target_id).await?;
        let mut params = json!({"format": if jpeg {"jpeg"} else {"png"}});
        if jpeg {
            params["quality"] = json!(85);
        }
        if let Some(r) = &reference {
            let node = resolve_ref(&tab, r)?;
            params["clip"] = element_clip(&b, &tab, node, r).await?;
        } else if let Some(sel) = &element {
            let node = query_selector(&b, &tab, sel).await?;
            params["clip"] = element_clip(&b, &tab, node, sel).await?;
        } else if full_page {
            let m = b
                .cdp
                .call(
                    "Page.getLayoutMetrics",
                    json!({}),
                    Some(&tab.session_id),
                    CDP_TIMEOUT,
                )
                .await?;
            let size = m.get("cssContentSize").cloned().unwrap_or(Value::Null);
            params["clip"] = json!({"x": 0, "y": 0,
                "width": size.get("width").and_then(Value::as_f64).unwrap_or(1280.0),
                "height": size.get("height").and_then(Value::as_f64).unwrap_or(800.0), "scale": 1});
            params["captureBeyondViewport"] = json!(true);
        }
        let shot = b
            .cdp
            .call(
                "Page.captureScreenshot",
                params,
                Some(&tab.session_id),
                timeout,
            )
            .await
            .map_err(|e| match e {
                CdpError::Timeout { ms, .. } => {
                    RouteError::new(500, format!("Error: Screenshot timed out after {ms}ms"))
                }
                other => cdp_err(other),
            })?;
        let path = self.save_base64(&shot, if jpeg { "jpg" } else { "png" })?;
        let url = current_url(&b, &tab.target_id).await;
        Ok(json!({"ok": true, "path": path, "targetId": tab.target_id, "url": url}))
    }

    pub(super) async fn pdf_route(
        &self,
        profile: &Arc<Profile>,
        req: &RouteRequest,
    ) -> RouteResult {
        let (b, tab) = self.page(profile, req, Self::target_ref(req)).await?;
        let pdf = b
            .cdp
            .call(
                "Page.printToPDF",
                json!({"printBackground": true}),
                Some(&tab.session_id),
                Duration::from_secs(60),
            )
            .await?;
        let path = self.save_base64(&pdf, "pdf")?;
        let url = current_url(&b, &tab.target_id).await;
        Ok(json!({"ok": true, "path": path, "targetId": tab.target_id, "url": url}))
    }

    pub(super) fn save_base64(&self, result: &Value, ext: &str) -> Result<String, RouteError> {
        let data = result
            .get("data")
            .and_then(Value::as_str)
            .ok_or_else(|| RouteError::new(500, "Error: the browser returned no data"))?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|e| {
                RouteError::new(500, format!("Error: invalid base64 from browser: {e}"))
            })?;
        let dir = self.media_dir();
        prune_media(&dir);
        let path = dir.join(format!("{}.{ext}", uuid::Uuid::new_v4()));
        write_private(&dir, &path, &bytes).map_err(|e| {
            RouteError::new(500, format!("Error: cannot write {}: {e}", path.display()))
        })?;
        Ok(path.display().to_string())
    }
}

/// How long shipped screenshots/PDFs stay in `<state>/media/browser` (the official host never
/// removes them, browser-routes §6 item 11; the gateway keeps its own copy).
pub(super) const MEDIA_RETENTION: Duration = Duration::from_secs(24 * 3600);

/// Delete our own media files (`<uuid>.png|jpg|pdf`) older than [`MEDIA_RETENTION`].
pub(super) fn prune_media(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let Some((stem, ext)) = name.rsplit_once('.') else {
            continue;
        };
        if !matches!(ext, "png" | "jpg" | "pdf") || uuid::Uuid::parse_str(stem).is_err() {
            continue;
        }
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > MEDIA_RETENTION);
        if old {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

pub(super) fn write_private(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::create_dir_all(dir)?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}
