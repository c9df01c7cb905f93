//! Limits checked on the raw bytes before any YAML parser sees them: size, nesting depth, aliases.
//!
//! The scan is one linear pass that follows just enough YAML (quoted scalars, comments, block
//! scalars, flow brackets, indentation, `- ` markers, node starts) to bound the depth and count
//! the aliases. It errs on the side of counting: a hostile document is rejected after reading at
//! most a few bytes past the limit, in constant memory apart from the indentation stack, which
//! the depth cap bounds.

use crate::error::Reason;

/// Caps on hostile input, checked before the YAML parser runs.
///
/// The defaults suit spec metadata: a 4 MiB file, 64 KiB of front matter, 32 levels of nesting,
/// and no aliases at all (spec files never need them, and a billion-laughs document is then
/// rejected by the scan before anything is expanded). Raise them with
/// `Limits { max_aliases: 8, ..Limits::default() }` style field updates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest file read, in bytes.
    pub max_file_bytes: usize,
    /// The largest front matter (the YAML between the delimiters), in bytes.
    pub max_front_matter_bytes: usize,
    /// The deepest nesting of mappings and sequences (block indentation plus flow brackets).
    pub max_depth: usize,
    /// The most aliases (`*name`) the YAML may use.
    pub max_aliases: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_file_bytes: 4 << 20,
            max_front_matter_bytes: 64 << 10,
            max_depth: 32,
            max_aliases: 0,
        }
    }
}

/// A limit that was hit: 1-based line and column inside the YAML text, and why.
pub(crate) type Violation = (usize, usize, Reason);

/// Scans `yaml` for nesting deeper than the cap and for aliases beyond the cap.
pub(crate) fn scan(yaml: &str, limits: &Limits) -> Result<(), Violation> {
    if yaml.len() > limits.max_front_matter_bytes {
        return Err((1, 1, Reason::FrontMatterTooLarge { limit: limits.max_front_matter_bytes }));
    }
    Scanner { text: yaml, b: yaml.as_bytes(), limits, line: 1, line_begin: 0 }.run()
}

struct Scanner<'a> {
    text: &'a str,
    b: &'a [u8],
    limits: &'a Limits,
    line: usize,
    line_begin: usize,
}

fn is_blank(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_flow_indicator(c: u8) -> bool {
    matches!(c, b',' | b'[' | b']' | b'{' | b'}')
}

impl Scanner<'_> {
    fn column(&self, at: usize) -> usize {
        let end = at.min(self.b.len());
        self.b[self.line_begin..end].iter().filter(|&&c| c & 0xC0 != 0x80).count() + 1
    }

    fn violation(&self, at: usize, reason: Reason) -> Violation {
        (self.line, self.column(at), reason)
    }

    fn line_end(&self, from: usize) -> usize {
        // `str::find` on a char is a memchr: fast even on a multi-megabyte line.
        self.text.get(from..).and_then(|rest| rest.find('\n')).map_or(self.b.len(), |p| from + p)
    }

    fn run(mut self) -> Result<(), Violation> {
        let b = self.b;
        let n = b.len();
        let max_depth = self.limits.max_depth;
        let mut indents: Vec<usize> = Vec::new();
        let mut flow = 0usize;
        let mut aliases = 0usize;
        let mut block_scalar: Option<usize> = None;
        let mut line_indent = 0usize;
        let mut node_start = true;
        let mut at_line_start = true;
        let mut i = 0usize;
        loop {
            if at_line_start {
                at_line_start = false;
                let mut j = i;
                while j < n && b[j] == b' ' {
                    j += 1;
                }
                let end = self.line_end(j);
                let blank = b[j..end].iter().all(|&c| is_blank(c));
                // A line of a block scalar (blank, or deeper than its parent), and outside a
                // flow collection a blank or comment line, holds no structure: skip it.
                let in_scalar = match block_scalar {
                    Some(parent) if blank || j - i > parent => true,
                    Some(_) => {
                        block_scalar = None;
                        false
                    }
                    None => false,
                };
                if in_scalar || (flow == 0 && (blank || b[j] == b'#')) {
                    if end >= n {
                        break;
                    }
                    i = end + 1;
                    self.line += 1;
                    self.line_begin = i;
                    at_line_start = true;
                    continue;
                }
                if flow == 0 {
                    line_indent = j - i;
                    while indents.last().is_some_and(|&top| top > line_indent) {
                        indents.pop();
                    }
                    if indents.last() != Some(&line_indent) {
                        indents.push(line_indent);
                    }
                    let mut depth = indents.len();
                    while j < n && matches!(b[j], b'-' | b'?') && (j + 1 >= n || is_blank(b[j + 1]))
                    {
                        depth += 1;
                        if depth > max_depth {
                            return Err(self.violation(j, Reason::TooDeep { limit: max_depth }));
                        }
                        j += 1;
                        while j < n && matches!(b[j], b' ' | b'\t') {
                            j += 1;
                        }
                    }
                    if depth > max_depth {
                        return Err(self.violation(j, Reason::TooDeep { limit: max_depth }));
                    }
                    node_start = true;
                }
                i = j;
            }
            if i >= n {
                break;
            }
            let c = b[i];
            match c {
                b'\n' => {
                    i += 1;
                    self.line += 1;
                    self.line_begin = i;
                    at_line_start = true;
                }
                b' ' | b'\t' | b'\r' => i += 1,
                b'#' if i == self.line_begin || matches!(b[i - 1], b' ' | b'\t') => {
                    i = self.line_end(i);
                }
                _ if node_start => match c {
                    b'"' => {
                        i = self.skip_double_quoted(i + 1);
                        node_start = false;
                    }
                    b'\'' => {
                        i = self.skip_single_quoted(i + 1);
                        node_start = false;
                    }
                    b'*' => {
                        aliases += 1;
                        if aliases > self.limits.max_aliases {
                            let limit = self.limits.max_aliases;
                            return Err(self.violation(i, Reason::TooManyAliases { limit }));
                        }
                        i = skip_name(b, i + 1);
                        node_start = false;
                    }
                    b'&' | b'!' => i = skip_name(b, i + 1),
                    b'[' | b'{' => {
                        flow += 1;
                        if indents.len() + flow > max_depth {
                            return Err(self.violation(i, Reason::TooDeep { limit: max_depth }));
                        }
                        i += 1;
                    }
                    b']' | b'}' => {
                        flow = flow.saturating_sub(1);
                        i += 1;
                        node_start = false;
                    }
                    b',' if flow > 0 => i += 1,
                    b'|' | b'>' if flow == 0 => {
                        block_scalar = Some(line_indent);
                        i = self.line_end(i);
                    }
                    b'-' | b'?' if i + 1 >= n || is_blank(b[i + 1]) => i += 1,
                    _ => {
                        node_start = false;
                        i += 1;
                    }
                },
                b':' if i + 1 >= n
                    || is_blank(b[i + 1])
                    || (flow > 0 && is_flow_indicator(b[i + 1])) =>
                {
                    node_start = true;
                    i += 1;
                }
                b',' if flow > 0 => {
                    node_start = true;
                    i += 1;
                }
                b'[' | b'{' if flow > 0 => {
                    flow += 1;
                    if indents.len() + flow > max_depth {
                        return Err(self.violation(i, Reason::TooDeep { limit: max_depth }));
                    }
                    node_start = true;
                    i += 1;
                }
                b']' | b'}' if flow > 0 => {
                    flow -= 1;
                    i += 1;
                }
                _ => i += 1,
            }
        }
        Ok(())
    }

    /// Skips a double-quoted scalar whose opening quote is before `i`; returns the index after
    /// the closing quote (or the end of the text).
    fn skip_double_quoted(&mut self, mut i: usize) -> usize {
        let b = self.b;
        while i < b.len() {
            match b[i] {
                b'\\' => {
                    if b.get(i + 1) == Some(&b'\n') {
                        self.line += 1;
                        self.line_begin = i + 2;
                    }
                    i += 2;
                }
                b'"' => return i + 1,
                b'\n' => i = self.newline(i),
                _ => i += 1,
            }
        }
        b.len()
    }

    /// Counts the newline at `i`; returns the index after it.
    fn newline(&mut self, i: usize) -> usize {
        self.line += 1;
        self.line_begin = i + 1;
        i + 1
    }

    fn skip_single_quoted(&mut self, mut i: usize) -> usize {
        let b = self.b;
        while i < b.len() {
            match b[i] {
                b'\'' if b.get(i + 1) == Some(&b'\'') => i += 2,
                b'\'' => return i + 1,
                b'\n' => i = self.newline(i),
                _ => i += 1,
            }
        }
        b.len()
    }
}

fn skip_name(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && !is_blank(b[i]) && !is_flow_indicator(b[i]) {
        i += 1;
    }
    i
}
