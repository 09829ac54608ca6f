//! Shared harness for the policy integration tests: a §19 "world" (virtual filesystem with the
//! spec conventions, requested policy, approvals file) and helpers to decide requests in it.

use openclaw_node::policy::approvals::{Strictness, normalize_value};
use openclaw_node::policy::compiled::CompiledPolicy;
use openclaw_node::policy::decide::{self, Context, Decision, SkillTrust};
use openclaw_node::policy::explain;
use openclaw_node::policy::fsview::VirtualFs;
use openclaw_node::policy::plan::RunRequest;
use openclaw_node::policy::resolve::Requested;
use openclaw_node::policy::safe_bins::SafeBinConfig;
use openclaw_node::policy::types::{Ask, Security};
use serde_json::{Value, json};

pub const PATH: &str = "/usr/bin:/bin";

/// One test world.
#[derive(Debug, Clone)]
pub struct World {
    pub file: Value,
    pub requested: Requested,
    pub strict: bool,
    pub safe: SafeBinConfig,
    pub fs: VirtualFs,
    pub skills: Vec<SkillTrust>,
    pub inherited: Vec<(String, String)>,
    pub path: String,
}

/// `eff=S/A`: requested S/A and a file that is silent on policy, so the effective policy is S/A.
pub fn world(security: &str, ask: &str) -> World {
    World {
        file: json!({"version": 1, "agents": {}}),
        requested: Requested {
            security: Security::parse(security).unwrap(),
            ask: Ask::parse(ask).unwrap(),
            security_source: "test".into(),
            ask_source: "test".into(),
            security_configured: true,
            ask_configured: true,
        },
        strict: false,
        safe: SafeBinConfig::default(),
        fs: VirtualFs::conventions(),
        skills: Vec::new(),
        inherited: vec![("HOME".into(), "/home/u".into())],
        path: PATH.into(),
    }
}

impl World {
    /// Set `agents.main.allowlist`.
    pub fn al(mut self, patterns: &[&str]) -> Self {
        self.file["agents"]["main"] = json!({ "allowlist": patterns });
        self
    }
    pub fn file(mut self, v: Value) -> Self {
        self.file = v;
        self
    }
    pub fn strict(mut self) -> Self {
        self.strict = true;
        self
    }
    pub fn safe_bin(mut self, name: &str) -> Self {
        self.safe = self.safe.with_bin(name);
        self
    }
    pub fn compiled(&self) -> CompiledPolicy {
        let f = normalize_value(&self.file, Strictness::Disk).expect("valid test file");
        CompiledPolicy::from_file(f, Some(std::path::Path::new("/home/u")))
    }
    pub fn decide(&self, req: &RunRequest) -> Decision {
        let ctx = Context {
            requested: self.requested.clone(),
            strict_inline_eval: self.strict,
            safe_bins: &self.safe,
            skills: &self.skills,
            node_path: &self.path,
            inherited_env: &self.inherited,
        };
        decide::decide(&self.compiled(), req, &ctx, &self.fs)
    }
    /// Outcome word (`allow`, `ask`, `miss`, `off`, `invalid`).
    pub fn outcome(&self, req: &RunRequest) -> &'static str {
        let d = self.decide(req);
        explain::outcome_word(&d)
    }
    /// Prepare a plan and return the approved request (argv/cwd taken from the plan).
    pub fn approved(&self, req: &RunRequest, decision: &str) -> RunRequest {
        let plan =
            decide::prepare(req, &self.requested, &self.path, &self.fs).expect("prepare")["plan"]
                .clone();
        bind(req, plan, decision)
    }
}

/// Attach a plan + decision to a request, taking argv/cwd from the plan.
pub fn bind(req: &RunRequest, plan: Value, decision: &str) -> RunRequest {
    let mut r = req.clone();
    r.argv = plan["argv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    r.raw_command = None;
    r.cwd = plan["cwd"].as_str().map(str::to_string);
    r.approval_decision = openclaw_node::policy::types::ApprovalDecision::parse(decision);
    r.approved = true;
    r.plan = Some(plan);
    r
}

/// A hand-written plan matching `argv` exactly.
pub fn plan_for(argv: &[&str], cwd: Option<&str>) -> Value {
    let a: Vec<String> = argv.iter().map(|s| (*s).to_string()).collect();
    json!({
        "argv": a,
        "cwd": cwd,
        "commandText": openclaw_node::policy::analysis::format_exec_command(&a),
        "agentId": null,
        "sessionKey": null,
    })
}

pub fn argv(a: &[&str]) -> RunRequest {
    RunRequest::argv(a)
}

pub fn sh(payload: &str) -> RunRequest {
    RunRequest::shell(payload)
}

pub fn env_of(d: &Decision, key: &str) -> Option<String> {
    d.env.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}
