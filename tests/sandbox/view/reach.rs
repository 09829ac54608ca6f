//! Attacks that reach beyond the filesystem: a cwd above HOME, SysV IPC across runs, host daemon sockets, host devices.

use super::*;

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
