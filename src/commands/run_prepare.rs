//! `system.run.prepare`: the approval plan the gateway shows and binds (EA §9), built by the
//! policy engine.

use serde_json::Value;

use super::{InvokeError, LaunchBackend, NodeCommands, PolicyBackend, decode_run_request};
use crate::policy::plan::RunRequest;

/// A decoded `system.run.prepare` invoke.
#[derive(Debug)]
pub struct RunPrepare {
    req: RunRequest,
}

impl RunPrepare {
    /// `paramsJSON` is required; its fields decode as `system.run`'s do.
    pub fn parse(params_json: Option<&str>) -> Result<Self, InvokeError> {
        Ok(Self {
            req: decode_run_request(params_json)?,
        })
    }

    pub async fn apply<P: PolicyBackend, L: LaunchBackend>(
        self,
        node: &NodeCommands<P, L>,
    ) -> Result<Value, InvokeError> {
        let req = self.req;
        node.blocking(move |pol| pol.prepare_run(&req)).await
    }
}
