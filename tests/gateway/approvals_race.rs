//! Faults of the exec-approvals file (issue 8 §3), through the real commands layer
//! (`NodeCommands` + `PolicyEngine`) in a helper process (`openclaw-node-faults-helper`) so the
//! faults can be made real for root: capabilities dropped with `setpriv` (unreadable file,
//! read-only directory) and `RLIMIT_FSIZE` (a full disk: writes fail with EFBIG).
//!
//! For every fault: `system.run` fails closed with an error naming the file and the problem,
//! `system.execApprovals.get` reports it (or, for invalid *content*, returns the fail-closed
//! file with the raw hash so an operator can overwrite it — EA §2.4 recommendation), and a
//! `system.execApprovals.set` that cannot write leaves the previous file byte-identical.
//! Plus concurrent `set`s with the same `baseHash` (EA §16.2): threads, processes and the
//! gateway path — exactly one wins, the others get "exec approvals changed; reload and retry".

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use openclaw_node::policy::{PolicyEngine, PolicyPaths};

const HELPER: &str = env!("CARGO_BIN_EXE_openclaw-node-faults-helper");
const CHANGED: &str = "exec approvals changed; reload and retry";

#[derive(Clone, Copy)]
enum Wrap {
    Plain,
    /// uid 0 without any capability: file modes bite (no CAP_DAC_OVERRIDE / CAP_FOWNER).
    NoCaps,
    /// RLIMIT_FSIZE in bytes: writes past it fail with EFBIG.
    Fsize(u64),
}

fn helper_cmd(dir: &Path, op: &str, params: &Value, wrap: Wrap) -> Command {
    let mut args = vec![
        dir.to_string_lossy().into_owned(),
        op.to_string(),
        params.to_string(),
    ];
    let mut c = match wrap {
        Wrap::NoCaps => {
            let mut c = Command::new("setpriv");
            c.args(["--inh-caps=-all", "--bounding-set=-all", HELPER]);
            c
        }
        Wrap::Fsize(n) => {
            args.push(n.to_string());
            Command::new(HELPER)
        }
        Wrap::Plain => Command::new(HELPER),
    };
    c.args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn parse_out(out: std::process::Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "helper failed: {:?}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

fn op(dir: &Path, op: &str, params: Value, wrap: Wrap) -> Value {
    parse_out(helper_cmd(dir, op, &params, wrap).output().unwrap())
}

/// Each helper is a fresh process, so a fixed `runId` is never a replay.
fn run_echo() -> Value {
    json!({"command":["/bin/echo","fault"],"runId":"fault-run"})
}

fn approvals(dir: &Path) -> PathBuf {
    dir.join("exec-approvals.json")
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A state dir whose approvals file is the node's own canonical file (security full, ask off).
fn state_with_valid_file() -> (tempfile::TempDir, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    crate::support::node::write_0600(&approvals(dir.path()), crate::support::node::FULL_APPROVALS);
    let got = op(dir.path(), "get", json!({}), Wrap::Plain);
    assert_eq!(got["ok"], true, "{got}");
    let bytes = std::fs::read(approvals(dir.path())).unwrap();
    assert_eq!(got["value"]["hash"], sha(&bytes));
    (dir, bytes)
}

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777
}

/// A replacement file (bigger than 1 KiB so an RLIMIT_FSIZE of 512 bytes bites).
fn replacement(tag: &str) -> Value {
    json!({"version":1,"defaults":{"security":"allowlist","ask":"on-miss"},
           "agents":{"main":{"allowlist":[{"pattern":format!("/opt/{tag}/{}", "x".repeat(1200))}]}}})
}

/// `system.run` was denied without launching anything, and the message names `needles`.
fn assert_run_fails_closed(res: &Value, needles: &[&str]) {
    assert_eq!(res["ok"], false, "run must be denied: {res}");
    assert_eq!(res["code"], "SYSTEM_RUN_DENIED", "{res}");
    let msg = res["message"].as_str().unwrap();
    for n in needles {
        assert!(msg.contains(n), "run denial must mention {n:?}: {msg}");
    }
    assert_eq!(res["events"][0]["event"], "exec.denied", "{res}");
    assert!(
        !res.to_string().contains("launched"),
        "something ran: {res}"
    );
}

fn assert_err(res: &Value, needles: &[&str]) {
    assert_eq!(res["ok"], false, "{res}");
    let msg = res["message"].as_str().unwrap();
    for n in needles {
        assert!(msg.contains(n), "error must mention {n:?}: {msg}");
    }
}

fn no_temp_files(dir: &Path) {
    let stray: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(stray.is_empty(), "temp files left behind: {stray:?}");
}

// ---------------------------------------------------------------------------------------------
// invalid content

fn invalid_content_case(text: &[u8], problem: &str) {
    let (dir, _) = state_with_valid_file();
    let path = approvals(dir.path());
    std::fs::write(&path, text).unwrap();
    let path_s = path.to_string_lossy().into_owned();

    let run = op(dir.path(), "run", run_echo(), Wrap::Plain);
    assert_run_fails_closed(&run, &[&path_s, problem]);

    // EA §2.4: get still answers, with the raw hash and the fail-closed file.
    let got = op(dir.path(), "get", json!({}), Wrap::Plain);
    assert_eq!(got["ok"], true, "{got}");
    assert_eq!(got["value"]["exists"], true);
    assert_eq!(got["value"]["hash"], sha(text));
    assert_eq!(
        got["value"]["file"]["defaults"]["security"], "deny",
        "{got}"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        text,
        "get must not rewrite an invalid file"
    );

    // A stale set changes nothing; a set with the reported hash repairs the file.
    let stale = op(
        dir.path(),
        "set",
        json!({"file": replacement("stale"), "baseHash": sha(b"other")}),
        Wrap::Plain,
    );
    assert_err(&stale, &[CHANGED]);
    assert_eq!(std::fs::read(&path).unwrap(), text);
    let fixed = op(
        dir.path(),
        "set",
        json!({"file": {"version":1,"defaults":{"security":"full","ask":"off"}}, "baseHash": sha(text)}),
        Wrap::Plain,
    );
    assert_eq!(fixed["ok"], true, "{fixed}");
    assert_eq!(mode(&path), 0o600);
    let run = op(dir.path(), "run", run_echo(), Wrap::Plain);
    assert_eq!(run["ok"], true, "repaired file must allow again: {run}");
}

#[test]
fn ea_2_4_corrupt_json_fails_closed_naming_the_file() {
    invalid_content_case(
        b"{\"version\": 1, \"defaults\": {oops}}\n",
        "not valid JSON",
    );
}

#[test]
fn ea_2_4_truncated_file_fails_closed_naming_the_file() {
    let full = crate::support::node::FULL_APPROVALS.as_bytes();
    invalid_content_case(&full[..full.len() / 2], "not valid JSON");
}

// ---------------------------------------------------------------------------------------------
// not a regular file

#[test]
fn directory_in_place_of_the_approvals_file_fails_closed() {
    let dir = tempfile::tempdir().unwrap();
    let path = approvals(dir.path());
    std::fs::create_dir(&path).unwrap();
    std::fs::write(path.join("keep"), "x").unwrap();
    let path_s = path.to_string_lossy().into_owned();

    let run = op(dir.path(), "run", run_echo(), Wrap::Plain);
    assert_run_fails_closed(&run, &[&path_s, "Is a directory"]);
    let got = op(dir.path(), "get", json!({}), Wrap::Plain);
    assert_err(&got, &[&path_s, "Is a directory"]);
    let set = op(
        dir.path(),
        "set",
        json!({"file": replacement("d"), "baseHash": sha(b"")}),
        Wrap::Plain,
    );
    assert_err(&set, &[&path_s, "Is a directory"]);
    assert!(path.is_dir(), "the directory must be left alone");
    assert_eq!(std::fs::read(path.join("keep")).unwrap(), b"x");
}

#[test]
fn ea_2_5_symlink_to_a_valid_file_is_read_but_never_written_through() {
    let (dir, bytes) = state_with_valid_file();
    let path = approvals(dir.path());
    let elsewhere = tempfile::tempdir().unwrap();
    let target = elsewhere.path().join("real.json");
    std::fs::rename(&path, &target).unwrap();
    std::os::unix::fs::symlink(&target, &path).unwrap();

    // Reading follows the link (as upstream): the target's policy applies, get answers.
    let run = op(dir.path(), "run", run_echo(), Wrap::Plain);
    assert_eq!(run["ok"], true, "{run}");
    let got = op(dir.path(), "get", json!({}), Wrap::Plain);
    assert_eq!(got["ok"], true, "{got}");
    assert_eq!(got["value"]["hash"], sha(&bytes));

    // Writing through it is refused (EA §2.5 "Refusing to write exec approvals via symlink").
    let set = op(
        dir.path(),
        "set",
        json!({"file": replacement("s"), "baseHash": sha(&bytes)}),
        Wrap::Plain,
    );
    assert_err(
        &set,
        &[
            "Refusing to write exec approvals via symlink",
            &path.to_string_lossy(),
        ],
    );
    assert!(
        std::fs::symlink_metadata(&path)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read(&target).unwrap(), bytes);
    assert_eq!(mode(&target), 0o600);

    // A target that would need rewriting (not canonical): get refuses instead of writing.
    std::fs::write(&target, crate::support::node::FULL_APPROVALS).unwrap();
    let got = op(dir.path(), "get", json!({}), Wrap::Plain);
    assert_err(&got, &["Refusing to write exec approvals via symlink"]);
    assert_eq!(
        std::fs::read(&target).unwrap(),
        crate::support::node::FULL_APPROVALS.as_bytes()
    );
    no_temp_files(dir.path());
}

#[test]
fn ea_2_5_dangling_symlink_fails_closed_and_is_not_followed_on_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = approvals(dir.path());
    let elsewhere = tempfile::tempdir().unwrap();
    let target = elsewhere.path().join("missing.json");
    std::os::unix::fs::symlink(&target, &path).unwrap();
    let path_s = path.to_string_lossy().into_owned();

    let run = op(dir.path(), "run", run_echo(), Wrap::Plain);
    assert_run_fails_closed(&run, &[&path_s, "dangling symlink"]);
    let got = op(dir.path(), "get", json!({}), Wrap::Plain);
    assert_err(&got, &[&path_s, "dangling symlink"]);
    let set = op(
        dir.path(),
        "set",
        json!({"file": replacement("x")}),
        Wrap::Plain,
    );
    assert_err(&set, &[&path_s]);
    assert!(!target.exists(), "nothing may be created through the link");
    assert!(
        std::fs::symlink_metadata(&path)
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

// ---------------------------------------------------------------------------------------------
// permissions and space (real faults for root: capabilities dropped / RLIMIT_FSIZE)

#[test]
fn unreadable_approvals_file_fails_closed_naming_the_file() {
    let (dir, bytes) = state_with_valid_file();
    let path = approvals(dir.path());
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
    let path_s = path.to_string_lossy().into_owned();

    // The fault is real for the helper (no CAP_DAC_OVERRIDE) …
    let run = op(dir.path(), "run", run_echo(), Wrap::NoCaps);
    assert_run_fails_closed(&run, &[&path_s, "Permission denied"]);
    let got = op(dir.path(), "get", json!({}), Wrap::NoCaps);
    assert_err(&got, &[&path_s, "Permission denied"]);
    let set = op(
        dir.path(),
        "set",
        json!({"file": replacement("u"), "baseHash": sha(&bytes)}),
        Wrap::NoCaps,
    );
    assert_err(&set, &[&path_s, "Permission denied"]);
    assert_eq!(mode(&path), 0o000, "set must not have replaced the file");
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    no_temp_files(dir.path());
    // … and only the fault: with the file readable again the same helper is allowed to run.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let run = op(dir.path(), "run", run_echo(), Wrap::NoCaps);
    assert_eq!(run["ok"], true, "{run}");
}

#[test]
fn read_only_approvals_directory_set_fails_and_keeps_the_file() {
    let (dir, bytes) = state_with_valid_file();
    let path = approvals(dir.path());
    // Not ours any more and not writable: without CAP_FOWNER/CAP_DAC_OVERRIDE root can neither
    // create the temp file nor chmod the directory.
    std::os::unix::fs::chown(dir.path(), Some(65534), Some(65534)).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::remove_file(dir.path().join("exec-approvals.json.lock")).ok();
    let dir_s = dir.path().to_string_lossy().into_owned();

    // The file is readable and valid: its policy still applies, get answers without writing.
    let run = op(dir.path(), "run", run_echo(), Wrap::NoCaps);
    assert_eq!(run["ok"], true, "{run}");
    let got = op(dir.path(), "get", json!({}), Wrap::NoCaps);
    assert_eq!(got["ok"], true, "{got}");
    assert_eq!(got["value"]["hash"], sha(&bytes));

    let set = op(
        dir.path(),
        "set",
        json!({"file": replacement("ro"), "baseHash": sha(&bytes)}),
        Wrap::NoCaps,
    );
    assert_err(&set, &[&dir_s, "cannot write exec approvals"]);
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    assert_eq!(mode(&path), 0o600);
    no_temp_files(dir.path());

    // The same set succeeds once the directory is writable again (it was the fault).
    std::os::unix::fs::chown(dir.path(), Some(0), Some(0)).unwrap();
    let set = op(
        dir.path(),
        "set",
        json!({"file": replacement("ro"), "baseHash": sha(&bytes)}),
        Wrap::NoCaps,
    );
    assert_eq!(set["ok"], true, "{set}");
}

#[test]
fn full_filesystem_efbig_set_fails_and_keeps_the_file() {
    let (dir, bytes) = state_with_valid_file();
    let path = approvals(dir.path());
    let path_s = path.to_string_lossy().into_owned();
    let params = json!({"file": replacement("big"), "baseHash": sha(&bytes)});

    let set = op(dir.path(), "set", params.clone(), Wrap::Fsize(512));
    assert_err(&set, &[&path_s, "File too large"]);
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    assert_eq!(mode(&path), 0o600);
    no_temp_files(dir.path());
    // Reads are unaffected by the limit: the policy still applies.
    let run = op(dir.path(), "run", run_echo(), Wrap::Fsize(512));
    assert_eq!(run["ok"], true, "{run}");

    // Without the limit the very same request is fine.
    let set = op(dir.path(), "set", params, Wrap::Plain);
    assert_eq!(set["ok"], true, "{set}");
    assert_ne!(std::fs::read(&path).unwrap(), bytes);
}

// ---------------------------------------------------------------------------------------------
// concurrent sets with the same baseHash (EA §16.2)

const N: usize = 16;

fn submission(i: usize) -> Value {
    json!({"version":1,
           "defaults":{"security": if i.is_multiple_of(2) {"allowlist"} else {"full"}, "ask":"off"},
           "agents":{format!("agent-{i}"):{"allowlist":[{"pattern":format!("/opt/tool-{i}/bin")}]}}})
}

/// Exactly one success; the rest the stale-hash error; the file is exactly the winner's.
fn assert_one_winner(dir: &Path, results: &[(usize, bool, String, String)]) {
    let winners: Vec<usize> = results.iter().filter(|r| r.1).map(|r| r.0).collect();
    assert_eq!(winners.len(), 1, "exactly one set must win: {results:?}");
    for (i, ok, code, msg) in results {
        if !ok {
            assert_eq!(code, "INVALID_REQUEST", "set {i}: {msg}");
            assert_eq!(msg, CHANGED, "set {i}");
        }
    }
    let w = winners[0];
    let path = approvals(dir);
    assert_eq!(mode(&path), 0o600);
    let on_disk: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let want = submission(w);
    assert_eq!(on_disk["defaults"], want["defaults"], "{on_disk}");
    let agents = on_disk["agents"].as_object().unwrap();
    assert_eq!(agents.len(), 1, "a mix of submissions: {on_disk}");
    let entries = agents[&format!("agent-{w}")]["allowlist"]
        .as_array()
        .unwrap();
    assert_eq!(entries.len(), 1, "{on_disk}");
    assert_eq!(entries[0]["pattern"], format!("/opt/tool-{w}/bin"));
    no_temp_files(dir);
}

#[test]
fn ea_16_2_concurrent_sets_same_base_hash_threads_exactly_one_wins() {
    let (dir, bytes) = state_with_valid_file();
    let base = sha(&bytes);
    let barrier = Arc::new(Barrier::new(N));
    let handles: Vec<_> = (0..N)
        .map(|i| {
            let d = dir.path().to_path_buf();
            let barrier = barrier.clone();
            let base = base.clone();
            std::thread::spawn(move || {
                // One engine per thread, as separate node instances would have.
                let engine = PolicyEngine::new(
                    PolicyPaths {
                        approvals: approvals(&d),
                        state_dir: d.clone(),
                    },
                    "/usr/bin:/bin".into(),
                );
                barrier.wait();
                match engine.approvals_set(&json!({"file": submission(i), "baseHash": base})) {
                    Ok(_) => (i, true, String::new(), String::new()),
                    Err(e) => (i, false, e.kind.wire_code().to_string(), e.message),
                }
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_one_winner(dir.path(), &results);
}

#[test]
fn ea_16_2_concurrent_sets_same_base_hash_processes_exactly_one_wins() {
    let (dir, bytes) = state_with_valid_file();
    let base = sha(&bytes);
    let children: Vec<_> = (0..N)
        .map(|i| {
            let params = json!({"file": submission(i), "baseHash": base});
            (
                i,
                helper_cmd(dir.path(), "set", &params, Wrap::Plain)
                    .spawn()
                    .unwrap(),
            )
        })
        .collect();
    let results: Vec<_> = children
        .into_iter()
        .map(|(i, c)| {
            let v = parse_out(c.wait_with_output().unwrap());
            (
                i,
                v["ok"] == true,
                v["code"].as_str().unwrap_or("").to_string(),
                v["message"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_one_winner(dir.path(), &results);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ea_16_2_concurrent_sets_same_base_hash_via_gateway_exactly_one_wins() {
    use crate::support::gateway::*;
    use crate::support::node::*;
    let gw = Gw::abrupt().await;
    let node = NodeProc::start(gw.port(), FULL_APPROVALS);
    let (mut ws, node_id) = gw.connect(MAX_PAYLOAD).await;
    let got = call(
        &mut ws,
        "get",
        &node_id,
        "system.execApprovals.get",
        json!({}),
    )
    .await;
    let snap: Value = serde_json::from_str(got["payloadJSON"].as_str().unwrap()).unwrap();
    let base = snap["hash"].as_str().unwrap().to_string();
    assert_eq!(
        base,
        sha(&std::fs::read(node.state("exec-approvals.json")).unwrap())
    );

    for i in 0..N {
        let p = json!({"file": submission(i), "baseHash": base});
        send_invoke(
            &mut ws,
            &format!("set-{i}"),
            &node_id,
            "system.execApprovals.set",
            p,
        )
        .await;
    }
    let ids: Vec<String> = (0..N).map(|i| format!("set-{i}")).collect();
    let by_id = results_of(&mut ws, &ids, T).await;
    let mut results = Vec::new();
    for i in 0..N {
        let r = &by_id[&ids[i]];
        results.push((
            i,
            r["ok"] == true,
            r["error"]["code"].as_str().unwrap_or("").to_string(),
            r["error"]["message"].as_str().unwrap_or("").to_string(),
        ));
    }
    assert_one_winner(node.dir.path(), &results);
}

#[test]
fn full_filesystem_allow_always_run_fails_closed_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = approvals(dir.path());
    crate::support::node::write_0600(
        &path,
        "{\"version\":1,\"defaults\":{\"security\":\"allowlist\",\"ask\":\"on-miss\",\"askFallback\":\"deny\"},\"agents\":{}}\n",
    );
    assert_eq!(op(dir.path(), "get", json!({}), Wrap::Plain)["ok"], true);
    let bytes = std::fs::read(&path).unwrap();
    let prepared = op(
        dir.path(),
        "prepare",
        json!({"command":["/usr/bin/echo","x"]}),
        Wrap::Plain,
    );
    let run = json!({"command":["/usr/bin/echo","x"],"runId":"aa","approved":true,
                     "approvalDecision":"allow-always","systemRunPlan":prepared["value"]["plan"]});

    // The allow-always pattern cannot be persisted: nothing runs (EA §15 persistence is fatal).
    let res = op(
        dir.path(),
        "run",
        run.clone(),
        Wrap::Fsize(bytes.len() as u64 + 1),
    );
    assert_run_fails_closed(&res, &[&path.to_string_lossy(), "could not write"]);
    assert_eq!(
        res["events"][0]["payload"]["reason"],
        "approval-state-write-failed"
    );
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    assert_eq!(mode(&path), 0o600);
    no_temp_files(dir.path());

    // With space, the same approved run goes through and the pattern is stored.
    let res = op(dir.path(), "run", run, Wrap::Plain);
    assert_eq!(res["ok"], true, "{res}");
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains("/usr/bin/echo")
    );
}
