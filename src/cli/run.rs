//! `openclaw-node run`: connect to the Gateway and serve (see `crate::gateway`).
//!
//! Exit status: 0 after SIGINT/SIGTERM (in-flight runs killed, socket closed cleanly), 78
//! (`EX_CONFIG`) for configuration errors — bad flag value, invalid `node-host.json5`, corrupt
//! state file, credentials the gateway rejects — so the service unit does not restart-loop.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::browser::BrowserProxy;
use crate::cli::EXIT_CONFIG;
use crate::cli::node_host::NodeHostConfig;
use crate::commands::{DEFAULT_PATH, NodeCommands};
use crate::config;
use crate::gateway::state::GatewayAddress;
use crate::gateway::status::StatusGateway;
use crate::gateway::tls::{TlsMode, normalize_fingerprint};
use crate::gateway::{
    ClientConfig, ClientError, DeviceAuthStore, DeviceIdentity, GatewayClient, NodeState,
    StatusWriter,
};
use crate::policy::{PolicyEngine, PolicyPaths};
use crate::sandbox::Launcher;
use crate::service::plan::{DEFAULT_HOST, DEFAULT_PORT};

/// Gateway connection flags, shared by `run` and `install`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Gateway host (default: 127.0.0.1).
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
    /// Gateway port (default: 18789).
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,
    /// Connect with TLS (wss://).
    #[arg(long)]
    pub tls: bool,
    /// Pin the gateway's leaf certificate by its SHA-256 fingerprint (implies --tls).
    #[arg(long, value_name = "SHA256")]
    pub tls_fingerprint: Option<String>,
    /// Override the node id (clears the legacy pairing token).
    #[arg(long, value_name = "ID")]
    pub node_id: Option<String>,
    /// Display name shown on the Gateway.
    #[arg(long, value_name = "NAME")]
    pub display_name: Option<String>,
}

impl RunArgs {
    /// `--host`, or 127.0.0.1 when not given (what `run` connects to).
    pub fn host_or_default(&self) -> &str {
        self.host.as_deref().unwrap_or(DEFAULT_HOST)
    }

    /// `--port`, or 18789 when not given (what `run` connects to).
    pub fn port_or_default(&self) -> u16 {
        self.port.unwrap_or(DEFAULT_PORT)
    }
}

/// A configuration problem: printed, then exit 78.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct ConfigProblem(String);

/// Everything `run` needs, resolved from flags, environment and state files.
struct Prepared {
    state_dir: PathBuf,
    client: ClientConfig,
    identity: DeviceIdentity,
    auth: DeviceAuthStore,
    node_host: NodeHostConfig,
}

fn machine_name() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .filter(|h| !h.trim().is_empty())
        .unwrap_or_else(|| "openclaw-node".to_string())
}

fn env_secret(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn prepare(args: &RunArgs) -> Result<Prepared, ConfigProblem> {
    let bad = |m: String| ConfigProblem(m);
    let host = args.host_or_default().trim().to_string();
    if host.is_empty() {
        return Err(bad("--host must not be empty".into()));
    }
    let port = args.port_or_default();
    if port == 0 {
        return Err(bad("--port must be between 1 and 65535".into()));
    }
    let pin = match &args.tls_fingerprint {
        Some(fp) => Some(normalize_fingerprint(fp).ok_or_else(|| {
            bad(format!(
                "--tls-fingerprint {fp:?} is not a SHA-256 fingerprint (64 hex digits, colons \
                 optional)"
            ))
        })?),
        None => None,
    };
    let tls = match pin {
        Some(fp) => Some(TlsMode::Pinned(fp)),
        None if args.tls => Some(TlsMode::WebPki),
        None => None,
    };
    if tls.is_none()
        && !crate::gateway::client::is_loopback_host(&host)
        && std::env::var("OPENCLAW_ALLOW_INSECURE_PRIVATE_WS")
            .ok()
            .as_deref()
            != Some("1")
    {
        return Err(bad(format!(
            "gateway URL \"ws://{host}:{port}\" uses plaintext ws:// to a non-loopback address. Use \
             --tls (and --tls-fingerprint for a self-signed gateway certificate), or set \
             OPENCLAW_ALLOW_INSECURE_PRIVATE_WS=1 on a trusted private network.",
        )));
    }
    let state_dir = config::state_dir().map_err(|e| bad(e.to_string()))?;
    let node_host = NodeHostConfig::load(&state_dir).map_err(|e| bad(e.to_string()))?;

    let mut node = NodeState::load(&state_dir).map_err(|e| bad(e.to_string()))?;
    if let Some(id) = args.node_id.as_deref().map(str::trim) {
        if id.is_empty() {
            return Err(bad("--node-id must not be empty".into()));
        }
        node.override_node_id(id);
    }
    if let Some(name) = args.display_name.as_deref().map(str::trim) {
        if name.is_empty() {
            return Err(bad("--display-name must not be empty".into()));
        }
        node.display_name = Some(name.to_string());
    }
    let display_name = node
        .display_name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(machine_name);
    let mut gw = node.gateway.clone().unwrap_or_default();
    gw.host = Some(host.clone());
    gw.port = Some(port);
    gw.tls = Some(tls.is_some());
    gw.tls_fingerprint = match &tls {
        Some(TlsMode::Pinned(fp)) => Some(fp.clone()),
        _ => None,
    };
    node.gateway = Some(GatewayAddress { ..gw });
    node.save(&state_dir).map_err(|e| bad(e.to_string()))?;

    let identity = DeviceIdentity::load_or_create(&state_dir).map_err(|e| bad(e.to_string()))?;
    let auth =
        DeviceAuthStore::load(&state_dir, identity.device_id()).map_err(|e| bad(e.to_string()))?;

    let path_env = std::env::var("PATH")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| DEFAULT_PATH.to_string());
    let mut client = ClientConfig::new(host, port);
    client.tls = tls;
    client.display_name = Some(display_name);
    client.instance_id = Some(node.node_id.clone());
    client.path_env = path_env;
    client.token = env_secret("OPENCLAW_GATEWAY_TOKEN");
    client.password = env_secret("OPENCLAW_GATEWAY_PASSWORD");
    Ok(Prepared {
        state_dir,
        client,
        identity,
        auth,
        node_host,
    })
}

pub fn run(args: RunArgs) -> u8 {
    let started = std::time::Instant::now();
    let prepared = match prepare(&args) {
        Ok(p) => p,
        Err(e) => {
            error!("configuration error: {e}");
            eprintln!("openclaw-node run: {e}");
            return EXIT_CONFIG;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(64)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("openclaw-node run: cannot start the async runtime: {e}");
            return 1;
        }
    };
    let mut prepared = prepared;
    prepared.client.started = started;
    runtime.block_on(serve(prepared))
}

async fn serve(p: Prepared) -> u8 {
    let Prepared {
        state_dir,
        client,
        identity,
        auth,
        node_host,
    } = p;
    println!("node host PATH: {}", client.path_env);
    let launcher = match Launcher::new(&node_host.sandbox) {
        Ok(l) => Arc::new(l),
        Err(e) => {
            eprintln!(
                "openclaw-node run: {e} (check the `sandbox` section of {})",
                config::node_host_config_path(&state_dir).display()
            );
            return EXIT_CONFIG;
        }
    };
    let policy = Arc::new(PolicyEngine::new(
        PolicyPaths {
            approvals: state_dir.join("exec-approvals.json"),
            state_dir: state_dir.clone(),
        },
        client.path_env.clone(),
    ));
    let browser = Arc::new(BrowserProxy::new(
        state_dir.clone(),
        client.port,
        node_host.browser_proxy.clone(),
    ));
    let commands = Arc::new(NodeCommands::new(
        policy,
        launcher,
        Some(browser.clone()),
        client.path_env.clone(),
    ));
    let status = Arc::new(StatusWriter::new(
        Some(&state_dir),
        StatusGateway {
            host: client.host.clone(),
            port: client.port,
            tls: client.tls.is_some(),
        },
        Some(identity.device_id().to_string()),
        client.display_name.clone(),
    ));
    info!(
        "node {} ({}), state in {}",
        identity.device_id(),
        client.display_name.as_deref().unwrap_or(""),
        state_dir.display()
    );
    if client.token.is_none() && client.password.is_none() && auth.token("node").is_none() {
        warn!(
            "no gateway credentials: set OPENCLAW_GATEWAY_TOKEN (or OPENCLAW_GATEWAY_PASSWORD) \
             unless the gateway runs without auth"
        );
    }
    let gw = match GatewayClient::new(client, identity, auth, status.clone()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("openclaw-node run: {e}");
            return EXIT_CONFIG;
        }
    };
    let shutdown = CancellationToken::new();
    spawn_signal_watch(shutdown.clone());
    let result = gw.run(commands, shutdown).await;
    browser.shutdown().await;
    match result {
        Ok(()) => {
            info!("stopped");
            0
        }
        Err(e @ ClientError::Auth { .. }) => {
            error!("{e}");
            EXIT_CONFIG
        }
        Err(e) => {
            error!("{e}");
            EXIT_CONFIG
        }
    }
}

fn spawn_signal_watch(shutdown: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    tokio::spawn(async move {
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            warn!("cannot install signal handlers");
            return;
        };
        tokio::select! {
            _ = term.recv() => info!("SIGTERM: stopping"),
            _ = int.recv() => info!("SIGINT: stopping"),
        }
        shutdown.cancel();
    });
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::cli::{Cli, Command};

    fn run_args(argv: &[&str]) -> super::RunArgs {
        let cli = Cli::try_parse_from(argv).unwrap();
        match cli.command {
            Command::Run(a) => a,
            other => panic!("not run: {other:?}"),
        }
    }

    #[test]
    fn run_without_flags_connects_to_127_0_0_1_18789() {
        let a = run_args(&["openclaw-node", "run"]);
        assert_eq!(a.host, None);
        assert_eq!(a.port, None);
        assert_eq!(a.host_or_default(), "127.0.0.1");
        assert_eq!(a.port_or_default(), 18789);
    }

    #[test]
    fn run_flags_override_the_defaults() {
        let a = run_args(&["openclaw-node", "run", "--host", "gw.lan", "--port", "443"]);
        assert_eq!(a.host_or_default(), "gw.lan");
        assert_eq!(a.port_or_default(), 443);
    }

    #[test]
    fn run_help_states_the_defaults_it_applies() {
        use clap::CommandFactory;
        let mut cmd = Cli::command();
        let help = cmd
            .find_subcommand_mut("run")
            .unwrap()
            .render_help()
            .to_string();
        assert!(help.contains("Gateway host (default: 127.0.0.1)"), "{help}");
        assert!(help.contains("Gateway port (default: 18789)"), "{help}");
        assert!(!help.contains("[default:"), "{help}");
    }
}
