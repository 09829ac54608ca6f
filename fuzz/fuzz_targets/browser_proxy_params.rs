//! Bytes → `paramsJSON` (`commands::decode_params`) → the `browser.proxy` adapter's validation,
//! exactly as `BrowserProxy::handle` runs it minus the I/O: `browser::decode_params` (step 1),
//! `browser::check_route` (steps 2–3), `browser::resolve_call` (steps 4–7), then the built-in
//! backend's route matching (`builtin::match_route`) and `/act` body validation
//! (`builtin::validate_act`). Settings come from a few fixed `openclaw.json` shapes. No browser
//! is started, nothing is dispatched.
//!
//! Invariants: never panics; every error is `INVALID_REQUEST` with an `Error: ` message; an
//! accepted call has method GET/POST/DELETE, a normalised path (leading `/`, no trailing `/`,
//! no scheme), a timeout in `1..=MAX_TIMEOUT_MS`, the effective profile in the query and (with
//! `allowProfiles`) an allowed profile; route errors are 4xx/5xx with a non-empty `error`.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use openclaw_node::browser::builtin::{Route, match_route, validate_act};
use openclaw_node::browser::route::Settings;
use openclaw_node::browser::{MAX_TIMEOUT_MS, check_route, decode_params, resolve_call};
use openclaw_node::browser::BrowserError;
use openclaw_node::commands::InvokeError;
use serde_json::json;

fn settings() -> &'static [Settings] {
    static S: OnceLock<Vec<Settings>> = OnceLock::new();
    S.get_or_init(|| {
        vec![
            Settings::default(),
            Settings::from_json(&json!({
                "nodeHost": {"browserProxy": {"allowProfiles": ["openclaw", "work"]}},
                "browser": {"defaultProfile": "work", "evaluateEnabled": false,
                            "profiles": {"work": {"cdpPort": 18801}, "remote": {"cdpUrl": "http://10.0.0.2:9222"}}}
            })),
        ]
    })
}

fn check_err(e: &BrowserError) {
    let e = &InvokeError::from(e.clone());
    assert_eq!(e.code, "INVALID_REQUEST");
    assert!(
        e.message.starts_with("Error: ") && e.message.len() > 7,
        "{}",
        e.message
    );
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let params = match openclaw_node::commands::decode_params(Some(text), false) {
        Ok(p) => p,
        Err(_) => return,
    };
    let (obj, raw_path) = match decode_params(&params) {
        Ok(x) => x,
        Err(e) => return check_err(&e),
    };
    assert!(!raw_path.is_empty() && raw_path.trim() == raw_path);
    for s in settings() {
        let (method, path) = match check_route(obj, &raw_path, s) {
            Ok(x) => x,
            Err(e) => {
                check_err(&e);
                continue;
            }
        };
        assert!(matches!(method.as_str(), "GET" | "POST" | "DELETE"));
        assert!(path.starts_with('/') && !path.contains("://") && !path.starts_with("//"));
        assert!(path == "/" || !path.ends_with('/'), "{path:?}");
        let call = match resolve_call(obj, method, path, s.clone()) {
            Ok(c) => c,
            Err(e) => {
                check_err(&e);
                continue;
            }
        };
        assert!((1..=MAX_TIMEOUT_MS).contains(&call.timeout_ms));
        let req = &call.req;
        if req.profile.is_empty() {
            assert!(call.is_profiles && call.requested.is_none());
        } else {
            assert_eq!(req.query.get("profile"), Some(&req.profile));
            if !s.allow_profiles.is_empty() {
                assert!(
                    s.allow_profiles.contains(&req.profile),
                    "profile not allowed"
                );
            }
        }
        match match_route(&req.method, &req.path) {
            Ok(Route::Act) => {
                if let Err(e) = validate_act(req, 0) {
                    assert!(e.status >= 400);
                    assert!(e.body["error"].as_str().is_some_and(|m| !m.is_empty()));
                }
            }
            Ok(Route::CloseTab(_)) => assert_eq!(req.method, "DELETE"),
            Ok(_) => {}
            Err(e) => {
                assert!(e.status == 404 || e.status == 400);
                assert!(e.body["error"].as_str().is_some_and(|m| !m.is_empty()));
            }
        }
    }
});
