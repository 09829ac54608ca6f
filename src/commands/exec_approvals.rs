//! `system.execApprovals.get` / `.set` (EA §16): read and replace the node's approvals file,
//! remotely (`openclaw approvals --node …`).

use serde_json::Value;

use super::{InvokeError, LaunchBackend, NodeCommands, PolicyBackend, decode_params};
use crate::policy::{ApprovalsGet, ApprovalsSet};

/// A decoded `system.execApprovals.get` or `.set` invoke.
#[derive(Debug)]
pub enum ExecApprovals {
    /// Params are optional (`{includeResolvedDefaults?}`).
    Get(ApprovalsGet),
    /// `{file, baseHash?}`, required.
    Set(ApprovalsSet),
}

impl ExecApprovals {
    pub fn parse_get(params_json: Option<&str>) -> Result<Self, InvokeError> {
        let params = decode_params(params_json, false)?;
        Ok(Self::Get(ApprovalsGet::decode(&params)?))
    }

    pub fn parse_set(params_json: Option<&str>) -> Result<Self, InvokeError> {
        let params = decode_params(params_json, true)?;
        Ok(Self::Set(ApprovalsSet::decode(&params)?))
    }

    pub async fn apply<P: PolicyBackend, L: LaunchBackend>(
        self,
        node: &NodeCommands<P, L>,
    ) -> Result<Value, InvokeError> {
        match self {
            Self::Get(q) => node.blocking(move |pol| pol.approvals(&q)).await,
            Self::Set(s) => node.blocking(move |pol| pol.set_approvals(&s)).await,
        }
    }
}
