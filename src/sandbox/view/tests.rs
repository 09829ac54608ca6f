//! Planner tests: the closed `$HOME`, pinned chains, missing protected names, symlinks.

use std::path::{Path, PathBuf};

use super::*;

fn node(home: &Path) -> NodeProtection {
    NodeProtection {
        home: Some(home.to_path_buf()),
        state_dir: Some(home.join(".openclaw")),
        protected: vec![home.join(".local/bin"), PathBuf::from("/usr/bin")],
        masked_files: vec![],
        other_homes: vec![],
    }
}

#[test]
fn other_users_homes_under_a_writable_root_are_closed() {
    let d = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(d.path()).unwrap();
    std::fs::create_dir_all(root.join("bob/src")).unwrap();
    std::fs::write(root.join("bob/.bashrc"), "x").unwrap();
    let passwd = format!(
        "root:x:0:0::/root:/bin/sh\nbob:x:1000:1000::{}:/bin/sh\nsys:x:2:2::/usr/sbin:/x\n",
        root.join("bob").display()
    );
    let homes = passwd_homes(&passwd);
    assert!(homes.contains(&root.join("bob")) && !homes.iter().any(|h| h.starts_with("/usr")));
    let n = NodeProtection {
        other_homes: homes,
        ..Default::default()
    };
    let p = plan(std::slice::from_ref(&root), &n);
    assert_eq!(
        p.binds,
        vec![
            (root.clone(), false),
            (root.join("bob"), true),
            (root.join("bob/src"), false)
        ]
    );
}

fn plan(writable: &[PathBuf], n: &NodeProtection) -> ViewPlan {
    plan_view(&ViewInput {
        writable,
        run_path_dirs: &[],
        node: n,
        strict: false,
        closed_only: false,
        sockets: vec![],
    })
    .unwrap()
}

#[test]
fn home_as_cwd_is_closed_with_non_dot_entries_bound_back() {
    let d = tempfile::tempdir().unwrap();
    let home = std::fs::canonicalize(d.path()).unwrap();
    std::fs::create_dir_all(home.join(".openclaw")).unwrap();
    std::fs::create_dir_all(home.join("proj")).unwrap();
    std::fs::write(home.join("notes.txt"), "x").unwrap();
    std::fs::write(home.join(".profile"), "x").unwrap();
    std::os::unix::fs::symlink("/etc", home.join("etc-link")).unwrap();
    let p = plan(std::slice::from_ref(&home), &node(&home));
    let binds: Vec<_> = p.binds.iter().map(|(p, ro)| (p.clone(), *ro)).collect();
    assert_eq!(
        binds,
        vec![(home.join("notes.txt"), false), (home.join("proj"), false)],
        "dot-entries and symlinks are not bound back"
    );
    assert!(p.read_only_inside.contains(&home));
    assert_eq!(p.mask_dirs, vec![(home.join(".openclaw"), None)]);
}

#[test]
fn home_below_the_cwd_is_closed_too() {
    let d = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(d.path()).unwrap();
    let home = root.join("lab/home");
    std::fs::create_dir_all(home.join(".openclaw")).unwrap();
    std::fs::create_dir_all(home.join("proj")).unwrap();
    let p = plan(std::slice::from_ref(&root), &node(&home));
    assert_eq!(
        p.binds,
        vec![
            (root.clone(), false),
            (root.join("lab"), false),
            (home.clone(), true),
            (home.join("proj"), false)
        ]
    );
}

#[test]
fn existing_protected_dir_below_a_root_pins_the_chain() {
    let d = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(d.path()).unwrap();
    std::fs::create_dir_all(root.join("tools/bin")).unwrap();
    std::fs::create_dir_all(root.join("src")).unwrap();
    let n = NodeProtection {
        protected: vec![root.join("tools/bin")],
        ..Default::default()
    };
    let p = plan(std::slice::from_ref(&root), &n);
    assert_eq!(
        p.binds,
        vec![
            (root.clone(), false),
            (root.join("tools"), false),
            (root.join("tools/bin"), true)
        ]
    );
}

#[test]
fn landlock_fallback_closes_instead_of_pinning() {
    let d = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(d.path()).unwrap();
    std::fs::create_dir_all(root.join("tools/bin")).unwrap();
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::write(root.join("tools/readme"), "x").unwrap();
    let n = NodeProtection {
        protected: vec![root.join("tools/bin")],
        ..Default::default()
    };
    let p = plan_view(&ViewInput {
        writable: std::slice::from_ref(&root),
        run_path_dirs: &[],
        node: &n,
        strict: false,
        closed_only: true,
        sockets: vec![],
    })
    .unwrap();
    // Only entries with nothing protected below them get write rules.
    assert_eq!(
        p.binds,
        vec![
            (root.join("src"), false),
            (root.join("tools/readme"), false)
        ]
    );
}

#[test]
fn missing_protected_name_closes_its_parent_without_a_placeholder() {
    let d = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(d.path()).unwrap();
    std::fs::create_dir_all(root.join("src")).unwrap();
    let n = NodeProtection {
        protected: vec![root.join("bin")],
        ..Default::default()
    };
    let p = plan(std::slice::from_ref(&root), &n);
    assert_eq!(p.binds, vec![(root.join("src"), false)]);
    assert!(!root.join("bin").exists(), "no placeholder on the host");
}

#[test]
fn protected_symlink_protects_its_target() {
    let d = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(d.path()).unwrap();
    std::fs::create_dir_all(root.join("real")).unwrap();
    std::os::unix::fs::symlink(root.join("real"), root.join("bin")).unwrap();
    let n = NodeProtection {
        protected: vec![root.join("bin")],
        ..Default::default()
    };
    let p = plan(std::slice::from_ref(&root), &n);
    // The symlink's directory is closed (the link cannot be replaced) and the target is not
    // bound back.
    assert!(p.binds.is_empty(), "{:?}", p.binds);
}

#[test]
fn cwd_refusals() {
    assert!(refuse_cwd(Path::new("/"), None, &[]).is_some());
    assert!(refuse_cwd(Path::new("/etc"), None, &[]).is_some());
    assert!(refuse_cwd(Path::new("/usr/share"), None, &[]).is_some());
    assert!(refuse_cwd(Path::new("/home"), None, &[]).is_some());
    assert!(refuse_cwd(Path::new("/var/tmp"), None, &[]).is_none());
    assert!(refuse_cwd(Path::new("/tmp"), None, &[]).is_none());
    let d = tempfile::tempdir().unwrap();
    assert!(refuse_cwd(d.path(), Some(d.path()), &[]).is_some());
    // An operator-configured writable root under a system directory is the operator's call.
    let root = [PathBuf::from("/var/lib")];
    assert!(refuse_cwd(Path::new("/var/lib/dpkg"), None, &root).is_none());
    assert!(refuse_cwd(Path::new("/"), None, &[PathBuf::from("/")]).is_some());
    assert!(refuse_cwd(Path::new("/etc"), None, &[PathBuf::from("/")]).is_some());
}
