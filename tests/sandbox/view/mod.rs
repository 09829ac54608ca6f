//! The node protects itself (issue "every run sees a filesystem built for it"): each attack is
//! first run WITHOUT openclaw-node (baseline control: plain `/bin/sh` as the same user, in a
//! scratch `$HOME` laid out like a node's, where the attack must work), then through the real
//! binary (`openclaw-node exec`, which decides and launches exactly as `system.run` does), with
//! `cwd` = `$HOME`, under `standard` and `strict`, in three privilege modes:
//!
//! - `root`: the node runs as root (private mount namespace),
//! - `root_run_as`: the node runs as root with `sandbox.runAs` = 65534,
//! - `user`: the node itself runs as uid 65534 (user + mount namespace).
//!
//! After every sandboxed attempt the host files are compared with what they were: a protected
//! file that changed, appeared or was read back is a failure. `SANDBOX_MUST_WORK=1` turns a
//! machine that cannot run a mode into a failure instead of a loud skip.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::support::sandbox::{must_work, require};

const NOBODY: u32 = 65534;
const SECRET: &str = "device-private-key-7f3a";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Root,
    RootRunAs,
    User,
}

const MODES: [Mode; 3] = [Mode::Root, Mode::RootRunAs, Mode::User];
const PROFILES: [&str; 2] = ["standard", "strict"];

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// A scratch node `$HOME`: state dir with secrets, approvals (security=full so the policy allows
/// everything and only the sandbox stands in the way), start-up files, a project.
struct Home {
    _dir: tempfile::TempDir,
    home: PathBuf,
    outside: PathBuf,
}

fn chown_tree(p: &Path, uid: u32) {
    let st = Command::new("chown")
        .args(["-R", &format!("{uid}:{uid}")])
        .arg(p)
        .status()
        .unwrap();
    assert!(st.success());
}

impl Home {
    fn new(mode: Mode, profile: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let home = std::fs::canonicalize(dir.path()).unwrap().join("home");
        let outside = std::fs::canonicalize(dir.path()).unwrap().join("outside");
        let state = home.join(".openclaw");
        std::fs::create_dir_all(state.join("identity")).unwrap();
        std::fs::create_dir_all(home.join("proj")).unwrap();
        std::fs::create_dir_all(home.join("x")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(state.join("identity/device.json"), SECRET).unwrap();
        std::fs::write(state.join("identity/device-auth.json"), SECRET).unwrap();
        std::fs::write(
            state.join("node.systemd.env"),
            format!("OPENCLAW_GATEWAY_TOKEN={SECRET}\n"),
        )
        .unwrap();
        std::fs::write(
            state.join("exec-approvals.json"),
            r#"{"version":1,"defaults":{"security":"full","ask":"off"}}"#,
        )
        .unwrap();
        let mut sandbox = format!("profile: '{profile}'");
        if mode == Mode::RootRunAs {
            sandbox.push_str(&format!(", runAs: {{ uid: {NOBODY} }}"));
        }
        if mode == Mode::User {
            // An unprivileged node has no delegated cgroup here.
            sandbox.push_str(", useCgroups: false");
        }
        std::fs::write(
            state.join("node-host.json5"),
            format!("{{ sandbox: {{ {sandbox} }} }}"),
        )
        .unwrap();
        std::fs::write(home.join(".bashrc"), "# rc\n").unwrap();
        std::fs::write(home.join("notes.txt"), "notes\n").unwrap();
        std::fs::write(
            home.join("evil.json"),
            r#"{"version":1,"defaults":{"security":"full"}}"#,
        )
        .unwrap();
        std::fs::write(outside.join("tool"), "#!/bin/sh\n").unwrap();
        if mode == Mode::User {
            // The node's binary where its user can run (and, unsandboxed, write) it.
            let bin = home.parent().unwrap().join("bin/openclaw-node");
            std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
            std::fs::copy(node_bin(), &bin).unwrap();
            std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        if mode != Mode::Root {
            chown_tree(dir.path(), NOBODY);
        }
        Self {
            _dir: dir,
            home,
            outside,
        }
    }

    fn state(&self) -> PathBuf {
        self.home.join(".openclaw")
    }

    /// Everything under the scratch tree with content and mode (what an attack could change).
    fn snapshot(&self) -> Vec<(PathBuf, u32, Vec<u8>)> {
        fn walk(p: &Path, out: &mut Vec<(PathBuf, u32, Vec<u8>)>) {
            let Ok(md) = std::fs::symlink_metadata(p) else {
                return;
            };
            let content = if md.is_file() {
                std::fs::read(p).unwrap_or_default()
            } else if md.file_type().is_symlink() {
                std::fs::read_link(p)
                    .map(|l| l.as_os_str().as_encoded_bytes().to_vec())
                    .unwrap_or_default()
            } else {
                Vec::new()
            };
            out.push((p.to_path_buf(), md.mode(), content));
            if md.is_dir() {
                let mut names: Vec<_> = std::fs::read_dir(p)
                    .unwrap()
                    .flatten()
                    .map(|e| e.path())
                    .collect();
                names.sort();
                for n in names {
                    walk(&n, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(self.home.parent().unwrap(), &mut out);
        // The project and ~/x are the run's to change.
        out.retain(|(p, _, _)| {
            !p.starts_with(self.home.join("proj")) && !p.starts_with(self.home.join("x"))
        });
        out
    }
}

fn node_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_openclaw-node"))
}

/// The binary copied where uid 65534 can execute it (target/ may sit under a private home).
fn node_bin_for(mode: Mode, h: &Home) -> PathBuf {
    if mode != Mode::User {
        return node_bin();
    }
    h.home.parent().unwrap().join("bin/openclaw-node")
}

fn as_user(mode: Mode) -> Vec<String> {
    match mode {
        Mode::Root => vec![],
        Mode::RootRunAs | Mode::User => vec![
            "setpriv".into(),
            format!("--reuid={NOBODY}"),
            format!("--regid={NOBODY}"),
            "--clear-groups".into(),
        ],
    }
}

fn command(prefix: &[String], program: &Path) -> Command {
    let mut c = match prefix.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg(program);
            c
        }
        None => Command::new(program),
    };
    c.stdin(Stdio::null());
    c
}

fn env_for(c: &mut Command, h: &Home) {
    c.env_clear()
        .env("HOME", &h.home)
        .env(
            "PATH",
            format!(
                "{}:/usr/local/bin:/usr/bin:/bin",
                h.home.join(".local/bin").display()
            ),
        )
        .env("LANG", "C")
        .env("OPENCLAW_GATEWAY_TOKEN", SECRET)
        .env("SSH_AUTH_SOCK", "/tmp/ssh-agent.sock")
        .current_dir(&h.home);
}

/// The attack without openclaw-node: plain sh as the user the run would be.
fn baseline(mode: Mode, h: &Home, script: &str) -> Output {
    let mut c = command(&as_user(mode), Path::new("/bin/sh"));
    c.args(["-c", script]);
    env_for(&mut c, h);
    c.output().unwrap()
}

/// The same attack through `openclaw-node exec` (the node as `mode` runs it).
fn sandboxed(mode: Mode, h: &Home, script: &str) -> Output {
    sandboxed_in(mode, h, script, &h.home)
}

fn sandboxed_in(mode: Mode, h: &Home, script: &str, cwd: &Path) -> Output {
    let prefix = if mode == Mode::User {
        as_user(mode)
    } else {
        vec![]
    };
    let mut c = command(&prefix, &node_bin_for(mode, h));
    c.args(["exec", "--cwd"]).arg(cwd).args(["--shell", script]);
    env_for(&mut c, h);
    c.output().unwrap()
}

/// Can this machine run `mode` (root for the root modes; setpriv; a view)?
fn available(mode: Mode) -> bool {
    if !is_root() {
        return require(mode == Mode::User, "a root test user for the root modes");
    }
    if mode != Mode::Root && Command::new("setpriv").arg("--version").output().is_err() {
        return require(false, "setpriv (util-linux)");
    }
    true
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Run `script` as an attack: `worked(home)` must hold after the baseline and fail after every
/// sandboxed run, and the sandboxed run must leave the scratch tree as it was.
fn attack(name: &str, script: &str, worked: impl Fn(&Home, &Output) -> bool) {
    let mut ran = 0;
    for mode in MODES {
        if !available(mode) {
            continue;
        }
        for profile in PROFILES {
            let h = Home::new(mode, profile);
            let base = baseline(mode, &h, script);
            assert!(
                worked(&h, &base),
                "{name} [{mode:?}/{profile}]: baseline control: the attack must work without \
                 openclaw-node\n{}",
                text(&base)
            );
            let h = Home::new(mode, profile);
            let before = h.snapshot();
            let out = sandboxed(mode, &h, script);
            assert!(
                !String::from_utf8_lossy(&out.stderr).contains("refused:"),
                "{name} [{mode:?}/{profile}]: the run must start\n{}",
                text(&out)
            );
            assert!(
                !worked(&h, &out),
                "{name} [{mode:?}/{profile}]: the attack worked through openclaw-node\n{}",
                text(&out)
            );
            let after = h.snapshot();
            let changed: Vec<_> = after
                .iter()
                .filter(|a| !before.contains(a))
                .map(|a| a.0.display().to_string())
                .collect();
            assert!(
                changed.is_empty(),
                "{name} [{mode:?}/{profile}]: host files changed: {changed:?}\n{}",
                text(&out)
            );
            ran += 1;
        }
    }
    if ran == 0 && must_work() {
        panic!("{name}: no privilege mode could run");
    }
}

fn file_is(p: &Path, content: &str) -> bool {
    std::fs::read_to_string(p).is_ok_and(|c| c.contains(content))
}

fn leaked(o: &Output) -> bool {
    String::from_utf8_lossy(&o.stdout).contains(SECRET)
}

mod reach;
mod refusals;
mod state;
