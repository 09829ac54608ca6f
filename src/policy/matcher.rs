//! Allowlist matching (EA §8): patterns compiled once into `globset` sets.
//!
//! Pattern grammar: `*` = any run of non-`/` characters, `**` = any characters including `/`,
//! `?` = exactly one non-`/` character, everything else literal (including `[ ] { } . +`),
//! anchored, case-sensitive (POSIX). A leading `~` is home-expanded. Path patterns (containing
//! `/`, `\` or `~`) match the trust path (realpath) of the resolved executable; a bare `*` matches
//! any segment; other bare names match the executable basename only when argv0 was a bare PATH
//! token (#71315).
//!
//! `globset`'s `**` is only special as a whole path component, so each `**` is expanded into the
//! two globs `*` and `*/**/*` whose union is exactly "any characters"; patterns with more than
//! [`MAX_DOUBLE_STARS`] `**` runs are rejected (reported, never matching).
//!
//! `allow-always` grants follow 2026.9.6 (`matchAllowlist`): a grant matches only the exact
//! command it was given for — its `argPattern` is `sha256:cwd-argv:v1:<hex>` over the cwd and
//! argv[1..] ([`cwd_argv_arg_pattern`]), compared for equality. An `allow-always` entry without
//! such an `argPattern` (stored by earlier versions as a bare path) matches nothing, and neither
//! does a regex `argPattern` (not supported on this host: stricter) or a legacy `sha256:argv:`.

use std::path::Path;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Prefix of the generated, cwd-bound `argPattern` of an `allow-always` grant (2026.9.6).
pub const CWD_ARGV_PREFIX: &str = "sha256:cwd-argv:v1:";

/// The `argPattern` an `allow-always` grant for `argv` run in `cwd` carries: SHA-256 of
/// `len(cwd) NUL cwd NUL argc NUL` and, per argument of `argv[1..]`, `len(arg) NUL arg NUL`
/// (lengths in decimal UTF-8 bytes), as 2026.9.6 `buildCwdBoundHashedArgPattern` computes it.
pub fn cwd_argv_arg_pattern(cwd: &str, argv: &[String]) -> String {
    let cwd = posix_normalize(cwd);
    let args = argv.get(1..).unwrap_or(&[]);
    let mut h = Sha256::new();
    h.update(format!("{}\0{}\0{}\0", cwd.len(), cwd, args.len()).as_bytes());
    for a in args {
        h.update(format!("{}\0", a.len()).as_bytes());
        h.update(a.as_bytes());
        h.update(b"\0");
    }
    format!("{CWD_ARGV_PREFIX}{}", hex::encode(h.finalize()))
}

/// `path.posix.normalize` for an absolute path: `.` and empty components dropped, `..` applied,
/// a trailing `/` kept.
fn posix_normalize(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    let mut out = String::from("/");
    out.push_str(&parts.join("/"));
    if p.ends_with('/') && !parts.is_empty() {
        out.push('/');
    }
    out
}

/// Most `**` runs one pattern may contain (2^n globs are generated).
pub const MAX_DOUBLE_STARS: usize = 4;

/// How an entry is matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum EntryKind {
    Path,
    Basename,
    Wildcard,
    /// Cannot match on this host (reason in [`CompiledEntry::note`]).
    Inert,
}

/// One compiled entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CompiledEntry {
    /// The pattern as written (trimmed).
    pub pattern: String,
    /// Agent key the entry lives under (`*` or the agent id).
    pub agent: String,
    /// Index inside that agent's allowlist.
    pub index: usize,
    pub kind: EntryKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A compiled allowlist (`*` entries first, then the agent's).
///
/// Literal patterns live in hash maps; wildcard patterns are bucketed by their literal directory
/// prefix (the text before the first wildcard, cut at the last `/`). A target only consults the
/// buckets of its own ancestor directories, and each bucket's `GlobSet` is built on first use, so
/// compiling stays cheap and deciding never scans unrelated patterns.
#[derive(Debug, Clone)]
pub struct CompiledAllowlist {
    pub entries: Vec<CompiledEntry>,
    paths: Table,
    bases: Table,
    wildcard: Option<usize>,
    grants: Vec<Grant>,
}

#[derive(Debug, Clone, Default)]
struct Table {
    exact: HashMap<String, usize>,
    buckets: HashMap<String, Arc<Bucket>>,
}

#[derive(Debug, Default)]
struct Bucket {
    globs: Vec<(globset::Glob, usize)>,
    set: OnceLock<(GlobSet, Vec<usize>)>,
}

impl Bucket {
    fn set(&self) -> &(GlobSet, Vec<usize>) {
        self.set.get_or_init(|| {
            let mut b = GlobSetBuilder::new();
            let mut map = Vec::with_capacity(self.globs.len());
            for (g, idx) in &self.globs {
                b.add(g.clone());
                map.push(*idx);
            }
            (b.build().unwrap_or_else(|_| GlobSet::empty()), map)
        })
    }
}

impl Table {
    fn add_exact(&mut self, lit: String, idx: usize) {
        self.exact.entry(lit).or_insert(idx);
    }
    fn add_glob(&mut self, prefix: String, g: globset::Glob, idx: usize) {
        let b = self.buckets.entry(prefix).or_default();
        if let Some(b) = Arc::get_mut(b) {
            b.globs.push((g, idx));
        }
    }
    fn first_match(&self, target: &str) -> Option<usize> {
        let mut best = self.exact.get(target).copied();
        if self.buckets.is_empty() {
            return best;
        }
        let mut consider = |key: &str| {
            if let Some(bucket) = self.buckets.get(key) {
                let (set, map) = bucket.set();
                for gi in set.matches(target) {
                    if let Some(&e) = map.get(gi)
                        && best.is_none_or(|b| e < b)
                    {
                        best = Some(e);
                    }
                }
            }
        };
        consider("");
        for (i, c) in target.char_indices() {
            if c == '/' {
                consider(&target[..=i]);
            }
        }
        best
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Lit(char),
    Star,
    AnyStar,
    One,
}

fn tokenize(p: &str) -> Vec<Tok> {
    let cs: Vec<char> = p.chars().collect();
    let mut out: Vec<Tok> = Vec::new();
    let mut i = 0;
    while i < cs.len() {
        match cs[i] {
            '*' => {
                let mut n = 0;
                while i < cs.len() && cs[i] == '*' {
                    n += 1;
                    i += 1;
                }
                let t = if n >= 2 { Tok::AnyStar } else { Tok::Star };
                // Merge with a preceding star run.
                match out.last_mut() {
                    Some(last @ Tok::Star) => *last = t,
                    Some(Tok::AnyStar) => {}
                    _ => out.push(t),
                }
                continue;
            }
            '?' => out.push(Tok::One),
            c => out.push(Tok::Lit(c)),
        }
        i += 1;
    }
    out
}

fn escape_into(s: &mut String, c: char) {
    if matches!(c, '[' | ']' | '{' | '}' | '\\' | '*' | '?' | '!' | ',') {
        s.push('\\');
    }
    s.push(c);
}

/// The pattern without wildcards, if it has none.
fn literal_text(toks: &[Tok]) -> Option<String> {
    toks.iter()
        .map(|t| match t {
            Tok::Lit(c) => Some(*c),
            _ => None,
        })
        .collect()
}

/// Literal text before the first wildcard, cut after its last `/` (bucket key).
fn dir_prefix(toks: &[Tok]) -> String {
    let lit: String = toks
        .iter()
        .map_while(|t| match t {
            Tok::Lit(c) => Some(*c),
            _ => None,
        })
        .collect();
    match lit.rfind('/') {
        Some(i) => lit[..=i].to_string(),
        None => String::new(),
    }
}

/// Translate one pattern into the globset globs whose union is its language.
pub fn pattern_to_globs(pattern: &str) -> Result<Vec<String>, String> {
    let toks = tokenize(pattern);
    let n_any = toks.iter().filter(|t| **t == Tok::AnyStar).count();
    if n_any > MAX_DOUBLE_STARS {
        return Err(format!("more than {MAX_DOUBLE_STARS} `**` in one pattern"));
    }
    let mut out = Vec::with_capacity(1 << n_any);
    for mask in 0..(1usize << n_any) {
        let mut g = String::new();
        let mut k = 0;
        for t in &toks {
            match t {
                Tok::Lit(c) => escape_into(&mut g, *c),
                Tok::Star => g.push('*'),
                Tok::One => g.push('?'),
                Tok::AnyStar => {
                    if mask & (1 << k) == 0 {
                        g.push('*');
                    } else {
                        g.push_str("*/**/*");
                    }
                    k += 1;
                }
            }
        }
        out.push(g);
    }
    Ok(out)
}

fn build_glob(g: &str) -> Result<globset::Glob, String> {
    GlobBuilder::new(g)
        .literal_separator(true)
        .backslash_escape(true)
        .case_insensitive(false)
        .empty_alternates(false)
        .build()
        .map_err(|e| e.to_string())
}

/// Does a path string contain a `.` or `..` component?
pub fn has_dot_component(p: &str) -> bool {
    p.split('/').any(|c| c == "." || c == "..")
}

/// Is this pattern a path selector?
pub fn is_path_pattern(p: &str) -> bool {
    p.contains(['/', '\\', '~'])
}

/// Expand a leading `~` in a pattern.
pub fn expand_pattern_home(p: &str, home: Option<&Path>) -> Option<String> {
    if p == "~" || p.starts_with("~/") {
        let h = home?;
        return Some(format!(
            "{}{}",
            h.to_string_lossy().trim_end_matches('/'),
            &p[1..]
        ));
    }
    Some(p.to_string())
}

/// Input entry for compilation.
#[derive(Debug, Clone, Copy)]
pub struct EntrySource<'a> {
    /// Agent key the entry lives under.
    pub agent: &'a str,
    /// Index inside that agent's allowlist.
    pub index: usize,
    pub pattern: &'a str,
    pub arg_pattern: Option<&'a str>,
    /// `source: "allow-always"`: a grant, matched only with its cwd-bound `argPattern`.
    pub allow_always: bool,
}

impl<'a> EntrySource<'a> {
    /// A plain entry of agent `*` (tests, benches).
    pub fn plain(pattern: &'a str) -> Self {
        Self {
            agent: "*",
            index: 0,
            pattern,
            arg_pattern: None,
            allow_always: false,
        }
    }
}

/// A compiled `allow-always` grant: its path/name matcher and the exact `argPattern`.
#[derive(Debug, Clone)]
struct Grant {
    idx: usize,
    matcher: Box<CompiledAllowlist>,
    arg_pattern: String,
}

impl CompiledAllowlist {
    /// Compile entries in order. Never fails: an uncompilable entry becomes [`EntryKind::Inert`].
    pub fn compile(sources: &[EntrySource<'_>], home: Option<&Path>) -> Self {
        let mut entries = Vec::with_capacity(sources.len());
        let mut paths = Table::default();
        let mut bases = Table::default();
        let mut wildcard = None;
        let mut grants = Vec::new();
        for src in sources {
            let pattern = src.pattern.trim();
            let idx = entries.len();
            let mut e = CompiledEntry {
                pattern: pattern.to_string(),
                agent: src.agent.to_string(),
                index: src.index,
                kind: EntryKind::Inert,
                note: None,
            };
            let arg = src.arg_pattern.map(str::trim).filter(|a| !a.is_empty());
            if pattern.is_empty() {
                e.note = Some("blank pattern".into());
            } else if let Some(arg) = arg.filter(|a| a.starts_with(CWD_ARGV_PREFIX)) {
                // A cwd-bound grant: its pattern is matched as a plain entry of its own, then
                // the argPattern must equal the one of the command being decided.
                let single = Self::compile(
                    &[EntrySource {
                        arg_pattern: None,
                        allow_always: false,
                        ..*src
                    }],
                    home,
                );
                match single.entries.first().map(|x| x.kind) {
                    Some(kind @ (EntryKind::Path | EntryKind::Basename)) => {
                        e.kind = kind;
                        e.note = Some(
                            "matches only the exact command and cwd it was granted for".into(),
                        );
                        grants.push(Grant {
                            idx,
                            matcher: Box::new(single),
                            arg_pattern: arg.to_string(),
                        });
                    }
                    _ => e.note = Some("a grant's pattern must name an executable".into()),
                }
            } else if arg.is_some() {
                e.note = Some(
                    "argPattern entries other than cwd-bound grants are not supported on this host"
                        .into(),
                );
            } else if src.allow_always {
                e.note = Some(
                    "allow-always entry without its cwd-bound argPattern (stored by an earlier \
                     version): matches nothing, as in 2026.9.6; approve the command again"
                        .into(),
                );
            } else if pattern == "*" {
                e.kind = EntryKind::Wildcard;
                wildcard.get_or_insert(idx);
            } else {
                let path = is_path_pattern(pattern);
                let expanded = if path {
                    expand_pattern_home(pattern, home)
                } else {
                    Some(pattern.to_string())
                };
                let table = if path { &mut paths } else { &mut bases };
                match expanded {
                    None => e.note = Some("`~` pattern but no home directory".into()),
                    Some(exp) => {
                        let toks = tokenize(&exp);
                        if let Some(lit) = literal_text(&toks) {
                            table.add_exact(lit, idx);
                            e.kind = if path {
                                EntryKind::Path
                            } else {
                                EntryKind::Basename
                            };
                        } else {
                            match pattern_to_globs(&exp).and_then(|gs| {
                                gs.iter()
                                    .map(|g| build_glob(g))
                                    .collect::<Result<Vec<_>, _>>()
                            }) {
                                Err(msg) => e.note = Some(msg),
                                Ok(globs) => {
                                    let prefix = if path {
                                        dir_prefix(&toks)
                                    } else {
                                        String::new()
                                    };
                                    for g in globs {
                                        table.add_glob(prefix.clone(), g, idx);
                                    }
                                    e.kind = if path {
                                        EntryKind::Path
                                    } else {
                                        EntryKind::Basename
                                    };
                                }
                            }
                        }
                    }
                }
            }
            entries.push(e);
        }
        Self {
            entries,
            paths,
            bases,
            wildcard,
            grants,
        }
    }

    /// First `allow-always` grant for this executable whose `argPattern` is the one of `argv`
    /// run in `cwd` (none when the cwd is not known, e.g. after a `cd` in a payload).
    pub fn match_grant(
        &self,
        trust_path: Option<&Path>,
        bare_token: bool,
        basename: &str,
        argv: &[String],
        cwd: Option<&Path>,
    ) -> Option<usize> {
        self.first_grant(
            |m| {
                m.match_executable(trust_path, bare_token, basename)
                    .is_some()
            },
            argv,
            cwd?,
        )
    }

    /// First `allow-always` grant for the script `path` run as `argv` (`[script, args…]`) in `cwd`.
    pub fn match_script_grant(&self, path: &Path, argv: &[String], cwd: &Path) -> Option<usize> {
        self.first_grant(|m| m.match_path(path).is_some(), argv, cwd)
    }

    /// The first grant whose pattern `names` accepts and whose argPattern is the one of `argv`
    /// run in `cwd` (the hash is computed once, and only when some pattern matched).
    fn first_grant(
        &self,
        names: impl Fn(&CompiledAllowlist) -> bool,
        argv: &[String],
        cwd: &Path,
    ) -> Option<usize> {
        if self.grants.is_empty() {
            return None;
        }
        let cwd = cwd.to_str()?;
        let mut want: Option<String> = None;
        for g in self.grants.iter().filter(|g| names(&g.matcher)) {
            let w = want.get_or_insert_with(|| cwd_argv_arg_pattern(cwd, argv));
            if *w == g.arg_pattern {
                return Some(g.idx);
            }
        }
        None
    }

    /// First entry matching an executable: trust path for path patterns, basename (only for bare
    /// PATH tokens) for name patterns, bare `*` for anything.
    pub fn match_executable(
        &self,
        trust_path: Option<&Path>,
        bare_token: bool,
        basename: &str,
    ) -> Option<usize> {
        let mut best = self.wildcard;
        let mut consider = |i: Option<usize>| {
            if let Some(i) = i
                && best.is_none_or(|b| i < b)
            {
                best = Some(i);
            }
        };
        if let Some(tp) = trust_path {
            consider(self.match_path(tp));
            if bare_token {
                consider(self.bases.first_match(basename));
            }
        }
        best
    }

    /// First path-pattern entry matching `path` (script operands).
    pub fn match_path(&self, path: &Path) -> Option<usize> {
        // Non-UTF-8 paths never match (fail closed). Targets with `.`/`..` components are
        // normalised first (EA §8.2; patterns are not).
        let text = path.to_str()?;
        if has_dot_component(text) {
            let n = super::fsview::normalize(path);
            return self.paths.first_match(n.to_str()?);
        }
        self.paths.first_match(text)
    }

    /// Is there a bare `*` entry?
    pub fn wildcard(&self) -> Option<usize> {
        self.wildcard
    }
}
