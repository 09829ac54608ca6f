//! The LaunchAgent plist (rendered on every platform; golden file in `tests/golden/`) is a valid
//! property list whose arguments and environment read back exactly (checked with Python's
//! `plistlib` when `python3` is available; required under CI).

use std::path::PathBuf;

use openclaw_node::service::launchd::plist::{PlistSpec, launch_argv, render_plist};

fn spec() -> PlistSpec {
    PlistSpec {
        label: "ai.openclaw.node".into(),
        comment: "OpenClaw Node Host".into(),
        program_arguments: vec![
            "/Applications/Open Claw/openclaw-node".into(),
            "run".into(),
            "--display-name".into(),
            "<&> \"q\" 'a' ü".into(),
        ],
        environment_file: Some(PathBuf::from("/Users/u/.openclaw/node.launchd.env")),
        environment: vec![("HOME".into(), "/Users/u".into())],
        working_directory: None,
        stdout_path: PathBuf::from("/Users/u/.openclaw/logs/node.log"),
        stderr_path: PathBuf::from("/Users/u/.openclaw/logs/node.err.log"),
    }
}

#[test]
fn plist_parses_with_plistlib() {
    let have_python = std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok();
    if !have_python {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "python3 required under CI"
        );
        eprintln!("python3 not found; skipping");
        return;
    }
    let s = spec();
    let dir = tempfile::tempdir().unwrap();
    let mut files = vec![dir.path().join("a.plist")];
    std::fs::write(&files[0], render_plist(&s).unwrap()).unwrap();
    files.push(PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/ai.openclaw.node.plist"
    )));
    for f in files {
        let out = std::process::Command::new("python3")
            .args([
                "-c",
                "import json,plistlib,sys; d=plistlib.load(open(sys.argv[1],'rb')); print(json.dumps(d))",
            ])
            .arg(&f)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            f.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["Label"], "ai.openclaw.node");
        assert_eq!(v["RunAtLoad"], true);
        assert_eq!(v["KeepAlive"]["SuccessfulExit"], false);
        if f.ends_with("a.plist") {
            let argv: Vec<String> = v["ProgramArguments"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_string())
                .collect();
            assert_eq!(argv, launch_argv(&s).unwrap());
            assert_eq!(argv[4..], s.program_arguments[..]);
            assert_eq!(v["EnvironmentVariables"]["HOME"], "/Users/u");
        }
    }
}
