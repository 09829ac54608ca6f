//! Attacks on what decides later runs and on the node's secrets: approvals, settings, service unit, start-up files, keys, tokens, setuid bits.

use super::*;

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
