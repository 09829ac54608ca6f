//! `install`, `status`, `stop`, `restart`, `uninstall` (see `crate::service`): flag parsing,
//! platform selection, and printing (exactly one JSON object on stdout with `--json`).

use std::path::PathBuf;

use clap::Args;

use super::run::RunArgs;
use crate::service::envelope::{ActionResponse, StatusResponse, to_json};
use crate::service::ops::{self, Backend, Outcome, StepError};
use crate::service::plan::{self, Explicit, InstallRequest, PlanContext, PlanError};
use crate::service::status;

#[derive(Debug, Clone, Args)]
#[command(
    mut_arg("host", |a| a.help("Gateway host (default: the one saved in node.json, else 127.0.0.1)")),
    mut_arg("port", |a| a.help("Gateway port (default: the one saved in node.json, else 18789)"))
)]
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
    /// Also delete the node's identity, node.json and exec approvals (kept by default).
    #[arg(long)]
    pub purge: bool,
}

/// Everything a command needs about this machine.
struct Env {
    backend: Box<dyn Backend>,
    state_dir: PathBuf,
    home: PathBuf,
}

fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

fn platform() -> Result<Env, StepError> {
    let os = std::env::consts::OS;
    if os != "linux" && os != "macos" {
        let (e, h) = ops::unsupported_platform(os);
        return Err(StepError::new(e, h));
    }
    let home = crate::service::home_dir()?;
    let state_dir = crate::service::absolute_state_dir()?;
    #[cfg(target_os = "macos")]
    let backend: Box<dyn Backend> = Box::new(
        crate::service::launchd::backend::LaunchdBackend::new(&home, &state_dir, version()),
    );
    #[cfg(not(target_os = "macos"))]
    let backend: Box<dyn Backend> =
        Box::new(crate::service::systemd::backend::SystemdBackend::new(
            crate::service::unit_name(),
            crate::service::systemd_user_dir()?,
            version(),
        ));
    Ok(Env {
        backend,
        state_dir,
        home,
    })
}

/// Print an outcome: JSON only, or progress on stdout and problems on stderr.
fn emit(outcome: Outcome, json: bool) -> u8 {
    let r: &ActionResponse = &outcome.response;
    if json {
        println!("{}", to_json(r));
        return outcome.exit;
    }
    for line in &outcome.progress {
        println!("{line}");
    }
    for w in &r.warnings {
        eprintln!("Warning: {w}");
    }
    if r.ok {
        if let Some(m) = &r.message {
            println!("{m}");
        }
        for h in &r.hints {
            println!("{h}");
        }
    } else {
        if let Some(e) = &r.error {
            eprintln!("{e}");
        }
        for h in &r.hints {
            eprintln!("Tip: {h}");
        }
    }
    outcome.exit
}

/// Which install flags were given: only those are recorded in node.json and override it.
fn explicit_flags(args: &InstallArgs) -> Explicit {
    let r = &args.run;
    Explicit {
        host: r.host.is_some(),
        port: r.port.is_some(),
        tls: r.tls,
        tls_fingerprint: r.tls_fingerprint.is_some(),
        node_id: r.node_id.is_some(),
        display_name: r.display_name.is_some(),
    }
}

fn env_var(k: &str) -> Option<String> {
    std::env::var(k).ok()
}

pub fn install(args: InstallArgs) -> u8 {
    // Flag errors first: they are usage errors (status 2) whatever the platform.
    if let Err(PlanError::Usage(e)) = plan::check_runtime(&args.runtime) {
        return emit(
            ops::early_failure("install", e, Vec::new(), crate::cli::EXIT_USAGE),
            args.json,
        );
    }
    if std::env::var("OPENCLAW_NIX_MODE").is_ok_and(|v| v == "1") {
        return emit(
            ops::early_failure(
                "install",
                "Nix mode detected (OPENCLAW_NIX_MODE=1); service install is disabled.".into(),
                Vec::new(),
                1,
            ),
            args.json,
        );
    }
    let env = match platform() {
        Ok(e) => e,
        Err(e) => {
            return emit(
                ops::early_failure("install", e.error, e.hints, 1),
                args.json,
            );
        }
    };
    let explicit = explicit_flags(&args);
    let r = &args.run;
    let req = InstallRequest {
        host: r.host_or_default().to_string(),
        port: r.port_or_default(),
        tls: r.tls,
        tls_fingerprint: r.tls_fingerprint.clone(),
        node_id: r.node_id.clone(),
        display_name: r.display_name.clone(),
        explicit,
        runtime: args.runtime.clone(),
    };
    let install_failed = |e: &dyn std::fmt::Display| {
        emit(
            ops::early_failure(
                "install",
                format!("Node install failed: {e}"),
                Vec::new(),
                1,
            ),
            args.json,
        )
    };
    let saved = match crate::service::node_json::read(&env.state_dir) {
        Ok(s) => s,
        Err(e) => return install_failed(&e),
    };
    let program = match plan::resolve_program() {
        Ok(p) => p,
        Err(e) => return install_failed(&e),
    };
    let ctx = PlanContext {
        program,
        home: env.home.clone(),
        state_dir: env.state_dir.clone(),
        version: version(),
        os: std::env::consts::OS.to_string(),
        unit_base: env.backend.name().trim_end_matches(".service").to_string(),
    };
    let built = plan::build(&req, saved.as_ref(), &ctx, &env_var);
    let built = match built {
        Ok(p) => Ok(p),
        Err(PlanError::Usage(e)) => {
            return emit(
                ops::early_failure("install", e, Vec::new(), crate::cli::EXIT_USAGE),
                args.json,
            );
        }
        Err(PlanError::Service(e)) => Err(StepError::from(e)),
    };
    emit(
        ops::install(env.backend.as_ref(), built, args.force, &env.state_dir),
        args.json,
    )
}

pub fn status(args: JsonArgs) -> u8 {
    let env = match platform() {
        Ok(e) => e,
        Err(e) => {
            // Status always exits 0; report what we can.
            if args.json {
                let v = serde_json::json!({"service": {
                    "label": "unsupported", "loaded": false, "loadedText": "enabled",
                    "notLoadedText": "disabled", "command": null,
                    "runtime": {"status": "unknown", "detail": e.error},
                    "hints": e.hints,
                }});
                println!("{}", to_json(&v));
            } else {
                eprintln!("{}", e.error);
                for h in &e.hints {
                    eprintln!("Tip: {h}");
                }
            }
            return 0;
        }
    };
    let s = status::status(env.backend.as_ref(), &env.state_dir);
    if args.json {
        println!("{}", to_json(&StatusResponse { service: s }));
    } else {
        let (out, err) = status::render_status_text(&s, &env.backend.log_hints());
        print!("{out}");
        eprint!("{err}");
    }
    0
}

pub fn stop(args: JsonArgs) -> u8 {
    match platform() {
        Ok(env) => emit(ops::stop(env.backend.as_ref()), args.json),
        Err(e) => emit(ops::early_failure("stop", e.error, e.hints, 1), args.json),
    }
}

pub fn restart(args: JsonArgs) -> u8 {
    match platform() {
        Ok(env) => emit(ops::restart(env.backend.as_ref()), args.json),
        Err(e) => emit(
            ops::early_failure("restart", e.error, e.hints, 1),
            args.json,
        ),
    }
}

pub fn uninstall(args: UninstallArgs) -> u8 {
    if std::env::var("OPENCLAW_NIX_MODE").is_ok_and(|v| v == "1") {
        return emit(
            ops::early_failure(
                "uninstall",
                "Nix mode detected (OPENCLAW_NIX_MODE=1); service uninstall is disabled.".into(),
                Vec::new(),
                1,
            ),
            args.json,
        );
    }
    match platform() {
        Ok(env) => emit(
            ops::uninstall(env.backend.as_ref(), &env.state_dir, args.purge),
            args.json,
        ),
        Err(e) => emit(
            ops::early_failure("uninstall", e.error, e.hints, 1),
            args.json,
        ),
    }
}
