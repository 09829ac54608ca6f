//! `browser.proxy`: one HTTP-shaped request to the node's browser backend (built-in CDP driver
//! or forwarder), served only while the browser proxy is enabled.

use serde_json::Value;

use super::{InvokeError, decode_params};
use crate::browser::{BrowserError, BrowserProxy};

/// A decoded `browser.proxy` invoke (the backend validates method, path and body).
#[derive(Debug)]
pub struct BrowserProxyCall {
    params: Value,
}

impl BrowserProxyCall {
    /// Params are optional (absent means `{}`, which the backend answers with its error).
    pub fn parse(params_json: Option<&str>) -> Result<Self, InvokeError> {
        Ok(Self {
            params: decode_params(params_json, false)?,
        })
    }

    pub async fn apply(self, browser: Option<&BrowserProxy>) -> Result<Value, InvokeError> {
        match browser {
            Some(b) => b.handle(self.params).await.map_err(InvokeError::from),
            None => Err(InvokeError::unavailable("command not supported")),
        }
    }
}

/// Every `browser.proxy` failure is `INVALID_REQUEST` on the wire, as the official host sends it.
impl From<BrowserError> for InvokeError {
    fn from(e: BrowserError) -> Self {
        InvokeError::invalid(e.message)
    }
}
