//! `openclaw-node` binary entry point: everything lives in the library crate.

fn main() -> std::process::ExitCode {
    openclaw_node::cli::main()
}
