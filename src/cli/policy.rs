//! `openclaw-node policy …`: inspect the exec policy (`policy explain`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::policy::approvals::Store;
use crate::policy::compiled::CompiledPolicy;
use crate::policy::decide::{self, Context};
use crate::policy::fsview::{FsView, RealFs};
use crate::policy::plan::RunRequest;
use crate::policy::resolve::Requested;
use crate::policy::types::{Ask, Security};
use crate::policy::{ExecConfig, explain};

#[derive(Debug, Clone, Subcommand)]
pub enum PolicyCommand {
    /// Explain how the approvals file decides a command (read-only: nothing is written).
    Explain(ExplainArgs),
}

/// `policy explain` arguments.
#[derive(Debug, Clone, Args)]
pub struct ExplainArgs {
    /// Approvals file (default: <state>/exec-approvals.json).
    #[arg(long, value_name = "FILE")]
    pub approvals: Option<PathBuf>,
    /// Agent id (default: main).
    #[arg(long, value_name = "ID")]
    pub agent: Option<String>,
    /// Request working directory.
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<String>,
    /// Requested (gateway-side) security, combined with the file (default: full, so the file
    /// decides; where the file is silent too, the node's conservative built-in allowlist applies).
    #[arg(long, value_parser = ["deny", "allowlist", "full"])]
    pub security: Option<String>,
    /// Requested (gateway-side) ask, combined with the file (default: off, so the file decides;
    /// where the file is silent too, the built-in on-miss applies).
    #[arg(long, value_parser = ["off", "on-miss", "always"])]
    pub ask: Option<String>,
    /// Request env override (`system.run` `env`), repeatable.
    #[arg(long = "env", value_name = "K=V")]
    pub env: Vec<String>,
    /// The node's own PATH used for resolution (default: the caller's PATH).
    #[arg(long, value_name = "DIRS")]
    pub path: Option<String>,
    /// Turn on `strictInlineEval`.
    #[arg(long)]
    pub strict_inline_eval: bool,
    /// Analyse PAYLOAD as `["/bin/sh","-lc",PAYLOAD]` with rawCommand PAYLOAD.
    #[arg(long, value_name = "PAYLOAD", conflicts_with = "argv")]
    pub shell: Option<String>,
    /// Print one JSON object instead of the human explanation.
    #[arg(long)]
    pub json: bool,
    /// The command argv (after `--`).
    #[arg(last = true, value_name = "ARGV")]
    pub argv: Vec<String>,
}

pub fn run(cmd: PolicyCommand) -> u8 {
    match cmd {
        PolicyCommand::Explain(args) => explain_cmd(args),
    }
}

fn usage(msg: &str) -> u8 {
    eprintln!("error: {msg}");
    crate::cli::EXIT_USAGE
}

fn explain_cmd(args: ExplainArgs) -> u8 {
    let mut req = match (&args.shell, args.argv.is_empty()) {
        (Some(p), _) => RunRequest::shell(p),
        (None, false) => RunRequest::argv(&args.argv),
        (None, true) => return usage("give --shell 'PAYLOAD' or -- ARGV..."),
    };
    let mut env = BTreeMap::new();
    for kv in &args.env {
        match kv.split_once('=') {
            Some((k, v)) => {
                env.insert(k.to_string(), v.to_string());
            }
            None => return usage(&format!("--env expects K=V, got {kv:?}")),
        }
    }
    req.env = env;
    req.cwd = args.cwd.clone();
    req.agent_id = args.agent.clone();
    let state = crate::config::state_dir().ok();
    let approvals = match (&args.approvals, &state) {
        (Some(p), _) => p.clone(),
        (None, Some(s)) => s.join("exec-approvals.json"),
        (None, None) => return usage("cannot find the state directory; pass --approvals FILE"),
    };
    let snap = match Store::new(approvals.clone()).read_snapshot() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return crate::cli::EXIT_CONFIG;
        }
    };
    let fs = RealFs::from_env();
    let compiled = CompiledPolicy::compile(snap.file, snap.hash, snap.status, fs.home().as_deref());
    let agent = args.agent.as_deref().unwrap_or("main");
    let cfg_value = state
        .as_ref()
        .and_then(|s| crate::config::load_openclaw_json(s).ok())
        .unwrap_or(serde_json::Value::Null);
    let cfg = ExecConfig::from_openclaw_json(&cfg_value, agent);
    let requested = Requested {
        security: args
            .security
            .as_deref()
            .and_then(Security::parse)
            .unwrap_or(Security::Full),
        ask: args.ask.as_deref().and_then(Ask::parse).unwrap_or(Ask::Off),
        security_source: if args.security.is_some() {
            "--security"
        } else {
            "built-in"
        }
        .into(),
        ask_source: if args.ask.is_some() {
            "--ask"
        } else {
            "built-in"
        }
        .into(),
        // Flags stand for the gateway-side request; like `tools.exec`, an explicit flag is
        // also the host fallback when the approvals file is silent.
        security_configured: args.security.is_some(),
        ask_configured: args.ask.is_some(),
    };
    let node_path = args
        .path
        .clone()
        .or_else(|| std::env::var("PATH").ok())
        .unwrap_or_else(|| crate::policy::env::DEFAULT_NODE_PATH.to_string());
    let inherited: Vec<(String, String)> = std::env::vars().collect();
    let ctx = Context {
        requested,
        strict_inline_eval: args.strict_inline_eval || cfg.strict_inline_eval,
        safe_bins: &cfg.safe_bins,
        skills: &[],
        node_path: &node_path,
        inherited_env: &inherited,
    };
    let d = decide::decide(&compiled, &req, &ctx, &fs);
    if args.json {
        println!("{}", explain::to_json(&d));
    } else {
        if let crate::policy::approvals::FileStatus::Invalid(m) = &compiled.status {
            println!(
                "approvals file {} is invalid ({m}); failing closed",
                approvals.display()
            );
        }
        print!("{}", explain::to_human(&d));
    }
    0
}
