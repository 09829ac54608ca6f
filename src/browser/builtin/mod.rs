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
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use super::cdp::{CdpClient, CdpError, CdpEvent};
use super::launcher::{self, BrowserProcess, LaunchSpec};
use super::route::{RouteError, RouteRequest, RouteResponse, Settings, check_navigation};
use super::snapshot::RefTable;

mod act;
mod events;
mod media;
mod observe;
mod routes;
mod tabs;

use act::*;
use events::*;
pub use routes::{Route, match_route, validate_act};
use tabs::*;

/// Default per-command CDP budget (the adapter's whole-request timeout is the real bound).
const CDP_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_CONSOLE: usize = 500;
const MAX_ERRORS: usize = 200;
const MAX_PAGE_TABS: usize = 8;

type RouteResult = Result<Value, RouteError>;

fn cdp_err(e: CdpError) -> RouteError {
    RouteError::new(500, format!("Error: {e}"))
}

/// A failed CDP call is a 500 with the browser's message: `?` on any CDP call in a route.
impl From<CdpError> for RouteError {
    fn from(e: CdpError) -> Self {
        cdp_err(e)
    }
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
            .await?;
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

#[cfg(test)]
mod tests {
    use super::media::{MEDIA_RETENTION, prune_media};
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
