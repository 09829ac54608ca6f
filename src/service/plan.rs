//! What `install` writes: the service command line, the inline (non-secret) environment, the
//! secrets for the environment file, the `node.json` update, and warnings. Pure apart from
//! [`resolve_program`], which looks at the running executable.

use std::path::{Path, PathBuf};

use super::envfile::MANAGED_KEYS;
use super::node_json::{NodeJsonUpdate, saved_gateway, saved_node_id};
use super::{ServiceError, check_no_control};
use crate::gateway::state::NodeState;

/// Default gateway host and port (as `run`).
pub const DEFAULT_HOST: &str = "127.0.0.1";
pub const DEFAULT_PORT: u16 = 18789;

/// Which connection flags were given on the command line (vs. clap defaults).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Explicit {
    pub host: bool,
    pub port: bool,
    pub tls: bool,
    pub tls_fingerprint: bool,
    pub node_id: bool,
    pub display_name: bool,
}

/// The `install` request after flag parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallRequest {
    pub host: String,
    pub port: u16,
    pub tls: bool,
    pub tls_fingerprint: Option<String>,
    pub node_id: Option<String>,
    pub display_name: Option<String>,
    pub explicit: Explicit,
    pub runtime: String,
}

/// Where the service will find things.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanContext {
    pub program: PathBuf,
    pub home: PathBuf,
    pub state_dir: PathBuf,
    pub version: String,
    /// `linux` or `macos` (selects PATH and marker variables).
    pub os: String,
    /// systemd unit base name (without `.service`).
    pub unit_base: String,
}

/// The effective gateway endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub tls: bool,
    pub tls_fingerprint: Option<String>,
}

impl Endpoint {
    pub fn url(&self) -> String {
        let scheme = if self.tls { "wss" } else { "ws" };
        if self.host.contains(':') && !self.host.starts_with('[') {
            format!("{scheme}://[{}]:{}", self.host, self.port)
        } else {
            format!("{scheme}://{}:{}", self.host, self.port)
        }
    }
}

/// Everything `install` writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallPlan {
    /// Full argv, absolute program first.
    pub argv: Vec<String>,
    pub environment: Vec<(String, String)>,
    pub secrets: Vec<(String, String)>,
    pub node_json: NodeJsonUpdate,
    pub endpoint: Endpoint,
    pub warnings: Vec<String>,
}

/// Why a plan could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// Bad flag value (exit status 2).
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// Validate `--runtime`: `native` (default); `node`/`bun` accepted with a warning.
pub fn check_runtime(runtime: &str) -> Result<Option<String>, PlanError> {
    match runtime.trim().to_ascii_lowercase().as_str() {
        "" | "native" => Ok(None),
        r @ ("node" | "bun") => Ok(Some(format!(
            "--runtime {r} has no effect: openclaw-node is a native binary (the flag is accepted for compatibility with `openclaw node install`)."
        ))),
        other => Err(PlanError::Usage(format!(
            "Invalid --runtime {other:?} (use \"native\"; \"node\" and \"bun\" are accepted for compatibility)"
        ))),
    }
}

/// Normalise a SHA-256 fingerprint (drop `sha256:` prefix and separators, lower-case); `None`
/// unless it has exactly 64 hex digits.
pub fn normalize_fingerprint(fp: &str) -> Option<String> {
    let t = fp.trim();
    let lower = t.to_ascii_lowercase();
    let body = lower
        .strip_prefix("sha256:")
        .or_else(|| lower.strip_prefix("sha-256:"))
        .unwrap_or(&lower);
    if !body
        .chars()
        .all(|c| c.is_ascii_hexdigit() || matches!(c, ':' | ' ' | '-'))
    {
        return None;
    }
    let hex: String = body.chars().filter(char::is_ascii_hexdigit).collect();
    (hex.len() == 64).then_some(hex)
}

fn check_host(host: &str) -> Result<String, PlanError> {
    let h = host.trim();
    if h.is_empty()
        || h.chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '/')
    {
        return Err(PlanError::Usage(format!(
            "Invalid --host {host:?}: expected a host name or IP address"
        )));
    }
    Ok(h.to_string())
}

/// Plaintext `ws://` is only accepted by `run` for loopback/private/`.local`/`.ts.net` hosts.
fn plaintext_ok(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    if h.eq_ignore_ascii_case("localhost") || h.ends_with(".local") || h.ends_with(".ts.net") {
        return true;
    }
    match h.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => v4.is_loopback() || v4.is_private() || v4.is_link_local(),
        Ok(std::net::IpAddr::V6(v6)) => v6.is_loopback() || (v6.segments()[0] & 0xfe00) == 0xfc00,
        Err(_) => false,
    }
}

/// The minimal service PATH: user tool dirs, then system dirs (with sbin, complaint 4).
pub fn service_path(home: &Path, os: &str, env: &dyn Fn(&str) -> Option<String>) -> String {
    let mut dirs: Vec<String> = Vec::new();
    let mut push = |d: String| {
        if !d.is_empty() && !dirs.contains(&d) {
            dirs.push(d);
        }
    };
    if let Some(p) = env("PNPM_HOME") {
        push(p);
    }
    for (var, sub) in [
        ("NPM_CONFIG_PREFIX", "bin"),
        ("BUN_INSTALL", "bin"),
        ("VOLTA_HOME", "bin"),
        ("ASDF_DATA_DIR", "shims"),
        ("CARGO_HOME", "bin"),
    ] {
        if let Some(p) = env(var) {
            push(format!("{}/{sub}", p.trim_end_matches('/')));
        }
    }
    let h = home.display().to_string();
    for sub in [".local/bin", ".npm-global/bin", "bin"] {
        push(format!("{h}/{sub}"));
    }
    for sub in [
        ".cargo/bin",
        ".volta/bin",
        ".asdf/shims",
        ".bun/bin",
        ".nix-profile/bin",
    ] {
        if home.join(sub).is_dir() {
            push(format!("{h}/{sub}"));
        }
    }
    let system: &[&str] = if os == "macos" {
        &[
            "/opt/homebrew/bin",
            "/usr/local/bin",
            "/usr/bin",
            "/bin",
            "/usr/sbin",
            "/sbin",
        ]
    } else {
        &[
            "/usr/local/sbin",
            "/usr/local/bin",
            "/usr/sbin",
            "/usr/bin",
            "/sbin",
            "/bin",
        ]
    };
    for d in system {
        push((*d).to_string());
    }
    dirs.join(":")
}

/// Warn when the program lives somewhere that disappears (complaint 15).
pub fn program_location_warning(
    program: &Path,
    home: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<String> {
    let p = program.display().to_string();
    let under = |dir: &Path| !dir.as_os_str().is_empty() && program.starts_with(dir);
    let mut temp_dirs: Vec<PathBuf> = vec!["/tmp".into(), "/var/tmp".into(), "/dev/shm".into()];
    if let Some(t) = env("TMPDIR") {
        temp_dirs.push(t.into());
    }
    let mut cache_dirs: Vec<PathBuf> = vec![home.join(".cache"), home.join("Library/Caches")];
    if let Some(c) = env("XDG_CACHE_HOME") {
        cache_dirs.push(c.into());
    }
    let components: Vec<String> = program
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let stable = "copy it to a stable location (e.g. ~/.local/bin or /usr/local/bin) and run `openclaw-node install --force` from there";
    if temp_dirs.iter().any(|d| under(d)) {
        return Some(format!(
            "The service will run {p}, which is under a temporary directory and may be deleted; {stable}."
        ));
    }
    if cache_dirs.iter().any(|d| under(d)) || components.iter().any(|c| c == "_npx") {
        return Some(format!(
            "The service will run {p}, which is under a cache directory and may be pruned; {stable}."
        ));
    }
    if components
        .windows(2)
        .any(|w| w[0] == "target" && (w[1] == "debug" || w[1] == "release"))
    {
        return Some(format!(
            "The service will run {p}, a cargo build output that the next build or `cargo clean` replaces; {stable}."
        ));
    }
    None
}

/// The absolute path of this binary as the service should run it: the path it was invoked by
/// (symlinks kept, so package upgrades keep working) when that resolves to this executable,
/// else the executable's real path.
pub fn resolve_program() -> Result<PathBuf, ServiceError> {
    let exe = std::env::current_exe().map_err(|source| ServiceError::Read {
        path: PathBuf::from("/proc/self/exe"),
        source,
    })?;
    if exe.to_string_lossy().ends_with(" (deleted)") {
        return Err(ServiceError::Invalid(format!(
            "the running binary {} was deleted or replaced; run install again with the binary you want the service to use",
            exe.display()
        )));
    }
    let real = std::fs::canonicalize(&exe).unwrap_or_else(|_| exe.clone());
    let candidate = std::env::args_os().next().and_then(|a0| {
        let a0 = PathBuf::from(a0);
        if a0.components().count() > 1 {
            std::path::absolute(&a0).ok()
        } else {
            let path = std::env::var_os("PATH")?;
            std::env::split_paths(&path)
                .map(|d| d.join(&a0))
                .find(|c| c.is_file())
                .and_then(|c| std::path::absolute(c).ok())
        }
    });
    if let Some(c) = candidate
        && std::fs::canonicalize(&c).ok().as_ref() == Some(&real)
    {
        return Ok(c);
    }
    Ok(real)
}

/// Build the plan from the request, saved `node.json` and the environment.
pub fn build(
    req: &InstallRequest,
    saved: Option<&NodeState>,
    ctx: &PlanContext,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<InstallPlan, PlanError> {
    let mut warnings = Vec::new();
    if let Some(w) = check_runtime(&req.runtime)? {
        warnings.push(w);
    }
    let saved_gw = saved.map(saved_gateway).unwrap_or_default();
    let host = if req.explicit.host {
        check_host(&req.host)?
    } else {
        saved_gw.host.clone().unwrap_or_else(|| DEFAULT_HOST.into())
    };
    let port = if req.explicit.port {
        if req.port == 0 {
            return Err(PlanError::Usage("Invalid port 0 (use 1-65535)".into()));
        }
        req.port
    } else {
        saved_gw.port.unwrap_or(DEFAULT_PORT)
    };
    let fingerprint = match (&req.tls_fingerprint, req.explicit.tls_fingerprint) {
        (Some(fp), _) => {
            if normalize_fingerprint(fp).is_none() {
                return Err(PlanError::Usage(format!(
                    "Invalid --tls-fingerprint {fp:?}: expected the SHA-256 of the gateway certificate (64 hex digits, colons allowed)"
                )));
            }
            Some(fp.trim().to_string())
        }
        (None, _) => saved_gw.tls_fingerprint.clone(),
    };
    let tls = req.tls || fingerprint.is_some() || saved_gw.tls == Some(true);
    let node_id = req.node_id.as_ref().map(|s| s.trim().to_string());
    if let Some(id) = &node_id {
        if id.is_empty() {
            return Err(PlanError::Usage("Invalid --node-id: empty".into()));
        }
        check_no_control("--node-id", id).map_err(|e| PlanError::Usage(e.to_string()))?;
    }
    if let Some(n) = &req.display_name {
        check_no_control("--display-name", n).map_err(|e| PlanError::Usage(e.to_string()))?;
        if n.trim().is_empty() {
            return Err(PlanError::Usage("Invalid --display-name: empty".into()));
        }
    }
    let insecure_ok = env("OPENCLAW_ALLOW_INSECURE_PRIVATE_WS").is_some_and(|v| v == "1");
    if !tls && !insecure_ok && !plaintext_ok(&host) {
        warnings.push(format!(
            "The gateway host {host} is not a loopback or private address and TLS is off; `openclaw-node run` refuses plaintext ws:// there. Add --tls (and --tls-fingerprint for a self-signed gateway)."
        ));
    }

    let program = ctx.program.to_str().ok_or_else(|| {
        ServiceError::Invalid(format!(
            "the program path {} is not valid UTF-8",
            ctx.program.display()
        ))
    })?;
    let mut argv: Vec<String> = vec![
        program.to_string(),
        "run".into(),
        "--host".into(),
        host.clone(),
        "--port".into(),
        port.to_string(),
    ];
    if tls {
        argv.push("--tls".into());
    }
    if let Some(fp) = &fingerprint {
        argv.push("--tls-fingerprint".into());
        argv.push(fp.clone());
    }
    if let Some(id) = &node_id {
        argv.push("--node-id".into());
        argv.push(id.clone());
    }
    if let Some(n) = &req.display_name {
        argv.push("--display-name".into());
        argv.push(n.clone());
    }
    if let Some(w) = program_location_warning(&ctx.program, &ctx.home, env) {
        warnings.push(w);
    }

    let mut environment: Vec<(String, String)> = vec![
        ("HOME".into(), ctx.home.display().to_string()),
        ("PATH".into(), service_path(&ctx.home, &ctx.os, env)),
        (
            "OPENCLAW_STATE_DIR".into(),
            ctx.state_dir.display().to_string(),
        ),
    ];
    for k in [
        "TMPDIR",
        "OPENCLAW_HOME",
        "OPENCLAW_CONFIG_PATH",
        "OPENCLAW_ALLOW_INSECURE_PRIVATE_WS",
        "RUST_LOG",
    ] {
        if let Some(v) = env(k).filter(|v| !v.is_empty()) {
            let v = if k == "OPENCLAW_CONFIG_PATH" {
                std::path::absolute(&v)
                    .map(|p| p.display().to_string())
                    .unwrap_or(v)
            } else {
                v
            };
            environment.push((k.into(), v));
        }
    }
    if ctx.os == "macos" {
        environment.push(("OPENCLAW_LAUNCHD_LABEL".into(), super::LAUNCHD_LABEL.into()));
    } else {
        environment.push(("OPENCLAW_SYSTEMD_UNIT".into(), ctx.unit_base.clone()));
    }
    environment.extend([
        ("OPENCLAW_LOG_PREFIX".into(), "node".into()),
        ("OPENCLAW_SERVICE_MARKER".into(), "openclaw".into()),
        ("OPENCLAW_SERVICE_KIND".into(), "node".into()),
        ("OPENCLAW_SERVICE_VERSION".into(), ctx.version.clone()),
    ]);
    let secrets: Vec<(String, String)> = MANAGED_KEYS
        .iter()
        .filter_map(|k| env(k).filter(|v| !v.is_empty()).map(|v| ((*k).into(), v)))
        .collect();
    for (k, v) in environment.iter().chain(secrets.iter()) {
        check_no_control(&format!("environment variable {k}"), v)?;
    }

    let e = req.explicit;
    let node_json = NodeJsonUpdate {
        host: e.host.then(|| host.clone()),
        port: e.port.then_some(port),
        tls: (e.tls || e.tls_fingerprint || req.tls_fingerprint.is_some()).then_some(tls),
        tls_fingerprint: req.tls_fingerprint.as_ref().map(|f| f.trim().to_string()),
        node_id: node_id.filter(|id| saved.and_then(saved_node_id).as_ref() != Some(id)),
        display_name: req.display_name.clone(),
    };
    Ok(InstallPlan {
        argv,
        environment,
        secrets,
        node_json,
        endpoint: Endpoint {
            host,
            port,
            tls,
            tls_fingerprint: fingerprint,
        },
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> PlanContext {
        PlanContext {
            program: "/usr/local/bin/openclaw-node".into(),
            home: "/home/dev".into(),
            state_dir: "/home/dev/.openclaw".into(),
            version: "9.9.9".into(),
            os: "linux".into(),
            unit_base: "openclaw-node".into(),
        }
    }

    fn req() -> InstallRequest {
        InstallRequest {
            host: DEFAULT_HOST.into(),
            port: DEFAULT_PORT,
            tls: false,
            tls_fingerprint: None,
            node_id: None,
            display_name: None,
            explicit: Explicit::default(),
            runtime: "native".into(),
        }
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn defaults_and_saved_state_precedence() {
        let p = build(&req(), None, &ctx(), &no_env).unwrap();
        assert_eq!(
            p.argv,
            [
                "/usr/local/bin/openclaw-node",
                "run",
                "--host",
                "127.0.0.1",
                "--port",
                "18789"
            ]
        );
        assert!(p.node_json.is_empty(), "nothing given, nothing recorded");
        let saved: NodeState = serde_json::from_str(
            r#"{"gateway":{"host":"saved.example","port":443,"tls":true,"tlsFingerprint":"AA"}}"#,
        )
        .unwrap();
        let p = build(&req(), Some(&saved), &ctx(), &no_env).unwrap();
        assert_eq!(
            p.argv[2..],
            [
                "--host",
                "saved.example",
                "--port",
                "443",
                "--tls",
                "--tls-fingerprint",
                "AA"
            ]
        );
        let mut r = req();
        r.host = "flag.example".into();
        r.explicit.host = true;
        let p = build(&r, Some(&saved), &ctx(), &no_env).unwrap();
        assert_eq!(p.argv[3], "flag.example");
        assert_eq!(p.node_json.host.as_deref(), Some("flag.example"));
        assert_eq!(p.node_json.port, None);
    }

    #[test]
    fn fingerprint_implies_tls_and_is_validated() {
        let mut r = req();
        r.tls_fingerprint = Some(format!("sha256:{}", "Ab:".repeat(31) + "Ab"));
        r.explicit.tls_fingerprint = true;
        let p = build(&r, None, &ctx(), &no_env).unwrap();
        assert!(p.argv.contains(&"--tls".to_string()));
        assert_eq!(p.node_json.tls, Some(true));
        r.tls_fingerprint = Some("nothex".into());
        assert!(matches!(
            build(&r, None, &ctx(), &no_env),
            Err(PlanError::Usage(_))
        ));
    }

    #[test]
    fn runtime_flag() {
        assert!(check_runtime("native").unwrap().is_none());
        assert!(
            check_runtime("node")
                .unwrap()
                .unwrap()
                .contains("no effect")
        );
        assert!(check_runtime("bun").unwrap().is_some());
        assert!(matches!(check_runtime("deno"), Err(PlanError::Usage(_))));
    }

    #[test]
    fn secrets_never_inline() {
        let env = |k: &str| match k {
            "OPENCLAW_GATEWAY_TOKEN" => Some("tok".to_string()),
            "HTTPS_PROXY" => Some("http://u:p@proxy:3128".to_string()),
            "RUST_LOG" => Some("debug".to_string()),
            _ => None,
        };
        let p = build(&req(), None, &ctx(), &env).unwrap();
        assert_eq!(
            p.secrets,
            [
                ("OPENCLAW_GATEWAY_TOKEN".to_string(), "tok".to_string()),
                (
                    "HTTPS_PROXY".to_string(),
                    "http://u:p@proxy:3128".to_string()
                )
            ]
        );
        assert!(
            p.environment
                .iter()
                .all(|(k, v)| k != "OPENCLAW_GATEWAY_TOKEN" && !v.contains("tok"))
        );
        assert!(p.environment.contains(&("RUST_LOG".into(), "debug".into())));
        assert!(
            p.environment
                .contains(&("OPENCLAW_SYSTEMD_UNIT".into(), "openclaw-node".into()))
        );
    }

    #[test]
    fn complaint_4_service_path_has_sbin() {
        let p = service_path(Path::new("/home/dev"), "linux", &no_env);
        assert!(p.starts_with("/home/dev/.local/bin:"), "{p}");
        assert!(
            p.ends_with("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
            "{p}"
        );
    }

    #[test]
    fn complaint_15_warns_about_unstable_program_locations() {
        let home = Path::new("/home/dev");
        for p in [
            "/tmp/x/openclaw-node",
            "/home/dev/.cache/foo/openclaw-node",
            "/home/dev/.npm/_npx/abc/node_modules/.bin/openclaw-node",
            "/home/dev/src/openclaw-node/target/release/openclaw-node",
        ] {
            assert!(
                program_location_warning(Path::new(p), home, &no_env).is_some(),
                "{p}"
            );
        }
        assert!(
            program_location_warning(Path::new("/usr/local/bin/openclaw-node"), home, &no_env)
                .is_none()
        );
    }

    #[test]
    fn warns_about_plaintext_to_public_host() {
        let mut r = req();
        r.host = "gw.example.com".into();
        r.explicit.host = true;
        let p = build(&r, None, &ctx(), &no_env).unwrap();
        assert!(p.warnings.iter().any(|w| w.contains("plaintext")));
        r.host = "192.168.1.5".into();
        let p = build(&r, None, &ctx(), &no_env).unwrap();
        assert!(!p.warnings.iter().any(|w| w.contains("plaintext")));
    }

    #[test]
    fn rejects_bad_values() {
        let mut r = req();
        r.explicit.port = true;
        r.port = 0;
        assert!(matches!(
            build(&r, None, &ctx(), &no_env),
            Err(PlanError::Usage(_))
        ));
        let mut r = req();
        r.display_name = Some("a\nb".into());
        assert!(matches!(
            build(&r, None, &ctx(), &no_env),
            Err(PlanError::Usage(_))
        ));
        let mut r = req();
        r.host = "a b".into();
        r.explicit.host = true;
        assert!(matches!(
            build(&r, None, &ctx(), &no_env),
            Err(PlanError::Usage(_))
        ));
    }
}
