//! A reference model of the JSON rules (independent of seccompiler), the probes it derives per rule, and the helper-process plumbing.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    Allow,
    Errno(u32),
    KillThread,
    KillProcess,
    Trap,
    Log,
}

impl Action {
    pub(super) fn parse(v: &Value, ctx: &str) -> Action {
        match v {
            Value::String(s) => match s.as_str() {
                "allow" => Action::Allow,
                "kill_thread" => Action::KillThread,
                "kill_process" => Action::KillProcess,
                "trap" => Action::Trap,
                "log" => Action::Log,
                other => panic!("{ctx}: action {other:?} is not modelled by this test"),
            },
            Value::Object(m) if m.len() == 1 && m.contains_key("errno") => {
                Action::Errno(m["errno"].as_u64().unwrap() as u32)
            }
            other => panic!("{ctx}: action {other} is not modelled by this test"),
        }
    }

    /// The seccomp return value.
    pub(super) fn ret(self) -> u32 {
        match self {
            Action::Allow => libc::SECCOMP_RET_ALLOW,
            Action::Errno(e) => libc::SECCOMP_RET_ERRNO | (e & libc::SECCOMP_RET_DATA),
            Action::KillThread => libc::SECCOMP_RET_KILL_THREAD,
            Action::KillProcess => libc::SECCOMP_RET_KILL_PROCESS,
            Action::Trap => libc::SECCOMP_RET_TRAP,
            Action::Log => libc::SECCOMP_RET_LOG,
        }
    }

    /// The probe outcome this action produces; `None` when the call goes through.
    pub(super) fn blocked_outcome(self) -> Option<String> {
        match self {
            Action::Allow | Action::Log => None,
            Action::Errno(e) => Some(format!("errno:{e}")),
            // A single-threaded probe child dies of SIGSYS for all three.
            Action::KillThread | Action::KillProcess | Action::Trap => {
                Some(format!("signal:{}", libc::SIGSYS))
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Op {
    Eq,
    Ne,
    Ge,
    Gt,
    Le,
    Lt,
    MaskedEq(u64),
}

#[derive(Debug, Clone)]
pub(super) struct Cond {
    pub(super) index: usize,
    pub(super) dword: bool,
    pub(super) op: Op,
    pub(super) val: u64,
}

impl Cond {
    pub(super) fn holds(&self, args: &[u64; 6]) -> bool {
        let a = if self.dword {
            args[self.index] & 0xffff_ffff
        } else {
            args[self.index]
        };
        let v = self.val;
        match self.op {
            Op::Eq => a == v,
            Op::Ne => a != v,
            Op::Ge => a >= v,
            Op::Gt => a > v,
            Op::Le => a <= v,
            Op::Lt => a < v,
            Op::MaskedEq(m) => a & m == v,
        }
    }

    pub(super) fn describe(&self) -> String {
        format!(
            "arg{} {} {:?} {:#x}",
            self.index,
            if self.dword { "dword" } else { "qword" },
            self.op,
            self.val
        )
    }

    /// Values hugging the condition's boundary (classified by [`Cond::holds`] afterwards).
    pub(super) fn candidates(&self) -> Vec<u64> {
        let width = if self.dword { 0xffff_ffff } else { u64::MAX };
        let v = self.val;
        let mut out = vec![v, v.wrapping_add(1) & width, v.wrapping_sub(1) & width];
        if let Op::MaskedEq(m) = self.op {
            let m = m & width;
            if m != 0 {
                let low = m & m.wrapping_neg();
                let high = 1u64 << (63 - m.leading_zeros());
                out.push(v ^ low);
                out.push(v ^ high);
            }
        }
        if self.dword {
            // Garbage in the upper half: the kernel reads an int, and so must the filter.
            let base = out.clone();
            out.extend(base.iter().map(|x| x | HI));
            out.push(v << 32);
        }
        out
    }
}

#[derive(Debug, Clone)]
pub(super) struct Rule {
    pub(super) profile: String,
    pub(super) filter: String,
    pub(super) syscall: String,
    /// Position among the rules of this profile for this syscall (rules for one syscall or).
    pub(super) nth: usize,
    pub(super) conds: Vec<Cond>,
}

impl Rule {
    pub(super) fn id(&self) -> String {
        format!("{}/{}", self.profile, self.syscall)
    }

    pub(super) fn full_id(&self) -> String {
        if self.conds.is_empty() {
            self.id()
        } else {
            format!("{}#{} [{}]", self.id(), self.nth, self.describe())
        }
    }

    pub(super) fn describe(&self) -> String {
        self.conds
            .iter()
            .map(Cond::describe)
            .collect::<Vec<_>>()
            .join(" && ")
    }

    pub(super) fn matches(&self, args: &[u64; 6]) -> bool {
        self.conds.iter().all(|c| c.holds(args))
    }
}

#[derive(Debug, Clone)]
pub(super) struct Filter {
    pub(super) name: String,
    pub(super) mismatch: Action,
    pub(super) matched: Action,
    pub(super) rules: Vec<Rule>,
}

pub(super) fn policies_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("policies/seccomp")
}

/// Every profile (file stem) with its filters, read from disk.
pub(super) fn load_policies() -> BTreeMap<String, Vec<Filter>> {
    let mut out = BTreeMap::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(policies_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no policies in {}",
        policies_dir().display()
    );
    for path in files {
        let profile = path.file_stem().unwrap().to_string_lossy().to_string();
        let json: BTreeMap<String, Value> =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let mut filters = Vec::new();
        for (name, f) in json {
            let ctx = format!("{profile}/{name}");
            let mut rules: Vec<Rule> = Vec::new();
            for r in f["filter"].as_array().unwrap() {
                let syscall = r["syscall"].as_str().unwrap().to_string();
                let nth = rules.iter().filter(|x| x.syscall == syscall).count();
                let conds = r
                    .get("args")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .map(|c| Cond {
                                index: c["index"].as_u64().unwrap() as usize,
                                dword: match c["type"].as_str().unwrap() {
                                    "dword" => true,
                                    "qword" => false,
                                    t => panic!("{ctx}/{syscall}: type {t}"),
                                },
                                op: match &c["op"] {
                                    Value::String(s) => match s.as_str() {
                                        "eq" => Op::Eq,
                                        "ne" => Op::Ne,
                                        "ge" => Op::Ge,
                                        "gt" => Op::Gt,
                                        "le" => Op::Le,
                                        "lt" => Op::Lt,
                                        o => panic!("{ctx}/{syscall}: op {o}"),
                                    },
                                    Value::Object(m) => {
                                        Op::MaskedEq(m["masked_eq"].as_u64().unwrap())
                                    }
                                    o => panic!("{ctx}/{syscall}: op {o}"),
                                },
                                val: c["val"].as_u64().unwrap(),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                rules.push(Rule {
                    profile: profile.clone(),
                    filter: name.clone(),
                    syscall,
                    nth,
                    conds,
                });
            }
            filters.push(Filter {
                mismatch: Action::parse(&f["mismatch_action"], &ctx),
                matched: Action::parse(&f["match_action"], &ctx),
                name,
                rules,
            });
        }
        out.insert(profile, filters);
    }
    out
}

/// A filter set as a confining run installs it (`seccomp::compile_set(network, unix_sockets)`).
#[derive(Debug, Clone, Copy)]
pub(super) struct Config {
    /// The helper's name for it.
    pub(super) name: &'static str,
    pub(super) network: bool,
    /// `false`: the no-UNIX-sockets rule is in (a run without a filesystem view, Landlock < 9).
    pub(super) unix_sockets: bool,
}

/// Ordered so the first config a rule is active in lets its perturbations escape (the
/// no-network rule's `AF_UNIX` and the no-UNIX-sockets rule's other domains are allowed there).
pub(super) const CONFIGS: [Config; 4] = [
    Config {
        name: "net",
        network: true,
        unix_sockets: true,
    },
    Config {
        name: "nonet",
        network: false,
        unix_sockets: true,
    },
    Config {
        name: "net-nounix",
        network: true,
        unix_sockets: false,
    },
    Config {
        name: "nonet-nounix",
        network: false,
        unix_sockets: false,
    },
];

/// Which profiles a filter set contains (mirrors `seccomp::compile_set`).
pub(super) fn active(profile: &str, cfg: Config) -> bool {
    match profile {
        "standard" => true,
        "no-network" => !cfg.network,
        "no-unix-sockets" => !cfg.unix_sockets,
        other => panic!(
            "policies/seccomp/{other}.json is not wired into any compiled filter set (this test \
             mirrors seccomp::compile_set; a new profile needs both)"
        ),
    }
}

pub(super) fn probe_of(syscall: &str) -> Option<&'static Probe> {
    PROBES.iter().find(|p| p.syscall == syscall)
}

pub(super) fn nr_of(rule: &Rule) -> i64 {
    probe_of(&rule.syscall)
        .unwrap_or_else(|| panic!("rule {} has no probe", rule.id()))
        .nr
}

pub(super) const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
pub(super) const AUDIT_ARCH_I386: u32 = 0x4000_0003;
pub(super) const AUDIT_ARCH_AARCH64: u32 = 0xc000_00b7;

pub(super) fn native_arch() -> u32 {
    SeccompData::native(0, [0; 6]).arch
}

pub(super) struct Model {
    pub(super) policies: BTreeMap<String, Vec<Filter>>,
}

impl Model {
    pub(super) fn load() -> Self {
        Model {
            policies: load_policies(),
        }
    }

    pub(super) fn rules(&self) -> impl Iterator<Item = &Rule> {
        self.policies.values().flatten().flat_map(|f| &f.rules)
    }

    pub(super) fn filter_of(&self, rule: &Rule) -> &Filter {
        self.policies[&rule.profile]
            .iter()
            .find(|f| f.name == rule.filter)
            .unwrap()
    }

    /// The expected verdict, and the JSON rules that matched.
    pub(super) fn verdict(
        &self,
        cfg: Config,
        arch: u32,
        nr: i64,
        args: &[u64; 6],
    ) -> (Action, Vec<&Rule>) {
        // Guards in code: seccompiler's architecture check, then the x32 guard (x86_64).
        if arch != native_arch() {
            return (Action::KillProcess, Vec::new());
        }
        if cfg!(target_arch = "x86_64") && (nr as u32) & X32_SYSCALL_BIT != 0 {
            return (Action::Errno(libc::EPERM as u32), Vec::new());
        }
        let mut non_allow: Vec<Action> = Vec::new();
        let mut matched = Vec::new();
        for (profile, filters) in &self.policies {
            if !active(profile, cfg) {
                continue;
            }
            for f in filters {
                let hits: Vec<&Rule> = f
                    .rules
                    .iter()
                    .filter(|r| nr_of(r) == nr && r.matches(args))
                    .collect();
                let a = if hits.is_empty() {
                    f.mismatch
                } else {
                    f.matched
                };
                matched.extend(hits);
                if a != Action::Allow && !non_allow.contains(&a) {
                    non_allow.push(a);
                }
            }
        }
        assert!(
            non_allow.len() <= 1,
            "ambiguous policy: nr {nr} args {args:x?} gets {non_allow:?} from different filters \
             (the chained program would return the first; say which one is meant)"
        );
        (non_allow.first().copied().unwrap_or(Action::Allow), matched)
    }
}

// ================================================================ probes of a rule

/// One concrete call.
#[derive(Debug, Clone)]
pub(super) struct Call {
    /// Human label.
    pub(super) label: String,
    pub(super) nr: i64,
    pub(super) args: [A; 6],
}

impl Call {
    pub(super) fn model_args(&self) -> [u64; 6] {
        self.args.map(A::model)
    }

    pub(super) fn line(&self, id: usize) -> String {
        let mut s = format!("{id} {}", self.nr);
        for a in self.args {
            s.push(' ');
            s.push_str(&a.token());
        }
        s
    }
}

/// A probe of a rule in the deduplicated call list: `(call index, perturbed condition)`.
pub(super) type ProbeRef = (usize, Option<usize>);

/// The calls probing one rule: `(call, perturbed condition index if any)`.
pub(super) fn probes_of_rule(rule: &Rule) -> Vec<(Call, Option<usize>)> {
    let probe =
        probe_of(&rule.syscall).unwrap_or_else(|| panic!("rule {} has no probe", rule.id()));
    let mut out = Vec::new();
    let mut push = |label: String, args: [A; 6], cond: Option<usize>| {
        out.push((
            Call {
                label,
                nr: probe.nr,
                args,
            },
            cond,
        ));
    };
    for c in &rule.conds {
        assert!(
            probe.base[c.index].is_literal(),
            "rule {}: condition on arg{} but the probe passes a pointer there",
            rule.full_id(),
            c.index
        );
    }
    let shape = |v: u64| (v & probe.cond_mask) | probe.cond_or;
    // The base with every conditioned argument set to a value satisfying its condition.
    let mut inside = probe.base;
    for c in &rule.conds {
        let v = c
            .candidates()
            .into_iter()
            .map(shape)
            .find(|v| {
                let mut a = inside.map(A::model);
                a[c.index] = *v;
                c.holds(&a)
            })
            .unwrap_or_else(|| {
                panic!(
                    "rule {}: no generated value satisfies {} (cond_mask/cond_or of the probe?)",
                    rule.full_id(),
                    c.describe()
                )
            });
        inside[c.index] = A::L(v);
    }
    push("base".into(), probe.base, None);
    if !rule.conds.is_empty() {
        push("inside".into(), inside, None);
    }
    for (i, c) in rule.conds.iter().enumerate() {
        let mut seen = BTreeSet::new();
        for v in c.candidates().into_iter().map(shape) {
            if !seen.insert(v) {
                continue;
            }
            let mut args = inside;
            args[c.index] = A::L(v);
            push(format!("arg{}={v:#x}", c.index), args, Some(i));
        }
    }
    for (k, e) in probe.extra.iter().enumerate() {
        push(format!("extra#{k}"), *e, None);
    }
    out
}

// ================================================================ helper runs

pub(super) fn seccomp_available() -> bool {
    let actions =
        std::fs::read_to_string("/proc/sys/kernel/seccomp/actions_avail").unwrap_or_default();
    let have = |a: &str| actions.split_whitespace().any(|x| x == a);
    have("errno") && have("kill_process")
}

/// Run `calls` under the filter set `which` (`none`, `net`, `nonet`), one child per call.
pub(super) fn run_batch(which: &str, calls: &[Call]) -> Vec<String> {
    let mut input = String::new();
    for (i, c) in calls.iter().enumerate() {
        input.push_str(&c.line(i));
        input.push('\n');
    }
    run_lines(which, &input, calls.len())
}

pub(super) fn run_lines(which: &str, input: &str, n: usize) -> Vec<String> {
    let mut child = Command::new(helper())
        .args(["seccomp-batch", which])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "helper seccomp-batch {which} failed: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut res = vec![String::new(); n];
    for line in text.lines() {
        let (id, outcome) = line.split_once(' ').unwrap();
        res[id.parse::<usize>().unwrap()] = outcome.to_string();
    }
    assert!(
        res.iter()
            .all(|r| !r.is_empty() && !r.starts_with("helper-error")),
        "helper seccomp-batch {which}: missing outcomes {res:?}"
    );
    res
}

pub(super) fn pretty(outcome: &str) -> String {
    match outcome
        .strip_prefix("errno:")
        .and_then(|e| e.parse::<i32>().ok())
    {
        Some(e) => format!("{outcome} ({})", std::io::Error::from_raw_os_error(e)),
        None => outcome.to_string(),
    }
}
