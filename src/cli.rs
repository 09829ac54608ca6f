//! The command line: top-level parsing, logging set-up and dispatch. Each subcommand family lives
//! in its own file under `cli/` and returns the process exit code.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod exec;
pub mod node_host;
pub mod policy;
pub mod run;
pub mod sandbox;
pub mod service;

/// Exit status for configuration errors (`EX_CONFIG`): the service unit does not restart on it.
pub const EXIT_CONFIG: u8 = 78;
/// Exit status for usage errors.
pub const EXIT_USAGE: u8 = 2;

/// A sandboxed, policy-engine-centric OpenClaw node host.
#[derive(Debug, Parser)]
#[command(name = "openclaw-node", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Connect to a Gateway and serve node commands (foreground).
    Run(run::RunArgs),
    /// Install the node host as a user service.
    Install(service::InstallArgs),
    /// Show the service state.
    Status(service::JsonArgs),
    /// Stop the service.
    Stop(service::JsonArgs),
    /// Restart the service.
    Restart(service::JsonArgs),
    /// Stop, disable and remove the service.
    Uninstall(service::UninstallArgs),
    /// Inspect the exec policy.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// Run a command locally exactly as `system.run` from the Gateway would.
    Exec(exec::ExecArgs),
    /// Inspect what this machine's kernel can enforce.
    #[command(subcommand)]
    Sandbox(sandbox::SandboxCommand),
}

/// Parse arguments, set up logging and run the chosen subcommand.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    init_tracing();
    let code = match cli.command {
        Command::Run(args) => run::run(args),
        Command::Install(args) => service::install(args),
        Command::Status(args) => service::status(args),
        Command::Stop(args) => service::stop(args),
        Command::Restart(args) => service::restart(args),
        Command::Uninstall(args) => service::uninstall(args),
        Command::Policy(cmd) => policy::run(cmd),
        Command::Exec(args) => exec::run(args),
        Command::Sandbox(cmd) => sandbox::run(cmd),
    };
    ExitCode::from(code)
}

/// Human-readable logs on stderr, filtered by `RUST_LOG` (default `info`).
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
