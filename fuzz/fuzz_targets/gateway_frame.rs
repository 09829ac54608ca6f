//! Raw bytes → the gateway client's inbound text-frame decoder (`frames::parse_inbound`), then
//! the payload decoders the client applies: `connect.challenge` (`Challenge`), a `res` payload as
//! `hello-ok` (`HelloOk`) and its error (`ErrorShape`), `node.invoke.request`
//! (`InvokeRequest::from_payload`, incl. the `paramsJSON` string-in-string) and the command
//! adapter's `paramsJSON` decoding (`commands::decode_params`).
//!
//! Invariants: never panics; accepted `res`/`event` frames have non-empty ids/names; an accepted
//! frame still parses after a JSON value round trip; a decoded invoke has trimmed non-empty
//! `id`/`nodeId`/`command` and re-encoding it decodes to the same request; params errors are
//! `INVALID_REQUEST` with a non-empty message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use openclaw_node::commands::decode_params;
use openclaw_node::gateway::frames::{Challenge, HelloOk, Inbound, InvokeRequest, parse_inbound};
use serde_json::{Value, json};

fn check_invoke(payload: &Value) {
    let Some(req) = InvokeRequest::from_payload(payload) else {
        return;
    };
    for (name, v) in [
        ("id", &req.id),
        ("nodeId", &req.node_id),
        ("command", &req.command),
    ] {
        assert!(!v.is_empty(), "{name} accepted empty");
        assert_eq!(v.trim(), v, "{name} not trimmed");
    }
    if let Some(k) = &req.idempotency_key {
        assert!(!k.is_empty() && k.trim() == k);
    }
    // Re-encode (the canonical `paramsJSON` form) → decode is stable.
    let mut again = json!({"id": req.id, "nodeId": req.node_id, "command": req.command});
    if let Some(p) = &req.params_json {
        again["paramsJSON"] = Value::String(p.clone());
    }
    if let Some(t) = req.timeout_ms {
        again["timeoutMs"] = json!(t);
    }
    if let Some(k) = &req.idempotency_key {
        again["idempotencyKey"] = Value::String(k.clone());
    }
    assert_eq!(InvokeRequest::from_payload(&again).as_ref(), Some(&req));
    // `params` given as a value must come back as valid JSON text.
    if !matches!(payload.get("paramsJSON"), Some(Value::String(_)))
        && let Some(p) = &req.params_json
    {
        assert!(
            serde_json::from_str::<Value>(p).is_ok(),
            "params re-serialised to invalid JSON"
        );
    }
    for required in [true, false] {
        match decode_params(req.params_json.as_deref(), required) {
            Ok(_) => {}
            Err(e) => {
                assert_eq!(e.code, "INVALID_REQUEST");
                assert!(!e.message.trim().is_empty());
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let frame = match parse_inbound(text) {
        Ok(f) => f,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    // An accepted frame survives a JSON value round trip with the same identity.
    let value: Value = serde_json::from_str(text).expect("accepted frame is JSON");
    let again = parse_inbound(&value.to_string()).expect("re-encoded frame must parse");
    match (&frame, &again) {
        (Inbound::Res(a), Inbound::Res(b)) => assert_eq!((&a.id, a.ok), (&b.id, b.ok)),
        (Inbound::Event(a), Inbound::Event(b)) => assert_eq!(a.event, b.event),
        (Inbound::Req(a), Inbound::Req(b)) => assert_eq!((&a.id, &a.method), (&b.id, &b.method)),
        _ => panic!("frame type changed on re-encode"),
    }
    match frame {
        Inbound::Res(r) => {
            assert!(!r.id.is_empty());
            if let Some(p) = r.payload {
                if let Ok(h) = serde_json::from_value::<HelloOk>(p.clone()) {
                    let _ = (h.kind.len(), h.protocol, h.server.is_some());
                    if let Some(policy) = h.policy {
                        let _ = (policy.max_payload, policy.tick_interval_ms);
                    }
                }
                check_invoke(&p);
            }
            if let Some(e) = r.error {
                let _ = e.to_string();
                let _ = (e.detail_code(), e.detail_str("requestId"));
            }
        }
        Inbound::Event(ev) => {
            assert!(!ev.event.is_empty());
            if let Some(p) = ev.payload {
                if let Ok(c) = serde_json::from_value::<Challenge>(p.clone()) {
                    if let Some(ts) = c.ts_ms() {
                        assert!(ts > 0);
                    }
                }
                check_invoke(&p);
            }
        }
        Inbound::Req(_) => {}
    }
});
