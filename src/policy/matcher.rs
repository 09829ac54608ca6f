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
#[derive(Debug, Clone)]
pub struct CompiledAllowlist {
    pub entries: Vec<CompiledEntry>,
    path_set: GlobSet,
    path_map: Vec<usize>,
    base_set: GlobSet,
    base_map: Vec<usize>,
    wildcard: Option<usize>,
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
        let mut pb = GlobSetBuilder::new();
        let mut path_map = Vec::new();
        let mut bb = GlobSetBuilder::new();
        let mut base_map = Vec::new();
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
                match expanded {
                    None => e.note = Some("`~` pattern but no home directory".into()),
                    Some(exp) => match pattern_to_globs(&exp).and_then(|gs| {
                        gs.iter()
                            .map(|g| build_glob(g))
                            .collect::<Result<Vec<_>, _>>()
                    }) {
                        Err(msg) => e.note = Some(msg),
                        Ok(globs) => {
                            for g in globs {
                                if path {
                                    pb.add(g);
                                    path_map.push(idx);
                                } else {
                                    bb.add(g);
                                    base_map.push(idx);
                                }
                            }
                            e.kind = if path {
                                EntryKind::Path
                            } else {
                                EntryKind::Basename
                            };
                        }
                    },
                }
            }
            entries.push(e);
        }
        let path_set = pb.build().unwrap_or_else(|_| GlobSet::empty());
        let base_set = bb.build().unwrap_or_else(|_| GlobSet::empty());
        Self {
            entries,
            path_set,
            path_map,
            base_set,
            base_map,
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
        let mut consider = |i: usize| {
            if best.is_none_or(|b| i < b) {
                best = Some(i);
            }
        };
        if let Some(tp) = trust_path {
            for gi in self.path_set.matches(tp) {
                if let Some(&e) = self.path_map.get(gi) {
                    consider(e);
                }
            }
            if bare_token {
                for gi in self.base_set.matches(basename) {
                    if let Some(&e) = self.base_map.get(gi) {
                        consider(e);
                    }
                }
            }
        }
        best
    }

    /// First path-pattern entry matching `path` (script operands).
    pub fn match_path(&self, path: &Path) -> Option<usize> {
        self.path_set
            .matches(path)
            .into_iter()
            .filter_map(|gi| self.path_map.get(gi).copied())
            .min()
    }

    /// Is there a bare `*` entry?
    pub fn wildcard(&self) -> Option<usize> {
        self.wildcard
    }
}
