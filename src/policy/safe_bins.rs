//! Safe bins (EA §10): stdin-only filters allowed without an allowlist entry when they live in a
//! trusted system directory and their argv passes a strict profile.
//!
//! Defaults: `cut uniq head tail tr wc`; opt-in built-in profiles for `grep` and `sort`; `jq`,
//! `awk`/`gawk`/`mawk`/`nawk` and `sed` are never safe bins. Trusted dirs are `/bin` and
//! `/usr/bin` plus explicit `safeBinTrustedDirs` minus risky ones; PATH is never trusted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

/// Default safe bins when `tools.exec.safeBins` is unset.
pub const DEFAULT_SAFE_BINS: &[&str] = &["cut", "uniq", "head", "tail", "tr", "wc"];
/// Never safe, whatever the configuration says.
pub const NEVER_SAFE: &[&str] = &["jq", "awk", "gawk", "mawk", "nawk", "sed", "gsed"];

/// A profile: which flags/positionals a safe bin accepts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Profile {
    pub min_positional: usize,
    pub max_positional: usize,
    pub value_flags: BTreeSet<String>,
    pub bool_flags: BTreeSet<String>,
    pub denied_flags: BTreeSet<String>,
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_string()).collect()
}

/// Built-in profile for a name (built once, then cloned from a table).
pub fn builtin_profile(name: &str) -> Option<Profile> {
    builtin_ref(name).cloned()
}

fn builtin_ref(name: &str) -> Option<&'static Profile> {
    static TABLE: std::sync::OnceLock<BTreeMap<&'static str, Profile>> = std::sync::OnceLock::new();
    TABLE
        .get_or_init(|| {
            ["head", "tail", "cut", "uniq", "tr", "wc", "grep", "sort"]
                .into_iter()
                .filter_map(|n| make_builtin(n).map(|p| (n, p)))
                .collect()
        })
        .get(name)
}

fn make_builtin(name: &str) -> Option<Profile> {
    let p = |min, max, values: &[&str], bools: &[&str], denied: &[&str]| Profile {
        min_positional: min,
        max_positional: max,
        value_flags: set(values),
        bool_flags: set(bools),
        denied_flags: set(denied),
    };
    Some(match name {
        "head" => p(
            0,
            0,
            &["-n", "--lines", "-c", "--bytes"],
            &[
                "-q",
                "-v",
                "-z",
                "--quiet",
                "--silent",
                "--verbose",
                "--zero-terminated",
            ],
            &[],
        ),
        "tail" => p(
            0,
            0,
            &[
                "-n",
                "-c",
                "--lines",
                "--bytes",
                "--sleep-interval",
                "--max-unchanged-stats",
                "--pid",
            ],
            &[
                "-q",
                "-v",
                "-z",
                "--quiet",
                "--silent",
                "--verbose",
                "--zero-terminated",
            ],
            &["-f", "-F", "--follow", "--retry"],
        ),
        "cut" => p(
            0,
            0,
            &[
                "-b",
                "-c",
                "-f",
                "-d",
                "--bytes",
                "--characters",
                "--fields",
                "--delimiter",
                "--output-delimiter",
            ],
            &[
                "-n",
                "-s",
                "-z",
                "--complement",
                "--only-delimited",
                "--zero-terminated",
            ],
            &[],
        ),
        "uniq" => p(
            0,
            0,
            &[
                "-f",
                "-s",
                "-w",
                "--skip-fields",
                "--skip-chars",
                "--check-chars",
                "--group",
            ],
            &[
                "-c",
                "-d",
                "-u",
                "-i",
                "-z",
                "--count",
                "--repeated",
                "--unique",
                "--ignore-case",
                "--zero-terminated",
            ],
            &[],
        ),
        "tr" => p(
            1,
            2,
            &[],
            &[
                "-c",
                "-C",
                "-d",
                "-s",
                "-t",
                "--complement",
                "--delete",
                "--squeeze-repeats",
                "--truncate-set1",
            ],
            &[],
        ),
        "wc" => p(
            0,
            0,
            &[],
            &[
                "-c",
                "-l",
                "-m",
                "-w",
                "-L",
                "--bytes",
                "--chars",
                "--lines",
                "--words",
                "--max-line-length",
            ],
            &["--files0-from"],
        ),
        "grep" => p(
            0,
            0,
            &[
                "-e",
                "--regexp",
                "-m",
                "--max-count",
                "-A",
                "-B",
                "-C",
                "--after-context",
                "--before-context",
                "--context",
            ],
            &[
                "-i",
                "-v",
                "-c",
                "-n",
                "-w",
                "-x",
                "-F",
                "-E",
                "-G",
                "-o",
                "-q",
                "-s",
                "-h",
                "-H",
                "--ignore-case",
                "--invert-match",
                "--count",
                "--line-number",
                "--word-regexp",
                "--line-regexp",
                "--fixed-strings",
                "--extended-regexp",
                "--basic-regexp",
                "--only-matching",
                "--quiet",
                "--silent",
                "--no-filename",
                "--with-filename",
            ],
            &[
                "--file",
                "-f",
                "--exclude-from",
                "--recursive",
                "-r",
                "-R",
                "--dereference-recursive",
                "--directories",
                "-d",
            ],
        ),
        // No boolean flags (EA §10.3 lists none for sort; official 2026.9.6 has no
        // allowedBooleanFlags for it either): `sort -r` is not a safe-bin usage.
        "sort" => p(
            0,
            0,
            &[
                "-k",
                "--key",
                "-t",
                "--field-separator",
                "-S",
                "--buffer-size",
                "--parallel",
                "--batch-size",
            ],
            &[],
            &[
                "-o",
                "--output",
                "--compress-program",
                "--files0-from",
                "--random-source",
                "-T",
                "--temporary-directory",
            ],
        ),
        _ => return None,
    })
}

/// Safe-bin configuration (`tools.exec.safeBins`, `safeBinProfiles`, `safeBinTrustedDirs`).
#[derive(Debug, Clone, PartialEq)]
pub struct SafeBinConfig {
    pub bins: BTreeSet<String>,
    pub profiles: BTreeMap<String, Profile>,
    pub trusted_dirs: Vec<PathBuf>,
}

impl Default for SafeBinConfig {
    fn default() -> Self {
        Self::new(None, None, None)
    }
}

/// Directories that are never trusted even when configured.
fn risky_dir(d: &str) -> bool {
    !d.starts_with('/')
        || d.starts_with("/usr/local/bin")
        || d.starts_with("/snap/bin")
        || d.starts_with("/home/")
        || d.starts_with("/Users/")
        || d.starts_with("/tmp")
        || d.contains("/.nvm")
        || d.contains("/.local/bin")
}

impl SafeBinConfig {
    /// Build from config values (all optional).
    pub fn new(bins: Option<&Value>, profiles: Option<&Value>, dirs: Option<&Value>) -> Self {
        let bins: BTreeSet<String> = match bins.and_then(Value::as_array) {
            Some(a) => a
                .iter()
                .filter_map(Value::as_str)
                .map(|s| s.trim().to_lowercase())
                .filter(|s| !s.is_empty())
                .collect(),
            None => DEFAULT_SAFE_BINS.iter().map(|s| (*s).to_string()).collect(),
        };
        let mut out_profiles = BTreeMap::new();
        if let Some(obj) = profiles.and_then(Value::as_object) {
            for (name, v) in obj {
                let strs = |k: &str| -> BTreeSet<String> {
                    v.get(k)
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_string)
                                .collect()
                        })
                        .unwrap_or_default()
                };
                let num = |k: &str, d: usize| {
                    v.get(k)
                        .and_then(Value::as_u64)
                        .map_or(d, |n| usize::try_from(n).unwrap_or(d))
                };
                // Custom profiles cannot widen boolean flags: none are allowed.
                out_profiles.insert(
                    name.trim().to_lowercase(),
                    Profile {
                        min_positional: num("minPositional", 0),
                        max_positional: num("maxPositional", 0),
                        value_flags: strs("allowedValueFlags"),
                        bool_flags: BTreeSet::new(),
                        denied_flags: strs("deniedFlags"),
                    },
                );
            }
        }
        let mut trusted_dirs = vec![PathBuf::from("/bin"), PathBuf::from("/usr/bin")];
        if let Some(a) = dirs.and_then(Value::as_array) {
            for d in a.iter().filter_map(Value::as_str) {
                let d = d.trim().trim_end_matches('/');
                if !d.is_empty() && !risky_dir(d) {
                    trusted_dirs.push(PathBuf::from(d));
                }
            }
        }
        Self {
            bins,
            profiles: out_profiles,
            trusted_dirs,
        }
    }

    /// Add a bin (tests/CLI convenience).
    pub fn with_bin(mut self, name: &str) -> Self {
        self.bins.insert(name.to_string());
        self
    }

    fn profile(&self, name: &str) -> Option<std::borrow::Cow<'_, Profile>> {
        use std::borrow::Cow;
        if let Some(builtin) = builtin_ref(name) {
            // A configured profile may only narrow: denied flags are merged in.
            if let Some(custom) = self.profiles.get(name) {
                let mut p = builtin.clone();
                p.denied_flags.extend(custom.denied_flags.iter().cloned());
                return Some(Cow::Owned(p));
            }
            return Some(Cow::Borrowed(builtin));
        }
        self.profiles.get(name).map(Cow::Borrowed)
    }

    /// Is this segment a safe-bin usage? `trust_path` is the realpath of the executable.
    pub fn is_safe_usage(&self, name: &str, trust_path: Option<&Path>, args: &[String]) -> bool {
        let name = name.to_lowercase();
        if NEVER_SAFE.contains(&name.as_str()) || !self.bins.contains(&name) {
            return false;
        }
        let Some(tp) = trust_path else {
            return false;
        };
        let Some(dir) = tp.parent() else {
            return false;
        };
        if !self.trusted_dirs.iter().any(|d| d == dir) {
            return false;
        }
        match self.profile(&name) {
            Some(p) => validate(&p, args),
            None => false,
        }
    }
}

/// Literal-token rule: no glob characters, no path-like tokens, no `$` expansions.
pub fn is_literal_token(t: &str) -> bool {
    if t.contains(['*', '?', '[', ']', '$', '`']) {
        return false;
    }
    if t.starts_with('/')
        || t.starts_with('~')
        || t.starts_with("./")
        || t.starts_with("../")
        || t == "."
        || t == ".."
    {
        return false;
    }
    let b = t.as_bytes();
    if b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && (b[2] == b'\\' || b[2] == b'/')
    {
        return false;
    }
    true
}

/// Resolve a long option (exact or unique prefix) among the profile's known long flags.
fn resolve_long<'a>(p: &'a Profile, name: &str) -> Option<&'a String> {
    let all = p
        .value_flags
        .iter()
        .chain(p.bool_flags.iter())
        .chain(p.denied_flags.iter())
        .filter(|f| f.starts_with("--"));
    let mut exact = None;
    let mut prefixed = Vec::new();
    for f in all {
        if f == name {
            exact = Some(f);
        } else if f.starts_with(name) {
            prefixed.push(f);
        }
    }
    if exact.is_some() {
        return exact;
    }
    prefixed.sort();
    prefixed.dedup();
    if prefixed.len() == 1 {
        prefixed.first().copied()
    } else {
        None
    }
}

/// The profile validator (EA §10.3).
pub fn validate(p: &Profile, args: &[String]) -> bool {
    let mut positionals = 0usize;
    let mut i = 0;
    let mut only_positional = false;
    while i < args.len() {
        let t = args[i].as_str();
        i += 1;
        if t.is_empty() || t == "-" {
            continue;
        }
        if only_positional || !t.starts_with('-') {
            if !is_literal_token(t) {
                return false;
            }
            positionals += 1;
            continue;
        }
        if t == "--" {
            only_positional = true;
            continue;
        }
        if t.starts_with("--") {
            let (name, inline) = match t.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (t, None),
            };
            let Some(flag) = resolve_long(p, name) else {
                return false;
            };
            if p.denied_flags.contains(flag) {
                return false;
            }
            if p.bool_flags.contains(flag) {
                if inline.is_some() {
                    return false;
                }
                continue;
            }
            // Value flag.
            let value = match inline {
                Some(v) => v.to_string(),
                None => match args.get(i) {
                    Some(v) => {
                        i += 1;
                        v.clone()
                    }
                    None => return false,
                },
            };
            if !is_literal_token(&value) {
                return false;
            }
            continue;
        }
        // Short cluster.
        let chars: Vec<char> = t[1..].chars().collect();
        let mut k = 0;
        while k < chars.len() {
            let f = format!("-{}", chars[k]);
            if p.denied_flags.contains(&f) {
                return false;
            }
            if p.value_flags.contains(&f) {
                let rest: String = chars[k + 1..].iter().collect();
                let value = if !rest.is_empty() {
                    rest
                } else {
                    match args.get(i) {
                        Some(v) => {
                            i += 1;
                            v.clone()
                        }
                        None => return false,
                    }
                };
                if value.is_empty() || !is_literal_token(&value) {
                    return false;
                }
                break;
            }
            if !p.bool_flags.contains(&f) {
                return false;
            }
            k += 1;
        }
    }
    positionals >= p.min_positional && positionals <= p.max_positional
}
