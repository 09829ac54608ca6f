//! Backend A: a built-in browser control service driving a local Chromium over CDP.
//!
//! Serves the official route shapes (browser-routes §3) for the managed profile(s): `GET /`,
//! `POST /start`, `POST /stop`, `GET /profiles`, `GET /tabs`, `POST /tabs/open`,
//! `POST /tabs/focus`, `DELETE /tabs/:targetId`, `POST /navigate`, `POST /screenshot`,
//! `GET /snapshot` (`format=ai|aria`, `interactive`, `compact`, `depth`, `maxChars`, `limit`),
//! `POST /act` (click, clickCoords, type, insertText, press, hover, scrollIntoView, select,
//! fill, resize, wait, evaluate, close, batch), `GET /console`, `GET /errors`,
//! `POST /hooks/dialog`, `POST /pdf`; anything else is `404 {error:"Not Found"}`. Not
//! implemented here (use the forwarder for them): `labels`/`selector`/`frame` snapshots (501),
//! `drag` (501), downloads, traces, cookies/storage, `/requests`, emulation routes (404).
//!
//! Deliberate fixes of the official host's pitfalls (browser-routes §6):
//! - stale refs fail at once (refs are bound to DOM nodes, see [`super::snapshot`]);
//! - screenshots first activate the tab, so a never-focused background tab does not hang;
//! - closing the sticky tab (via `DELETE /tabs/…` *or* `/act {kind:"close"}`) clears it, and a
//!   missing sticky tab falls back to another tab or a fresh `about:blank`;
//! - console capture starts before a tab opened by `/tabs/open` loads its first page;
//! - an action that opens a JavaScript dialog returns `blockedByDialog` at once instead of
//!   hanging on the blocked page;
//! - the navigation policy is re-checked on the tab's current URL before page routes.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::cdp::{CdpClient, CdpError, CdpEvent};
use super::launcher::{self, BrowserProcess, LaunchSpec};
use super::route::{RouteError, RouteRequest, RouteResponse, Settings, check_navigation};
use super::snapshot::{self, RefTable, SnapshotOptions};

/// Default per-command CDP budget (the adapter's whole-request timeout is the real bound).
const CDP_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_CONSOLE: usize = 500;
const MAX_ERRORS: usize = 200;
const MAX_PAGE_TABS: usize = 8;

type RouteResult = Result<Value, RouteError>;

fn cdp_err(e: CdpError) -> RouteError {
    RouteError::new(500, format!("Error: {e}"))
}

/// The built-in backend (one per node; profiles are created lazily).
#[derive(Debug)]
pub struct Builtin {
    state_dir: PathBuf,
    profiles: Mutex<HashMap<String, Arc<Profile>>>,
}

#[derive(Debug, Default)]
struct TabMeta {
    next_alias: u32,
    alias: HashMap<String, u32>,
    label: HashMap<String, String>,
    sticky: Option<String>,
}

#[derive(Debug)]
struct Profile {
    name: String,
    launch: tokio::sync::Mutex<()>,
    browser: Mutex<Option<Arc<Browser>>>,
    meta: Mutex<TabMeta>,
}

#[derive(Debug)]
struct Tab {
    target_id: String,
    session_id: String,
    refs: Mutex<RefTable>,
    console: Mutex<VecDeque<Value>>,
    errors: Mutex<VecDeque<Value>>,
    dialogs: Mutex<Dialogs>,
}

/// JavaScript dialogs of one tab (`alert`/`confirm`/`prompt` block the page until handled).
#[derive(Debug, Default)]
struct Dialogs {
    next: u32,
    pending: Option<Value>,
    recent: VecDeque<Value>,
    closing_by_agent: bool,
}

impl Dialogs {
    fn state(&self) -> Value {
        json!({"dialogs": {"pending": self.pending.iter().collect::<Vec<_>>(),
            "recent": self.recent.iter().collect::<Vec<_>>()}})
    }
}

fn now_iso() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as f64)
        .unwrap_or(0.0);
    iso_from_epoch_ms(ms)
}

/// Resolves when a JavaScript dialog opens on `session_id` (never, if none does).
async fn dialog_opened(mut rx: tokio::sync::broadcast::Receiver<CdpEvent>, session_id: &str) {
    loop {
        match rx.recv().await {
            Ok(ev)
                if ev.method == "Page.javascriptDialogOpening"
                    && ev.session_id.as_deref() == Some(session_id) =>
            {
                return;
            }
            Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            Err(_) => std::future::pending::<()>().await,
        }
    }
}

#[derive(Debug, Default)]
struct Sessions {
    by_target: HashMap<String, Arc<Tab>>,
    by_session: HashMap<String, Arc<Tab>>,
}

#[derive(Debug)]
struct Browser {
    process: tokio::sync::Mutex<BrowserProcess>,
    cdp: Arc<CdpClient>,
    pid: u32,
    confined: launcher::Confined,
    executable: PathBuf,
    name: String,
    user_data_dir: PathBuf,
    headless: bool,
    sessions: Arc<Mutex<Sessions>>,
    attach: tokio::sync::Mutex<()>,
    events: tokio::task::JoinHandle<()>,
    /// The tab last brought to front. Hidden (background) pages get no frames, and
    /// Chromium then delays mouse-event acks by ~5 s and screenshots can stall, so page
    /// routes bring their tab to front first.
    active: Mutex<Option<String>>,
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.events.abort();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Builtin {
    pub fn new(state_dir: PathBuf) -> Self {
        Self {
            state_dir,
            profiles: Mutex::new(HashMap::new()),
        }
    }

    /// Stop every browser (node shutdown).
    pub async fn shutdown(&self) {
        let all: Vec<Arc<Profile>> = lock(&self.profiles).values().cloned().collect();
        for p in all {
            stop_profile(&p).await;
        }
    }

    fn profile(&self, name: &str) -> Arc<Profile> {
        lock(&self.profiles)
            .entry(name.to_string())
            .or_insert_with(|| {
                Arc::new(Profile {
                    name: name.to_string(),
                    launch: tokio::sync::Mutex::new(()),
                    browser: Mutex::new(None),
                    meta: Mutex::new(TabMeta::default()),
                })
            })
            .clone()
    }

    fn media_dir(&self) -> PathBuf {
        self.state_dir.join("media").join("browser")
    }

    /// Names of the profiles this backend serves.
    fn available_profiles(settings: &Settings) -> Vec<String> {
        let mut names = vec!["openclaw".to_string()];
        for n in settings.profiles.keys() {
            if !names.contains(n) {
                names.push(n.clone());
            }
        }
        names
    }

    /// Serve one route.
    pub async fn dispatch(&self, req: &RouteRequest) -> RouteResponse {
        match self.route(req).await {
            Ok(v) => RouteResponse::ok(v),
            Err(e) => e.into(),
        }
    }

    async fn route(&self, req: &RouteRequest) -> RouteResult {
        let path = req.path.as_str();
        let method = req.method.as_str();
        if path == "/profiles" {
            return match method {
                "GET" => self.profiles_route(req).await,
                _ => Err(RouteError::not_found()),
            };
        }
        // Profile resolution for everything else.
        let available = Self::available_profiles(&req.settings);
        if !available.contains(&req.profile) {
            return Err(RouteError::new(
                404,
                format!(
                    "Profile \"{}\" not found. Available profiles: {}",
                    req.profile,
                    available.join(", ")
                ),
            ));
        }
        if let Some(p) = req.settings.profiles.get(&req.profile)
            && (p.cdp_url.is_some() || p.driver.as_deref().is_some_and(|d| d != "openclaw"))
        {
            return Err(RouteError::new(
                501,
                format!(
                    "profile \"{}\" attaches to an existing browser (cdpUrl/driver), which openclaw-node's built-in backend does not support; set browserProxy.backend = \"forward\" in node-host.json5 to use an OpenClaw browser control server",
                    req.profile
                ),
            ));
        }
        let profile = self.profile(&req.profile);
        match match_route(method, path)? {
            Route::Status => self.status(&profile, req).await,
            Route::Start => self.start(&profile, req).await,
            Route::Stop => {
                let stopped = stop_profile(&profile).await;
                Ok(json!({"ok": true, "stopped": stopped, "profile": profile.name}))
            }
            Route::Tabs => self.tabs_route(&profile).await,
            Route::OpenTab => self.open_route(&profile, req).await,
            Route::FocusTab => self.focus_route(&profile, req).await,
            Route::Navigate => self.navigate_route(&profile, req).await,
            Route::Screenshot => self.screenshot_route(&profile, req).await,
            Route::Snapshot => self.snapshot_route(&profile, req).await,
            Route::Act => self.act_route(&profile, req).await,
            Route::Console => self.console_route(&profile, req).await,
            Route::Errors => self.errors_route(&profile, req).await,
            Route::Dialog => self.dialog_route(&profile, req).await,
            Route::Pdf => self.pdf_route(&profile, req).await,
            Route::CloseTab(id) => self.close_route(&profile, req, &id).await,
        }
    }

    // ---- status / lifecycle -------------------------------------------------------------

    async fn status(&self, profile: &Arc<Profile>, req: &RouteRequest) -> RouteResult {
        let settings = &req.settings;
        let detected = launcher::detect(settings.executable_path.as_deref());
        let browser = running_browser(profile);
        let running = browser.is_some();
        // No HTTP endpoint exists: CDP runs over the browser's pipe, so there is no port
        // (`cdpPort`/`cdpUrl` are null, as the official host reports for a profile without one).
        let cdp_http = false;
        let (headless, headless_source) = headless_for(settings, None);
        // Before a launch: what it will try (the launch may fall back, see `launcher`).
        let predicted = launcher::Confined {
            uid: if launcher::running_as_root() {
                launcher::BROWSER_UID
            } else {
                nix::unistd::geteuid().as_raw()
            },
            own_sandbox: settings.no_sandbox != Some(true),
            mount_namespace: launcher::running_as_root(),
        };
        let confined = browser.as_ref().map(|b| b.confined).unwrap_or(predicted);
        let mut sandbox = confined.status();
        sandbox["source"] = json!(if browser.is_some() {
            "running"
        } else if settings.no_sandbox.is_some() {
            "config"
        } else {
            "default"
        });
        Ok(json!({
            "enabled": settings.browser_enabled,
            "profile": profile.name,
            "driver": "openclaw",
            "transport": "cdp",
            "running": running,
            "cdpReady": running,
            "cdpHttp": cdp_http,
            "pageReady": running,
            "pid": browser.as_ref().map(|b| b.pid),
            "cdpPort": Value::Null,
            "cdpUrl": Value::Null,
            "chosenBrowser": browser.as_ref().map(|b| b.name.clone()),
            "detectedBrowser": detected.as_ref().ok().map(|d| d.name.clone()),
            "detectedExecutablePath": detected.as_ref().ok().map(|d| d.path.display().to_string()),
            "detectError": detected.as_ref().err().map(|e| e.to_string()),
            "userDataDir": browser.as_ref().map(|b| b.user_data_dir.display().to_string()),
            "color": settings.profiles.get(&profile.name).and_then(|p| p.color.clone()).unwrap_or_else(|| settings.color.clone()),
            "headless": browser.as_ref().map(|b| b.headless).unwrap_or(headless),
            "headlessSource": headless_source,
            "noSandbox": !confined.own_sandbox,
            "sandbox": sandbox,
            "executablePath": settings.executable_path,
            "attachOnly": false,
            "graphics": Value::Null,
        }))
    }

    async fn start(&self, profile: &Arc<Profile>, req: &RouteRequest) -> RouteResult {
        let override_headless = match req.query_str("headless") {
            None => None,
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => {
                    return Err(RouteError::new(
                        400,
                        "Invalid headless value. Use \"true\" or \"false\".",
                    ));
                }
            },
        };
        self.ensure_browser(profile, &req.settings, override_headless)
            .await?;
        Ok(json!({"ok": true, "profile": profile.name}))
    }

    async fn ensure_browser(
        &self,
        profile: &Arc<Profile>,
        settings: &Settings,
        override_headless: Option<bool>,
    ) -> Result<Arc<Browser>, RouteError> {
        if let Some(b) = running_browser(profile) {
            return Ok(b);
        }
        let _guard = profile.launch.lock().await;
        if let Some(b) = running_browser(profile) {
            return Ok(b);
        }
        // A dead browser (crashed or killed): clean it up before relaunching.
        let dead = lock(&profile.browser).take();
        if let Some(b) = dead {
            b.process
                .lock()
                .await
                .terminate(Duration::from_millis(200))
                .await;
            lock(&profile.meta).sticky = None;
        }
        if !settings.browser_enabled {
            return Err(RouteError::new(
                409,
                "browser control is disabled (browser.enabled=false in openclaw.json)",
            ));
        }
        let detected = launcher::detect(settings.executable_path.as_deref())
            .map_err(|e| RouteError::new(500, format!("Error: {e}")))?;
        let (headless, _) = headless_for(settings, override_headless);
        if !headless && !has_display() {
            return Err(RouteError {
                status: 400,
                body: json!({
                    "error": format!("profile \"{}\" is configured headed (browser.headless=false) but no display is available (DISPLAY/WAYLAND_DISPLAY unset); set browser.headless=true or start with ?headless=true", profile.name),
                    "reason": "no_display_for_headed_profile",
                    "details": {"profile": profile.name, "requestedHeadless": false,
                        "headlessSource": if override_headless.is_some() {"request"} else {"config"},
                        "displayPresent": false}
                }),
            });
        }
        let spec = LaunchSpec {
            detected: detected.clone(),
            headless,
            no_sandbox: settings.no_sandbox,
            profile_dir: self.state_dir.join("browser").join(&profile.name),
            startup_timeout: Duration::from_secs(20),
        };
        let user_data_dir = spec.user_data_dir();
        let (mut process, cdp) = BrowserProcess::launch(&spec)
            .await
            .map_err(|e| RouteError::new(500, format!("Error: {e}")))?;
        if let Some(note) = process.confined.status()["note"].as_str() {
            tracing::warn!("{note}");
        }
        let sessions = Arc::new(Mutex::new(Sessions::default()));
        let events = spawn_event_task(cdp.subscribe(), sessions.clone());
        // Target lifecycle events (targetDestroyed) keep the session map and closes exact.
        if let Err(e) = cdp
            .call(
                "Target.setDiscoverTargets",
                json!({"discover": true}),
                None,
                CDP_TIMEOUT,
            )
            .await
        {
            events.abort();
            process.terminate(Duration::from_millis(500)).await;
            return Err(cdp_err(e));
        }
        let browser = Arc::new(Browser {
            pid: process.pid,
            confined: process.confined,
            process: tokio::sync::Mutex::new(process),
            cdp,
            executable: detected.path.clone(),
            name: detected.name.clone(),
            user_data_dir,
            headless,
            sessions,
            attach: tokio::sync::Mutex::new(()),
            events,
            active: Mutex::new(None),
        });
        tracing::info!(
            profile = %profile.name,
            pid = browser.pid,
            uid = browser.confined.uid,
            own_sandbox = browser.confined.own_sandbox,
            mount_namespace = browser.confined.mount_namespace,
            exe = %browser.executable.display(),
            headless,
            "browser started (CDP over a pipe)"
        );
        // Tabs Chromium opened at startup get the first aliases (t1 = the initial blank tab).
        if let Ok(initial) = list_page_targets(&browser).await {
            let mut meta = lock(&profile.meta);
            for t in &initial {
                if let Some(id) = t.get("targetId").and_then(Value::as_str) {
                    assign_alias(&mut meta, id);
                }
            }
        }
        *lock(&profile.browser) = Some(browser.clone());
        Ok(browser)
    }

    async fn profiles_route(&self, req: &RouteRequest) -> RouteResult {
        let mut out = Vec::new();
        for name in Self::available_profiles(&req.settings) {
            let p = self.profile(&name);
            let b = running_browser(&p);
            let tab_count = match &b {
                Some(b) => list_page_targets(b).await.map(|t| t.len()).unwrap_or(0),
                None => 0,
            };
            let cfg = req
                .settings
                .profiles
                .get(&name)
                .cloned()
                .unwrap_or_default();
            out.push(json!({
                "name": name, "transport": "cdp", "cdpPort": Value::Null,
                "cdpUrl": Value::Null,
                "color": cfg.color.unwrap_or_else(|| req.settings.color.clone()),
                "driver": "openclaw", "running": b.is_some(), "tabCount": tab_count,
                "isDefault": name == req.settings.default_profile, "isRemote": false,
                "reconcileReason": Value::Null,
            }));
        }
        Ok(json!({"profiles": out}))
    }

    // ---- tabs -----------------------------------------------------------------------------

    async fn tabs_route(&self, profile: &Arc<Profile>) -> RouteResult {
        let Some(b) = running_browser(profile) else {
            return Ok(json!({"running": false, "tabs": []}));
        };
        match list_tabs(profile, &b).await {
            Ok(tabs) => Ok(json!({"running": true, "tabs": tabs})),
            // The browser died between the check and the call.
            Err(_) if b.cdp.is_closed() => Ok(json!({"running": false, "tabs": []})),
            Err(e) => Err(e),
        }
    }

    async fn open_route(&self, profile: &Arc<Profile>, req: &RouteRequest) -> RouteResult {
        let url = req
            .body_str("url")
            .ok_or_else(|| RouteError::new(400, "url is required"))?
            .to_string();
        let label = req.body_str("label").map(str::to_string);
        if let Some(l) = &label {
            let valid = l.len() <= 64
                && l.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.:-".contains(c));
            if !valid {
                return Err(RouteError::new(
                    400,
                    "label must match [A-Za-z0-9_.:-]{1,64}",
                ));
            }
            if lock(&profile.meta).label.values().any(|v| v == l) {
                return Err(RouteError::new(
                    409,
                    format!("tab label \"{l}\" is already in use"),
                ));
            }
        }
        check_navigation(&url, &req.settings).await?;
        let b = self.ensure_browser(profile, &req.settings, None).await?;
        let created = b
            .cdp
            .call(
                "Target.createTarget",
                json!({"url": "about:blank", "background": true}),
                None,
                CDP_TIMEOUT,
            )
            .await
            .map_err(cdp_err)?;
        let target_id = created
            .get("targetId")
            .and_then(Value::as_str)
            .ok_or_else(|| RouteError::new(500, "Error: Target.createTarget returned no targetId"))?
            .to_string();
        {
            let mut meta = lock(&profile.meta);
            assign_alias(&mut meta, &target_id);
            if let Some(l) = &label {
                meta.label.insert(target_id.clone(), l.clone());
            }
            meta.sticky = Some(target_id.clone());
        }
        let tab = attach(&b, &target_id).await?;
        if url != "about:blank" {
            navigate(&b, &tab, &url, Duration::from_secs(20), &req.settings).await?;
        }
        enforce_tab_limit(profile, &b, &target_id).await;
        let info = target_info(&b, &target_id).await.unwrap_or(Value::Null);
        let mut entry = tab_json(profile, &target_id, &info);
        entry["title"] = json!("");
        entry["resolvedProfile"] = json!(profile.name);
        Ok(entry)
    }

    async fn focus_route(&self, profile: &Arc<Profile>, req: &RouteRequest) -> RouteResult {
        let reference = req
            .body_str("targetId")
            .ok_or_else(|| RouteError::new(400, "targetId is required"))?
            .to_string();
        let Some(b) = running_browser(profile) else {
            return Err(RouteError::new(409, "browser not running"));
        };
        let target_id = resolve_reference(profile, &b, &reference, false).await?;
        activate(&b, &target_id).await?;
        lock(&profile.meta).sticky = Some(target_id.clone());
        Ok(json!({"ok": true, "targetId": target_id}))
    }

    async fn close_route(
        &self,
        profile: &Arc<Profile>,
        req: &RouteRequest,
        reference: &str,
    ) -> RouteResult {
        let raw_only = match req.query_str("targetIdMode") {
            None => false,
            Some("raw") => true,
            Some(_) => return Err(RouteError::new(400, "targetIdMode must be \"raw\"")),
        };
        let Some(b) = running_browser(profile) else {
            return Err(RouteError::new(409, "browser not running"));
        };
        let target_id = resolve_reference(profile, &b, reference, raw_only).await?;
        close_target(profile, &b, &target_id).await?;
        Ok(json!({"ok": true, "targetId": target_id}))
    }

    // ---- page routes ----------------------------------------------------------------------

    /// Resolve the tab a page route works on (explicit reference or sticky), launching the
    /// browser when needed, and attach to it.
    async fn page(
        &self,
        profile: &Arc<Profile>,
        req: &RouteRequest,
        reference: Option<String>,
    ) -> Result<(Arc<Browser>, Arc<Tab>), RouteError> {
        let mut b = self.ensure_browser(profile, &req.settings, None).await?;
        let mut attempt = 0;
        let target_id = loop {
            let resolved = match &reference {
                Some(r) => resolve_reference(profile, &b, r, false).await,
                None => sticky_or_default(profile, &b).await,
            };
            match resolved {
                Ok(id) => break id,
                // The browser died under us (crash, OOM kill): relaunch once.
                Err(_) if attempt == 0 && b.cdp.is_closed() => {
                    attempt += 1;
                    b = self.ensure_browser(profile, &req.settings, None).await?;
                }
                Err(e) => return Err(e),
            }
        };
        lock(&profile.meta).sticky = Some(target_id.clone());
        // The navigation policy also holds for where the tab is now (a click or a page
        // script may have navigated it somewhere the policy forbids).
        let now = current_url(&b, &target_id).await;
        if now.starts_with("http://") || now.starts_with("https://") {
            check_navigation(&now, &req.settings).await?;
        }
        let tab = attach(&b, &target_id).await?;
        let is_active = lock(&b.active).as_deref() == Some(target_id.as_str());
        if !is_active {
            activate(&b, &target_id).await?;
        }
        Ok((b, tab))
    }

    fn target_ref(req: &RouteRequest) -> Option<String> {
        req.body_str("targetId")
            .or_else(|| req.query_str("targetId"))
            .map(str::to_string)
    }

    async fn navigate_route(&self, profile: &Arc<Profile>, req: &RouteRequest) -> RouteResult {
        let url = req
            .body_str("url")
            .ok_or_else(|| RouteError::new(400, "url is required"))?
            .to_string();
        check_navigation(&url, &req.settings).await?;
        let timeout = clamp_ms(req.body_field("timeoutMs"), 20_000, 1_000, 120_000);
        let (b, tab) = self.page(profile, req, Self::target_ref(req)).await?;
        navigate(&b, &tab, &url, timeout, &req.settings).await?;
        let url_now = current_url(&b, &tab.target_id).await;
        Ok(json!({"ok": true, "url": url_now, "targetId": tab.target_id}))
    }

    async fn screenshot_route(&self, profile: &Arc<Profile>, req: &RouteRequest) -> RouteResult {
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
                .await
                .map_err(cdp_err)?;
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

    async fn pdf_route(&self, profile: &Arc<Profile>, req: &RouteRequest) -> RouteResult {
        let (b, tab) = self.page(profile, req, Self::target_ref(req)).await?;
        let pdf = b
            .cdp
            .call(
                "Page.printToPDF",
                json!({"printBackground": true}),
                Some(&tab.session_id),
                Duration::from_secs(60),
            )
            .await
            .map_err(cdp_err)?;
        let path = self.save_base64(&pdf, "pdf")?;
        let url = current_url(&b, &tab.target_id).await;
        Ok(json!({"ok": true, "path": path, "targetId": tab.target_id, "url": url}))
    }

    fn save_base64(&self, result: &Value, ext: &str) -> Result<String, RouteError> {
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

    async fn snapshot_route(&self, profile: &Arc<Profile>, req: &RouteRequest) -> RouteResult {
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
            .await
            .map_err(cdp_err)?;
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

    async fn dialog_route(&self, profile: &Arc<Profile>, req: &RouteRequest) -> RouteResult {
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
            .await
            .map_err(cdp_err)?;
        Ok(json!({"ok": true}))
    }

    async fn console_route(&self, profile: &Arc<Profile>, req: &RouteRequest) -> RouteResult {
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

    async fn errors_route(&self, profile: &Arc<Profile>, req: &RouteRequest) -> RouteResult {
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

    async fn act_route(&self, profile: &Arc<Profile>, req: &RouteRequest) -> RouteResult {
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
    async fn perform_act(
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
                    .await
                    .map_err(cdp_err)?;
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
                    .await
                    .map_err(cdp_err)?;
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
                    .await
                    .map_err(cdp_err)?;
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

    async fn target_node(
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

    async fn wait(&self, b: &Browser, tab: &Tab, req: &RouteRequest) -> Result<(), RouteError> {
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

// ---- helpers ----------------------------------------------------------------------------------

fn running_browser(profile: &Profile) -> Option<Arc<Browser>> {
    let guard = lock(&profile.browser);
    let b = guard.as_ref()?;
    if b.cdp.is_closed() {
        return None;
    }
    Some(b.clone())
}

/// Stop a profile's browser; `true` when one was running.
async fn stop_profile(profile: &Profile) -> bool {
    let _guard = profile.launch.lock().await;
    let Some(b) = lock(&profile.browser).take() else {
        return false;
    };
    let _ = b
        .cdp
        .call(
            "Browser.close",
            json!({}),
            None,
            Duration::from_millis(1500),
        )
        .await;
    b.process
        .lock()
        .await
        .terminate(Duration::from_secs(2))
        .await;
    let mut meta = lock(&profile.meta);
    meta.sticky = None;
    meta.label.clear();
    meta.alias.clear();
    true
}

fn has_display() -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|k| std::env::var_os(k).is_some_and(|v| !v.is_empty()))
}

fn headless_for(settings: &Settings, request: Option<bool>) -> (bool, &'static str) {
    if let Some(h) = request {
        return (h, "request");
    }
    if let Some(h) = settings.headless {
        return (h, "config");
    }
    if has_display() {
        (false, "default")
    } else {
        (true, "linux-display-fallback")
    }
}

fn clamp_ms(v: Option<&Value>, default: u64, min: u64, max: u64) -> Duration {
    let ms = v
        .and_then(Value::as_f64)
        .filter(|f| f.is_finite())
        .map(|f| f as u64)
        .unwrap_or(default);
    Duration::from_millis(ms.clamp(min, max))
}

fn level_rank(level: &str) -> u8 {
    match level {
        "debug" | "verbose" => 0,
        "warn" | "warning" => 2,
        "error" | "assert" => 3,
        _ => 1,
    }
}

fn glob_to_regex(glob: &str) -> String {
    let mut re = String::from("^");
    let mut chars = glob.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                re.push_str(".*");
            }
            '*' => re.push_str("[^/]*"),
            c if "\\^$.|?+()[]{}".contains(c) => {
                re.push('\\');
                re.push(c);
            }
            c => re.push(c),
        }
    }
    re.push('$');
    re
}

/// How long shipped screenshots/PDFs stay in `<state>/media/browser` (the official host never
/// removes them, browser-routes §6 item 11; the gateway keeps its own copy).
const MEDIA_RETENTION: Duration = Duration::from_secs(24 * 3600);

/// Delete our own media files (`<uuid>.png|jpg|pdf`) older than [`MEDIA_RETENTION`].
fn prune_media(dir: &Path) {
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

fn write_private(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
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

/// ISO-8601 UTC (`2026-11-24T23:01:10.645Z`) from epoch milliseconds (negative clamps to 0).
pub fn iso_from_epoch_ms(ms: f64) -> String {
    let ms = if ms.is_finite() {
        ms.max(0.0) as u64
    } else {
        0
    };
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
    humantime::format_rfc3339_millis(t).to_string()
}

fn spawn_event_task(
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

fn handle_event(sessions: &Mutex<Sessions>, ev: CdpEvent) {
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

fn is_listed_url(url: &str) -> bool {
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
async fn list_page_targets(b: &Browser) -> Result<Vec<Value>, RouteError> {
    let r = b
        .cdp
        .call("Target.getTargets", json!({}), None, CDP_TIMEOUT)
        .await
        .map_err(cdp_err)?;
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

fn assign_alias(meta: &mut TabMeta, target_id: &str) -> u32 {
    if let Some(n) = meta.alias.get(target_id) {
        return *n;
    }
    meta.next_alias += 1;
    let n = meta.next_alias;
    meta.alias.insert(target_id.to_string(), n);
    n
}

fn tab_json(profile: &Profile, target_id: &str, info: &Value) -> Value {
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
async fn list_tabs(profile: &Profile, b: &Browser) -> Result<Vec<Value>, RouteError> {
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

async fn resolve_reference(
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
async fn sticky_or_default(profile: &Profile, b: &Browser) -> Result<String, RouteError> {
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
        .await
        .map_err(cdp_err)?;
    let id = created
        .get("targetId")
        .and_then(Value::as_str)
        .ok_or_else(|| RouteError::new(500, "Error: Target.createTarget returned no targetId"))?
        .to_string();
    assign_alias(&mut lock(&profile.meta), &id);
    Ok(id)
}

async fn attach(b: &Browser, target_id: &str) -> Result<Arc<Tab>, RouteError> {
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
            .await
            .map_err(cdp_err)?;
    }
    Ok(tab)
}

async fn activate(b: &Browser, target_id: &str) -> Result<(), RouteError> {
    b.cdp
        .call(
            "Target.activateTarget",
            json!({"targetId": target_id}),
            None,
            CDP_TIMEOUT,
        )
        .await
        .map_err(cdp_err)?;
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

async fn close_target(profile: &Profile, b: &Browser, target_id: &str) -> Result<(), RouteError> {
    let mut events = b.cdp.subscribe();
    b.cdp
        .call(
            "Target.closeTarget",
            json!({"targetId": target_id}),
            None,
            CDP_TIMEOUT,
        )
        .await
        .map_err(cdp_err)?;
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
async fn enforce_tab_limit(profile: &Profile, b: &Browser, keep: &str) {
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

async fn target_info(b: &Browser, target_id: &str) -> Result<Value, RouteError> {
    let r = b
        .cdp
        .call(
            "Target.getTargetInfo",
            json!({"targetId": target_id}),
            None,
            CDP_TIMEOUT,
        )
        .await
        .map_err(cdp_err)?;
    Ok(r.get("targetInfo").cloned().unwrap_or(Value::Null))
}

/// After an action: if the main frame starts navigating within 150 ms, wait (up to 10 s) for
/// the new document's load event.
async fn settle_navigation(
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
async fn target_info_cdp(cdp: &CdpClient, target_id: &str) -> String {
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

async fn current_url(b: &Browser, target_id: &str) -> String {
    target_info(b, target_id)
        .await
        .ok()
        .and_then(|i| i.get("url").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_default()
}

async fn navigate(
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

fn resolve_ref(tab: &Tab, raw: &str) -> Result<i64, RouteError> {
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

fn not_visible(label: &str) -> RouteError {
    RouteError::new(
        500,
        format!(
            "Element \"{label}\" not found or not visible. Run a new snapshot to see current page elements."
        ),
    )
}

async fn query_selector(b: &Browser, tab: &Tab, selector: &str) -> Result<i64, RouteError> {
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
        .await
        .map_err(cdp_err)?;
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
        .await
        .map_err(cdp_err)?;
    d.get("node")
        .and_then(|n| n.get("backendNodeId"))
        .and_then(Value::as_i64)
        .ok_or_else(|| not_visible(selector))
}

/// Center of the element in viewport CSS pixels (scrolled into view first). Fails at once when
/// the node is gone or has no box.
async fn element_center(
    b: &Browser,
    tab: &Tab,
    node: i64,
    label: &str,
) -> Result<(f64, f64), RouteError> {
    let sid = Some(tab.session_id.as_str());
    b.cdp
        .call(
            "DOM.scrollIntoViewIfNeeded",
            json!({"backendNodeId": node}),
            sid,
            CDP_TIMEOUT,
        )
        .await
        .map_err(|_| not_visible(label))?;
    let q = b
        .cdp
        .call(
            "DOM.getContentQuads",
            json!({"backendNodeId": node}),
            sid,
            CDP_TIMEOUT,
        )
        .await
        .map_err(|_| not_visible(label))?;
    let quad: Vec<f64> = q
        .get("quads")
        .and_then(|q| q.get(0))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    if quad.len() != 8 {
        return Err(not_visible(label));
    }
    let x = (quad[0] + quad[2] + quad[4] + quad[6]) / 4.0;
    let y = (quad[1] + quad[3] + quad[5] + quad[7]) / 4.0;
    Ok((x, y))
}

async fn element_clip(b: &Browser, tab: &Tab, node: i64, label: &str) -> Result<Value, RouteError> {
    element_center(b, tab, node, label).await?;
    let sid = Some(tab.session_id.as_str());
    let q = b
        .cdp
        .call(
            "DOM.getBoxModel",
            json!({"backendNodeId": node}),
            sid,
            CDP_TIMEOUT,
        )
        .await
        .map_err(|_| not_visible(label))?;
    let border: Vec<f64> = q
        .get("model")
        .and_then(|m| m.get("border"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    if border.len() != 8 {
        return Err(not_visible(label));
    }
    let m = b
        .cdp
        .call("Page.getLayoutMetrics", json!({}), sid, CDP_TIMEOUT)
        .await
        .map_err(cdp_err)?;
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

async fn mouse_move(b: &Browser, tab: &Tab, x: f64, y: f64) -> Result<(), RouteError> {
    b.cdp
        .call(
            "Input.dispatchMouseEvent",
            json!({"type": "mouseMoved", "x": x, "y": y}),
            Some(&tab.session_id),
            CDP_TIMEOUT,
        )
        .await
        .map_err(cdp_err)?;
    Ok(())
}

async fn mouse_click(
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
                .await
                .map_err(cdp_err)?;
        }
    }
    Ok(())
}

/// `(key, code, windowsVirtualKeyCode, text)` for a key name.
fn key_def(name: &str) -> Option<(String, String, i64, Option<String>)> {
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

async fn press_key(b: &Browser, tab: &Tab, chord: &str) -> Result<(), RouteError> {
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
            .await
            .map_err(cdp_err)?;
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
            .await
            .map_err(cdp_err)?;
    }
    Ok(())
}

fn exception_text(r: &Value) -> Option<String> {
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

async fn evaluate(b: &Browser, tab: &Tab, f: &str, timeout: Duration) -> Result<Value, RouteError> {
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
        .await
        .map_err(cdp_err)?;
    if let Some(t) = exception_text(&r) {
        return Err(RouteError::new(500, format!("Error: page.evaluate: {t}")));
    }
    Ok(r.get("result")
        .and_then(|v| v.get("value"))
        .cloned()
        .unwrap_or(Value::Null))
}

async fn call_on_node(
    b: &Browser,
    tab: &Tab,
    node: i64,
    decl: &str,
    args: Value,
) -> Result<Value, RouteError> {
    call_on_node_timeout(b, tab, node, decl, args, CDP_TIMEOUT).await
}

async fn call_on_node_timeout(
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
        .await
        .map_err(cdp_err)?;
    if let Some(t) = exception_text(&r) {
        return Err(RouteError::new(500, format!("Error: page.evaluate: {t}")));
    }
    Ok(r.get("result")
        .and_then(|v| v.get("value"))
        .cloned()
        .unwrap_or(Value::Null))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_timestamps() {
        assert_eq!(iso_from_epoch_ms(0.0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            iso_from_epoch_ms(1_795_561_123_680.0),
            "2026-11-24T22:58:43.680Z"
        );
    }

    #[test]
    fn media_pruning_removes_only_our_old_files() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join(format!("{}.png", uuid::Uuid::new_v4()));
        let fresh = dir.path().join(format!("{}.pdf", uuid::Uuid::new_v4()));
        let foreign = dir.path().join("notes.png");
        for p in [&old, &fresh, &foreign] {
            std::fs::write(p, b"x").unwrap();
        }
        let past = std::time::SystemTime::now() - MEDIA_RETENTION - Duration::from_secs(60);
        for p in [&old, &foreign] {
            std::fs::File::options()
                .write(true)
                .open(p)
                .unwrap()
                .set_modified(past)
                .unwrap();
        }
        prune_media(dir.path());
        assert!(!old.exists());
        assert!(fresh.exists());
        assert!(foreign.exists(), "files we did not write are left alone");
    }

    #[test]
    fn url_glob() {
        assert_eq!(glob_to_regex("**/page2.html"), "^.*/page2\\.html$");
        assert_eq!(glob_to_regex("http://a/*"), "^http://a/[^/]*$");
    }

    #[test]
    fn key_definitions() {
        assert_eq!(key_def("Enter").map(|k| k.2), Some(13));
        assert_eq!(key_def("return").map(|k| k.0), Some("Enter".to_string()));
        assert_eq!(key_def("a").map(|k| k.1), Some("KeyA".to_string()));
        assert!(key_def("NoSuchKey").is_none());
    }
}
