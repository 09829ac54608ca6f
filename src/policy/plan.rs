//! `system.run` params decoding (EA §4.1), approval plans and their binding (EA §9): plan
//! validation, canonical cwd checks (EA §4.4) and the mutable script operand.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::analysis::{ShellForm, is_shell_name, normalized_name, shell_form, wrappers};
use super::exe::absolutize;
use super::fsview::{FsView, Kind};
use super::types::ApprovalDecision;

/// Largest total argv size accepted (bytes); larger requests are invalid (EA §19 case 149).
pub const MAX_COMMAND_BYTES: usize = 256 * 1024;

/// Decoded `system.run` / `system.run.prepare` params.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunRequest {
    /// The command as the gateway sent it (`params.command`); what the analysis reads and, once
    /// allowed, what runs (argv0 may be pinned to the resolved path).
    pub argv: Vec<String>,
    /// The text the operator approved or saw (`rawCommand`): it must equal the canonical command
    /// text or the shell payload (EA §4.2), so an approval for one text never runs another.
    pub raw_command: Option<String>,
    /// Requested working directory (None: the node's own cwd); bound by realpath on approval.
    pub cwd: Option<String>,
    /// Environment overrides the caller asks for; filtered (EA §13) before they reach the run.
    pub env: BTreeMap<String, String>,
    /// The caller's deadline; the launcher applies its default and maximum on top.
    pub timeout_ms: Option<u64>,
    /// macOS only: the run needs screen recording; never granted on this host.
    pub needs_screen_recording: bool,
    /// Whose policy applies (`main` when absent).
    pub agent_id: Option<String>,
    /// Echoed in `exec.*` events so the gateway routes them to the right session.
    pub session_key: Option<String>,
    /// Identifies the run in events; a `runId` runs at most once per node.
    pub run_id: Option<String>,
    /// Legacy approval flag (older gateways); with `approval_decision` consumes an approval.
    pub approved: bool,
    /// `allow-once` / `allow-always` from the operator; `allow-always` persists a grant.
    pub approval_decision: Option<ApprovalDecision>,
    /// The `systemRunPlan` the approval was given for: the argv/cwd/operand it binds.
    pub plan: Option<Value>,
    /// Echoed in `exec.finished` (`suppressNotifyOnExit`).
    pub suppress_notify_on_exit: Option<bool>,
    /// Legacy `wakeOnExit`, echoed in `exec.finished` when present.
    pub wake_on_exit: Option<bool>,
}

impl RunRequest {
    /// An argv-only request (tests, CLI).
    pub fn argv<S: AsRef<str>>(argv: &[S]) -> Self {
        Self {
            argv: argv.iter().map(|s| s.as_ref().to_string()).collect(),
            ..Self::default()
        }
    }

    /// `sh:"X"`: argv `["/bin/sh","-lc",X]` with `rawCommand` X.
    pub fn shell(payload: &str) -> Self {
        Self {
            argv: vec!["/bin/sh".into(), "-lc".into(), payload.into()],
            raw_command: Some(payload.into()),
            ..Self::default()
        }
    }

    /// The checks every request passes, however it was built (wire params or the command line):
    /// a command, within [`MAX_COMMAND_BYTES`], no NUL byte anywhere the kernel would cut it.
    /// `Err(message)` is an `INVALID_REQUEST`.
    pub fn validate(&self) -> Result<(), String> {
        let raw = self.raw_command.as_ref();
        if self.argv.is_empty() {
            if raw.is_some_and(|r| !r.trim().is_empty()) {
                return Err("rawCommand requires params.command".into());
            }
            return Err("command required".into());
        }
        let total: usize =
            self.argv.iter().map(String::len).sum::<usize>() + raw.map_or(0, String::len);
        if total > MAX_COMMAND_BYTES {
            return Err(format!(
                "command too large ({total} bytes; the limit is {MAX_COMMAND_BYTES})"
            ));
        }
        if self.argv.iter().any(|a| a.contains('\0')) || raw.is_some_and(|r| r.contains('\0')) {
            return Err("command contains NUL bytes".into());
        }
        if self
            .env
            .iter()
            .any(|(k, v)| k.contains('\0') || v.contains('\0'))
        {
            return Err("env contains NUL bytes".into());
        }
        if self.cwd.as_ref().is_some_and(|c| c.contains('\0')) {
            return Err("cwd contains NUL bytes".into());
        }
        Ok(())
    }

    /// Is an explicit approval being consumed?
    pub fn approval_requested(&self) -> bool {
        self.approved || self.approval_decision.is_some()
    }
}

fn trimmed(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// `timeoutMs`: absent or `null` means no requested timeout; anything else must be a positive,
/// finite number of milliseconds (a fraction is rounded up, so it never becomes 0). `0`,
/// negatives, strings, booleans, arrays and objects are refused rather than ignored: ignoring
/// them would run the request with no bound the caller asked for.
fn decode_timeout(v: Option<&Value>) -> Result<Option<u64>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(t) if t.is_finite() && t > 0.0 => Ok(Some((t.ceil() as u64).max(1))),
            _ => Err(format!(
                "timeoutMs must be a positive number of milliseconds (got {n})"
            )),
        },
        Some(other) => Err(format!(
            "timeoutMs must be a positive number of milliseconds (got {})",
            json_kind(other)
        )),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Decode params; `Err(message)` is an `INVALID_REQUEST`.
pub fn decode(params: &Value) -> Result<RunRequest, String> {
    let obj = params
        .as_object()
        .ok_or_else(|| "command required".to_string())?;
    let raw_command = match obj.get("rawCommand") {
        Some(Value::String(s)) => Some(s.clone()),
        None | Some(Value::Null) => None,
        Some(_) => return Err("rawCommand must be a string".into()),
    };
    let argv: Vec<String> = match obj.get("command") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect(),
        _ => Vec::new(),
    };
    let mut env = BTreeMap::new();
    match obj.get("env") {
        None | Some(Value::Null) => {}
        Some(Value::Object(o)) => {
            for (k, v) in o {
                match v {
                    Value::String(s) => {
                        env.insert(k.clone(), s.clone());
                    }
                    Value::Null => {}
                    _ => return Err(format!("env.{k} must be a string")),
                }
            }
        }
        Some(_) => return Err("env must be an object".into()),
    }
    let cwd = trimmed(obj.get("cwd"));
    let timeout_ms = decode_timeout(obj.get("timeoutMs"))?;
    let req = RunRequest {
        argv,
        raw_command,
        cwd,
        env,
        timeout_ms,
        needs_screen_recording: obj
            .get("needsScreenRecording")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        agent_id: trimmed(obj.get("agentId")),
        session_key: trimmed(obj.get("sessionKey")),
        run_id: trimmed(obj.get("runId")),
        approved: obj
            .get("approved")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        approval_decision: obj
            .get("approvalDecision")
            .and_then(Value::as_str)
            .and_then(ApprovalDecision::parse),
        plan: obj.get("systemRunPlan").filter(|v| !v.is_null()).cloned(),
        suppress_notify_on_exit: obj.get("suppressNotifyOnExit").and_then(Value::as_bool),
        wake_on_exit: obj.get("wakeOnExit").and_then(Value::as_bool),
    };
    req.validate()?;
    Ok(req)
}

/// A bound script operand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MutableOperand {
    pub argv_index: usize,
    pub path: PathBuf,
    pub sha256: String,
}

impl MutableOperand {
    pub fn to_value(&self) -> Value {
        json!({
            "argvIndex": self.argv_index,
            "path": self.path.to_string_lossy(),
            "sha256": self.sha256,
        })
    }
}

/// A decoded `systemRunPlan`.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub argv: Vec<String>,
    pub cwd: Option<String>,
    pub command_text: String,
    pub agent_id: Option<String>,
    pub session_key: Option<String>,
    pub mutable_operand: Option<MutableOperand>,
}

/// Decode a plan; `None` when malformed.
pub fn decode_plan(v: &Value) -> Option<Plan> {
    let o = v.as_object()?;
    let argv: Vec<String> = o
        .get("argv")?
        .as_array()?
        .iter()
        .map(|x| x.as_str().map(str::to_string))
        .collect::<Option<_>>()?;
    if argv.is_empty() {
        return None;
    }
    let opt_str = |k: &str| -> Option<Option<String>> {
        match o.get(k) {
            None | Some(Value::Null) => Some(None),
            Some(Value::String(s)) => Some(Some(s.trim().to_string()).filter(|s| !s.is_empty())),
            Some(_) => None,
        }
    };
    let mutable_operand = match o.get("mutableFileOperand") {
        None | Some(Value::Null) => None,
        Some(m) => Some(MutableOperand {
            argv_index: usize::try_from(m.get("argvIndex")?.as_u64()?).ok()?,
            path: PathBuf::from(m.get("path")?.as_str()?),
            sha256: m.get("sha256")?.as_str()?.to_string(),
        }),
    };
    Some(Plan {
        argv,
        cwd: opt_str("cwd")?,
        command_text: o.get("commandText")?.as_str()?.to_string(),
        agent_id: opt_str("agentId")?,
        session_key: opt_str("sessionKey")?,
        mutable_operand,
    })
}

/// Check that a request consuming an approval carries a matching plan.
pub fn check_plan_binding(req: &RunRequest, command_text: &str) -> Result<Plan, String> {
    const MISMATCH: &str = "explicit approval requires matching systemRunPlan";
    let Some(raw) = &req.plan else {
        return Err(MISMATCH.into());
    };
    let plan = decode_plan(raw).ok_or_else(|| "systemRunPlan invalid".to_string())?;
    if plan.argv != req.argv
        || plan.command_text != command_text
        || plan.cwd != req.cwd
        || plan.agent_id != req.agent_id
        || plan.session_key.is_some() && plan.session_key != req.session_key
    {
        return Err(MISMATCH.into());
    }
    Ok(plan)
}

/// `captureApprovedCwdSnapshotSync`: the canonical cwd of an approval-bound run.
pub fn canonical_cwd(cwd: &Path, fs: &dyn FsView) -> Result<PathBuf, String> {
    let cwd = absolutize(&cwd.to_string_lossy(), &fs.cwd(), fs.home().as_deref());
    let (Some(lst), Some(st), Some(real)) = (fs.lstat(&cwd), fs.stat(&cwd), fs.realpath(&cwd))
    else {
        return Err("SYSTEM_RUN_DENIED: approval requires an existing canonical cwd".into());
    };
    if st.kind != Kind::Dir {
        return Err("SYSTEM_RUN_DENIED: approval requires cwd to be a directory".into());
    }
    if lst.kind == Kind::Symlink {
        return Err("SYSTEM_RUN_DENIED: approval requires canonical cwd (no symlink cwd)".into());
    }
    // Any symlinked ancestor whose parent the node user can write is mutable.
    let mut cur = PathBuf::from("/");
    for comp in cwd.components().skip(1) {
        let parent = cur.clone();
        cur.push(comp);
        if fs.lstat(&cur).is_some_and(|i| i.kind == Kind::Symlink) && fs.writable(&parent) {
            return Err(
                "SYSTEM_RUN_DENIED: approval requires canonical cwd (no symlink path components)"
                    .into(),
            );
        }
    }
    let real_st = fs.stat(&real);
    if real_st.is_none_or(|r| r.dev != st.dev || r.ino != st.ino) {
        return Err("SYSTEM_RUN_DENIED: approval cwd identity mismatch".into());
    }
    Ok(real)
}

const CANNOT_BIND: &str =
    "SYSTEM_RUN_DENIED: approval cannot safely bind this interpreter/runtime command";

/// Interpreters whose first positional is a script file.
fn interpreter_kind(name: &str) -> Option<&'static str> {
    let stem = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    Some(match stem {
        "python" | "pypy" => "python",
        "node" | "nodejs" => "node",
        "tsx" | "ts-node" => "node",
        "bun" | "deno" => "runner",
        "ruby" | "perl" | "php" | "lua" | "rscript" => "generic",
        "npm" | "npx" | "pnpm" | "yarn" | "bunx" | "pnpx" => "package",
        _ => return None,
    })
}

/// Find the single script operand a command needs bound (index into `argv`), `Ok(None)` when the
/// command needs no binding, `Err` when it needs one that cannot be identified.
pub fn operand_index(argv: &[String], has_payload: bool) -> Result<Option<usize>, String> {
    if has_payload || argv.is_empty() {
        return Ok(None);
    }
    let u = wrappers::unwrap(argv);
    let offset = argv.len() - u.argv.len();
    let inner = &u.argv;
    let Some(first) = inner.first() else {
        return Ok(None);
    };
    let name = normalized_name(first);
    if is_shell_name(&name) {
        return Ok(match shell_form(inner) {
            ShellForm::Script { script_index } => Some(offset + script_index),
            _ => None,
        });
    }
    let Some(kind) = interpreter_kind(&name) else {
        return Ok(None);
    };
    if kind == "package" {
        return Err(CANNOT_BIND.into());
    }
    let mut i = 1;
    if kind == "runner" {
        // `bun run x`, `deno run [flags] x`.
        match inner.get(1).map(String::as_str) {
            Some("run") => i = 2,
            Some(t) if !t.starts_with('-') => return Ok(Some(offset + 1)),
            _ => return Err(CANNOT_BIND.into()),
        }
    }
    while i < inner.len() {
        let t = inner[i].as_str();
        if t == "--" {
            i += 1;
            break;
        }
        if !t.starts_with('-') {
            break;
        }
        // Inline code is bound by argv itself: no file operand needed.
        if super::inline_eval::detect(inner).is_some() {
            return Ok(None);
        }
        // Options that load other code or change what runs: cannot bind.
        let benign = matches!(
            t,
            "-u" | "-B"
                | "-O"
                | "-OO"
                | "-I"
                | "-E"
                | "-s"
                | "-S"
                | "-q"
                | "-v"
                | "-w"
                | "--no-warnings"
                | "--enable-source-maps"
                | "-W"
                | "--trace-warnings"
        ) || (kind == "runner"
            && !matches!(t, "--import" | "--preload" | "-r" | "--require"));
        if !benign {
            return Err(CANNOT_BIND.into());
        }
        i += 1;
    }
    if i >= inner.len() {
        if super::inline_eval::detect(inner).is_some() {
            return Ok(None);
        }
        return Err(CANNOT_BIND.into());
    }
    Ok(Some(offset + i))
}

/// Snapshot the operand at `index` (realpath + sha256).
pub fn snapshot_operand(
    argv: &[String],
    index: usize,
    cwd: &Path,
    fs: &dyn FsView,
) -> Result<MutableOperand, String> {
    let token = argv.get(index).ok_or_else(|| {
        "SYSTEM_RUN_DENIED: approval requires an existing script operand".to_string()
    })?;
    let p = absolutize(token, cwd, fs.home().as_deref());
    let Some(st) = fs.stat(&p) else {
        return Err("SYSTEM_RUN_DENIED: approval requires an existing script operand".into());
    };
    if st.kind != Kind::File {
        return Err("SYSTEM_RUN_DENIED: approval requires a file script operand".into());
    }
    let real = fs.realpath(&p).ok_or_else(|| {
        "SYSTEM_RUN_DENIED: approval requires a stable script operand".to_string()
    })?;
    let bytes = fs.read(&real).ok_or_else(|| {
        "SYSTEM_RUN_DENIED: approval requires a readable script operand".to_string()
    })?;
    Ok(MutableOperand {
        argv_index: index,
        path: real,
        sha256: hex::encode(Sha256::digest(&bytes)),
    })
}
