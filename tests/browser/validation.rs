//! `browser.proxy` adapter validation (browser-routes §1.2) through `BrowserProxy::handle`, with
//! the exact error texts the gateway relays. None of these launch a browser.

use crate::support::browser::*;
use serde_json::json;

#[tokio::test]
async fn missing_or_blank_path_is_refused() {
    let dir = state_dir(&json!({}));
    let p = proxy(dir.path());
    assert_eq!(
        err(&p, json!({"method": "GET"})).await,
        "Error: INVALID_REQUEST: path required"
    );
    assert_eq!(
        err(&p, json!({"method": "GET", "path": "   "})).await,
        "Error: INVALID_REQUEST: path required"
    );
    assert_eq!(
        err(&p, json!({"path": 7})).await,
        "Error: INVALID_REQUEST: path required"
    );
}

#[tokio::test]
async fn upload_envelopes_are_refused_before_anything_else() {
    let dir = state_dir(&json!({"nodeHost": {"browserProxy": {"enabled": false}}}));
    let p = proxy(dir.path());
    assert_eq!(
        err(&p, json!({"method": "POST", "path": "/act", "body": {}, "upload": {"envelope": "browser-upload-v1", "files": []}})).await,
        "Error: INVALID_REQUEST: browser.proxy does not accept upload envelopes"
    );
}

#[tokio::test]
async fn scheme_and_protocol_relative_paths_are_refused() {
    let dir = state_dir(&json!({}));
    let p = proxy(dir.path());
    for path in [
        "http://evil.example/x",
        "//evil.example/tabs",
        "/x/https://y",
    ] {
        let e = err(&p, json!({"method": "GET", "path": path})).await;
        assert!(
            e.starts_with("Error: INVALID_REQUEST: path must be a browser control route"),
            "{path}: {e}"
        );
    }
}

#[tokio::test]
async fn methods_other_than_get_post_delete_are_refused() {
    let dir = state_dir(&json!({}));
    let p = proxy(dir.path());
    assert_eq!(
        err(&p, json!({"method": "PUT", "path": "/"})).await,
        "Error: INVALID_REQUEST: method must be GET, POST, or DELETE"
    );
    // Lower case and surrounding blanks are accepted; a non-string method means GET.
    assert_eq!(
        err(&p, json!({"method": " post ", "path": "/nope"})).await,
        "Error: 404: Not Found"
    );
    let st = ok(&p, json!({"method": 5, "path": "/"})).await;
    assert_eq!(st["result"]["running"], false);
}

#[tokio::test]
async fn persistent_profile_mutations_and_host_local_routes_are_refused() {
    let dir = state_dir(&json!({}));
    let p = proxy(dir.path());
    for (method, path) in [
        ("POST", "/profiles/create"),
        ("POST", "/profiles/import"),
        ("POST", "/profiles/import/"),
        ("POST", "/reset-profile"),
        ("DELETE", "/profiles/user"),
    ] {
        assert_eq!(
            err(
                &p,
                json!({"method": method, "path": path, "body": {"name": "x"}})
            )
            .await,
            "Error: INVALID_REQUEST: browser.proxy cannot mutate persistent browser profiles",
            "{method} {path}"
        );
    }
    for (method, path) in [
        ("GET", "/system-profiles"),
        ("GET", "/system-profile-import/status"),
        ("POST", "/system-profile-import/dismiss"),
    ] {
        assert_eq!(
            err(&p, json!({"method": method, "path": path})).await,
            "Error: INVALID_REQUEST: browser.proxy cannot run host-local browser routes"
        );
    }
}

#[tokio::test]
async fn allow_profiles_refuses_other_profiles_and_filters_the_listing() {
    let dir = state_dir(&json!({"nodeHost": {"browserProxy": {"allowProfiles": [" work ", ""]}}}));
    let p = proxy(dir.path());
    // The default profile (openclaw) is not allowed.
    assert_eq!(
        err(&p, json!({"method": "GET", "path": "/"})).await,
        "Error: INVALID_REQUEST: browser profile not allowed"
    );
    // Lowest priority: query.profile → body.profile → params.profile.
    assert_eq!(
        err(&p, json!({"method": "GET", "path": "/", "query": {"profile": "openclaw"}, "profile": "work"})).await,
        "Error: INVALID_REQUEST: browser profile not allowed"
    );
    // An allowed profile passes the check and reaches the route table.
    assert_eq!(
        err(&p, json!({"method": "GET", "path": "/", "profile": "work"})).await,
        "Error: 404: Profile \"work\" not found. Available profiles: openclaw"
    );
    // /profiles: only an explicitly requested profile is checked; the listing is filtered.
    let listing = ok(&p, json!({"method": "GET", "path": "/profiles"})).await;
    assert_eq!(listing, json!({"result": {"profiles": []}}));
    assert_eq!(
        err(
            &p,
            json!({"method": "GET", "path": "/profiles", "profile": "openclaw"})
        )
        .await,
        "Error: INVALID_REQUEST: browser profile not allowed"
    );

    let dir = state_dir(&json!({"nodeHost": {"browserProxy": {"allowProfiles": ["openclaw"]}}}));
    let p = proxy(dir.path());
    let listing = ok(&p, json!({"method": "GET", "path": "/profiles"})).await;
    let names: Vec<_> = listing["result"]["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, vec!["openclaw"]);
}

#[tokio::test]
async fn disabled_by_config_is_reread_on_every_call() {
    let dir = state_dir(&json!({}));
    let p = proxy(dir.path());
    assert!(p.enabled());
    let write = |v: serde_json::Value| {
        std::fs::write(dir.path().join("openclaw.json"), v.to_string()).unwrap();
    };
    write(json!({"nodeHost": {"browserProxy": {"enabled": false}}}));
    assert!(!p.enabled());
    let e = p
        .handle(json!({"method": "GET", "path": "/"}))
        .await
        .unwrap_err();
    let e = openclaw_node::commands::InvokeError::from(e);
    assert_eq!(e.code, "INVALID_REQUEST");
    assert_eq!(e.message, "Error: UNAVAILABLE: node browser proxy disabled");
    // A missing path is still reported first.
    assert_eq!(
        err(&p, json!({})).await,
        "Error: INVALID_REQUEST: path required"
    );

    write(json!({"browser": {"enabled": false}}));
    assert!(!p.enabled());
    let e = err(&p, json!({"method": "GET", "path": "/"})).await;
    assert!(
        e.starts_with("Error: UNAVAILABLE: browser control disabled"),
        "{e}"
    );

    // JSON5 is accepted, as the official CLI writes it.
    std::fs::write(
        dir.path().join("openclaw.json"),
        "{ // comment\n nodeHost: { browserProxy: { enabled: true } }, }",
    )
    .unwrap();
    assert!(p.enabled());
    ok(&p, json!({"method": "GET", "path": "/"})).await;

    // An unreadable openclaw.json fails closed.
    std::fs::write(dir.path().join("openclaw.json"), "{ not json").unwrap();
    assert!(!p.enabled());
    let e = err(&p, json!({"method": "GET", "path": "/"})).await;
    assert!(e.contains("openclaw.json"), "{e}");
}

#[tokio::test]
async fn unknown_routes_and_profiles_use_the_upstream_error_shapes() {
    let dir = state_dir(&json!({}));
    let p = proxy(dir.path());
    assert_eq!(
        err(&p, json!({"method": "GET", "path": "/nope"})).await,
        "Error: 404: Not Found"
    );
    assert_eq!(
        ok(
            &p,
            json!({"method": "GET", "path": "/nope", "errorEnvelope": "browser-v1"})
        )
        .await,
        json!({"error": {"status": 404, "body": {"error": "Not Found"}},
               "route": {"status": "resolved", "profile": "openclaw", "driver": "openclaw"}})
    );
    assert_eq!(
        err(&p, json!({"method": "GET", "path": "/", "profile": "nope"})).await,
        "Error: 404: Profile \"nope\" not found. Available profiles: openclaw"
    );
    assert_eq!(
        ok(
            &p,
            json!({"method": "GET", "path": "/", "profile": "nope", "errorEnvelope": "browser-v1"})
        )
        .await,
        json!({"error": {"status": 404, "body": {"error": "Profile \"nope\" not found. Available profiles: openclaw"}},
               "route": {"status": "unavailable"}})
    );
    // Route-level validation that needs no browser.
    assert_eq!(
        err(
            &p,
            json!({"method": "POST", "path": "/tabs/open", "body": {}})
        )
        .await,
        "Error: 400: url is required"
    );
    assert_eq!(
        err(
            &p,
            json!({"method": "POST", "path": "/start", "query": {"headless": "maybe"}})
        )
        .await,
        "Error: 400: Invalid headless value. Use \"true\" or \"false\"."
    );
    assert_eq!(
        err(
            &p,
            json!({"method": "POST", "path": "/tabs/focus", "body": {}})
        )
        .await,
        "Error: 400: targetId is required"
    );
    assert_eq!(
        err(
            &p,
            json!({"method": "POST", "path": "/act", "body": {"kind": "wait", "timeMs": 40000}})
        )
        .await,
        "Error: 400: wait timeMs exceeds maximum of 30000ms"
    );
    assert_eq!(
        ok(&p, json!({"method": "POST", "path": "/act", "errorEnvelope": "browser-v1", "body": {
            "kind": "batch", "targetId": "t1", "actions": [{"kind": "press", "key": "Tab", "targetId": "t2"}]}})).await["error"],
        json!({"status": 403, "body": {"error": "batched action targetId must match request targetId", "code": "ACT_TARGET_ID_MISMATCH"}})
    );
    assert_eq!(
        err(&p, json!({"method": "POST", "path": "/act", "body": {"kind": "batch", "actions": [{"kind": "click"}]}})).await,
        "Error: 400: click requires ref or selector"
    );
    assert_eq!(
        err(&p, json!({"method": "DELETE", "path": "/tabs/%zz"})).await,
        "Error: 400: invalid path parameter encoding: targetId"
    );
    // GET / never launches; status says what a launch would do.
    let st = ok(&p, json!({"method": "GET", "path": "/"})).await["result"].clone();
    assert_eq!(st["running"], false);
    assert_eq!(st["pid"], serde_json::Value::Null);
    assert_eq!(
        st["cdpUrl"],
        serde_json::Value::Null,
        "no port: CDP runs over a pipe"
    );
    assert_eq!(st["cdpPort"], serde_json::Value::Null);
    assert_eq!(st["transport"], "cdp");
}

#[tokio::test]
async fn invalid_backend_selection_names_node_host_json5() {
    let dir = state_dir(&json!({}));
    let p = openclaw_node::browser::BrowserProxy::new(
        dir.path().to_path_buf(),
        18789,
        openclaw_node::browser::BrowserProxyConfig {
            backend: Some("magic".into()),
            ..Default::default()
        },
    );
    for _ in 0..2 {
        let e = err(&p, json!({"method": "GET", "path": "/"})).await;
        assert!(
            e.starts_with("Error: UNAVAILABLE: browserProxy.backend must be")
                && e.contains("node-host.json5"),
            "{e}"
        );
    }
}

#[test]
fn browser_proxy_section_rejects_unknown_keys() {
    let ok: openclaw_node::browser::BrowserProxyConfig =
        json5::from_str("{ backend: 'forward', controlUrl: 'http://127.0.0.1:18791' }").unwrap();
    assert_eq!(ok.backend.as_deref(), Some("forward"));
    let bad = json5::from_str::<openclaw_node::browser::BrowserProxyConfig>("{ bogus: 1 }");
    assert!(bad.is_err());
}
