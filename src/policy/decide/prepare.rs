//! `system.run.prepare` (EA §9): the approval plan the gateway shows and binds.

use std::path::Path;

use serde_json::Value;

use crate::policy::analysis::format_exec_command;
use crate::policy::analysis::wrappers::{self};
use crate::policy::env;
use crate::policy::exe::{self};
use crate::policy::fsview::FsView;
use crate::policy::plan::{self, RunRequest};
use crate::policy::resolve::Requested;

/// Maximum nesting depth for inline shell chains (EA §7.3).
use super::*;

/// `system.run.prepare` (EA §9): build the approval plan `{plan: {...}}`.
pub fn prepare(
    req: &RunRequest,
    _requested: &Requested,
    node_path: &str,
    fs: &dyn FsView,
) -> Result<Value, String> {
    let command_text = format_exec_command(&req.argv);
    let u0 = wrappers::unwrap(&req.argv);
    let transport = find_transport(&req.argv, &u0);
    let payload = transport.as_ref().map(|t| t.argv[t.payload_index].clone());
    if check_raw_command(req, &command_text, &u0, transport.as_ref()).is_err() {
        return Err("rawCommand does not match command".into());
    }
    env::check_assignments(&u0.env_assignment_keys)?;
    env::check_overrides(&req.env)?;
    let cwd = match &req.cwd {
        Some(c) => Some(plan::canonical_cwd(Path::new(c), fs)?),
        None => None,
    };
    let base_cwd = cwd.clone().unwrap_or_else(|| fs.cwd());
    let mut argv = req.argv.clone();
    if u0.chain.is_empty() && transport.is_none() {
        let r = exe::resolve(&argv[0], &base_cwd, node_path, fs);
        match r.trust_path() {
            Some(p) => argv[0] = p.to_string_lossy().into_owned(),
            None => {
                return Err("SYSTEM_RUN_DENIED: approval requires a stable executable path".into());
            }
        }
    }
    let plan_text = format_exec_command(&argv);
    let preview = payload
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty() && *p != plan_text);
    let operand = match plan::operand_index(&argv, transport.is_some())? {
        Some(i) => Some(plan::snapshot_operand(&argv, i, &base_cwd, fs)?),
        None => None,
    };
    let mut plan = serde_json::json!({
        "argv": argv,
        "cwd": cwd.map(|c| c.to_string_lossy().into_owned()),
        "commandText": plan_text,
        "commandPreview": preview,
        "agentId": req.agent_id,
        "sessionKey": req.session_key,
    });
    if let (Some(op), Value::Object(o)) = (operand, &mut plan) {
        o.insert("mutableFileOperand".into(), op.to_value());
    }
    Ok(serde_json::json!({ "plan": plan }))
}
