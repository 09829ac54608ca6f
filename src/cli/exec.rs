//! `openclaw-node exec`: the same policy decision + launcher as `system.run`, run locally.

use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct ExecArgs {
    /// The command to run.
    #[arg(last = true)]
    pub argv: Vec<String>,
}

pub fn run(args: ExecArgs) -> u8 {
    let _ = args;
    eprintln!("exec: not implemented yet");
    1
}
