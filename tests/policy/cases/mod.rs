//! EA §19 behaviour cases, one named test per case (numbering as in the spec).
//! Cases outside the policy engine (150 output cap, 153 unknown command, 145/146 the official
//! CLI) are covered by the launcher/commands suites.

use crate::support::policy::*;
use openclaw_node::policy::decide::{Outcome, SkillTrust};
use openclaw_node::policy::env::PATH_CARRIER_PREFIX;
use openclaw_node::policy::plan::{self, RunRequest};
use openclaw_node::policy::types::{Ask, Security};
use serde_json::json;

fn approved_once(req: RunRequest, p: serde_json::Value) -> RunRequest {
    bind(&req, p, "allow-once")
}

mod approval;
mod env;
mod executables;
mod inline_eval;
mod limits;
mod resolution;
mod safe_bins;
mod shell;
mod skills;
mod wrappers;
