//! `openclaw-node run`: connect to the Gateway and serve (see `crate::gateway`).

use clap::Args;

/// Gateway connection flags, shared by `run` and `install`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Gateway host.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Gateway port.
    #[arg(long, default_value_t = 18789)]
    pub port: u16,
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

pub fn run(args: RunArgs) -> u8 {
    let _ = args;
    eprintln!("openclaw-node run: not implemented yet");
    1
}
