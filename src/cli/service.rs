//! `install`, `status`, `stop`, `restart`, `uninstall` (see `crate::service`).

use clap::Args;

use super::run::RunArgs;

#[derive(Debug, Clone, Args)]
pub struct InstallArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Runtime: `native` (default); `node`/`bun` are accepted for compatibility and ignored.
    #[arg(long, default_value = "native")]
    pub runtime: String,
    /// Reinstall over an existing service.
    #[arg(long)]
    pub force: bool,
    /// Print exactly one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct JsonArgs {
    /// Print exactly one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct UninstallArgs {
    /// Print exactly one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

fn not_yet() -> u8 {
    eprintln!("service management: not implemented yet");
    1
}
pub fn install(_args: InstallArgs) -> u8 {
    not_yet()
}
pub fn status(_args: JsonArgs) -> u8 {
    not_yet()
}
pub fn stop(_args: JsonArgs) -> u8 {
    not_yet()
}
pub fn restart(_args: JsonArgs) -> u8 {
    not_yet()
}
pub fn uninstall(_args: UninstallArgs) -> u8 {
    not_yet()
}
