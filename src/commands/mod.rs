//! Node commands as thin adapters: decode the invoke, call the policy engine / launcher / browser
//! proxy, shape the result and events exactly as the official host does.

/// An error result for `node.invoke.result` (`{code, message}` on the wire).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct InvokeError {
    /// `INVALID_REQUEST`, `UNAVAILABLE`, `TIMEOUT`, …
    pub code: String,
    pub message: String,
    pub details: Option<serde_json::Value>,
}

impl InvokeError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_string(),
            message: message.into(),
            details: None,
        }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new("INVALID_REQUEST", message)
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new("UNAVAILABLE", message)
    }
}
