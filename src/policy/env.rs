//! The child environment (EA §4.3, node-host-surface §7): override-key validation, inherited-env
//! stripping, shell-wrapper reduction, the `OPENCLAW_CLI=1` marker and the login-shell PATH
//! carrier. The key lists are data (kept in one place), compared on the upper-cased key.

use std::collections::{BTreeMap, BTreeSet};

/// Keys rejected as overrides and stripped from the inherited env.
pub const BLOCKED_KEYS: &[&str] = &[
    "NODE_OPTIONS",
    "NODE_PATH",
    "PYTHONHOME",
    "PYTHONPATH",
    "PERL5LIB",
    "PERL5OPT",
    "RUBYLIB",
    "RUBYOPT",
    "BASH_ENV",
    "ENV",
    "BROWSER",
    "GIT_EDITOR",
    "GIT_EXTERNAL_DIFF",
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_COMMON_DIR",
    "GIT_EXEC_PATH",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE",
    "GIT_SEQUENCE_EDITOR",
    "GIT_TEMPLATE_DIR",
    "GIT_SSL_NO_VERIFY",
    "GIT_SSL_CAINFO",
    "GIT_SSL_CAPATH",
    "KUBECONFIG",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AZURE_AUTH_LOCATION",
    "CC",
    "CXX",
    "CARGO_BUILD_RUSTC",
    "CARGO_BUILD_RUSTC_WRAPPER",
    "RUSTC_WRAPPER",
    "CARGO_HOME",
    "CMAKE_C_COMPILER",
    "CMAKE_CXX_COMPILER",
    "HELM_HOME",
    "DOCKER_HOST",
    "SHELL",
    "SHELLOPTS",
    "PS4",
    "GCONV_PATH",
    "IFS",
    "SSLKEYLOGFILE",
    "JAVA_OPTS",
    "JAVA_TOOL_OPTIONS",
    "_JAVA_OPTIONS",
    "JDK_JAVA_OPTIONS",
    "PYTHONBREAKPOINT",
    "DOTNET_STARTUP_HOOKS",
    "DOTNET_ADDITIONAL_DEPS",
    "GLIBC_TUNABLES",
    "MAVEN_OPTS",
    "MAKEFLAGS",
    "MFLAGS",
    "SBT_OPTS",
    "GRADLE_OPTS",
    "ANT_OPTS",
    "HGRCPATH",
];

/// Keys rejected only as overrides.
pub const BLOCKED_OVERRIDE_KEYS: &[&str] = &[
    "PATH",
    "HOME",
    "GRADLE_USER_HOME",
    "ZDOTDIR",
    "GIT_SSH_COMMAND",
    "GIT_SSH",
    "GIT_PROXY_COMMAND",
    "GIT_ASKPASS",
    "SSH_ASKPASS",
    "LESSOPEN",
    "LESSCLOSE",
    "PAGER",
    "MANPAGER",
    "GIT_PAGER",
    "EDITOR",
    "VISUAL",
    "FCEDIT",
    "SUDO_EDITOR",
    "PROMPT_COMMAND",
    "HISTFILE",
    "PERL5DB",
    "PERL5DBCMD",
    "OPENSSL_CONF",
    "OPENSSL_ENGINES",
    "PYTHONSTARTUP",
    "WGETRC",
    "CURL_HOME",
    "CLASSPATH",
    "CGO_CFLAGS",
    "CGO_LDFLAGS",
    "GOFLAGS",
    "CORECLR_PROFILER_PATH",
    "PHPRC",
    "PHP_INI_SCAN_DIR",
    "DENO_DIR",
    "BUN_CONFIG_REGISTRY",
    "YARN_RC_FILENAME",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "NODE_TLS_REJECT_UNAUTHORIZED",
    "NODE_EXTRA_CA_CERTS",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "DOCKER_TLS_VERIFY",
    "DOCKER_CERT_PATH",
    "DOCKER_CONTEXT",
    "PIP_INDEX_URL",
    "PIP_PYPI_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_CONFIG_FILE",
    "PIP_FIND_LINKS",
    "PIP_TRUSTED_HOST",
    "UV_INDEX",
    "UV_INDEX_URL",
    "UV_PYTHON",
    "UV_EXTRA_INDEX_URL",
    "UV_DEFAULT_INDEX",
    "LIBRARY_PATH",
    "CPATH",
    "C_INCLUDE_PATH",
    "CPLUS_INCLUDE_PATH",
    "OBJC_INCLUDE_PATH",
    "GOPROXY",
    "GONOSUMCHECK",
    "GONOSUMDB",
    "GONOPROXY",
    "GOPRIVATE",
    "GOENV",
    "GOPATH",
    "PYTHONUSERBASE",
    "RUSTFLAGS",
    "VIRTUAL_ENV",
    "LUA_PATH",
    "LUA_CPATH",
    "GEM_HOME",
    "GEM_PATH",
    "BUNDLE_GEMFILE",
    "COMPOSER_HOME",
    "XDG_CONFIG_HOME",
    "AWS_CONFIG_FILE",
];

/// Prefixes rejected as overrides and stripped from the inherited env.
pub const BLOCKED_PREFIXES: &[&str] = &["DYLD_", "LD_", "BASH_FUNC_"];
/// Prefixes rejected only as overrides.
pub const BLOCKED_OVERRIDE_PREFIXES: &[&str] = &["GIT_CONFIG_", "NPM_CONFIG_", "CARGO_REGISTRIES_"];
/// Overrides kept when argv is a shell wrapper (plus any `LC_*`).
pub const SHELL_WRAPPER_KEYS: &[&str] = &[
    "TERM",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "LC_MESSAGES",
    "COLORTERM",
    "NO_COLOR",
    "FORCE_COLOR",
];
/// The marker every child gets.
pub const MARKER: (&str, &str) = ("OPENCLAW_CLI", "1");
/// The login-shell PATH carrier variable.
pub const PATH_CARRIER: &str = "OPENCLAW_PREPEND_PATH";
/// Default node PATH when the node's own PATH is empty.
pub const DEFAULT_NODE_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn portable_key(k: &str) -> bool {
    let mut cs = k.chars();
    matches!(cs.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && cs.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// Is this (any-case) key blocked as an override?
pub fn is_blocked_override(key: &str) -> bool {
    let u = key.to_uppercase();
    BLOCKED_KEYS.contains(&u.as_str())
        || BLOCKED_OVERRIDE_KEYS.contains(&u.as_str())
        || BLOCKED_PREFIXES.iter().any(|p| u.starts_with(p))
        || BLOCKED_OVERRIDE_PREFIXES.iter().any(|p| u.starts_with(p))
}

/// The node's own credentials: never inherited by a run, whatever the profile (a stricter env
/// class than the official host, which passes its environment on). Whoever holds the gateway
/// token or password can act as this node; the SSH agent socket signs as the node's user.
pub const NODE_SECRET_KEYS: &[&str] = &[
    "OPENCLAW_GATEWAY_TOKEN",
    "OPENCLAW_GATEWAY_PASSWORD",
    "OPENCLAW_BROWSER_PROXY_TOKEN",
    "OPENCLAW_BROWSER_PROXY_PASSWORD",
    "SSH_AUTH_SOCK",
    "SSH_AGENT_PID",
];
/// Prefixes of the node's own credentials (Cloudflare Access service tokens).
pub const NODE_SECRET_PREFIXES: &[&str] = &["CF_ACCESS_", "OPENCLAW_SECRET_"];

/// Is this one of the node's own credentials (never inherited)?
pub fn is_node_secret(key: &str) -> bool {
    let u = key.to_uppercase();
    NODE_SECRET_KEYS.contains(&u.as_str()) || NODE_SECRET_PREFIXES.iter().any(|p| u.starts_with(p))
}

/// Is this inherited key stripped?
pub fn is_blocked_inherited(key: &str) -> bool {
    let u = key.to_uppercase();
    BLOCKED_KEYS.contains(&u.as_str())
        || BLOCKED_PREFIXES.iter().any(|p| u.starts_with(p))
        || is_node_secret(&u)
}

/// Validate overrides: `Err(message)` with the exact wire text when any key is rejected.
pub fn check_overrides(env: &BTreeMap<String, String>) -> Result<(), String> {
    let mut blocked = BTreeSet::new();
    let mut invalid = BTreeSet::new();
    for k in env.keys() {
        if !portable_key(k) {
            invalid.insert(k.to_uppercase());
        } else if is_blocked_override(k) {
            blocked.insert(k.to_uppercase());
        }
    }
    if blocked.is_empty() && invalid.is_empty() {
        return Ok(());
    }
    let mut details = Vec::new();
    if !blocked.is_empty() {
        details.push(format!(
            "blocked override keys: {}",
            blocked.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    if !invalid.is_empty() {
        details.push(format!(
            "invalid non-portable override keys: {}",
            invalid.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    Err(format!(
        "SYSTEM_RUN_DENIED: environment override rejected ({})",
        details.join("; ")
    ))
}

/// Validate `env KEY=VAL` assignment keys inside argv wrappers.
pub fn check_assignments(keys: &[String]) -> Result<(), String> {
    let blocked: BTreeSet<String> = keys
        .iter()
        .filter(|k| is_blocked_override(k) || !portable_key(k))
        .map(|k| k.to_uppercase())
        .collect();
    if blocked.is_empty() {
        return Ok(());
    }
    Err(format!(
        "SYSTEM_RUN_DENIED: command env assignment rejected (blocked env assignment keys: {})",
        blocked.into_iter().collect::<Vec<_>>().join(", ")
    ))
}

/// Keep only terminal/locale overrides (shell wrappers).
pub fn reduce_for_shell(env: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    env.iter()
        .filter(|(k, _)| SHELL_WRAPPER_KEYS.contains(&k.as_str()) || k.starts_with("LC_"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Build the full child env: stripped inherited env, node PATH, overrides, marker.
pub fn build_child_env(
    inherited: &[(String, String)],
    node_path: &str,
    overrides: &BTreeMap<String, String>,
) -> Vec<(String, String)> {
    let mut env: BTreeMap<String, String> = inherited
        .iter()
        .filter(|(k, _)| !is_blocked_inherited(k) && !k.is_empty() && !k.contains('='))
        .filter(|(k, _)| k != PATH_CARRIER)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    env.insert("PATH".into(), node_path.to_string());
    for (k, v) in overrides {
        env.insert(k.clone(), v.clone());
    }
    env.insert(MARKER.0.into(), MARKER.1.into());
    env.into_iter().collect()
}

/// The statement prefixed to a login-shell payload (node-host-surface §7.3).
pub const PATH_CARRIER_PREFIX: &str =
    "export PATH=\"${OPENCLAW_PREPEND_PATH}${PATH:+:$PATH}\"; unset OPENCLAW_PREPEND_PATH; ";
