//! Wire frames (protocol §2–3, §7): what the node sends is serialised strictly (closed schemas on
//! the gateway side: optional fields are omitted, never `null` or `""`); what it receives is
//! parsed leniently (unknown fields the gateway adds are ignored).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Client id the headless node must send (`GATEWAY_CLIENT_IDS.NODE_HOST`).
pub const CLIENT_ID: &str = "node-host";
/// Client mode and role of a node.
pub const CLIENT_MODE: &str = "node";
pub const ROLE: &str = "node";
/// Protocol range we speak (gateway-lab: a 2026.9.6 gateway answers `protocol: 4`).
pub const MIN_PROTOCOL: u32 = 3;
pub const MAX_PROTOCOL: u32 = 4;

/// The gateway's error shape.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorShape {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub details: Option<Value>,
    #[serde(default)]
    pub retryable: Option<bool>,
    #[serde(default)]
    pub retry_after_ms: Option<u64>,
}

impl ErrorShape {
    /// `details.code`, when present.
    pub fn detail_code(&self) -> Option<&str> {
        self.details.as_ref()?.get("code")?.as_str()
    }
    /// A string field of `details`.
    pub fn detail_str(&self, key: &str) -> Option<&str> {
        self.details.as_ref()?.get(key)?.as_str()
    }
}

impl std::fmt::Display for ErrorShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)?;
        if let Some(c) = self.detail_code() {
            write!(f, " ({c})")?;
        }
        Ok(())
    }
}

/// A `res` frame.
#[derive(Debug, Clone, Deserialize)]
pub struct ResFrame {
    pub id: String,
    pub ok: bool,
    #[serde(default)]
    pub payload: Option<Value>,
    #[serde(default)]
    pub error: Option<ErrorShape>,
}

/// An `event` frame.
#[derive(Debug, Clone, Deserialize)]
pub struct EventFrame {
    pub event: String,
    #[serde(default)]
    pub payload: Option<Value>,
    #[serde(default)]
    pub seq: Option<u64>,
}

/// A `req` frame from the gateway (not expected for a node; logged and ignored).
#[derive(Debug, Clone, Deserialize)]
pub struct InboundReq {
    pub id: String,
    pub method: String,
}

/// Any frame the gateway sends.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type")]
pub enum Inbound {
    #[serde(rename = "res")]
    Res(ResFrame),
    #[serde(rename = "event")]
    Event(EventFrame),
    #[serde(rename = "req")]
    Req(InboundReq),
}

/// Why an inbound frame was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("frame is not valid JSON or not a known frame type: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error("frame has an empty {0}")]
    Empty(&'static str),
}

/// Parse one text frame.
pub fn parse_inbound(text: &str) -> Result<Inbound, FrameError> {
    let f: Inbound = serde_json::from_str(text)?;
    match &f {
        Inbound::Res(r) if r.id.is_empty() => Err(FrameError::Empty("id")),
        Inbound::Event(e) if e.event.is_empty() => Err(FrameError::Empty("event")),
        _ => Ok(f),
    }
}

/// An outbound `req` frame.
#[derive(Debug, Serialize)]
pub struct ReqFrame<'a, P: Serialize> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: &'a str,
    pub method: &'a str,
    pub params: &'a P,
}

impl<'a, P: Serialize> ReqFrame<'a, P> {
    pub fn new(id: &'a str, method: &'a str, params: &'a P) -> Self {
        Self {
            kind: "req",
            id,
            method,
            params,
        }
    }
}

/// `connect.client`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientInfo {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    pub version: String,
    pub platform: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_family: Option<String>,
    pub mode: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
}

/// `connect.auth` (only the keys every gateway knows).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectAuth {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_token: Option<String>,
}

impl ConnectAuth {
    /// The token the gateway verifies the signature with: `token ?? deviceToken ?? ""`.
    pub fn signature_token(&self) -> &str {
        self.token
            .as_deref()
            .or(self.device_token.as_deref())
            .unwrap_or("")
    }
}

/// `connect.device`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceProof {
    pub id: String,
    pub public_key: String,
    pub signature: String,
    pub signed_at: u64,
    pub nonce: String,
}

/// `connect` params for a headless node (closed schema: nothing else).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectParams {
    pub min_protocol: u32,
    pub max_protocol: u32,
    pub client: ClientInfo,
    pub role: String,
    pub scopes: Vec<String>,
    pub caps: Vec<String>,
    pub commands: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_env: Option<String>,
    pub auth: ConnectAuth,
    pub device: DeviceProof,
}

/// The `connect.challenge` payload.
#[derive(Debug, Clone, Deserialize)]
pub struct Challenge {
    #[serde(default)]
    pub nonce: String,
    #[serde(default)]
    pub ts: Option<Value>,
}

impl Challenge {
    /// `ts` when it is a positive integer.
    pub fn ts_ms(&self) -> Option<u64> {
        self.ts.as_ref()?.as_u64().filter(|t| *t > 0)
    }
}

/// `hello-ok.auth`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelloAuth {
    #[serde(default)]
    pub device_token: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub method: Option<String>,
}

/// `hello-ok.policy`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelloPolicy {
    #[serde(default)]
    pub max_payload: Option<u64>,
    #[serde(default)]
    pub max_buffered_bytes: Option<u64>,
    #[serde(default)]
    pub tick_interval_ms: Option<u64>,
}

/// The `hello-ok` payload (lenient: everything optional except `type`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelloOk {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub protocol: Option<u64>,
    #[serde(default)]
    pub auth: Option<HelloAuth>,
    #[serde(default)]
    pub policy: Option<HelloPolicy>,
    #[serde(default)]
    pub server: Option<Value>,
}

/// A decoded `node.invoke.request` (protocol §7.2; `coerceNodeInvokePayload`).
#[derive(Debug, Clone, PartialEq)]
pub struct InvokeRequest {
    pub id: String,
    pub node_id: String,
    pub command: String,
    /// The params as a JSON string (`paramsJSON`, or `params` re-serialised); `None` if absent.
    pub params_json: Option<String>,
    pub timeout_ms: Option<u64>,
    pub idempotency_key: Option<String>,
}

impl InvokeRequest {
    /// Decode an invoke payload. `None` when `id`, `nodeId` or `command` is missing/empty
    /// (the reference host silently ignores those).
    pub fn from_payload(p: &Value) -> Option<Self> {
        let s = |k: &str| {
            p.get(k)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let id = s("id")?;
        let node_id = s("nodeId")?;
        let command = s("command")?;
        let params_json = match p.get("paramsJSON") {
            Some(Value::String(v)) => Some(v.clone()),
            _ => match p.get("params") {
                Some(Value::Null) | None => None,
                Some(v) => Some(v.to_string()),
            },
        };
        let timeout_ms = p.get("timeoutMs").and_then(|v| {
            v.as_u64()
                .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
        });
        Some(Self {
            id,
            node_id,
            command,
            params_json,
            timeout_ms,
            idempotency_key: s("idempotencyKey"),
        })
    }
}

/// The routing fields of a `node.invoke.request` frame that [`parse_inbound`] rejected, e.g.
/// because its params nest deeper than the JSON parser's 128-level limit: enough to answer the
/// invoke with an error instead of leaving the gateway waiting for its deadline.
#[derive(Debug, Clone, PartialEq)]
pub struct InvokeHeader {
    pub id: String,
    pub node_id: String,
    pub command: String,
}

#[derive(Deserialize)]
struct SkeletonFrame {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    event: String,
    #[serde(default)]
    payload: Option<SkeletonPayload>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SkeletonPayload {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    node_id: Option<String>,
    #[serde(default)]
    command: Option<String>,
}

/// Read only the header of an invoke frame: every other value (`params`, …) is skipped by the
/// parser's iterative scanner, so arbitrarily deep nesting costs no stack. `None` unless the
/// text is well-formed JSON, a `node.invoke.request` event, and carries non-empty `id`,
/// `nodeId` and `command` (the frames the reference host would have served).
pub fn salvage_invoke_header(text: &str) -> Option<InvokeHeader> {
    let f: SkeletonFrame = serde_json::from_str(text).ok()?;
    if f.kind != "event" || f.event != "node.invoke.request" {
        return None;
    }
    let p = f.payload?;
    let s = |v: Option<String>| v.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    Some(InvokeHeader {
        id: s(p.id)?,
        node_id: s(p.node_id)?,
        command: s(p.command)?,
    })
}

/// `node.invoke.result.error` (closed: `code`, `message` only, both non-empty).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InvokeResultError {
    pub code: String,
    pub message: String,
}

/// `node.invoke.result` params.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InvokeResultParams {
    pub id: String,
    pub node_id: String,
    pub ok: bool,
    #[serde(rename = "payloadJSON", skip_serializing_if = "Option::is_none")]
    pub payload_json: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<InvokeResultError>,
}

/// `node.event` params (`payloadJSON` omitted rather than `null`).
#[derive(Debug, Clone, Serialize)]
pub struct NodeEventParams {
    pub event: String,
    #[serde(rename = "payloadJSON", skip_serializing_if = "Option::is_none")]
    pub payload_json: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_deep_nesting_is_rejected_but_the_invoke_header_is_salvaged() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let text = format!(
            r#"{{"type":"event","event":"node.invoke.request","payload":{{"params":{deep},"id":" i1 ","nodeId":"n","command":"system.run"}}}}"#
        );
        assert!(parse_inbound(&text).is_err());
        assert_eq!(
            salvage_invoke_header(&text),
            Some(InvokeHeader {
                id: "i1".into(),
                node_id: "n".into(),
                command: "system.run".into()
            })
        );
        // not an invoke, truncated JSON, or missing fields: nothing to answer
        assert_eq!(salvage_invoke_header(&deep), None);
        assert_eq!(salvage_invoke_header(&text[..text.len() - 1]), None);
        let other = text.replace("node.invoke.request", "health");
        assert_eq!(salvage_invoke_header(&other), None);
        let no_id = text.replace(r#""id":" i1 ""#, r#""id":"  ""#);
        assert_eq!(salvage_invoke_header(&no_id), None);
    }
    use serde_json::json;

    #[test]
    fn inbound_tolerates_unknown_fields() {
        let f = parse_inbound(
            r#"{"type":"event","event":"tick","payload":{"ts":1},"seq":3,"stateVersion":{"presence":1,"health":1},"future":true}"#,
        )
        .unwrap();
        assert!(matches!(f, Inbound::Event(e) if e.event == "tick" && e.seq == Some(3)));
        let f = parse_inbound(r#"{"type":"res","id":"1","ok":false,"error":{"code":"X","message":"m","details":{"code":"D"},"retryable":true,"extra":1}}"#).unwrap();
        let Inbound::Res(r) = f else { panic!() };
        assert_eq!(r.error.unwrap().detail_code(), Some("D"));
    }

    #[test]
    fn inbound_rejects_garbage_and_empty_ids() {
        assert!(parse_inbound("not json").is_err());
        assert!(parse_inbound(r#"{"type":"bogus"}"#).is_err());
        assert!(parse_inbound(r#"{"type":"res","id":"","ok":true}"#).is_err());
        assert!(parse_inbound(r#"{"type":"event","event":""}"#).is_err());
        assert!(parse_inbound(r#"{"type":"res","id":"1","ok":"yes"}"#).is_err());
        assert!(parse_inbound("[]").is_err());
    }

    #[test]
    fn spec_11_4_optional_fields_are_omitted_not_null() {
        let p = InvokeResultParams {
            id: "i".into(),
            node_id: "n".into(),
            ok: true,
            payload_json: Some("{}".into()),
            error: None,
        };
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            json!({"id":"i","nodeId":"n","ok":true,"payloadJSON":"{}"})
        );
        let e = NodeEventParams {
            event: "x".into(),
            payload_json: None,
        };
        assert_eq!(serde_json::to_value(&e).unwrap(), json!({"event":"x"}));
        let c = ClientInfo {
            id: CLIENT_ID.into(),
            display_name: None,
            version: "1".into(),
            platform: "linux".into(),
            device_family: None,
            mode: "node".into(),
            instance_id: None,
        };
        assert_eq!(
            serde_json::to_value(&c).unwrap(),
            json!({"id":"node-host","version":"1","platform":"linux","mode":"node"})
        );
    }

    #[test]
    fn invoke_request_coercion() {
        let r = InvokeRequest::from_payload(&json!({"id":" a ","nodeId":"n","command":"system.which","paramsJSON":"{\"bins\":[]}","timeoutMs":14997,"idempotencyKey":"k"})).unwrap();
        assert_eq!(r.id, "a");
        assert_eq!(r.params_json.as_deref(), Some("{\"bins\":[]}"));
        assert_eq!(r.timeout_ms, Some(14997));
        let r = InvokeRequest::from_payload(
            &json!({"id":"a","nodeId":"n","command":"c","params":{"x":1}}),
        )
        .unwrap();
        assert_eq!(r.params_json.as_deref(), Some("{\"x\":1}"));
        let r = InvokeRequest::from_payload(
            &json!({"id":"a","nodeId":"n","command":"c","paramsJSON":null}),
        )
        .unwrap();
        assert_eq!(r.params_json, None);
        assert!(InvokeRequest::from_payload(&json!({"id":"a","command":"c"})).is_none());
        assert!(
            InvokeRequest::from_payload(&json!({"id":"","nodeId":"n","command":"c"})).is_none()
        );
        assert!(InvokeRequest::from_payload(&json!("str")).is_none());
    }

    #[test]
    fn signature_token_prefers_token() {
        let a = ConnectAuth {
            token: Some("t".into()),
            password: None,
            device_token: Some("d".into()),
        };
        assert_eq!(a.signature_token(), "t");
        let a = ConnectAuth {
            device_token: Some("d".into()),
            ..Default::default()
        };
        assert_eq!(a.signature_token(), "d");
        assert_eq!(ConnectAuth::default().signature_token(), "");
    }
}
