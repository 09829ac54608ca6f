//! Approvals files, `openclaw.json` exec settings and env overrides.

use super::*;

pub(super) const PATTERNS: &[&str] = &[
    "{R}/bin/rg",
    "{R}/bin/rg",
    "{R}/alt/rg",
    "{R}/links/rgl",
    "{R}/links/myid",
    "{R}/bin/*",
    "{R}/**",
    "{R}/bin/r?",
    "{R}/bin?rg",
    "{R}/bin/[r]g",
    "{R}/BIN/RG",
    "{R}/bin/../bin/rg",
    "{R}/work/*.sh",
    "{R}/work/check.sh",
    "{R}/work/script.sh",
    "{R}/work/rg",
    "{R}/work/sh",
    "{R}/bin/python3.12",
    "{R}/bin/sudo",
    "{R}/bin/busybox",
    "{R}/bin/tool",
    "{R}/bin/noexec",
    "/usr/bin/*",
    "/usr/**",
    "/usr/bin/id",
    "/usr/bin/echo",
    "/usr/bin/python3*",
    "/usr/bin/env",
    "/usr/bin/head",
    "/usr/bin/find",
    "/usr/bin/awk",
    "/bin/sh",
    "/usr/bin/dash",
    "/usr/bin/bash",
    "rg",
    "r*",
    "tool",
    "id",
    "*",
    "~/bin/tool",
    "  {R}/bin/gog  ",
];

pub(super) fn gen_allowlist(rng: &mut Rng, fx: &Fixture, tags: &mut Vec<String>) -> Value {
    let n = rng.weighted(&[(2, 0usize), (4, 1), (4, 2), (2, 3), (1, 5)]);
    let mut items = Vec::new();
    for _ in 0..*n {
        let pat = fx.expand(*rng.pick(PATTERNS));
        if !pat.contains('/') {
            tags.push(format!("bare-pattern:{pat}"));
        }
        items.push(match rng.below(60) {
            0..=4 => Value::String(pat),
            5 => {
                tags.push("blank-pattern".into());
                json!({"pattern": "   "})
            }
            6..=8 => {
                tags.push("allow-always-entry".into());
                json!({"pattern": pat, "source": "allow-always"})
            }
            _ => json!({"pattern": pat}),
        });
    }
    Value::Array(items)
}

pub(super) fn gen_policy_fields(
    rng: &mut Rng,
    obj: &mut Map<String, Value>,
    tags: &mut Vec<String>,
    weight_present: usize,
) {
    if rng.chance(weight_present) {
        let s = *rng.weighted(&[(24, "allowlist"), (6, "full"), (2, "deny"), (1, "FULL")]);
        if s == "FULL" {
            tags.push("invalid-enum".into());
        }
        obj.insert("security".into(), json!(s));
    }
    if rng.chance(weight_present) {
        let a = *rng.weighted(&[(15, "off"), (9, "on-miss"), (3, "always"), (1, " on-miss ")]);
        if a.starts_with(' ') {
            tags.push("invalid-enum".into());
        }
        obj.insert("ask".into(), json!(a));
    }
    if rng.chance(15) {
        obj.insert(
            "askFallback".into(),
            json!(rng.pick(&["deny", "allowlist", "full"])),
        );
    }
    if rng.chance(8) {
        obj.insert("autoAllowSkills".into(), json!(rng.chance(50)));
    }
}

pub(super) fn gen_approvals(rng: &mut Rng, fx: &Fixture, tags: &mut Vec<String>) -> Option<String> {
    if rng.chance(3) {
        tags.push("no-approvals-file".into());
        return None;
    }
    if rng.chance(2) {
        tags.push("corrupt-approvals".into());
        return Some(
            rng.pick(&[
                "not json",
                "{\"version\":2,\"agents\":{}}",
                "[]",
                "{\"version\":1,\"agents\":[]}",
            ])
            .to_string(),
        );
    }
    let mut defaults = Map::new();
    gen_policy_fields(rng, &mut defaults, tags, 85);
    let mut agents = Map::new();
    for key in ["*", "main", "ops", "default"] {
        let p = match key {
            "*" => 70,
            "main" => 45,
            "ops" => 20,
            _ => 5,
        };
        if !rng.chance(p) {
            continue;
        }
        let mut a = Map::new();
        if key != "*" || rng.chance(30) {
            gen_policy_fields(rng, &mut a, tags, 30);
        }
        if rng.chance(85) {
            a.insert("allowlist".into(), gen_allowlist(rng, fx, tags));
        }
        if key == "default" {
            tags.push("legacy-default-agent".into());
        }
        if key == "main" || key == "default" {
            tags.push("file-has-main".into());
        }
        agents.insert(key.into(), Value::Object(a));
    }
    let file = json!({"version": 1, "defaults": defaults, "agents": agents});
    Some(serde_json::to_string_pretty(&file).unwrap_or_default())
}

pub(super) fn gen_config(rng: &mut Rng, tags: &mut Vec<String>) -> Option<Value> {
    if rng.chance(4) {
        tags.push("config-silent".into());
        return None;
    }
    let mut exec = Map::new();
    let (s, a) = *rng.weighted(&[
        (14, ("full", "off")),
        (2, ("allowlist", "on-miss")),
        (1, ("allowlist", "off")),
        (1, ("full", "always")),
        (1, ("deny", "off")),
    ]);
    exec.insert("security".into(), json!(s));
    exec.insert("ask".into(), json!(a));
    if rng.chance(10) {
        tags.push("cfg-safebins".into());
        let bins: &[&str] = *rng.pick(&[
            &["head", "tr"][..],
            &["sort", "grep", "head", "wc"],
            &["jq", "awk", "sed", "tr"],
            &[],
            &["uniq", "cut"],
        ]);
        exec.insert("safeBins".into(), json!(bins));
    }
    if rng.chance(6) {
        tags.push("cfg-strict-inline-eval".into());
        exec.insert("strictInlineEval".into(), json!(true));
    }
    Some(json!({"tools": {"exec": exec}}))
}

pub(super) fn gen_env(rng: &mut Rng, tags: &mut Vec<String>) -> Option<Value> {
    if !rng.chance(12) {
        return None;
    }
    tags.push("env-overrides".into());
    let pool: &[(&str, &str)] = &[
        ("LANG", "C"),
        ("FOO", "1"),
        ("MY_VAR", "1"),
        ("PATH", "/tmp/evil"),
        ("LD_PRELOAD", "/tmp/x.so"),
        ("DYLD_INSERT_LIBRARIES", "x"),
        ("BAD-KEY", "x"),
        ("HOME", "/tmp"),
        ("GIT_SSH_COMMAND", "x"),
        ("NPM_CONFIG_REGISTRY", "x"),
        ("CLASSPATH", "/x"),
        ("lc_all", "C"),
        ("Path", "/x"),
        ("NODE_OPTIONS", "--require x"),
        ("TERM", "xterm"),
        ("1X", "y"),
    ];
    let mut m = Map::new();
    for _ in 0..=rng.below(2) {
        let (k, v) = *rng.pick(pool);
        m.insert(k.into(), json!(v));
    }
    Some(Value::Object(m))
}
