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

#[test]
fn attack_cp_over_exec_approvals() {
    attack(
        "cp evil.json over the approvals",
        "cp evil.json .openclaw/exec-approvals.json",
        |h, _| {
            file_is(
                &h.state().join("exec-approvals.json"),
                r#""security":"full"}}"#,
            )
        },
    );
}

#[test]
fn attack_rename_over_exec_approvals() {
    attack(
        "rename over the approvals",
        "mv evil.json .openclaw/exec-approvals.json",
        |h, _| !h.home.join("evil.json").exists(),
    );
}

#[test]
fn attack_rename_the_state_dir_away_and_recreate_it() {
    attack(
        "rename the state dir",
        "mv .openclaw .openclaw-old && mkdir .openclaw && echo '{}' > .openclaw/exec-approvals.json",
        |h, _| h.home.join(".openclaw-old").exists(),
    );
}

#[test]
fn attack_node_host_json5_sandbox_off() {
    attack(
        "node-host.json5 → profile off",
        "echo \"{ sandbox: { profile: 'off' } }\" > .openclaw/node-host.json5",
        |h, _| file_is(&h.state().join("node-host.json5"), "'off'"),
    );
}

#[test]
fn attack_plant_the_user_service_unit() {
    attack(
        "plant ~/.config/systemd/user/openclaw-node.service",
        "mkdir -p .config/systemd/user && echo '[Service]' > .config/systemd/user/openclaw-node.service",
        |h, _| {
            h.home
                .join(".config/systemd/user/openclaw-node.service")
                .exists()
        },
    );
}

#[test]
fn attack_append_ssh_authorized_keys() {
    attack(
        "append ~/.ssh/authorized_keys",
        "mkdir -p .ssh && echo 'ssh-ed25519 AAAA attacker' >> .ssh/authorized_keys",
        |h, _| h.home.join(".ssh/authorized_keys").exists(),
    );
}

#[test]
fn attack_plant_a_not_yet_existing_profile() {
    attack(
        "plant ~/.profile",
        "echo 'echo pwned' > .profile",
        |h, _| h.home.join(".profile").exists(),
    );
}

#[test]
fn attack_append_an_existing_bashrc() {
    attack(
        "append ~/.bashrc",
        "echo 'echo pwned' >> .bashrc",
        |h, _| file_is(&h.home.join(".bashrc"), "pwned"),
    );
}

#[test]
fn attack_replace_bashrc_with_a_symlink() {
    attack(
        "swap ~/.bashrc for a symlink",
        "rm -f .bashrc && ln -s proj/evil .bashrc",
        |h, _| {
            std::fs::symlink_metadata(h.home.join(".bashrc"))
                .is_ok_and(|m| m.file_type().is_symlink())
        },
    );
}

#[test]
fn attack_plant_an_allowlisted_name_in_local_bin() {
    attack(
        "plant ~/.local/bin/uname",
        "mkdir -p .local/bin && printf '#!/bin/sh\\necho pwned\\n' > .local/bin/uname && chmod +x .local/bin/uname",
        |h, _| h.home.join(".local/bin/uname").exists(),
    );
}

#[test]
fn attack_gitconfig_fsmonitor() {
    attack(
        "~/.gitconfig core.fsmonitor",
        "printf '[core]\\n\\tfsmonitor = id\\n' >> .gitconfig",
        |h, _| h.home.join(".gitconfig").exists(),
    );
}

#[test]
fn attack_python_usercustomize_and_cargo_config() {
    attack(
        "python usercustomize / cargo config",
        "mkdir -p .local/lib/python3/site-packages .cargo && echo 'import os' > \
         .local/lib/python3/site-packages/usercustomize.py && echo '[alias]' > .cargo/config.toml",
        |h, _| h.home.join(".cargo/config.toml").exists(),
    );
}

#[test]
fn attack_symlink_in_the_project_to_the_approvals() {
    attack(
        "write the approvals through a symlink in a writable dir",
        "ln -sf \"$HOME/.openclaw/exec-approvals.json\" proj/link && cp evil.json proj/link",
        |h, _| {
            file_is(
                &h.state().join("exec-approvals.json"),
                r#""security":"full"}}"#,
            )
        },
    );
}

#[test]
fn attack_hard_link_to_the_approvals() {
    attack(
        "hard link to the approvals",
        "ln .openclaw/exec-approvals.json proj/hl && cp evil.json proj/hl",
        |h, _| {
            file_is(
                &h.state().join("exec-approvals.json"),
                r#""security":"full"}}"#,
            )
        },
    );
}

#[test]
fn attack_read_the_device_key() {
    attack(
        "read identity/device.json",
        "cat .openclaw/identity/device.json",
        |_, o| leaked(o),
    );
}

#[test]
fn attack_read_device_auth_and_the_service_env_file() {
    attack(
        "read device-auth.json and node.systemd.env",
        "cat .openclaw/identity/device-auth.json .openclaw/node.systemd.env",
        |_, o| leaked(o),
    );
}

#[test]
fn attack_lock_the_approvals_lock_file() {
    attack(
        "hold the approvals lock",
        "flock -n .openclaw/exec-approvals.json.lock true && echo locked",
        |_, o| String::from_utf8_lossy(&o.stdout).contains("locked"),
    );
}

#[test]
fn attack_inherit_the_gateway_token_and_ssh_agent() {
    attack("inherit the node's credentials", "env", |_, o| {
        let out = String::from_utf8_lossy(&o.stdout);
        out.contains(SECRET) || out.contains("SSH_AUTH_SOCK")
    });
}

#[test]
fn attack_chmod_setuid_outside_the_writable_roots() {
    attack(
        "chmod 4777 outside the writable roots",
        "chmod 4777 ../outside/tool",
        |h, _| std::fs::metadata(h.outside.join("tool")).is_ok_and(|m| m.mode() & 0o4000 != 0),
    );
}

#[test]
fn attack_setuid_file_left_in_a_writable_root() {
    // `proj/` is the run's to change (not in the snapshot), so check the bit itself.
    attack(
        "chmod u+s / g+s inside the writable root",
        "cp /bin/true proj/t && chmod u+s proj/t; cp /bin/true proj/g && chmod g+s proj/g; \
         python3 -c 'import os; os.chmod(\"proj/t\", 0o4755)' 2>/dev/null; \
         install -m 4755 /bin/true proj/i 2>/dev/null; \
         python3 -c 'import os; os.close(os.open(\"proj/o\", os.O_CREAT | os.O_WRONLY, 0o4755))' \
         2>/dev/null; true",
        |h, _| {
            ["proj/t", "proj/g"]
                .iter()
                .any(|f| std::fs::metadata(h.home.join(f)).is_ok_and(|m| m.mode() & 0o6000 != 0))
        },
    );
}

#[test]
fn attack_touch_timestamps_outside_the_writable_roots() {
    attack(
        "touch -d outside the writable roots",
        "touch -d 2001-01-01 ../outside/tool",
        |h, _| std::fs::metadata(h.outside.join("tool")).is_ok_and(|m| m.mtime() < 1_000_000_000),
    );
}

#[test]
fn attack_write_the_node_binary_dir() {
    // ~/../bin holds the node binary in the `user` mode; in every mode it is outside the cwd.
    attack(
        "plant next to the node",
        "mkdir -p ../bin 2>/dev/null; echo x > ../bin/planted",
        |h, _| h.home.parent().unwrap().join("bin/planted").exists(),
    );
}

/// The cwd is a directory *containing* `$HOME` (the node started from a checkout holding its
/// home, as in the interop lab): `$HOME` is still closed inside the pinned chain.
#[test]
fn attack_plant_profile_with_the_cwd_above_home() {
    for mode in MODES {
        if !available(mode) {
            continue;
        }
        for profile in PROFILES {
            let h = Home::new(mode, profile);
            let parent = h.home.parent().unwrap().to_path_buf();
            let script =
                "echo pwned > home/.profile; cp home/evil.json home/.openclaw/exec-approvals.json";
            let mut c = command(&as_user(mode), Path::new("/bin/sh"));
            c.args(["-c", script]);
            env_for(&mut c, &h);
            c.current_dir(&parent);
            c.output().unwrap();
            assert!(
                h.home.join(".profile").exists(),
                "baseline control [{mode:?}/{profile}]"
            );
            let h = Home::new(mode, profile);
            let parent = h.home.parent().unwrap().to_path_buf();
            let before = h.snapshot();
            let out = sandboxed_in(mode, &h, script, &parent);
            assert!(
                !h.home.join(".profile").exists(),
                "[{mode:?}/{profile}] {}",
                text(&out)
            );
            assert_eq!(before, h.snapshot(), "[{mode:?}/{profile}] {}", text(&out));
        }
    }
}

/// SysV shared memory made by one run is not visible to (nor left for) the next: each run has
/// its own IPC namespace.
#[test]
fn attack_sysv_shm_across_two_runs() {
    if Command::new("ipcmk").arg("--help").output().is_err() {
        require(false, "ipcmk (util-linux)");
        return;
    }
    for mode in MODES {
        if !available(mode) {
            continue;
        }
        for profile in PROFILES {
            let h = Home::new(mode, profile);
            let key = format!("0x{:08x}", 0x6f63_0000u32 + std::process::id() % 0xffff);
            let make = format!(
                "ipcmk -M 4096 -p 0666 -K {key} >/dev/null 2>&1 || ipcmk -M 4096 -p 0666 >/dev/null"
            );
            let base = baseline(mode, &h, &format!("{make}; ipcs -m"));
            let listed = |o: &Output| {
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .filter(|l| l.contains(" 4096 "))
                    .count()
            };
            assert!(
                listed(&base) > 0,
                "baseline control [{mode:?}/{profile}]: {}",
                text(&base)
            );
            // Clean the baseline's segments up (they would outlive it on the host).
            let _ = baseline(
                mode,
                &h,
                "for id in $(ipcs -m | awk '$5 == 4096 {print $2}'); do ipcrm -m $id; done",
            );
            let first = sandboxed(mode, &h, &format!("{make}; ipcs -m"));
            assert!(
                listed(&first) > 0,
                "[{mode:?}/{profile}] the run made its segment: {}",
                text(&first)
            );
            let second = sandboxed(mode, &h, "ipcs -m");
            assert_eq!(
                listed(&second),
                0,
                "[{mode:?}/{profile}] the next run sees it: {}",
                text(&second)
            );
        }
    }
}

/// The private TMPDIR is the run's alone (0700): another user on the host cannot read what a
/// run stages there.
#[test]
fn private_tmpdir_is_owner_only() {
    for mode in MODES {
        if !available(mode) {
            continue;
        }
        let h = Home::new(mode, "standard");
        let out = sandboxed(mode, &h, "stat -c %a \"$TMPDIR\"");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "700",
            "[{mode:?}] {}",
            text(&out)
        );
    }
}

/// A stand-in host daemon: a listening pathname socket outside the run's roots and an abstract
/// one. Neither can be connected to from a run; unsandboxed both can.
#[test]
fn attack_connect_to_host_daemon_sockets() {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::{SocketAddr, UnixListener};
    if !Path::new("/usr/bin/python3").exists() {
        require(false, "/usr/bin/python3");
        return;
    }
    for mode in MODES {
        if !available(mode) {
            continue;
        }
        for profile in PROFILES {
            let h = Home::new(mode, profile);
            let path = h.outside.join("daemon.sock");
            let _pathname = UnixListener::bind(&path).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777)).unwrap();
            let name = format!("openclaw-test-{}-{mode:?}-{profile}", std::process::id());
            let _abstract =
                UnixListener::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes()).unwrap())
                    .unwrap();
            // Every listening pathname socket of the host too (the scan).
            let mut targets: Vec<String> = std::fs::read_to_string("/proc/net/unix")
                .unwrap()
                .lines()
                .skip(1)
                .filter(|l| l.split_whitespace().nth(3) == Some("00010000"))
                .filter_map(|l| l.split_whitespace().nth(7).map(str::to_string))
                .filter(|p| p.starts_with('/'))
                .collect();
            targets.sort();
            targets.dedup();
            let script = format!(
                "/usr/bin/python3 - <<'EOF'\nimport socket\nfor t in {targets:?} + ['\\0{name}']:\n    s = socket.socket(socket.AF_UNIX)\n    try:\n        s.connect(t.replace('\\\\0', '\\0', 1) if t.startswith('\\\\0') else t)\n        print('connected', t)\n    except OSError as e:\n        print('refused', t, e.errno)\nEOF"
            );
            let connected = |o: &Output| {
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .filter(|l| l.starts_with("connected"))
                    .count()
            };
            let base = baseline(mode, &h, &script);
            assert!(
                connected(&base) >= 2,
                "baseline control [{mode:?}/{profile}]: both stand-ins reachable: {}",
                text(&base)
            );
            let out = sandboxed(mode, &h, &script);
            assert!(
                String::from_utf8_lossy(&out.stdout).contains("refused"),
                "[{mode:?}/{profile}] the probe ran: {}",
                text(&out)
            );
            assert_eq!(connected(&out), 0, "[{mode:?}/{profile}] {}", text(&out));
        }
    }
}

/// The node's probe as the test hook makes it: no filesystem view, as on a host without
/// unprivileged user namespaces (`OPENCLAW_NODE_TEST_NO_VIEW=1`, read only by the probe).
const NO_VIEW_ENV: &str = "OPENCLAW_NODE_TEST_NO_VIEW";

/// `openclaw-node sandbox check [--json]` as the node of `mode` runs it, without a view.
fn check_without_view_as(mode: Mode, h: &Home, json: bool) -> Output {
    let mut c = command(&as_user(mode), &node_bin_for(mode, h));
    c.args(["sandbox", "check"]);
    if json {
        c.arg("--json");
    }
    env_for(&mut c, h);
    c.env("OPENCLAW_STATE_DIR", h.state()).env(NO_VIEW_ENV, "1");
    c.output().unwrap()
}

fn check_without_view(mode: Mode, h: &Home) -> serde_json::Value {
    let out = check_without_view_as(mode, h, true);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)))
}

/// The fallback line of the text check.
fn fallback_line(mode: Mode, h: &Home) -> String {
    let out = check_without_view_as(mode, h, false);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.starts_with("filesystem view:"))
        .unwrap_or_else(|| panic!("no view line: {}", text(&out)))
        .to_string()
}

/// The fallback without a view (a normal user's node on a host without unprivileged user
/// namespaces): before Landlock ABI 9 nothing mediates `connect` to a pathname socket, so the
/// seccomp filter denies `socket(AF_UNIX)` (no-unix-sockets.json). A stand-in daemon outside the
/// run's roots: reachable unsandboxed (baseline control), not from a run without the view, and
/// again with `sandbox.allowUnixSockets: true` (the opt-out). `socketpair` works throughout.
#[test]
fn attack_connect_to_host_daemon_socket_without_view() {
    use std::os::unix::net::UnixListener;
    let mode = Mode::User;
    if !Path::new("/usr/bin/python3").exists() {
        require(false, "/usr/bin/python3");
        return;
    }
    if !available(mode) || !require(is_root(), "root (to start the node as uid 65534)") {
        return;
    }
    let mut ran = 0;
    for profile in PROFILES {
        let h = Home::new(mode, profile);
        let path = h.outside.join("daemon.sock");
        let _daemon = UnixListener::bind(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777)).unwrap();
        let script = format!(
            "/usr/bin/python3 - <<'EOF'\nimport socket\na, b = socket.socketpair()\na.send(b'x')\nprint('pair', b.recv(1).decode())\ntry:\n    s = socket.socket(socket.AF_UNIX)\nexcept OSError as e:\n    print('nosocket', e.errno)\nelse:\n    try:\n        s.connect({:?})\n        print('connected')\n    except OSError as e:\n        print('refused', e.errno)\nEOF",
            path.display().to_string()
        );
        let stdout = |o: &Output| String::from_utf8_lossy(&o.stdout).into_owned();
        let base = baseline(mode, &h, &script);
        assert!(
            stdout(&base).contains("connected") && stdout(&base).contains("pair x"),
            "baseline control [{profile}]: the stand-in daemon is reachable: {}",
            text(&base)
        );

        let check = check_without_view(mode, &h);
        assert!(
            check["kernel"]["view"].is_null(),
            "[{profile}] the hook removes the view: {check}"
        );
        let abi = check["kernel"]["landlockAbi"].as_i64().unwrap_or(0);
        let run = |h: &Home| {
            let mut c = command(&as_user(mode), &node_bin_for(mode, h));
            c.args(["exec", "--cwd"])
                .arg(&h.home)
                .args(["--shell", &script]);
            env_for(&mut c, h);
            c.env(NO_VIEW_ENV, "1");
            c.output().unwrap()
        };
        let out = run(&h);
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("refused:"),
            "[{profile}] the run must start\n{}",
            text(&out)
        );
        assert!(
            stdout(&out).contains("pair x"),
            "[{profile}] socketpair stays allowed: {}",
            text(&out)
        );
        assert!(
            !stdout(&out).contains("connected"),
            "[{profile}] the run reached the host daemon without a view: {}",
            text(&out)
        );
        if abi < 9 {
            assert_eq!(check["fallbackUnixSockets"], "denied", "{check}");
            let line = fallback_line(mode, &h);
            assert!(
                line.contains("fallback: Landlock write rules")
                    && line.contains("UNIX socket creation denied")
                    && line.contains("sandbox.allowUnixSockets"),
                "{line}"
            );
            assert!(
                stdout(&out).contains(&format!("nosocket {}", libc::EPERM)),
                "[{profile}] socket(AF_UNIX) denied by seccomp: {}",
                text(&out)
            );
        } else {
            assert_eq!(
                check["fallbackUnixSockets"], "mediatedByLandlock",
                "{check}"
            );
        }

        // The opt-out: the same run with `allowUnixSockets: true` reaches the daemon (Landlock
        // ABI < 9 does not mediate connect).
        let cfg = h.state().join("node-host.json5");
        let text_cfg = std::fs::read_to_string(&cfg).unwrap();
        std::fs::write(
            &cfg,
            text_cfg.replace(
                "useCgroups: false",
                "useCgroups: false, allowUnixSockets: true",
            ),
        )
        .unwrap();
        let check = check_without_view(mode, &h);
        let out = run(&h);
        if abi < 9 {
            assert_eq!(check["fallbackUnixSockets"], "allowedByConfig", "{check}");
            let line = fallback_line(mode, &h);
            assert!(
                line.contains("UNIX socket creation allowed by `sandbox.allowUnixSockets`"),
                "{line}"
            );
            assert!(
                stdout(&out).contains("connected"),
                "[{profile}] allowUnixSockets: true lets the run connect: {}",
                text(&out)
            );
        }
        ran += 1;
    }
    if ran == 0 && must_work() {
        panic!("no profile could run");
    }
}

/// A run sees only the minimal /dev: no disk to read raw, no `/dev/kvm`, `/dev/userfaultfd`
/// (a userfaultfd although seccomp denies the syscall), VTs or the kernel log.
#[test]
fn attack_open_host_devices() {
    let mut devices: Vec<String> = std::fs::read_dir("/dev")
        .unwrap()
        .flatten()
        .filter(|e| {
            use std::os::unix::fs::FileTypeExt;
            e.file_type()
                .is_ok_and(|t| t.is_block_device() || t.is_char_device())
        })
        .map(|e| e.path().display().to_string())
        .filter(|p| {
            !openclaw_node::sandbox::view::MIN_DEVICES.contains(&p.as_str())
                && !p.starts_with("/dev/pts")
                // The view's /dev/ptmx is the run's own devpts instance.
                && p != "/dev/ptmx"
        })
        .collect();
    devices.sort();
    let script = format!(
        "for d in {}; do if (exec 3<\"$d\") 2>/dev/null; then echo \"opened $d\"; fi; done; \
         echo scanned",
        devices.join(" ")
    );
    for mode in MODES {
        if !available(mode) {
            continue;
        }
        for profile in PROFILES {
            let h = Home::new(mode, profile);
            let opened = |o: &Output| {
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .filter(|l| l.starts_with("opened"))
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            };
            let base = baseline(mode, &h, &script);
            assert!(
                !opened(&base).is_empty(),
                "baseline control [{mode:?}/{profile}]: some host device opens: {}",
                text(&base)
            );
            let out = sandboxed(mode, &h, &script);
            assert!(
                String::from_utf8_lossy(&out.stdout).contains("scanned"),
                "{}",
                text(&out)
            );
            assert_eq!(
                opened(&out),
                Vec::<String>::new(),
                "[{mode:?}/{profile}] {}",
                text(&out)
            );
            let out = sandboxed(
                mode,
                &h,
                "echo x > /dev/null && head -c 4 /dev/urandom | wc -c",
            );
            assert_eq!(
                String::from_utf8_lossy(&out.stdout).trim(),
                "4",
                "[{mode:?}/{profile}] {}",
                text(&out)
            );
        }
    }
}

/// Landlock at the kernel's ABI (not pinned to 3): from ABI 5 on, `ioctl` on a device the run
/// opened is mediated — the devices the view keeps are read and written, never controlled.
#[test]
fn attack_device_ioctl_is_mediated() {
    let abi = openclaw_node::sandbox::landlock::probe_abi().unwrap_or(0);
    if abi < 5 {
        require(
            false,
            "Landlock ABI >= 5 (Linux 6.10) for device ioctl mediation",
        );
        return;
    }
    // RNDGETENTCNT on /dev/urandom: harmless, unprivileged, and a device ioctl.
    let script = "python3 -c 'import fcntl; f = open(\"/dev/urandom\", \"rb\"); \
                  fcntl.ioctl(f, 0x80045200, bytes(4)); print(\"IOCTL-OK\")'";
    for mode in MODES {
        if !available(mode) {
            continue;
        }
        for profile in PROFILES {
            let h = Home::new(mode, profile);
            let base = baseline(mode, &h, script);
            assert!(
                String::from_utf8_lossy(&base.stdout).contains("IOCTL-OK"),
                "baseline control [{mode:?}/{profile}]: the ioctl works unsandboxed: {}",
                text(&base)
            );
            let out = sandboxed(mode, &h, script);
            assert!(
                !String::from_utf8_lossy(&out.stdout).contains("IOCTL-OK"),
                "[{mode:?}/{profile}] the device ioctl went through: {}",
                text(&out)
            );
            assert!(
                String::from_utf8_lossy(&out.stderr).contains("Permission denied"),
                "[{mode:?}/{profile}] refused by Landlock (EACCES): {}",
                text(&out)
            );
        }
    }
}

#[test]
fn strict_masks_shadow_for_a_root_node() {
    if !is_root() || !Path::new("/etc/shadow").exists() {
        require(false, "root and /etc/shadow");
        return;
    }
    let h = Home::new(Mode::Root, "strict");
    let shadow = std::fs::read_to_string("/etc/shadow").unwrap();
    let first = shadow.lines().next().unwrap_or("root:").to_string();
    let base = baseline(Mode::Root, &h, "cat /etc/shadow");
    assert!(
        String::from_utf8_lossy(&base.stdout).contains(&first),
        "baseline control"
    );
    let out = sandboxed(Mode::Root, &h, "cat /etc/shadow");
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains(&first),
        "{}",
        text(&out)
    );
}

#[test]
fn cwd_root_is_refused_with_a_reason() {
    for mode in [Mode::Root, Mode::User] {
        if !available(mode) {
            continue;
        }
        let h = Home::new(mode, "standard");
        let prefix = if mode == Mode::User {
            as_user(mode)
        } else {
            vec![]
        };
        for cwd in ["/", "/etc", "/usr/lib"] {
            let mut c = command(&prefix, &node_bin_for(mode, &h));
            c.args(["exec", "--cwd", cwd, "--", "/bin/true"]);
            env_for(&mut c, &h);
            let out = c.output().unwrap();
            assert!(!out.status.success(), "{cwd}: {}", text(&out));
            assert!(
                String::from_utf8_lossy(&out.stderr).contains("refusing working directory"),
                "{cwd}: {}",
                text(&out)
            );
        }
    }
}

/// Ordinary work with cwd = $HOME still works; a new top-level file is refused with one line
/// from the node saying why.
#[test]
fn control_ordinary_work_in_home_still_works() {
    let have_cc = Command::new("cc").arg("--version").output().is_ok();
    for mode in MODES {
        if !available(mode) {
            continue;
        }
        for profile in PROFILES {
            let h = Home::new(mode, profile);
            let script = format!(
                "set -e; echo more >> notes.txt; git init -q x; cd x; echo a > f; git add f; \
                 git -c user.email=a@b -c user.name=n commit -qm first; git log --oneline | wc -l; \
                 {}; echo done",
                if have_cc {
                    "printf 'int main(void){return 0;}\\n' > m.c; cc m.c -o m; ./m"
                } else {
                    "true"
                }
            );
            let out = sandboxed(mode, &h, &script);
            assert!(out.status.success(), "[{mode:?}/{profile}] {}", text(&out));
            assert!(
                file_is(&h.home.join("notes.txt"), "more"),
                "[{mode:?}/{profile}]"
            );
            assert!(h.home.join("x/.git/HEAD").exists());
            let out = sandboxed(mode, &h, "touch newfile");
            assert!(!out.status.success());
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                err.lines()
                    .filter(|l| l.starts_with("openclaw-node: read-only"))
                    .count(),
                1,
                "[{mode:?}/{profile}] {}",
                text(&out)
            );
            assert!(!h.home.join("newfile").exists());
        }
    }
}

#[test]
fn sandbox_check_names_the_view_mechanism() {
    let out = Command::new(node_bin())
        .args(["sandbox", "check"])
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    let line = s
        .lines()
        .find(|l| l.starts_with("filesystem view:"))
        .unwrap_or_default()
        .to_string();
    if is_root() {
        assert!(line.contains("mount-namespace") || !must_work(), "{s}");
    }
    assert!(!line.is_empty(), "{s}");
}
