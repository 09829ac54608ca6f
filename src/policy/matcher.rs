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
//! Entries with an `argPattern` ([newest], Windows-generated) never match on this host.

use std::path::Path;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use serde::Serialize;

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

/// Input entry for compilation: (agent key, index, pattern, has argPattern).
pub type EntrySource<'a> = (&'a str, usize, &'a str, bool);

impl CompiledAllowlist {
    /// Compile entries in order. Never fails: an uncompilable entry becomes [`EntryKind::Inert`].
    pub fn compile(sources: &[EntrySource<'_>], home: Option<&Path>) -> Self {
        let mut entries = Vec::with_capacity(sources.len());
        let mut paths = Table::default();
        let mut bases = Table::default();
        let mut wildcard = None;
        for (agent, index, pattern, has_arg) in sources {
            let pattern = pattern.trim();
            let idx = entries.len();
            let mut e = CompiledEntry {
                pattern: pattern.to_string(),
                agent: (*agent).to_string(),
                index: *index,
                kind: EntryKind::Inert,
                note: None,
            };
            if pattern.is_empty() {
                e.note = Some("blank pattern".into());
            } else if *has_arg {
                e.note = Some("argPattern entries are not supported on this host".into());
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
        }
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
        // Non-UTF-8 paths cannot match a (UTF-8) pattern except through `*`-free bytes; treat
        // them as unmatched (fail closed).
        self.paths.first_match(path.to_str()?)
    }

    /// Is there a bare `*` entry?
    pub fn wildcard(&self) -> Option<usize> {
        self.wildcard
    }
}
