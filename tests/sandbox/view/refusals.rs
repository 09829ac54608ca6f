//! What the view masks or refuses, and ordinary work that must keep working.

use super::*;

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
