//! POSIX shell payload analysis (EA §5.1): chains, pipelines, quoting, comments, heredocs.
//!
//! The analyser never expands anything. It accepts a deliberately small grammar (plain words
//! joined by `&&`, `||`, `;` and `|`, plus heredocs) and rejects everything whose meaning depends
//! on the shell at run time: substitutions, redirections, subshells, background jobs, raw
//! newlines and line continuations.
//!
//! Intentional differences from upstream: a comment ends at the end of its line (a later line is
//! still rejected as a raw newline) instead of ending the whole parse, and any text left after a
//! heredoc body is rejected.

use std::fmt;

/// Why a payload could not be analysed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShellError {
    /// `\` followed by a newline anywhere (CVE-2026-28460).
    LineContinuation,
    /// An operator or construct we do not accept.
    Unsupported(String),
    EmptyPipelineSegment,
    EmptyChainPart,
    EmptyCommand,
    Unterminated,
    UnterminatedHeredoc,
    /// `$(`, `` ` ``, `${` or a parameter expansion in an unquoted heredoc body.
    HeredocExpansion,
    /// Nested analysis went too deep.
    TooDeep,
    /// The argv the shell will run is not determined by the analysis (soundness rule).
    Unsound(String),
}

impl fmt::Display for ShellError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LineContinuation => f.write_str("line continuation (backslash-newline)"),
            Self::Unsupported(t) => write!(f, "unsupported shell token: {t}"),
            Self::EmptyPipelineSegment => f.write_str("empty pipeline segment"),
            Self::EmptyChainPart => f.write_str("empty command in chain"),
            Self::EmptyCommand => f.write_str("empty command"),
            Self::Unterminated => f.write_str("unterminated shell quote/escape"),
            Self::UnterminatedHeredoc => f.write_str("unterminated heredoc"),
            Self::HeredocExpansion => f.write_str("command substitution in unquoted heredoc"),
            Self::TooDeep => f.write_str("nested shell too deep"),
            Self::Unsound(why) => write!(f, "not determined by the analysis: {why}"),
        }
    }
}

/// A chain operator preceding a chain part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainOp {
    And,
    Or,
    Seq,
}

impl ChainOp {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::And => "&&",
            Self::Or => "||",
            Self::Seq => ";",
        }
    }
}

/// One simple command of a pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// The segment's source text (trimmed, without heredoc bodies).
    pub raw: String,
    /// Words after quote removal (nothing is expanded).
    pub argv: Vec<String>,
    /// What the shell may still do to each word at run time (parallel to `argv`).
    pub shapes: Vec<WordShape>,
    /// The segment reads a heredoc on stdin.
    pub heredoc: bool,
}

/// Positional-parameter words the carrier rule can substitute exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Positional {
    /// `$N` / `${N}` (N = 0..9), unquoted: field-split and globbed.
    Bare(u8),
    /// `"$N"` / `"${N}"`: exactly one field.
    Quoted(u8),
    /// `"$@"` / `"${@}"`: one field per positional parameter from `$1`.
    QuotedAll,
}

/// Run-time word processing the shell applies to a word, found on its source spelling
/// (the soundness rule in `analysis::soundness` decides what is acceptable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WordShape {
    /// A `$` outside single quotes that starts an expansion (`$X`, `${…}`, `$1`, `$@`, `$[…]`,
    /// `$((…))`, `$'…'`, `$"…"`).
    pub expansion: bool,
    /// The whole word is one positional parameter.
    pub positional: Option<Positional>,
    /// An unquoted `*`, `?` or `[…]` (pathname expansion).
    pub glob: bool,
    /// An unquoted `{` followed later by an unquoted `}` (bash brace expansion), except `{}`.
    pub brace: bool,
    /// A leading unquoted `~` not followed by `/` or the end of the word (`~user`, `~+`, `~-`).
    pub tilde_other: bool,
    /// An unquoted `~` right after an unquoted `=` or `:` following an unquoted `=` (`a=~/x`,
    /// `a=b:~/c`): bash expands it in an argument that looks like an assignment.
    pub tilde_assign: bool,
    /// The word starts with a literal character other than `-` (quoted, escaped, or plain and not
    /// special), or with `~/`: every pathname expansion of it starts the same way.
    pub literal_start: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Bare,
    Single,
    Double,
    Escaped,
}

impl WordShape {
    /// Classify a word from its source spelling (well-formed: the parser accepted it).
    pub fn of(raw: &str) -> Self {
        let mut items: Vec<(char, Ctx)> = Vec::with_capacity(raw.len());
        let mut it = raw.chars().peekable();
        let mut ctx = Ctx::Bare;
        while let Some(c) = it.next() {
            match (ctx, c) {
                (Ctx::Bare, '\\') => {
                    if let Some(n) = it.next() {
                        items.push((n, Ctx::Escaped));
                    }
                }
                (Ctx::Bare, '\'') => ctx = Ctx::Single,
                (Ctx::Bare, '"') => ctx = Ctx::Double,
                (Ctx::Single, '\'') | (Ctx::Double, '"') => ctx = Ctx::Bare,
                (Ctx::Double, '\\') => match it.peek().copied() {
                    Some(n @ ('\\' | '"' | '$' | '`')) => {
                        it.next();
                        items.push((n, Ctx::Escaped));
                    }
                    _ => items.push(('\\', Ctx::Double)),
                },
                (cx, c) => items.push((c, cx)),
            }
        }
        let mut shape = WordShape::default();
        let n = items.len();
        let mut seen_eq = false;
        for (i, &(c, cx)) in items.iter().enumerate() {
            let next = items.get(i + 1).copied();
            if cx == Ctx::Bare
                && next == Some(('~', Ctx::Bare))
                && (c == '=' || (c == ':' && seen_eq))
            {
                shape.tilde_assign = true;
            }
            seen_eq |= c == '=' && cx == Ctx::Bare;
            match (c, cx) {
                // `$` at the end or before a backslash-escaped character is literal; inside double
                // quotes, also before the closing quote.
                ('$', Ctx::Bare) if next.is_some_and(|(_, nx)| nx != Ctx::Escaped) => {
                    shape.expansion = true;
                }
                ('$', Ctx::Double) if next.is_some_and(|(_, nx)| nx == Ctx::Double) => {
                    shape.expansion = true;
                }
                ('*' | '?', Ctx::Bare) => shape.glob = true,
                ('[', Ctx::Bare) if items[i + 1..].iter().any(|&(x, _)| x == ']') => {
                    shape.glob = true;
                }
                ('{', Ctx::Bare)
                    if items[i + 1..]
                        .iter()
                        .any(|&(x, xc)| x == '}' && xc == Ctx::Bare)
                        && raw != "{}" =>
                {
                    shape.brace = true;
                }
                _ => {}
            }
        }
        if let Some(&(c0, cx0)) = items.first() {
            let second = items.get(1).map(|&(c, _)| c);
            if c0 == '~' && cx0 == Ctx::Bare {
                if n > 1 && second != Some('/') {
                    shape.tilde_other = true;
                }
                shape.literal_start = second == Some('/');
            } else if cx0 == Ctx::Bare {
                shape.literal_start = !matches!(c0, '-' | '*' | '?' | '[' | '{' | '$');
            } else {
                shape.literal_start = c0 != '-';
            }
        }
        shape.positional = positional_of(raw);
        shape
    }

    /// Nothing happens to the word at run time (quote removal aside).
    pub fn is_literal(&self) -> bool {
        !self.expansion && !self.glob && !self.brace && !self.tilde_other && !self.tilde_assign
    }
}

fn positional_of(raw: &str) -> Option<Positional> {
    let digit = |s: &str| -> Option<u8> {
        let s = s
            .strip_prefix('{')
            .and_then(|x| x.strip_suffix('}'))
            .unwrap_or(s);
        (s.len() == 1)
            .then(|| s.as_bytes()[0])
            .filter(u8::is_ascii_digit)
            .map(|b| b - b'0')
    };
    if let Some(inner) = raw.strip_prefix("\"$").and_then(|x| x.strip_suffix('"')) {
        if matches!(inner, "@" | "{@}") {
            return Some(Positional::QuotedAll);
        }
        return digit(inner).map(Positional::Quoted);
    }
    raw.strip_prefix('$').and_then(digit).map(Positional::Bare)
}

/// A pipeline, with the operator that joined it to the previous one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainPart {
    pub op: Option<ChainOp>,
    pub segments: Vec<Segment>,
}

/// A fully analysed payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellAnalysis {
    pub parts: Vec<ChainPart>,
    /// Byte offset where heredoc bodies start (everything from here is kept verbatim).
    pub heredoc_tail: Option<usize>,
}

impl ShellAnalysis {
    /// All segments in order.
    pub fn segments(&self) -> impl Iterator<Item = &Segment> {
        self.parts.iter().flat_map(|p| p.segments.iter())
    }
    pub fn segment_count(&self) -> usize {
        self.parts.iter().map(|p| p.segments.len()).sum()
    }
    pub fn has_chain(&self) -> bool {
        self.parts.len() > 1
    }
}

struct Heredoc {
    delim: String,
    strip_tabs: bool,
    quoted: bool,
}

struct Parser<'a> {
    src: &'a str,
    chars: Vec<(usize, char)>,
    i: usize,
    parts: Vec<ChainPart>,
    cur_part: Vec<Segment>,
    cur_op: Option<ChainOp>,
    argv: Vec<String>,
    word: Option<String>,
    /// Byte offset where the current word's source spelling starts.
    word_start: usize,
    shapes: Vec<WordShape>,
    seg_start: usize,
    /// Byte offset just after the last token (word text or heredoc operator) consumed.
    tok_end: usize,
    seg_has_redirect: bool,
    heredocs: Vec<Heredoc>,
}

/// Does `s` contain a backslash followed by `\n`, `\r\n` or `\r`?
pub fn has_line_continuation(s: &str) -> bool {
    let b = s.as_bytes();
    b.windows(2)
        .any(|w| w[0] == b'\\' && (w[1] == b'\n' || w[1] == b'\r'))
}

/// Analyse a POSIX shell payload.
pub fn analyze(payload: &str) -> Result<ShellAnalysis, ShellError> {
    if has_line_continuation(payload) {
        return Err(ShellError::LineContinuation);
    }
    let mut p = Parser {
        src: payload,
        chars: payload.char_indices().collect(),
        i: 0,
        parts: Vec::new(),
        cur_part: Vec::new(),
        cur_op: None,
        argv: Vec::new(),
        word: None,
        word_start: 0,
        shapes: Vec::new(),
        seg_start: 0,
        tok_end: 0,
        seg_has_redirect: false,
        heredocs: Vec::new(),
    };
    let tail = p.run()?;
    Ok(ShellAnalysis {
        parts: p.parts,
        heredoc_tail: tail,
    })
}

impl Parser<'_> {
    fn peek(&self, off: usize) -> Option<char> {
        self.chars.get(self.i + off).map(|&(_, c)| c)
    }
    fn pos(&self) -> usize {
        self.chars.get(self.i).map_or(self.src.len(), |&(p, _)| p)
    }
    fn end_word(&mut self) {
        if let Some(w) = self.word.take() {
            let end = self.tok_end.max(self.word_start);
            self.shapes
                .push(WordShape::of(&self.src[self.word_start..end]));
            self.argv.push(w);
        }
    }
    fn word(&mut self) -> &mut String {
        self.word.get_or_insert_with(String::new)
    }

    fn end_segment(&mut self, end: usize, last_in_part: bool) -> Result<(), ShellError> {
        self.end_word();
        // Trim only the separators the lexer knows (space, tab): other Unicode whitespace is part
        // of a word and must survive a verbatim rebuild.
        // (Trailing text is cut at the last token, so an escaped trailing space survives.)
        let stop = end.min(self.tok_end).max(self.seg_start);
        let raw = self.src[self.seg_start..stop]
            .trim_start_matches([' ', '\t'])
            .to_string();
        let argv = std::mem::take(&mut self.argv);
        let shapes = std::mem::take(&mut self.shapes);
        if argv.is_empty() {
            if !self.cur_part.is_empty() || !last_in_part {
                return Err(ShellError::EmptyPipelineSegment);
            }
            if self.seg_has_redirect {
                return Err(ShellError::EmptyCommand);
            }
            // An empty part: decided by the caller (chain/empty command).
            return Err(if self.parts.is_empty() && self.cur_op.is_none() {
                ShellError::EmptyCommand
            } else {
                ShellError::EmptyChainPart
            });
        }
        self.cur_part.push(Segment {
            raw,
            argv,
            shapes,
            heredoc: self.seg_has_redirect,
        });
        self.seg_has_redirect = false;
        Ok(())
    }

    fn end_part(&mut self, end: usize, next: Option<ChainOp>) -> Result<(), ShellError> {
        self.end_segment(end, true)?;
        let segments = std::mem::take(&mut self.cur_part);
        self.parts.push(ChainPart {
            op: self.cur_op,
            segments,
        });
        self.cur_op = next;
        Ok(())
    }

    fn run(&mut self) -> Result<Option<usize>, ShellError> {
        while self.i < self.chars.len() {
            let c = self.chars[self.i].1;
            if self.word.is_none() {
                self.word_start = self.chars[self.i].0;
            }
            match c {
                ' ' | '\t' => {
                    self.end_word();
                    self.i += 1;
                }
                '\n' | '\r' => {
                    if self.heredocs.is_empty() || c == '\r' {
                        return Err(ShellError::Unsupported("newline".into()));
                    }
                    let at = self.pos();
                    self.end_part(at, None)?;
                    self.consume_heredocs()?;
                    return Ok(Some(at));
                }
                '#' if self.word.is_none() => {
                    // Comment to end of line.
                    let at = self.pos();
                    while self.i < self.chars.len() && !matches!(self.chars[self.i].1, '\n' | '\r')
                    {
                        self.i += 1;
                    }
                    if self.i >= self.chars.len() {
                        if !self.heredocs.is_empty() {
                            return Err(ShellError::UnterminatedHeredoc);
                        }
                        self.end_part(at, None)?;
                        return Ok(None);
                    }
                    // A newline follows: handled by the newline rule (segment raw ends here).
                    let next = self.chars[self.i].1;
                    if self.heredocs.is_empty() || next == '\r' {
                        return Err(ShellError::Unsupported("newline".into()));
                    }
                    let nl = self.pos();
                    self.end_part(at, None)?;
                    self.consume_heredocs()?;
                    return Ok(Some(nl));
                }
                '\'' => {
                    self.i += 1;
                    let mut buf = String::new();
                    loop {
                        match self.peek(0) {
                            None => return Err(ShellError::Unterminated),
                            Some('\'') => break,
                            Some(ch) => {
                                buf.push(ch);
                                self.i += 1;
                            }
                        }
                    }
                    self.i += 1;
                    self.word().push_str(&buf);
                    self.tok_end = self.pos();
                }
                '"' => {
                    self.i += 1;
                    let mut buf = String::new();
                    loop {
                        match self.peek(0) {
                            None => return Err(ShellError::Unterminated),
                            Some('"') => break,
                            Some('\\') => match self.peek(1) {
                                None => return Err(ShellError::Unterminated),
                                Some(n @ ('\\' | '"' | '$' | '`')) => {
                                    buf.push(n);
                                    self.i += 2;
                                }
                                Some('\n' | '\r') => return Err(ShellError::LineContinuation),
                                Some(n) => {
                                    buf.push('\\');
                                    buf.push(n);
                                    self.i += 2;
                                }
                            },
                            Some('$') if self.peek(1) == Some('(') => {
                                return Err(ShellError::Unsupported("$(".into()));
                            }
                            Some('`') => return Err(ShellError::Unsupported("`".into())),
                            Some('\n' | '\r') => {
                                return Err(ShellError::Unsupported("newline".into()));
                            }
                            Some(ch) => {
                                buf.push(ch);
                                self.i += 1;
                            }
                        }
                    }
                    self.i += 1;
                    self.word().push_str(&buf);
                    self.tok_end = self.pos();
                }
                '\\' => match self.peek(1) {
                    None => return Err(ShellError::Unterminated),
                    Some('\n' | '\r') => return Err(ShellError::LineContinuation),
                    Some(n) => {
                        self.word().push(n);
                        self.i += 2;
                        self.tok_end = self.pos();
                    }
                },
                '|' => match self.peek(1) {
                    Some('|') => {
                        let at = self.pos();
                        self.i += 2;
                        self.end_part(at, Some(ChainOp::Or))?;
                        self.seg_start = self.pos();
                    }
                    Some('&') => return Err(ShellError::Unsupported("|&".into())),
                    _ => {
                        let at = self.pos();
                        self.i += 1;
                        self.end_segment(at, false)?;
                        self.seg_start = self.pos();
                    }
                },
                '&' => {
                    if self.peek(1) == Some('&') {
                        let at = self.pos();
                        self.i += 2;
                        self.end_part(at, Some(ChainOp::And))?;
                        self.seg_start = self.pos();
                    } else {
                        return Err(ShellError::Unsupported("&".into()));
                    }
                }
                ';' => {
                    let at = self.pos();
                    self.i += 1;
                    self.end_part(at, Some(ChainOp::Seq))?;
                    self.seg_start = self.pos();
                }
                '<' if self.peek(1) == Some('<') && self.peek(2) != Some('<') => {
                    self.end_word();
                    self.i += 2;
                    let strip_tabs = if self.peek(0) == Some('-') {
                        self.i += 1;
                        true
                    } else {
                        false
                    };
                    self.read_heredoc_delim(strip_tabs)?;
                    self.seg_has_redirect = true;
                    self.tok_end = self.pos();
                }
                '<' | '>' => return Err(ShellError::Unsupported(c.to_string())),
                '`' | '(' | ')' => return Err(ShellError::Unsupported(c.to_string())),
                '$' if self.peek(1) == Some('(') => {
                    return Err(ShellError::Unsupported("$(".into()));
                }
                _ => {
                    self.word().push(c);
                    self.i += 1;
                    self.tok_end = self.pos();
                }
            }
        }
        if !self.heredocs.is_empty() {
            return Err(ShellError::UnterminatedHeredoc);
        }
        let end = self.src.len();
        self.end_part(end, None)?;
        Ok(None)
    }

    fn read_heredoc_delim(&mut self, strip_tabs: bool) -> Result<(), ShellError> {
        while matches!(self.peek(0), Some(' ' | '\t')) {
            self.i += 1;
        }
        let mut delim = String::new();
        let mut quoted = false;
        while let Some(c) = self.peek(0) {
            match c {
                ' ' | '\t' | '\n' | '\r' | ';' | '&' | '|' | '<' | '>' | '(' | ')' => break,
                '\'' | '"' => {
                    quoted = true;
                    self.i += 1;
                    loop {
                        match self.peek(0) {
                            None => return Err(ShellError::Unterminated),
                            Some(q) if q == c => break,
                            Some(ch) => {
                                delim.push(ch);
                                self.i += 1;
                            }
                        }
                    }
                    self.i += 1;
                }
                '\\' => {
                    quoted = true;
                    match self.peek(1) {
                        None => return Err(ShellError::Unterminated),
                        Some(n) => {
                            delim.push(n);
                            self.i += 2;
                        }
                    }
                }
                '$' | '`' => return Err(ShellError::Unsupported(c.to_string())),
                _ => {
                    delim.push(c);
                    self.i += 1;
                }
            }
        }
        if delim.is_empty() {
            return Err(ShellError::Unsupported("<<".into()));
        }
        self.heredocs.push(Heredoc {
            delim,
            strip_tabs,
            quoted,
        });
        Ok(())
    }

    /// Called at the newline that ends the command line: consume every pending body.
    fn consume_heredocs(&mut self) -> Result<(), ShellError> {
        // Skip the newline itself.
        let start = self.pos() + 1;
        let rest = self.src.get(start..).unwrap_or("");
        let mut lines = rest.split('\n');
        let heredocs = std::mem::take(&mut self.heredocs);
        for h in heredocs {
            let mut found = false;
            for line in lines.by_ref() {
                let cmp = if h.strip_tabs {
                    line.trim_start_matches('\t')
                } else {
                    line
                };
                if cmp == h.delim {
                    found = true;
                    break;
                }
                if !h.quoted && has_expansion(line) {
                    return Err(ShellError::HeredocExpansion);
                }
            }
            if !found {
                return Err(ShellError::UnterminatedHeredoc);
            }
        }
        // Anything after the last body is another command on a new line: not accepted.
        if lines.any(|l| !l.trim().is_empty()) {
            return Err(ShellError::Unsupported("newline".into()));
        }
        self.i = self.chars.len();
        Ok(())
    }
}

/// Unescaped `` ` ``, `$(`, `${`, or a parameter expansion (`$VAR`, `$?`, `$$`, `$1`, `$@`, …).
fn has_expansion(line: &str) -> bool {
    let c: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < c.len() {
        match c[i] {
            '\\' => i += 2,
            '`' => return true,
            '$' => {
                if let Some(&n) = c.get(i + 1)
                    && (n == '('
                        || n == '{'
                        || n == '_'
                        || n.is_ascii_alphanumeric()
                        || "?$@*#!-".contains(n))
                {
                    return true;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    false
}

/// Single-quote a token for POSIX shells (`'` → `'"'"'`).
pub fn single_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    push_single_quoted(&mut out, s);
    out
}

/// Append `s` single-quoted (as [`single_quote`]) to `out`.
pub fn push_single_quoted(out: &mut String, s: &str) {
    out.push('\'');
    for (i, part) in s.split('\'').enumerate() {
        if i > 0 {
            out.push_str("'\"'\"'");
        }
        out.push_str(part);
    }
    out.push('\'');
}

/// Rebuild a payload: segment `i` is replaced by `replacement[i]` when `Some`, other segments are
/// kept verbatim; operators are preserved; heredoc bodies are appended unchanged.
pub fn rebuild(
    payload: &str,
    analysis: &ShellAnalysis,
    replacement: &[Option<String>],
) -> Option<String> {
    if replacement.len() != analysis.segment_count() {
        return None;
    }
    let mut out = String::new();
    let mut idx = 0;
    for part in &analysis.parts {
        if let Some(op) = part.op {
            out.push(' ');
            out.push_str(op.as_str());
            out.push(' ');
        }
        for (j, seg) in part.segments.iter().enumerate() {
            if j > 0 {
                out.push_str(" | ");
            }
            match replacement.get(idx)? {
                // The replacement is the argv alone: a heredoc operator in the segment would be
                // lost and its body run as commands. Such a payload is not rebuilt (the run is
                // refused as a plan mismatch); found by the soundness oracle.
                Some(_) if seg.heredoc => return None,
                Some(r) => out.push_str(r),
                None => out.push_str(&seg.raw),
            }
            idx += 1;
        }
    }
    if let Some(t) = analysis.heredoc_tail {
        out.push_str(payload.get(t..)?);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::single_quote;

    /// The allocation-free quoting must equal `'…'` with every `'` spelled `'"'"'`.
    #[test]
    fn single_quote_matches_reference_spelling() {
        for s in ["", "a", "'", "''", "a'b", "'a'", "x y", "it's 'q'", "\"'\""] {
            let reference = format!("'{}'", s.replace('\'', "'\"'\"'"));
            assert_eq!(single_quote(s), reference, "{s:?}");
        }
    }
}
