//! `openclaw-node-try-syscall`: the escape suite's attack helper; the probes live in
//! `openclaw_node::sandbox::try_syscall` (the only module allowed `unsafe` is `sandbox`).

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(openclaw_node::sandbox::try_syscall::main_with_args(&args));
}
