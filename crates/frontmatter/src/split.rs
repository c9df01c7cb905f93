//! Strict splitting of a file into front matter and body: `---` lines at the very start only.

use crate::error::{ParseError, Reason};

/// A file cut into its front matter and its body, borrowing the text.
///
/// The front matter starts on the first line after an optional UTF-8 byte-order mark and must be
/// exactly `---` (trailing spaces or tabs allowed), ended by LF or CRLF. It ends at the next line
/// that is `---`; a `---` further down belongs to the body, and a `---` inside a YAML value is
/// never alone on a line in valid YAML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split<'a> {
    /// The YAML text between the delimiter lines (with its line endings).
    pub yaml: &'a str,
    /// The 1-based line of the file on which `yaml` starts.
    pub yaml_line: usize,
    /// Everything after the closing delimiter line, byte for byte.
    pub body: &'a str,
    /// Whether the opening delimiter ends with CRLF.
    pub crlf: bool,
    /// Whether the file starts with a byte-order mark.
    pub bom: bool,
}

impl<'a> Split<'a> {
    /// The body without its final line ending (`\r\n` in a CRLF file, `\n` otherwise): the
    /// `message` of a spec. Writing appends exactly one `\n`, so a message round-trips exactly.
    pub fn message(&self) -> &'a str {
        let body = self.body;
        if self.crlf
            && let Some(stripped) = body.strip_suffix("\r\n")
        {
            return stripped;
        }
        body.strip_suffix('\n').unwrap_or(body)
    }
}

/// Splits `text` into front matter and body.
///
/// ```
/// let split = dotdir_frontmatter::split("---\nid: \"x\"\n---\nbody\n---\nmore\n").unwrap();
/// assert_eq!(split.yaml, "id: \"x\"\n");
/// assert_eq!(split.message(), "body\n---\nmore");
/// ```
pub fn split(text: &str) -> Result<Split<'_>, ParseError> {
    let (bom, text) = match text.strip_prefix('\u{feff}') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let mut lines = Lines { text, pos: 0 };
    let Some((first, _)) = lines.next() else {
        return Err(ParseError::new(1, 1, Reason::MissingFrontMatter));
    };
    if !is_delimiter(first.content) || first.ending.is_empty() {
        return Err(ParseError::new(1, 1, Reason::MissingFrontMatter));
    }
    let crlf = first.ending == "\r\n";
    let yaml_start = lines.pos;
    while let Some((line, start)) = lines.next() {
        if is_delimiter(line.content) {
            return Ok(Split {
                yaml: &text[yaml_start..start],
                yaml_line: 2,
                body: &text[lines.pos..],
                crlf,
                bom,
            });
        }
    }
    Err(ParseError::new(1, 1, Reason::Unclosed))
}

fn is_delimiter(content: &str) -> bool {
    content.trim_end_matches([' ', '\t']) == "---"
}

struct Line<'a> {
    content: &'a str,
    ending: &'a str,
}

struct Lines<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Iterator for Lines<'a> {
    /// A line and the byte offset where it starts.
    type Item = (Line<'a>, usize);

    fn next(&mut self) -> Option<Self::Item> {
        let start = self.pos;
        if start >= self.text.len() {
            return None;
        }
        let rest = &self.text[start..];
        let (content, ending) = match rest.find('\n') {
            Some(i) => {
                let line = &rest[..i];
                match line.strip_suffix('\r') {
                    Some(c) => (c, &rest[i - 1..=i]),
                    None => (line, &rest[i..=i]),
                }
            }
            None => (rest, ""),
        };
        self.pos = start + content.len() + ending.len();
        Some((Line { content, ending }, start))
    }
}
