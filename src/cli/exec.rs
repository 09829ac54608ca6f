//! `openclaw-node exec`: the same policy decision + launcher as `system.run`, run locally, so lab
//! admins can test their allowlists and sandbox profile before exposing the node.
//!
//! Exit status: the child's exit code; `128 + n` when it died by signal `n`; `124` when it timed
//! out without an exit code; `126` when the policy denied the run or the sandbox refused it (the
//! kernel cannot enforce the profile); `2` for an invalid request; `78` for an invalid
//! configuration.

use std::path::PathBuf;
use std::str::FromStr;

use clap::Args;

use tokio_util::sync::CancellationToken;

use crate::cli::node_host::NodeHostConfig;
use crate::cli::{EXIT_CONFIG, EXIT_USAGE};
use crate::config::state_dir;
use crate::policy::plan::RunRequest;
use crate::policy::{PolicyEngine, PolicyPaths, RunDecision};
use crate::sandbox::{Launcher, Profile, RunOutcome};

/// Exit status when the policy denies a run or the sandbox refuses it.
pub const EXIT_DENIED: u8 = 126;
/// Exit status of a timed-out run that has no exit code.
pub const EXIT_TIMEOUT: u8 = 124;

#[derive(Debug, Clone, Args)]
pub struct ExecArgs {
    /// Attribute the run to this agent (per-agent allowlists and sandbox overrides).
    #[arg(long = "agent", value_name = "ID")]
    pub agent: Option<String>,
    /// Working directory of the run (default: the current directory).
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<PathBuf>,
    /// Timeout in milliseconds (the sandbox's default/maximum apply).
    #[arg(long = "timeout-ms", value_name = "N")]
    pub timeout_ms: Option<u64>,
    /// Sandbox profile for this run: standard, strict or off (overrides node-host.json5).
    #[arg(long, value_name = "P")]
    pub profile: Option<String>,
    /// Print the `system.run` result payload as JSON instead of the output.
    #[arg(long)]
    pub json: bool,
    /// Run a shell payload as the Gateway does: `/bin/sh -lc PAYLOAD`.
    #[arg(long, value_name = "PAYLOAD", conflicts_with = "argv")]
    pub shell: Option<String>,
    /// The command to run.
    #[arg(last = true)]
    pub argv: Vec<String>,
}

/// The `system.run` params the Gateway would send for these arguments.
/// The typed request for the command line's arguments (no wire JSON in between).
pub fn build_request(args: &ExecArgs) -> Result<RunRequest, String> {
    let mut req = match (&args.shell, args.argv.is_empty()) {
        (Some(payload), _) => RunRequest::shell(payload),
        (None, false) => RunRequest::argv(&args.argv),
        (None, true) => {
            return Err("nothing to run: give --shell 'PAYLOAD' or -- ARGV...".into());
        }
    };
    req.cwd = args
        .cwd
        .as_ref()
        .map(|p| p.to_string_lossy().trim().to_string())
        .filter(|c| !c.is_empty());
    if let Some(t) = args.timeout_ms {
        if t == 0 {
            return Err("--timeout-ms must be a positive number of milliseconds".into());
        }
        req.timeout_ms = Some(t);
    }
    req.agent_id = args.agent.clone();
    Ok(req)
}

/// The process exit status for a finished run.
pub fn exit_status(o: &RunOutcome) -> u8 {
    if let Some(code) = o.exit_code {
        return (code & 0xff) as u8;
    }
    let signal = o
        .error
        .as_deref()
        .and_then(|e| e.rsplit(' ').next())
        .and_then(|name| nix::sys::signal::Signal::from_str(name).ok());
    match (signal, o.timed_out) {
        (_, true) => EXIT_TIMEOUT,
        (Some(sig), false) => 128u8.saturating_add(sig as i32 as u8),
        (None, false) => 1,
    }
}

pub fn run(args: ExecArgs) -> u8 {
    let request = match build_request(&args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("openclaw-node exec: {e}");
            return EXIT_USAGE;
        }
    };
    let state = match state_dir() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("openclaw-node exec: {e}");
            return EXIT_CONFIG;
        }
    };
    let mut config = match NodeHostConfig::load(&state) {
        Ok(c) => c.sandbox,
        Err(e) => {
            eprintln!("openclaw-node exec: {e}");
            return EXIT_CONFIG;
        }
    };
    if let Some(p) = &args.profile {
        if Profile::parse(p).is_none() {
            eprintln!("openclaw-node exec: --profile {p:?}: expected standard, strict or off");
            return EXIT_USAGE;
        }
        config.profile = Some(p.clone());
        for over in config.agents.values_mut() {
            over.profile = None;
        }
    }
    let launcher = match Launcher::new(&config) {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "openclaw-node exec: {}: {e}",
                crate::config::node_host_config_path(&state).display()
            );
            return EXIT_CONFIG;
        }
    };
    let node_path = std::env::var("PATH")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| crate::util::DEFAULT_PATH.into());
    let engine = PolicyEngine::new(
        PolicyPaths {
            approvals: state.join("exec-approvals.json"),
            state_dir: state.clone(),
        },
        node_path,
    );
    let plan = match engine.evaluate(&request) {
        RunDecision::Invalid { message, .. } => {
            eprintln!("openclaw-node exec: invalid request: {message}");
            return EXIT_USAGE;
        }
        RunDecision::Denied {
            reason, message, ..
        } => {
            eprintln!("openclaw-node exec: denied ({reason}): {message}");
            return EXIT_DENIED;
        }
        RunDecision::Allowed { plan, .. } => plan,
    };
    let req = crate::commands::launch_request(plan);
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("openclaw-node exec: cannot start the runtime: {e}");
            return 1;
        }
    };
    let outcome = rt.block_on(async {
        let cancel = CancellationToken::new();
        let on_signal = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                on_signal.cancel();
            }
        });
        launcher.run(req, cancel).await
    });
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            eprintln!("openclaw-node exec: refused: {e}");
            return EXIT_DENIED;
        }
    };
    if args.json {
        match serde_json::to_string(&outcome) {
            Ok(s) => println!("{s}"),
            Err(e) => eprintln!("openclaw-node exec: {e}"),
        }
    } else {
        use std::io::Write;
        let _ = std::io::stdout().write_all(outcome.stdout.as_bytes());
        let _ = std::io::stderr().write_all(outcome.stderr.as_bytes());
        if let Some(e) = &outcome.error {
            eprintln!("openclaw-node exec: {e}");
        }
        if outcome.timed_out {
            eprintln!("openclaw-node exec: timed out");
        }
    }
    exit_status(&outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct T {
        #[command(flatten)]
        a: ExecArgs,
    }

    fn parse(v: &[&str]) -> ExecArgs {
        T::try_parse_from(std::iter::once("exec").chain(v.iter().copied()))
            .unwrap()
            .a
    }

    #[test]
    fn shell_payload_is_wrapped_like_the_gateway_does() {
        let r = build_request(&parse(&["--shell", "ls | wc -l", "--agent", "ops"])).unwrap();
        let mut want = RunRequest::shell("ls | wc -l");
        want.agent_id = Some("ops".into());
        assert_eq!(r, want);
    }

    #[test]
    fn argv_form_with_cwd_and_timeout() {
        let r = build_request(&parse(&[
            "--cwd",
            "/srv",
            "--timeout-ms",
            "500",
            "--",
            "ls",
            "-l",
        ]))
        .unwrap();
        let mut want = RunRequest::argv(&["ls", "-l"]);
        want.cwd = Some("/srv".into());
        want.timeout_ms = Some(500);
        assert_eq!(r, want);
        assert!(build_request(&parse(&["--timeout-ms", "0", "--", "ls"])).is_err());
    }

    #[test]
    fn nothing_to_run_is_a_usage_error() {
        assert!(build_request(&parse(&[])).is_err());
    }

    #[test]
    fn exit_status_mapping() {
        let mut o = RunOutcome {
            exit_code: Some(3),
            timed_out: false,
            success: false,
            stdout: String::new(),
            stderr: String::new(),
            error: None,
        };
        assert_eq!(exit_status(&o), 3);
        o.exit_code = None;
        o.error = Some("process killed by signal SIGKILL".into());
        assert_eq!(exit_status(&o), 137);
        o.timed_out = true;
        assert_eq!(exit_status(&o), 124);
        o.timed_out = false;
        o.error = Some("spawn x failed".into());
        assert_eq!(exit_status(&o), 1);
    }
}
