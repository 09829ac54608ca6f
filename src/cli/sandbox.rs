//! `openclaw-node sandbox check [--json]`: what this machine can enforce (Landlock ABI, seccomp,
//! user namespaces, cgroup tree kill and pids bound) and what each profile will do here.
//! Exit status 0 when the configured profile is enforceable, 1 when runs would be refused,
//! 78 when the configuration is invalid.

use clap::Subcommand;
use serde_json::json;

use crate::cli::EXIT_CONFIG;
use crate::cli::node_host::NodeHostConfig;
use crate::config::{node_host_config_path, state_dir};
use crate::sandbox::{Launcher, Profile};

#[derive(Debug, Clone, Subcommand)]
pub enum SandboxCommand {
    /// Print what this kernel can enforce and what each profile will do.
    Check {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cmd: SandboxCommand) -> u8 {
    match cmd {
        SandboxCommand::Check { json } => check(json),
    }
}

fn check(as_json: bool) -> u8 {
    let loaded = state_dir().and_then(|s| {
        let path = node_host_config_path(&s);
        NodeHostConfig::load(&s).map(|c| (c, path))
    });
    let (config, path) = match loaded {
        Ok(v) => v,
        Err(e) => {
            eprintln!("openclaw-node sandbox check: {e}");
            return EXIT_CONFIG;
        }
    };
    let launcher = match Launcher::new(&config.sandbox) {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "openclaw-node sandbox check: {} is invalid: {e}",
                path.display()
            );
            return EXIT_CONFIG;
        }
    };
    let support = launcher.support();
    let configured = config
        .sandbox
        .profile
        .as_deref()
        .and_then(Profile::parse)
        .unwrap_or(Profile::Standard);
    let profiles: Vec<_> = Profile::ALL
        .iter()
        .map(|p| {
            let missing = support.missing_for(*p);
            json!({
                "name": p.name(),
                "enforceable": missing.is_none(),
                "missing": missing,
                "enforces": p.describe(),
            })
        })
        .collect();
    let tree_kill = launcher.tree_kill_mechanism();
    let pids_bound = support.cgroup.pids_bound();
    let run_as = config.sandbox.run_as;
    let ok = support.missing_for(configured).is_none();
    // Without a view (normal user's node only; a root node refuses), the seccomp filter denies
    // UNIX socket creation unless Landlock mediates connect or the config opts out.
    let root = nix::unistd::geteuid().is_root();
    let allow_unix = config.sandbox.allow_unix_sockets();
    let unix_sockets = (support.view.is_none() && !root).then(|| {
        if support
            .landlock_abi
            .is_some_and(|v| v >= crate::sandbox::seccomp::LANDLOCK_ABI_CONNECT_UNIX)
        {
            "mediatedByLandlock"
        } else if allow_unix {
            "allowedByConfig"
        } else {
            "denied"
        }
    });

    if as_json {
        let v = json!({
            "config": path,
            "configuredProfile": configured.name(),
            "configuredProfileEnforceable": ok,
            "kernel": support,
            "landlockRights": support.landlock_abi.filter(|v| *v >= 3).map(|v| {
                crate::sandbox::landlock::handled_rights(v.min(crate::sandbox::landlock::NEWEST_KNOWN_ABI))
            }),
            "treeKill": tree_kill,
            "pidsBound": pids_bound,
            "rlimitNproc": run_as.is_some(),
            "maxProcesses": config.sandbox.max_processes(),
            "runAs": run_as.map(|r| json!({"uid": r.uid, "gid": r.gid.unwrap_or(r.uid)})),
            "profiles": profiles,
            "fallbackUnixSockets": unix_sockets,
        });
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return if ok { 0 } else { 1 };
    }

    println!("config:            {}", path.display());
    println!("kernel:            {}", support.kernel_release);
    match (support.landlock_abi, &support.landlock_error) {
        (Some(v), _) if v < 3 => {
            println!("Landlock:          ABI {v} (too old: confining profiles need ABI >= 3)")
        }
        (Some(v), _) => {
            let used = v.min(crate::sandbox::landlock::NEWEST_KNOWN_ABI);
            println!(
                "Landlock:          kernel ABI {v}, rulesets built for ABI {used}; mediates: {}",
                crate::sandbox::landlock::handled_rights(used).join(", ")
            );
        }
        (None, Some(e)) => println!("Landlock:          unavailable: {e}"),
        (None, None) => println!("Landlock:          unavailable"),
    }
    println!(
        "seccomp:           {} (actions: {})",
        if support.seccomp_filter {
            "filters available"
        } else {
            "UNAVAILABLE"
        },
        support.seccomp_actions.join(" ")
    );
    println!(
        "user namespaces:   {} (used for the filesystem view when the node is not root; denied \
         inside confined runs)",
        if support.user_namespaces {
            "enabled"
        } else {
            "disabled"
        }
    );
    match (support.view, &support.view_error) {
        (Some(m), _) => println!(
            "filesystem view:   {m}: read-only root (nosuid, nodev), writable roots bound back, \
             the node's state/service/binary/PATH/$HOME start-up files read-only, its secrets \
             masked"
        ),
        (None, e) => println!(
            "filesystem view:   UNAVAILABLE ({}); {}{}",
            e.as_deref().unwrap_or("unknown reason"),
            if root {
                "a root node refuses confined runs"
            } else {
                "fallback: Landlock write rules that leave the protected paths out (weaker: no \
                 masking of the node's secrets, metadata changes such as chmod not mediated)"
            },
            match unix_sockets {
                Some("denied") => {
                    "; UNIX socket creation denied (seccomp: socket(AF_UNIX) fails with EPERM, \
                     socketpair allowed; Landlock ABI < 9 cannot mediate connect to host \
                     daemons' sockets; `sandbox.allowUnixSockets: true` allows them)"
                }
                Some("allowedByConfig") => {
                    "; UNIX socket creation allowed by `sandbox.allowUnixSockets` (runs can \
                     connect to host daemons' pathname sockets: Landlock ABI < 9 does not \
                     mediate connect)"
                }
                Some(_) => "; connect to pathname UNIX sockets mediated by Landlock (ABI >= 9)",
                None => "",
            }
        ),
    }
    match &support.cgroup.v2_base {
        Some(b) => println!(
            "tree kill:         cgroup v2 cgroup.kill under {}",
            b.display()
        ),
        None => println!(
            "tree kill:         process group only (descendants that call setsid can escape)"
        ),
    }
    match pids_bound {
        Some(b) => println!(
            "process bound:     {b} = {}{}",
            config.sandbox.max_processes(),
            if run_as.is_some() {
                " (+ RLIMIT_NPROC for runAs)"
            } else {
                ""
            }
        ),
        None if run_as.is_some() => println!(
            "process bound:     RLIMIT_NPROC = {} (runAs)",
            config.sandbox.max_processes()
        ),
        None => println!(
            "process bound:     NONE (no pids controller; RLIMIT_NPROC does not bind uid 0 — set \
             sandbox.runAs)"
        ),
    }
    match (
        support.cgroup.memory_bound(),
        config.sandbox.max_memory_bytes(),
    ) {
        (Some(b), n) if n > 0 => println!("memory bound:      {b} = {n} bytes"),
        (Some(_), _) => println!("memory bound:      none (`sandbox.maxMemoryBytes: 0`)"),
        (None, _) => println!("memory bound:      NONE (no memory controller available)"),
    }
    for note in &support.cgroup.notes {
        println!("  note: {note}");
    }
    match run_as {
        Some(r) => println!(
            "runAs:             uid {} gid {}",
            r.uid,
            r.gid.unwrap_or(r.uid)
        ),
        None => println!("runAs:             (host user)"),
    }
    println!();
    for p in Profile::ALL {
        let mark = if p == configured { "*" } else { " " };
        match support.missing_for(p) {
            None => println!("{mark} {:<9} enforceable: {}", p.name(), p.describe()),
            Some(why) => println!("{mark} {:<9} REFUSED here: {why}", p.name()),
        }
    }
    println!(
        "\n(* = configured profile; set `sandbox.profile` in {})",
        path.display()
    );
    if ok { 0 } else { 1 }
}
