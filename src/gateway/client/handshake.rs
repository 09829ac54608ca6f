//! The handshake of one session (protocol §4–§6): the challenge, the signed `connect` with the
//! credentials chosen for this attempt, `hello-ok`, and what each connect error means for the
//! next attempt (pairing, signature fallback, token rotation, fatal credentials).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;
use tracing::{debug, info, warn};

use super::{ClientError, GatewayClient, SessionEnd, Ws, close_msg, retry};
use crate::gateway::frames::{
    self, Challenge, ClientInfo, ConnectAuth, ConnectParams, DeviceProof, ErrorShape, HelloOk,
    Inbound, ReqFrame,
};
use crate::gateway::identity::{ProofFields, SignatureVersion, proof_payload};
use crate::gateway::invoke::InvokeHandler;
use crate::gateway::tls::TlsMode;
use crate::util::now_ms;

impl GatewayClient {
    pub(super) fn select_auth(&self) -> ConnectAuth {
        let stored = self.auth_store.token(frames::ROLE).map(str::to_string);
        let mut auth = ConnectAuth::default();
        if self.device_token_only {
            auth.device_token = stored;
            return auth;
        }
        if let Some(t) = &self.cfg.token {
            auth.token = Some(t.clone());
        } else if let Some(dt) = stored {
            auth.device_token = Some(dt);
        }
        if let Some(p) = &self.cfg.password {
            auth.password = Some(p.clone());
        }
        auth
    }

    pub(super) fn connect_params<H: InvokeHandler>(
        &self,
        handler: &H,
        challenge: &Challenge,
    ) -> Value {
        let auth = self.select_auth();
        let signed_at = challenge.ts_ms().unwrap_or_else(now_ms);
        let scopes: Vec<String> = Vec::new();
        let payload = proof_payload(
            self.sig_version,
            self.identity.device_id(),
            &ProofFields {
                client_id: frames::CLIENT_ID,
                client_mode: frames::CLIENT_MODE,
                role: frames::ROLE,
                scopes: &scopes,
                signed_at_ms: signed_at,
                token: auth.signature_token(),
                nonce: &challenge.nonce,
                platform: &self.cfg.platform,
                device_family: &self.cfg.device_family,
            },
        );
        let non_empty = |s: &Option<String>| s.clone().filter(|v| !v.trim().is_empty());
        let params = ConnectParams {
            min_protocol: frames::MIN_PROTOCOL,
            max_protocol: frames::MAX_PROTOCOL,
            client: ClientInfo {
                id: frames::CLIENT_ID.into(),
                display_name: non_empty(&self.cfg.display_name),
                version: self.cfg.version.clone(),
                platform: self.cfg.platform.clone(),
                device_family: Some(self.cfg.device_family.clone()).filter(|s| !s.is_empty()),
                mode: frames::CLIENT_MODE.into(),
                instance_id: non_empty(&self.cfg.instance_id),
            },
            role: frames::ROLE.into(),
            scopes,
            caps: handler.caps(),
            commands: handler.commands(),
            path_env: Some(self.cfg.path_env.clone()).filter(|s| !s.is_empty()),
            auth,
            device: DeviceProof {
                id: self.identity.device_id().to_string(),
                public_key: self.identity.public_key_b64url().to_string(),
                signature: self.identity.sign(&payload),
                signed_at,
                nonce: challenge.nonce.trim().to_string(),
            },
        };
        serde_json::to_value(params).unwrap_or(Value::Null)
    }

    pub(super) async fn handshake<H: InvokeHandler>(
        &mut self,
        ws: &mut Ws,
        handler: &H,
    ) -> Result<HelloOk, SessionEnd> {
        let limit = self.cfg.challenge_timeout;
        let challenge = match tokio::time::timeout(limit, wait_challenge(ws)).await {
            Ok(Ok(c)) => c,
            Ok(Err(end)) => return Err(end),
            Err(_) => {
                let _ = ws.send(close_msg(1008, "connect challenge timeout")).await;
                warn!("no connect.challenge within {} ms", limit.as_millis());
                return Err(retry("connect challenge timeout"));
            }
        };
        let connect_id = format!("1:{}", uuid::Uuid::new_v4());
        let params = self.connect_params(handler, &challenge);
        let frame = match serde_json::to_string(&ReqFrame::new(&connect_id, "connect", &params)) {
            Ok(f) => f,
            Err(e) => return Err(retry(format!("cannot serialise connect: {e}"))),
        };
        if let Err(e) = ws.send(Message::text(frame)).await {
            return Err(retry(format!("sending connect failed: {e}")));
        }
        let res = match tokio::time::timeout(limit, wait_response(ws, &connect_id)).await {
            Ok(Ok(r)) => r,
            Ok(Err(end)) => return Err(end),
            Err(_) => return Err(retry("the gateway did not answer connect")),
        };
        if res.ok {
            let payload = res.payload.unwrap_or(Value::Null);
            return match serde_json::from_value::<HelloOk>(payload) {
                Ok(h) if h.kind == "hello-ok" => Ok(h),
                Ok(h) => Err(retry(format!(
                    "unexpected connect response type {:?}",
                    h.kind
                ))),
                Err(e) => Err(retry(format!("malformed hello-ok: {e}"))),
            };
        }
        let err = res.error.unwrap_or_default();
        Err(self.classify_connect_error(&err))
    }

    pub(super) fn trusted_endpoint(&self) -> bool {
        self.cfg.is_loopback() || matches!(self.cfg.tls, Some(TlsMode::Pinned(_)))
    }

    pub(super) fn classify_connect_error(&mut self, err: &ErrorShape) -> SessionEnd {
        let code = err.detail_code().unwrap_or("").to_string();
        let msg = err.message.to_ascii_lowercase();
        let reason = format!("connect rejected: {err}");
        let quick = Some(Duration::from_millis(250));
        let fatal = |s: &Self| {
            let _ = s;
            SessionEnd::Fatal(ClientError::Auth {
                code: if code.is_empty() {
                    err.code.clone()
                } else {
                    code.clone()
                },
                message: err.message.clone(),
            })
        };
        if code == "PAIRING_REQUIRED"
            || err.code == "NOT_PAIRED" && msg.contains("pairing required")
        {
            let rid = err.detail_str("requestId").map(str::to_string);
            self.log_pairing(rid.as_deref());
            self.was_pairing = true;
            return SessionEnd::Retry {
                reason,
                delay: None,
                was_connected: false,
                pairing: Some(rid),
            };
        }
        if code == "DEVICE_AUTH_SIGNATURE_INVALID" && self.sig_version == SignatureVersion::V3 {
            warn!("gateway rejected the v3 device signature; retrying with the v2 payload");
            self.sig_version = SignatureVersion::V2;
            return SessionEnd::Retry {
                reason,
                delay: quick,
                was_connected: false,
                pairing: None,
            };
        }
        if code == "AUTH_DEVICE_TOKEN_MISMATCH" || msg.contains("device token mismatch") {
            warn!("the gateway no longer accepts this node's stored device token; deleting it");
            if let Err(e) = self.auth_store.clear_token(frames::ROLE) {
                warn!("{e}");
            }
            // Retry with the shared credentials, unless they were the ones rejected before.
            let shared_rejected = self.device_token_only;
            self.device_token_only = false;
            if !shared_rejected && (self.cfg.token.is_some() || self.cfg.password.is_some()) {
                return SessionEnd::Retry {
                    reason,
                    delay: quick,
                    was_connected: false,
                    pairing: None,
                };
            }
            return fatal(self);
        }
        if code == "AUTH_TOKEN_MISMATCH" {
            let can = err
                .details
                .as_ref()
                .and_then(|d| d.get("canRetryWithDeviceToken"))
                .and_then(Value::as_bool)
                .unwrap_or(true);
            if can
                && !self.tried_device_token
                && self.trusted_endpoint()
                && self.auth_store.token(frames::ROLE).is_some()
            {
                warn!("shared gateway token rejected; retrying once with the stored device token");
                self.tried_device_token = true;
                self.device_token_only = true;
                return SessionEnd::Retry {
                    reason,
                    delay: quick,
                    was_connected: false,
                    pairing: None,
                };
            }
            return fatal(self);
        }
        const FATAL: &[&str] = &[
            "AUTH_REQUIRED",
            "AUTH_UNAUTHORIZED",
            "AUTH_TOKEN_MISSING",
            "AUTH_TOKEN_NOT_CONFIGURED",
            "AUTH_PASSWORD_MISSING",
            "AUTH_PASSWORD_MISMATCH",
            "AUTH_PASSWORD_NOT_CONFIGURED",
            "AUTH_BOOTSTRAP_TOKEN_INVALID",
            "AUTH_SCOPE_MISMATCH",
            "AUTH_DEVICE_TOKEN_SCOPE_MISMATCH",
            "DEVICE_IDENTITY_REQUIRED",
            "CLIENT_VERSION_MISMATCH",
            "PAIRING_REJECTED",
        ];
        if FATAL.contains(&code.as_str()) {
            return fatal(self);
        }
        let retry_after = err
            .retry_after_ms
            .or_else(|| {
                err.details
                    .as_ref()
                    .and_then(|d| d.get("retryAfterMs"))
                    .and_then(Value::as_u64)
            })
            .map(Duration::from_millis);
        if code == "AUTH_RATE_LIMITED" {
            warn!("gateway rate-limited authentication: {err}");
            return SessionEnd::Retry {
                reason,
                delay: retry_after,
                was_connected: false,
                pairing: None,
            };
        }
        if err.code == "UNAVAILABLE" && err.retryable == Some(true) {
            let d = retry_after
                .unwrap_or(Duration::from_millis(500))
                .clamp(Duration::from_millis(100), Duration::from_millis(2000));
            info!("gateway is starting; retrying in {} ms", d.as_millis());
            return SessionEnd::Retry {
                reason,
                delay: Some(d),
                was_connected: false,
                pairing: None,
            };
        }
        warn!("{reason}");
        retry(reason)
    }

    pub(super) fn log_pairing(&mut self, request_id: Option<&str>) {
        let rid = request_id.unwrap_or("<requestId>");
        let first = self.last_request_id.as_deref() != request_id;
        if first {
            warn!(
                "pairing required: this node (device {}) waits for operator approval \
                 (requestId {rid}). On the gateway host run:\n  openclaw devices approve {rid}\n\
                 then approve the node's command surface:\n  openclaw nodes pending\n  \
                 openclaw nodes approve <requestId>\nThis node keeps retrying until approved.",
                self.identity.device_id()
            );
        } else {
            info!("still waiting for pairing approval: openclaw devices approve {rid}");
        }
        self.last_request_id = request_id.map(str::to_string);
    }
}

/// Read until `connect.challenge` (other frames are ignored).
pub(super) async fn wait_challenge(ws: &mut Ws) -> Result<Challenge, SessionEnd> {
    loop {
        match ws.next().await {
            None => return Err(retry("connection closed before connect.challenge")),
            Some(Err(e)) => return Err(retry(format!("connection error before challenge: {e}"))),
            Some(Ok(Message::Text(t))) => {
                let Ok(Inbound::Event(ev)) = frames::parse_inbound(t.as_str()) else {
                    debug!("ignoring a pre-challenge frame");
                    continue;
                };
                if ev.event != "connect.challenge" {
                    continue;
                }
                let ch: Challenge = ev
                    .payload
                    .and_then(|p| serde_json::from_value(p).ok())
                    .unwrap_or(Challenge {
                        nonce: String::new(),
                        ts: None,
                    });
                if ch.nonce.trim().is_empty() {
                    let _ = ws
                        .send(close_msg(1008, "connect challenge missing nonce"))
                        .await;
                    return Err(retry("connect challenge missing nonce"));
                }
                return Ok(ch);
            }
            Some(Ok(Message::Close(f))) => {
                let (code, reason) = f
                    .map(|f| (u16::from(f.code), f.reason.to_string()))
                    .unwrap_or((1005, String::new()));
                return Err(retry(format!(
                    "gateway closed ({code}) before the challenge: {reason}"
                )));
            }
            Some(Ok(_)) => {}
        }
    }
}

/// Read until the `res` for `id`.
pub(super) async fn wait_response(ws: &mut Ws, id: &str) -> Result<frames::ResFrame, SessionEnd> {
    loop {
        match ws.next().await {
            None => return Err(retry("connection closed before the connect response")),
            Some(Err(e)) => return Err(retry(format!("connection error during connect: {e}"))),
            Some(Ok(Message::Text(t))) => {
                if let Ok(Inbound::Res(r)) = frames::parse_inbound(t.as_str())
                    && r.id == id
                {
                    return Ok(r);
                }
            }
            Some(Ok(Message::Close(f))) => {
                let (code, reason) = f
                    .map(|f| (u16::from(f.code), f.reason.to_string()))
                    .unwrap_or((1005, String::new()));
                warn!("gateway closed ({code}) during connect: {reason}");
                return Err(retry(format!("gateway closed ({code}): {reason}")));
            }
            Some(Ok(_)) => {}
        }
    }
}
