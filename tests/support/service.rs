//! Shared harness for the service integration tests: a temporary HOME/XDG/state layout and fake
//! `systemctl`/`loginctl` scripts placed first on PATH that record their calls and simulate the
//! user manager's state through files.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

const FAKE_SYSTEMCTL: &str = r#"#!/bin/bash
# Fake `systemctl`: records every call, simulates a user manager with files in $FAKE_STATE.
S="${FAKE_STATE:?}"
echo "systemctl $*" >> "$S/calls.log"
[ "$1" = "--user" ] || { echo "fake systemctl: only --user is simulated" >&2; exit 2; }
shift
if [ -e "$S/nobus" ]; then echo "Failed to connect to bus: No medium found" >&2; exit 1; fi
cmd=$1; shift
unit=""
for a in "$@"; do case "$a" in -*) ;; *) unit=$a;; esac; done
if [ -e "$S/fail-$cmd" ]; then cat "$S/fail-$cmd" >&2; exit 1; fi
case "$cmd" in
  show)
    if [ -z "$unit" ]; then echo "Version=252"; exit 0; fi
    if [ -e "$S/active" ]; then
      echo ActiveState=active; echo SubState=running; echo "MainPID=$(cat "$S/active")"
      echo "ExecMainStartTimestamp=Wed 2026-11-25 10:00:00 UTC"
    else
      echo ActiveState="$(cat "$S/inactive-state" 2>/dev/null || echo inactive)"; echo SubState=dead
      echo MainPID=0; echo ExecMainStartTimestamp=
    fi
    echo "ExecMainStatus=$(cat "$S/exit-status" 2>/dev/null || echo 0)"
    echo Result=success; echo NRestarts=0
    if [ -e "$S/enabled" ]; then echo UnitFileState=enabled; else echo UnitFileState=disabled; fi
    echo LoadState=loaded ;;
  is-enabled) if [ -e "$S/enabled" ]; then echo enabled; exit 0; else echo disabled; exit 1; fi ;;
  daemon-reload|reset-failed) ;;
  enable) touch "$S/enabled" ;;
  disable) rm -f "$S/enabled"; if [ "$1" = "--now" ]; then rm -f "$S/active"; fi ;;
  start|restart) if [ -e "$S/dies-on-start" ]; then rm -f "$S/active"; else echo "${FAKE_PID:-4242}" > "$S/active"; fi ;;
  stop) rm -f "$S/active" ;;
  *) echo "fake systemctl: unknown command $cmd" >&2; exit 2 ;;
esac
"#;

const FAKE_LOGINCTL: &str = r#"#!/bin/bash
echo "loginctl $*" >> "${FAKE_STATE:?}/calls.log"
cat "$FAKE_STATE/linger" 2>/dev/null || echo yes
"#;

/// One isolated machine.
pub struct Lab {
    pub dir: tempfile::TempDir,
    /// Extra environment for every command.
    pub env: Vec<(String, String)>,
    /// PATH override (default: fake bin dir, then /usr/bin:/bin).
    pub path: Option<String>,
    /// Whether XDG_RUNTIME_DIR is set.
    pub xdg_runtime: bool,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout must be exactly one JSON object.
    pub fn json(&self) -> serde_json::Value {
        let v: serde_json::Value = serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not exactly one JSON document ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        });
        assert!(v.is_object(), "not an object: {v}");
        v
    }
}

impl Lab {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        for d in ["bin", "home", "fake", "run"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        for (name, body) in [("systemctl", FAKE_SYSTEMCTL), ("loginctl", FAKE_LOGINCTL)] {
            let p = dir.path().join("bin").join(name);
            std::fs::write(&p, body).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        Self {
            dir,
            env: Vec::new(),
            path: None,
            xdg_runtime: true,
        }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }
    pub fn home(&self) -> PathBuf {
        self.root().join("home")
    }
    pub fn state_dir(&self) -> PathBuf {
        self.home().join(".openclaw")
    }
    pub fn fake(&self) -> PathBuf {
        self.root().join("fake")
    }
    pub fn unit_path(&self) -> PathBuf {
        self.home()
            .join(".config/systemd/user/openclaw-node.service")
    }
    pub fn env_file(&self) -> PathBuf {
        self.state_dir().join("node.systemd.env")
    }

    /// Set a simulation flag file (e.g. `nobus`, `fail-restart`).
    pub fn set(&self, name: &str, content: &str) {
        std::fs::write(self.fake().join(name), content).unwrap();
    }
    pub fn unset(&self, name: &str) {
        let _ = std::fs::remove_file(self.fake().join(name));
    }

    /// Recorded calls (one per line), then cleared.
    pub fn take_calls(&self) -> Vec<String> {
        let p = self.fake().join("calls.log");
        let text = std::fs::read_to_string(&p).unwrap_or_default();
        let _ = std::fs::remove_file(&p);
        text.lines().map(str::to_string).collect()
    }

    pub fn with_env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }

    pub fn run(&self, args: &[&str]) -> Run {
        let mut cmd = Command::cargo_bin("openclaw-node").unwrap();
        let path = self
            .path
            .clone()
            .unwrap_or_else(|| format!("{}:/usr/bin:/bin", self.root().join("bin").display()));
        cmd.env_clear()
            .env("PATH", path)
            .env("HOME", self.home())
            .env("FAKE_STATE", self.fake())
            .env("FAKE_PID", std::process::id().to_string())
            .args(args);
        if self.xdg_runtime {
            cmd.env("XDG_RUNTIME_DIR", self.root().join("run"));
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    }
}

/// File mode bits.
pub fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Assert `needles` appear in `calls` in this order (other calls may be interleaved).
pub fn assert_in_order(calls: &[String], needles: &[&str]) {
    let mut i = 0;
    for c in calls {
        if i < needles.len() && c == needles[i] {
            i += 1;
        }
    }
    assert_eq!(
        i,
        needles.len(),
        "expected calls in order {needles:#?}\nrecorded: {calls:#?}"
    );
}
