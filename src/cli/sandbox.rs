//! `openclaw-node sandbox check`: what this machine can enforce.

use clap::Subcommand;

#[derive(Debug, Clone, Subcommand)]
pub enum SandboxCommand {
    /// Print what this kernel can enforce and what each profile will do.
    Check,
}

pub fn run(cmd: SandboxCommand) -> u8 {
    let _ = cmd;
    eprintln!("sandbox check: not implemented yet");
    1
}
