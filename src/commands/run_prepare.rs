//! `system.run.prepare`: the approval plan the gateway shows and binds (EA §9), built by the
//! policy engine.

use serde_json::Value;

use super::{InvokeError, LaunchBackend, NodeCommands, PolicyBackend, decode_params};

/// A decoded `system.run.prepare` invoke.
#[derive(Debug)]
pub struct RunPrepare {
    params: Value,
}

impl RunPrepare {
    /// `paramsJSON` is required.
    pub fn parse(params_json: Option<&str>) -> Result<Self, InvokeError> {
        Ok(Self {
            params: decode_params(params_json, true)?,
        })
    }

    pub async fn apply<P: PolicyBackend, L: LaunchBackend>(
        self,
        node: &NodeCommands<P, L>,
    ) -> Result<Value, InvokeError> {
        let p = self.params;
        node.blocking(move |pol| pol.prepare(&p)).await
    }
}
