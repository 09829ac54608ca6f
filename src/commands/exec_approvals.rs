//! `system.execApprovals.get` / `.set` (EA §16): read and replace the node's approvals file,
//! remotely (`openclaw approvals --node …`).

use serde_json::Value;

use super::{InvokeError, LaunchBackend, NodeCommands, PolicyBackend, decode_params};

/// A decoded `system.execApprovals.get` or `.set` invoke.
#[derive(Debug)]
pub enum ExecApprovals {
    /// Params are optional (`{includeResolvedDefaults?}`).
    Get(Value),
    /// `{file, baseHash?}`, required.
    Set(Value),
}

impl ExecApprovals {
    pub fn parse_get(params_json: Option<&str>) -> Result<Self, InvokeError> {
        Ok(Self::Get(decode_params(params_json, false)?))
    }

    pub fn parse_set(params_json: Option<&str>) -> Result<Self, InvokeError> {
        Ok(Self::Set(decode_params(params_json, true)?))
    }

    pub async fn apply<P: PolicyBackend, L: LaunchBackend>(
        self,
        node: &NodeCommands<P, L>,
    ) -> Result<Value, InvokeError> {
        match self {
            Self::Get(p) => node.blocking(move |pol| pol.approvals_get(&p)).await,
            Self::Set(p) => node.blocking(move |pol| pol.approvals_set(&p)).await,
        }
    }
}
