//! `system.run.prepare`: the approval plan the gateway shows and binds (EA §9), built by the
//! policy engine.

use serde_json::Value;

use super::{InvokeError, LaunchBackend, NodeCommands, PolicyBackend, decode_params};
use crate::policy::plan::{self, RunRequest};

/// A decoded `system.run.prepare` invoke.
#[derive(Debug)]
pub struct RunPrepare {
    req: RunRequest,
}

impl RunPrepare {
    /// `paramsJSON` is required; its fields decode as `system.run`'s do.
    pub fn parse(params_json: Option<&str>) -> Result<Self, InvokeError> {
        let params = decode_params(params_json, true)?;
        let req = plan::decode(&params).map_err(InvokeError::invalid)?;
        Ok(Self { req })
    }

    pub async fn apply<P: PolicyBackend, L: LaunchBackend>(
        self,
        node: &NodeCommands<P, L>,
    ) -> Result<Value, InvokeError> {
        let req = self.req;
        node.blocking(move |pol| pol.prepare_run(&req)).await
    }
}
