//! Independent reference semantics for allowlist patterns — `*` a non-`/` run, `**` anything,
//! `?` one non-`/`, everything else literal — a small memoised backtracking matcher used to
//! check the globset-based matcher (`tests/policy/props.rs` and the `glob_vs_oracle` fuzz
//! target, which includes this file by path).
#![allow(
    dead_code,
    clippy::indexing_slicing,
    reason = "shared with a fuzz target that uses a part of it; indices are bounded by the loops"
)]

/// One pattern token.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum T {
    Lit(char),
    Star,
    Any,
    One,
}

/// The pattern's tokens (a run of two or more `*` is one `Any`).
pub fn tokens(p: &str) -> Vec<T> {
    let cs: Vec<char> = p.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < cs.len() {
        if cs[i] == '*' {
            let mut n = 0;
            while i < cs.len() && cs[i] == '*' {
                n += 1;
                i += 1;
            }
            out.push(if n >= 2 { T::Any } else { T::Star });
            continue;
        }
        out.push(if cs[i] == '?' { T::One } else { T::Lit(cs[i]) });
        i += 1;
    }
    out
}

/// Whether the tokens match all of `s`.
pub fn matches(p: &[T], s: &[char]) -> bool {
    let mut memo = vec![vec![None; s.len() + 1]; p.len() + 1];
    fn go(p: &[T], s: &[char], i: usize, j: usize, m: &mut Vec<Vec<Option<bool>>>) -> bool {
        if let Some(v) = m[i][j] {
            return v;
        }
        let r = match p.get(i) {
            None => j == s.len(),
            Some(T::Lit(c)) => s.get(j) == Some(c) && go(p, s, i + 1, j + 1, m),
            Some(T::One) => s.get(j).is_some_and(|c| *c != '/') && go(p, s, i + 1, j + 1, m),
            Some(T::Star) => {
                go(p, s, i + 1, j, m)
                    || (s.get(j).is_some_and(|c| *c != '/') && go(p, s, i, j + 1, m))
            }
            Some(T::Any) => go(p, s, i + 1, j, m) || (j < s.len() && go(p, s, i, j + 1, m)),
        };
        m[i][j] = Some(r);
        r
    }
    go(p, s, 0, 0, &mut memo)
}

/// Whether `pattern` matches all of `target`.
pub fn oracle(pattern: &str, target: &str) -> bool {
    matches(&tokens(pattern), &target.chars().collect::<Vec<_>>())
}
