//! `openclaw-node policy …`: inspect the exec policy (`policy explain`).

use clap::Subcommand;

#[derive(Debug, Clone, Subcommand)]
pub enum PolicyCommand {
    /// Explain how the approvals file decides a command.
    Explain,
}

pub fn run(cmd: PolicyCommand) -> u8 {
    let _ = cmd;
    eprintln!("policy explain: not implemented yet");
    1
}
